#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: the README's demo (scripts/demo.sh) on the built module,
# in a private directory, so a change that breaks the walkthrough fails
# make check and not only a newcomer's first command.
set -u
. "$(dirname "$0")/lib.sh"

cmk_need_module
command -v pkcs11-tool >/dev/null 2>&1 ||
    cmk_missing "pkcs11-tool not installed (Debian package opensc)"
cmk_tmpdir
out=$(BUILD_DIR=$top_builddir MODULE=$CMK_MODULE DEMO_OUT="$CMK_TMP/demo" \
    cmk_host bash "$top_srcdir/scripts/demo.sh" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || cmk_fail "the demo failed (exit $rc)"
grep -q 'Demo finished: every step behaved as expected' <<<"$out" ||
    cmk_fail "the demo did not reach its end"
echo "PASS"
exit 0
