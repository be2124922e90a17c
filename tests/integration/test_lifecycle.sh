#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: one tenant's whole key life on the local provider with
# audit on, as an operator runs it: provision; encrypt a tree of files,
# and the applications' blobs of both key paths and a token object
# (lifecycle_apps.py, PyKCS11); rotate the CMK; rewrap the direct-path
# blobs; rotate the KEK; rewrap the KEK-path blobs; rekey every file;
# disable the old CMK and end the KEK window (everything still opens,
# what was left under the old keys no longer does); disable the new CMK
# (cached keys work until the TTL, then nothing opens); then the audit
# file verifies and holds every lifecycle record, in order, with its
# fields. The audit chain keys are sealed by a second tenant, "auditor",
# so that the file stays verifiable once both of acme's keys are gone.
# Exit codes: 0 pass, 1 fail, 77 skip (99 under CI=true).
. "$(dirname "$0")/lib.sh" || exit 99

cmk_need_module
cmk_need sha256sum cmp od
cmk_need_pykcs11
cmk_tmpdir
T=$CMK_TMP
TOOL=$CMK_TOOL
APPS=$top_srcdir/tests/integration/lifecycle_apps.py
N=20  # blobs of each key path
TTL=3 # cache.ttl_seconds
START=$SECONDS
SUMMARY=()
say() { SUMMARY+=("$(printf '%-20s %s' "$1" "$2")"); }
# want LINE...: the lifecycle records expected next in the audit file,
# "event op tenant result key_old key_new count" (- when absent).
want() { printf '%s\n' "$@" >>"$T/want"; }

# expect RC CMD...: cmk-tool CMD exits RC; output in $T/out, $T/err.
expect() {
    local want=$1 rc
    shift
    timeout -k 10 120 "$TOOL" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        tail -n 20 "$T/out" "$T/err" >&2
        cmk_fail "cmk-tool $*: exit $rc, expected $want"
    fi
}
is() { [ "$2" = "$3" ] || cmk_fail "$1: got '$2', expected '$3'"; }
err_is() { is "$1: stderr" "$(cat "$T/err")" "$2"; }
apps() { cmk_host "$CMK_PYTHON" "$APPS" "$@"; }
jget() { # jget EXPR: Python over the config c, a = acme
    "$CMK_PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1])); a = c["tenants"][0]
print(eval(sys.argv[2]))' "$CFG" "$1"
}
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sha() { sha256sum <"$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
ids() { apps keyids "$1" | sort | uniq -c | xargs; }
rewrap_line() { grep '^cmk-tool: rewrap: rewrapped' "$T/err" | sed 's/, elapsed .*//'; }
rewrapped() { # rewrapped DONE SKIPPED: the summary of a clean run
    is "rewrap summary" "$(rewrap_line)" "cmk-tool: rewrap: rewrapped $1, skipped $2 (already current $2, journal 0), failed 0, not processed 0, ignored 0"
}
each_file() { # each_file FUNC: FUNC once per file, with f sz path cipher set
    local f sz path cipher
    while IFS=: read -r f sz path cipher; do "$@"; done <<<"$FILES"
}
OPENS="envelope $N/$N kwp $N/$N object 1/1"

# ---- keys A and B, tenants acme and auditor, the config
mkdir -m 700 "$T/keys" "$T/etc" "$T/audit" "$T/plain" "$T/enc" "$T/env" \
    "$T/kwp" "$T/old" "$T/dec"
cmk_tenant "$T/keys" acme 1234 ', "key_change_interval_seconds": 0'
cmk_tenant "$T/keys" auditor 0000 ', "login_required": false'
KA=$T/keys/acme.key
KB=$T/keys/acme-b.key
"$TOOL" local-key --out "$KB" >/dev/null || cmk_error "local-key"
[ "$(stat -c %a "$KA" "$KB" | xargs)" = "600 600" ] || cmk_error "key modes"
CFG=$T/etc/config.json
A=$T/audit/audit.jsonl
printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "audit": {"file": "%s", "key_tenant": "auditor"},\n  "cache": {"ttl_seconds": %d},\n  "tenants": [\n    %s\n  ]\n}\n' \
    "$T/store" "$A" "$TTL" "$CMK_TENANTS" >"$CFG" && chmod 600 "$CFG" ||
    cmk_error "config"
