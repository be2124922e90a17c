#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: tenants on the gcp provider, end to end through the module,
# against the emulator's Cloud KMS: KEKs provisioned with cmk-tool through
# encrypt/decrypt, cmk-tool health healthy and then failing for a
# disabled primary version, then PyKCS11 (gcp_pykcs11.py) on both paths
# with the failure cases and their audit records, and the metadata server
# gone before the module has a token. Tokens come from the metadata
# server (GCE_METADATA_HOST); the principal holds encrypt, decrypt and
# get on the key only.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/gcp_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-gcp.XXXXXX") || cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" || cmk_error "emulator did not start"
gcp_clean_env "$T"
umask 077

KEY=$GCP_RING/cryptoKeys/tenants
gcp_ring
gcp_key tenants
gcp_metadata "$GCP_MD_SA"
gcp_bind "$GCP_MD_SA" "{\"$KEY\": $GCP_KEY_ROLE}"

mkdir -m 700 "$T/audit" || cmk_error "mkdir"
cfg=$T/config.json
# (gcp_pykcs11.py checks each call's own answer from the KMS: the circuit
# breaker is off here and tested in tests/unit/test_breaker.c)
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s", "fsync": "none"},\n  "cache": {"ttl_seconds": 4},\n  "health": {"breaker": false},\n  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 3},\n  "tenants": [%s,\n    %s]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" \
    "$(gcp_tenant acme 1234 "$KEY")" "$(gcp_tenant beta 5678 "$KEY")" \
    >"$cfg" || cmk_error "cannot write $cfg"

emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
for t in acme beta; do
    cmk_provision "$cfg" "$t"
done
# Each provision: the KEK encrypted, then decrypted as a check, and the
# chain key of cmk-tool's audit writer encrypted.
e=$(emu_count GCP.Encrypt) d=$(emu_count GCP.Decrypt)
[ "$e" = 4 ] && [ "$d" = 2 ] ||
    cmk_fail "provisioning made $e encrypt and $d decrypt calls, expected 4 and 2"
echo "ok: KEKs provisioned through Cloud KMS encrypt (and checked with decrypt)"
"$CMK_PYTHON" - "$cfg" "$KEY" <<'PY' || cmk_fail "the KEK blobs"
import base64, json, sys
cfg, key = sys.argv[1:]
for t in json.load(open(cfg))["tenants"]:
    blob = base64.b64decode(t["kek"])
    k = int.from_bytes(blob[6:8], "big")
    s = int.from_bytes(blob[8 + k:10 + k], "big")
    got = (blob[:6], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode())
    want = (b"CMKE\x02\x03", "gcp:" + key, key + "/cryptoKeyVersions/1")
    if got != want:
        sys.exit("%s: KEK blob %r, want %r" % (t["label"], got, want))
PY
echo "ok: each KEK blob names gcp:KEY and the version that encrypted"

out=$("$CMK_TOOL" health --config "$cfg") || {
    echo "$out"
    cmk_fail "cmk-tool health"
}
[ "$out" = "acme: ok
beta: ok" ] || cmk_fail "health: $out"
echo "ok: cmk-tool health: both tenants ok"
emu_ctl gcp_set_version_state \
    "{\"name\": \"$KEY/cryptoKeyVersions/1\", \"state\": \"DISABLED\"}" \
    >/dev/null || cmk_error "disable version 1"
# acme's CMK also seals the audit file's chain key, so the file cannot be
# opened: the check still runs, unrecorded, and says so on stderr.
if out=$("$CMK_TOOL" health --config "$cfg" --tenant acme 2>"$T/health.err"); then
    cmk_fail "health passed with the primary version disabled: $out"
fi
[ "$out" = "acme: key_disabled: provider health check failed (State:DISABLED)" ] ||
    cmk_fail "disabled primary version: unexpected answer: $out"
grep -q "the checks' KMS calls are not recorded" "$T/health.err" ||
    cmk_fail "health without its audit file: $(cat "$T/health.err")"
if out=$("$CMK_TOOL" health --json --config "$cfg" --tenant acme 2>/dev/null); then
    cmk_fail "health --json passed with the primary version disabled: $out"
fi
"$CMK_PYTHON" -c 'import json, sys
j = json.loads(sys.argv[1])
got = [j[k] for k in ("label", "provider", "healthy", "reason", "error",
                      "provider_code", "kek")]
want = ["acme", "gcp", False, "disabled", "key_disabled", "State:DISABLED",
        "not_checked"]
sys.exit(0 if got == want else "health --json: %r, want %r" % (got, want))
' "$out" || cmk_fail "health --json"
echo "ok: disabled primary version -> $out"
emu_ctl gcp_set_version_state \
    "{\"name\": \"$KEY/cryptoKeyVersions/1\", \"state\": \"ENABLED\"}" \
    >/dev/null || cmk_error "enable version 1"
"$CMK_TOOL" health --config "$cfg" --tenant acme >/dev/null ||
    cmk_fail "health after the version was enabled again"

export EMU_HTTP_URL EMU_DIR GCP_KEY=$KEY GCP_MD_SA \
    AUDIT_FILE=$T/audit/audit.jsonl
CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/gcp/gcp_pykcs11.py" main ||
    cmk_fail "PyKCS11 on the gcp tenants"

# The metadata server gone before the process has a token (no audit
# file: its chain key would need the KMS at C_Initialize).
"$CMK_PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1]))
del c["audit"]
json.dump(c, open(sys.argv[2], "w"))' "$cfg" "$T/no-audit.json" ||
    cmk_error "no-audit config"
gcp_metadata "$GCP_MD_SA" false
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
CMK_PKCS11_CONFIG=$T/no-audit.json cmk_host "$CMK_PYTHON" \
    "$top_srcdir/tests/integration/gcp/gcp_pykcs11.py" metadata_down ||
    cmk_fail "PyKCS11 with the metadata server down"
gcp_metadata "$GCP_MD_SA" true
"$CMK_TOOL" audit verify --config "$cfg" "$T/audit/audit.jsonl" >"$T/verify" ||
    cmk_fail "audit verify: $(cat "$T/verify")"
echo "ok: audit file verifies"
echo "PASS"
