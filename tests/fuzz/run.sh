#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/fuzz: the fuzzing campaign behind `make fuzz` (tests/fuzz/README.md).
# Runs each libFuzzer target for FUZZ_SECONDS, FUZZ_JOBS targets at a
# time, starting from the committed corpus. New corpus entries go to
# FUZZ_OUT/corpus/NAME, crash reproducers to FUZZ_OUT/crashes/NAME, output
# to FUZZ_OUT/logs/NAME.log; the committed corpus is only read. Ends with
# one line per target and exits 1 if any target found a crash.
#
#   run.sh SRCDIR BUILDDIR
#   (FUZZ_SECONDS, FUZZ_JOBS, FUZZ_TARGETS, FUZZ_OUT from the environment)
set -uo pipefail

SRC=$1
BUILD=$2
SECONDS_EACH=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-2}
OUT=${FUZZ_OUT:-$BUILD/fuzz-out}
TARGETS=${FUZZ_TARGETS:-}

if [ -z "$TARGETS" ]; then
    echo "run.sh: no targets (FUZZ_TARGETS)" >&2
    exit 2
fi

# one NAME: a libFuzzer run; prints "NAME: ..." when it is over.
one() {
    local name=$1 bin=$BUILD/tests/fuzz/fuzz_$1 rc=0 crashes
    mkdir -p "$OUT/corpus/$name" "$OUT/crashes/$name" "$OUT/logs" || return 1
    # -close_fd_mask=2: the module's refusals on stderr would drown the
    # log; libFuzzer keeps its own and the sanitizers' reports.
    "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=30 \
        -rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1 \
        -artifact_prefix="$OUT/crashes/$name/" \
        "$OUT/corpus/$name" "$SRC/tests/fuzz/corpus/$name" \
        >"$OUT/logs/$name.log" 2>&1 || rc=$?
    crashes=$(find "$OUT/crashes/$name" -type f | wc -l)
    printf '%s: exit %d, %s, %d new corpus files, %d crash files\n' \
        "$name" "$rc" \
        "$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' \
            "$OUT/logs/$name.log" | tr -s ' ' | sed 's/.*: /runs /')" \
        "$(find "$OUT/corpus/$name" -type f | wc -l)" "$crashes"
}
export -f one
export SRC BUILD SECONDS_EACH OUT

echo "fuzz: $SECONDS_EACH s per target, $JOBS at a time, output in $OUT"
summary=$(printf '%s\n' $TARGETS | xargs -P "$JOBS" -I{} bash -c 'one {}')
printf '%s\n' "$summary" | sort
if printf '%s\n' "$summary" | grep -qv ' 0 crash files$'; then
    echo "fuzz: crashes found (reproduce: tests/fuzz/replay_NAME FILE)"
    exit 1
fi
echo "fuzz: no crashes"
