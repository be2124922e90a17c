#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# man/test_man_drift.sh: the manual pages against the code, both ways
# (man/mancheck.py says how each is read):
#   cmk-tool.1.scd       a "## CMD" section for each command of
#                        cmk-tool --help, naming exactly the options of
#                        cmk-tool CMD --help
#   cmk-pkcs11.json.5.scd  exactly the fields the parsers' known-key
#                        tables accept
#   cmk-pkcs11.8.scd     every #define of include/cmk-pkcs11.h, and under
#                        MECHANISMS exactly what C_GetMechanismList returns
#                        (asked of the built module on a local tenant)
#   README.md            every option its "`cmk-tool` commands:" paragraph
#                        gives a command is in that command's --help
set -euo pipefail
. "$(dirname "$0")/../tests/integration/lib.sh"

cmk_need_module
[ -x "$CMK_PYTHON" ] || cmk_missing "$CMK_PYTHON is not installed"
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "python3-pykcs11 is not installed"
cmk_tmpdir
T=$CMK_TMP
M=$top_srcdir/man
FAILED=""

run() {
    local name=$1
    shift
    echo "== $name"
    if cmk_host "$CMK_PYTHON" "$M/mancheck.py" "$@"; then
        echo "ok: $name"
    else
        echo "FAIL: $name"
        FAILED="$FAILED $name"
    fi
}

run tool tool "$M/cmk-tool.1.scd" "$CMK_TOOL"
run config config "$M/cmk-pkcs11.json.5.scd" "$top_srcdir"
run defines defines "$M/cmk-pkcs11.8.scd" "$top_srcdir/include/cmk-pkcs11.h"
cmk_config "$T" alpha:1234:test
run mechs mechs "$M/cmk-pkcs11.8.scd" "$CMK_MODULE"
run readme readme "$top_srcdir/README.md" "$CMK_TOOL"
[ -z "$FAILED" ] || cmk_fail "drift:$FAILED"
echo "PASS: the manual pages match the code"
