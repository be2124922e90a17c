#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: the token-object cost curve (run by curves.sh). One tenant
# (local provider) and one SoftHSM2 token grow to 10, 1 000 and 10 000
# token AES keys (cmk-grow create: C_GenerateKey with CKA_TOKEN); at each
# size cmk-grow measures, in a fresh process, the store load (C_Initialize
# + C_Login), C_FindObjects over all of them (Init with a template that
# matches all, Find in batches of 64, Final; the first search and the
# median of seven), C_FindObjects for one CKA_LABEL and the VmRSS the
# load adds; then two processes sharing the
# store: while the first holds it open, the second loads it, makes a key,
# searches everything and destroys the key, and the first searches after
# each change (what seeing the other's objects costs). Writes objects.json,
# objects_shared.json (ms) and objects_mem.json (KiB) into $CURVES_OUT.
#
# Both stores live on tmpfs (/dev/shm, or CURVES_STORE_DIR), so the curve
# shows the modules' work rather than the disk's fsyncs: on this
# machine's ext4 a token key costs ~25 ms of fsyncs to make (our store
# writes the object and twice its manifest, each synced), so 10 000 of them
# would take minutes. A module size whose keys would take more than
# CREATE_BUDGET seconds to make is skipped and said so.
#
# Environment: as curves.sh gives it (top_srcdir, top_builddir,
# CMK_MODULE, SOFTHSM_MODULE, CURVES_OUT, CURVES_QUICK), CURVES_STORE_DIR.
set -uo pipefail

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CURVES_OUT:?CURVES_OUT must name a directory}"
GROW=$top_builddir/cmk-grow
TOOL=$top_builddir/cmk-tool
MODULE=${CMK_MODULE:-$top_builddir/$(sed -n 's/^objdir=//p' \
    "$top_builddir/libtool" 2>/dev/null | head -n 1)/cmk-pkcs11.so}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
PIN=1234
TENANT=objs
RUNS=3
LIMIT=150        # seconds one cmk-grow run may take
CREATE_BUDGET=90 # seconds the keys of one size may take to make
if [ "${CURVES_QUICK:-0}" = 1 ]; then
    SIZES="10 100"
else
    SIZES="10 1000 10000"
fi

die() {
    echo "curve objects: $*" >&2
    exit 1
}

setup() {
    local root=${CURVES_STORE_DIR:-/dev/shm}
    [ -x "$GROW" ] || die "not built: $GROW (make cmk-grow)"
    [ -x "$TOOL" ] || die "not built: $TOOL"
    [ -f "$MODULE" ] || die "not built: $MODULE"
    [ -d "$root" ] && [ -w "$root" ] || root=${TMPDIR:-/tmp}
    OUT=$(mktemp -d "$root/cmk-curve-objects.XXXXXX") || die "mktemp"
    trap 'rm -rf "$OUT"' EXIT
    chmod 700 "$OUT"
    RESULTS=$OUT/results.jsonl
    : >"$RESULTS"
    echo "objects: stores in $OUT ($(df -T "$OUT" | awk 'NR == 2 { print $2 }'))"
}

make_tenant() {
    local verifier
    "$TOOL" local-key --out "$OUT/local.key" >/dev/null ||
        die "cmk-tool local-key failed"
    verifier=$(echo "$PIN" | "$TOOL" pin-hash --cost min) ||
        die "cmk-tool pin-hash failed"
    mkdir -m 700 "$OUT/store" || die "mkdir store"
    cat >"$OUT/config.json" <<EOF || die "cannot write the config"
{"version": 1, "store_dir": "$OUT/store",
 "tenants": [{"label": "$TENANT", "provider": "local",
   "key": "$OUT/local.key", "test_mode": true,
   "pin_verifier": "$verifier"}]}
EOF
    "$TOOL" provision --config "$OUT/config.json" --tenant "$TENANT" \
        --write >/dev/null || die "cmk-tool provision failed"
}

