#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool rotate-kek on the local provider with the real
# binary and the module under PyKCS11. Token objects stay readable before,
# during (a run killed while it waits for the store) and after the
# rotation; the same command finishes a killed run from its journal;
# afterwards they open with the old KEK gone from the config; the audit
# file has one started and one completed record and verifies; a held
# key-change lock refuses a run; usage errors exit 2.
set -u
. "$(dirname "$0")/lib.sh"

cmk_need flock od
cmk_need_module
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "python3-pykcs11 is not installed"
cmk_tmpdir
T=$CMK_TMP
N=20

fail() { cmk_fail "$*"; }
# expect RC CMD...: runs CMD, output in $T/out and $T/err.
expect() { cmk_expect "$@"; }

cmk_tenant "$T" acme 1234
cmk_tenant "$T" bare 5678
mkdir -m 700 "$T/audit"
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s"},\n  "tenants": [\n    %s\n  ]\n}\n' \
    "$T/store" "$T/audit/audit.jsonl" "$CMK_TENANTS" >"$T/config.json"
chmod 600 "$T/config.json"
cmk_provision "$T/config.json" acme
CFG=$T/config.json

# objects CONFIG make|read: N token objects o0..o19 with known values,
# made or read back (prints how many read with the right value).
objects() {
    cmk_host env CMK_PKCS11_CONFIG="$1" "$CMK_PYTHON" - "$CMK_MODULE" "$2" "$N" <<'PY'
import sys
import PyKCS11 as PK
lib = PK.PyKCS11Lib()
lib.load(sys.argv[1])
mode, n = sys.argv[2], int(sys.argv[3])
slot = lib.getSlotList(tokenPresent=True)[0]
s = lib.openSession(slot, PK.CKF_SERIAL_SESSION | PK.CKF_RW_SESSION)
s.login("1234")
if mode == "make":
    for i in range(n):
        s.createObject([(PK.CKA_CLASS, PK.CKO_SECRET_KEY),
                        (PK.CKA_KEY_TYPE, PK.CKK_AES), (PK.CKA_TOKEN, True),
                        (PK.CKA_LABEL, "o%d" % i),
                        (PK.CKA_VALUE, bytes([i]) * 32),
                        (PK.CKA_SENSITIVE, False), (PK.CKA_EXTRACTABLE, True),
                        (PK.CKA_ENCRYPT, True)])
    print(n)
else:
    ok = 0
    for i in range(n):
        o = s.findObjects([(PK.CKA_LABEL, "o%d" % i), (PK.CKA_TOKEN, True)])
        if len(o) == 1 and bytes(s.getAttributeValue(o[0], [PK.CKA_VALUE])[0]) == bytes([i]) * 32:
            ok += 1
    print(ok)
s.logout()
s.closeSession()
PY
}

# hold FILE SECONDS: holds an flock on FILE in the background ($holder:
# the process that holds it, so killing it releases the lock).
hold() {
    (
        exec 9>>"$1"
        flock -x 9
        exec sleep "$2"
    ) &
    holder=$!
    sleep 0.5
}

readable() {
    local got
    got=$(objects "$1" read 2>"$T/py.err") || { cat "$T/py.err" >&2; fail "reading objects"; }
    [ "$got" = "$2" ] || fail "$3: $got of $N objects readable, expected $2"
}

# A copy of the config without acme's previous_keks.
noprev() {
    "$CMK_PYTHON" - "$CFG" "$T/noprev.json" <<'PY' || fail "cannot edit the config"
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"][0].pop("previous_keks", None)
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
    chmod 600 "$T/noprev.json"
}

echo "== usage"
expect 0 "$CMK_TOOL" rotate-kek --help
grep -q '^usage: cmk-tool rotate-kek' "$T/out" || fail "help text"
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG"
expect 2 "$CMK_TOOL" rotate-kek --tenant acme
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme extra
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --overlap-hours 0
grep -q -- '--overlap-hours: expected 1..8760, got "0"' "$T/err" || fail "$(cat "$T/err")"
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --overlap-hours 8761
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --overlap-hours 2x
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --finish --overlap-hours 5
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant nobody
expect 2 "$CMK_TOOL" rotate-kek --config "$T/missing.json" --tenant acme
expect 2 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant bare
grep -q 'tenant "bare" has no "kek" with a "kek_commitment"' "$T/err" || fail "$(cat "$T/err")"
cmp -s "$CFG" "$T/config.json" || fail "usage errors changed the config"

