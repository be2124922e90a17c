#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration (aws, slow): cmk-tool rewrap of 100 000 direct-path blobs
# (REWRAP_BLOBS; 20 000 in a sanitizer build) against the KMS emulator
# while it throttles 10% of ReEncrypt requests: the run completes, every
# blob gets exactly one successful ReEncrypt, the requests stay within
# the retry budget (counted in the emulator's call log), every blob then
# opens under the new CMK to its DEK (checked against the emulator's key
# store, and through the module for blobs the module made), a second run
# skips them all without a KMS call, and every blob is one audit record.
# Prints the rate (blobs/s).
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
BLOBS=${BLOBS:-$top_builddir/tests/integration/rewrap_blobs}
[ -x "$BLOBS" ] || cmk_missing "rewrap_blobs not built: $BLOBS"
N=${REWRAP_BLOBS:-100000}
if cmk_sanitized && [ -z "${REWRAP_BLOBS:-}" ]; then
    N=20000 # ASan's client is slower; the same checks on fewer blobs
fi
RATE=0.1
ATTEMPTS=3
PY=$top_srcdir/tests/integration/aws/aws_rewrap.py

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-rewrap.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
d=$CMK_TMP
emulator_start "$d/emu" || cmk_error "emulator did not start"
emu_ctl add_credentials '{"access_key_id":"AKIDREWRAP","secret":"rw-secret"}' \
    >/dev/null || cmk_error "add_credentials"
for k in rw-old rw-new; do
    emu_ctl create_key "{\"alias\":\"alias/$k\"}" >/dev/null ||
        cmk_error "create_key $k"
done
umask 077
printf '{"access_key_id": "AKIDREWRAP", "secret_access_key": "rw-secret"}\n' \
    >"$d/creds.json"
aws_env_isolate "$d"
export CMK_MODULE

verifier=$(printf '1234\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "pin-hash"
cfg=$d/config.json
# write_config KEY PREVIOUS_JSON_ARRAY
write_config() {
    printf '{"version": 1, "store_dir": "%s",
 "audit": {"file": "%s", "fsync": "none"},
 "http": {"timeout_ms": 20000, "max_attempts": %d},
 "tenants": [{"label": "acme", "provider": "aws", "key": "%s",
   "previous_keys": %s, "region": "us-east-1", "endpoint": "%s/",
   "aws": {"credentials_file": "%s"}, "test_mode": true,
   "pin_verifier": "%s"}]}\n' "$d/store" "$d/audit.jsonl" $ATTEMPTS "$1" \
        "$2" "$EMU_HTTP_URL" "$d/creds.json" "$verifier" >"$cfg" ||
        cmk_error "cannot write $cfg"
}
write_config alias/rw-old '[]'
cmk_provision "$cfg" acme
export CMK_PKCS11_CONFIG=$cfg

# The blobs: three through the module (C_WrapKey, KMS Encrypt), N from
# the emulator's key store; all base64 lines of one input.
"$BLOBS" make acme 1234 "$d/mod" 3 "$d/mod.list" || cmk_error "rewrap_blobs"
t0=$(date +%s.%N)
"$CMK_PYTHON" "$PY" gen "$d/emu" alias/rw-old acme "$N" "$d/in" "$d/deks" ||
    cmk_error "gen"
for f in $(cut -d' ' -f1 "$d/mod.list"); do
    base64 -w0 "$f" >>"$d/in" && echo >>"$d/in" || cmk_error "base64"
done
echo "generated $N blobs in $(echo "$(date +%s.%N) - $t0" | bc) s"
total=$((N + 3))

# The rotation, by hand: key -> new, old to previous_keys.
write_config alias/rw-new '["alias/rw-old"]'

emu_ctl faults "{\"throttle_rate\": $RATE, \"for_ops\": [\"ReEncrypt\"], \"seed\": 11}" \
    >/dev/null || cmk_error "faults"
t0=$(date +%s.%N)
"$CMK_TOOL" rewrap --config "$cfg" --tenant acme --jobs 32 --stdin \
    --journal "$d/journal" <"$d/in" >"$d/out" 2>"$d/err"
rc=$?
secs=$(echo "$(date +%s.%N) - $t0" | bc)
emu_ctl clear_faults >/dev/null || cmk_error "clear_faults"
cat "$d/err"
[ $rc -eq 0 ] || cmk_fail "rewrap: exit $rc"
grep -qF "rewrapped $total, skipped 0 (already current 0, journal 0), failed 0, not processed 0" \
    "$d/err" || cmk_fail "rewrap: unexpected summary"
