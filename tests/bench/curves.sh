#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: the cost curves of `make bench` (README "Performance",
# "How it grows"). Runs every tests/bench/curve_*.sh, each of which writes
# one or more curve files (JSON, the form curves_plot.py describes) into
# $CURVES_OUT, then prints their tables and growth exponents and writes
# one PNG per curve beside them. A curve script that fails is reported and
# the others still run; the exit status is then 2. It is 1 when every
# script ran but a series grew faster than its "max_exponent".
#
# Environment: top_srcdir, top_builddir, CMK_MODULE, SOFTHSM_MODULE (as
# run.sh has them), CURVES_OUT (where the JSON and PNG files go),
# CURVES_ONLY (a space-separated list of curve script names, without
# curve_ and .sh, to run only those), CURVES_QUICK=1 (the smallest sizes
# only: a smoke run, no figures to quote).
set -uo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CURVES_OUT:?CURVES_OUT must name a directory}"
export top_srcdir top_builddir CURVES_OUT
mkdir -p "$CURVES_OUT" || exit 1

rc=0
for s in "$top_srcdir"/tests/bench/curve_*.sh; do
    [ -e "$s" ] || continue
    name=$(basename "$s" .sh)
    name=${name#curve_}
    if [ -n "${CURVES_ONLY:-}" ] && [[ " $CURVES_ONLY " != *" $name "* ]]; then
        continue
    fi
    echo "== curve $name: $(date -u +%H:%M:%S)"
    if ! bash "$s"; then
        echo "bench: curve $name failed" >&2
        rc=2
    fi
done
shopt -s nullglob
files=("$CURVES_OUT"/*.json)
if [ ${#files[@]} -eq 0 ]; then
    echo "bench: no curve written" >&2
    exit 2
fi
/usr/bin/python3 "$top_srcdir/tests/bench/curves_plot.py" "${files[@]}"
case $? in
0) ;;
1) [ $rc = 0 ] && rc=1 ;; # a growth limit exceeded
*) rc=2 ;;
esac
exit $rc
