#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool rotate-cmk on the local provider: the refusals
# (usage, unknown tenant, the current key, a bad key file, a held
# key-change lock, a tenant KEK without commitment, a KEK that fails its
# commitment once moved) that change nothing, a
# config write that fails (read-only directory) and leaves the old config
# working, then two rotations and a rotation back, each with the exact
# config, backup, output and audit records, and the blobs an application
# made before each rotation still opening through the module
# (rotate_blobs.py, PyKCS11).
# Exit codes: 0 pass, 1 fail, 77 skip (99 under CI=true).
. "$(dirname "$0")/lib.sh"

cmk_need_module
cmk_need_pykcs11
cmk_tmpdir
T=$CMK_TMP
TOOL=$CMK_TOOL
BLOBS=$top_srcdir/tests/integration/rotate_blobs.py

# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() { cmk_expect "$@"; }
err_has() { grep -qF -- "$1" "$T/err" || cmk_fail "stderr lacks '$1': $(cat "$T/err")"; }
unchanged() { cmp -s "$CFG" "$T/cfg.before" || cmk_fail "config changed: $1"; }
nbak() { ls "$T/etc" | grep -c '\.bak\.'; }
# no_backup WHAT [N]: no backups beyond the N (default 0) made before.
no_backup() {
    [ "$(nbak)" = "${2:-0}" ] || cmk_fail "a backup was left: $1"
}

# jget EXPR: a Python expression over the config c (tenant 0 is acme).
jget() {
    "$CMK_PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1]))
a = c["tenants"][0]
print(eval(sys.argv[2]))' "$CFG" "$1"
}

# records: the rotation records of the audit file, one line each.
records() {
    "$CMK_PYTHON" - "$T/audit/audit.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event", "").startswith("cmk_rotation"):
        f = [r[k] for k in ("event", "op", "tenant", "result", "key_old",
                            "key_new") if k in r]
        f.append("count=%s" % r.get("count", "-"))
        f.append("detail=%s" % r.get("detail", "-"))
        print(" ".join(str(x) for x in f))
PY
}

mkdir -m 700 "$T/etc" "$T/keys" "$T/audit"
for k in a b c d; do
    "$TOOL" local-key --out "$T/keys/$k.key" >/dev/null || cmk_error "local-key"
done
A=$T/keys/a.key B=$T/keys/b.key C=$T/keys/c.key
v=$(printf '1234\n' | "$TOOL" pin-hash --cost min) || cmk_error "pin-hash"
CFG=$T/etc/config.json
cat >"$CFG" <<JSON
{
  "version": 1,
  "store_dir": "$T/store",
  "audit": {"file": "$T/audit/audit.jsonl"},
  "tenants": [
    {"label": "acme", "provider": "local", "key": "$A",
     "pin_verifier": "$v", "test_mode": true,
     "encryption_context": {"env": "prod"}, "cmk_label": "acme-cmk"},
    {"label": "bare", "provider": "local", "key": "$T/keys/d.key",
     "login_required": false}
  ]
}
JSON
chmod 644 "$CFG"
cmk_provision "$CFG" acme
export CMK_PKCS11_CONFIG=$CFG ROT_LABEL=acme ROT_PIN=1234
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" before-1 >/dev/null ||
    cmk_fail "blobs before the first rotation"
KEK0=$(jget 'a["kek"]')
COMMIT=$(jget 'a["kek_commitment"]')
ORDER0=$(jget 'list(a)')
cp "$CFG" "$T/cfg.before"

echo "== refusals that change nothing"
expect 2 "$TOOL" rotate-cmk
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B" extra
expect 0 "$TOOL" rotate-cmk --help
grep -q '^usage: cmk-tool rotate-cmk --config FILE --tenant LABEL --to NEWREF' \
    "$T/out" || cmk_fail "help text: $(cat "$T/out")"
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant nobody --to "$B"
err_has "no tenant labelled \"nobody\""
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$A"
err_has "--to: $A is already the key of tenant \"acme\""
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$T/keys/none.key"
err_has "--to: cannot use key file $T/keys/none.key"
chmod 644 "$B"
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B"
err_has "--to: key file $B is accessible by group or others"
chmod 600 "$B"
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to keys/b.key
err_has "--to: must be an absolute path"
unchanged "after the refusals"
no_backup "after the refusals"

