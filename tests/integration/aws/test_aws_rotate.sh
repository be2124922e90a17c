#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: CMK rotation of an aws tenant against the KMS emulator.
# cmk-tool rotate-cmk refuses a disabled new or old key (exit 1, config
# untouched, no record), then moves the KEK with one ReEncrypt (never a
# Decrypt of the old blob in this process), checks it through the new key
# and writes the config; blobs an application made before each of two
# rotations still open through the module (rotate_blobs.py). Then the
# cloud-side rotation: the emulator gives the current key new material
# (RotateKeyOnDemand), blobs from before keep opening, new ones are sealed
# with the new material, and the config does not change.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-rotate.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
BLOBS=$top_srcdir/tests/integration/rotate_blobs.py
emulator_start "$T/emu" || cmk_error "emulator did not start"

aws_env_isolate "$T"
emu_ctl add_credentials \
    '{"access_key_id": "AKIDROTATETEST", "secret": "rotate-secret/XYZ"}' \
    >/dev/null || cmk_error "add_credentials"
umask 077
printf '{"access_key_id": "AKIDROTATETEST", "secret_access_key": "rotate-secret/XYZ"}\n' \
    >"$T/aws-credentials.json"

arn_of() {
    "$EMU_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["arn"])'
}
K1=$(emu_ctl create_key '{}' | arn_of) || cmk_error "create_key"
K2=$(emu_ctl create_key '{}' | arn_of) || cmk_error "create_key"
K3=$(emu_ctl create_key '{}' | arn_of) || cmk_error "create_key"

expect() { cmk_expect "$@"; }
err_has() { grep -qF -- "$1" "$T/err" || cmk_fail "stderr lacks '$1': $(cat "$T/err")"; }
jget() {
    "$CMK_PYTHON" -c 'import json, sys
a = json.load(open(sys.argv[1]))["tenants"][0]
print(eval(sys.argv[2]))' "$CFG" "$1"
}
# calls OP FIELD...: the emulator's log of OP, the fields of each call.
calls() {
    emu_ctl calls "{\"op\": \"$1\"}" | "$EMU_PYTHON" -c 'import json, sys
for c in json.load(sys.stdin)["calls"]:
    print(" ".join(str(c.get(f)) for f in sys.argv[1:]))' "${@:2}"
}
records() {
    "$CMK_PYTHON" - "$T/audit/audit.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event", "").startswith("cmk_rotation"):
        print(" ".join(str(r.get(k, "-")) for k in (
            "event", "tenant", "result", "key_old", "key_new", "count",
            "detail")))
PY
}

