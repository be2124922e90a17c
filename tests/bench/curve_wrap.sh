#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: cost curves "wrap" and "wrap_calls": wraps per second and
# KMS calls per 1000 wraps on the aws provider against the KMS emulator
# with 5 ms latency on Encrypt and Decrypt, at 1, 8 and 32 threads.
# Direct path: C_WrapKey CKM_CMK_ENVELOPE (one KMS Encrypt per wrap). KEK
# path: C_WrapKey RFC 5649 on the CMK object (the KEK, opened by one KMS
# Decrypt when the process starts, then no call). KMS calls are counted in
# the emulator's call log over each timed run. Medians of 3 runs.
set -uo pipefail
# shellcheck source=tests/bench/curve_lib.sh
. "$(dirname "$0")/curve_lib.sh"

LATENCY_MS=5
THREADS="1 8 32"
SECONDS_PER_RUN=3
if [ "$QUICK" = 1 ]; then
    THREADS="1 8"
    SECONDS_PER_RUN=0.5
fi

main() {
    local t run mech tags
    curve_setup
    curve_aws_tenant
    curve_config "$WORK/cache.json" 300 4096 "$AWS_MEMBERS"
    curve_latency "$LATENCY_MS" Encrypt Decrypt
    for mech in direct kwp; do
        for t in $THREADS; do
            for run in $(seq "$RUNS"); do
                tags="\"x\": $t, \"run\": $run, \"latency_ms\": $LATENCY_MS"
                curve_drv "$WORK/cache.json" 120 "$tags" wrap --mech "$mech" \
                    --threads "$t" --seconds "$SECONDS_PER_RUN"
                echo "  $mech threads $t run $run: $LAST"
            done
        done
    done
    "$PY" "$DATA" wrap "$RESULTS" "$EMU_DIR/calls.jsonl" "$CURVES_OUT" ||
        die "curve_data.py wrap"
}

main "$@"
