#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs one unit test program with the KMS emulator up (HTTP and HTTPS).
# The program finds it through EMU_HTTP_URL, EMU_HTTPS_URL, EMU_CA and
# EMU_DIR; EMU_WRONG_CA is a CA that did not sign the emulator's
# certificate. Exit 77 (99 under CI=true) without python3-cryptography,
# curl or openssl.
#
# Usage: emu-run.sh PROGRAM   (a name under $top_builddir/tests/unit)
prog=${1:?usage: emu-run.sh PROGRAM}
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
emu_require || exit $?

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cmk-emu-XXXXXX") || exit 99
cleanup() {
	emulator_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' INT TERM

emulator_start "$tmp/emu" --tls || exit 99
sh "$EMU_HOME/make_ca.sh" "$tmp/other" >/dev/null 2>&1 || exit 99
EMU_WRONG_CA=$tmp/other/ca.pem
CMK_TEST_TMP=$tmp
export EMU_WRONG_CA CMK_TEST_TMP

# Under make check-memcheck, through valgrind (tests/valgrind/memcheck.sh).
${CMK_MEMCHECK:+sh "$CMK_MEMCHECK"} "$top_builddir/tests/unit/$prog"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
	echo "--- emulator log (tail)" >&2
	tail -n 20 "$EMU_DIR/emulator.log" >&2
fi
exit $rc