echo "== before"
[ "$(objects "$CFG" make)" = "$N" ] || fail "making objects"
readable "$CFG" $N before
BLOBS="$top_srcdir/tests/integration/kek_blobs.py"
# blobs CONFIG make|check: KEK-path blobs of each kind in $T/blobs.
blobs() {
    cmk_host env CMK_PKCS11_CONFIG="$1" ROT_LABEL=acme ROT_PIN=1234 \
        "$CMK_PYTHON" "$BLOBS" "$2" "$T/blobs" 5 2>"$T/py.err" ||
        { cat "$T/py.err" >&2; fail "kek_blobs.py $2"; }
}
blobs "$CFG" make
[ "$(blobs "$CFG" check)" = "kwp=5 kw=5 gcm=5" ] || fail "KEK-path blobs before"
old_commit=$(sed -n 's/.*"kek_commitment": "\([^"]*\)".*/\1/p' "$CFG" | head -n 1)

echo "== a held key-change lock refuses the run"
mkdir -p "$T/store/acme"
hold "$T/store/acme/key-change.lock" 30
expect 1 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme
grep -q 'tenant "acme": a key change is running' "$T/err" || fail "$(cat "$T/err")"
kill "$holder"
wait "$holder" 2>/dev/null
grep -q previous_keks "$CFG" && fail "a refused run changed the config"

echo "== killed while it waits for the store"
# The store's own lock, held: the tool has written its journal and the
# config, then waits to re-seal the manifest; it is killed there.
hold "$T/store/acme/.lock" 60
"$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme >"$T/out" 2>"$T/err" &
tool=$!
for _ in $(seq 100); do
    grep -q previous_keks "$CFG" 2>/dev/null && break
    sleep 0.1
done
grep -q previous_keks "$CFG" || fail "the config was not switched"
kill -9 "$tool"
wait "$tool" 2>/dev/null
kill "$holder"
wait "$holder" 2>/dev/null
[ -f "$T/store/acme/kek-rotation.journal" ] || fail "no journal after the kill"
[ "$(stat -c %a "$T/store/acme/kek-rotation.journal")" = 600 ] || fail "journal mode"
new_commit=$(sed -n 's/^new_commitment //p' "$T/store/acme/kek-rotation.journal")
grep -qF "\"kek_commitment\": \"$new_commit\"" "$CFG" || fail "config lacks the new KEK"

echo "== during"
readable "$CFG" $N "during (through the previous KEK)"
noprev
readable "$T/noprev.json" 0 "during, without the previous KEK"

echo "== resumed"
expect 0 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme
grep -q '^tenant acme: resuming the rotation begun ' "$T/out" || fail "$(cat "$T/out")"
grep -q "^tenant acme: data-key rotation complete: $N token objects under the new KEK$" "$T/out" ||
    fail "$(cat "$T/out")"
[ -e "$T/store/acme/kek-rotation.journal" ] && fail "journal left behind"
ls "$T" "$T/store/acme" | grep -q 'tmp-' && fail "temporary file left behind"

echo "== after"
readable "$CFG" $N after
noprev
readable "$T/noprev.json" $N "after, without the previous KEK"

