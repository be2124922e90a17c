#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/bench: shell functions of the cost curves that run cmk-curve
# (curve_cache.sh, curve_miss.sh, curve_wrap.sh): a scratch directory,
# tenants on the local provider and on the aws provider against the KMS
# emulator, and one cmk-curve run whose JSON line goes to a results file.
#
# Environment (from curves.sh): top_srcdir, top_builddir, CMK_MODULE,
# CURVES_OUT, CURVES_QUICK.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${CURVES_OUT:?CURVES_OUT must name a directory}"
CURVE=$top_builddir/cmk-curve
TOOL=$top_builddir/cmk-tool
MODULE=${CMK_MODULE:-$top_builddir/$(sed -n 's/^objdir=//p' \
    "$top_builddir/libtool" 2>/dev/null | head -n 1)/cmk-pkcs11.so}
PY=/usr/bin/python3
DATA=$top_srcdir/tests/bench/curve_data.py
PIN=1234
TENANT=bench
QUICK=${CURVES_QUICK:-0}
RUNS=3
[ "$QUICK" = 1 ] && RUNS=1
EMU_PID=

die() {
    echo "bench: $*" >&2
    exit 1
}

curve_cleanup() {
    [ -n "${EMU_PID:-}" ] && emulator_stop
    [ -n "${WORK:-}" ] && rm -rf "$WORK"
}

# A private scratch directory (keys, configs, blobs), removed on exit.
curve_setup() {
    [ -x "$CURVE" ] || die "not built: $CURVE"
    [ -x "$TOOL" ] || die "not built: $TOOL"
    [ -f "$MODULE" ] || die "not built: $MODULE"
    [ -x "$PY" ] || die "$PY missing"
    mkdir -p "$CURVES_OUT" || die "cannot make $CURVES_OUT"
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/cmk-curve.XXXXXX") || die "mktemp"
    trap curve_cleanup EXIT
    chmod 700 "$WORK"
    mkdir -m 700 "$WORK/store" || die "mkdir store"
    RESULTS=$WORK/results.jsonl
    : >"$RESULTS"
    VERIFIER=$(echo "$PIN" | "$TOOL" pin-hash --cost min) ||
        die "cmk-tool pin-hash failed"
}

# curve_config FILE TTL MAX_ENTRIES TENANT_MEMBERS: one tenant, audit off.
curve_config() {
    cat >"$1" <<EOF || die "cannot write $1"
{
  "version": 1,
  "store_dir": "$WORK/store",
  "cache": {"ttl_seconds": $2, "max_entries": $3},
  "health": {"breaker": false},
  "http": {"connect_timeout_ms": 2000, "timeout_ms": 20000, "max_attempts": 1},
  "tenants": [
    {"label": "$TENANT", "test_mode": true, "pin_verifier": "$VERIFIER",
     $4$KEK_MEMBERS}
  ]
}
EOF
}

# curve_provision TENANT_MEMBERS: makes the tenant's KEK once; later
# configs share it (KEK_MEMBERS).
curve_provision() {
    local p=$WORK/provision.json
    KEK_MEMBERS=""
    curve_config "$p" 300 4096 "$1"
    "$TOOL" provision --config "$p" --tenant "$TENANT" --write >/dev/null ||
        die "cmk-tool provision failed"
    KEK_MEMBERS=$("$PY" -c 'import json,sys
t = json.load(open(sys.argv[1]))["tenants"][0]
print(", \"kek\": \"%s\", \"kek_commitment\": \"%s\"" %
      (t["kek"], t["kek_commitment"]))' "$p") || die "no KEK in $p"
}

curve_local_tenant() {
    "$TOOL" local-key --out "$WORK/$TENANT.key" >/dev/null ||
        die "cmk-tool local-key failed"
    LOCAL_MEMBERS="\"provider\": \"local\", \"key\": \"$WORK/$TENANT.key\""
    curve_provision "$LOCAL_MEMBERS"
}

# The KMS emulator (plain HTTP on loopback) with one key and credentials,
# and the aws tenant's members (AWS_MEMBERS).
curve_aws_tenant() {
    EMU_HOME=$top_srcdir/tests/emulator
    # shellcheck source=/dev/null
    . "$EMU_HOME/emulator.sh"
    emu_require >/dev/null 2>&1 || die "the KMS emulator cannot run here"
    emulator_start "$WORK/emu" || die "the KMS emulator did not start"
    emu_ctl add_credentials \
        '{"access_key_id":"AKIDCURVE","secret":"curve-secret"}' >/dev/null ||
        die "emulator add_credentials"
    emu_ctl create_key '{"alias":"alias/curve"}' >/dev/null ||
        die "emulator create_key"
    (umask 077 && printf '{"access_key_id": "AKIDCURVE", %s}\n' \
        '"secret_access_key": "curve-secret"' >"$WORK/aws-creds.json") ||
        die "credentials file"
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
        AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
        AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
        AWS_CONTAINER_CREDENTIALS_FULL_URI
    export AWS_EC2_METADATA_DISABLED=true
    AWS_MEMBERS="\"provider\": \"aws\", \"key\": \"alias/curve\","
    AWS_MEMBERS="$AWS_MEMBERS \"region\": \"us-east-1\","
    AWS_MEMBERS="$AWS_MEMBERS \"endpoint\": \"$EMU_HTTP_URL/\","
    AWS_MEMBERS="$AWS_MEMBERS \"aws\": {\"credentials_file\": \"$WORK/aws-creds.json\"}"
    curve_provision "$AWS_MEMBERS"
}

# curve_latency MS OP...: the emulator delays each listed operation by MS.
curve_latency() {
    local ms=$1 ops
    shift
    ops=$(printf '"%s",' "$@")
    emu_ctl faults "{\"latency_ms\": $ms, \"for_ops\": [${ops%,}]}" \
        >/dev/null || die "emulator faults"
}

# curve_drv CONFIG LIMIT_S TAGS CMD ARGS...: one cmk-curve run; its JSON
# line, with TAGS (JSON members, e.g. "x": 8, "run": 1) added, goes to
# $RESULTS and to $LAST.
curve_drv() {
    local cfg=$1 limit=$2 tags=$3 cmd=$4 out rc
    shift 4
    out=$WORK/drv-out.txt
    CMK_PKCS11_CONFIG=$cfg timeout "$limit" "$CURVE" "$cmd" \
        --module "$MODULE" --token-label "$TENANT" --pin "$PIN" "$@" \
        >"$out" 2>"$WORK/drv-err.txt"
    rc=$?
    [ $rc -ne 124 ] || die "cmk-curve $cmd timed out after $limit s"
    [ $rc -eq 0 ] || die "cmk-curve $cmd $* failed: $(cat "$WORK/drv-err.txt")"
    LAST=$(grep '^{' "$out" | tail -n 1)
    [ -n "$LAST" ] || die "cmk-curve $cmd printed nothing"
    LAST="{$tags, ${LAST#\{}"
    echo "$LAST" >>"$RESULTS"
}
