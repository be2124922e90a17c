#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: key rotation of a gcp tenant against the emulator's Cloud
# KMS. On the Google side: a new cryptoKeyVersion made primary; blobs from
# before still open through the module, new ones name the new version,
# the config does not change. Then cmk-tool rotate-cmk to another
# cryptoKey (no ReEncrypt in Cloud KMS: the KEK is decrypted by the old
# key and encrypted by the new one in secure memory), previous_keys
# holding the old cryptoKey name, every blob still opening; then
# cmk-tool rewrap of the old key's direct-path blobs to the new key, the
# rewrapped blobs opening through the module, a second run skipping them.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$(dirname "$0")/gcp_lib.sh"

cmk_need_module
emu_require || exit $?
cmk_need_pykcs11

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-gcp-rotate.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
BLOBS=$top_srcdir/tests/integration/rotate_blobs.py
emulator_start "$T/emu" || cmk_error "emulator did not start"
gcp_clean_env "$T"
umask 077

K1=$GCP_RING/cryptoKeys/rot1
K2=$GCP_RING/cryptoKeys/rot2
gcp_ring
gcp_key rot1
gcp_key rot2
gcp_metadata "$GCP_MD_SA"
gcp_bind "$GCP_MD_SA" "{\"$K1\": $GCP_KEY_ROLE, \"$K2\": $GCP_KEY_ROLE}"

expect() { cmk_expect "$@"; }
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
# sealed TAG...: key id and sealed-by of the direct-path envelopes of the
# items saved under each TAG (in order), one "KEYID SEALEDBY" a line.
sealed() {
    "$CMK_PYTHON" - "$T/state.json" "$@" <<'PY'
import json, sys
items = json.load(open(sys.argv[1]))["items"]
for tag in sys.argv[2:]:
    for it in items:
        if it["tag"] == tag:
            b = bytes.fromhex(it["envelope"])
            k = int.from_bytes(b[6:8], "big")
            s = int.from_bytes(b[8 + k:10 + k], "big")
            print(b[8:8 + k].decode(), b[10 + k:10 + k + s].decode())
PY
}

mkdir -m 700 "$T/etc" "$T/audit" || cmk_error "mkdir"
CFG=$T/etc/config.json
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s"},\n  "tenants": [%s]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" "$(gcp_tenant rot 2468 "$K1")" \
    >"$CFG" || cmk_error "config"
cmk_provision "$CFG" rot
export CMK_PKCS11_CONFIG=$CFG ROT_LABEL=rot ROT_PIN=2468
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" v1 >/dev/null ||
    cmk_fail "blobs under version 1"
cp "$CFG" "$T/cfg.before"

