#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool rewrap on the local provider. Direct-path blobs
# made through the module (rewrap_blobs), the tenant's CMK rotated by hand
# (key -> new, old to previous_keys), then: a tree rewrapped and every
# blob unwrapping through the module to its DEK; a second run skipping
# all (files unchanged byte for byte); --dry-run counting and changing
# nothing; stdin lines with a bad line; runs killed midway (SIGINT,
# SIGKILL) and continued from the journal; blobs of another tenant (own
# key, and the same key file under another label) and a tampered blob
# failing untouched; symbolic links not followed; the key-change lock;
# the audit records of every blob; usage errors.
. "$(dirname "$0")/lib.sh"

cmk_need_module
command -v flock >/dev/null 2>&1 || cmk_missing "flock (util-linux)"
BLOBS=${BLOBS:-$top_builddir/tests/integration/rewrap_blobs}
[ -x "$BLOBS" ] || cmk_missing "rewrap_blobs not built: $BLOBS"
cmk_tmpdir
export CMK_MODULE
d=$CMK_TMP
T=$CMK_TOOL

# Tenants acme and beta with their own keys, and mallory on acme's key
# file (the same key under another label: only the context tells them
# apart). Audit on, its key sealed by acme.
CMK_TENANTS=""
CMK_LABELS=""
for t in acme:1234 beta:5678 mallory:4321; do
    cmk_tenant "$d" "${t%%:*}" "${t##*:}"
