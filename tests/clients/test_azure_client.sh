#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Azure's own Key Vault client (@azure/keyvault-keys, @azure/identity)
# against the emulator's Azure routes over TLS: azure_client.js makes the
# calls and checks the answers and error codes; this script sets the
# emulator up and checks in its call log what the client sent.
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/azure-client.XXXXXX") || exit 99
trap 'emulator_stop; rm -rf "$tmp"' EXIT INT TERM
emulator_start "$tmp/emu" --tls || exit 99
tls_port=$EMU_PORT
http_port=${EMU_HTTP_URL##*:}

# A client secret, a certificate (key and certificate in one PEM, as
# ClientCertificateCredential reads it) and a federated token, in files.
umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/cert.key" \
		-out "$tmp/cert.pem" -days 2 -subj "/CN=app-cert" 2>/dev/null &&
	cat "$tmp/cert.key" "$tmp/cert.pem" >"$tmp/cert-and-key.pem" &&
	printf 'eyJhbGciOiJSUzI1NiJ9.%s.sig' "$(head -c 12 /dev/urandom |
		od -An -tx1 | tr -d ' \n')" >"$tmp/federated" || exit 99

"$EMU_PYTHON" - "$tmp" <<'PY' >"$tmp/setup.json" || exit 99
import json, sys
tmp = sys.argv[1]
grants_k1 = {"kv1/k1": ["get", "wrapKey", "unwrapKey"]}
cmds = [
    ("azure_create_vault", {"name": "kv1", "kind": "vault", "tenant": "t1",
                            "hosts": ["127.0.0.1"]}),
    ("azure_create_vault", {"name": "hsm1", "kind": "hsm", "tenant": "t1",
                            "hosts": ["localhost"]}),
    ("azure_create_key", {"vault": "kv1", "name": "k1", "kty": "RSA",
                          "key_size": 4096}),
    ("azure_create_key", {"vault": "kv1", "name": "dis", "kty": "RSA"}),
    ("azure_create_key", {"vault": "kv1", "name": "exp", "kty": "RSA"}),
    ("azure_create_key", {"vault": "hsm1", "name": "aes1",
                          "kty": "oct-HSM"}),
    ("azure_principal", {"client_id": "app1", "tenant": "t1",
                         "secret": open(tmp + "/secret").read()}),
    ("azure_grant", {"principal": "app1",
                     "grants": {"kv1": ["*"], "hsm1": ["*"]}}),
    ("azure_principal", {"client_id": "app-limited", "tenant": "t1",
                         "secret": "limited-secret"}),
    ("azure_grant", {"principal": "app-limited",
                     "grants": {"kv1/k1": ["get", "wrapKey"]}}),
    ("azure_principal", {"client_id": "app-crypto", "tenant": "t1",
                         "secret": "crypto-secret"}),
    ("azure_grant", {"principal": "app-crypto",
                     "grants": {"kv1/exp": ["wrapKey", "unwrapKey"]}}),
    ("azure_principal", {"client_id": "app-cert", "tenant": "t1",
                         "certificates": [open(tmp + "/cert.pem").read()]}),
    ("azure_grant", {"principal": "app-cert", "grants": {"kv1/k1": ["get"]}}),
    ("azure_principal", {"client_id": "app-wi", "tenant": "t1",
                         "federated_tokens": [open(tmp + "/federated")
                                              .read()]}),
    ("azure_grant", {"principal": "app-wi", "grants": {"kv1/k1": ["get"]}}),
    ("azure_principal", {"client_id": "mi-sys", "tenant": "t1"}),
    ("azure_grant", {"principal": "mi-sys", "grants": grants_k1}),
    ("azure_principal", {"client_id": "mi-user", "tenant": "t1"}),
    ("azure_grant", {"principal": "mi-user", "grants": grants_k1}),
    ("azure_managed_identity", {"kind": "system", "client_id": "mi-sys"}),
    ("azure_managed_identity", {"kind": "user", "client_id": "mi-user",
                                "object_id": "oid-mi-user"}),
    ("azure_identity_endpoints", {"app_service_header": "app-svc-header"}),
]
json.dump(cmds, sys.stdout)
PY
"$EMU_PYTHON" - "$tmp/setup.json" "$EMU_HTTP_URL" <<'PY' || exit 99
import json, sys, urllib.request
for cmd, args in json.load(open(sys.argv[1])):
    req = urllib.request.Request(sys.argv[2] + "/_emulator/" + cmd,
                                 json.dumps(args).encode(),
                                 {"Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
PY

run_node() {
	env NODE_PATH="$NODE_DIR/node_modules" NODE_EXTRA_CA_CERTS="$EMU_CA" \
		EMU_TLS_PORT="$tls_port" EMU_HTTP_PORT="$http_port" \
		AZ_SECRET_FILE="$tmp/secret" AZ_CERT_PEM="$tmp/cert-and-key.pem" \
		AZ_FEDERATED_FILE="$tmp/federated" "$@"
}
run_node node "$here/azure_client.js" main || exit 1
run_node AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$http_port" \
	node "$here/azure_client.js" imds || exit 1
run_node IDENTITY_ENDPOINT="http://127.0.0.1:$http_port/msi/token" \
	IDENTITY_HEADER=app-svc-header \
	node "$here/azure_client.js" appservice || exit 1
run_node node "$here/azure_client.js" keypairs || exit 1

# What the client sent, as the emulator logged it.
"$EMU_PYTHON" "$here/azure_calls.py" "$EMU_DIR/calls.jsonl" "$tmp" \
	"$tls_port" "$http_port" || exit 1
