#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# man/test_man_render.sh: every manual page renders without a warning,
# through groff (-ww: all warnings) and through man -l, both with exit 0
# and nothing on stderr; and, where scdoc is installed, the roff page is
# what scdoc makes of its .scd now (a page shipped or built stale fails).
set -euo pipefail
. "$(dirname "$0")/../tests/integration/lib.sh"

cmk_need groff man
cmk_tmpdir
T=$CMK_TMP
FAILED=""
# The .TH line without its date (its third field).
undated='s/^\(\.TH "[^"]*" "[^"]*"\) "[^"]*"/\1/'

# check NAME CMD...: CMD must exit 0 with an empty stderr.
check() {
    local name=$1 rc=0
    shift
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != 0 ] || [ -s "$T/err" ]; then
        echo "FAIL: $name: exit $rc, stderr:"
        cat "$T/err"
        FAILED="$FAILED $name"
    else
        echo "ok: $name"
    fi
}

for page in cmk-tool.1 cmk-pkcs11.json.5 cmk-pkcs11.8; do
    roff=$top_builddir/man/$page
    [ -f "$roff" ] || roff=$top_srcdir/man/$page
    [ -f "$roff" ] || cmk_error "$page is not built (make it first)"
    check "groff $page" groff -man -Tutf8 -ww -z "$roff"
    check "man -l $page" env LC_ALL=C.UTF-8 MANWIDTH=80 MAN_KEEP_STDERR=1 \
        man --warnings -E UTF-8 -l "$roff"
    # The page says what it is: its name in the title line.
    name=${page%.*}
    section=${page##*.}
    if ! grep -q "^\.TH \"$name\" \"$section\"" "$roff"; then
        echo "FAIL: $page: no .TH \"$name\" \"$section\" line"
        FAILED="$FAILED th:$page"
    fi
    if ! LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$roff" 2>/dev/null |
        grep -q "^$name($section) "; then
        echo "FAIL: $page: man -l does not show $name($section)"
        FAILED="$FAILED header:$page"
    fi
    if command -v scdoc >/dev/null 2>&1; then
        # scdoc dates the .TH line with the day it runs (or
        # SOURCE_DATE_EPOCH): a page made yesterday is not stale.
        scdoc <"$top_srcdir/man/$page.scd" 2>"$T/err" | sed "$undated" \
            >"$T/$page"
        sed "$undated" "$roff" >"$T/$page.built"
        if [ -s "$T/err" ] || ! cmp -s "$T/$page" "$T/$page.built"; then
            cat "$T/err"
            echo "FAIL: $roff is not what scdoc makes of man/$page.scd"
            FAILED="$FAILED stale:$page"
        fi
    fi
done
[ -z "$FAILED" ] || cmk_fail "failed:$FAILED"
echo "PASS: every page renders without a warning"
