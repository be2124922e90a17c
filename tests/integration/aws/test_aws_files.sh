#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool encrypt / decrypt / rekey on a tenant whose CMK is
# in the KMS emulator: round trips on both key paths and both ciphers,
# the KMS calls each makes (a direct-path file is one Encrypt to write and
# one Decrypt to read, in the customer's KMS log, besides the one Decrypt
# of the tenant KEK that login makes to open the token store; the KEK
# path needs only that one), and a CMK disabled in
# the KMS: nothing decrypts or encrypts (exit 1, no OUT) until it is
# enabled again. Each cmk-tool run is a new process, so no cache TTL has
# to pass.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-files.XXXXXX") || cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" || cmk_error "emulator did not start"

aws_env_isolate "$T"

emu_ctl add_credentials \
    '{"access_key_id":"AKIDFILES","secret":"files-secret/XYZ+9"}' \
    >/dev/null || cmk_error "add_credentials"
emu_ctl create_key '{"alias":"alias/files"}' >/dev/null ||
    cmk_error "create_key"
umask 077
printf '{"access_key_id": "AKIDFILES", "secret_access_key": "files-secret/XYZ+9"}\n' \
    >"$T/aws-credentials.json"
pin_verifier=$(printf '1234\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "cache": {"ttl_seconds": 2},
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3},
  "tenants": [{"label": "acme", "provider": "aws", "key": "alias/files",
               "region": "us-east-1", "endpoint": "$EMU_HTTP_URL/",
               "aws": {"credentials_file": "$T/aws-credentials.json"},
               "test_mode": true, "pin_verifier": "$pin_verifier"}]
}
EOF
cmk_provision "$T/config.json" acme
printf '1234\n' >"$T/pin"
A=(--config "$T/config.json" --tenant acme --pin-file "$T/pin")
mkdir "$T/w" || cmk_error "mkdir"

tool() { timeout -k 10 120 "$CMK_TOOL" "$@"; }

# kms_calls ENCRYPT DECRYPT WHAT: exactly these KMS calls since the last
# reset, nothing else; then reset.
kms_calls() {
    local e d all
    e=$(emu_count Encrypt)
    d=$(emu_count Decrypt)
    all=$(wc -l <"$EMU_DIR/calls.jsonl")
    [ "$e" = "$1" ] && [ "$d" = "$2" ] && [ "$all" = $(($1 + $2)) ] ||
        cmk_fail "$3: $e Encrypt, $d Decrypt, $all calls; expected $1, $2 and nothing else"
    echo "ok: $3: $1 Encrypt, $2 Decrypt"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
}

head -c 70000 /dev/urandom >"$T/in"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
for p in direct kek; do
    for c in aes-256-gcm xchacha20-poly1305; do
        tool encrypt "${A[@]}" --path "$p" --cipher "$c" --chunk 4K \
            "$T/in" "$T/$p.$c" || cmk_fail "encrypt $p $c"
        [ "$p" = direct ] && kms_calls 1 1 "encrypt, direct path (+ the KEK)"
        [ "$p" = kek ] && kms_calls 0 1 "encrypt, KEK path (the KEK)"
        tool decrypt "${A[@]}" "$T/$p.$c" "$T/out" || cmk_fail "decrypt $p $c"
        cmp -s "$T/in" "$T/out" || cmk_fail "round trip $p $c"
        [ "$p" = direct ] && kms_calls 0 2 "decrypt, direct path (+ the KEK)"
        [ "$p" = kek ] && kms_calls 0 1 "decrypt, KEK path (the KEK)"
    done
done
tool rekey "${A[@]}" "$T/direct.aes-256-gcm" "$T/rekeyed" || cmk_fail "rekey"
kms_calls 1 2 "rekey, direct path (+ the KEK)"
tool decrypt "${A[@]}" "$T/rekeyed" - | cmp -s - "$T/in" || cmk_fail "rekeyed"
emu_ctl reset_calls >/dev/null
echo "ok: both paths, both ciphers and rekey through AWS KMS"

# refused WHAT MESSAGE CMD ARGS... IN: exit 1, exactly that message, no OUT.
refused() {
    local what=$1 msg=$2 err
    shift 2
    if err=$(tool "$@" "$T/w/out" 2>&1); then
        cmk_fail "$what: succeeded"
    fi
    [ "$err" = "cmk-tool: $msg" ] || cmk_fail "$what: '$err', expected 'cmk-tool: $msg'"
    [ -z "$(ls -A "$T/w")" ] || cmk_fail "$what: left $(ls -A "$T/w")"
    echo "ok: $what -> $msg"
}

emu_ctl disable_key '{"key_id":"alias/files"}' >/dev/null || cmk_error "disable_key"
refused "disabled CMK, direct path" "$T/direct.aes-256-gcm: the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_FUNCTION_FAILED" \
    decrypt "${A[@]}" "$T/direct.aes-256-gcm"
refused "disabled CMK, KEK path" "$T/kek.aes-256-gcm: the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_FUNCTION_FAILED" \
    decrypt "${A[@]}" "$T/kek.aes-256-gcm"
refused "disabled CMK, new file" "$T/in: the data key cannot be wrapped: C_WrapKey: CKR_FUNCTION_FAILED" \
    encrypt "${A[@]}" "$T/in"
refused "disabled CMK, rekey" "$T/rekeyed: the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_FUNCTION_FAILED" \
    rekey "${A[@]}" "$T/rekeyed"
emu_ctl enable_key '{"key_id":"alias/files"}' >/dev/null || cmk_error "enable_key"
tool decrypt "${A[@]}" "$T/kek.xchacha20-poly1305" - | cmp -s - "$T/in" ||
    cmk_fail "enabled again"
echo "ok: a disabled CMK stops every file; enabled, they open again"
echo "PASS"
