#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: the tenant cost curve (run by curves.sh). For 1, 100, 1 000
# and 10 000 tenants in one config (local provider), cmk-grow times
# C_Initialize (config load and one token per tenant), C_GetSlotList (the
# count call and the fill call), one tenant's session work (open, find,
# close on the last slot), C_Finalize, and the VmRSS C_Initialize adds;
# SoftHSM2 beside it with as many tokens in one tokendir. Writes
# tenants.json (ms), tenants_slots.json (us) and tenants_mem.json (KiB)
# into $CURVES_OUT.
#
# Tenants share one local key file and one PIN verifier. Their "kek" and
# "kek_commitment" are copies of the first tenant's: nothing here unseals
# a KEK (nothing is read before login), but the fields are parsed at
# load, so the config has a real tenant's size. The local provider binds
# the tenant label into the seal, so a copy would not open for another
# tenant at login. SoftHSM2's tokens are copies of one token made by
# softhsm2-util, each given its own label and serial (softhsm2-util
# --init-token reads every token already there: minutes for 10 000).
#
# Environment: as curves.sh gives it (top_srcdir, top_builddir,
# CMK_MODULE, SOFTHSM_MODULE, CURVES_OUT, CURVES_QUICK).
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
RUNS=3
LIMIT=120 # seconds one cmk-grow run may take
if [ "${CURVES_QUICK:-0}" = 1 ]; then
    SIZES="1 100"
else
    SIZES="1 100 1000 10000"
fi

die() {
    echo "curve tenants: $*" >&2
    exit 1
}

setup() {
    [ -x "$GROW" ] || die "not built: $GROW (make cmk-grow)"
    [ -x "$TOOL" ] || die "not built: $TOOL"
    [ -f "$MODULE" ] || die "not built: $MODULE"
    OUT=$(mktemp -d "${TMPDIR:-/tmp}/cmk-curve-tenants.XXXXXX") ||
        die "mktemp"
    trap 'rm -rf "$OUT"' EXIT
    chmod 700 "$OUT"
    RESULTS=$OUT/results.jsonl
    : >"$RESULTS"
}

# One provisioned tenant: its members are every tenant's template.
make_base() {
    local base=$OUT/base.json verifier
    "$TOOL" local-key --out "$OUT/local.key" >/dev/null ||
        die "cmk-tool local-key failed"
    verifier=$(echo "$PIN" | "$TOOL" pin-hash --cost min) ||
        die "cmk-tool pin-hash failed"
    cat >"$base" <<EOF || die "cannot write $base"
{"version": 1, "store_dir": "$OUT/store-base",
 "tenants": [{"label": "t0000000", "provider": "local",
   "key": "$OUT/local.key", "test_mode": true,
   "pin_verifier": "$verifier"}]}
EOF
    "$TOOL" provision --config "$base" --tenant t0000000 --write \
        >/dev/null || die "cmk-tool provision failed"
}

