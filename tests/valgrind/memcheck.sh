#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests: the LOG_COMPILER of make check-memcheck. Runs one test under
# valgrind's memcheck: a test program directly; a script (emu_*.sh) with
# CMK_MEMCHECK naming this file, so that it runs its C program through it.
# CMK_MEMCHECK also tells the unit tests they run under valgrind.
#
# valgrind writes one log per process; any error in them fails the test
# (exit 1): invalid accesses, uninitialised values, bad frees, and memory
# definitely or indirectly lost by the test's process. Memory a forked
# child loses is not counted: the child inherits the module's state and
# abandons it by design instead of freeing it (core/module.c
# atfork_child, the audit writer's child handler); errors of any other
# kind in a child count. Suppressions (third-party libraries only):
# tests/valgrind/memcheck.supp.
#
# Usage: memcheck.sh PROGRAM [ARGS...]   Exit: the test's own status, or
# 1 when valgrind found an error, 99 when valgrind is missing.
# CMK_TEST_TIMEOUT=SECONDS stops a test that hangs (it then fails).
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || {
    echo "usage: memcheck.sh PROGRAM [ARGS...]" >&2
    exit 99
}
CMK_MEMCHECK=$here/memcheck.sh
export CMK_MEMCHECK
if [ "$(head -c 4 "$1" 2>/dev/null | tail -c 3)" != ELF ]; then
    exec "$@" # a script: its C program comes back here
fi
command -v valgrind >/dev/null 2>&1 || {
    echo "ERROR: valgrind is not installed (make check-memcheck needs it)"
    exit 99
}
logs=$(mktemp -d "${TMPDIR:-/tmp}/cmk-memcheck-XXXXXX") || exit 99
trap 'rm -rf "$logs"' EXIT
# The shell writes its pid, then becomes valgrind, which runs the test in
# the same process: that pid names the test's own log. CMK_TEST_TIMEOUT
# (seconds) bounds the run.
${CMK_TEST_TIMEOUT:+timeout -k 10 "$CMK_TEST_TIMEOUT"} \
    sh -c 'echo $$ >"$0/main.pid" && exec "$@"' "$logs" \
    valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --num-callers=30 \
    --suppressions="$here/memcheck.supp" --log-file="$logs/vg.%p" "$@"
rc=$?
pid=$(cat "$logs/main.pid" 2>/dev/null) || {
    echo "memcheck: valgrind did not start"
    exit 99
}

# A child's log without its lost-memory records (records are separated
# by a bare "==PID== " line).
drop_leaks() {
    awk '
    /^==[0-9]+== $/ { if (!leak) printf "%s", rec; rec = ""; leak = 0; next }
    rec == "" && / are (definitely|indirectly) lost in loss record / {
        leak = 1
    }
    { rec = rec $0 "\n" }
    END { if (!leak) printf "%s", rec }' "$1"
}

bad=0
for log in "$logs"/vg.*; do
    case ${log##*/vg.} in
    *[!0-9]*) continue ;; # a core file valgrind wrote for a crashing child
    esac
    [ -s "$log" ] || continue
    if [ "$log" = "$logs/vg.$pid" ]; then
        kept=$(cat "$log")
    else
        kept=$(drop_leaks "$log")
    fi
    [ -n "$kept" ] || continue
    echo "memcheck: errors in ${log##*/vg.}$([ "$log" = "$logs/vg.$pid" ] ||
        echo ' (a forked child)'):"
    printf '%s\n' "$kept"
    bad=1
done
if [ $bad = 1 ] && { [ $rc = 0 ] || [ $rc = 77 ]; }; then
    rc=1
fi
exit $rc
