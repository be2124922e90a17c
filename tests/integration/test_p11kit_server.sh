#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# integration: one token process for many clients through p11-kit's
# remoting (Debian 12: p11-kit 0.24.1). `p11-kit server` loads the built
# module with its config, AWS credentials (for the KMS emulator) and audit
# file in one directory; clients in other processes, with an empty
# environment but P11_KIT_SERVER_ADDRESS, use p11-kit-client.so:
# pkcs11-tool, PyKCS11 (p11kit_client.py), and one in a network and mount
# namespace of its own that cannot see that directory, beside the same
# client loading the module directly, which cannot reach the KMS.
# Checks what p11-kit 0.24.1 does NOT carry (every mechanism of ours but
# CKM_AES_KEY_GEN, PKCS#11 3.0 functions) so that a p11-kit change is
# noticed, that login state is per client connection, and that the
# server's audit file records the clients' calls under the pid of the
# p11-kit-remote process serving each connection, and verifies.
# docs/p11-kit-server.md describes the deployment and these limits.
set -u
. "$(dirname "$0")/lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"

P11KIT=${P11KIT:-/usr/bin/p11-kit}
P11KIT_REMOTE=${P11KIT_REMOTE:-/usr/libexec/p11-kit/p11-kit-remote}
CLIENT_MODULE=${P11KIT_CLIENT:-/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so}
PKCS11_TOOL=${PKCS11_TOOL:-/usr/bin/pkcs11-tool}
PY=$CMK_PYTHON
CLIENT_PY=$CMK_LIB_DIR/p11kit_client.py

cmk_need_module
cmk_need od cmp curl mkfifo
if cmk_sanitized; then
    # As in test_p11tool.sh: with libasan preloaded, p11-kit's own
    # processes (p11-kit server, p11-kit-remote) hang for ever at exit in
    # libp11-kit's destructor (freelocale waits on glibc's setlocale lock),
    # with or without the module loaded.
    cmk_skip "p11-kit server cannot run with libasan preloaded (hangs at exit in libp11-kit)"
fi
[ -x "$P11KIT" ] || cmk_missing "$P11KIT is not installed (apt-get install p11-kit)"
[ -x "$P11KIT_REMOTE" ] ||
    cmk_missing "$P11KIT_REMOTE is not installed (apt-get install p11-kit)"
[ -f "$CLIENT_MODULE" ] ||
    cmk_missing "$CLIENT_MODULE is not installed (apt-get install p11-kit-modules)"
[ -x "$PKCS11_TOOL" ] ||
    cmk_missing "$PKCS11_TOOL is not installed (apt-get install opensc)"
"$PY" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "PyKCS11 not importable from $PY (apt-get install python3-pykcs11)"
emu_require || exit $?

T=$(mktemp -d "${TMPDIR:-/tmp}/cmk-p11kit.XXXXXX") || cmk_error "mktemp"
SERVER_PID=
SERVER2_PID=
HOLD_PID=
PUB=
# stop PID: SIGTERM, then SIGKILL if it has not exited within 5 s.
stop() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    stop "$HOLD_PID"
    stop "$SERVER2_PID"
    stop "$SERVER_PID"
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$T"
    [ -z "$PUB" ] || rm -rf "$PUB"
}
trap cleanup EXIT
chmod 755 "$T"
SRV=$T/srv # the server side: config, credentials, store, audit file
RUN=$T/run # the socket, the only thing clients are given
CLI=$T/cli # the direct-load comparison's own config (no credentials)
mkdir -m 700 "$SRV" && mkdir -m 755 "$RUN" "$CLI" || cmk_error "mkdir"
SOCK=$RUN/cmk.sock
ADDR=unix:path=$SOCK

emulator_start "$T/emu" || cmk_error "emulator did not start"
aws_env_isolate "$T"
emu_ctl add_credentials \
    '{"access_key_id":"AKIDP11KITSRV","secret":"p11kit-srv-secret/Q+7"}' \
    >/dev/null || cmk_error "add_credentials"
emu_ctl create_key '{"alias":"alias/p11kit"}' >/dev/null ||
    cmk_error "create_key"

