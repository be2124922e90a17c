#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: key pairs on the gcp provider, end to end through the
# module, against the emulator's Cloud KMS: versions of the algorithms the
# provider takes run through tests/integration/test_asym_pykcs11.py with
# CMK_ASYM_PROVIDER=gcp. A version signs with one scheme and one hash, and
# decrypts with one OAEP hash: the keys file says which, and the test
# checks the module offers exactly that and refuses the rest. Cloud KMS
# answers carry no request id: no audit record may have one.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/gcp_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-gcp-asym.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
emulator_start "$CMK_TMP/emu" || cmk_error "emulator did not start"
gcp_clean_env "$CMK_TMP"
umask 077

gcp_ring
gcp_key tenants
bindings="\"$GCP_RING/cryptoKeys/tenants\": $GCP_KEY_ROLE"
# gcp_asym NAME ALGORITHM JSON: a key of ALGORITHM, its version 1 an
# entry of the keys file (JSON: its other members); each key made once
# (RSA-4096 is slow in the emulator)
entries=
gcp_asym() {
    local ver=$GCP_RING/cryptoKeys/$1/cryptoKeyVersions/1
    gcp_ctl gcp_create_asym_key \
        "{\"name\": \"$GCP_RING/cryptoKeys/$1\", \"algorithm\": \"$2\"}"
    bindings="$bindings, \"$GCP_RING/cryptoKeys/$1\": [\"sign\", \"decrypt\", \"public_key\", \"get\"]"
    entries="${entries:+$entries,
  }{\"key\": \"$ver\", $3}"
}
gcp_asym rsa2048 RSA_SIGN_PKCS1_2048_SHA256 \
    '"spec": "RSA_2048", "usage": ["sign"], "schemes": ["pkcs1"], "hashes": ["sha256"]'
gcp_asym rsa3072 RSA_SIGN_PSS_3072_SHA256 \
    '"spec": "RSA_3072", "usage": ["sign"], "schemes": ["pss"], "hashes": ["sha256"]'
gcp_asym rsa4096 RSA_SIGN_PSS_4096_SHA512 \
    '"spec": "RSA_4096", "usage": ["sign"], "schemes": ["pss"], "hashes": ["sha512"]'
gcp_asym p256 EC_SIGN_P256_SHA256 '"spec": "EC_P256", "usage": ["sign"]'
gcp_asym p384 EC_SIGN_P384_SHA384 '"spec": "EC_P384", "usage": ["sign"]'
gcp_asym oaep2048 RSA_DECRYPT_OAEP_2048_SHA256 \
    '"spec": "RSA_2048", "usage": ["decrypt"], "oaep": ["sha256"]'
gcp_asym oaep3072 RSA_DECRYPT_OAEP_3072_SHA1 \
    '"spec": "RSA_3072", "usage": ["decrypt"], "oaep": ["sha1"]'
keys=$CMK_TMP/keys.json
printf '{"tenant": {"provider": "gcp", "key": "%s", "endpoint": "%s"},\n "request_ids": false,\n "keys": [\n  %s]}\n' \
    "$GCP_RING/cryptoKeys/tenants" "$EMU_HTTP_URL" "$entries" >"$keys" ||
    cmk_error "cannot write $keys"
gcp_metadata "$GCP_MD_SA"
gcp_bind "$GCP_MD_SA" "{$bindings}"

CMK_HOST_TIMEOUT=600 CMK_ASYM_PROVIDER=gcp CMK_ASYM_KEYS=$keys \
    EMU_CALLS=$EMU_DIR/calls.jsonl \
    cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/test_asym_pykcs11.py" ||
    cmk_fail "test_asym_pykcs11.py on the gcp provider"
