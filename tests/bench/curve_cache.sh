#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: cost curve "cache" (and "cache_memory"): the direct-path
# unwrap rate when every blob is cached and the memory each cached DEK
# costs, for 1 000, 100 000 and 1 000 000 cached DEKs. cmk-curve gen wraps
# one DEK N times with CKM_CMK_ENVELOPE on the local provider into a blob
# file; cmk-curve hit unwraps every blob once (the cache fill, RSS before
# and after) and then unwraps them in a random order for the timed part.
# SoftHSM2 has no cache: its C_UnwrapKey (RFC 5649, one blob) is measured
# beside it for scale. Medians of 3 runs (a fresh process each).
set -uo pipefail
# shellcheck source=tests/bench/curve_lib.sh
. "$(dirname "$0")/curve_lib.sh"
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

SIZES="1000 100000 1000000"
SECONDS_PER_RUN=2
if [ "$QUICK" = 1 ]; then
    SIZES="1000 10000"
    SECONDS_PER_RUN=0.5
fi

# One process: load the blobs, fill the cache, time the hits.
hit_runs() {
    local n=$1 run cfg=$WORK/cache-$1.json max=$(($1 + $1 / 8 + 16))
    # max_entries above N (nothing is evicted; the config allows 1048576
    # at most), a TTL longer than the run.
    [ $max -gt 1048576 ] && max=1048576
    curve_config "$cfg" 3600 "$max" "$LOCAL_MEMBERS"
    for run in $(seq "$RUNS"); do
        curve_drv "$cfg" 240 "\"x\": $n, \"run\": $run" hit \
            --blobs "$WORK/blobs-$n" --seconds "$SECONDS_PER_RUN"
        echo "  N=$n run $run: $LAST"
    done
}

# SoftHSM2's C_UnwrapKey (RFC 5649 under a token key), which no cache
# changes: cmk-bench kwp_unwrap on a scratch token.
softhsm_runs() {
    local run out
    if [ ! -f "$SOFTHSM_MODULE" ] || ! command -v softhsm2-util >/dev/null; then
        echo "  SoftHSM2 missing: no reference series"
        return 0
    fi
    mkdir -p "$WORK/softhsm/tokens" || die "mkdir softhsm"
    printf '%s\n' "directories.tokendir = $WORK/softhsm/tokens" \
        "objectstore.backend = file" "log.level = ERROR" \
        >"$WORK/softhsm/softhsm2.conf"
    export SOFTHSM2_CONF=$WORK/softhsm/softhsm2.conf
    softhsm2-util --init-token --free --label "$TENANT" --pin "$PIN" \
        --so-pin 87654321 >/dev/null || die "softhsm2-util --init-token failed"
    for run in $(seq "$RUNS"); do
        out=$(timeout 60 "$top_builddir/cmk-bench" --module "$SOFTHSM_MODULE" \
            --token-label "$TENANT" --pin "$PIN" --scenario kwp_unwrap \
            --threads 1 --seconds "$SECONDS_PER_RUN" --label softhsm \
            --json-only) || die "cmk-bench on SoftHSM2 failed"
        echo "$out" | sed "s/^{/{\"softhsm\": true, \"run\": $run, /" \
            >>"$RESULTS"
    done
}

main() {
    local n
    curve_setup
    curve_local_tenant
    curve_config "$WORK/gen.json" 300 4096 "$LOCAL_MEMBERS"
    for n in $SIZES; do
        curve_drv "$WORK/gen.json" 120 "\"x\": $n" gen --count "$n" \
            --blobs "$WORK/blobs-$n"
        echo "  N=$n: $LAST"
        hit_runs "$n"
        rm -f "$WORK/blobs-$n"
    done
    softhsm_runs
    "$PY" "$DATA" cache "$RESULTS" "$CURVES_OUT" || die "curve_data.py cache"
}

main "$@"
