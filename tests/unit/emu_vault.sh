#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/unit/test_vault under the KMS emulator (TLS), with a second,
# http-only emulator as the active node a standby redirects to
# (EMU_ACTIVE_URL).
: "${top_srcdir:=.}"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
emu_require || exit $?
act=$(mktemp -d "${TMPDIR:-/tmp}/cmk-emu-active-XXXXXX") || exit 99
"$EMU_PYTHON" "$EMU_HOME/kms_emulator.py" --state-dir "$act" \
	--ready-file "$act/ready" >>"$act/emulator.log" 2>&1 &
active_pid=$!
stop_active() {
	kill "$active_pid" 2>/dev/null
	wait "$active_pid" 2>/dev/null
	rm -rf "$act"
}
trap stop_active EXIT
trap 'exit 99' INT TERM
i=0
while [ ! -s "$act/ready" ]; do
	if [ $i -ge 100 ] || ! kill -0 "$active_pid" 2>/dev/null; then
		cat "$act/emulator.log" >&2
		exit 99
	fi
	sleep 0.1
	i=$((i + 1))
done
EMU_ACTIVE_URL=http://127.0.0.1:$(sed -n 's/^port=//p' "$act/ready")
export EMU_ACTIVE_URL
sh "$top_srcdir/tests/unit/emu-run.sh" test_vault
