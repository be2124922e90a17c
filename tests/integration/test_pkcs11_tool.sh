#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: the README flows through OpenSC's pkcs11-tool (0.23): slots,
# mechanisms, DEK generation, wrap/unwrap on the KEK and direct paths,
# AES-CBC-PAD on files, and the refusals a user will meet.
set -u
. "$(dirname "$0")/lib.sh"

cmk_need pkcs11-tool od cmp
cmk_need_module
cmk_tmpdir
cmk_config "$CMK_TMP" acme:1234 beta:5678

T=$CMK_TMP
IV=000102030405060708090a0b0c0d0e0f

p11() {
    cmk_host pkcs11-tool --module "$CMK_MODULE" "$@"
}
acme() {
    p11 --token-label acme --login --pin 1234 "$@"
}
beta() {
    p11 --token-label beta --login --pin 5678 "$@"
}
step() {
    echo "== $*"
}
check_len() {
    local n
    n=$(stat -c %s "$1")
    [ "$n" = "$2" ] || cmk_fail "$1: $n bytes, expected $2"
}

step "slots: one token per tenant, in config order"
out=$(p11 -L) || cmk_fail "pkcs11-tool -L"
echo "$out"
grep -q 'token label *: acme$' <<<"$out" || cmk_fail "no acme token"
grep -q 'token label *: beta$' <<<"$out" || cmk_fail "no beta token"
[ "$(grep -c 'token label' <<<"$out")" = 2 ] || cmk_fail "expected 2 tokens"
serials=$(grep 'serial num' <<<"$out" | awk '{print $NF}' | sort -u | wc -l)
[ "$serials" = 2 ] || cmk_fail "token serials are not unique"
[ "$(grep 'token label' <<<"$out" | head -1 | awk '{print $NF}')" = acme ] ||
    cmk_fail "acme is not the first slot"

step "mechanisms"
out=$(p11 --token-label acme -M) || cmk_fail "pkcs11-tool -M"
echo "$out"
for m in AES-KEY-GEN AES-CBC-PAD AES-GCM AES-KEY-WRAP mechtype-0x210A \
    mechtype-0x210B mechtype-0x84340001; do
    grep -q "^ *$m\b" <<<"$out" || cmk_fail "mechanism $m not listed"
done

step "the CMK is invisible before login, visible after"
out=$(p11 --token-label acme -O 2>&1) || cmk_fail "-O without login"
grep -q acme-cmk <<<"$out" && cmk_fail "CMK visible without login"
out=$(acme -O 2>&1) || cmk_fail "-O with login"
echo "$out"
grep -q 'label: *acme-cmk' <<<"$out" || cmk_fail "CMK not listed after login"
grep -A4 'label: *acme-cmk' <<<"$out" | grep -q 'ID: *01' ||
    cmk_fail "CMK has no ID 01"

step "wrong PIN"
cmk_expect_fail "login with a wrong PIN" CKR_PIN_INCORRECT \
    p11 --token-label acme --login --pin 9999 -O

step "generate an AES-256 DEK (token object)"
acme --keygen --key-type AES:32 --id 10 --label dek1 --sensitive \
    --extractable --private || cmk_fail "keygen"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'label: *dek1' <<<"$out" || cmk_fail "dek1 not listed in a new process"

step "AES-CBC-PAD round trip on a file"
head -c 1000 /dev/urandom >"$T/plain.bin"
acme --encrypt -m AES-CBC-PAD --id 10 --iv $IV -i "$T/plain.bin" \
    -o "$T/ct.bin" || cmk_fail "encrypt"
check_len "$T/ct.bin" 1008
acme --decrypt -m AES-CBC-PAD --id 10 --iv $IV -i "$T/ct.bin" \
    -o "$T/dec.bin" || cmk_fail "decrypt"
cmp "$T/plain.bin" "$T/dec.bin" || cmk_fail "decrypt(encrypt(x)) != x"
cmp -s "$T/plain.bin" "$T/ct.bin" && cmk_fail "ciphertext equals plaintext"

# wrap_unwrap NAME MECH ID LEN: wrap dek1 with the CMK, check the length,
# unwrap under ID, and check the new key encrypts like dek1.
wrap_unwrap() {
    local name=$1 mech=$2 id=$3 len=$4
    step "wrap dek1 with the CMK: $name ($mech)"
    acme --wrap -m "$mech" --id 01 --application-id 10 -o "$T/$name.wrap" ||
        cmk_fail "wrap $name"
    [ "$len" = any ] || check_len "$T/$name.wrap" "$len"
    step "unwrap the $name blob as a new key"
    acme --unwrap -m "$mech" --id 01 -i "$T/$name.wrap" --key-type AES:32 \
        --application-id "$id" --application-label "dek1-$name" \
        --sensitive --extractable || cmk_fail "unwrap $name"
    acme --encrypt -m AES-CBC-PAD --id "$id" --iv $IV -i "$T/plain.bin" \
        -o "$T/ct-$name.bin" || cmk_fail "encrypt with unwrapped $name key"
    cmp "$T/ct.bin" "$T/ct-$name.bin" ||
        cmk_fail "$name: unwrapped key gives a different ciphertext"
}

wrap_unwrap kw AES-KEY-WRAP 21 40
wrap_unwrap kwp 0x210A 22 40
wrap_unwrap kwp-oasis 0x210B 23 40
wrap_unwrap envelope 0x84340001 24 any
[ "$(head -c 4 "$T/envelope.wrap")" = CMKE ] ||
    cmk_fail "envelope blob does not start with CMKE"
cmp -s "$T/kwp.wrap" "$T/kwp-oasis.wrap" ||
    cmk_fail "0x210A and 0x210B give different RFC 5649 output"

