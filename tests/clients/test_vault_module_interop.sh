#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A real Vault client (node-vault) and the module agree, against the
# emulator's Vault transit over TLS, on a derived aes256-gcm96 key:
#   (a) the module wraps a known DEK on the direct path (C_WrapKey,
#       CKM_CMK_ENVELOPE); transit's ciphertext is taken out of the
#       envelope, the context rebuilt from the tenant's pairs in the
#       documented byte form (docs/vault.md), and node-vault decrypts it
#       to the DEK with that context (and not with another purpose's);
#   (b) node-vault encrypts the same DEK with that context; made into an
#       envelope, the module unwraps it (C_UnwrapKey) to the DEK;
#   (c) the emulator's call log of the module's decrypt beside the
#       client's: method, path, namespace, capability, token header, the
#       members of the body that carry data and their encodings must be
#       equal; what differs by each client's choice is printed.
# The packages as test_vault_client.sh has them. No node/npm, packages or
# PyKCS11: 77, 99 under CI=true.
set -u
. "$(dirname "$0")/../integration/lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$top_srcdir/tests/integration/vault/vault_lib.sh"
here=$top_srcdir/tests/clients

cmk_need_module
emu_require || exit $?
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "PyKCS11 not importable (apt-get install python3-pykcs11)"
. "$here/node_deps.sh"
node_deps "$here" || cmk_missing "$NODE_MISSING"
[ -d "$NODE_DIR/node_modules/node-vault" ] ||
    cmk_missing "node-vault is not in $NODE_DIR (npm ci)"

vault_start vault-interop

CONTEXT='{"app": "interop", "env": "test"}'
KEY=interop
vault_key $KEY
mkdir -m 700 "$T/creds" || cmk_error "mkdir"
vault_approle cmk $KEY "$T/creds"
# node-vault's token: the same policy, no login.
emu_ctl vault_token '{"policies": ["cmk"], "ttl": 3600}' |
    "$CMK_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])' \
        >"$T/client-token" || cmk_error "the client's token"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2,
           "ca_file": "$EMU_CA"},
  "tenants": [$(vault_tenant acme 1234 $KEY cmk "$T/creds" \
      ", \"encryption_context\": $CONTEXT")]
}
EOF
export CMK_PKCS11_CONFIG=$T/config.json
DEK=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
[ ${#DEK} = 64 ] || cmk_error "DEK"
mod() {
    cmk_host "$CMK_PYTHON" "$here/vault_module.py" "$@"
}

echo "== (a) the module wraps, node-vault decrypts"
mod wrap acme 1234 "$DEK" "$T/module.env" || cmk_fail "the module's wrap"
"$CMK_PYTHON" "$here/vault_module.py" job $KEY acme "$CONTEXT" \
    "$T/module.env" >"$T/job.json" || cmk_fail "the module's envelope"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
env NODE_PATH="$NODE_DIR/node_modules" EMU_CA="$EMU_CA" \
    EMU_TLS_PORT="$EMU_PORT" VAULT_TOKEN_FILE="$T/client-token" \
    JOB="$T/job.json" DEK="$DEK" OUT="$T/client.json" \
    node "$here/vault_interop.js" || cmk_fail "node-vault"
cp "$EMU_DIR/calls.jsonl" "$T/calls-client.jsonl"

echo "== (b) node-vault encrypts, the module unwraps"
CT=$("$CMK_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["ciphertext"])' \
    "$T/client.json") || cmk_error "the client's ciphertext"
"$CMK_PYTHON" "$here/vault_module.py" envelope $KEY "$CT" "$T/client.env" ||
    cmk_error "envelope"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
mod unwrap acme 1234 "$DEK" "$T/client.env" || cmk_fail "the module's unwrap"
cp "$EMU_DIR/calls.jsonl" "$T/calls-module.jsonl"

echo "== (c) the decrypts side by side"
PYTHONPATH=$here "$CMK_PYTHON" - "$T" <<'PY' || cmk_fail "requests differ"
import sys
from side_by_side import Checks, load, shape
tmp = sys.argv[1]
client, module = load(tmp, "client"), load(tmp, "module")
check = Checks()
check(shape(module) == [("VAULT.AppRoleLogin", 200), ("VAULT.ReadKey", 200),
                        ("VAULT.Decrypt", 200)],
      "module, unwrap: %s" % shape(module))
check(shape(client) == [("VAULT.Decrypt", 200), ("VAULT.Decrypt", 400),
                        ("VAULT.Encrypt", 200)],
      "client: %s" % shape(client))
m = [c for c in module if c["op"] == "VAULT.Decrypt"][0]
c = [c for c in client if c["op"] == "VAULT.Decrypt"][0]
SAME = ("method", "path", "namespace", "mount", "key_name", "capability",
        "token_sent", "key_version")
check.same("decrypt", m, c, SAME)
# node-vault also puts the key's name in the body (its own choice: Vault
# takes the name from the path); the members that carry data must match.
data = lambda c: {k: v for k, v in c["member_encodings"].items()  # noqa
                  if k != "name"}
check(data(m) == data(c) == {"ciphertext": "vault-ciphertext",
                             "context": "base64"},
      "decrypt body: module %r, client %r" % (m["member_encodings"],
                                              c["member_encodings"]))
check(m["method"] == "POST" and m["path"] == "/v1/transit/decrypt/interop",
      "decrypt: POST /v1/transit/decrypt/KEY")
for field in ("body_members", "x_vault_request", "auth_method"):
    print("# by client choice, %s: module %r, client %r"
          % (field, m.get(field), c.get(field)))
sys.exit(check.fail)
PY
echo "PASS"