(
    umask 077
    printf '{"access_key_id": "AKIDP11KITSRV", "secret_access_key": "p11kit-srv-secret/Q+7"}\n' \
        >"$SRV/aws-credentials.json"
) || cmk_error "cannot write the credentials"
pin_verifier=$(printf '1234\n' | "$CMK_TOOL" pin-hash --cost min) ||
    cmk_error "cmk-tool pin-hash"
# tenant_json EXTRA: the tenant, on the emulator; EXTRA inside the object.
tenant_json() {
    printf '{"label": "acme", "provider": "aws", "key": "alias/p11kit", "region": "us-east-1", "endpoint": "%s/", "test_mode": true, "pin_verifier": "%s"%s}' \
        "$EMU_HTTP_URL" "$pin_verifier" "$1"
}
cat >"$SRV/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$SRV/store",
  "audit": {"file": "$SRV/audit.jsonl"},
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2},
  "tenants": [$(tenant_json ", \"aws\": {\"credentials_file\": \"$SRV/aws-credentials.json\"}")]
}
EOF
chmod 600 "$SRV/config.json"
cmk_provision "$SRV/config.json" acme
# The comparison client's config: the same tenant and KEK, no credentials.
"$PY" - "$SRV/config.json" "$CLI/config.json" "$CLI/store" <<'EOF' ||
import json, sys
c = json.load(open(sys.argv[1]))
del c["audit"]
c["store_dir"] = sys.argv[3]
del c["tenants"][0]["aws"]
json.dump(c, open(sys.argv[2], "w"), indent=1)
EOF
    cmk_error "cannot write the client config"

# The server: the module's config and credentials reach it, and only it.
srv_env=(CMK_PKCS11_CONFIG="$SRV/config.json" AWS_EC2_METADATA_DISABLED=true)
# start_server SOCKET LOG [OPTIONS...]: p11-kit server in the background
# (its pid in STARTED), serving every token of the module.
start_server() {
    local sock=$1 log=$2
    shift 2
    env -i PATH=/usr/bin:/bin HOME="$SRV" "${srv_env[@]}" \
        "$P11KIT" server -f -n "$sock" "$@" --provider "$CMK_MODULE" \
        'pkcs11:manufacturer=cmk-pkcs11' >"$log" 2>&1 &
    STARTED=$!
    for _ in $(seq 100); do
        [ -S "$sock" ] && return 0
        kill -0 "$STARTED" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log"
    cmk_fail "p11-kit server did not create $sock"
}
start_server "$SOCK" "$T/server.log"
SERVER_PID=$STARTED
echo "ok: p11-kit server (pid $SERVER_PID) on $SOCK"
# p11-kit binds the socket under umask 066: only its owner may connect.
[ "$(stat -c %a "$SOCK")" = 711 ] ||
    cmk_fail "socket mode $(stat -c %a "$SOCK"), expected 711"

# client CMD...: CMD with nothing in its environment but the address.
client() {
    env -i PATH=/usr/bin:/bin P11_KIT_SERVER_ADDRESS="$ADDR" \
        timeout -k 5 120 "$@"
}
p11() {
    client "$PKCS11_TOOL" --module "$CLIENT_MODULE" "$@"
}
acme() {
    p11 --token-label acme --login --pin 1234 "$@"
}
kms_total() {
    wc -l <"$EMU_DIR/calls.jsonl"
}
CLIENT_PIDS=""

echo "== pkcs11-tool through the client module"
out=$(p11 -L) || cmk_fail "pkcs11-tool -L: $out"
grep -q 'token label *: acme$' <<<"$out" || {
    echo "$out"
    cmk_fail "no acme token through the server"
}
grep -q 'token model *: CMK aws$' <<<"$out" || cmk_fail "token model: $out"
echo "ok: token acme (CMK aws) listed"
out=$(acme -O 2>&1) || cmk_fail "login and list objects: $out"
grep -A4 'label: *acme-cmk' <<<"$out" | grep -q 'ID: *01' || {
    echo "$out"
    cmk_fail "no CMK object with ID 01 after login"
}
echo "ok: login, CMK object acme-cmk with ID 01"
out=$(acme --keygen --key-type AES:32 --id 10 --label dek1 --sensitive \
    --extractable --private 2>&1) || cmk_fail "keygen: $out"