export CMK_PKCS11_CONFIG=$CFG LC_LABEL=acme LC_PIN=1234
printf '1234\n' >"$T/pin" && chmod 600 "$T/pin" || cmk_error "PIN file"
ACME=(--config "$CFG" --tenant acme --pin-file "$T/pin")
ID_A=$(apps localid "$KA") && ID_B=$(apps localid "$KB") || cmk_error "key ids"

echo "== 1 provision"
expect 0 provision --config "$CFG" --tenant acme --write
C0=$(jget 'a["kek_commitment"]')
is "provision --write: stdout" "$(cat "$T/out")" "$(jget 'a["kek"]')
$C0"
is "kek_commitment length" "${#C0}" 44
is "key" "$(jget 'a["key"]')" "$KA"
want "cmk_added provision acme ok - $KA -"
say "1 provision" "acme under CMK A, KEK commitment $C0"

echo "== 2 the applications' data"
# name:size:path:cipher, half on each path, nested directories.
FILES="empty.bin:0:direct:aes-256-gcm
one.bin:1:kek:aes-256-gcm
d1/seventy.bin:71680:direct:xchacha20-poly1305
d1/seventy1.bin:71681:kek:aes-256-gcm
d1/d2/chunk.bin:65536:direct:aes-256-gcm
d1/d2/three.bin:3145728:kek:aes-256-gcm
d1/d2/d3/five.bin:5242880:direct:aes-256-gcm
d4/mib1.bin:1048577:kek:aes-256-gcm"
NF=$(echo "$FILES" | wc -l)
encrypt() {
    mkdir -p "$(dirname "$T/plain/$f")" "$(dirname "$T/enc/$f")"
    head -c "$sz" /dev/urandom >"$T/plain/$f" || cmk_error "$f"
    expect 0 encrypt "${ACME[@]}" --path "$path" --cipher "$cipher" \
        "$T/plain/$f" "$T/enc/$f.cmk"
    is "$f.cmk: magic" "$(head -c 4 "$T/enc/$f.cmk")" CMKF
    apps wrapped "$T/enc/$f.cmk" >"$T/enc/$f.dek0" || cmk_error "header of $f"
    want "encryption_started encrypt acme ok - - $sz" \
        "encryption_completed encrypt acme ok - - $sz"
}
each_file encrypt
sums "$T/plain" >"$T/plain.sum"
is "plaintexts" "$(wc -l <"$T/plain.sum")" "$NF"
is "blobs made" "$(apps make "$T/state.json" "$T/env" "$T/kwp" $N)" "$N $N"
is "blobs at first" "$(apps check "$T/state.json")" "$OPENS"
is "envelope key ids" "$(ids "$T/env")" "$N $ID_A"
# What must stop opening once the old keys are gone: a copy of one blob
# of each path and of one file of each path, as they are now.
cp "$T/env/e-00.blob" "$T/kwp/k-00.blob" "$T/enc/d1/seventy.bin.cmk" \
    "$T/enc/one.bin.cmk" "$T/old/" || cmk_error "copies"
sed "s|$T/env/|$T/old/|; s|$T/kwp/|$T/old/|" "$T/state.json" |
    "$CMK_PYTHON" -c 'import json, sys
s = json.load(sys.stdin)
s["blobs"] = [b for b in s["blobs"] if b[0].endswith("-00.blob")]
json.dump(s, open(sys.argv[1], "w"))' "$T/old.json" || cmk_error "old.json"
say "2 data" "$NF files ($(du -sb "$T/plain" | cut -f1) bytes; 4 direct, 4 kek, 1 xchacha20), $N envelope + $N RFC 5649 blobs, 1 token object"

echo "== 3 rotate-cmk --to B"
expect 0 rotate-cmk --config "$CFG" --tenant acme --to "$KB"
is "rotate-cmk" "$(head -n 3 "$T/out")" "tenant \"acme\": CMK rotated from $KA to $KB
KEK re-encrypted under $KB and checked against its commitment
previous_keys: $KA"
is "key" "$(jget 'a["key"]')" "$KB"
is "previous_keys" "$(jget 'a["previous_keys"]')" "['$KA']"
is "kek_commitment after rotate-cmk" "$(jget 'a["kek_commitment"]')" "$C0"
want "cmk_rotation_started rotate-cmk acme ok $KA $KB -" \
    "cmk_rotation_completed rotate-cmk acme ok $KA $KB 1"
