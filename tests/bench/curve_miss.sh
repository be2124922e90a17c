#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: cost curves "miss" and "miss_latency": direct-path unwraps
# that all miss (cache off) on the aws provider against the KMS emulator
# with 5 ms latency on Decrypt, at 1, 2, 8 and 32 threads: KMS calls per
# second and in flight, and what the module adds to the KMS latency (each
# unwrap's time minus the emulator's own time for its Decrypt, matched by
# ciphertext), p50 and p99. Then single flight: N threads unwrapping one
# blob at once make one Decrypt (N = 2, 8, 32), checked: the script fails
# otherwise. Medians of 3 runs (a fresh process each).
set -uo pipefail
# shellcheck source=tests/bench/curve_lib.sh
. "$(dirname "$0")/curve_lib.sh"

LATENCY_MS=5
# Long enough for N threads released by a barrier to meet in one flight
# on a busy machine; each late one would make its own call (cache off).
FLIGHT_LATENCY_MS=100
THREADS="1 2 8 32"
FLIGHTS="2 8 32"
SECONDS_PER_RUN=3
BLOBS=3000
if [ "$QUICK" = 1 ]; then
    THREADS="1 8"
    FLIGHTS="2 8"
    SECONDS_PER_RUN=1
    BLOBS=500
fi

miss_runs() {
    local t run tags
    for t in $THREADS; do
        for run in $(seq "$RUNS"); do
            tags="\"x\": $t, \"run\": $run, \"latency_ms\": $LATENCY_MS,"
            tags="$tags \"blobs\": \"$WORK/blobs\","
            tags="$tags \"op_log\": \"$WORK/ops-$t-$run\""
            curve_drv "$WORK/nocache.json" 120 "$tags" miss \
                --blobs "$WORK/blobs" --threads "$t" \
                --seconds "$SECONDS_PER_RUN" --op-log "$WORK/ops-$t-$run"
            echo "  threads $t run $run: $LAST"
        done
    done
}

# N concurrent misses of one blob (a different blob for each N) = 1 call.
flight_checks() {
    local n idx=0 calls rc=0
    curve_latency "$FLIGHT_LATENCY_MS" Decrypt
    for n in $FLIGHTS; do
        idx=$((idx + 1))
        curve_drv "$WORK/nocache.json" 60 "\"flight\": $n, \"index\": $idx" \
            flight --blobs "$WORK/blobs" --threads "$n" --count "$idx"
        calls=$("$PY" "$DATA" flight "$WORK/blobs" "$LAST" \
            "$EMU_DIR/calls.jsonl") || die "curve_data.py flight"
        if [ "$calls" = 1 ]; then
            echo "single flight: $n concurrent unwraps of one blob," \
                "1 KMS Decrypt: ok"
        else
            echo "single flight: $n concurrent unwraps of one blob," \
                "$calls KMS Decrypts: FAILED (want 1)"
            rc=1
        fi
    done
    return $rc
}

main() {
    local rc=0
    curve_setup
    [ "${CURVE_KEEP:-0}" = 1 ] && trap 'emulator_stop' EXIT
    curve_aws_tenant
    curve_config "$WORK/cache.json" 300 4096 "$AWS_MEMBERS"
    curve_config "$WORK/nocache.json" 0 4096 "$AWS_MEMBERS"
    # The blobs: Encrypt calls without latency.
    curve_drv "$WORK/cache.json" 120 "\"x\": 0" gen --count "$BLOBS" \
        --blobs "$WORK/blobs"
    echo "  $LAST"
    curve_latency "$LATENCY_MS" Decrypt
    miss_runs
    flight_checks || rc=1
    "$PY" "$DATA" miss "$RESULTS" "$EMU_DIR/calls.jsonl" "$CURVES_OUT" ||
        die "curve_data.py miss"
    return $rc
}

main "$@"
