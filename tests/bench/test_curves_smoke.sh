#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: make check's smoke run of the cost curves. curves.sh with
# CURVES_QUICK=1 (the smallest sizes, seconds) into a temp dir; every
# curve file named in CURVES must exist with points in each of its series,
# and its PNG must be written. The figures themselves are not checked.
# Exit codes: 0 pass, 77 skip, 99 hard error (CI=true: a missing tool).
set -u

# The curves the scripts in CURVES_ONLY write (one list: add yours here).
CURVES_ONLY="tenants objects cache miss wrap"
CURVES="tenants tenants_slots tenants_mem objects objects_shared objects_mem
    cache cache_memory miss miss_latency wrap wrap_calls"

: "${top_srcdir:?run by make check}"
: "${top_builddir:?run by make check}"
: "${CMK_MODULE:?run by make check}"
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

missing() {
    echo "SKIP: $*"
    [ "${CI:-}" = true ] && exit 99
    exit 77
}

fail() {
    echo "FAIL: $*"
    exit 1
}

[ -f "$SOFTHSM_MODULE" ] && command -v softhsm2-util >/dev/null ||
    missing "SoftHSM2 not installed (Debian package softhsm2)"
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null ||
    missing "matplotlib not installed (Debian package python3-matplotlib)"
for p in cmk-grow cmk-curve; do
    [ -x "$top_builddir/$p" ] || fail "not built: $p"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmk-curves-smoke.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

out=$(CURVES_QUICK=1 CURVES_ONLY="$CURVES_ONLY" CURVES_OUT="$tmp" \
    CMK_MODULE=$CMK_MODULE SOFTHSM_MODULE=$SOFTHSM_MODULE \
    timeout 120 bash "$top_srcdir/tests/bench/curves.sh" 2>&1)
rc=$?
echo "$out"
# A growth limit a smoke run's tiny sizes happen to exceed is noise; a
# curve script that failed is not.
grep -q '^bench: curve .* failed' <<<"$out" && fail "a curve script failed"
[ $rc = 0 ] || [ $rc = 1 ] || fail "curves.sh ended with $rc (2: a script failed)"

for c in $CURVES; do
    [ -s "$tmp/$c.png" ] || fail "$c.png not written"
    /usr/bin/python3 - "$tmp/$c.json" <<'EOF' || fail "$c.json incomplete"
import json, sys
curve = json.load(open(sys.argv[1]))
assert curve["series"], "no series"
for s in curve["series"]:
    assert s["points"], "series %r has no points" % s["label"]
EOF
done
echo "PASS: $CURVES"
exit 0