out=$(acme -O --type secrkey 2>&1) || cmk_fail "list: $out"
grep -q 'label: *dek1$' <<<"$out" || cmk_fail "dek1 not listed: $out"
echo "ok: token DEK dek1 generated and listed in a new connection"
# Limits: p11-kit 0.24.1 lists and passes no symmetric mechanism of
# ours but CKM_AES_KEY_GEN (it serialises the parameters of a fixed list
# only); of the key pairs' mechanisms it lists the PKCS#1, PSS, ECDSA and
# OAEP ones and drops the hash-and-sign PSS and ECDSA ones.
out=$(p11 --token-label acme -M 2>&1) || cmk_fail "-M: $out"
want='Supported mechanisms:
  AES-KEY-GEN, keySize={16,32}, generate
  RSA-PKCS, keySize={2048,4096}, sign, verify
  SHA256-RSA-PKCS, keySize={2048,4096}, sign, verify
  SHA384-RSA-PKCS, keySize={2048,4096}, sign, verify
  SHA512-RSA-PKCS, keySize={2048,4096}, sign, verify
  RSA-PKCS-PSS, keySize={2048,4096}, sign, verify
  ECDSA, keySize={256,521}, sign, verify, EC F_P, EC OID, EC uncompressed
  RSA-PKCS-OAEP, keySize={2048,4096}, encrypt, decrypt, unwrap
  SHA-1, digest
  SHA256, digest
  SHA384, digest
  SHA512, digest'
[ "$out" = "$want" ] || {
    echo "$out"
    cmk_fail "mechanism list through p11-kit changed: update docs/p11-kit-server.md"
}
echo "limit: pkcs11-tool -M lists AES-KEY-GEN, 7 of the key pairs' mechanisms and the 4 digests only"
head -c 1000 /dev/urandom >"$T/plain.bin"
# A digest made by the server's module, without login, is plain SHA-256.
out=$(p11 --token-label acme --hash -m SHA256 -i "$T/plain.bin" \
    -o "$T/plain.sha256" 2>&1) || cmk_fail "--hash: $out"
openssl dgst -sha256 -binary "$T/plain.bin" | cmp -s - "$T/plain.sha256" ||
    cmk_fail "SHA-256 through p11-kit is not openssl's"
echo "ok: pkcs11-tool --hash -m SHA256 through the server matches openssl"
IV=000102030405060708090a0b0c0d0e0f
cmk_expect_fail "wrap with CKM_CMK_ENVELOPE (0x84340001)" \
    "C_WrapKey failed: rv = CKR_MECHANISM_INVALID" \
    acme --wrap -m 0x84340001 --id 01 --application-id 10 -o "$T/e.wrap"
cmk_expect_fail "wrap with CKM_AES_KEY_WRAP_KWP (0x210B)" \
    "C_WrapKey failed: rv = CKR_MECHANISM_INVALID" \
    acme --wrap -m 0x210B --id 01 --application-id 10 -o "$T/k.wrap"
cmk_expect_fail "AES-CBC-PAD encrypt" \
    "C_EncryptInit failed: rv = CKR_MECHANISM_INVALID" \
    acme --encrypt -m AES-CBC-PAD --id 10 --iv "$IV" -i "$T/plain.bin" \
    -o "$T/ct.bin"
cmk_expect_fail "AES-CBC-PAD decrypt" \
    "C_DecryptInit failed: rv = CKR_MECHANISM_INVALID" \
    acme --decrypt -m AES-CBC-PAD --id 10 --iv "$IV" -i "$T/plain.bin" \
    -o "$T/ct.bin"
# pkcs11-tool refuses GCM itself: it is not in the mechanism list.
cmk_expect_fail "AES-GCM encrypt" "Mechanism AES-GCM illegal or not supported" \
    acme --encrypt -m AES-GCM --id 10 --iv 000102030405060708090a0b \
    -i "$T/plain.bin" -o "$T/gcm.bin"