step "the CMK's value cannot be read"
cmk_expect_fail "read CKA_VALUE of the CMK" CKR_ATTRIBUTE_SENSITIVE \
    acme --read-object --type secrkey --id 01

step "a wrapping DEK (id 11) wraps, and does nothing else"
acme --keygen --key-type AES:32 --id 11 --label kek1 --sensitive \
    --private --usage-wrap || cmk_fail "keygen of a wrapping key"
acme --wrap -m AES-KEY-WRAP --id 11 --application-id 10 -o "$T/k11.wrap" ||
    cmk_fail "wrap dek1 with kek1"
check_len "$T/k11.wrap" 40
cmk_expect_fail "encrypt with a wrapping key" CKR_KEY_FUNCTION_NOT_PERMITTED \
    acme --encrypt -m AES-CBC-PAD --id 11 --iv $IV -i "$T/plain.bin" \
    -o "$T/x.bin"
# (pkcs11-tool decrypts only with block modes; the key-wrap mechanisms
# are tried through PyKCS11 and the unit tests.)
cmk_expect_fail "decrypt with a wrapping key" CKR_KEY_FUNCTION_NOT_PERMITTED \
    acme --decrypt -m AES-CBC-PAD --id 11 --iv $IV -i "$T/ct.bin" \
    -o "$T/x.bin"

step "the CMK cannot be wrapped"
cmk_expect_fail "wrap the CMK with a DEK" CKR_KEY_UNEXTRACTABLE \
    acme --wrap -m AES-KEY-WRAP --id 11 --application-id 01 -o "$T/x.wrap"

step "nobody can stand in for the CMK"
# Without the PIN: no token object at all, so none with the CMK's id.
cmk_expect_fail "a public key with the CMK's label and id, no login" \
    CKR_USER_NOT_LOGGED_IN \
    p11 --token-label acme --keygen --key-type AES:32 --id 01 \
    --label acme-cmk --usage-wrap
# With it: the CMK's label and id are reserved.
cmk_expect_fail "a key with the CMK's id" CKR_TEMPLATE_INCONSISTENT \
    acme --keygen --key-type AES:32 --id 01 --label fake --usage-wrap
cmk_expect_fail "a key with the CMK's label" CKR_TEMPLATE_INCONSISTENT \
    acme --keygen --key-type AES:32 --id 77 --label acme-cmk --usage-wrap
# --id 01 still names the CMK: the same RFC 5649 bytes as before.
acme --wrap -m 0x210A --id 01 --application-id 10 -o "$T/again.wrap" ||
    cmk_fail "wrap with --id 01"
cmp "$T/kwp.wrap" "$T/again.wrap" || cmk_fail "--id 01 is not the CMK"

step "a key unwrapped by the CMK stays protected"
cmk_expect_fail "unwrap as a readable key" CKR_TEMPLATE_INCONSISTENT \
    acme --unwrap -m 0x210A --id 01 -i "$T/kwp.wrap" --key-type AES:32 \
    --application-id 33 --application-label readable --extractable

step "the CMK cannot be deleted"
# pkcs11-tool 0.23 has no name for CKR_ACTION_PROHIBITED (0x1b).
cmk_expect_fail "delete the CMK" "(0x1b)" \
    acme --delete-object --type secrkey --id 01

step "tenant beta cannot unwrap tenant acme's blobs"
cmk_expect_fail "beta unwraps acme's envelope" CKR_WRAPPED_KEY_INVALID \
    beta --unwrap -m 0x84340001 --id 01 -i "$T/envelope.wrap" \
    --key-type AES:32 --application-id 30 --application-label stolen \
    --sensitive
cmk_expect_fail "beta unwraps acme's KWP blob" CKR_WRAPPED_KEY_INVALID \
    beta --unwrap -m 0x210A --id 01 -i "$T/kwp.wrap" \
    --key-type AES:32 --application-id 31 --application-label stolen \
    --sensitive
out=$(beta -O --type secrkey 2>&1) || cmk_fail "beta -O: $out"
grep -q stolen <<<"$out" && cmk_fail "a failed unwrap left an object behind"

step "a tampered envelope is refused"
cp "$T/envelope.wrap" "$T/bad.wrap"
n=$(stat -c %s "$T/bad.wrap")
printf '\001' | dd of="$T/bad.wrap" bs=1 seek=$((n - 1)) conv=notrunc \
    status=none
cmp -s "$T/envelope.wrap" "$T/bad.wrap" &&
    printf '\002' | dd of="$T/bad.wrap" bs=1 seek=$((n - 1)) conv=notrunc \
        status=none
cmk_expect_fail "unwrap a tampered envelope" CKR_WRAPPED_KEY_INVALID \
    acme --unwrap -m 0x84340001 --id 01 -i "$T/bad.wrap" \
    --key-type AES:32 --application-id 32 --application-label bad --sensitive

step "token objects are sealed on disk"
objs=$(find "$T/store" -name '*.obj' | wc -l)
[ "$objs" -ge 5 ] || cmk_fail "expected >= 5 object files, found $objs"
for f in $(find "$T/store" -name '*.obj'); do
    [ "$(head -c 4 "$f")" = CMKO ] || cmk_fail "$f lacks the CMKO magic"
    grep -q dek1 "$f" && cmk_fail "$f shows a label in clear"
done

step "a deleted DEK is gone, in this process and the next"
acme --delete-object --type secrkey --id 21 || cmk_fail "delete dek1-kw"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "acme -O: $out"
grep -q 'dek1-kw$' <<<"$out" && cmk_fail "dek1-kw still listed"
[ "$(find "$T/store" -name '*.obj' | wc -l)" = $((objs - 1)) ] ||
    cmk_fail "object file not removed"

echo "PASS"
exit 0