echo "== the key-change lock held by another process"
lock=$T/store/acme/key-change.lock
(
    exec 9>>"$lock"
    flock -n 9 || exit 1
    printf 'rotate-kek, pid 4242 on host elsewhere since 2026-12-05T03:00:00Z\n' >"$lock"
    exec sleep 60 # holds fd 9, so the lock, until killed
) &
holder=$!
for _ in $(seq 50); do grep -q rotate-kek "$lock" 2>/dev/null && break; sleep 0.1; done
expect 1 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B"
err_has 'tenant "acme": a key change is running: rotate-kek, pid 4242 on host elsewhere since 2026-12-05T03:00:00Z'
kill "$holder"
wait "$holder" 2>/dev/null
unchanged "while the lock was held"

echo "== a config write that fails leaves the old config"
# Root ignores directory modes: drop the capabilities that let it.
ro() {
    if [ "$(id -u)" = 0 ]; then
        command -v setpriv >/dev/null || cmk_missing "setpriv (util-linux)"
        setpriv --bounding-set=-dac_override,-dac_read_search,-fowner -- "$@"
    else
        "$@"
    fi
}
chmod 555 "$T/etc"
expect 1 ro "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B"
chmod 700 "$T/etc"
err_has "cannot create a backup of $CFG"
unchanged "after the failed write"
no_backup "after the failed write"
ls "$T/etc" | grep -q 'tmp-' && cmk_fail "temporary file left behind"
expect 0 "$TOOL" health --config "$CFG" --tenant acme
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "the old config does not work after the failed write"

echo "== rotate a -> b"
expect 0 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B"
BAK=$(ls "$T/etc" | grep '^config\.json\.bak\.[0-9]\{8\}T[0-9]\{6\}Z$')
[ "$(echo "$BAK" | wc -l)" = 1 ] || cmk_fail "backups: $(ls "$T/etc")"
printf '%s\n' "tenant \"acme\": CMK rotated from $A to $B" \
    "KEK re-encrypted under $B and checked against its commitment" \
    "previous_keys: $A" "backup of the previous config: $T/etc/$BAK" |
    cmp -s - "$T/out" || cmk_fail "output: $(cat "$T/out")"
cmp -s "$T/etc/$BAK" "$T/cfg.before" || cmk_fail "backup is not the old config"
[ "$(stat -c %a "$T/etc/$BAK")" = 640 ] ||
    cmk_fail "backup mode $(stat -c %a "$T/etc/$BAK"), want 640"
[ "$(stat -c %a "$CFG")" = 644 ] || cmk_fail "config mode changed"
[ "$(jget 'a["key"]')" = "$B" ] || cmk_fail "key: $(jget 'a["key"]')"
[ "$(jget 'a["previous_keys"]')" = "['$A']" ] ||
    cmk_fail "previous_keys: $(jget 'a["previous_keys"]')"
KEK1=$(jget 'a["kek"]')
[ "$KEK1" != "$KEK0" ] || cmk_fail "kek not re-encrypted"
[ "$(jget 'a["kek_commitment"]')" = "$COMMIT" ] || cmk_fail "kek_commitment changed"
[ "$(jget 'list(a)')" = "${ORDER0%]}, 'previous_keys']" ] ||
    cmk_fail "member order: $(jget 'list(a)')"