echo "== PyKCS11 envelope flow through the client module"
client "$PY" "$CLIENT_PY" flow "$CLIENT_MODULE" acme 1234 >"$T/flow.out" 2>&1
rc=$?
cat "$T/flow.out"
[ $rc = 0 ] || cmk_fail "PyKCS11 flow through the server: exit $rc"
[ "$(grep -c '^limit: .*-> CKR_MECHANISM_INVALID$' "$T/flow.out")" = 11 ] ||
    cmk_fail "expected 11 refused mechanisms"

echo "== PKCS#11 3.0 through the client module"
out=$(client "$PY" "$CLIENT_PY" version "$CLIENT_MODULE") ||
    cmk_fail "version: $out"
[ "$out" = "function list 2.40, C_GetInterface no" ] || {
    echo "$out"
    cmk_fail "p11-kit's client module changed: update docs/p11-kit-server.md"
}
echo "limit: p11-kit-client.so is PKCS#11 2.40 (no C_GetInterface, no 3.0 functions)"

echo "== login state is per connection; audit records name the serving process"
mkfifo "$T/go" || cmk_error "mkfifo"
client "$PY" "$CLIENT_PY" hold "$CLIENT_MODULE" acme 1234 "$T/ready" \
    "$T/go" >"$T/hold.out" 2>&1 &
HOLD_PID=$!
for _ in $(seq 300); do
    [ -s "$T/ready" ] && break
    kill -0 "$HOLD_PID" 2>/dev/null || break
    sleep 0.1
done
[ -s "$T/ready" ] || {
    cat "$T/hold.out"
    cmk_fail "the holding client did not log in"
}
# The newest login record is the holding client's; its pid is a
# p11-kit-remote process whose parent is the server.
pid=$(tr -d '\000' <"$SRV/audit.jsonl" | grep '"event":"login"' | tail -n 1 |
    sed -n 's/.*"pid":\([0-9]*\),.*/\1/p')
[ -n "$pid" ] || cmk_fail "no login record"
ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)
exe=$(readlink "/proc/$pid/exe")
[ "$ppid" = "$SERVER_PID" ] && [ "$exe" = "$P11KIT_REMOTE" ] ||
    cmk_fail "audit pid $pid: parent ${ppid:-none} ($SERVER_PID expected), exe ${exe:-none}"
[ "$pid" != "$HOLD_PID" ] || cmk_fail "audit pid is the client's"
echo "ok: the login is recorded by pid $pid, $exe, child of the server"
CLIENT_PIDS="$CLIENT_PIDS $HOLD_PID"
out=$(client "$PY" "$CLIENT_PY" public "$CLIENT_MODULE" acme 2>&1) || {
    echo "$out"
    cmk_fail "a second client while the first is logged in"
}
echo "$out"
echo >"$T/go"
wait "$HOLD_PID"
rc=$?
HOLD_PID=
cat "$T/hold.out"
[ $rc = 0 ] || cmk_fail "holding client: exit $rc"

echo "== a client in its own network and mount namespace"
if [ "$(id -u)" != 0 ] || ! unshare -m -n true 2>/dev/null; then
    [ "${CI:-}" = true ] &&
        cmk_error "unshare -m -n needs root (required when CI=true)"
    echo "SKIP (this part): unshare -m -n needs root: no namespace client"
