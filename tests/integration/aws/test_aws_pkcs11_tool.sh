#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSC's pkcs11-tool (0.23) on a tenant whose CMK is in the
# KMS emulator: token listing, login, a token DEK, wrap/unwrap on the
# direct path (0x84340001) and the KEK path (0x210B), the unwrapped keys
# checked by AES-CBC-PAD output, and the KMS calls counted in the log.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
cmk_need od cmp
[ -x "${PKCS11_TOOL:=/usr/bin/pkcs11-tool}" ] ||
    cmk_missing "$PKCS11_TOOL is not installed (apt-get install opensc)"
emu_require || exit $?

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-p11.XXXXXX") || cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
IV=000102030405060708090a0b0c0d0e0f
emulator_start "$T/emu" || cmk_error "emulator did not start"

aws_env_isolate "$T"

emu_ctl add_credentials \
    '{"access_key_id":"AKIDP11TOOL","secret":"p11tool-secret/XYZ+9"}' \
    >/dev/null || cmk_error "add_credentials"
emu_ctl create_key '{"alias":"alias/p11tool"}' >/dev/null ||
    cmk_error "create_key"
umask 077
printf '{"access_key_id": "AKIDP11TOOL", "secret_access_key": "p11tool-secret/XYZ+9"}\n' \
    >"$T/aws-credentials.json"
pin_verifier=$(printf '1234\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3},
  "tenants": [{"label": "acme", "provider": "aws", "key": "alias/p11tool",
               "region": "us-east-1", "endpoint": "$EMU_HTTP_URL/",
               "aws": {"credentials_file": "$T/aws-credentials.json"},
               "test_mode": true, "pin_verifier": "$pin_verifier"}]
}
EOF
cmk_provision "$T/config.json" acme
export CMK_PKCS11_CONFIG=$T/config.json

p11() {
    cmk_host "$PKCS11_TOOL" --module "$CMK_MODULE" "$@"
}
acme() {
    p11 --token-label acme --login --pin 1234 "$@"
}
# kms_calls ENCRYPT DECRYPT WHAT: the KMS calls since the last reset are
# exactly ENCRYPT Encrypt and DECRYPT Decrypt (nothing else); then reset.
kms_calls() {
    local e d all
    e=$(emu_count Encrypt)
    d=$(emu_count Decrypt)
    all=$(wc -l <"$EMU_DIR/calls.jsonl")
    [ "$e" = "$1" ] && [ "$d" = "$2" ] && [ "$all" = $(($1 + $2)) ] ||
        cmk_fail "$3: $e Encrypt, $d Decrypt, $all calls in all; expected $1 Encrypt, $2 Decrypt and nothing else"
    echo "ok: $3: $1 Encrypt, $2 Decrypt"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
}

out=$(p11 -L) || cmk_fail "pkcs11-tool -L"
grep -q 'token label *: acme$' <<<"$out" || {
    echo "$out"
    cmk_fail "no acme token"
}
echo "ok: token acme listed"

out=$(acme -O 2>&1) || cmk_fail "login and list objects: $out"
grep -A4 'label: *acme-cmk' <<<"$out" | grep -q 'ID: *01' || {
    echo "$out"
    cmk_fail "no CMK object with ID 01 after login"
}
echo "ok: login, CMK object acme-cmk with ID 01"

acme --keygen --key-type AES:32 --id 10 --label dek1 --sensitive \
    --extractable --private >/dev/null || cmk_fail "keygen"
head -c 1000 /dev/urandom >"$T/plain.bin"
acme --encrypt -m AES-CBC-PAD --id 10 --iv $IV -i "$T/plain.bin" \
    -o "$T/ct.bin" || cmk_fail "encrypt with dek1"
[ "$(stat -c %s "$T/ct.bin")" = 1008 ] || cmk_fail "ciphertext length"
echo "ok: token DEK generated, AES-CBC-PAD on a file"

# What one logged-in process costs by itself (K Decrypt: the tenant KEK);
# each step below runs in its own pkcs11-tool process.
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
acme -O --type secrkey >/dev/null 2>&1 || cmk_fail "list secret keys"
K=$(emu_count Decrypt)
[ "$K" -le 1 ] || cmk_fail "a login made $K Decrypt calls"
kms_calls 0 "$K" "a logged-in process by itself"

# wrap NAME MECH: dek1 wrapped by the CMK into T/NAME.wrap.
wrap() {
    acme --wrap -m "$2" --id 01 --application-id 10 -o "$T/$1.wrap" ||
        cmk_fail "wrap $1 ($2)"
    [ -s "$T/$1.wrap" ] || cmk_fail "wrap $1: empty blob"
}
# unwrap NAME MECH ID DECRYPTS: the blob back as a new key ID (costing
# DECRYPTS more Decrypt calls than a bare login), which must encrypt the
# file exactly as dek1 does.
unwrap() {
    acme --unwrap -m "$2" --id 01 -i "$T/$1.wrap" --key-type AES:32 \
        --application-id "$3" --application-label "dek1-$1" \
        --sensitive --extractable >/dev/null || cmk_fail "unwrap $1 ($2)"
    kms_calls 0 $((K + $4)) "$1 unwrap"
    acme --encrypt -m AES-CBC-PAD --id "$3" --iv $IV -i "$T/plain.bin" \
        -o "$T/ct-$1.bin" || cmk_fail "encrypt with the unwrapped $1 key"
    cmp "$T/ct.bin" "$T/ct-$1.bin" ||
        cmk_fail "$1: the unwrapped key encrypts differently from dek1"
    echo "ok: $1 ($2) unwrapped as ID $3 encrypts as dek1 does"
    emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
}

# pkcs11-tool asks C_WrapKey for the length first; that costs no KMS call.
wrap envelope 0x84340001
[ "$(head -c 4 "$T/envelope.wrap")" = CMKE ] ||
    cmk_fail "envelope blob does not start with CMKE"
kms_calls 1 "$K" "direct-path wrap (length query + wrap)"
# RFC 5649 under the tenant KEK, locally: no KMS call beyond the KEK.
wrap kwp 0x210B
[ "$(stat -c %s "$T/kwp.wrap")" = 40 ] || cmk_fail "RFC 5649 blob length"
KEK=$((K > 0 ? K : 1))
kms_calls 0 "$KEK" "KEK-path wrap"
unwrap envelope 0x84340001 24 1
unwrap kwp 0x210B 23 $((KEK - K))

out=$(acme -O --type secrkey 2>&1)
for l in dek1 dek1-envelope dek1-kwp; do
    grep -q "label: *$l\$" <<<"$out" || cmk_fail "$l not listed"
done
echo "ok: the unwrapped keys are token objects"
echo "PASS"
exit 0