say "3 rotate-cmk" "key B, previous_keys [A], KEK re-encrypted under B (same commitment)"

echo "== 4 rewrap the direct-path blobs"
sums "$T/kwp" >"$T/kwp.sum"
expect 0 rewrap --config "$CFG" --tenant acme "$T/env"
rewrapped $N 0
is "envelope key ids" "$(ids "$T/env")" "$N $ID_B"
sums "$T/env" >"$T/env.sum"
expect 0 rewrap --config "$CFG" --tenant acme "$T/env"
rewrapped 0 $N
sums "$T/env" | cmp -s - "$T/env.sum" || cmk_fail "the second rewrap changed blobs"
sums "$T/kwp" | cmp -s - "$T/kwp.sum" || cmk_fail "rewrap touched the KEK-path blobs"
is "blobs after rewrap" "$(apps check "$T/state.json")" "$OPENS"
want "rewrap_started rewrap acme ok - $KB $N" \
    "blob_rewrapped rewrap acme ok $KA $KB - x$N" \
    "rewrap_completed rewrap acme ok - $KB $N" \
    "rewrap_started rewrap acme ok - $KB $N" \
    "blob_rewrapped rewrap acme skipped $KB $KB - x$N" \
    "rewrap_completed rewrap acme ok - $KB 0"
say "4 rewrap" "$N rewrapped, all now name $ID_B (were $ID_A); again: $N skipped, no byte changed"

echo "== 5 rotate-kek"
expect 0 rotate-kek --config "$CFG" --tenant acme
is "rotate-kek" "$(tail -n 1 "$T/out")" \
    "tenant acme: data-key rotation complete: 1 token objects under the new KEK"
C1=$(jget 'a["kek_commitment"]')
[ "$C1" != "$C0" ] || cmk_fail "rotate-kek kept the KEK"
is "previous_keks" "$(jget '[p["kek_commitment"] for p in a["previous_keks"]]')" "['$C0']"
is "blobs after rotate-kek" "$(apps check "$T/state.json")" "$OPENS"
want "data_key_rotation_started rotate-kek acme ok $C0 $C1 -" \
    "data_key_rotation_completed rotate-kek acme ok $C0 $C1 1"
say "5 rotate-kek" "new KEK $C1, 1 token object re-sealed, old KEK in previous_keks"

echo "== 6 rewrap the KEK-path blobs"
expect 0 rewrap --config "$CFG" --tenant acme --kek-path --mech kwp "$T/kwp"
rewrapped $N 0
is "KEK-path blobs left unchanged" \
    "$(sums "$T/kwp" | cat - "$T/kwp.sum" | cut -d' ' -f1 | sort | uniq -d | wc -l)" 0
expect 0 rewrap --config "$CFG" --tenant acme --kek-path --mech kwp "$T/kwp"
rewrapped 0 $N
is "blobs after rewrap --kek-path" "$(apps check "$T/state.json")" "$OPENS"
want "rewrap_started rewrap acme ok - $C1 $N" \
    "blob_rewrapped rewrap acme ok $C0 $C1 - x$N" \
    "rewrap_completed rewrap acme ok - $C1 $N" \
    "rewrap_started rewrap acme ok - $C1 $N" \
    "blob_rewrapped rewrap acme skipped $C1 $C1 - x$N" \
    "rewrap_completed rewrap acme ok - $C1 0"
say "6 rewrap --kek-path" "$N RFC 5649 blobs moved to the new KEK, every one changed; again: $N skipped"

