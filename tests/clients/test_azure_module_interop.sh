#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Azure's own Key Vault client (@azure/keyvault-keys, @azure/identity) and
# the module agree, against the emulator over TLS, on an RSA-4096 key:
#   (a) the module wraps a known DEK on the direct path (C_WrapKey,
#       CKM_CMK_ENVELOPE); the key id, the wrapped seal key and the sealed
#       DEK are taken out of the envelope, the seal's AAD rebuilt from the
#       tenant's context in the documented byte form, Azure's client
#       unwraps the seal key (unwrapKey RSA-OAEP-256) and the seal opens
#       to the DEK (and not under another purpose's AAD);
#   (b) Azure's client wraps a new seal key (wrapKey) and the DEK is
#       sealed under it as documented; wrapped into an envelope, the module
#       unwraps it (C_UnwrapKey) to the DEK;
#   (c) the emulator's call log of the module's unwrapkey beside the
#       client's: method, path, api-version, Content-Type, Authorization
#       scheme and principal, JSON member names and encodings and alg must
#       be equal; both answered the vault's challenge the same way (first
#       request without a token and without a body).
# The packages as test_azure_client.sh has them. No node/npm, packages or
# PyKCS11: 77, 99 under CI=true.
set -u
. "$(dirname "$0")/../integration/lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$top_srcdir/tests/integration/azure/azure_lib.sh"
here=$top_srcdir/tests/clients

cmk_need_module
emu_require || exit $?
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "PyKCS11 not importable (apt-get install python3-pykcs11)"
. "$here/node_deps.sh"
node_deps "$here" || cmk_missing "$NODE_MISSING"

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/azure-interop.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" --tls || cmk_error "emulator did not start"
az_clean_env "$T"
umask 077

CONTEXT='{"app": "interop", "env": "test"}'
az_vaults
az_key kv1 interop RSA 4096
az_secret "$T/secret"
az_principal app1 "$T/secret"
az_grant app1 "{\"kv1/interop\": $AZ_KEY_ROLE}"
KEY=$AZ_KV/keys/interop
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2,
           "ca_file": "$EMU_CA"},
  "tenants": [$(az_tenant acme 1234 "$KEY" https://vault.azure.net \
      ", \"tenant_id\": \"$AZ_TENANT\", \"client_id\": \"app1\", \"client_secret_file\": \"$T/secret\"" \
      ", \"encryption_context\": $CONTEXT")]
}
EOF
export CMK_PKCS11_CONFIG=$T/config.json
DEK=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
[ ${#DEK} = 64 ] || cmk_error "DEK"
mod() {
    cmk_host "$CMK_PYTHON" "$here/azure_module.py" "$@"
}
node_run() {
    env NODE_PATH="$NODE_DIR/node_modules" NODE_EXTRA_CA_CERTS="$EMU_CA" \
        EMU_TLS_PORT="$EMU_PORT" AZ_TENANT="$AZ_TENANT" AZ_CLIENT_ID=app1 \
        AZ_SECRET_FILE="$T/secret" "$@"
}

echo "== (a) the module wraps, Azure's client unwraps"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
mod wrap acme 1234 "$DEK" "$T/module.env" || cmk_fail "the module's wrap"
"$CMK_PYTHON" "$here/azure_module.py" job "$KEY" acme "$CONTEXT" \
    "$T/module.env" >"$T/job.json" || cmk_fail "the module's envelope"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
node_run JOB="$T/job.json" DEK="$DEK" OUT="$T/client.json" \
    node "$here/azure_interop.js" || cmk_fail "Azure's client"
cp "$EMU_DIR/calls.jsonl" "$T/calls-client.jsonl"

echo "== (b) Azure's client wraps, the module unwraps"
KID=$("$CMK_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["kid"])' \
    "$T/job.json") || cmk_error "job"
"$CMK_PYTHON" "$here/azure_module.py" envelope "$KEY" "$KID" \
    "$T/client.json" "$T/client.env" || cmk_error "envelope"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
mod unwrap acme 1234 "$DEK" "$T/client.env" || cmk_fail "the module's unwrap"
cp "$EMU_DIR/calls.jsonl" "$T/calls-module.jsonl"

echo "== (c) the requests side by side"
"$CMK_PYTHON" - "$T" "$KID" <<'PY' || cmk_fail "requests differ"
import json, sys
tmp, kid = sys.argv[1:]


def load(name):
    return [json.loads(line) for line in open("%s/calls-%s.jsonl"
                                               % (tmp, name))]


client, module = load("client"), load("module")
fail = 0


def check(ok, what):
    global fail
    print("%s - %s" % ("ok" if ok else "not ok", what))
    fail |= not ok


shape = lambda calls: [(c["op"], c["status"]) for c in calls]  # noqa: E731
# The module's unwrap: the challenge (no token), the token, the unwrap.
check(shape(module) == [("AZ.UnwrapKey", 401), ("AZ.Token", 200),
                        ("AZ.UnwrapKey", 200)],
      "module, unwrap: %s" % shape(module))
vault = lambda calls: [c for c in calls if c["op"] != "AZ.Token" and  # noqa
                       c["op"] != "AZ.OpenIdConfig"]
first = [vault(module)[0], vault(client)[0]]
check(all(c["status"] == 401 and c.get("auth_scheme") is None
          and not c.get("body_members") for c in first),
      "both: the first request without a token and without a body")
m = [c for c in module if c["op"] == "AZ.UnwrapKey"][-1]
c = [c for c in client if c["op"] == "AZ.UnwrapKey" and
     c["status"] == 200][0]
SAME = ("method", "path", "api_version", "content_type", "auth_scheme",
        "principal", "body_members", "member_encodings", "alg", "key_id")
for field in SAME:
    check(m.get(field) == c.get(field),
          "unwrapkey %s: module %r, client %r" % (field, m.get(field),
                                                   c.get(field)))
check(m["method"] == "POST" and m["path"] == kid.split("//", 1)[1]
      .split("/", 1)[1].join(["/", "/unwrapkey"]) and m["alg"] ==
      "RSA-OAEP-256" and m["member_encodings"] == {"alg": "string",
                                                  "value": "base64url"},
      "unwrapkey: POST KID/unwrapkey, RSA-OAEP-256, value base64url")
check(bool(m.get("x_ms_client_request_id")),
      "the module sends x-ms-client-request-id")
sys.exit(fail)
PY
echo "PASS"
