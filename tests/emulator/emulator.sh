# SPDX-License-Identifier: Apache-2.0
# KMS emulator support: shell functions sourced by tests to start, drive and
# stop the emulator (POSIX sh; needs curl, and openssl for --tls).
#
#   EMU_HOME=/path/to/tests/emulator   (default: $top_srcdir/tests/emulator)
#   . "$EMU_HOME/emulator.sh"
#   emu_require || exit $?            # 77 (99 when CI=true) without python3
#                                     # + cryptography, curl or openssl
#   emulator_start DIR [--tls]        # exports EMU_PORT EMU_URL EMU_PID
#                                     # EMU_HTTP_URL EMU_HTTPS_URL EMU_CA
#                                     # EMU_DIR
#   emu_ctl create_key '{"alias":"alias/t1"}'
#   emulator_stop
#
# EMU_URL is the HTTPS URL when started with --tls, else the HTTP one; the
# same process serves both, and the control API is on either.

: "${EMU_HOME:=${top_srcdir:-.}/tests/emulator}"
: "${EMU_PYTHON:=/usr/bin/python3}"

# Exit status for a missing prerequisite: skip, or hard error under CI.
emu_skip_status() {
	if [ "${CI:-}" = true ]; then echo 99; else echo 77; fi
}

emu_require() {
	if ! "$EMU_PYTHON" -c 'import cryptography.hazmat.primitives.ciphers.aead' \
		2>/dev/null; then
		echo "SKIP: $EMU_PYTHON with python3-cryptography is missing" >&2
		return "$(emu_skip_status)"
	fi
	for tool in curl openssl; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "SKIP: $tool is missing" >&2
			return "$(emu_skip_status)"
		fi
	done
	return 0
}

emulator_start() {
	EMU_DIR=${1:?emulator_start DIR [--tls]}
	_emu_tls=
	EMU_CA=
	mkdir -p "$EMU_DIR" || return 1
	if [ "${2:-}" = --tls ]; then
		sh "$EMU_HOME/make_ca.sh" "$EMU_DIR/pki" || return 1
		EMU_CA=$EMU_DIR/pki/ca.pem
		_emu_tls="--tls-cert $EMU_DIR/pki/server.pem --tls-key $EMU_DIR/pki/server.key"
	fi
	rm -f "$EMU_DIR/ready"
	# shellcheck disable=SC2086
	"$EMU_PYTHON" "$EMU_HOME/kms_emulator.py" --state-dir "$EMU_DIR" \
		--ready-file "$EMU_DIR/ready" $_emu_tls ${EMU_ARGS:-} \
		>>"$EMU_DIR/emulator.log" 2>&1 &
	EMU_PID=$!
	_emu_i=0
	while [ ! -s "$EMU_DIR/ready" ]; do
		if ! kill -0 "$EMU_PID" 2>/dev/null || [ $_emu_i -ge 100 ]; then
			echo "kms emulator did not start:" >&2
			cat "$EMU_DIR/emulator.log" >&2
			kill "$EMU_PID" 2>/dev/null
			return 1
		fi
		sleep 0.1
		_emu_i=$((_emu_i + 1))
	done
	_emu_port=$(sed -n 's/^port=//p' "$EMU_DIR/ready")
	_emu_tls_port=$(sed -n 's/^tls_port=//p' "$EMU_DIR/ready")
	EMU_HTTP_URL=http://127.0.0.1:$_emu_port
	EMU_HTTPS_URL=
	EMU_PORT=$_emu_port
	EMU_URL=$EMU_HTTP_URL
	if [ -n "$_emu_tls" ]; then
		EMU_HTTPS_URL=https://127.0.0.1:$_emu_tls_port
		EMU_PORT=$_emu_tls_port
		EMU_URL=$EMU_HTTPS_URL
	fi
	export EMU_DIR EMU_PID EMU_PORT EMU_URL EMU_HTTP_URL EMU_HTTPS_URL EMU_CA
}

emulator_stop() {
	[ -n "${EMU_PID:-}" ] || return 0
	kill -TERM "$EMU_PID" 2>/dev/null
	_emu_i=0
	while kill -0 "$EMU_PID" 2>/dev/null && [ $_emu_i -lt 50 ]; do
		sleep 0.1
		_emu_i=$((_emu_i + 1))
	done
	kill -KILL "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=
}

# emu_ctl COMMAND [JSON]: POST to the control API, print the JSON answer;
# non-zero status (answer still printed) when the emulator refuses.
emu_ctl() {
	curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' \
		--data "${2:-{\}}" "$EMU_HTTP_URL/_emulator/$1"
}

# aws_env_isolate HOME_DIR: none of the caller's AWS settings reach the
# module or the AWS CLI (the tests name their own credentials), no
# instance metadata is asked, and HOME is the test's own directory.
aws_env_isolate() {
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
		AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE \
		AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
		AWS_CONTAINER_CREDENTIALS_FULL_URI
	export AWS_EC2_METADATA_DISABLED=true HOME="$1"
}

# emu_count OP: how many calls of OP the emulator has logged.
emu_count() {
	"$EMU_PYTHON" -c 'import json,sys
n = 0
for line in open(sys.argv[1]):
    n += json.loads(line)["op"] == sys.argv[2]
print(n)' "$EMU_DIR/calls.jsonl" "$1"
}
