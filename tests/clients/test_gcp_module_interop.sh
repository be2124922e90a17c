#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Google's own Cloud KMS client (@google-cloud/kms, REST fallback) and the
# module agree, against the emulator:
#   (a) the module wraps a known DEK on the direct path (C_WrapKey,
#       CKM_CMK_ENVELOPE); the KMS ciphertext and key version are taken out
#       of the envelope, the AAD rebuilt from the tenant's context in the
#       documented byte form, and Google's client decrypts it to the DEK
#       (and refuses it with another purpose's AAD);
#   (b) Google's client encrypts the same DEK with that AAD; wrapped into
#       an envelope, the module unwraps it (C_UnwrapKey) to the DEK;
#   (c) the emulator's call log of the module's encrypt and decrypt beside
#       the client's for the same operation: method, path, Content-Type,
#       Authorization scheme and principal, JSON member names and
#       encodings, and the CRC32C values (same bytes sent) must be equal.
#       Only the client adds the query ?$alt=json;enum-encoding=int (asks
#       for enums as numbers) and the x-goog-api-client and
#       x-goog-request-params headers (telemetry and routing): client
#       details, checked to be exactly that.
# The packages as test_gcp_client.sh has them. No node/npm, packages or
# PyKCS11: 77, 99 under CI=true.
set -u
. "$(dirname "$0")/../integration/lib.sh"
EMU_HOME=$top_srcdir/tests/emulator
. "$EMU_HOME/emulator.sh"
. "$top_srcdir/tests/integration/gcp/gcp_lib.sh"
here=$top_srcdir/tests/clients

cmk_need_module
emu_require || exit $?
"$CMK_PYTHON" -c 'import PyKCS11' 2>/dev/null ||
    cmk_missing "PyKCS11 not importable (apt-get install python3-pykcs11)"
. "$here/node_deps.sh"
node_deps "$here" || cmk_missing "$NODE_MISSING"

CMK_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gcp-interop.XXXXXX") ||
    cmk_error "mktemp"
cleanup() {
    emulator_stop
    [ "${CMK_KEEP_TMP:-0}" = 1 ] || rm -rf "$CMK_TMP"
}
trap cleanup EXIT
T=$CMK_TMP
emulator_start "$T/emu" || cmk_error "emulator did not start"
gcp_clean_env "$T"
umask 077