echo "== Google-side rotation: version 2 primary, nothing to do here"
[ "$(emu_ctl gcp_create_version "{\"key\": \"$K1\"}" |
    "$EMU_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["name"])')" = \
    "$K1/cryptoKeyVersions/2" ] || cmk_error "create version 2"
gcp_ctl gcp_set_primary "{\"key\": \"$K1\", \"version\": 2}"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" v2 >/dev/null ||
    cmk_fail "blobs under version 2"
emu_ctl reset_calls >/dev/null
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "blobs of both versions after the rotation"
[ "$(sealed v1 v2)" = "gcp:$K1 $K1/cryptoKeyVersions/1
gcp:$K1 $K1/cryptoKeyVersions/2" ] ||
    cmk_fail "envelopes before and after: $(sealed v1 v2)"
# Decrypt goes to the cryptoKey, whatever the version: the KEK, then the
# envelope and the data of each item.
[ "$(calls GCP.Decrypt path status | sort | uniq -c | xargs)" = \
    "5 /v1/$K1:decrypt 200" ] ||
    cmk_fail "decrypt calls: $(calls GCP.Decrypt path status)"
cmp -s "$CFG" "$T/cfg.before" || cmk_fail "the rotation changed the config"
echo "ok: old blobs open, new ones name version 2, config unchanged"

echo "== cmk-tool rotate-cmk to another cryptoKey"
COMMIT=$(jget 'a["kek_commitment"]')
expect 2 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot \
    --to "projects/p1/keyRings/cmk/cryptoKeys/rot2"
grep -qF -- "--to: expected projects/P/locations/L/keyRings/R/cryptoKeys/K" \
    "$T/err" || cmk_fail "bad --to: $(cat "$T/err")"
gcp_ctl gcp_set_version_state \
    "{\"name\": \"$K2/cryptoKeyVersions/1\", \"state\": \"DISABLED\"}"
expect 1 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
grep -qF "tenant \"rot\": the new CMK $K2 is not healthy: disabled or pending deletion (key_disabled, State:DISABLED): nothing changed" \
    "$T/err" || cmk_fail "disabled new key: $(cat "$T/err")"
gcp_ctl gcp_set_version_state \
    "{\"name\": \"$K2/cryptoKeyVersions/1\", \"state\": \"ENABLED\"}"
cmp -s "$CFG" "$T/cfg.before" || cmk_fail "config changed by a refusal"
emu_ctl reset_calls >/dev/null
expect 0 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant rot --to "$K2"
[ "$(jget 'a["key"]')" = "$K2" ] || cmk_fail "key: $(jget 'a["key"]')"
[ "$(jget 'a["previous_keys"]')" = "['$K1']" ] ||
    cmk_fail "previous_keys: $(jget 'a["previous_keys"]')"
[ "$(jget 'a["kek_commitment"]')" = "$COMMIT" ] || cmk_fail "kek_commitment"
"$CMK_PYTHON" - "$CFG" "$K2" <<'PY' || cmk_fail "the new KEK blob"
import base64, json, sys
blob = base64.b64decode(json.load(open(sys.argv[1]))["tenants"][0]["kek"])
k = int.from_bytes(blob[6:8], "big")
s = int.from_bytes(blob[8 + k:10 + k], "big")
got = (blob[:6], blob[8:8 + k].decode(), blob[10 + k:10 + k + s].decode())
want = (b"CMKE\x02\x03", "gcp:" + sys.argv[2],
        sys.argv[2] + "/cryptoKeyVersions/1")
sys.exit(0 if got == want else "KEK blob: %r, want %r" % (got, want))
PY
# The KEK: decrypted by K1, encrypted by K2, checked by decrypting through
# K2; health of both keys first; the audit chain key sealed by K1.
[ "$(calls GCP.GetCryptoKey path | tr '\n' ' ')" = "/v1/$K1 /v1/$K2 " ] ||
    cmk_fail "health checks: $(calls GCP.GetCryptoKey path)"
[ "$(calls GCP.Decrypt path | tr '\n' ' ')" = \
    "/v1/$K1:decrypt /v1/$K2:decrypt " ] ||
    cmk_fail "decrypt calls: $(calls GCP.Decrypt path)"
[ "$(calls GCP.Encrypt path | sort | tr '\n' ' ')" = \
    "/v1/$K1:encrypt /v1/$K2:encrypt " ] ||
    cmk_fail "encrypt calls: $(calls GCP.Encrypt path)"
emu_ctl reset_calls >/dev/null
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "blobs under K1 after rotate-cmk"
[ "$(calls GCP.Decrypt path | sort | uniq -c | xargs)" = \
    "4 /v1/$K1:decrypt 1 /v1/$K2:decrypt" ] ||
    cmk_fail "decrypt after rotate-cmk (each item's envelope and data by K1, the KEK by K2): $(calls GCP.Decrypt path)"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" k2 >/dev/null ||
    cmk_fail "blobs under K2"
[ "$(sealed k2)" = "gcp:$K2 $K2/cryptoKeyVersions/1" ] ||
    cmk_fail "envelope under K2: $(sealed k2)"
echo "ok: rotate-cmk: previous_keys [K1], KEK under K2, every blob opens"

echo "== cmk-tool rewrap of K1's direct-path blobs"
"$CMK_PYTHON" -c 'import base64, json, sys
for it in json.load(open(sys.argv[1]))["items"]:
    print(base64.b64encode(bytes.fromhex(it["envelope"])).decode())' \
    "$T/state.json" >"$T/in" || cmk_error "blobs"
emu_ctl reset_calls >/dev/null
"$CMK_TOOL" rewrap --config "$CFG" --tenant rot --stdin <"$T/in" \
    >"$T/out" 2>"$T/err" || cmk_fail "rewrap: $(cat "$T/err")"
grep -qF "rewrapped 2, skipped 1 (already current 1, journal 0), failed 0, not processed 0" \
    "$T/err" || cmk_fail "rewrap summary: $(cat "$T/err")"
[ "$(calls GCP.Decrypt path | sort | tr '\n' ' ')" = \
    "/v1/$K1:decrypt /v1/$K1:decrypt " ] &&
    [ "$(calls GCP.Encrypt path | sort | tr '\n' ' ')" = \
        "/v1/$K2:encrypt /v1/$K2:encrypt /v1/$K2:encrypt " ] ||
    cmk_fail "rewrap calls (two blobs decrypted by K1 and encrypted by K2, and the audit chain key by K2): $(calls GCP.Decrypt path; calls GCP.Encrypt path)"
# The rewrapped blobs in place of the old ones: they open through the
# module to the same keys, and name K2.
"$CMK_PYTHON" - "$T/state.json" "$T/out" <<'PY' || cmk_error "state"
import base64, json, sys
state = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split()
assert len(lines) == len(state["items"]), lines
for it, line in zip(state["items"], lines):
    it["envelope"] = base64.b64decode(line).hex()
json.dump(state, open(sys.argv[1], "w"))
PY
[ "$(sealed v1 v2 k2 | sort -u)" = "gcp:$K2 $K2/cryptoKeyVersions/1" ] ||
    cmk_fail "rewrapped envelopes: $(sealed v1 v2 k2)"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "rewrapped blobs through the module"
emu_ctl reset_calls >/dev/null
"$CMK_TOOL" rewrap --config "$CFG" --tenant rot --stdin <"$T/out" \
    >"$T/out2" 2>"$T/err" || cmk_fail "rewrap again: $(cat "$T/err")"
grep -qF "rewrapped 0, skipped 3 (already current 3, journal 0), failed 0" \
    "$T/err" || cmk_fail "second rewrap: $(cat "$T/err")"
cmp -s "$T/out" "$T/out2" || cmk_fail "second rewrap changed blobs"
[ "$(calls GCP.Decrypt path)" = "" ] || cmk_fail "second rewrap decrypted"
echo "ok: rewrap moved K1's blobs to K2; a second run skips them"

expect 0 "$CMK_TOOL" audit verify --config "$CFG" "$T/audit/audit.jsonl"
echo "PASS"