# write_config N: N tenants t0000000.. in $OUT/tenants-N.json, their
# stores under $OUT/store-N.
write_config() {
    mkdir -m 700 "$OUT/store-$1" || die "mkdir store-$1"
    /usr/bin/python3 - "$OUT/base.json" "$1" "$OUT/store-$1" \
        "$OUT/tenants-$1.json" <<'EOF' || die "config for $1 tenants"
import json, sys
base = json.load(open(sys.argv[1]))
n, t0 = int(sys.argv[2]), base["tenants"][0]
base["store_dir"] = sys.argv[3]
base["tenants"] = [dict(t0, label="t%07d" % i) for i in range(n)]
with open(sys.argv[4], "w") as fh:
    json.dump(base, fh, indent=1)
EOF
    chmod 600 "$OUT/tenants-$1.json"
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

run_cmk() {
    local n=$1 i
    write_config "$n"
    export CMK_PKCS11_CONFIG=$OUT/tenants-$n.json
    # The first C_Initialize makes each tenant's store directory and id.
    record cmk "$n" first --module "$MODULE" slots
    for i in $(seq "$RUNS"); do
        record cmk "$n" run --module "$MODULE" slots
    done
    unset CMK_PKCS11_CONFIG
    rm -rf "${OUT:?}/store-$n"
}

# make_softhsm N: a tokendir of N tokens, s0000000.., copies of one.
make_softhsm() {
    local dir=$OUT/softhsm-$1
    mkdir -p "$dir/tokens" || die "mkdir $dir"
    printf '%s\n' "directories.tokendir = $dir/tokens" \
        "objectstore.backend = file" "log.level = ERROR" \
        >"$dir/softhsm2.conf"
    SOFTHSM2_CONF=$dir/softhsm2.conf softhsm2-util --init-token --free \
        --label s0000000 --pin "$PIN" --so-pin 87654321 >/dev/null ||
        die "softhsm2-util --init-token failed"
    /usr/bin/python3 - "$dir/tokens" "$1" <<'EOF' || die "SoftHSM2 copies"
import os, shutil, sys, uuid
top, n = sys.argv[1], int(sys.argv[2])
(first,) = os.listdir(top)
blob = open(os.path.join(top, first, "token.object"), "rb").read()
label = b"s0000000".ljust(32)
serial = first.replace("-", "")[16:].encode()  # the dir name ends in it
assert blob.count(label) == 1 and blob.count(serial) == 1, "token layout"
for i in range(1, n):
    u = uuid.uuid4().hex
    name = "%s-%s-%s-%s-%s" % (u[:8], u[8:12], u[12:16], u[16:20], u[20:])
    d = os.path.join(top, name)
    os.mkdir(d, 0o700)
    data = blob.replace(label, (b"s%07d" % i).ljust(32))
    data = data.replace(serial, u[16:].encode())
    for f in os.listdir(os.path.join(top, first)):
        if f != "token.object":
            shutil.copy(os.path.join(top, first, f), d)
    with open(os.path.join(d, "token.object"), "wb") as fh:
        fh.write(data)
EOF
}

run_softhsm() {
    local n=$1 i
    [ -f "$SOFTHSM_MODULE" ] && command -v softhsm2-util >/dev/null || {
        echo "curve tenants: SoftHSM2 missing: no SoftHSM2 series" >&2
        return 0
    }
    make_softhsm "$n"
    export SOFTHSM2_CONF=$OUT/softhsm-$n/softhsm2.conf
    for i in $(seq "$RUNS"); do
        record softhsm "$n" run --module "$SOFTHSM_MODULE" slots
    done
    unset SOFTHSM2_CONF
    rm -rf "${OUT:?}/softhsm-$n"
}

# write_curve NAME: the curve from its spec (stdin) and the results.
write_curve() {
    cat >"$OUT/$1.spec" || die "cannot write the spec of $1"
    /usr/bin/python3 "$top_srcdir/tests/bench/curve_points.py" "$RESULTS" \
        "$OUT/$1.spec" "$CURVES_OUT/$1.json" || die "cannot write $1.json"
}

write_curves() {
    local lin='"max_exponent": 1.3'
    write_curve tenants <<EOF
{"name": "tenants", "title": "Module start and stop as tenants grow",
 "x": {"label": "tenants (SoftHSM2: tokens)", "log": true},
 "y": {"label": "milliseconds", "log": true},
 "note": "C_Initialize parses the config and builds a token per tenant (local key file read and trust-checked, store id read, cache table, CMK object): linear, ~0.2 ms a tenant; the first one also writes each store id with fsyncs (~2.6 ms a tenant here). C_Finalize frees what C_Initialize built (linear; 690 MB of it at 10 000 tenants). Before the fixes C_Finalize walked every object once per token (x^2) and duplicate checks compared tenants pairwise.",
 "series": [
  {"label": "cmk-pkcs11 C_Initialize", "unit": "ms", "who": "cmk",
   "field": "init_ms", $lin},
  {"label": "cmk-pkcs11 first C_Initialize (makes store ids)", "unit": "ms",
   "who": "cmk", "tag": "first", "field": "init_ms", $lin},
  {"label": "cmk-pkcs11 C_Finalize", "unit": "ms", "who": "cmk",
   "field": "finalize_ms", $lin},
  {"label": "SoftHSM2 C_Initialize", "unit": "ms", "who": "softhsm",
   "field": "init_ms"},
  {"label": "SoftHSM2 C_Finalize", "unit": "ms", "who": "softhsm",
   "field": "finalize_ms"}]}
EOF
    write_curve tenants_slots <<EOF
{"name": "tenants_slots", "title": "Slot list and one tenant's work as tenants grow",
 "x": {"label": "tenants (SoftHSM2: tokens)", "log": true},
 "y": {"label": "microseconds", "log": true},
 "note": "C_GetSlotList's count call is constant, its fill call copies one id per slot (linear). One tenant's C_OpenSession + C_FindObjects + C_CloseSession does not depend on the number of tenants: a search or a session close walks that token's own objects (its roster); before, it walked every tenant's objects (6 us at 1 tenant, 245 us at 10 000). SoftHSM2 lists one extra empty slot.",
 "series": [
  {"label": "cmk-pkcs11 C_GetSlotList (count)", "unit": "us", "who": "cmk",
   "field": "slotlist_count_us", $lin},
  {"label": "cmk-pkcs11 C_GetSlotList (fill)", "unit": "us", "who": "cmk",
   "field": "slotlist_fill_us", $lin},
  {"label": "cmk-pkcs11 open+find+close, last slot", "unit": "us",
   "who": "cmk", "field": "last_slot_us", $lin},
  {"label": "SoftHSM2 C_GetSlotList (count)", "unit": "us",
   "who": "softhsm", "field": "slotlist_count_us"},
  {"label": "SoftHSM2 C_GetSlotList (fill)", "unit": "us", "who": "softhsm",
   "field": "slotlist_fill_us"},
  {"label": "SoftHSM2 open+find+close, last slot", "unit": "us",
   "who": "softhsm", "field": "last_slot_us"}]}
EOF
    write_curve tenants_mem <<EOF
{"name": "tenants_mem", "title": "Resident memory after C_Initialize as tenants grow",
 "x": {"label": "tenants (SoftHSM2: tokens)", "log": true},
 "y": {"label": "KiB (VmRSS after minus before)", "log": true},
 "note": "Linear: about 7 KiB a tenant (its token, store and cache structures). The DEK cache's bucket table starts at 16 buckets and grows with the entries (keys/cache.c); it used to be sized for max_entries (64 KiB a tenant at the default 4096) before any DEK was cached.",
 "series": [
  {"label": "cmk-pkcs11", "unit": "KiB", "who": "cmk", "field": "rss_kb",
   $lin},
  {"label": "SoftHSM2", "unit": "KiB", "who": "softhsm",
   "field": "rss_kb"}]}
EOF
}

main() {
    local n
    setup
    make_base
    for n in $SIZES; do
        echo "tenants: $n ($(date -u +%H:%M:%S))"
        run_cmk "$n"
        run_softhsm "$n"
    done
    write_curves
}

main "$@"