done
CMK_TENANTS=${CMK_TENANTS//\"$d\/mallory.key\"/\"$d\/acme.key\"}
cmk_write_config "$d/config.json" "$d/store"
for t in $CMK_LABELS; do
    cmk_provision "$d/config.json" "$t"
done
cfg=$d/config.json
"$CMK_PYTHON" - "$cfg" "$d/audit.jsonl" <<'EOF' || cmk_error "audit config"
import json, sys
c = json.load(open(sys.argv[1]))
c["audit"] = {"file": sys.argv[2], "fsync": "none"}
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
export CMK_PKCS11_CONFIG=$cfg

mk() { # mk TOKEN PIN DIR N LIST
    "$BLOBS" make "$@" || cmk_error "rewrap_blobs make $*"
}
check() { # check TOKEN PIN LIST: every blob unwraps to its DEK
    "$BLOBS" check "$@" || cmk_fail "blobs of $3 do not unwrap to their DEKs"
}
sums() { find "$@" -type f -print0 | sort -z | xargs -0 sha256sum; }
# run NAME ARGS...: cmk-tool rewrap; rc, $d/NAME.out, $d/NAME.err
run() {
    local name=$1
    shift
    "$T" rewrap --config "$cfg" "$@" >"$d/$name.out" 2>"$d/$name.err"
    rc=$?
}
expect() { # expect NAME RC SUMMARY-SUBSTRING
    if [ "$rc" -ne "$2" ]; then
        cat "$d/$1.err" >&2
        cmk_fail "$1: exit $rc, expected $2"
    fi
    grep -qF -- "$3" "$d/$1.err" || {
        cat "$d/$1.err" >&2
        cmk_fail "$1: no \"$3\" in its messages"
    }
    echo "ok: $1: exit $rc, $3"
}
rotate() { # rotate LABEL: a new key; the current one to previous_keys
    "$T" local-key --out "$d/$1-$2.key" >/dev/null || cmk_error "local-key"
    "$CMK_PYTHON" - "$cfg" "$1" "$d/$1-$2.key" <<'EOF' || cmk_error "rotate"
import json, sys
c = json.load(open(sys.argv[1]))
t = [t for t in c["tenants"] if t["label"] == sys.argv[2]][0]
t["previous_keys"] = [t["key"]] + t.get("previous_keys", [])
t["key"] = sys.argv[3]
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
}

mk acme 1234 "$d/tree" 40 "$d/tree.list"
mk beta 5678 "$d/beta" 3 "$d/beta.list"
mk mallory 4321 "$d/mallory" 2 "$d/mallory.list"
ln -s "$d/beta/d0/blob-00000.cmke" "$d/tree/link.cmke"
chmod 0640 "$d/tree/d0/blob-00000.cmke"

# Before any rotation every blob is current.
run current --tenant acme "$d/tree"
expect current 0 "rewrapped 0, skipped 40 (already current 40, journal 0), failed 0, not processed 0, ignored 1"
grep -qF "$d/tree/link.cmke: symbolic link, not followed: ignored" \
    "$d/current.err" || cmk_fail "the symbolic link was not reported"

rotate acme 2
sums "$d/tree" "$d/beta" >"$d/before.sum" || cmk_error "sums"

# Dry run: counts, no change, no journal, no lifecycle record. It opens
# the audit file as every run does (a dry run can call the KMS: a KEK
# path's unseal, vault's key reads), so its writer's own records are
# there: opened, its chain key sealed, closed; here nothing else (the
# local direct path's check makes no KMS call).
audit_lines=$(wc -l <"$d/audit.jsonl")
run dry --tenant acme --dry-run "$d/tree"
expect dry 0 "dry run: would rewrap 40, already current 0, unreadable 0, ignored 1"
sums "$d/tree" "$d/beta" | cmp -s - "$d/before.sum" ||
    cmk_fail "dry run changed files"
[ ! -e "$d/.tree.cmk-rewrap-journal" ] || cmk_fail "dry run left a journal"
added=$(tail -n +"$((audit_lines + 1))" "$d/audit.jsonl" | "$CMK_PYTHON" -c '
import json, sys
print(" ".join("%s:%s" % (r["event"], r.get("detail", "")) for r in map(json.loads, sys.stdin)))') ||
    cmk_error "cannot read the audit file"
[ "$added" = "audit_open: kms_call:audit chain key finalize:" ] ||
    cmk_fail "dry run wrote audit records: $added"
run drymix --tenant acme --dry-run "$d/tree" "$d/beta"
expect drymix 1 "dry run: would rewrap 40, already current 0, unreadable 3"

# The tree: every blob moved, each still the same DEK, mode kept, the
# link's target untouched, the journal gone once complete.
run tree --tenant acme --jobs 3 "$d/tree"
expect tree 0 "rewrapped 40, skipped 0 (already current 0, journal 0), failed 0, not processed 0, ignored 1"
check acme 1234 "$d/tree.list"
[ "$(stat -c %a "$d/tree/d0/blob-00000.cmke")" = 640 ] ||
    cmk_fail "mode not kept"
sums "$d/beta" | cmp -s - <(grep "$d/beta/" "$d/before.sum") ||
    cmk_fail "the link's target changed"
[ ! -e "$d/.tree.cmk-rewrap-journal" ] || cmk_fail "journal left after a complete run"
for f in $(cut -d' ' -f1 "$d/tree.list"); do
    grep -qF "$(sha256sum "$f" | cut -d' ' -f1)" "$d/before.sum" &&
        cmk_fail "$f was not rewritten"
done
echo "ok: 40 blobs rewrapped, each unwraps to its DEK through the module"

# Idempotent: nothing to do, no re-encryption (a fresh nonce would change
# the bytes).
sums "$d/tree" >"$d/after.sum" || cmk_error "sums"
run again --tenant acme "$d/tree"
expect again 0 "rewrapped 0, skipped 40 (already current 40, journal 0), failed 0"
sums "$d/tree" | cmp -s - "$d/after.sum" || cmk_fail "second run rewrote files"

# Another tenant's blobs (its own key; acme's key under mallory's label)
# and a tampered blob: refused, reported, left byte for byte.
mkdir -p "$d/bad" && cp "$d/beta/d0/blob-00000.cmke" "$d/bad/beta.cmke" &&
    cp "$d/mallory/d0/blob-00000.cmke" "$d/bad/mallory.cmke" || cmk_error cp
mk acme 1234 "$d/old" 1 "$d/old.list" # under acme's current key
rotate acme 3
cp "$d/old/d0/blob-00000.cmke" "$d/bad/tampered.cmke" || cmk_error cp
"$CMK_PYTHON" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[60] ^= 1  # inside the provider ciphertext
open(sys.argv[1], "wb").write(b)' "$d/bad/tampered.cmke" || cmk_error "tamper"
sums "$d/bad" >"$d/bad.sum" || cmk_error "sums"
run foreign --tenant acme "$d/bad"
expect foreign 1 "rewrapped 0, skipped 0 (already current 0, journal 0), failed 3"
grep -qF "$d/bad/beta.cmke: sealed by a key that is not a CMK version of tenant \"acme\"" \
    "$d/foreign.err" || cmk_fail "beta's blob: no reason given"
grep -qF "$d/bad/mallory.cmke: re-encryption failed: bad_ciphertext (InvalidCiphertext)" \
    "$d/foreign.err" || cmk_fail "mallory's blob: no reason given"
grep -qF "$d/bad/tampered.cmke: re-encryption failed: bad_ciphertext (InvalidCiphertext)" \
    "$d/foreign.err" || cmk_fail "tampered blob: no reason given"
sums "$d/bad" | cmp -s - "$d/bad.sum" || cmk_fail "refused blobs were changed"
[ -s "$d/.bad.cmk-rewrap-journal" ] || cmk_fail "no journal after failures"
echo "ok: another tenant's and tampered blobs refused and left untouched"
rm -f "$d/.bad.cmk-rewrap-journal"

# stdin: base64 lines in, the same lines rewrapped out, a bad line passed
# through; with --journal, the same command again replays the answers
# (byte-identical: nothing re-encrypted).
rotate acme 4
{
    for f in $(cut -d' ' -f1 "$d/tree.list" | head -5); do
        base64 -w0 "$f" && echo
    done
    echo 'not a blob'
    base64 -w0 "$d/old/d0/blob-00000.cmke" && echo
} >"$d/lines.in" || cmk_error "lines"
run lines --tenant acme --stdin --journal "$d/lines.journal" <"$d/lines.in"
expect lines 1 "rewrapped 6, skipped 0 (already current 0, journal 0), failed 1"
grep -qxF "cmk-tool: rewrap: stdin line 6: not a base64 line" "$d/lines.err" ||
    cmk_fail "the bad line was not reported by its number"
[ "$(wc -l <"$d/lines.out")" -eq 7 ] || cmk_fail "stdout: not 7 lines"
[ "$(sed -n 6p "$d/lines.out")" = "not a blob" ] ||
    cmk_fail "the bad line was not passed through"
: >"$d/lines.list"
n=0
while read -r line; do
    n=$((n + 1))
    [ $n -eq 6 ] && continue
    [ "$line" != "$(sed -n ${n}p "$d/lines.in")" ] ||
        cmk_fail "stdout line $n not rewrapped"
    echo "$line" | base64 -d >"$d/line$n.cmke" || cmk_fail "line $n: base64"
    if [ $n -le 5 ]; then
        src=$(sed -n ${n}p "$d/tree.list" | cut -d' ' -f2)
    else
        src=$(cut -d' ' -f2 "$d/old.list")
    fi
    echo "$d/line$n.cmke $src" >>"$d/lines.list"
done <"$d/lines.out"
check acme 1234 "$d/lines.list"
run lines2 --tenant acme --stdin --journal "$d/lines.journal" <"$d/lines.in"
expect lines2 1 "rewrapped 0, skipped 6 (already current 0, journal 6), failed 1"
cmp -s "$d/lines.out" "$d/lines2.out" || cmk_fail "journal replay differs"
echo "ok: stdin lines rewrapped in order, the bad one passed through"

# Interrupted runs continue from the journal: SIGINT (exit 130, the blobs
# in flight finished), then SIGKILL; every blob right in the end. MANY
# blobs keep a run going for seconds, so the signal lands mid-run even
# when the polling shell is starved on a loaded machine.
MANY=3000
mk acme 1234 "$d/many" "$MANY" "$d/many.list"
rotate acme 5
J=$d/.many.cmk-rewrap-journal
# kill_after SIG N: rewrap of many with one job, SIG once the journal
# holds N entries.
kill_after() {
    "$T" rewrap --config "$cfg" --tenant acme --jobs 1 "$d/many" \
        >"$d/kill.out" 2>"$d/kill.err" &
    pid=$!
    for _ in $(seq 3000); do
        n=$(grep -c '^F ' "$J" 2>/dev/null)
        [ "${n:-0}" -ge "$2" ] && break
        sleep 0.01
    done
    kill -"$1" $pid
    { wait $pid; } 2>/dev/null
    rc=$?
}
kill_after INT 20
expect kill 130 "not processed"
grep -qF "interrupted: finishing the blobs in flight" "$d/kill.err" ||
    cmk_fail "SIGINT: not said"
done1=$(grep -c '^F ' "$J")
[ "$done1" -ge 20 ] && [ "$done1" -lt "$MANY" ] ||
    cmk_fail "SIGINT: $done1 journal entries, expected 20..$((MANY - 1))"
kill_after KILL $((done1 + 30))
[ "$rc" -eq 137 ] || cmk_fail "SIGKILL: exit $rc"
done2=$(grep -c '^F ' "$J")
[ "$done2" -gt "$done1" ] && [ "$done2" -lt "$MANY" ] ||
    cmk_fail "SIGKILL: $done2 journal entries after $done1"
run resume --tenant acme --jobs 4 "$d/many"
expect resume 0 "failed 0, not processed 0"
grep -qF "journal $done2)" "$d/resume.err" ||
    cmk_fail "resume: the $done2 journal entries were not used"
[ ! -e "$J" ] || cmk_fail "journal left after the complete run"
check acme 1234 "$d/many.list"
[ -z "$(find "$d/many" -name '.*.rewrap-*')" ] ||
    cmk_fail "temporary files left"
echo "ok: interrupted after $done1 (SIGINT) and $done2 (SIGKILL), resumed"

# The tenant's key-change lock: refused while another holds it.
echo "rotate-kek, pid 1 on host h since 2026-01-01T00:00:00Z" \
    >"$d/store/acme/key-change.lock"
(
    flock -n 9 || exit 99
    run locked --tenant acme "$d/tree"
    expect locked 1 "a key change is running: rotate-kek, pid 1"
) 9<"$d/store/acme/key-change.lock" || exit $?

# Usage errors: exit 2 with a message naming what is wrong.
run u1 --tenant acme --jobs 0 "$d/tree"
expect u1 2 '--jobs: expected a number from 1 to 64, got "0"'
run u2 --tenant acme --jobs 65 "$d/tree"
expect u2 2 '--jobs: expected a number from 1 to 64, got "65"'
run u3 --tenant acme
expect u3 2 "usage: cmk-tool rewrap"
run u4 --tenant acme --stdin "$d/tree"
expect u4 2 "usage: cmk-tool rewrap"
run u5 --tenant acme "$d/none"
expect u5 2 "$d/none: No such file or directory"
run u6 --tenant nobody "$d/tree"
expect u6 2 'no tenant labelled "nobody"'
run u7 --tenant acme --kek-path "$d/tree"
expect u7 2 "rewrap: --kek-path needs --mech kwp, kw or gcm (how the blobs were wrapped)"
run u8 --tenant acme --kek-path --mech aes "$d/tree"
expect u8 2 "rewrap: --kek-path needs --mech kwp, kw or gcm (how the blobs were wrapped)"
run u9 --tenant acme --mech kwp "$d/tree"
expect u9 2 "rewrap: --mech is for --kek-path blobs"
"$T" rewrap --help | grep -q -- "--journal FILE" ||
    cmk_fail "rewrap --help"

# Audit: one blob_rewrapped record per blob touched, between
# rewrap_started and rewrap_completed, and the file verifies. The file
# is read as docs/audit-format.md says: the run killed by SIGKILL may
# have left space it reserved and never filled (a run of 0x00 before the
# next record, on its line); a record cut short there would be a torn
# line, which the verify below reports.
"$CMK_PYTHON" - "$d/audit.jsonl" "$d" <<'EOF' || cmk_fail "audit records"
import collections, json, re, sys
recs = [json.loads(p) for l in open(sys.argv[1], "rb").read().split(b"\n")
        for p in re.split(rb"\x00+", l) if p]
d = sys.argv[2]
ev = [r for r in recs if r.get("op") == "cmk-tool rewrap"]
blobs = collections.Counter(
    (r["result"], r["detail"].startswith(d + "/tree/")) for r in ev
    if r["event"] == "blob_rewrapped")
starts = [r for r in ev if r["event"] == "rewrap_started"]
ends = [r for r in ev if r["event"] == "rewrap_completed"]
# tree: current (40 skipped), tree (40 ok), again (40 skipped)
assert blobs[("ok", True)] == 40, blobs
assert blobs[("skipped", True)] == 80, blobs
assert blobs[("failed", False)] >= 4, blobs  # bad (3) and stdin line 6 (x2)
first = [r for r in ev if r["event"] == "blob_rewrapped"
         and r["detail"].endswith("/tree/d0/blob-00000.cmke")
         and r["result"] == "ok"][0]
assert first["key_old"] == d + "/acme.key", first
assert first["key_new"] == d + "/acme-2.key", first
assert first["tenant"] == "acme", first
line6 = [r for r in ev if r["event"] == "blob_rewrapped"
         and r["detail"] == "stdin line 6"]
assert len(line6) == 2 and all(r["result"] == "failed" for r in line6)
# (the run interrupted by SIGINT may have done 40 as well)
tree = [r for r in ends if r["count"] == 40 and r["result"] != "interrupted"]
assert len(tree) == 1 and tree[0]["result"] == "ok", ends
assert any(r["result"] == "interrupted" for r in ends), ends
assert len(starts) == len(ends) + 1, (len(starts), len(ends))  # SIGKILL
assert all(r["key_new"].startswith(d) for r in starts)
print("ok: %d rewrap records" % len(ev))
EOF
"$T" audit verify --config "$cfg" "$d/audit.jsonl" >"$d/verify.out" 2>&1 || {
    cat "$d/verify.out"
    cmk_fail "audit verify"
}
echo "ok: the audit file verifies"