else
    # ns CMD...: CMD in new mount and network namespaces where the
    # server's directory is an empty tmpfs and only loopback (down) exists.
    ns() {
        unshare -m -n sh -c 'mount -t tmpfs -o mode=700 none "$1" && shift &&
            exec "$@"' sh "$SRV" "$@"
    }
    out=$(ns env -i PATH=/usr/bin:/bin sh -c \
        'test -e "$1" && echo visible || echo hidden' sh "$SRV/aws-credentials.json")
    [ "$out" = hidden ] || cmk_fail "the credentials are visible in the namespace"
    before=$(kms_total)
    ns env -i PATH=/usr/bin:/bin P11_KIT_SERVER_ADDRESS="$ADDR" \
        timeout -k 5 120 "$PY" "$CLIENT_PY" flow "$CLIENT_MODULE" acme 1234 \
        >"$T/ns.out" 2>&1
    rc=$?
    cat "$T/ns.out"
    [ $rc = 0 ] || cmk_fail "client in a network namespace: exit $rc"
    [ "$(kms_total)" -gt "$before" ] ||
        cmk_fail "the namespaced client's login made no KMS call (server side)"
    echo "ok: a client with no network, no credentials, no config works through the socket"
    # The same client loading the module directly, with a config naming
    # the tenant (no credentials): no KMS call leaves the namespace.
    ns_direct() {
        ns env -i PATH=/usr/bin:/bin HOME="$CLI" "$@" \
            timeout -k 5 120 "$PY" "$CLIENT_PY" direct "$CMK_MODULE" acme 1234
    }
    before=$(kms_total)
    out=$(ns_direct CMK_PKCS11_CONFIG="$CLI/config.json" 2>&1)
    rc=$?
    # (README's error table: credentials missing is CKR_FUNCTION_FAILED.)
    [ $rc = 3 ] && [ "$(tail -n 1 <<<"$out")" = CKR_FUNCTION_FAILED ] || {
        echo "$out"
        cmk_fail "direct load without credentials: exit $rc, expected C_WrapKey CKR_FUNCTION_FAILED"
    }
    echo "ok: direct load in the namespace, no credentials: C_WrapKey CKR_FUNCTION_FAILED"
    # Even with the credentials (a copy outside the hidden directory) the
    # KMS cannot be reached from the namespace (network: CKR_DEVICE_ERROR).
    (umask 077 && cp "$SRV/aws-credentials.json" "$CLI/leaked.json") ||
        cmk_error "cp"
    "$PY" - "$CLI/config.json" "$CLI/leaked-config.json" "$CLI/leaked.json" <<'EOF' ||
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"][0]["aws"] = {"credentials_file": sys.argv[3]}
json.dump(c, open(sys.argv[2], "w"), indent=1)
EOF
        cmk_error "cannot write the leaked-credentials config"
    out=$(ns_direct CMK_PKCS11_CONFIG="$CLI/leaked-config.json" 2>&1)
    rc=$?
    [ $rc = 3 ] && [ "$(tail -n 1 <<<"$out")" = CKR_DEVICE_ERROR ] || {
        echo "$out"
        cmk_fail "direct load with credentials, no network: exit $rc, expected C_WrapKey CKR_DEVICE_ERROR"
    }
    rm -f "$CLI/leaked.json"
    [ "$(kms_total)" = "$before" ] ||
        cmk_fail "a direct load in the namespace reached the KMS"
    echo "ok: direct load in the namespace, with credentials: C_WrapKey CKR_DEVICE_ERROR, no KMS call"
    NS_RAN=1
fi

echo "== socket permissions: -u and -g"
# Users nobody and daemon must reach the socket's directory, and nobody
# the module: TMPDIR or the build tree may sit under a private (0700)
# directory, as .ci/run's and a package build's mktemp directories do. So
# this part gets a directory of its own right under /tmp (mode 0755, the
# module copied into it), removed by cleanup.
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null ||
    ! getent passwd nobody >/dev/null || ! getent group nogroup >/dev/null ||
    ! getent passwd daemon >/dev/null; then
    [ "${CI:-}" = true ] &&
        cmk_error "root, setpriv and the users nobody, daemon and group nogroup are required when CI=true"
    echo "SKIP (this part): -u/-g needs root, setpriv, users nobody and daemon"
