#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Google's own Cloud KMS client (@google-cloud/kms 5.6.0, REST fallback,
# google-auth-library) against the emulator's Google routes: gcp_client.js
# makes the calls and checks the answers and error codes, gcp_asym.js
# does the same for asymmetric keys (public keys, signatures verified and
# ciphertexts made by Node's crypto); this script sets the emulator up and
# checks in its call log what the client sent.
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gcp-client.XXXXXX") || exit 99
trap 'emulator_stop; rm -rf "$tmp"' EXIT INT TERM
emulator_start "$tmp/emu" || exit 99

RING=projects/p1/locations/global/keyRings/r1
K1=$RING/cryptoKeys/k1
token() {
	emu_ctl gcp_token "{\"principal\":\"$1\"}" |
		"$EMU_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
{
	emu_ctl gcp_create_key_ring "{\"name\":\"$RING\"}" &&
		emu_ctl gcp_create_key "{\"name\":\"$K1\"}" &&
		emu_ctl gcp_iam "{\"principal\":\"alice@p1.iam\",\"bindings\":{\"$RING\":[\"*\"]}}" &&
		emu_ctl gcp_iam "{\"principal\":\"bob@p1.iam\",\"bindings\":{\"$K1\":[\"encrypt\"]}}" &&
		emu_ctl gcp_iam "{\"principal\":\"sa1@p1.iam.gserviceaccount.com\",\"bindings\":{\"$K1\":[\"encrypt\"]}}"
} >/dev/null || exit 99
GCP_TOKEN=$(token alice@p1.iam) && GCP_BOB_TOKEN=$(token bob@p1.iam) || exit 99

# A service-account key file as Google issues them (token_uri pointed at
# the emulator), its public half registered with the emulator.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$tmp/sa.pem" 2>/dev/null &&
	openssl pkey -in "$tmp/sa.pem" -pubout -out "$tmp/sa.pub" || exit 99
"$EMU_PYTHON" - "$tmp" "$EMU_HTTP_URL" <<'PY' || exit 99
import json, sys
tmp, url = sys.argv[1:]
sa = {"type": "service_account", "project_id": "p1",
      "private_key_id": "kid-emu-1",
      "private_key": open(tmp + "/sa.pem").read(),
      "client_email": "sa1@p1.iam.gserviceaccount.com",
      "client_id": "1", "token_uri": url + "/token"}
json.dump(sa, open(tmp + "/sa.json", "w"))
json.dump({"client_email": sa["client_email"], "key_id": "kid-emu-1",
           "public_key": open(tmp + "/sa.pub").read()},
          open(tmp + "/sa-reg.json", "w"))
PY
emu_ctl gcp_service_account "$(cat "$tmp/sa-reg.json")" >/dev/null || exit 99

NODE_PATH=$NODE_DIR/node_modules EMU_PORT=${EMU_HTTP_URL##*:} \
	GCP_TOKEN=$GCP_TOKEN GCP_BOB_TOKEN=$GCP_BOB_TOKEN \
	GCP_SA_KEY=$tmp/sa.json node "$here/gcp_client.js" || exit 1

# What the client sent, as the emulator logged it.
"$EMU_PYTHON" - "$EMU_DIR/calls.jsonl" "$K1" <<'PY' || exit 1
import json, sys
from urllib.parse import quote
calls = [json.loads(line) for line in open(sys.argv[1])]
k1 = sys.argv[2]
ring = k1.rsplit("/cryptoKeys/", 1)[0]
rot = ring + "/cryptoKeys/rot"
alt = "$alt=json%3Benum-encoding=int"
want = [
    ("GCP.Encrypt", "POST", k1 + ":encrypt", alt, 200,
     ["additionalAuthenticatedData", "additionalAuthenticatedDataCrc32c",
      "plaintext", "plaintextCrc32c"]),
    ("GCP.Decrypt", "POST", k1 + ":decrypt", alt, 200,
     ["additionalAuthenticatedData", "ciphertext", "ciphertextCrc32c"]),
    ("GCP.GetCryptoKey", "GET", k1, alt, 200, []),
    ("GCP.Decrypt", "POST", k1 + ":decrypt", alt, 400,
     ["additionalAuthenticatedData", "ciphertext"]),
    ("GCP.GetCryptoKey", "GET", ring + "/cryptoKeys/none", alt, 404, []),
    ("GCP.CreateCryptoKey", "POST", ring + "/cryptoKeys",
     "cryptoKeyId=rot&" + alt, 200, ["labels", "purpose", "versionTemplate"]),
    ("GCP.Encrypt", "POST", rot + ":encrypt", alt, 200,
     ["additionalAuthenticatedData", "plaintext"]),
    ("GCP.CreateCryptoKeyVersion", "POST", rot + "/cryptoKeyVersions", alt,
     200, []),
    ("GCP.UpdateCryptoKeyPrimaryVersion", "POST",
     rot + ":updatePrimaryVersion", alt, 200, ["cryptoKeyVersionId"]),
    ("GCP.Encrypt", "POST", rot + ":encrypt", alt, 200, ["plaintext"]),
    ("GCP.Decrypt", "POST", rot + ":decrypt", alt, 200,
     ["additionalAuthenticatedData", "ciphertext"]),
    ("GCP.UpdateCryptoKeyVersion", "PATCH", rot + "/cryptoKeyVersions/1",
     "updateMask=state&" + alt, 200, ["state"]),
    ("GCP.Decrypt", "POST", rot + ":decrypt", alt, 400,
     ["additionalAuthenticatedData", "ciphertext"]),
    ("GCP.GetCryptoKey", "GET", k1, alt, 401, None),
    ("GCP.Decrypt", "POST", k1 + ":decrypt", alt, 403,
     ["additionalAuthenticatedData", "ciphertext"]),
    ("GCP.Token", "POST", "/token", "", 200, ["assertion", "grant_type"]),
    ("GCP.Encrypt", "POST", k1 + ":encrypt", alt, 200, ["plaintext"]),
]
got = [(c["op"], c["method"], c["path"] if c["op"] == "GCP.Token"
        else c["path"][len("/v1/"):], c["query"], c["status"],
        c.get("body_members")) for c in calls]
fail = 0
if got != want:
    fail = 1
    print("not ok - call log differs:")
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        print("%s got  %s\n  want %s" % ("  " if g == w else "!!", g, w))
else:
    print("ok - call log: %d requests, methods, paths, queries, members"
          % len(got))
# int64 CRC32C members go out as JSON strings; enums as numbers; the
# routing header names the resource.
crcs = calls[0]["crc32c_members"]
types = sorted({type(v).__name__ for v in crcs.values()})
req_params = calls[0].get("x_goog_request_params")
tok = calls[15]
checks = [
    (types == ["str"], "CRC32C members sent as strings: %s" % crcs),
    (req_params == "name=" + quote(k1, safe=""),
     "x-goog-request-params %s" % req_params),
    (calls[0]["x_goog_api_client"].startswith("gax/"),
     "x-goog-api-client %s" % calls[0].get("x_goog_api_client")),
    (tok["principal"] == "sa1@p1.iam.gserviceaccount.com"
     and tok["jwt_header"] == {"alg": "RS256"}
     and tok["jwt_claims"] == ["aud", "exp", "iat", "iss", "scope"],
     "JWT header %s, claims %s" % (tok.get("jwt_header"),
                                   tok.get("jwt_claims"))),
    # google-auth-library fetched a token, yet authorized the KMS call
    # with a self-signed JWT, as Google's libraries do for service accounts.
    (calls[16]["principal"] == tok["principal"]
     and calls[16]["bearer"] == "self-signed-jwt",
     "KMS call by %s with a %s" % (calls[16]["principal"],
                                   calls[16]["bearer"])),
]
for ok, what in checks:
    print("%s - %s" % ("ok" if ok else "not ok", what))
    fail |= not ok
sys.exit(fail)
PY

# Asymmetric keys through the same client, checked with Node's crypto
# (gcp_asym.js); then what it sent.
emu_ctl reset_calls '{}' >/dev/null || exit 99
NODE_PATH=$NODE_DIR/node_modules EMU_PORT=${EMU_HTTP_URL##*:} \
	GCP_TOKEN=$GCP_TOKEN node "$here/gcp_asym.js" || exit 1
"$EMU_PYTHON" - "$EMU_DIR/calls.jsonl" <<'PY' || exit 1
import json, sys
calls = [json.loads(line) for line in open(sys.argv[1])]
got = {}
for c in calls:
    key = (c["op"], c["status"], tuple(c.get("body_members") or ()))
    got[key] = got.get(key, 0) + 1
want = {
    ("GCP.CreateCryptoKey", 200, ("labels", "purpose", "versionTemplate")): 6,
    ("GCP.GetPublicKey", 200, ()): 6,
    ("GCP.AsymmetricSign", 200, ("digest", "digestCrc32c")): 4,
    ("GCP.AsymmetricDecrypt", 200, ("ciphertext", "ciphertextCrc32c")): 2,
    ("GCP.AsymmetricSign", 400, ("digest",)): 3,
    ("GCP.AsymmetricDecrypt", 400, ("ciphertext",)): 2,
}
if got != want:
    print("not ok - asymmetric call log: %s" % sorted(got.items()))
    sys.exit(1)
sign = [c for c in calls if c["op"] == "GCP.AsymmetricSign"][0]
if sign["member_encodings"] != {"digest": "object",
                                "digestCrc32c": "decimal-string"}:
    print("not ok - asymmetricSign members %s" % sign["member_encodings"])
    sys.exit(1)
print("ok - asymmetric call log: %d requests, members" % len(calls))
PY