verifier=$(printf '2468\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
mkdir -m 700 "$T/etc" "$T/audit"
CFG=$T/etc/config.json
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s"},\n  "tenants": [{"label": "rot", "provider": "aws", "key": "%s", "region": "us-east-1", "endpoint": "%s/", "aws": {"credentials_file": "%s"}, "test_mode": true, "pin_verifier": "%s"}]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" "$K1" "$EMU_HTTP_URL" \
    "$T/aws-credentials.json" "$verifier" >"$CFG" || cmk_error "config"
cmk_provision "$CFG" rot
export CMK_PKCS11_CONFIG=$CFG ROT_LABEL=rot ROT_PIN=2468
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" under-k1 >/dev/null ||
    cmk_fail "blobs under K1"
COMMIT=$(jget 'a["kek_commitment"]')
KEK0=$(jget 'a["kek"]')
cp "$CFG" "$T/cfg.before"

echo "== a disabled key on either side: refused, nothing changed"
emu_ctl disable_key "{\"key_id\": \"$K2\"}" >/dev/null
expect 1 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
err_has "tenant \"rot\": the new CMK $K2 is not healthy: disabled or pending deletion (key_disabled, KeyState:Disabled): nothing changed"
emu_ctl enable_key "{\"key_id\": \"$K2\"}" >/dev/null
emu_ctl disable_key "{\"key_id\": \"$K1\"}" >/dev/null
expect 1 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
err_has "tenant \"rot\": the current CMK $K1 is not healthy: disabled or pending deletion (key_disabled, KeyState:Disabled): nothing changed"
emu_ctl enable_key "{\"key_id\": \"$K1\"}" >/dev/null
emu_ctl set_policy "{\"key_id\": \"$K2\", \"allow\": [\"someone-else\"]}" >/dev/null
expect 1 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
err_has "the new CMK $K2 is not healthy: access denied (access_denied, AccessDeniedException)"
emu_ctl set_policy "{\"key_id\": \"$K2\", \"allow\": null}" >/dev/null
expect 2 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "not a key"
err_has "--to: "
cmp -s "$CFG" "$T/cfg.before" || cmk_fail "config changed by a refusal"
ls "$T/etc" | grep -q '\.bak\.' && cmk_fail "backup left by a refusal"
[ -z "$(records)" ] || cmk_fail "a refusal was recorded: $(records)"

echo "== rotate K1 -> K2: one ReEncrypt, checked through K2"
emu_ctl reset_calls >/dev/null
expect 0 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
[ "$(calls ReEncrypt source_key_id request_key_id key_id status)" = \
    "$K1 $K2 ${K1##*/} 200" ] ||
    cmk_fail "ReEncrypt: $(calls ReEncrypt source_key_id request_key_id key_id status)"
[ "$(calls Decrypt request_key_id status)" = "$K2 200" ] ||
    cmk_fail "Decrypt (the check through K2): $(calls Decrypt request_key_id status)"
# One Encrypt: the audit writer's chain key, sealed by the loaded config's
# key (K1); the KEK is never sent in clear.
[ "$(calls Encrypt request_key_id)" = "$K1" ] ||
    cmk_fail "Encrypt calls: $(calls Encrypt request_key_id)"
[ "$(calls DescribeKey request_key_id | tr '\n' ' ')" = "$K1 $K2 " ] ||
    cmk_fail "health checks: $(calls DescribeKey request_key_id)"
[ "$(jget 'a["key"]')" = "$K2" ] || cmk_fail "key"
[ "$(jget 'a["previous_keys"]')" = "['$K1']" ] || cmk_fail "previous_keys"
[ "$(jget 'a["kek"]')" != "$KEK0" ] || cmk_fail "kek unchanged"
[ "$(jget 'a["kek_commitment"]')" = "$COMMIT" ] || cmk_fail "kek_commitment"
"$EMU_PYTHON" - "$CFG" "$K2" <<'EOF' || cmk_fail "the new KEK blob"
import base64, json, sys
blob = base64.b64decode(json.load(open(sys.argv[1]))["tenants"][0]["kek"])
k = int.from_bytes(blob[6:8], "big")
s = int.from_bytes(blob[8 + k:10 + k], "big")
got = (blob[:5], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode())
want = (b"CMKE\x02", "aws:" + sys.argv[2], sys.argv[2])
if got != want:
    sys.exit("KEK blob: %r, want %r" % (got, want))
EOF
BAK=$(ls "$T/etc" | grep '^config\.json\.bak\.')
cmp -s "$T/etc/$BAK" "$T/cfg.before" || cmk_fail "backup"
[ "$(stat -c %a "$T/etc/$BAK")" = 600 ] || cmk_fail "backup mode"
emu_ctl reset_calls >/dev/null
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "K1 blobs after the rotation"
[ "$(calls Decrypt request_key_id | grep -cx "$K1")" = 2 ] &&
    [ "$(calls Decrypt request_key_id | grep -cx "$K2")" = 1 ] &&
    [ "$(calls Decrypt request_key_id | wc -l)" = 3 ] ||
    cmk_fail "Decrypt after the rotation (blob, data by K1; KEK by K2): $(calls Decrypt request_key_id)"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" under-k2 >/dev/null ||
    cmk_fail "blobs under K2"

echo "== rotate K2 -> K3"
sleep 1
expect 0 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K3" --force
[ "$(jget 'a["previous_keys"]')" = "['$K2', '$K1']" ] || cmk_fail "previous_keys"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "K1 and K2 blobs after two rotations"

echo "== cloud-side rotation of K3's material: no config change"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" k3-material-0 >/dev/null ||
    cmk_fail "blobs under K3"
cp "$CFG" "$T/cfg.k3"
[ "$(emu_ctl rotate_key "{\"key_id\": \"$K3\"}")" = \
    "{\"key_id\": \"${K3##*/}\", \"material_version\": 1}" ] ||
    cmk_error "rotate_key"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" k3-material-1 >/dev/null ||
    cmk_fail "blobs after the material rotation"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "every blob after the material rotation"
# The KMS blob inside: version 1 (material 0) before, version 2 naming
# material 1 after.
ct0=$("$CMK_PYTHON" "$BLOBS" ct "$T/state.json" k3-material-0)
ct1=$("$CMK_PYTHON" "$BLOBS" ct "$T/state.json" k3-material-1)
[ "${ct0:0:2}" = 01 ] || cmk_fail "blob before: $ct0"
[ "${ct1:0:2}${ct1:34:8}" = 0200000001 ] || cmk_fail "blob after: $ct1"
cmp -s "$CFG" "$T/cfg.k3" || cmk_fail "the material rotation changed the config"

echo "== audit records, in order"
records >"$T/records"
printf '%s\n' \
    "cmk_rotation_started rot ok $K1 $K2 - -" \
    "cmk_rotation_completed rot ok $K1 $K2 1 -" \
    "cmk_rotation_started rot ok $K2 $K3 - -" \
    "cmk_rotation_completed rot ok $K2 $K3 1 -" >"$T/want"
diff "$T/want" "$T/records" >&2 || cmk_fail "rotation records"
expect 0 "$CMK_TOOL" audit verify --config "$CFG" "$T/audit/audit.jsonl"
echo "PASS"
