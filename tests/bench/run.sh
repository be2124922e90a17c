#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: what `make bench` runs. Raw OpenSSL (the ceiling), SoftHSM2
# and our module with audit off and on run the same cmk-bench scenarios in
# one go; summary.py then prints the ratios the README records.
#
# Environment: top_srcdir, top_builddir, CMK_MODULE (set by make),
# BENCH_SECONDS (timed seconds per run, default 1), BENCH_OUT (keep the
# results and configs there instead of a temp dir), BENCH_STRICT=1 (exit 1
# when a target is missed or a cost curve grows past its limit; a curve
# script that fails always does), SOFTHSM_MODULE, BENCH_CURVES=0 (skip the cost
# curves), CURVES_OUT (where their JSON and PNG files go; default
# bench-curves in the build directory).
set -uo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
BENCH=$top_builddir/cmk-bench
TOOL=$top_builddir/cmk-tool
AUDIT_SPEED=$top_builddir/cmk-audit-speed
# make bench passes CMK_MODULE; by hand, libtool's object directory of the
# build holds it (named in the build's libtool script).
MODULE=${CMK_MODULE:-$top_builddir/$(sed -n 's/^objdir=//p' \
    "$top_builddir/libtool" 2>/dev/null | head -n 1)/cmk-pkcs11.so}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