echo "== rewrap --kek-path"
[ "$(blobs "$CFG" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "KEK-path blobs through the previous KEK"
[ "$(blobs "$T/noprev.json" check)" = "kwp=0 kw=0 gcm=0" ] ||
    fail "KEK-path blobs without the previous KEK"
cp -a "$T/blobs" "$T/blobs.old"
lines=$(wc -l <"$T/audit/audit.jsonl")
expect 0 "$CMK_TOOL" rewrap --config "$CFG" --tenant acme --kek-path --mech kw --dry-run "$T/blobs/kw"
grep -q 'would rewrap 5' "$T/out" "$T/err" || fail "dry run: $(cat "$T/out" "$T/err")"
# The dry run's KEK unseals (the current and the previous KEK) are
# kms_call records too; it writes no rewrap record.
added=$(tail -n +"$((lines + 1))" "$T/audit/audit.jsonl" | "$CMK_PYTHON" -c '
import json, sys
print(" ".join("%s:%s" % (r["event"], r.get("op", r.get("detail", "")))
               for r in map(json.loads, sys.stdin)))') || cmk_error "cannot read the audit file"
[ "$added" = "audit_open: kms_call:Encrypt kms_call:Decrypt kms_call:Decrypt finalize:" ] ||
    fail "the dry run's records: $added"
cmp -s "$T/blobs/kw/b0" "$T/blobs.old/kw/b0" || fail "the dry run changed a blob"
# A blob of one kind is not a blob of another: refused, nothing written.
expect 1 "$CMK_TOOL" rewrap --config "$CFG" --tenant acme --kek-path --mech kw "$T/blobs/kwp/b0"
cmp -s "$T/blobs/kwp/b0" "$T/blobs.old/kwp/b0" || fail "a refused blob changed"
for kind in kwp kw gcm; do
    expect 0 "$CMK_TOOL" rewrap --config "$CFG" --tenant acme --kek-path --mech "$kind" "$T/blobs/$kind"
done
for i in 0 1 2 3 4; do
    cmp -s "$T/blobs/gcm/b$i" "$T/blobs.old/gcm/b$i" && fail "gcm/b$i not rewrapped"
done
[ "$(blobs "$T/noprev.json" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "rewrapped KEK-path blobs under the new KEK alone"
# Again: every blob is under the current KEK already, nothing changes.
cp -a "$T/blobs" "$T/blobs.new"
expect 0 "$CMK_TOOL" rewrap --config "$CFG" --tenant acme --kek-path --mech gcm "$T/blobs/gcm"
diff -r "$T/blobs/gcm" "$T/blobs.new/gcm" >/dev/null || fail "a second rewrap changed blobs"
# One blob_rewrapped record per blob and run: the refused one failed, 15
# moved from the old KEK to the new one, 5 skipped the second time.
rw() { # rw RESULT [KEY_OLD KEY_NEW]: how many such records
    grep '"event":"blob_rewrapped"' "$T/audit/audit.jsonl" |
        grep -F "\"result\":\"$1\"" |
        grep -cF "${2:+\"key_old\":\"$2\",\"key_new\":\"$3\"}"
}
[ "$(rw failed)" = 1 ] || fail "failed blob_rewrapped records: $(rw failed)"
[ "$(rw ok "$old_commit" "$new_commit")" = 15 ] ||
    fail "blob_rewrapped ok records: $(grep -m1 blob_rewrapped "$T/audit/audit.jsonl")"
[ "$(rw skipped "$new_commit" "$new_commit")" = 5 ] ||
    fail "blob_rewrapped skipped records: $(rw skipped)"
# Each KEK-path run unseals the current and the previous KEK through the
# CMK before it starts: two kms_call records in its own chain, before its
# rewrap_started.
runs=$("$CMK_PYTHON" -c 'import json, sys
runs = {}
for r in map(json.loads, open(sys.argv[1])):
    if r.get("detail") == "audit chain key":
        continue
    e = r.get("event")
    if e == "kms_call":
        runs.setdefault(r["writer"], []).append("%s:%s" % (r["op"], r["result"]))
    elif e in ("rewrap_started", "rewrap_completed"):
        runs.setdefault(r["writer"], []).append(e[7:])
for w in runs.values():
    if "completed" in w:
        print(" ".join(w))' "$T/audit/audit.jsonl") || cmk_error "cannot read the audit file"
want="Decrypt:CKR_OK Decrypt:CKR_OK"
printf -v want '%s\n' "$want started completed" "$want started completed" \
    "$want started completed" "$want started completed" "$want started completed"
[ "$runs" = "${want%$'\n'}" ] || fail "the KEK-path runs' kms_call records: $runs"

echo "== audit"
A=$T/audit/audit.jsonl
[ "$(grep -c '"event":"data_key_rotation_started"' "$A")" = 1 ] || fail "started records"
[ "$(grep -c '"event":"data_key_rotation_completed"' "$A")" = 1 ] || fail "completed records"
grep '"event":"data_key_rotation_started"' "$A" | grep -qF \
    "\"op\":\"cmk-tool rotate-kek\",\"tenant\":\"acme\",\"result\":\"ok\"," ||
    fail "started fields: $(grep started "$A")"
grep '"event":"data_key_rotation_started"' "$A" | grep -qF \
    "\"key_old\":\"$old_commit\",\"key_new\":\"$new_commit\"" ||
    fail "started keys: $(grep started "$A")"
grep '"event":"data_key_rotation_completed"' "$A" | grep -qF \
    "\"key_old\":\"$old_commit\",\"key_new\":\"$new_commit\",\"count\":$N," ||
    fail "completed fields: $(grep completed "$A")"
# The rotation's KMS calls are kms_call records in cmk-tool's chain:
# before its started record the current KEK unsealed, the new one sealed
# and unsealed to check it; after it, the KEKs the rewrap of the token
# objects unseals (the completed record here comes from a later run).
calls=$("$CMK_PYTHON" -c 'import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
w = [r["writer"] for r in recs
     if r.get("event") == "data_key_rotation_started"][0]
out = []
for r in recs:
    if r["writer"] != w or r.get("detail") == "audit chain key":
        continue
    if r.get("event") == "kms_call":
        out.append("%s:%s" % (r["op"], r["result"]))
    elif r.get("event", "").startswith("data_key_rotation"):
        out.append(r["event"][18:])
print(" ".join(out))' "$A") || cmk_error "cannot read $A"
[ "$calls" = "Decrypt:CKR_OK Encrypt:CKR_OK Decrypt:CKR_OK started Decrypt:CKR_OK Decrypt:CKR_OK" ] ||
    fail "the rotation's kms_call records: $calls"
expect 0 "$CMK_TOOL" audit verify --config "$CFG" "$A"

echo "== rotate-cmk moves the previous KEK too"
# The old CMK may go once the rotation is done: the KEK and the previous
# KEK (still in its window) are both under the new CMK.
"$CMK_TOOL" local-key --out "$T/acme2.key" >/dev/null || cmk_error "local-key"
expect 0 "$CMK_TOOL" rotate-cmk --config "$CFG" --tenant acme --to "$T/acme2.key" --force
grep -qx 'previous KEKs in their window re-encrypted and checked: 1 of 1' "$T/out" ||
    fail "rotate-cmk: $(cat "$T/out")"
grep -qF "\"kek_commitment\": \"$old_commit\"" "$CFG" || fail "previous KEK commitment lost"
grep '"event":"cmk_rotation_completed"' "$T/audit/audit.jsonl" | grep -qF '"result":"ok"' ||
    fail "no cmk_rotation_completed"
grep '"event":"cmk_rotation_completed"' "$T/audit/audit.jsonl" | grep -qF '"count":2,' ||
    fail "cmk_rotation_completed count: $(grep cmk_rotation_completed "$T/audit/audit.jsonl")"
# The old CMK destroyed: another key in its file (a missing file would
# be refused by the config loader while previous_keys names it).
mv "$T/acme.key" "$T/acme.key.off"
"$CMK_TOOL" local-key --out "$T/acme.key" >/dev/null || cmk_error "local-key"
rm -rf "$T/blobs" && cp -a "$T/blobs.old" "$T/blobs"
[ "$(blobs "$CFG" check)" = "kwp=5 kw=5 gcm=5" ] ||
    fail "old KEK-path blobs through the moved previous KEK, old CMK gone"
readable "$CFG" $N "after the CMK rotation, old CMK gone"
mv -f "$T/acme.key.off" "$T/acme.key"

echo "== finish"
expect 0 "$CMK_TOOL" rotate-kek --config "$CFG" --tenant acme --finish
grep -q '^tenant acme: no expired previous KEK (1 in their window)$' "$T/out" ||
    fail "$(cat "$T/out")"
echo "PASS"