[ ! -e "$d/journal" ] || cmk_fail "journal left after a complete run"

read -r calls ok throttled other < <("$CMK_PYTHON" "$PY" calls "$d/emu" ReEncrypt) ||
    cmk_error "call log"
echo "figures: $total blobs in $secs s: $(echo "$total / $secs" | bc) blobs/s;" \
    "ReEncrypt requests $calls ($ok ok, $throttled throttled, $other other)," \
    "$(echo "scale=3; $calls / $total" | bc) requests per blob"
[ "$ok" -eq "$total" ] ||
    cmk_fail "$ok successful ReEncrypt for $total blobs (one each expected)"
[ "$other" -eq 0 ] || cmk_fail "$other ReEncrypt answers neither ok nor throttled"
[ "$throttled" -gt 0 ] || cmk_fail "no throttling happened"
# The budget: at most http.max_attempts requests per blob, and no more
# retries than the throttling made necessary (each throttled answer is
# retried once at most, up to 1.5 times the rate's expectation).
[ "$calls" -le $((total * ATTEMPTS)) ] ||
    cmk_fail "$calls requests: over $ATTEMPTS per blob"
expect=$(echo "$total * $RATE / (1 - $RATE) * 1.5" | bc)
[ "$throttled" -le "${expect%.*}" ] ||
    cmk_fail "$throttled throttled requests, expected at most ${expect%.*}"
echo "ok: ReEncrypt within the retry budget"

[ "$(wc -l <"$d/out")" -eq "$total" ] || cmk_fail "stdout: not $total lines"
"$CMK_PYTHON" "$PY" verify "$d/emu" alias/rw-new acme "$d/out" "$d/deks" ||
    cmk_fail "rewrapped blobs do not open under the new CMK"
i=0
while read -r line; do
    i=$((i + 1))
    echo "$line" | base64 -d >"$d/mod-$i.cmke" || cmk_fail "base64"
    echo "$d/mod-$i.cmke $(sed -n ${i}p "$d/mod.list" | cut -d' ' -f2)"
done < <(tail -n 3 "$d/out") >"$d/mod2.list"
"$BLOBS" check acme 1234 "$d/mod2.list" ||
    cmk_fail "the module's blobs do not unwrap after the rewrap"

# Idempotent: the rewrapped lines again: all skipped, no ReEncrypt.
"$CMK_TOOL" rewrap --config "$cfg" --tenant acme --jobs 32 --stdin \
    <"$d/out" >"$d/out2" 2>"$d/err2" || {
    cat "$d/err2"
    cmk_fail "second run"
}
grep -qF "rewrapped 0, skipped $total (already current $total, journal 0), failed 0" \
    "$d/err2" || cmk_fail "second run: $(tail -n 1 "$d/err2")"
cmp -s "$d/out" "$d/out2" || cmk_fail "second run changed lines"
read -r calls2 _ < <("$CMK_PYTHON" "$PY" calls "$d/emu" ReEncrypt) ||
    cmk_error "call log"
[ "$calls2" -eq "$calls" ] || cmk_fail "second run made $((calls2 - calls)) ReEncrypt"
echo "ok: second run skipped $total blobs without a KMS call"

# Every blob is one audit record in each run.
"$CMK_PYTHON" - "$d/audit.jsonl" "$total" <<'EOF' || cmk_fail "audit records"
import collections, json, sys
n = int(sys.argv[2])
c = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == "blob_rewrapped":
        c[r["result"]] += 1
        assert r["key_new"] == "alias/rw-new", r
        assert r["key_old"] in ("alias/rw-old", "alias/rw-new"), r
    elif r.get("event") == "rewrap_completed":
        c["completed:" + r["result"]] += 1
assert c["ok"] == n and c["skipped"] == n and c["failed"] == 0, c
assert c["completed:ok"] == 2, c
print("ok: %d blob_rewrapped records" % (2 * n))
EOF
"$CMK_TOOL" audit verify --config "$cfg" "$d/audit.jsonl" >"$d/verify" 2>&1 || {
    cat "$d/verify"
    cmk_fail "audit verify"
}
echo "ok: the audit file verifies"
