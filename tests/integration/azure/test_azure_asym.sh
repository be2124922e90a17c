#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: key pairs on the azure provider, end to end through the
# module, against the emulator's Key Vault (over TLS): RSA 2048/3072/4096
# keys that sign (RS*, PS*) and decrypt (RSA-OAEP, RSA-OAEP-256), EC keys
# on P-256, P-384 and P-521 (ES256/384/512: the module cuts or pads an
# ECDSA digest to the curve's hash), run through
# tests/integration/test_asym_pykcs11.py with CMK_ASYM_PROVIDER=azure.
# Every kms_call record's request id is one the emulator logged
# (x-ms-request-id).
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/azure_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-azure-asym.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
emulator_start "$CMK_TMP/emu" --tls || cmk_error "emulator did not start"
az_clean_env "$CMK_TMP"
umask 077

az_vaults
az_key kv1 tenants RSA 2048
grants="\"kv1/tenants\": $AZ_KEY_ROLE"
# az_pair NAME SPEC KEY_JSON: a key (each made once: RSA-4096 is slow in
# the emulator), its current version an entry of the keys file.
entries=
az_pair() {
    local kid
    kid=$(emu_ctl azure_create_key "{\"vault\": \"kv1\", \"name\": \"$1\", $3}" |
        "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["key"]["kid"])') ||
        cmk_error "azure_create_key $1"
    grants="$grants, \"kv1/$1\": [\"get\", \"sign\", \"decrypt\", \"unwrapKey\"]"
    entries="${entries:+$entries,
  }{\"spec\": \"$2\", \"key\": \"$kid\"}"
}
az_pair rsa2048 RSA_2048 '"kty": "RSA", "key_size": 2048'
az_pair rsa3072 RSA_3072 '"kty": "RSA", "key_size": 3072'
az_pair rsa4096 RSA_4096 '"kty": "RSA", "key_size": 4096'
az_pair p256 EC_P256 '"kty": "EC", "crv": "P-256"'
az_pair p384 EC_P384 '"kty": "EC", "crv": "P-384"'
az_pair p521 EC_P521 '"kty": "EC", "crv": "P-521"'
az_secret "$CMK_TMP/secret"
az_principal app1 "$CMK_TMP/secret"
az_grant app1 "{$grants}"

keys=$CMK_TMP/keys.json
printf '{"tenant": {"provider": "azure", "key": "%s", "azure": {"resource": "https://vault.azure.net", "authority_host": "%s", "tenant_id": "%s", "client_id": "app1", "client_secret_file": "%s"}},\n "config": {"http": {"ca_file": "%s"}},\n "keys": [\n  %s]}\n' \
    "$AZ_KV/keys/tenants" "$EMU_HTTPS_URL" "$AZ_TENANT" "$CMK_TMP/secret" \
    "$EMU_CA" "$entries" >"$keys" || cmk_error "cannot write $keys"

CMK_HOST_TIMEOUT=600 CMK_ASYM_PROVIDER=azure CMK_ASYM_KEYS=$keys \
    EMU_CALLS=$EMU_DIR/calls.jsonl \
    cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/test_asym_pykcs11.py" ||
    cmk_fail "test_asym_pykcs11.py on the azure provider"