echo "== 7 rekey every file"
BHEX=$(printf %s "$ID_B" | od -An -tx1 | tr -d ' \n')
rekey() {
    local in
    in=$(size "$T/enc/$f.cmk")
    expect 0 rekey "${ACME[@]}" "$T/enc/$f.cmk" "$T/enc/$f.cmk"
    apps wrapped "$T/enc/$f.cmk" >"$T/enc/$f.dek1" || cmk_error "header of $f"
    cmp -s "$T/enc/$f.dek0" "$T/enc/$f.dek1" && cmk_fail "$f: rekey kept the wrapped DEK"
    case $path in
    direct) grep -q "^434d4b4501010016$BHEX" "$T/enc/$f.dek1" ||
        cmk_fail "$f: the wrapped DEK is not an envelope under B" ;;
    kek) is "$f: RFC 5649 DEK bytes" "$(tr -d '\n' <"$T/enc/$f.dek1" | wc -c)" 80 ;;
    esac
    expect 0 decrypt "${ACME[@]}" "$T/enc/$f.cmk" "$T/out.bin"
    is "$f after rekey" "$(sha "$T/out.bin")" "$(sha "$T/plain/$f")"
    want "encryption_started rekey acme ok - - $in" \
        "encryption_completed rekey acme ok - - $sz" \
        "encryption_started decrypt acme ok - - $(size "$T/enc/$f.cmk")" \
        "encryption_completed decrypt acme ok - - $sz"
}
each_file rekey
say "7 rekey" "$NF files rekeyed in place: $NF new wrapped DEKs (direct ones under B), same sha256"

echo "== 8 disable A, end the KEK window"
mv "$KA" "$KA.disabled"
# A local key file that is gone is refused by the config loader wherever
# the config names it: a config that still lists A loads nowhere.
expect 2 decrypt "${ACME[@]}" "$T/enc/one.bin.cmk" "$T/dec/x"
err_is "refused with A listed" "cmk-tool: $CFG: tenants[0].previous_keys[0]: cannot use key file $KA: No such file or directory"
# So A leaves previous_keys (README, "Bring your own key": drop it, then
# delete it), and the previous KEK leaves the config: its window is over.
"$CMK_PYTHON" - "$CFG" <<'PY' || cmk_error "cannot edit the config"
import json, os, sys
c = json.load(open(sys.argv[1]))
del c["tenants"][0]["previous_keks"], c["tenants"][0]["previous_keys"]
with open(sys.argv[1] + ".new", "w") as f:
    json.dump(c, f, indent=2)
os.chmod(sys.argv[1] + ".new", 0o600)
os.rename(sys.argv[1] + ".new", sys.argv[1])
PY
decrypt() {
    mkdir -p "$(dirname "$T/dec/$f")"
    expect 0 decrypt "${ACME[@]}" "$T/enc/$f.cmk" "$T/dec/$f"
    want "encryption_started decrypt acme ok - - $(size "$T/enc/$f.cmk")" \
        "encryption_completed decrypt acme ok - - $sz"
}
each_file decrypt
rm -f "$T/dec/x"
sums "$T/dec" | cmp -s - "$T/plain.sum" || cmk_fail "decrypted files differ"
is "blobs without A and the old KEK" "$(apps check "$T/state.json")" "$OPENS"
# Attack: what was left under A or under the old KEK opens no more.
is "old blobs" "$(apps dead "$T/old.json")" \
    "envelope CKR_WRAPPED_KEY_INVALID=1 kwp CKR_WRAPPED_KEY_INVALID=1; ulDeviceError 0x0; object ok"
for f in seventy.bin one.bin; do
    expect 1 decrypt "${ACME[@]}" "$T/old/$f.cmk" "$T/dec/x"
    err_is "old $f" "cmk-tool: $T/old/$f.cmk: the data key does not unwrap with tenant \"acme\"'s CMK: C_UnwrapKey: CKR_WRAPPED_KEY_INVALID"
    [ -e "$T/dec/x" ] && cmk_fail "old $f: decrypt left an output"
    want "encryption_started decrypt acme ok - - $(size "$T/old/$f.cmk")" \
        "encryption_completed decrypt acme failed - - 0"
done
say "8 A disabled" "new processes: $NF/$NF files decrypt to their sha256, $N+$N blobs and the token object open; pre-rotation copies (2 blobs, 2 files) refused"

echo "== 9 disable B"
apps cached "$T/state.json" "$KB" "$TTL" >"$T/cached" ||
    cmk_fail "cached: $(cat "$T/cached")"