else
    PUB=$(mktemp -d /tmp/cmk-p11kit-pub.XXXXXX) || cmk_error "mktemp /tmp"
    chmod 755 "$PUB" && mkdir -m 755 "$PUB/run" &&
        install -m 644 "$CMK_MODULE" "$PUB/cmk-pkcs11.so" ||
        cmk_error "cannot prepare $PUB"
    env -i PATH=/usr/bin:/bin setpriv --reuid nobody --regid "$(id -g nobody)" \
        --clear-groups sh -c 'test -x "$1" && test -r "$2"' sh "$PUB/run" \
        "$PUB/cmk-pkcs11.so" || cmk_error "user nobody cannot reach $PUB"
    SOCK2=$PUB/run/restricted.sock
    start_server "$SOCK2" "$T/server2.log" -u nobody -g nogroup
    SERVER2_PID=$STARTED
    [ "$(stat -c '%U:%G %a' "$SOCK2")" = "nobody:nogroup 711" ] ||
        cmk_fail "restricted socket: $(stat -c '%U:%G %a' "$SOCK2")"
    # as_user USER CMD...: CMD as USER (and the group of that name's
    # primary group), nothing else in the environment but the address.
    as_user() {
        local user=$1
        shift
        env -i PATH=/usr/bin:/bin P11_KIT_SERVER_ADDRESS="unix:path=$SOCK2" \
            timeout -k 5 60 setpriv --reuid "$user" \
            --regid "$(id -g "$user")" --clear-groups "$@"
    }
    out=$(as_user nobody "$PKCS11_TOOL" --module "$CLIENT_MODULE" -L 2>&1) ||
        cmk_fail "nobody:nogroup through -u nobody -g nogroup: $out"
    grep -q 'token label *: acme$' <<<"$out" || cmk_fail "nobody: $out"
    echo "ok: -u nobody -g nogroup: socket nobody:nogroup 711, nobody sees acme"
    # root passes the socket's mode but not the peer check: the server
    # closes the connection, and the client's C_Initialize fails with
    # CKR_DEVICE_ERROR, or, when its handshake is written after the close,
    # the client dies of SIGPIPE (p11-kit's client module does not
    # ignore it): exit 141.
    out=$(env -i PATH=/usr/bin:/bin P11_KIT_SERVER_ADDRESS="unix:path=$SOCK2" \
        timeout -k 5 60 "$PKCS11_TOOL" --module "$CLIENT_MODULE" -L 2>&1)
    rc=$?
    case $rc:$out in
    141:) echo "ok: root refused (SIGPIPE)" ;;
    1:*"C_Initialize failed: rv = CKR_DEVICE_ERROR"*)
        echo "ok: root refused (C_Initialize CKR_DEVICE_ERROR)" ;;
    *)
        echo "$out"
        cmk_fail "root on a -u nobody -g nogroup socket: exit $rc"
        ;;
    esac
    grep -q "connecting uid (0) doesn't match expected ($(id -u nobody))" \
        "$T/server2.log" || cmk_fail "server did not log the refused uid"
    # Another user cannot connect at all (mode 0711): p11-kit's client
    # module then initializes without error and shows no slot
    # (pkcs11-tool -L: "No slots." on stderr, exit 1).
    as_user daemon "$PKCS11_TOOL" --module "$CLIENT_MODULE" -L \
        >"$T/daemon.out" 2>"$T/daemon.err"
    rc=$?
    [ $rc = 1 ] && [ "$(cat "$T/daemon.out")" = "Available slots:" ] &&
        [ "$(cat "$T/daemon.err")" = "No slots." ] || {
        cat "$T/daemon.out" "$T/daemon.err"
        cmk_fail "daemon on a -u nobody socket: exit $rc, expected 1 and 'No slots.'"
    }
    echo "ok: daemon cannot connect: C_Initialize succeeds, no slot"
    stop "$SERVER2_PID"
    SERVER2_PID=
    # A server that is not root cannot give its socket to another user.
    mkdir -m 755 "$PUB/run/nobody" && chown nobody "$PUB/run/nobody" ||
        cmk_error "mkdir $PUB/run/nobody"
    out=$(env -i PATH=/usr/bin:/bin timeout -k 5 30 setpriv --reuid nobody \
        --regid "$(id -g nobody)" --clear-groups "$P11KIT" server -f \
        -n "$PUB/run/nobody/sock" -u daemon -g daemon --provider "$PUB/cmk-pkcs11.so" \
        'pkcs11:manufacturer=cmk-pkcs11' 2>&1)
    rc=$?
    [ $rc = 1 ] && grep -q "could not chown socket $PUB/run/nobody/sock" <<<"$out" || {
        echo "$out"
        cmk_fail "a server as nobody with -u daemon -g daemon: exit $rc, expected 1 and 'could not chown socket'"
    }
    echo "ok: a server as nobody cannot chown its socket to daemon: exit 1"
