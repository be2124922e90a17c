#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: cmk-tool health --json and --watch on aws tenants against
# the KMS emulator: the exact fields of each tenant's object when healthy,
# disabled, pending deletion, of another key spec, unreachable, and with a
# KEK whose commitment is wrong, missing or absent; the exit codes; two
# --watch rounds around a DisableKey with the tool's cmk_health_changed
# record (verified with cmk-tool audit verify), and SIGINT ending a watch
# at once.
. "$(dirname "$0")/../lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

cmk_need_module
emu_require || exit $?
[ -x "$CMK_PYTHON" ] || cmk_missing "$CMK_PYTHON is not installed"

T=$(mktemp -d "${TMPDIR:-/tmp}/cmk-aws-health.XXXXXX") || cmk_error "mktemp"
WATCH_PID=
cleanup() {
    [ -n "$WATCH_PID" ] && kill -KILL "$WATCH_PID" 2>/dev/null
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
emulator_start "$T/emu" || cmk_error "emulator did not start"
emu_ctl add_credentials \
    '{"access_key_id":"AKIDHEALTH","secret":"health-secret/ABC+1"}' >/dev/null ||
    cmk_error "add_credentials"
key_of() { # ALIAS -> key ARN
    emu_ctl create_key "{\"alias\":\"$1\"}" |
        "$CMK_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["arn"])'
}
ACME=$(key_of alias/health-acme) || cmk_error "create_key"
BETA=$(key_of alias/health-beta) || cmk_error "create_key"
umask 077
printf '{"access_key_id": "AKIDHEALTH", "secret_access_key": "health-secret/ABC+1"}\n' \
    >"$T/creds.json"
aws_env_isolate "$T"

tenant() { # LABEL KEY ENDPOINT
    printf '{"label": "%s", "provider": "aws", "key": "%s", "region": "us-east-1", "endpoint": "%s", "aws": {"credentials_file": "%s"}, "login_required": false}' \
        "$1" "$2" "$3" "$T/creds.json"
}
cfg=$T/config.json
printf '{"store_dir": "%s", "audit": {"file": "%s", "fsync": "none"}, "http": {"connect_timeout_ms": 1000, "timeout_ms": 4000, "max_attempts": 2}, "tenants": [%s, %s]}\n' \
    "$T/store" "$T/audit.jsonl" "$(tenant acme "$ACME" "$EMU_HTTP_URL/")" \
    "$(tenant beta "$BETA" "$EMU_HTTP_URL/")" >"$cfg"
cmk_provision "$cfg" acme
cmk_provision "$cfg" beta

# run RC OUT ARGS...: cmk-tool health ARGS, exit code RC, stdout in OUT.
run() {
    local want=$1 out=$2 rc
    shift 2
    "$CMK_TOOL" health "$@" >"$out" 2>"$T/err"
    rc=$?
    [ "$rc" = "$want" ] ||
        cmk_fail "health $*: exit $rc, expected $want: $(cat "$out" "$T/err")"
}

# check FILE LINE FIELD=JSON...: line LINE (1-based) of FILE is a JSON
# object with exactly the fields of --json, in order, and these values;
# checked_at is RFC 3339 UTC within the last 5 minutes unless given.
check() {
    "$CMK_PYTHON" - "$@" <<'PY' || cmk_fail "health --json: see above"
import datetime, json, sys
path, line, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
lines = open(path).read().splitlines()
obj = json.loads(lines[line - 1])
keys = ["label", "provider", "key", "healthy", "reason", "reason_code",
        "error", "provider_code", "checked_at", "kek"]
if list(obj) != keys:
    sys.exit(print("fields %s, expected %s" % (list(obj), keys)) or 1)
want = {}
for p in pairs:
    k, v = p.split("=", 1)
    want[k] = json.loads(v)
for k, v in want.items():
    if obj[k] != v:
        sys.exit(print("%s: %r, expected %r in %s" % (k, obj[k], v,
                                                       lines[line - 1])) or 1)
if "checked_at" not in want:
    t = datetime.datetime.strptime(obj["checked_at"], "%Y-%m-%dT%H:%M:%SZ")
    age = datetime.datetime.utcnow() - t
    if not datetime.timedelta(seconds=-5) <= age <= datetime.timedelta(minutes=5):
        sys.exit(print("checked_at %s is not now" % obj["checked_at"]) or 1)
PY
}
lines() { # FILE -> number of lines
    wc -l <"$1" | tr -d ' '
}

echo "== healthy"
run 0 "$T/out" --config "$cfg" --json
[ "$(lines "$T/out")" = 2 ] || cmk_fail "expected 2 lines: $(cat "$T/out")"
check "$T/out" 1 label='"acme"' provider='"aws"' key="\"$ACME\"" \
    healthy=true reason=null reason_code=0 error=null provider_code=null \
    kek='"ok"'
check "$T/out" 2 label='"beta"' key="\"$BETA\"" healthy=true kek='"ok"'
run 0 "$T/out" --config "$cfg" --tenant beta
[ "$(cat "$T/out")" = "beta: ok" ] || cmk_fail "text output: $(cat "$T/out")"

echo "== disabled, then pending deletion"
emu_ctl disable_key "{\"key_id\":\"$BETA\"}" >/dev/null
run 1 "$T/out" --config "$cfg" --json
check "$T/out" 1 label='"acme"' healthy=true
check "$T/out" 2 label='"beta"' healthy=false reason='"disabled"' \
    reason_code=1 error='"key_disabled"' \
    provider_code='"KeyState:Disabled"' kek='"not_checked"'
emu_ctl schedule_deletion "{\"key_id\":\"$BETA\"}" >/dev/null
run 1 "$T/out" --config "$cfg" --json --tenant beta
check "$T/out" 1 healthy=false reason='"pending_deletion"' reason_code=2 \
    provider_code='"KeyState:PendingDeletion"'
run 1 "$T/out" --config "$cfg" --tenant beta
grep -q '^beta: key_disabled: provider health check failed (KeyState:PendingDeletion)$' \
    "$T/out" || cmk_fail "text output: $(cat "$T/out")"
emu_ctl cancel_deletion "{\"key_id\":\"$BETA\"}" >/dev/null
emu_ctl enable_key "{\"key_id\":\"$BETA\"}" >/dev/null
run 0 "$T/out" --config "$cfg" --json --tenant beta

echo "== a key of another kind (DescribeKey says RSA_2048)"
emu_ctl faults '{"answer_override": {"KeyMetadata": {"KeyId": "x", "KeyState": "Enabled", "KeySpec": "RSA_2048", "KeyUsage": "ENCRYPT_DECRYPT"}}, "for_ops": ["DescribeKey"]}' >/dev/null
run 1 "$T/out" --config "$cfg" --json --tenant acme
check "$T/out" 1 healthy=false reason='"wrong_key_spec"' reason_code=6 \
    error='"access_denied"' provider_code='"WrongKeySpec"' kek='"not_checked"'
emu_ctl faults '{"answer_override": {"KeyMetadata": {"KeyId": "x", "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "GENERATE_VERIFY_MAC"}}, "for_ops": ["DescribeKey"]}' >/dev/null
run 1 "$T/out" --config "$cfg" --json --tenant acme
check "$T/out" 1 reason='"wrong_key_spec"' provider_code='"WrongKeyUsage"'
emu_ctl clear_faults >/dev/null

echo "== the KEK: wrong commitment, none, no KEK"
edit() { # PYTHON-STATEMENT on tenant acme (t) of config.json -> $T/edited.json
    "$CMK_PYTHON" - "$cfg" "$T/edited.json" "$1" <<'PY' || cmk_error "edit"
import json, os, sys
c = json.load(open(sys.argv[1]))
t = c["tenants"][0]
exec(sys.argv[3])
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(c).encode())
os.close(fd)
PY
}
edit 't["kek_commitment"] = c["tenants"][1]["kek_commitment"]'
run 1 "$T/out" --config "$T/edited.json" --json --tenant acme
check "$T/out" 1 healthy=false reason='"kek_commitment_mismatch"' \
    reason_code=7 error='"kek_commitment"' provider_code=null \
    kek='"commitment_mismatch"'
