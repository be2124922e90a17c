#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: summary.py on a results file made up here. The two-thread
# target line gives, beside audit on, audit off, the control with the
# audit file in memory and the share of CPU time the host took during the
# two-thread run; the per-record target gives the in-memory control's
# worst beside, and under both targets the audit writer's own figures
# (cmk-audit-speed's line of the run). Exact lines, so a change of the
# figures or their source fails here.
# Exit codes: 0 pass, 1 fail, 99 hard error.
set -u

: "${top_srcdir:?run by make check}"

fail() {
    echo "FAIL: $*"
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmk-summary.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

# row AUDIT TTL THREADS OPS P50 [STEAL]
row() {
    printf '{"scenario":"gcm_encrypt_64","threads":%s,"label":"cmk",' "$3"
    printf '"ops_per_s":%s,"mb_per_s":1.0,"p50_us":%s,"p99_us":9.0,' "$4" "$5"
    printf '"audit":"%s","cache_ttl":%s,"ops":1,"seconds":1.0,' "$1" "$2"
    printf '"bytes_per_op":64,"steal":%s}\n' "${6:-null}"
}
{
    row off 300 1 1000000 1.00
    row off 300 2 1900000 1.05
    row on 300 1 500000 1.60 0.0100
    row on 300 2 600000 1.90 0.1500
    row mem 300 1 500000 1.40
    row mem 300 2 850000 1.50
    printf '{"audit_speed":1,"line_bytes":354,"mac":"aes-256-gcm-siv",'
    printf '"mac_us":0.188,"map_us":0.051,"map_2t":0.47,'
    printf '"write_none_us":0.617,"write_none_2t":1.78,'
    printf '"write_interval_us":0.777,"write_interval_2t":0.71}\n'
} >"$tmp/results.jsonl"

# expect FILE LINE...: summary.py of FILE prints each LINE exactly.
expect() {
    local file=$1 out line
    shift
    out=$(/usr/bin/python3 "$top_srcdir/tests/bench/summary.py" "$file") ||
        fail "summary.py $file exited $?"
    for line in "$@"; do
        grep -qxF -- "$line" <<<"$out" || fail "no line: $line
got:
$out"
    done
}

expect "$tmp/results.jsonl" \
    "  MISS  2 threads vs 1 on gcm_encrypt_64, audit on: 1.20x (need >= 1.80x; audit off 1.90x, file in memory 1.70x; host steal 15%)" \
    "  MISS  audit on adds at most 0.5 us p50 per record: worst gcm_encrypt_64 +0.60 us (file in memory: worst gcm_encrypt_64 +0.40 us)" \
    "        where a record's time goes here (cmk-audit-speed, 354-byte line, thread CPU): aes-256-gcm-siv mac 0.19 us + copy into the mapping 0.05 = floor 0.24 us; the whole write 0.62 us (fsync none), the line's text, clock and the rest 0.38" \
    "        the writer alone on 2 threads vs 1 (cmk-audit-speed, time waiting for a CPU taken out): 1.78x fsync none, 0.71x interval; the bare atomic add and copy 0.47x"

# Without the control and the steal figure (another machine, an older
# results file): said as not measured, never made up.
grep -v '"audit":"mem"\|"audit_speed"' "$tmp/results.jsonl" |
    sed 's/"steal":[0-9][0-9.]*/"steal":null/' >"$tmp/plain.jsonl"
expect "$tmp/plain.jsonl" \
    "  MISS  2 threads vs 1 on gcm_encrypt_64, audit on: 1.20x (need >= 1.80x; audit off 1.90x, file in memory -; host steal -)" \
    "  MISS  audit on adds at most 0.5 us p50 per record: worst gcm_encrypt_64 +0.60 us"
out=$(/usr/bin/python3 "$top_srcdir/tests/bench/summary.py" "$tmp/plain.jsonl")
! grep -q "cmk-audit-speed" <<<"$out" || fail "writer figures made up: $out"
echo "PASS: summary.py target lines"
