#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: key pairs on the vault provider, end to end through the
# module, against the emulator's transit engine (over TLS): rsa-2048/3072/
# 4096 keys that sign (PKCS#1 v1.5 and PSS, SHA-2) and decrypt (RSA-OAEP
# with SHA-256 only: the keys file says so, and the module must refuse
# SHA-1 OAEP), ecdsa-p256/p384/p521 keys, run through
# tests/integration/test_asym_pykcs11.py with CMK_ASYM_PROVIDER=vault.
# Every kms_call record's request id is one the emulator logged (Vault's
# error bodies carry none: a refused call's record has none).
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/vault_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

vault_start cmk-vault-asym
KEY=tenants
vault_key $KEY
# The tenant key's policy and, per key pair, sign, decrypt and read.
paths=$(vault_policy_for $KEY)
paths=${paths%\}}
entries=
# vault_pair NAME TYPE ENTRY_JSON: a transit key of TYPE (each made once:
# rsa-4096 is slow in the emulator), an entry of the keys file.
vault_pair() {
    vault_ctl vault_create_key "{\"name\": \"$1\", \"type\": \"$2\"}"
    paths="$paths, \"transit/sign/$1\": [\"update\"], \"transit/decrypt/$1\": [\"update\"], \"transit/keys/$1\": [\"read\"]"
    entries="${entries:+$entries,
  }{\"key\": \"$1\", $3}"
}
vault_pair rsa2048 rsa-2048 '"spec": "RSA_2048", "oaep": ["sha256"]'
vault_pair rsa3072 rsa-3072 '"spec": "RSA_3072", "oaep": ["sha256"]'
vault_pair rsa4096 rsa-4096 '"spec": "RSA_4096", "oaep": ["sha256"]'
vault_pair p256 ecdsa-p256 '"spec": "EC_P256"'
vault_pair p384 ecdsa-p384 '"spec": "EC_P384"'
vault_pair p521 ecdsa-p521 '"spec": "EC_P521"'
vault_ctl vault_policy "{\"name\": \"cmk\", \"paths\": $paths}}"
out=$(emu_ctl vault_approle '{"name": "cmk", "token_policies": ["cmk"], "token_ttl": 3600}') ||
    cmk_error "vault_approle"
mkdir -m 700 "$T/creds" || cmk_error "mkdir"
"$CMK_PYTHON" -c 'import json, sys
j = json.loads(sys.argv[1])
open(sys.argv[2] + ".role-id", "w").write(j["role_id"])
open(sys.argv[2] + ".secret-id", "w").write(j["secret_id"])' "$out" "$T/creds/cmk" ||
    cmk_error "AppRole files"

keys=$T/keys.json
printf '{"tenant": {"provider": "vault", "key": "%s", "vault": {"address": "%s", "approle": {"role_id_file": "%s", "secret_id_file": "%s"}}},\n "error_request_ids": false,\n "config": {"http": {"ca_file": "%s"}},\n "keys": [\n  %s]}\n' \
    "$KEY" "$EMU_HTTPS_URL" "$T/creds/cmk.role-id" "$T/creds/cmk.secret-id" \
    "$EMU_CA" "$entries" >"$keys" || cmk_error "cannot write $keys"

CMK_HOST_TIMEOUT=600 CMK_ASYM_PROVIDER=vault CMK_ASYM_KEYS=$keys \
    EMU_CALLS=$EMU_DIR/calls.jsonl \
    cmk_host "$CMK_PYTHON" "$top_srcdir/tests/integration/test_asym_pykcs11.py" ||
    cmk_fail "test_asym_pykcs11.py on the vault provider"
