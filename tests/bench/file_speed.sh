#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench: throughput of cmk-tool encrypt / decrypt on a 1 GiB file beside
# `openssl speed -evp aes-256-gcm -bytes CHUNK` on the same machine. Not a
# test: it prints figures (MB = 10^6 bytes) and exits 0.
#
#   tests/bench/file_speed.sh [BUILD_DIR] [CHUNK...]
#
# BUILD_DIR defaults to the current directory (it must hold cmk-tool);
# chunk sizes default to 65536 1048576 4194304. The tenant is on the
# local provider, KEK path and direct path give the same figures (one
# unwrap per file), no audit file. Each run reads the file from the page
# cache; "to /dev/null" writes to stdout, "to a file" writes OUT on the
# same disk (temporary file, fsync, rename), so it includes the disk.
# `openssl speed` divides by user CPU time unless -elapsed is given: the
# CPU column of cmk-tool (user + system time) is the one to compare with
# it, the wall-clock columns with -elapsed. From 512 KiB chunks on,
# cmk-tool reads ahead on a second thread, so its CPU time exceeds its
# wall-clock time. Figures on a shared machine are indicative only.
set -u
BUILD=${1:-$PWD}
shift || true
CHUNKS=${*:-65536 1048576 4194304}
SIZE=$((1024 * 1024 * 1024))
top_builddir=$(cd "$BUILD" && pwd)
export top_builddir
. "$(dirname "$0")/../integration/lib.sh"
cmk_need_module
cmk_need openssl
cmk_tmpdir
T=$CMK_TMP
# Below $TMPDIR unless FILE_SPEED_DIR names a disk with 2 GiB free.
D=${FILE_SPEED_DIR:-$T}

cmk_config "$T" acme:1234:test >/dev/null
printf '1234\n' >"$T/pin" && chmod 600 "$T/pin"
P=(--config "$T/config.json" --tenant acme --pin-file "$T/pin")
echo "making a 1 GiB file of random bytes in $D ..."
head -c "$SIZE" /dev/urandom >"$D/in" || cmk_error "cannot write $D/in"
cat "$D/in" >/dev/null

# run CMD...: prints "wall_MB/s cpu_MB/s" for SIZE bytes: wall-clock
# time, and the user + system time of CMD (cutime + cstime of this
# (sub)shell, which waits for it; read without a subshell of its own).
cpu_ticks() {
    local st
    read -r -a st <"/proc/$BASHPID/stat"
    TICKS=$((st[15] + st[16]))
}
run() {
    local t0 t1 c0
    t0=$(date +%s.%N)
    cpu_ticks
    c0=$TICKS
    "$@" || cmk_error "failed: $*"
    t1=$(date +%s.%N)
    cpu_ticks
    awk -v s="$SIZE" -v t0="$t0" -v t1="$t1" -v c="$((TICKS - c0))" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {
            printf "%8.0f %8.0f", s / (t1 - t0) / 1e6,
                (c > 0 ? s / (c / hz) / 1e6 : 0) }'
}
enc_null() {
    "$CMK_TOOL" encrypt "${P[@]}" "$@" "$D/in" - >/dev/null
}
dec_null() {
    "$CMK_TOOL" decrypt "${P[@]}" "$D/in.enc" - >/dev/null
}

ossl() {
    openssl speed -evp "$1" -bytes "$2" -seconds 3 $3 2>/dev/null |
        awk -v b="$2" '$NF ~ /k$/ { v = $NF; sub(/k$/, "", v); printf "%8.0f", v / 1000 }'
}

echo
echo "$(nproc) CPUs, $(uname -r), $(openssl version | cut -d' ' -f1-2);" \
    "load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-18s %9s %9s %17s %17s %17s %7s %7s\n' chunk cipher \
    "ossl cpu" "ossl wall" "enc->null w/cpu" "dec->null w/cpu" \
    "enc->file w/cpu" "wall %" "cpu %"
for k in $CHUNKS; do
    "$CMK_TOOL" encrypt "${P[@]}" --chunk "$k" "$D/in" "$D/in.enc" ||
        cmk_error "encrypt"
    o_cpu=$(ossl aes-256-gcm "$k" "")
    o_wall=$(ossl aes-256-gcm "$k" -elapsed)
    e=$(run enc_null --chunk "$k")
    d=$(run dec_null)
    f=$(run "$CMK_TOOL" encrypt "${P[@]}" --chunk "$k" "$D/in" "$D/out.enc")
    rm -f "$D/out.enc"
    pct=$(echo "$e" | awk -v b="$o_cpu" '{ printf "%.0f", 100 * $2 / b }')
    wpct=$(echo "$e" | awk -v b="$o_wall" '{ printf "%.0f", 100 * $1 / b }')
    printf '%-8s %-18s %9s %9s %17s %17s %17s %6s%% %6s%%\n' "$k" aes-256-gcm \
        "$o_cpu" "$o_wall" "$e" "$d" "$f" "$wpct" "$pct"
done
k=${CHUNKS%% *}
x=$(run enc_null --cipher xchacha20-poly1305 --chunk "$k")
printf '%-8s %-18s %9s %9s %17s\n' "$k" xchacha20-poly1305 \
    "$(ossl chacha20-poly1305 "$k" "")" "$(ossl chacha20-poly1305 "$k" -elapsed)" "$x"
rm -f "$D/in" "$D/in.enc"
echo
echo "wall % = cmk-tool encrypt to /dev/null, MB per second of wall-clock time,"
echo "        over openssl's -elapsed figure (throughput: from 512 KiB chunks"
echo "        on a second thread reads the next chunk while one is sealed)."
echo "cpu %  = the same in MB per second of CPU time (both threads) over"
echo "        openssl's CPU figure (the copy out of the page cache is the"
echo "        difference: openssl speed encrypts one buffer that stays cached)."
echo "openssl's chacha20-poly1305 is the IETF construction; cmk-tool's XChaCha20 is libsodium's."
