#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool import-key --aws against the KMS emulator. A key
# made with Origin EXTERNAL (the emulator's control API) is unusable until
# the import; import-key wraps the customer's material with the KMS's RSA
# key (checked: the emulator holds exactly those bytes), then the tenant
# is provisioned and the module encrypts and decrypts through it on both
# paths. Then each refusal with its message and exit code: not an
# EXTERNAL key, a key pending deletion, other material for the same key,
# an expired import token, bad arguments; and the material's expiry on
# the emulator clock, after which only a re-import of the same material
# brings the tenant back. The audit file holds key_imported records.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-import.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
TOOL=$CMK_TOOL
PY=$top_srcdir/tests/integration/import_pykcs11.py
emulator_start "$T/emu" || cmk_error "emulator did not start"
aws_env_isolate "$T"
umask 077

expect() { cmk_expect "$@"; }
err_is() {
    [ "$(cat "$T/err")" = "$1" ] ||
        cmk_fail "stderr: '$(cat "$T/err")', expected '$1'"
}
field() { "$CMK_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
host() { CMK_PKCS11_CONFIG=$cfg cmk_host "$CMK_PYTHON" "$PY" "$@"; }

emu_ctl add_credentials '{"access_key_id":"AKIDIMPORT","secret":"import-secret"}' \
    >/dev/null || cmk_error "add_credentials"
printf '{"access_key_id": "AKIDIMPORT", "secret_access_key": "import-secret"}\n' \
    >"$T/creds.json"
byok=$(emu_ctl create_key '{"origin":"EXTERNAL"}' | field arn) ||
    cmk_error "create_key EXTERNAL"
gone=$(emu_ctl create_key '{"origin":"EXTERNAL"}' | field arn) ||
    cmk_error "create_key EXTERNAL"
plain=$(emu_ctl create_key '{}' | field arn) || cmk_error "create_key"
emu_ctl schedule_deletion "{\"key_id\":\"$gone\"}" >/dev/null ||
    cmk_error "schedule_deletion"

v=$(printf '1234\n' | "$TOOL" pin-hash --cost min) || cmk_error "pin-hash"
tenant() {
    printf '{"label": "%s", "provider": "aws", "key": "%s", "region": "us-east-1", "endpoint": "%s/", "aws": {"credentials_file": "%s"}, "test_mode": true, "pin_verifier": "%s"}' \
        "$1" "$2" "$EMU_HTTP_URL" "$T/creds.json" "$v"
}
cfg=$T/config.json
# The emulator makes its first RSA-4096 key pair during a call: seconds.
printf '{"version": 1, "store_dir": "%s", "cache": {"ttl_seconds": 0},\n "http": {"timeout_ms": 60000},\n "audit": {"file": "%s", "key_tenant": "plain"},\n "tenants": [%s,\n %s,\n %s]}\n' \
    "$T/store" "$T/audit.jsonl" "$(tenant byok "$byok")" \
    "$(tenant plain "$plain")" "$(tenant gone "$gone")" >"$cfg"

echo "== before the import"
expect 1 "$TOOL" health --config "$cfg" --tenant byok
grep -q 'KeyState:PendingImport' "$T/out" || cmk_fail "health: $(cat "$T/out")"
expect 1 "$TOOL" provision --config "$cfg" --tenant byok

echo "== import"
head -c 32 /dev/urandom >"$T/cust.key"
expect 2 "$TOOL" import-key --config "$cfg" --tenant byok --key-file "$T/cust.key"
err_is 'cmk-tool: tenant "byok" is on the aws provider: --aws imports into its KMS key'
expect 2 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --valid-to tomorrow
err_is 'cmk-tool: --valid-to: "tomorrow" is not an RFC 3339 date-time (2026-12-31T23:59:59Z)'
expect 2 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --valid-to 2001-01-01T00:00:00Z
err_is 'cmk-tool: --valid-to: 2001-01-01T00:00:00Z is not in the next 365 days'
expect 2 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --wrapping-key-spec RSA_1024
err_is 'cmk-tool: --wrapping-key-spec: expected RSA_2048 or RSA_4096'
head -c 16 /dev/urandom >"$T/short.key"
expect 2 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/short.key" --aws
err_is "cmk-tool: $T/short.key: 16 bytes: key material must be exactly 32 bytes (a raw AES-256 key)"
[ "$(emu_count GetParametersForImport)" = 0 ] ||
    cmk_fail "a refused import reached the KMS"

valid_to=$(date -u -d '+120 seconds' +%Y-%m-%dT%H:%M:%SZ)
emu_ctl reset_calls >/dev/null
expect 0 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --valid-to "$valid_to" --wrapping-key-spec RSA_2048
[ "$(cat "$T/out")" = "byok: imported: $byok" ] || cmk_fail "out: $(cat "$T/out")"
ops=$("$CMK_PYTHON" -c 'import json,sys
print(" ".join(c["op"] for c in map(json.loads, open(sys.argv[1]))
               if c["key_id"] == sys.argv[2]))' "$EMU_DIR/calls.jsonl" "${byok##*/}")
[ "$ops" = "DescribeKey GetParametersForImport ImportKeyMaterial DescribeKey" ] ||
    cmk_fail "KMS calls of the import: $ops"
"$CMK_PYTHON" - "$EMU_DIR/state.json" "${byok##*/}" "$T/cust.key" "$valid_to" <<'PY' ||
import base64, calendar, json, sys, time
k = json.load(open(sys.argv[1]))["keys"][sys.argv[2]]
assert base64.b64decode(k["material"]) == open(sys.argv[3], "rb").read(), \
    "the KMS holds other bytes than the key file"
assert k["state"] == "Enabled" and k["origin"] == "EXTERNAL", k["state"]
assert k["expiration_model"] == "KEY_MATERIAL_EXPIRES"
want = calendar.timegm(time.strptime(sys.argv[4], "%Y-%m-%dT%H:%M:%SZ"))
assert k["valid_to"] == want, (k["valid_to"], want)
print("ok: the KMS key holds exactly the key file's bytes, until", sys.argv[4])
PY
    cmk_fail "imported material"
cmk_provision "$cfg" byok
expect 0 "$TOOL" health --config "$cfg" --tenant byok
host seal byok 1234 "$T/blobs" || cmk_fail "seal through the imported key"
host open byok 1234 "$T/blobs" || cmk_fail "open through the imported key"
echo "ok: Encrypt and Decrypt through the module"

echo "== refusals"
expect 1 "$TOOL" import-key --config "$cfg" --tenant plain --key-file \
    "$T/cust.key" --aws
err_is "cmk-tool: tenant \"plain\": key $plain is not an EXTERNAL key (Origin AWS_KMS): key material can only be imported into a key created with Origin EXTERNAL"
expect 1 "$TOOL" import-key --config "$cfg" --tenant gone --key-file \
    "$T/cust.key" --aws
err_is "cmk-tool: tenant \"gone\": key $gone is not in PendingImport state (it is PendingDeletion): key material goes into a new EXTERNAL key or one whose material expired (or, the same material again, an Enabled or Disabled one)"
expect 1 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws
grep -q '^cmk-tool: tenant "byok": the last key change (import-key) was at .*--force overrides this' "$T/err" ||
    cmk_fail "interval: $(cat "$T/err")"
head -c 32 /dev/urandom >"$T/other.key"
expect 1 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/other.key" --aws --force
grep -qx "cmk-tool: tenant \"byok\": key $byok refused this key material: it holds, or held, other key material (a key only ever takes the material first imported into it)" "$T/err" ||
    cmk_fail "other material: $(cat "$T/err")"
emu_ctl import_token_ttl '{"seconds": 0}' >/dev/null
expect 1 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --wrapping-key-spec RSA_2048 --force
emu_ctl import_token_ttl '{"seconds": 86400}' >/dev/null
grep -Eq '^cmk-tool: tenant "byok": the import token expired \(it was valid to 20[0-9-]+T[0-9:]+Z\): run import-key again for a new one$' "$T/err" ||
    cmk_fail "expired token: $(cat "$T/err")"
expect 0 "$TOOL" health --config "$cfg" --tenant byok
echo "ok: each refusal named, the key untouched"

echo "== the material expires on the KMS clock"
emu_ctl clock_offset '{"seconds": 180}' >/dev/null
expect 1 "$TOOL" health --config "$cfg" --tenant byok
grep -q 'KeyState:PendingImport' "$T/out" || cmk_fail "health: $(cat "$T/out")"
host refused byok 1234 "$T/blobs" CKR_FUNCTION_FAILED ||
    cmk_fail "a blob opened after the material expired"
expect 0 "$TOOL" import-key --config "$cfg" --tenant byok --key-file \
    "$T/cust.key" --aws --force
emu_ctl clock_offset '{"seconds": 0}' >/dev/null
host open byok 1234 "$T/blobs" || cmk_fail "blobs after the re-import"
echo "ok: expired, refused, imported again (RSA_4096), blobs open again"

echo "== audit"
expect 0 "$TOOL" audit verify --config "$cfg" "$T/audit.jsonl"
"$CMK_PYTHON" - "$T/audit.jsonl" "$byok" "$valid_to" <<'PY' ||
import json, sys
recs = [json.loads(l.strip("\0\n")) for l in open(sys.argv[1])
        if l.strip("\0\n")]
imp = [r for r in recs if r["event"] == "key_imported"]
assert len(imp) == 2, "key_imported records: %d" % len(imp)
want = [("origin: EXTERNAL (aws, RSAES_OAEP_SHA_256 RSA_2048); expiry: "
         + sys.argv[3]),
        "origin: EXTERNAL (aws, RSAES_OAEP_SHA_256 RSA_4096); expiry: none"]
for r, d in zip(imp, want):
    assert (r["op"], r["tenant"], r["result"], r["key_new"], r["detail"]) == \
        ("cmk-tool import-key", "byok", "ok", sys.argv[2], d), r
    assert "key_old" not in r, r
forced = [r for r in recs if r["event"] == "key_change_forced"]
assert len(forced) == 3, "key_change_forced records: %d" % len(forced)
print("ok: key_imported records")
PY
    cmk_fail "audit records"
hex=$(od -An -tx1 "$T/cust.key" | tr -d ' \n')
if grep -qiF -e "$hex" -e "$(base64 -w0 "$T/cust.key")" "$T/audit.jsonl" \
    "$cfg"; then
    cmk_fail "key material in the audit file or config"
fi
echo "PASS"
