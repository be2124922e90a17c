#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: OpenSC's pkcs11-tool (0.23) on a tenant whose CMK is a
# cryptoKey in the emulator's Cloud KMS: token listing, login, a token
# DEK, wrap/unwrap on the direct path (0x84340001) and the KEK path
# (0x210B), the unwrapped keys checked by AES-CBC-PAD output, and the KMS
# calls counted in the log (tokens from the metadata server).
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/gcp_lib.sh"

cmk_need_module
cmk_need od cmp
[ -x "${PKCS11_TOOL:=/usr/bin/pkcs11-tool}" ] ||
    cmk_missing "$PKCS11_TOOL is not installed (apt-get install opensc)"
emu_require || exit $?

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-gcp-p11.XXXXXX") || cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
IV=000102030405060708090a0b0c0d0e0f
emulator_start "$T/emu" || cmk_error "emulator did not start"
gcp_clean_env "$T"
umask 077

KEY=$GCP_RING/cryptoKeys/p11tool
gcp_ring
gcp_key p11tool
gcp_metadata "$GCP_MD_SA"
gcp_bind "$GCP_MD_SA" "{\"$KEY\": $GCP_KEY_ROLE}"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3},
  "tenants": [$(gcp_tenant acme 1234 "$KEY")]
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
# kms_calls ENCRYPT DECRYPT WHAT: the calls since the last reset are
# exactly ENCRYPT encrypt and DECRYPT decrypt, each answered 200, and the
# metadata token of the process that made them (each pkcs11-tool step is
# a process of its own); then reset.
kms_calls() {
    local e d m all want_m=0
    e=$(emu_count GCP.Encrypt)
    d=$(emu_count GCP.Decrypt)
    m=$(emu_count GCP.Metadata)
    all=$(grep -c '"status": 200' "$EMU_DIR/calls.jsonl")
    [ $(($1 + $2)) -gt 0 ] && want_m=1
    [ "$e" = "$1" ] && [ "$d" = "$2" ] && [ "$m" = "$want_m" ] &&
        [ "$all" = $(($1 + $2 + want_m)) ] ||
        cmk_fail "$3: $e encrypt, $d decrypt, $m metadata, $all answered 200; expected $1, $2, $want_m and nothing else"
    [ "$all" = "$(wc -l <"$EMU_DIR/calls.jsonl")" ] ||
        cmk_fail "$3: a call was not answered 200: $(cat "$EMU_DIR/calls.jsonl")"
    echo "ok: $3: $1 encrypt, $2 decrypt, $want_m metadata token"
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
K=$(emu_count GCP.Decrypt)
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
"$CMK_PYTHON" - "$T/envelope.wrap" "$KEY" <<'PY' || cmk_fail "envelope blob"
import sys
blob, key = open(sys.argv[1], "rb").read(), sys.argv[2]
k = int.from_bytes(blob[6:8], "big")
s = int.from_bytes(blob[8 + k:10 + k], "big")
got = (blob[:6], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode())
want = (b"CMKE\x02\x03", "gcp:" + key, key + "/cryptoKeyVersions/1")
sys.exit(0 if got == want else "envelope %r, want %r" % (got, want))
PY
echo "ok: the envelope names gcp:KEY and the version that encrypted"
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
