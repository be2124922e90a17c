#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: tenants on the vault provider, end to end through the
# module, against the emulator's Vault transit over TLS: acme and beta on
# one derived aes256-gcm96 key (each tenant's context derives its own
# key), tokens by AppRole login with the policy docs/vault.md gives; KEKs
# provisioned with cmk-tool, cmk-tool health healthy and then failing for
# min_decryption_version above the current version, then PyKCS11
# (vault_pykcs11.py) on both paths with the failure cases and their audit
# records, and last the key deleted in Vault.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/vault_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

vault_start cmk-vault

KEY=tenants
vault_key $KEY
mkdir -m 700 "$T/creds" "$T/audit" || cmk_error "mkdir"
vault_approle cmk $KEY "$T/creds"
cfg=$T/config.json
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s", "fsync": "none"},\n  "cache": {"ttl_seconds": 4},\n  "health": {"breaker": false},\n  "http": {"connect_timeout_ms": 1000, "timeout_ms": 8000, "max_attempts": 3, "ca_file": "%s"},\n  "tenants": [%s,\n    %s]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" "$EMU_CA" \
    "$(vault_tenant acme 1234 $KEY cmk "$T/creds")" \
    "$(vault_tenant beta 5678 $KEY cmk "$T/creds")" \
    >"$cfg" || cmk_error "cannot write $cfg"

for t in acme beta; do
    cmk_provision "$cfg" "$t"
done
"$CMK_PYTHON" - "$cfg" "$KEY" <<'PY' || cmk_fail "the KEK blobs"
import base64, json, sys
cfg, key = sys.argv[1:]
for t in json.load(open(cfg))["tenants"]:
    blob = base64.b64decode(t["kek"])
    k = int.from_bytes(blob[6:8], "big")
    s = int.from_bytes(blob[8 + k:10 + k], "big")
    ct = blob[10 + k + s + 4:]
    got = (blob[:6], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode(),
           ct[:9])
    want = (b"CMKE\x02\x05", "vault:transit/" + key,
            "vault:transit/%s:v1" % key, b"vault:v1:")
    if got != want:
        sys.exit("%s: KEK blob %r, want %r" % (t["label"], got, want))
PY
echo "ok: KEKs provisioned; each blob names vault:transit/KEY, v1, and holds transit's vault:v1: ciphertext"

out=$("$CMK_TOOL" health --config "$cfg") || {
    echo "$out"
    cmk_fail "cmk-tool health"
}
[ "$out" = "acme: ok
beta: ok" ] || cmk_fail "health: $out"
echo "ok: cmk-tool health: both tenants ok"

export EMU_HTTP_URL EMU_DIR VAULT_KEY=$KEY AUDIT_FILE=$T/audit/audit.jsonl
CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/vault/vault_pykcs11.py" main ||
    cmk_fail "PyKCS11 on the vault tenants"

"$CMK_TOOL" audit verify --config "$cfg" "$T/audit/audit.jsonl" >"$T/verify" ||
    cmk_fail "audit verify: $(cat "$T/verify")"
echo "ok: audit file verifies"

# Last: the key deleted in Vault (the audit file cannot be verified
# afterwards: its chain key is sealed by that key).
CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/vault/vault_pykcs11.py" key_deleted ||
    cmk_fail "PyKCS11 on a deleted vault key"
echo "PASS"