# Returns 1 (and says why) when there is no SoftHSM2 to compare with.
make_softhsm() {
    [ -f "$SOFTHSM_MODULE" ] && command -v softhsm2-util >/dev/null || {
        echo "curve objects: SoftHSM2 missing: no SoftHSM2 series" >&2
        return 1
    }
    mkdir -p "$OUT/softhsm/tokens" || die "mkdir softhsm"
    printf '%s\n' "directories.tokendir = $OUT/softhsm/tokens" \
        "objectstore.backend = file" "log.level = ERROR" \
        >"$OUT/softhsm/softhsm2.conf"
    SOFTHSM2_CONF=$OUT/softhsm/softhsm2.conf softhsm2-util --init-token \
        --free --label "$TENANT" --pin "$PIN" --so-pin 87654321 \
        >/dev/null || die "softhsm2-util --init-token failed"
}

# record WHO N TAG ARGS...: one cmk-grow run, its line into the results.
record() {
    local who=$1 n=$2 tag=$3 line
    shift 3
    line=$(timeout "$LIMIT" "$GROW" "$@") ||
        die "cmk-grow failed or timed out ($who, $n, $tag: $*)"
    printf '{"who":"%s","n":%s,"tag":"%s","r":%s}\n' "$who" "$n" "$tag" \
        "$line" >>"$RESULTS"
}

# How long the last creation of WHO took per key (ms), 0 before any.
per_key_ms() {
    /usr/bin/python3 -c 'import json, sys
per = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["who"] == sys.argv[2] and r["tag"] == "create":
        per = r["r"]["total_ms"] / max(r["r"]["created"], 1)
print("%.3f" % per)' "$RESULTS" "$1"
}

# grow WHO N MODULE: WHO's store up to N keys (HAVE_<WHO> of them now),
# then the single-process and the two-process runs at that size.
grow() {
    local who=$1 n=$2 so=$3 have_var=HAVE_$1 have per est i
    local p11=(--module "$so" --token-label "$TENANT" --pin "$PIN")
    have=${!have_var}
    per=$(per_key_ms "$who")
    est=$(awk -v p="$per" -v k=$((n - have)) 'BEGIN { printf "%d", p * k / 1000 }')
    if [ "$est" -gt "$CREATE_BUDGET" ]; then
        echo "objects: $who: $n keys skipped: making $((n - have)) more" \
            "would take ~$est s (${per} ms a key at $have)"
        return 1
    fi
    record "$who" "$n" create "${p11[@]}" create "$have" $((n - have))
    printf -v "$have_var" '%s' "$n"
    for i in $(seq "$RUNS"); do
        record "$who" "$n" run "${p11[@]}" objects \
            "$(printf 'obj-%07d' $((n / 2)))"
    done
    for i in $(seq "$RUNS"); do
        record "$who" "$n" shared "${p11[@]}" shared
    done
}

# write_curve NAME: the curve from its spec (stdin) and the results.
write_curve() {
    cat >"$OUT/$1.spec" || die "cannot write the spec of $1"
    /usr/bin/python3 "$top_srcdir/tests/bench/curve_points.py" "$RESULTS" \
        "$OUT/$1.spec" "$CURVES_OUT/$1.json" || die "cannot write $1.json"
}

