# SPDX-License-Identifier: Apache-2.0
# tests/integration: shell helpers shared by the integration and interop
# tests. Finds the module and cmk-tool, makes a private temp dir, builds
# tenant configs through cmk-tool, and runs client programs (preloading
# libasan when the module is built with sanitizers).
#
# make check passes top_builddir, CMK_MODULE and CMK_TOOL (tests/tests.mk).
# Run by hand, set top_builddir (or CMK_BUILD_DIR) to the build directory:
# the module is then looked for in the object directory its libtool
# script names.
#
# Source it from bash:   . "$(dirname "$0")/lib.sh"
# Or run it to make a config for another language's test:
#   bash lib.sh mkconfig DIR LABEL:PIN[:test] ...   (prints the config path)
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error. Under
# CI=true a missing tool is a hard error, never a silent skip.

CMK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$CMK_LIB_DIR/../.." && pwd)}"
: "${top_builddir:=${CMK_BUILD_DIR:-$top_srcdir}}"
# libtool's object directory in the build (make check passes CMK_OBJDIR).
cmk_objdir() {
    if [ -n "${CMK_OBJDIR:-}" ]; then
        echo "$CMK_OBJDIR"
    else
        sed -n 's/^objdir=//p' "$top_builddir/libtool" 2>/dev/null | head -n 1
    fi
}
CMK_MODULE=${CMK_MODULE:-$top_builddir/$(cmk_objdir)/cmk-pkcs11.so}
CMK_TOOL=${CMK_TOOL:-$top_builddir/cmk-tool}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
CMK_PYTHON=${CMK_PYTHON:-/usr/bin/python3}
CMK_TENANTS=""
CMK_LABELS=""

cmk_skip() {
    echo "SKIP: $*"
    exit 77
}

cmk_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

cmk_error() {
    echo "ERROR: $*" >&2
    exit 99
}

# A missing prerequisite: skip, but under CI a hard error.
cmk_missing() {
    if [ "${CI:-}" = true ]; then
        cmk_error "$* (required when CI=true)"
    fi
    cmk_skip "$*"
}

cmk_need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || cmk_missing "$t is not installed"
    done
}

# $CMK_PYTHON with PyKCS11 importable.
cmk_need_pykcs11() {
    [ -x "$CMK_PYTHON" ] || cmk_missing "$CMK_PYTHON is not installed"
    "$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
        cmk_missing "PyKCS11 not importable (apt-get install python3-pykcs11)"
}

cmk_need_module() {
    [ -f "$CMK_MODULE" ] || cmk_missing "module not built: $CMK_MODULE"
    [ -x "$CMK_TOOL" ] || cmk_missing "cmk-tool not built: $CMK_TOOL"
}

# True when the module carries ASan (make check sets CMK_ASAN_PRELOAD):
# uninstrumented hosts need libasan preloaded, and some cannot run so.
cmk_sanitized() {
    [ -n "${CMK_ASAN_PRELOAD:-}" ]
}

# Runs a client program (pkcs11-tool, python3, p11tool, java) against the
# module, under a timeout so a hang fails the test instead of the CI run.
# With a sanitizer build, CMK_ASAN_PRELOAD (libasan, libstdc++) goes first
# into the uninstrumented host; leak checks are off because the host's own
# allocations are not ours to judge.
cmk_host() {
    local t=${CMK_HOST_TIMEOUT:-120}
    if cmk_sanitized; then
        timeout -k 10 "$t" env \
            LD_PRELOAD="$CMK_ASAN_PRELOAD${LD_PRELOAD:+ $LD_PRELOAD}" \
            ASAN_OPTIONS="detect_leaks=0:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
            "$@"
    else
        timeout -k 10 "$t" "$@"
    fi
}

# Private temp dir, removed on exit (kept with CMK_KEEP_TMP=1).
cmk_tmpdir() {
    CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmk-test.XXXXXX") ||
        cmk_error "mktemp failed"
    if [ "${CMK_KEEP_TMP:-0}" = 1 ]; then
        trap 'echo "kept $CMK_TMP"' EXIT
    else
        trap 'rm -rf "$CMK_TMP"' EXIT
    fi
}

# cmk_tenant DIR LABEL PIN [EXTRA]: makes DIR/LABEL.key (0600) and a PIN
# verifier with cmk-tool, and adds the tenant to the config being built.
# EXTRA is appended inside the tenant object, e.g. ', "test_mode": true'.
# The verifier has the minimum cost, which only test_mode tenants accept:
# test_mode is added unless EXTRA sets it.
cmk_tenant() {
    local dir=$1 label=$2 pin=$3 extra=${4:-} verifier obj
    case $extra in
    *'"test_mode"'*) ;;
    *) extra="$extra, \"test_mode\": true" ;;
    esac
    "$CMK_TOOL" local-key --out "$dir/$label.key" >/dev/null ||
        cmk_error "cmk-tool local-key failed for $label"
    verifier=$(printf '%s\n' "$pin" | "$CMK_TOOL" pin-hash --cost min) ||
        cmk_error "cmk-tool pin-hash failed for $label"
    obj=$(printf '{"label": "%s", "provider": "local", "key": "%s", "pin_verifier": "%s"%s}' \
        "$label" "$dir/$label.key" "$verifier" "$extra")
    CMK_TENANTS="${CMK_TENANTS:+$CMK_TENANTS,
    }$obj"
    CMK_LABELS="$CMK_LABELS $label"
}

