#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# integration: "cmk-tool audit verify" on files written by the audit
# writer, then edited, cut and shortened: exit codes and the line named.
set -u

: "${top_builddir:=.}"
tool="$top_builddir/cmk-tool"
gen="$top_builddir/tests/integration/audit_gen"
for p in "$tool" "$gen"; do
    if [ ! -x "$p" ]; then
        echo "SKIP: $p not built"
        [ "${CI:-}" = true ] && exit 99
        exit 77
    fi
done

dir=$(mktemp -d /tmp/cmk-audit-tool-XXXXXX) || exit 99
trap 'rm -rf "$dir"' EXIT
f="$dir/audit.jsonl"
t="$dir/tampered.jsonl"
fails=0

# expect EXIT_CODE PATTERN FILE...: runs the tool, checks code and output.
expect() {
    want=$1
    pat=$2
    shift 2
    out=$("$tool" "$@" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ] || ! printf '%s\n' "$out" | grep -q -- "$pat"
    then
        echo "FAIL: cmk-tool $*: exit $got (want $want), output:"
        printf '%s\n' "$out"
        echo "  expected to match: $pat"
        fails=$((fails + 1))
    else
        echo "ok: cmk-tool $*: $out" | head -n 1
    fi
}

"$gen" "$f" 9 || exit 99
expect 0 "^$f: 10 records, 1 writers, ok\$" audit verify "$f"
"$gen" "$f" 4 || exit 99
expect 0 "^$f: 15 records, 2 writers, ok\$" audit verify "$f"

# a field edited on line 4: the next record's prev no longer matches
sed '4s/record 4/record X/' "$f" >"$t"
expect 1 "^$t: line 5: prev does not match line 4\$" audit verify "$t"
# a line deleted
sed '3d' "$f" >"$t"
expect 1 "^$t: line 3: seq 4 follows 2 in writer .*: records missing\$" \
    audit verify "$t"
# two lines swapped
awk 'NR == 3 { h = $0; next } NR == 4 { print; print h; next } { print }' \
    "$f" >"$t"
expect 1 "^$t: line 3: seq 4 follows 2" audit verify "$t"
# the last line cut (no newline)
head -c -1 "$f" >"$t"
expect 1 "^$t: line 15: truncated (no newline)\$" audit verify "$t"
# a line that is not JSON
sed '6i\
garbage' "$f" >"$t"
expect 1 "^$t: line 6: not JSON\$" audit verify "$t"

expect 2 "No such file" audit verify "$dir/missing.jsonl"
expect 2 "usage: cmk-tool audit verify FILE" audit
expect 2 "usage: cmk-tool audit verify FILE" audit check "$f"
expect 0 "usage: cmk-tool audit verify FILE" audit verify --help

[ "$fails" -eq 0 ] || exit 1
exit 0