write_curves() {
    local lin='"max_exponent": 1.3'
    write_curve objects <<EOF
{"name": "objects", "title": "Token objects in one tenant: load and search",
 "x": {"label": "token objects", "log": true},
 "y": {"label": "milliseconds", "log": true},
 "note": "Store load reads, checks against the manifest and opens every object file (linear); a search walks every object (no index by attribute; the median of 7 searches in one process): ~20 ns an object at 1 000, when the objects fit in the CPU caches, 45-120 ns at 10 000, when each object's struct and attribute list (about 1.6 KB) are cache misses, so the last decade shows more than x^1 with a flat profile; the first search after login, with the caches full of the load, is shown apart, with no limit; making a key rewrites the whole manifest twice (linear in the objects already there). Before the fixes the load was x^2 (manifest lookups and the twin check of each registered object were linear scans) and making a key read a manifest in n^2/2 comparisons.",
 "series": [
  {"label": "cmk-pkcs11 store load (C_Initialize+C_Login)", "unit": "ms",
   "who": "cmk", "field": "load_ms", $lin},
  {"label": "cmk-pkcs11 C_FindObjects all", "unit": "ms", "who": "cmk",
   "field": "find_all_ms", $lin},
  {"label": "cmk-pkcs11 C_FindObjects by label", "unit": "ms", "who": "cmk",
   "field": "find_label_ms", $lin},
  {"label": "cmk-pkcs11 C_FindObjects all, first after login", "unit": "ms",
   "who": "cmk", "field": "find_all_first_ms"},
  {"label": "cmk-pkcs11 C_GenerateKey (token), at that size", "unit": "ms",
   "who": "cmk", "tag": "create", "field": "last_create_ms", $lin},
  {"label": "SoftHSM2 store load (C_Initialize+C_Login)", "unit": "ms",
   "who": "softhsm", "field": "load_ms"},
  {"label": "SoftHSM2 C_FindObjects all", "unit": "ms", "who": "softhsm",
   "field": "find_all_ms"},
  {"label": "SoftHSM2 C_FindObjects by label", "unit": "ms",
   "who": "softhsm", "field": "find_label_ms"},
  {"label": "SoftHSM2 C_FindObjects all, first after login", "unit": "ms",
   "who": "softhsm", "field": "find_all_first_ms"},
  {"label": "SoftHSM2 C_GenerateKey (token), at that size", "unit": "ms",
   "who": "softhsm", "tag": "create", "field": "last_create_ms"}]}
EOF
    write_curve objects_shared <<EOF
{"name": "objects_shared", "title": "Two processes sharing one store",
 "x": {"label": "token objects", "log": true},
 "y": {"label": "milliseconds", "log": true},
 "note": "A second process loads the store the first holds open (linear), makes a key (linear: the manifest) and searches; any change to the manifest makes the other process's next search rescan the whole store (every file read and opened, linear), its own next search too: seeing one new key costs as much as a load.",
 "series": [
  {"label": "cmk-pkcs11 2nd process: load", "unit": "ms", "who": "cmk",
   "tag": "shared", "field": "b_load_ms", $lin},
  {"label": "cmk-pkcs11 2nd: make a key", "unit": "ms", "who": "cmk",
   "tag": "shared", "field": "b_create_ms", $lin},
  {"label": "cmk-pkcs11 2nd: find all after it", "unit": "ms", "who": "cmk",
   "tag": "shared", "field": "b_find_all_ms", $lin},
  {"label": "cmk-pkcs11 1st: find all, sees the key", "unit": "ms",
   "who": "cmk", "tag": "shared", "field": "a_see_create_ms", $lin},
  {"label": "cmk-pkcs11 1st: find all, sees it gone", "unit": "ms",
   "who": "cmk", "tag": "shared", "field": "a_see_destroy_ms", $lin},
  {"label": "SoftHSM2 2nd process: load", "unit": "ms", "who": "softhsm",
   "tag": "shared", "field": "b_load_ms"},
  {"label": "SoftHSM2 2nd: make a key", "unit": "ms", "who": "softhsm",
   "tag": "shared", "field": "b_create_ms"},
  {"label": "SoftHSM2 2nd: find all after it", "unit": "ms",
   "who": "softhsm", "tag": "shared", "field": "b_find_all_ms"},
  {"label": "SoftHSM2 1st: find all, sees the key", "unit": "ms",
   "who": "softhsm", "tag": "shared", "field": "a_see_create_ms"},
  {"label": "SoftHSM2 1st: find all, sees it gone", "unit": "ms",
   "who": "softhsm", "tag": "shared", "field": "a_see_destroy_ms"}]}
EOF
    write_curve objects_mem <<EOF
{"name": "objects_mem", "title": "Resident memory of a loaded store",
 "x": {"label": "token objects", "log": true},
 "y": {"label": "KiB (VmRSS after C_Login minus before C_Initialize)", "log": true},
 "note": "Linear: each loaded object keeps its attributes (the key value in secure memory) and its handle.",
 "series": [
  {"label": "cmk-pkcs11", "unit": "KiB", "who": "cmk", "field": "rss_kb",
   $lin},
  {"label": "SoftHSM2", "unit": "KiB", "who": "softhsm",
   "field": "rss_kb"}]}
EOF
}

main() {
    local n soft=1
    setup
    make_tenant
    make_softhsm || soft=0
    HAVE_cmk=0
    HAVE_softhsm=0
    for n in $SIZES; do
        echo "objects: $n ($(date -u +%H:%M:%S))"
        CMK_PKCS11_CONFIG=$OUT/config.json grow cmk "$n" "$MODULE" || true
        if [ $soft = 1 ]; then
            SOFTHSM2_CONF=$OUT/softhsm/softhsm2.conf \
                grow softhsm "$n" "$SOFTHSM_MODULE" || soft=0
        fi
    done
    write_curves
}

main "$@"
