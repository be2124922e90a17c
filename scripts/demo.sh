#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The demo: two tenants on the embedded "local" provider, driven with
# OpenSC's pkcs11-tool. Generates a DEK on tenant acme, wraps it with acme's
# CMK on the KEK path (RFC 5649) and on the direct path (envelope blob),
# unwraps both, encrypts a file, and shows what the module refuses.
# Expects a built tree (scripts/setup-and-demo.sh does that first), or
# MODULE and CMK_TOOL naming installed files (tests/package/test_deb.sh).
#
# Everything it makes goes to demo-out/ (wiped at start, git-ignored).
# Exit status: 0 when every step behaved as expected, 1 otherwise.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
OUT=${DEMO_OUT:-$SRC/demo-out}
# The installed module when setup-and-demo.sh installed it, else the build's
# (in libtool's object directory, which the build's libtool script names).
if [ -z "${MODULE:-}" ]; then
    MODULE=$BUILD_DIR/$(sed -n 's/^objdir=//p' "$BUILD_DIR/libtool" \
        2>/dev/null | head -n 1)/cmk-pkcs11.so
fi
# cmk-tool: CMK_TOOL when set (an installed /usr/bin/cmk-tool), else the
# build's.
TOOL=${CMK_TOOL:-$BUILD_DIR/cmk-tool}
IV=000102030405060708090a0b0c0d0e0f
STEP=0

step() {
    STEP=$((STEP + 1))
    printf '\n\033[1m=== Step %d: %s\033[0m\n' "$STEP" "$*"
}

die() {
    printf '\n\033[31mDEMO FAILED at step %d: %s\033[0m\n' "$STEP" "$*" >&2
    exit 1
}

# show CMD...: print a command the way a user would type it.
show() {
    local first=$1
    shift
    case $first in
    p11) first='pkcs11-tool --module $M' ;;
    "$TOOL") first=cmk-tool ;;
    esac
    printf '$ %s\n' "$first${*:+ $*}"
}

# run CMD...: show the command, run it, stop the demo if it fails.
run() {
    show "$@"
    "$@" || die "command failed: $*"
}

# refused CKR_NAME CMD...: show the command; it must fail with CKR_NAME.
refused() {
    local ckr=$1 out
    shift
    show "$@"
    if out=$("$@" 2>&1); then
        printf '%s\n' "$out"
        die "expected $ckr, but the command succeeded"
    fi
    printf '%s\n' "$out" | sed 's/^/  | /'
    case $out in
    *"$ckr"*) printf '  -> refused with %s, as it should be\n' "$ckr" ;;
    *) die "refused, but not with $ckr" ;;
    esac
}

# hexdump -C, or od where bsdextrautils is not installed.
hexdump_c() {
    if command -v hexdump >/dev/null; then
        hexdump -C "$1"
    else
        od -A x -t x1z -v "$1"
    fi
}

p11() {
    pkcs11-tool --module "$MODULE" "$@"
}

[ -f "$MODULE" ] || die "module not built: $MODULE (run scripts/setup-and-demo.sh)"
[ -x "$TOOL" ] || die "cmk-tool not built: $TOOL"
command -v pkcs11-tool >/dev/null || die "pkcs11-tool missing (apt-get install opensc)"

step "fresh scratch folder $OUT"
rm -rf "$OUT"
run mkdir -m 700 -p "$OUT" "$OUT/store"
cd "$OUT" || die "cd $OUT"

step "per-tenant provider keys (local provider: a key file, mode 0600)"
run "$TOOL" local-key --out acme.key
run "$TOOL" local-key --out beta.key

step "PIN verifiers (Argon2id; the config never holds a clear PIN)"
printf '$ echo 1234 | cmk-tool pin-hash\n'
ACME_PIN=$(echo 1234 | "$TOOL" pin-hash) || die "pin-hash"
echo "$ACME_PIN"
BETA_PIN=$(echo 5678 | "$TOOL" pin-hash) || die "pin-hash"

step "configuration: two tenants, one slot each"
cat >"$OUT/config.json" <<EOF || die "write config"
{
  "version": 1,
  "store_dir": "$OUT/store",
  "tenants": [
    {
      "label": "acme",
      "provider": "local",
      "key": "$OUT/acme.key",
      "pin_verifier": "$ACME_PIN",
      "encryption_context": {"app": "demo"}
    },
    {
      "label": "beta",
      "provider": "local",
      "key": "$OUT/beta.key",
      "pin_verifier": "$BETA_PIN"
    }
  ]
}
EOF
run cat config.json