cat "$T/cached"
[ -e "$KB" ] && cmk_fail "B was not disabled"
FF=CKR_FUNCTION_FAILED
is "one process, cached keys" "$(cat "$T/cached")" "before: envelope ok=1 kwp ok=1; object ok
disabled, within the TTL: envelope ok=1 kwp ok=1; unseen kwp ok=1; object ok
after the TTL: envelope $FF=1 kwp $FF=1; unseen kwp $FF=1; ulDeviceError 0x10001; object (loaded) CKR_OBJECT_HANDLE_INVALID
after the TTL, logged in again: login ok, object 0 found; new token object $FF"
# A process that loaded the config before B went, with nothing cached.
mv "$KB.disabled" "$KB" || cmk_error "B back"
is "one process, cold cache" "$(apps dead "$T/state.json" "$KB")" \
    "envelope $FF=$N kwp $FF=$N; ulDeviceError 0x10001; object 0 found"
[ -e "$KB" ] && cmk_fail "B was not disabled again"
# New processes: the config names a key file that is gone.
is "new process" "$(apps dead "$T/state.json" 2>"$T/err")" "C_Initialize CKR_GENERAL_ERROR"
err_is "new process" "cmk-pkcs11: configuration refused: $CFG: tenants[0].key: cannot use key file $KB: No such file or directory"
refused() {
    expect 2 decrypt "${ACME[@]}" "$T/enc/$f.cmk" "$T/dec/x"
    err_is "$f" "cmk-tool: $CFG: tenants[0].key: cannot use key file $KB: No such file or directory"
    [ -e "$T/dec/x" ] && cmk_fail "$f: decrypt left an output"
    NR=$((NR + 1))
}
NR=0
each_file refused
is "files refused" "$NR" "$NF"
say "9 B disabled" "cached process: unwraps and token object ok within the ${TTL} s TTL, then $FF (ulDeviceError 0x10001) and the loaded token object gone; cold process: $((2 * N))/$((2 * N)) unwraps $FF, 0 token objects; new processes: config refused, $NF/$NF decrypts exit 2"

echo "== 10 audit"
# acme's config no longer loads: the auditor verifies with a config of
# its own tenant (the one whose key seals the chain keys).
"$CMK_PYTHON" - "$CFG" "$T/etc/auditor.json" <<'PY' || cmk_error "auditor config"
import json, os, sys
c = json.load(open(sys.argv[1]))
c["tenants"] = [t for t in c["tenants"] if t["label"] == "auditor"]
json.dump(c, open(sys.argv[2], "w"), indent=2)
os.chmod(sys.argv[2], 0o600)
PY
expect 0 audit verify --config "$T/etc/auditor.json" "$A"
cat "$T/out"
"$CMK_PYTHON" - "$A" "$T" "$C0" $N >"$T/records" <<'PY' || cmk_fail "records"
import json, os, sys
path, t, c0, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
recs = [json.loads(l) for l in open(path, "rb").read().split(b"\n")
        if l.strip(b"\0").strip()]
ev = [r for r in recs if r.get("op", "").startswith("cmk-tool ")]
lines, runs = [], []
for r in ev:
    if r["event"] == "cmk_added" and r.get("detail") != c0:
        raise SystemExit("cmk_added detail: %r" % r.get("detail"))
    if r["event"] == "rewrap_started":
        runs.append([])
    if r["event"] == "blob_rewrapped":
        runs[-1].append(os.path.relpath(r["detail"], t))
    lines.append(" ".join(str(r.get(k, "-")) for k in (
        "event", "op", "tenant", "result", "key_old", "key_new", "count")
    ).replace("cmk-tool ", "", 1))
for i, run in enumerate(runs):  # each blob once per run
    d = "env/e" if i < 2 else "kwp/k"
    if sorted(run) != ["%s-%02d.blob" % (d, j) for j in range(n)]:
        raise SystemExit("rewrap run %d: blobs %r" % (i, sorted(run)))
out = []
for l in lines:  # a run of equal records as one line, "xN"
    if out and out[-1][0] == l:
        out[-1][1] += 1
    else:
        out.append([l, 1])
for l, n in out:
    print(l + (" x%d" % n if n > 1 else ""))
PY
diff "$T/want" "$T/records" >&2 || cmk_fail "lifecycle records differ (< expected, > in the file)"
nrec=$(grep -c '"op":"cmk-tool ' "$A")
echo "$nrec lifecycle records of cmk-tool, in order, with their fields"
say "10 audit" "verify exit 0 ($(wc -l <"$A") records); $nrec cmk-tool lifecycle records in the expected order and fields"

echo "== summary ($((SECONDS - START)) s)"
printf '%s\n' "${SUMMARY[@]}"
echo "PASS"