KEY=$GCP_RING/cryptoKeys/interop
CONTEXT='{"app": "interop", "env": "test"}'
gcp_ring
gcp_key interop
gcp_metadata "$GCP_MD_SA"
gcp_bind "$GCP_MD_SA" "{\"$KEY\": $GCP_KEY_ROLE}"
# The client's token: the same principal as the module's.
GCP_TOKEN=$(emu_ctl gcp_token "{\"principal\": \"$GCP_MD_SA\"}" |
    "$EMU_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') ||
    cmk_error "gcp_token"
cat >"$T/config.json" <<EOF || cmk_error "cannot write the config"
{
  "version": 1,
  "store_dir": "$T/store",
  "http": {"connect_timeout_ms": 1000, "timeout_ms": 6000, "max_attempts": 2},
  "tenants": [$(gcp_tenant acme 1234 "$KEY" ", \"encryption_context\": $CONTEXT")]
}
EOF
export CMK_PKCS11_CONFIG=$T/config.json
DEK=$(od -An -v -tx1 -N32 /dev/urandom | tr -d ' \n')
[ ${#DEK} = 64 ] || cmk_error "DEK"
mod() {
    cmk_host "$CMK_PYTHON" "$here/gcp_module.py" "$@"
}

echo "== (a) the module wraps, Google's client decrypts"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
mod wrap acme 1234 "$DEK" "$T/module.env" || cmk_fail "the module's wrap"
"$CMK_PYTHON" "$here/gcp_module.py" job "$KEY" acme "$CONTEXT" \
    "$T/module.env" >"$T/job.json" || cmk_fail "the module's envelope"
cp "$EMU_DIR/calls.jsonl" "$T/calls-module-encrypt.jsonl"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
NODE_PATH=$NODE_DIR/node_modules EMU_PORT=${EMU_HTTP_URL##*:} \
    GCP_TOKEN=$GCP_TOKEN JOB=$T/job.json DEK=$DEK OUT=$T/client.json \
    node "$here/gcp_interop.js" || cmk_fail "Google's client"
cp "$EMU_DIR/calls.jsonl" "$T/calls-client.jsonl"

echo "== (b) Google's client encrypts, the module unwraps"
"$CMK_PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(j["version"], j["ciphertext"])' "$T/client.json" >"$T/client.txt" ||
    cmk_error "client output"
read -r version ct <"$T/client.txt"
"$CMK_PYTHON" "$here/gcp_module.py" envelope "$KEY" "$version" "$ct" \
    "$T/client.env" || cmk_error "envelope"
emu_ctl reset_calls >/dev/null || cmk_error "reset_calls"
mod unwrap acme 1234 "$DEK" "$T/client.env" || cmk_fail "the module's unwrap"
cp "$EMU_DIR/calls.jsonl" "$T/calls-module-decrypt.jsonl"

echo "== (c) the requests side by side"
PYTHONPATH=$here "$CMK_PYTHON" - "$T" "$KEY" "$GCP_MD_SA" <<'PY' ||
import sys
from urllib.parse import quote
from side_by_side import Checks, load, shape
tmp, key, principal = sys.argv[1:]


def kms(calls, op):
    return [c for c in calls if c["op"] == op]


module_enc = load(tmp, "module-encrypt")
client = load(tmp, "client")
module_dec = load(tmp, "module-decrypt")
check = Checks()
# Exactly these calls, nothing else but the module's metadata token.
check(shape(module_enc) == [("GCP.Metadata", 200), ("GCP.Encrypt", 200)],
      "module, wrap: %s" % shape(module_enc))
check(shape(module_dec) == [("GCP.Metadata", 200), ("GCP.Decrypt", 200)],
      "module, unwrap: %s" % shape(module_dec))
check(shape(client) == [("GCP.Decrypt", 200), ("GCP.Decrypt", 400),
                        ("GCP.Encrypt", 200), ("GCP.Decrypt", 200)],
      "client: %s" % shape(client))
pairs = [("encrypt", kms(module_enc, "GCP.Encrypt")[0],
          kms(client, "GCP.Encrypt")[0]),
         # the client's decrypt of its own ciphertext, which the module
         # decrypted too: the same bytes on both sides
         ("decrypt", kms(module_dec, "GCP.Decrypt")[0],
          kms(client, "GCP.Decrypt")[2])]
ALT = "$alt=json%3Benum-encoding=int"
MEMBERS = {"encrypt": ["additionalAuthenticatedData",
                       "additionalAuthenticatedDataCrc32c", "plaintext",
                       "plaintextCrc32c"],
           "decrypt": ["additionalAuthenticatedData",
                       "additionalAuthenticatedDataCrc32c", "ciphertext",
                       "ciphertextCrc32c"]}
SAME = ("method", "path", "content_type", "auth_scheme", "bearer",
        "principal", "body_members", "member_encodings", "crc32c_members")
for op, m, c in pairs:
    check.same(op, m, c, SAME)
    check((m["method"], m["path"]) == ("POST", "/v1/%s:%s" % (key, op)),
          "%s: POST /v1/KEY:%s" % (op, op))
    check(m["content_type"] == "application/json"
          and m["auth_scheme"] == "Bearer" and m["principal"] == principal,
          "%s: application/json, Bearer token of %s" % (op, principal))
    check(m["body_members"] == MEMBERS[op], "%s members %s" % (
        op, m["body_members"]))
    want = {k: ("decimal-string" if k.endswith("Crc32c") else "base64")
            for k in MEMBERS[op]}
    check(m["member_encodings"] == want,
          "%s: bytes as padded standard base64, CRC32C as decimal strings: "
          "%s" % (op, m["member_encodings"]))
    check(all(isinstance(v, str) for v in m["crc32c_members"].values()),
          "%s: CRC32C members are JSON strings" % op)
    # Client details only.
    check((m["query"], c["query"]) == ("", ALT),
          "%s: query module %r, client %r" % (op, m["query"], c["query"]))
    check("x_goog_api_client" not in m
          and c.get("x_goog_api_client", "").startswith("gax/")
          and "x_goog_request_params" not in m
          and c.get("x_goog_request_params") == "name=" + quote(key,
                                                                safe=""),
          "%s: x-goog-* headers from the client only" % op)
sys.exit(check.fail)
PY
    cmk_fail "requests differ"
echo "PASS"