# cmk_write_config FILE STORE_DIR: writes the tenants added so far.
cmk_write_config() {
    printf '{\n  "version": 1,\n  "store_dir": "%s",\n  "tenants": [\n    %s\n  ]\n}\n' \
        "$2" "$CMK_TENANTS" >"$1" || cmk_error "cannot write $1"
}

# cmk_provision CONFIG LABEL [ARGS...]: creates the tenant KEK and writes
# it into CONFIG.
cmk_provision() {
    local cfg=$1 label=$2
    shift 2
    "$CMK_TOOL" provision --config "$cfg" --tenant "$label" --write "$@" \
        >/dev/null || cmk_error "cmk-tool provision failed for $label"
}

# cmk_config DIR LABEL:PIN[:test]...: tenants on the local provider in DIR,
# each provisioned, store in DIR/store. Sets and exports CMK_PKCS11_CONFIG.
cmk_config() {
    local dir=$1 spec label pin mode extra
    shift
    CMK_TENANTS=""
    CMK_LABELS=""
    for spec in "$@"; do
        IFS=: read -r label pin mode <<<"$spec"
        extra=""
        [ "$mode" = test ] && extra=', "test_mode": true'
        cmk_tenant "$dir" "$label" "$pin" "$extra"
    done
    cmk_write_config "$dir/config.json" "$dir/store"
    for label in $CMK_LABELS; do
        cmk_provision "$dir/config.json" "$label"
    done
    CMK_PKCS11_CONFIG=$dir/config.json
    export CMK_PKCS11_CONFIG
}

# Hex of a file, one line.
cmk_hex() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

# cmk_expect RC CMD...: runs CMD with its output in $T/out and $T/err ($T:
# the test's scratch directory); any exit status but RC fails the test,
# showing both.
cmk_expect() {
    local want=$1 rc
    shift
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$T/out" "$T/err" >&2
        cmk_fail "$*: exit $rc, expected $want"
    fi
}

# cmk_expect_fail WHAT CKR_NAME CMD...: CMD must fail and print CKR_NAME.
cmk_expect_fail() {
    local what=$1 ckr=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        echo "$out" >&2
        cmk_fail "$what: succeeded, expected $ckr"
    fi
    case $out in
    *"$ckr"*) echo "ok: $what -> $ckr" ;;
    *)
        echo "$out" >&2
        cmk_fail "$what: failed without $ckr"
        ;;
    esac
}

# cmk_clean_run NAME DIR [VAR=VALUE...] -- CMD...: one case of a
# credential test: CMD under exactly these variables and the suite's own
# (env -i: nothing else inherited), HOME DIR/home, CMK_PKCS11_CONFIG
# DIR/config.json, the debug log on; its output in DIR/out, printed, then
# "ok: NAME", or "FAIL: NAME" with NAME added to FAILED.
cmk_clean_run() {
    local name=$1 dir=$2 rc vars=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        vars+=("$1")
        shift
    done
    shift
    echo "== $name"
    timeout -k 5 60 env -i PATH=/usr/bin:/bin HOME="$dir/home" \
        LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" CI="${CI:-}" \
        top_srcdir="$top_srcdir" top_builddir="$top_builddir" \
        CMK_MODULE="$CMK_MODULE" CMK_TOOL="$CMK_TOOL" \
        ${CMK_ASAN_PRELOAD:+CMK_ASAN_PRELOAD="$CMK_ASAN_PRELOAD"} \
        CMK_PKCS11_CONFIG="$dir/config.json" CMK_PKCS11_DEBUG=1 \
        EMU_HTTP_URL="$EMU_HTTP_URL" "${vars[@]}" "$@" >"$dir/out" 2>&1
    rc=$?
    cat "$dir/out"
    if [ $rc = 0 ]; then
        echo "ok: $name"
    else
        echo "FAIL: $name (exit $rc)"
        FAILED="${FAILED:-} $name"
    fi
}

# cmk_no_leak SECRETS DIR: no line of the file SECRETS in any DIR/*/out
# (what cmk_clean_run's cases printed); each case that shows one is added
# to FAILED as leak:NAME.
cmk_no_leak() {
    local out
    for out in "$2"/*/out; do
        if grep -F -f "$1" "$out" >/dev/null; then
            FAILED="${FAILED:-} leak:$(basename "$(dirname "$out")")"
            echo "FAIL: a secret appears in the output of $out"
        fi
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    case ${1:-} in
    mkconfig)
        shift
        [ $# -ge 2 ] || cmk_error "usage: lib.sh mkconfig DIR LABEL:PIN[:test]..."
        cmk_config "$@"
        echo "$CMK_PKCS11_CONFIG"
        ;;
    *)
        cmk_error "usage: lib.sh mkconfig DIR LABEL:PIN[:test]..."
        ;;
    esac
fi