[ "$(jget 'c["tenants"][1]')" = "$("$CMK_PYTHON" -c 'import json,sys
print(json.load(open(sys.argv[1]))["tenants"][1])' "$T/cfg.before")" ] ||
    cmk_fail "the other tenant changed"
expect 0 "$TOOL" health --config "$CFG"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "blobs from before the rotation, after it"
cmk_host "$CMK_PYTHON" "$BLOBS" make "$T/state.json" before-2 >/dev/null ||
    cmk_fail "blobs before the second rotation"

echo "== rotate b -> c, then back to a"
sleep 1 # a new backup name
expect 0 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$C" --force
[ "$(jget 'a["key"]')" = "$C" ] || cmk_fail "key after the second rotation"
[ "$(jget 'a["previous_keys"]')" = "['$B', '$A']" ] ||
    cmk_fail "previous_keys: $(jget 'a["previous_keys"]')"
[ "$(jget 'a["kek_commitment"]')" = "$COMMIT" ] || cmk_fail "kek_commitment changed"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "blobs from before both rotations, after the second"
expect 0 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$A" --force
[ "$(jget 'a["key"]')" = "$A" ] || cmk_fail "key after rotating back"
[ "$(jget 'a["previous_keys"]')" = "['$C', '$B']" ] ||
    cmk_fail "previous_keys after rotating back: $(jget 'a["previous_keys"]')"
[ "$(ls "$T/etc" | grep -c '\.bak\.')" = 3 ] || cmk_fail "backups: $(ls "$T/etc")"
cmk_host "$CMK_PYTHON" "$BLOBS" check "$T/state.json" >/dev/null ||
    cmk_fail "blobs after rotating back"

echo "== a tenant without a KEK changes only its key reference"
expect 0 "$TOOL" rotate-cmk --config "$CFG" --tenant bare --to "$B"
grep -qx 'no KEK: only the key reference changed' "$T/out" ||
    cmk_fail "output: $(cat "$T/out")"
[ "$(jget 'c["tenants"][1].get("kek", "none")')" = none ] || cmk_fail "bare got a kek"
[ "$(jget 'c["tenants"][1]["previous_keys"]')" = "['$T/keys/d.key']" ] ||
    cmk_fail "bare previous_keys"

echo "== a KEK without commitment is refused before anything"
cp "$CFG" "$T/cfg.committed"
"$CMK_PYTHON" - "$CFG" <<'PY' || cmk_error "cannot edit the config"
import json, sys
c = json.load(open(sys.argv[1]))
del c["tenants"][0]["kek_commitment"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
cp "$CFG" "$T/cfg.before"
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B"
err_has "has a \"kek\" without \"kek_commitment\""
unchanged "uncommitted KEK"
# Another tenant's commitment (or a tampered one): the KEK moved to the
# new key fails the check, and nothing is written.
sed "s|$COMMIT|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=|" "$T/cfg.committed" >"$CFG"
cp "$CFG" "$T/cfg.before"
bak=$(nbak)
expect 1 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$B" --force
err_has "tenant \"acme\": the re-encrypted KEK does not open through $B to the tenant's KEK (verify: kek_commitment): the config is unchanged"
unchanged "KEK commitment mismatch"
no_backup "KEK commitment mismatch" "$bak"
cp "$T/cfg.committed" "$CFG"

echo "== the old key gone: the config itself is refused"
mv "$C" "$T/c.saved"
expect 2 "$TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$T/keys/d.key"
err_has "$C"
mv "$T/c.saved" "$C"

echo "== audit records, in order"
records >"$T/records"
cat >"$T/want" <<EOF
cmk_rotation_started cmk-tool rotate-cmk acme ok $A $B count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk acme failed $A $B count=- detail=config_write
cmk_rotation_started cmk-tool rotate-cmk acme ok $A $B count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk acme ok $A $B count=1 detail=-
cmk_rotation_started cmk-tool rotate-cmk acme ok $B $C count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk acme ok $B $C count=1 detail=-
cmk_rotation_started cmk-tool rotate-cmk acme ok $C $A count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk acme ok $C $A count=1 detail=-
cmk_rotation_started cmk-tool rotate-cmk bare ok $T/keys/d.key $B count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk bare ok $T/keys/d.key $B count=0 detail=-
cmk_rotation_started cmk-tool rotate-cmk acme ok $A $B count=- detail=-
cmk_rotation_completed cmk-tool rotate-cmk acme failed $A $B count=- detail=verify: kek_commitment
EOF
diff "$T/want" "$T/records" >&2 || cmk_fail "rotation records"
# The KMS calls of each rotation are in the file too, in cmk-tool's own
# chain: before its started record the health checks of both CMKs, then
# until its completed record the KEK unsealed under the old CMK, sealed
# under the new one, and unsealed again to check it ("bare" has no KEK:
# no call; the last one's check finds a KEK that fails its commitment).
"$CMK_PYTHON" - "$T/audit/audit.jsonl" <<'PY' >"$T/calls" ||
import json, sys
checks, open_runs = {}, {}
for r in map(json.loads, open(sys.argv[1])):
    w, e = r["writer"], r.get("event")
    if e == "cmk_rotation_started":
        open_runs[w] = []
    elif e == "kms_call" and w in open_runs:
        open_runs[w].append("%s:%s" % (r["op"], r["result"]))
    elif e == "kms_call" and r.get("detail") != "audit chain key":
        checks.setdefault(w, []).append("%s:%s" % (r["op"], r["result"]))
    elif e == "cmk_rotation_completed":
        print(r["tenant"], r["result"], " ".join(checks.pop(w, ["-"])), "|",
              " ".join(open_runs.pop(w)) or "-")
PY
    cmk_fail "cannot read the kms_call records"
cat >"$T/want" <<EOF
acme failed Health:CKR_OK Health:CKR_OK | Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_OK
acme ok Health:CKR_OK Health:CKR_OK | Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_OK
acme ok Health:CKR_OK Health:CKR_OK | Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_OK
acme ok Health:CKR_OK Health:CKR_OK | Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_OK
bare ok Health:CKR_OK Health:CKR_OK | -
acme failed Health:CKR_OK Health:CKR_OK | Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_DEVICE_ERROR
EOF
diff "$T/want" "$T/calls" >&2 || cmk_fail "the rotations' kms_call records"
expect 0 "$TOOL" audit verify --config "$CFG" "$T/audit/audit.jsonl"
echo "PASS"