step "provision each tenant's KEK (sealed by the CMK, written into the config)"
run "$TOOL" provision --config config.json --tenant acme --write
run "$TOOL" provision --config config.json --tenant beta --write
run "$TOOL" health --config config.json
export CMK_PKCS11_CONFIG=$OUT/config.json M=$MODULE
printf '$ export CMK_PKCS11_CONFIG=%s\n' "$CMK_PKCS11_CONFIG"
printf '$ M=%s   # the module\n' "$MODULE"

step "slots and tokens"
run p11 -L

step "mechanisms of token acme (0x210A/0x210B: RFC 5649, 0x84340001: envelope)"
run p11 --token-label acme -M

step "log in to acme and list its objects: the CMK"
run p11 --token-label acme --login --pin 1234 -O

step "generate an AES-256 DEK (id 10, label dek1) on acme"
run p11 --token-label acme --login --pin 1234 --keygen --key-type AES:32 \
    --id 10 --label dek1 --sensitive --extractable --private

step "wrap dek1 with the CMK on the KEK path (RFC 5649, CKM_AES_KEY_WRAP_PAD)"
run p11 --token-label acme --login --pin 1234 --wrap -m 0x210A --id 01 \
    --application-id 10 -o dek1.kwp
run ls -l dek1.kwp

step "wrap dek1 with the CMK on the direct path (CKM_CMK_ENVELOPE)"
run p11 --token-label acme --login --pin 1234 --wrap -m 0x84340001 --id 01 \
    --application-id 10 -o dek1.cmke
run ls -l dek1.cmke

step "unwrap both blobs back into new keys (ids 11 and 12)"
run p11 --token-label acme --login --pin 1234 --unwrap -m 0x210A --id 01 \
    -i dek1.kwp --key-type AES:32 --application-id 11 \
    --application-label dek1-from-kwp --sensitive --extractable
run p11 --token-label acme --login --pin 1234 --unwrap -m 0x84340001 \
    --id 01 -i dek1.cmke --key-type AES:32 --application-id 12 \
    --application-label dek1-from-envelope --sensitive --extractable

step "encrypt and decrypt a file with dek1 (AES-CBC-PAD)"
echo '$ seq 1 2000 > plain.txt'
seq 1 2000 >plain.txt || die "seq"
run p11 --token-label acme --login --pin 1234 --encrypt -m AES-CBC-PAD \
    --id 10 --iv $IV -i plain.txt -o plain.txt.enc
run p11 --token-label acme --login --pin 1234 --decrypt -m AES-CBC-PAD \
    --id 10 --iv $IV -i plain.txt.enc -o plain.txt.dec
run cmp plain.txt plain.txt.dec
echo "  -> decrypt(encrypt(plain.txt)) == plain.txt"

step "the unwrapped keys are dek1: same ciphertext for the same IV"
for id in 11 12; do
    run p11 --token-label acme --login --pin 1234 --encrypt -m AES-CBC-PAD \
        --id $id --iv $IV -i plain.txt -o plain.txt.enc$id
    run cmp plain.txt.enc plain.txt.enc$id
done
echo "  -> identical ciphertexts"

step "the CMK's value cannot be read"
refused CKR_ATTRIBUTE_SENSITIVE p11 --token-label acme --login --pin 1234 \
    --read-object --type secrkey --id 01

step "a key the CMK unwraps stays protected: not as a readable key"
refused CKR_TEMPLATE_INCONSISTENT p11 --token-label acme --login --pin 1234 \
    --unwrap -m 0x210A --id 01 -i dek1.kwp --key-type AES:32 \
    --application-id 13 --application-label readable --extractable

step "tenant beta cannot unwrap acme's envelope blob"
refused CKR_WRAPPED_KEY_INVALID p11 --token-label beta --login --pin 5678 \
    --unwrap -m 0x84340001 --id 01 -i dek1.cmke --key-type AES:32 \
    --application-id 20 --application-label stolen --sensitive

step "what is left on disk"
run ls -l
run stat -c '%A %n' acme.key beta.key
run ls -lR store
echo '$ hexdump -C dek1.cmke | head -5    # envelope blob: "CMKE", version, provider, key id, ciphertext'
hexdump_c dek1.cmke | head -5
echo '$ hexdump -C dek1.kwp               # RFC 5649 output: 40 bytes for a 32-byte key'
hexdump_c dek1.kwp
obj=$(find store -name '*.obj' | head -1)
echo "\$ hexdump -C $obj | head -3  # sealed token object: \"CMKO\", version, nonce, ciphertext"
hexdump_c "$obj" | head -3
[ "$(head -c 4 dek1.cmke)" = CMKE ] || die "envelope blob lacks CMKE"

printf '\n\033[1;32mDemo finished: every step behaved as expected.\033[0m\n'
printf 'Try it yourself:\n  export CMK_PKCS11_CONFIG=%s\n' "$OUT/config.json"
printf '  pkcs11-tool --module %s --token-label acme --login --pin 1234 -O\n' "$MODULE"
exit 0
