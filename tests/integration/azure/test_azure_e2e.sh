#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: tenants on the azure provider, end to end through the
# module, against the emulator's Key Vault and Managed HSM over TLS: an
# RSA-4096 Key Vault key (wrap done locally with its public key, unwrap at
# the vault) for acme and beta, an oct-HSM key (A256GCM at the HSM, the
# context as aad) for gamma; KEKs provisioned with cmk-tool, cmk-tool
# health healthy and then failing for a disabled key, then PyKCS11
# (azure_pykcs11.py) on both paths with the failure cases and their audit
# records, and IMDS gone before the module has a token. Tokens come from
# Entra ID's token endpoint with a client secret in a file; the
# application holds get, wrapKey and unwrapKey on its keys only.
set -u
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/azure_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-azure.XXXXXX") || cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" --tls || cmk_error "emulator did not start"
az_clean_env "$T"
umask 077

az_vaults
az_key kv1 k4096 RSA 4096
az_key hsm1 aes1 oct-HSM 256
az_secret "$T/secret"
az_principal app1 "$T/secret"
az_grant app1 "{\"kv1/k4096\": $AZ_KEY_ROLE, \"hsm1/aes1\": $AZ_HSM_ROLE}"
KV_KEY=$AZ_KV/keys/k4096
HSM_KEY=$AZ_HSM/keys/aes1
CREDS=", \"tenant_id\": \"$AZ_TENANT\", \"client_id\": \"app1\", \"client_secret_file\": \"$T/secret\", \"key_info_ttl\": 1"

mkdir -m 700 "$T/audit" || cmk_error "mkdir"
cfg=$T/config.json
# (azure_pykcs11.py checks each call's own answer from the vault: the
# circuit breaker is off here and tested in tests/unit/test_breaker.c)
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s", "fsync": "none"},\n  "cache": {"ttl_seconds": 4},\n  "health": {"breaker": false},\n  "http": {"connect_timeout_ms": 1000, "timeout_ms": 8000, "max_attempts": 3, "ca_file": "%s"},\n  "tenants": [%s,\n    %s,\n    %s]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" "$EMU_CA" \
    "$(az_tenant acme 1234 "$KV_KEY" https://vault.azure.net "$CREDS")" \
    "$(az_tenant beta 5678 "$KV_KEY" https://vault.azure.net "$CREDS")" \
    "$(az_tenant gamma 4321 "$HSM_KEY" https://managedhsm.azure.net "$CREDS")" \
    >"$cfg" || cmk_error "cannot write $cfg"

for t in acme beta gamma; do
    cmk_provision "$cfg" "$t"
done
echo "ok: KEKs provisioned through the vaults"
KID=$(emu_ctl azure_key_material '{"vault": "kv1", "name": "k4096"}' |
    "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["key"]["kid"])')
HSM_KID=$(emu_ctl azure_key_material '{"vault": "hsm1", "name": "aes1"}' |
    "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["key"]["kid"])')
"$CMK_PYTHON" - "$cfg" "$KV_KEY" "$KID" "$HSM_KEY" "$HSM_KID" <<'PY' || cmk_fail "the KEK blobs"
import base64, json, sys
cfg, kv_key, kid, hsm_key, hsm_kid = sys.argv[1:]
want = {"acme": (kv_key, kid, 1), "beta": (kv_key, kid, 1),
        "gamma": (hsm_key, hsm_kid, 2)}
for t in json.load(open(cfg))["tenants"]:
    blob = base64.b64decode(t["kek"])
    k = int.from_bytes(blob[6:8], "big")
    s = int.from_bytes(blob[8 + k:10 + k], "big")
    ct = blob[10 + k + s + 4:]
    key, sealed, form = want[t["label"]]
    got = (blob[:6], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode(),
           ct[0])
    w = (b"CMKE\x02\x04", "azure:" + key, sealed, form)
    if got != w:
        sys.exit("%s: KEK blob %r, want %r" % (t["label"], got, w))
PY
echo "ok: each KEK blob names azure:KEY, the key version that wrapped, its form"

out=$("$CMK_TOOL" health --config "$cfg") || {
    echo "$out"
    cmk_fail "cmk-tool health"
}
[ "$out" = "acme: ok
beta: ok
gamma: ok" ] || cmk_fail "health: $out"
echo "ok: cmk-tool health: every tenant ok"
emu_ctl azure_set_attributes \
    '{"vault": "kv1", "name": "k4096", "attributes": {"enabled": false}}' \
    >/dev/null || cmk_error "disable k4096"
# acme's CMK also seals the audit file's chain key, so the file cannot be
# opened: the check still runs, unrecorded, and says so on stderr.
if out=$("$CMK_TOOL" health --config "$cfg" --tenant acme 2>"$T/health.err"); then
    cmk_fail "health passed with the key disabled: $out"
fi
[ "$out" = "acme: key_disabled: provider health check failed (KeyDisabled)" ] ||
    cmk_fail "disabled key: unexpected answer: $out"
grep -q "the checks' KMS calls are not recorded" "$T/health.err" ||
    cmk_fail "health without its audit file: $(cat "$T/health.err")"
echo "ok: disabled key -> $out"
emu_ctl azure_set_attributes \
    '{"vault": "kv1", "name": "k4096", "attributes": {"enabled": true}}' \
    >/dev/null || cmk_error "enable k4096"
"$CMK_TOOL" health --config "$cfg" --tenant acme >/dev/null ||
    cmk_fail "health after the key was enabled again"

export EMU_HTTP_URL EMU_DIR AZ_KV_KEY=$KV_KEY AZ_KID=$KID \
    AZ_HSM_KEY=$HSM_KEY AZ_HSM_KID=$HSM_KID \
    AUDIT_FILE=$T/audit/audit.jsonl
CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/azure/azure_pykcs11.py" main ||
    cmk_fail "PyKCS11 on the azure tenants"

# IMDS gone before the process has a token (a managed-identity tenant; no
# audit file: its chain key would need the vault at C_Initialize).
emu_ctl azure_managed_identity '{"kind": "system", "client_id": "mi-sys"}' \
    >/dev/null || cmk_error "managed identity"
az_principal mi-sys
az_grant mi-sys "{\"kv1/k4096\": $AZ_KEY_ROLE}"
emu_ctl azure_identity_endpoints '{"imds_enabled": false}' >/dev/null ||
    cmk_error "IMDS off"
"$CMK_PYTHON" - "$cfg" "$T/imds.json" "$EMU_HTTP_URL" <<'PY' || cmk_error "IMDS config"
import json, sys
c = json.load(open(sys.argv[1]))
del c["audit"]
t = c["tenants"][0]
for k in ("client_id", "client_secret_file", "tenant_id"):
    del t["azure"][k]
t["azure"]["managed_identity"] = {}
t["azure"]["imds_endpoint"] = sys.argv[3]
c["tenants"] = [t]
json.dump(c, open(sys.argv[2], "w"))
PY
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
CMK_PKCS11_CONFIG=$T/imds.json cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/azure/azure_pykcs11.py" imds_down ||
    cmk_fail "PyKCS11 with IMDS down"
"$CMK_TOOL" audit verify --config "$cfg" "$T/audit/audit.jsonl" >"$T/verify" ||
    cmk_fail "audit verify: $(cat "$T/verify")"
echo "ok: audit file verifies"
echo "PASS"