edit 'del t["kek_commitment"]'
run 1 "$T/out" --config "$T/edited.json" --json --tenant acme
check "$T/out" 1 healthy=false reason='"kek_uncommitted"' reason_code=0 \
    error='"kek_commitment"' kek='"uncommitted"'
edit 'del t["kek_commitment"]; del t["kek"]'
run 0 "$T/out" --config "$T/edited.json" --json --tenant acme
check "$T/out" 1 healthy=true reason=null kek='"missing"'

echo "== unreachable"
port=$("$CMK_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
edit "t[\"endpoint\"] = \"http://127.0.0.1:$port/\""
run 1 "$T/out" --config "$T/edited.json" --json --tenant acme
check "$T/out" 1 healthy=false reason='"unreachable"' reason_code=5 \
    error='"network"' provider_code='"NetworkError"' kek='"not_checked"'

echo "== usage errors"
for w in 0 86401 abc -1 ''; do
    run 2 "$T/out" --config "$cfg" --watch "$w"
    grep -q -- '--watch' "$T/err" || cmk_fail "--watch '$w': $(cat "$T/err")"
done
run 2 "$T/out" --config "$T/nothing.json" --json
run 2 "$T/out" --config "$cfg" --json --tenant nobody

echo "== --watch: two rounds around a DisableKey, then SIGINT"
before=$(grep -c '"event":"cmk_health_changed"' "$T/audit.jsonl")
"$CMK_TOOL" health --config "$cfg" --json --tenant acme --watch 1 \
    >"$T/watch" 2>"$T/watch.err" &
WATCH_PID=$!
wait_lines() { # FILE N: until FILE has N lines (10 s at most)
    local i
    for i in $(seq 100); do
        [ "$(lines "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    cmk_fail "$1 has $(lines "$1") lines, expected $2: $(cat "$1")"
}
wait_lines "$T/watch" 1
emu_ctl disable_key "{\"key_id\":\"$ACME\"}" >/dev/null
wait_lines "$T/watch" 2
n=$(lines "$T/watch")
kill -INT "$WATCH_PID"
wait "$WATCH_PID"
rc=$?
WATCH_PID=
[ "$rc" = 1 ] || cmk_fail "--watch ended with $rc, expected 1 (last round)"
check "$T/watch" 1 label='"acme"' healthy=true
check "$T/watch" "$(lines "$T/watch")" label='"acme"' healthy=false \
    reason='"disabled"'
[ "$(lines "$T/watch")" -le $((n + 1)) ] || cmk_fail "rounds after SIGINT"
grep '"event":"cmk_health_changed"' "$T/audit.jsonl" | tail -n +$((before + 1)) \
    >"$T/changes"
[ "$(lines "$T/changes")" = 1 ] ||
    cmk_fail "expected one cmk_health_changed record: $(cat "$T/changes")"
for part in '"op":"cmk-tool health"' '"tenant":"acme"' \
    '"result":"CKR_KEY_FUNCTION_NOT_PERMITTED"' \
    '"detail":"healthy -> unhealthy (disabled)"' \
    '"provider_code":"KeyState:Disabled"'; do
    grep -qF "$part" "$T/changes" || cmk_fail "$part not in $(cat "$T/changes")"
done
emu_ctl enable_key "{\"key_id\":\"$ACME\"}" >/dev/null

echo "== SIGINT ends the wait between rounds at once"
"$CMK_TOOL" health --config "$cfg" --watch 600 >"$T/watch" 2>&1 &
WATCH_PID=$!
wait_lines "$T/watch" 2
start=$(date +%s)
kill -INT "$WATCH_PID"
wait "$WATCH_PID"
rc=$?
WATCH_PID=
[ "$rc" = 0 ] || cmk_fail "--watch 600 ended with $rc: $(cat "$T/watch")"
[ $(($(date +%s) - start)) -le 2 ] || cmk_fail "SIGINT did not end the wait"
printf 'acme: ok\nbeta: ok\n' | cmp -s - "$T/watch" ||
    cmk_fail "watch output: $(cat "$T/watch")"
"$CMK_TOOL" audit verify --config "$cfg" "$T/audit.jsonl" >"$T/verify" 2>&1 ||
    cmk_fail "audit verify: $(cat "$T/verify")"
echo "PASS"