SECONDS_PER_RUN=${BENCH_SECONDS:-1}
PIN=1234
TENANT=bench
TTL=300
MAX_ENTRIES=4096
MISS_BLOBS=5000 # more than MAX_ENTRIES: every unwrap of the rotation misses
# 8 threads only on the paths the targets are about (time budget); the
# direct path exists only in our module.
EIGHT=gcm_encrypt_64,gcm_encrypt_4k,kwp_unwrap,envelope_kwp
EIGHT_CMK=$EIGHT,direct_unwrap_hit,envelope_direct
# Seconds one cmk-bench process may take (16 scenarios, 2 thread counts).
LIMIT=$(awk -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%d", 60 * s + 120 }')

die() {
    echo "bench: $*" >&2
    exit 1
}

setup_out() {
    if [ -n "${BENCH_OUT:-}" ]; then
        OUT=$BENCH_OUT
        # Only a folder this script made before is emptied.
        if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
            [ -f "$OUT/.cmk-bench" ] || die "$OUT is not empty"
            rm -rf "${OUT:?}"/* "$OUT"/.cmk-bench
        fi
        mkdir -p "$OUT" || die "cannot make $OUT"
        : >"$OUT/.cmk-bench"
    else
        OUT=$(mktemp -d "${TMPDIR:-/tmp}/cmk-bench.XXXXXX") || die "mktemp"
        TMP_OUT=$OUT
    fi
    chmod 700 "$OUT"
    RESULTS=$OUT/results.jsonl
    : >"$RESULTS"
}

check_tools() {
    [ -x "$BENCH" ] || die "not built: $BENCH"
    [ -x "$TOOL" ] || die "not built: $TOOL"
    [ -x "$AUDIT_SPEED" ] || die "not built: $AUDIT_SPEED"
    [ -f "$MODULE" ] || die "not built: $MODULE"
    [ -f "$SOFTHSM_MODULE" ] || die "SoftHSM2 missing: $SOFTHSM_MODULE"
    command -v softhsm2-util >/dev/null || die "softhsm2-util missing"
    [ -x /usr/bin/python3 ] || die "/usr/bin/python3 missing"
}

# Which build of the module: the figures mean something only at -O2.
describe_build() {
    local kind=release
    grep -q '^#define CMK_DEBUG 1' "$top_builddir/config.h" 2>/dev/null &&
        kind="DEBUG (-O0: figures are not representative)"
    grep -q -- '-fsanitize' "$top_builddir/Makefile" 2>/dev/null &&
        kind="$kind, SANITIZERS (figures are not representative)"
    echo "build:    $top_builddir ($kind)"
    echo "cflags:   $(sed -n 's/^CFLAGS = //p' "$top_builddir/Makefile")"
}

describe_machine() {
    echo "machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
        /proc/cpuinfo | head -n1)"
    echo "kernel:   $(uname -srm)"
    echo "openssl:  $(openssl version 2>/dev/null || echo unknown)"
    echo "softhsm:  $(softhsm2-util --version 2>/dev/null || echo unknown)"
    local fs
    fs=$(df -T "$OUT" | awk 'NR == 2 { print $2 }')
    echo "audit:    on = file in $OUT ($fs),"
    echo "          fsync \"interval\" (fdatasync at most once a second);"
    echo "          off = no \"audit\" section in the config"
    if [ -n "$MEMDIR" ]; then
        echo "          mem = the same, file in $MEMDIR (tmpfs), for the"
        echo "          warm paths: the two-thread control without disk I/O"
    else
        echo "          mem = not run (no tmpfs at /dev/shm with" \
            "$((3 * MEM_MAX >> 20)) MiB free)"
    fi
    echo "cache:    ttl_seconds $TTL, max_entries $MAX_ENTRIES;" \
        "cache-miss rotation over $MISS_BLOBS blobs"
    echo "timing:   $SECONDS_PER_RUN s per run after a 10% warm-up"
}

# write_config FILE AUDIT(on|off|mem) TTL: one tenant on the local
# provider. mem: the audit file in MEMDIR (memory), rotated at MEM_MAX.
write_config() {
    local audit=""
    case $2 in
    on) audit="\"audit\": {\"file\": \"$OUT/audit.jsonl\"," ;;
    mem) audit="\"audit\": {\"file\": \"$MEMDIR/audit.jsonl\","
        audit="$audit \"max_bytes\": $MEM_MAX, \"keep\": 1," ;;
    esac
    [ "$2" = off ] || audit="$audit \"fsync\": \"interval\"},"
    cat >"$1" <<EOF || die "cannot write $1"
{
  "version": 1,
  "store_dir": "$OUT/store",
  $audit
  "cache": {"ttl_seconds": $3, "max_entries": $MAX_ENTRIES},
  "tenants": [
    {"label": "$TENANT", "provider": "local", "key": "$OUT/$TENANT.key",
     "test_mode": true, "pin_verifier": "$VERIFIER"$KEK_MEMBERS}
  ]
}
EOF
}

# The tenant's KEK: provisioned once, then shared by every config.
make_configs() {
    local kek_json=$OUT/provision.json
    mkdir -m 700 "$OUT/store" || die "mkdir store"
    "$TOOL" local-key --out "$OUT/$TENANT.key" >/dev/null ||
        die "cmk-tool local-key failed"
    VERIFIER=$(echo "$PIN" | "$TOOL" pin-hash --cost min) ||
        die "cmk-tool pin-hash failed"
    KEK_MEMBERS=""
    write_config "$kek_json" off "$TTL"
    "$TOOL" provision --config "$kek_json" --tenant "$TENANT" --write \
        >/dev/null || die "cmk-tool provision failed"
    KEK_MEMBERS=$(/usr/bin/python3 -c 'import json,sys
t = json.load(open(sys.argv[1]))["tenants"][0]
print(", \"kek\": \"%s\", \"kek_commitment\": \"%s\"" %
      (t["kek"], t["kek_commitment"]))' "$kek_json") ||
        die "no KEK in $kek_json"
    write_config "$OUT/audit-off.json" off "$TTL"
    write_config "$OUT/audit-on.json" on "$TTL"
    write_config "$OUT/nocache.json" on 0
    [ -z "$MEMDIR" ] || write_config "$OUT/audit-mem.json" mem "$TTL"
}

# The control for the two-thread targets: the same audit writer with its
# file in memory (tmpfs at /dev/shm), where writing the file costs no
# disk I/O. Set up when /dev/shm is a tmpfs with room for the file and
# one rotated copy (2 x MEM_MAX); MEMDIR is empty otherwise.
MEMDIR=""
TMP_OUT=""
MEM_MAX=$((512 << 20))
setup_memdir() {
    local avail
    [ "$(df -T /dev/shm 2>/dev/null | awk 'NR == 2 { print $2 }')" = tmpfs ] ||
        return 0
    avail=$(df -k --output=avail /dev/shm | awk 'NR == 2 { print $1 }')
    [ "${avail:-0}" -ge $((3 * MEM_MAX / 1024)) ] || return 0
    MEMDIR=$(mktemp -d /dev/shm/cmk-bench.XXXXXX) || die "mktemp /dev/shm"
}

make_softhsm() {
    mkdir -p "$OUT/softhsm/tokens" || die "mkdir softhsm"
    printf '%s\n' "directories.tokendir = $OUT/softhsm/tokens" \
        "objectstore.backend = file" "log.level = ERROR" \
        >"$OUT/softhsm/softhsm2.conf"
    export SOFTHSM2_CONF=$OUT/softhsm/softhsm2.conf
    softhsm2-util --init-token --free --label "$TENANT" --pin "$PIN" \
        --so-pin 87654321 >/dev/null || die "softhsm2-util --init-token failed"
}

# bench LABEL ARGS...: one cmk-bench run, table to the terminal, JSON
# lines to the results file.
bench() {
    local label=$1 out rc
    shift
    out=$OUT/run-$label-$RANDOM.txt
    # A module that hangs (a deadlock) must not hang make bench.
    timeout "$LIMIT" "$BENCH" --label "$label" --seconds "$SECONDS_PER_RUN" \
        "$@" >"$out"
    rc=$?
    grep -v '^{' "$out" | sed '1!{/^scenario /d}'
    grep '^{' "$out" >>"$RESULTS"
    [ $rc -ne 124 ] || die "cmk-bench timed out after $LIMIT s ($label $*)"
    [ $rc -eq 0 ] || die "cmk-bench failed ($label $*)"
}

# bench_both LABEL SUBSET ARGS...: all scenarios on 1 and 2 threads, then
# SUBSET on 8 threads.
bench_both() {
    local label=$1 subset=$2
    shift 2
    bench "$label" "$@" --threads 1,2
    bench "$label" "$@" --threads 8 --scenario "$subset"
}

run_all() {
    local p11=(--token-label "$TENANT" --pin "$PIN" --miss-blobs "$MISS_BLOBS")
    local warm
    local cmk=(--module "$MODULE" "${p11[@]}")
    echo "== raw OpenSSL EVP (ceiling)"
    bench_both openssl "$EIGHT" --openssl
    echo "== SoftHSM2"
    bench_both softhsm "$EIGHT" --module "$SOFTHSM_MODULE" "${p11[@]}"
    echo "== cmk-pkcs11, audit off"
    CMK_PKCS11_CONFIG=$OUT/audit-off.json bench_both cmk "$EIGHT_CMK" \
        "${cmk[@]}" --audit off --cache-ttl "$TTL"
    echo "== cmk-pkcs11, audit on (fsync interval)"
    CMK_PKCS11_CONFIG=$OUT/audit-on.json bench_both cmk "$EIGHT_CMK" \
        "${cmk[@]}" --audit on --cache-ttl "$TTL"
    if [ -n "$MEMDIR" ]; then
        # the paths of the two-thread targets, as summary.py names them
        warm=$(/usr/bin/python3 "$top_srcdir/tests/bench/summary.py" \
            --warm-paths) || die "summary.py --warm-paths failed"
        echo "== cmk-pkcs11, audit on, file in memory (control: no disk I/O)"
        CMK_PKCS11_CONFIG=$OUT/audit-mem.json bench cmk "${cmk[@]}" \
            --audit mem --cache-ttl "$TTL" --threads 1,2 --scenario "$warm"
        rm -f "$MEMDIR"/audit.jsonl*
    fi
    echo "== cmk-pkcs11, audit on, cache off (ttl_seconds 0)"
    CMK_PKCS11_CONFIG=$OUT/nocache.json bench cmk "${cmk[@]}" --audit on \
        --cache-ttl 0 --threads 1,2 --scenario direct_unwrap_hit,envelope_direct
}

# Where one record's time goes in the audit writer on this machine, now
# (cmk-audit-speed, scratch files beside the bench's audit file): its
# table to the terminal, its JSON line to the results for summary.py.
audit_parts() {
    local out=$OUT/audit-speed.txt rc
    echo "== where an audit record's time goes (cmk-audit-speed)"
    timeout "$LIMIT" "$AUDIT_SPEED" "$OUT" json >"$out"
    rc=$?
    grep -v '^{' "$out"
    grep '^{' "$out" >>"$RESULTS"
    [ $rc -eq 0 ] || die "cmk-audit-speed failed (exit $rc)"
}

main() {
    local strict=() rc=0
    check_tools
    trap 'rm -rf ${TMP_OUT:+"$TMP_OUT"} ${MEMDIR:+"$MEMDIR"}' EXIT
    setup_out
    setup_memdir
    echo "== cmk-bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    describe_build
    describe_machine
    make_configs
    make_softhsm
    run_all
    audit_parts
    if [ -f "$OUT/audit.jsonl" ]; then
        echo "audit file: $(wc -l <"$OUT/audit.jsonl") records," \
            "$(du -h "$OUT/audit.jsonl" | cut -f1)"
    fi
    [ "${BENCH_STRICT:-0}" = 1 ] && strict=(--strict)
    /usr/bin/python3 "$top_srcdir/tests/bench/summary.py" "${strict[@]}" \
        "$RESULTS" || rc=1
    if [ "${BENCH_CURVES:-1}" = 1 ]; then
        echo "== cost curves (tests/bench/curves.sh): $(date -u +%H:%M:%S)"
        CMK_MODULE=$MODULE SOFTHSM_MODULE=$SOFTHSM_MODULE \
            CURVES_OUT=${CURVES_OUT:-$top_builddir/bench-curves} \
            bash "$top_srcdir/tests/bench/curves.sh"
        case $? in
        0) ;;
        1) [ "${BENCH_STRICT:-0}" = 1 ] && rc=1 ;; # a limit, as targets
        *) rc=1 ;;                                  # a curve script failed
        esac
    fi
    return $rc
}

main "$@"
