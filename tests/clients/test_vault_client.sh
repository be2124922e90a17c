#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A real Vault client (node-vault) against the emulator's Vault / OpenBao
# routes over TLS: vault_client.js makes the calls and checks the answers
# and errors; this script sets the emulator up (and a second one, the
# active node a standby redirects to) and checks in the call log what the
# client sent (vault_calls.py); vault_asym.js then checks RSA and ECDSA
# key pairs through the client (signatures verified and ciphertexts made
# by Node's crypto).
#
# The packages come from the committed package-lock.json (npm ci) into
# $CMK_NODE_DIR (default: the build tree's tests/clients/npm), reused while
# the lock is unchanged. No node/npm or no packages: 77, 99 under CI=true.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
emu_require || exit $?
here=$top_srcdir/tests/clients

skip() {
	echo "SKIP: $*"
	exit "$(emu_skip_status)"
}
. "$here/node_deps.sh"
node_deps "$here" || skip "$NODE_MISSING"
[ -d "$NODE_DIR/node_modules/node-vault" ] ||
	skip "node-vault is not in $NODE_DIR (npm ci)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vault-client.XXXXXX") || exit 99
active_pid=
cleanup() {
	emulator_stop
	if [ -n "$active_pid" ]; then
		kill "$active_pid" 2>/dev/null
		wait "$active_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
emulator_start "$tmp/emu" --tls || exit 99
tls_port=$EMU_PORT
http_port=${EMU_HTTP_URL##*:}

# The active node a standby redirects to: a second emulator, http only.
mkdir -p "$tmp/active" || exit 99
"$EMU_PYTHON" "$EMU_HOME/kms_emulator.py" --state-dir "$tmp/active" \
	--ready-file "$tmp/active/ready" >>"$tmp/active/emulator.log" 2>&1 &
active_pid=$!
i=0
while [ ! -s "$tmp/active/ready" ]; do
	[ $i -lt 100 ] && kill -0 "$active_pid" 2>/dev/null || {
		cat "$tmp/active/emulator.log"
		exit 99
	}
	sleep 0.1
	i=$((i + 1))
done
active_port=$(sed -n 's/^port=//p' "$tmp/active/ready")

# Secrets in files: the root token, an AppRole secret id, a service-account
# JWT; a client CA and its client certificate for cert auth.
umask 077
rand() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
printf 'hvs.%s' "$(rand)" >"$tmp/root-token" &&
	rand >"$tmp/secret-id" &&
	printf 'eyJhbGciOiJSUzI1NiJ9.%s.sig' "$(rand)" >"$tmp/k8s-jwt" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/client-ca.key" \
		-out "$tmp/client-ca.pem" -days 2 -subj "/CN=vault-client-ca" \
		2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout "$tmp/client.key" \
		-out "$tmp/client.csr" -subj "/CN=vault-client" 2>/dev/null &&
	printf 'extendedKeyUsage=clientAuth\n' >"$tmp/client.ext" &&
	openssl x509 -req -in "$tmp/client.csr" -CA "$tmp/client-ca.pem" \
		-CAkey "$tmp/client-ca.key" -CAcreateserial -days 2 \
		-extfile "$tmp/client.ext" -out "$tmp/client.pem" 2>/dev/null ||
	exit 99

"$EMU_PYTHON" - "$tmp" "$EMU_HTTP_URL" "http://127.0.0.1:$active_port" \
	<<'PY' || exit 99
import json, sys, urllib.request
tmp, url, active = sys.argv[1:4]
root = open(tmp + "/root-token").read()
cmds = [
    (url, "vault_token", {"token": root, "policies": ["root"]}),
    (active, "vault_token", {"token": root, "policies": ["root"]}),
    (url, "vault_namespace", {"path": "ns1"}),
    (url, "vault_policy", {"name": "decrypt-only", "paths": {
        "transit/decrypt/k1": ["update"]}}),
    (url, "vault_policy", {"name": "enc-dec", "paths": {
        "transit/encrypt/k1": ["update"], "transit/decrypt/k1": ["update"],
        "transit/keys/k1": ["read"]}}),
    (url, "vault_approle", {"name": "app", "role_id": "role-app",
                            "secret_id": open(tmp + "/secret-id").read(),
                            "token_policies": ["enc-dec"],
                            "token_ttl": 120, "token_max_ttl": 600}),
    (url, "vault_k8s_role", {
        "name": "web", "bound_service_account_names": ["web-sa"],
        "bound_service_account_namespaces": ["prod"],
        "token_policies": ["enc-dec"], "token_ttl": 60,
        "jwt": {"token": open(tmp + "/k8s-jwt").read(),
                "service_account_name": "web-sa",
                "service_account_namespace": "prod"}}),
    (url, "vault_cert_role", {"name": "c1", "certificate":
                              open(tmp + "/client-ca.pem").read(),
                              "token_policies": ["enc-dec"],
                              "token_ttl": 300}),
]
for base, cmd, args in cmds:
    req = urllib.request.Request(base + "/_emulator/" + cmd,
                                 json.dumps(args).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
PY

env NODE_PATH="$NODE_DIR/node_modules" EMU_CA="$EMU_CA" \
	EMU_TLS_PORT="$tls_port" EMU_HTTP_PORT="$http_port" \
	EMU_ACTIVE_PORT="$active_port" \
	VAULT_ROOT_TOKEN="$(cat "$tmp/root-token")" \
	VAULT_SECRET_ID_FILE="$tmp/secret-id" \
	VAULT_K8S_JWT_FILE="$tmp/k8s-jwt" \
	VAULT_CLIENT_CERT="$tmp/client.pem" VAULT_CLIENT_KEY="$tmp/client.key" \
	node "$here/vault_client.js" || exit 1

# What the client sent, as both emulators logged it.
"$EMU_PYTHON" "$here/vault_calls.py" "$EMU_DIR/calls.jsonl" \
	"$tmp/active/calls.jsonl" "$tmp" || exit 1

# Key pairs through the same client (vault_asym.js), checked with Node's
# crypto.
env NODE_PATH="$NODE_DIR/node_modules" EMU_CA="$EMU_CA" \
	EMU_TLS_PORT="$tls_port" VAULT_ROOT_TOKEN="$(cat "$tmp/root-token")" \
	node "$here/vault_asym.js" || exit 1