fi

echo "== the server's audit file"
stop "$SERVER_PID"
server=$SERVER_PID
SERVER_PID=
[ ! -e "$SOCK" ] || cmk_fail "the server left $SOCK behind"
# With no server, p11-kit's client module initializes and has no slot.
p11 -L >"$T/gone.out" 2>"$T/gone.err"
rc=$?
[ $rc = 1 ] && [ "$(cat "$T/gone.err")" = "No slots." ] || {
    cat "$T/gone.out" "$T/gone.err"
    cmk_fail "client with the server gone: exit $rc, expected 1 and 'No slots.'"
}
echo "ok: server gone: the client sees no slot, C_Initialize succeeds"
"$PY" - "$SRV/audit.jsonl" "${NS_RAN:-0}" "$CLIENT_PIDS $server" <<'EOF' ||
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], "rb").read()
        .replace(b"\0", b"").decode().splitlines() if l]
ns = sys.argv[2] == "1"
client_pids = {int(p) for p in sys.argv[3].split()}
def count(**kw):
    return sum(all(r.get(k) == v for k, v in kw.items()) for r in recs)
def want(n, **kw):
    got = count(**kw)
    if got != n:
        sys.exit("%d records %r, expected %d" % (got, kw, n))
    print("ok: %d x %s" % (n, " ".join("%s=%s" % i for i in kw.items())))
flows = 2 if ns else 1
# pkcs11-tool's dek1 and each PyKCS11 flow's DEK.
want(1 + flows, event="mechanism", op="C_GenerateKey", mech="CKM_AES_KEY_GEN",
     tenant="acme", result="CKR_OK")
want(flows, event="object", op="C_DestroyObject", object_label="srv-dek",
     result="CKR_OK")
# pkcs11-tool --hash: one record, its 1000 bytes in, 32 out.
want(1, event="mechanism", op="C_DigestFinal", mech="CKM_SHA256",
     result="CKR_OK", bytes_in=1000, bytes_out=32, end="final")
# Nothing the client module refused ever reached the server.
for op in ("C_WrapKey", "C_UnwrapKey", "C_EncryptInit", "C_Encrypt",
           "C_DecryptInit", "C_Decrypt"):
    want(0, op=op)
want(0, result="CKR_MECHANISM_INVALID")
# pkcs11-tool logged in 8 times (-O twice, keygen, 2 wraps, encrypt,
# decrypt, GCM: it logs in before it looks at the mechanism), each
# PyKCS11 flow once, the holding client once; every one as its own
# connection. (The direct loads wrote no audit file.)
want(11 if ns else 10, event="login", op="C_Login", tenant="acme",
     result="CKR_OK")
want(0, event="login", result="CKR_PIN_INCORRECT")
logins = [r for r in recs if r["event"] == "login"]
pids = {r["pid"] for r in recs}
if pids & client_pids:
    sys.exit("a record names a client's or the server's own pid")
if len({r["pid"] for r in logins}) != len(logins):
    sys.exit("two logins in one serving process")
# One p11-kit-remote per connection: a writer (or two: it initializes
# the module once to match the token URI) per pid.
writers = {r["writer"] for r in recs if r["event"] == "audit_open"}
print("ok: %d records, %d writers, %d serving processes, %d logins"
      % (len(recs), len(writers), len(pids), len(logins)))
EOF
    cmk_fail "audit records"
out=$("$CMK_TOOL" audit verify --config "$SRV/config.json" "$SRV/audit.jsonl" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || cmk_fail "cmk-tool audit verify: exit $rc"
grep -q ' 0 bad regions: ok$' <<<"$out" || cmk_fail "audit verify summary"
grep -rqF "p11kit-srv-secret" "$T"/*.out "$T/server.log" &&
    cmk_fail "the KMS secret appears in a client's output"
echo "PASS"
exit 0
