#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Azure's own Key Vault client against the emulator, second half: what the
# client sent, as the emulator's call log has it, against what Key Vault
# and Entra ID expect. Run by test_azure_client.sh.
"""Usage: azure_calls.py CALLS.jsonl TMPDIR TLS_PORT HTTP_PORT

Checks the sequence of requests azure_client.js made (op, method, path with
key versions as V, status, principal, body members) and, request by
request: the api-version query (the SDK writes api%2Dversion), the
x-ms-client-request-id kept across the challenge and the 429 retries, the
waits the Retry-After headers asked for, base64url members, the token
requests' form members, the certificate assertion's header and claims, the
managed-identity queries, and that no secret reached the log.
Exit 0 when all hold, 1 otherwise.
"""

import base64
import hashlib
import json
import re
import subprocess
import sys

# One line a request: op (without "AZ."), method, path ("." for the token
# and openid-configuration paths), status, principal, body members.
MAIN = """
GetKey GET /keys/k1/ 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app1 -
GetKey GET /keys/k1/ 200 app1 -
GetKey GET /keys/k1/V 200 app1 -
WrapKey POST /keys/k1/V/wrapkey 401 - -
WrapKey POST /keys/k1/V/wrapkey 200 app1 alg,value
UnwrapKey POST /keys/k1/V/unwrapkey 200 app1 alg,value
UnwrapKey POST /keys/k1/V/unwrapkey 200 app1 alg,value
GetKey GET /keys/k1/V 401 - -
GetKey GET /keys/k1/V 200 app1 -
Encrypt POST /keys/k1/V/encrypt 200 app1 alg,value
Decrypt POST /keys/k1/V/decrypt 200 app1 alg,value
ImportKey PUT /keys/imp4096 200 app1 attributes,key
WrapKey POST /keys/imp4096/V/wrapkey 401 - -
WrapKey POST /keys/imp4096/V/wrapkey 200 app1 alg,value
CreateKey POST /keys/made4096/create 200 app1 attributes,key_size,kty
RotateKey POST /keys/made4096/rotate 200 app1 {}
GetKey GET /keys/made4096/ 200 app1 -
GetKey GET /keys/aes1/ 401 - -
Token POST . 200 app1 -
GetKey GET /keys/aes1/ 200 app1 -
ImportKey PUT /keys/kw 200 app1 attributes,key
GetKey GET /keys/kw/V 401 - -
GetKey GET /keys/kw/V 200 app1 -
WrapKey POST /keys/kw/V/wrapkey 200 app1 alg,value
UnwrapKey POST /keys/kw/V/unwrapkey 200 app1 alg,value
GetKey GET /keys/kw/V 401 - -
GetKey GET /keys/kw/V 200 app1 -
WrapKey POST /keys/kw/V/wrapkey 200 app1 alg,value
UnwrapKey POST /keys/kw/V/unwrapkey 200 app1 alg,value
GetKey GET /keys/kw/V 401 - -
GetKey GET /keys/kw/V 200 app1 -
Encrypt POST /keys/kw/V/encrypt 200 app1 aad,alg,value
Decrypt POST /keys/kw/V/decrypt 200 app1 aad,alg,iv,tag,value
Decrypt POST /keys/kw/V/decrypt 400 app1 aad,alg,iv,tag,value
CreateKey POST /keys/made-aes/create 200 app1 attributes,key_size,kty
GetKey GET /keys/none/ 404 app1 -
UpdateKey PATCH /keys/dis/ 200 app1 attributes
GetKey GET /keys/dis/ 403 app1 -
GetKey GET /keys/dis/ 401 - -
GetKey GET /keys/dis/ 403 app1 -
WrapKey POST /keys/dis/wrapkey 403 app1 alg,value
UpdateKey PATCH /keys/dis/ 200 app1 attributes
GetKey GET /keys/dis/ 200 app1 -
UpdateKey PATCH /keys/exp/ 200 app1 attributes
GetKey GET /keys/exp/ 401 - -
GetKey GET /keys/exp/ 200 app1 -
GetKey GET /keys/exp/ 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app-crypto -
GetKey GET /keys/exp/ 403 app-crypto -
WrapKey POST /keys/exp/wrapkey 403 app-crypto alg,value
GetKey GET /keys/exp/ 200 app1 -
UnwrapKey POST /keys/exp/unwrapkey 200 app-crypto alg,value
GetKey GET /keys/k1/ 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app-limited -
GetKey GET /keys/k1/ 200 app-limited -
UnwrapKey POST /keys/k1/V/unwrapkey 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app-limited -
UnwrapKey POST /keys/k1/V/unwrapkey 403 app-limited -
GetKey GET /keys/k1/ 429 - -
GetKey GET /keys/k1/ 200 app1 -
GetKey GET /keys/k1/ 429 - -
GetKey GET /keys/k1/ 200 app1 -
GetKey GET /keys/k1/ 429 - -
GetKey GET /keys/k1/ 200 app1 -
GetKey GET /keys/k1/ 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app-cert -
GetKey GET /keys/k1/ 200 app-cert -
GetKey GET /keys/k1/ 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app-wi -
GetKey GET /keys/k1/ 200 app-wi -
"""
IMDS = """
GetKey GET /keys/k1/ 401 - -
IMDS GET /metadata/identity/oauth2/token/ 200 mi-sys -
GetKey GET /keys/k1/ 200 mi-sys -
GetKey GET /keys/k1/ 401 - -
IMDS GET /metadata/identity/oauth2/token/ 200 mi-user -
GetKey GET /keys/k1/ 200 mi-user -
WrapKey POST /keys/k1/wrapkey 200 mi-user alg,value
UnwrapKey POST /keys/k1/unwrapkey 200 mi-user alg,value
"""
APP_SERVICE = """
GetKey GET /keys/k1/ 401 - -
AppService GET /msi/token 200 mi-sys -
GetKey GET /keys/k1/ 200 mi-sys -
GetKey GET /keys/k1/ 401 - -
AppService GET /msi/token 200 mi-user -
GetKey GET /keys/k1/ 200 mi-user -
WrapKey POST /keys/k1/wrapkey 200 mi-user alg,value
UnwrapKey POST /keys/k1/unwrapkey 200 mi-user alg,value
"""
# azure_client.js keypairs, after the three above.
KEY_PAIRS = """
CreateKey POST /keys/ec32/create 401 - -
OpenIdConfig GET . 200 - -
Token POST . 200 app1 -
CreateKey POST /keys/ec32/create 200 app1 attributes,crv,kty
GetKey GET /keys/ec32/V 401 - -
GetKey GET /keys/ec32/V 200 app1 -
Sign POST /keys/ec32/V/sign 200 app1 alg,value
Verify POST /keys/ec32/V/verify 200 app1 alg,digest,value
Verify POST /keys/ec32/V/verify 200 app1 alg,digest,value
CreateKey POST /keys/ec48/create 200 app1 attributes,crv,kty
GetKey GET /keys/ec48/V 401 - -
GetKey GET /keys/ec48/V 200 app1 -
Sign POST /keys/ec48/V/sign 200 app1 alg,value
Verify POST /keys/ec48/V/verify 200 app1 alg,digest,value
Verify POST /keys/ec48/V/verify 200 app1 alg,digest,value
CreateKey POST /keys/ec66/create 200 app1 attributes,crv,kty
GetKey GET /keys/ec66/V 401 - -
GetKey GET /keys/ec66/V 200 app1 -
Sign POST /keys/ec66/V/sign 200 app1 alg,value
Verify POST /keys/ec66/V/verify 200 app1 alg,digest,value
Verify POST /keys/ec66/V/verify 200 app1 alg,digest,value
GetKey GET /keys/ec32/ 200 app1 -
GetKey GET /keys/ec32/V 401 - -
GetKey GET /keys/ec32/V 200 app1 -
Sign POST /keys/ec32/V/sign 400 app1 alg,value
Sign POST /keys/ec32/V/sign 400 app1 alg,value
CreateKey POST /keys/rsapair/create 200 app1 attributes,key_size,kty
GetKey GET /keys/rsapair/V 401 - -
GetKey GET /keys/rsapair/V 200 app1 -
Sign POST /keys/rsapair/V/sign 200 app1 alg,value
Sign POST /keys/rsapair/V/sign 200 app1 alg,value
Sign POST /keys/rsapair/V/sign 200 app1 alg,value
Sign POST /keys/rsapair/V/sign 200 app1 alg,value
Decrypt POST /keys/rsapair/V/decrypt 200 app1 alg,value
Decrypt POST /keys/rsapair/V/decrypt 200 app1 alg,value
UpdateKey PATCH /keys/rsapair/V 200 app1 attributes,key_ops
Decrypt POST /keys/rsapair/V/decrypt 403 app1 alg,value
"""
VERSION = re.compile(r"[0-9a-f]{32}")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                  r"[0-9a-f]{12}$")
VAULT_OPS = ("AZ.GetKey", "AZ.CreateKey", "AZ.ImportKey", "AZ.UpdateKey",
             "AZ.RotateKey", "AZ.WrapKey", "AZ.UnwrapKey", "AZ.Encrypt",
             "AZ.Decrypt", "AZ.Sign", "AZ.Verify")
BINARY = ("value", "iv", "aad", "tag")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MSAL_MEMBERS = ["claims", "client-request-id", "client_id", "grant_type",
                "scope", "x-client-CPU", "x-client-OS", "x-client-SKU",
                "x-client-VER", "x-client-current-telemetry",
                "x-client-last-telemetry", "x-ms-lib-capability"]

failed = 0


def check(ok, what):
    global failed
    print("%s - %s" % ("ok" if ok else "not ok", what))
    failed |= not ok


def row(c):
    path = VERSION.sub("V", c["path"])
    if c["op"] in ("AZ.Token", "AZ.OpenIdConfig"):
        path = "."
    members = "-"
    if c["op"] != "AZ.Token" and c.get("body_members") is not None:
        members = ",".join(c["body_members"]) or "{}"
    return "%s %s %s %s %s %s" % (c["op"][3:], c["method"], path,
                                  c["status"], c["principal"] or "-",
                                  members)


def rows(text):
    want = text.split()
    return [" ".join(want[i:i + 6]) for i in range(0, len(want), 6)]


def sequence(calls, text):
    want = rows(text)
    got = [row(c) for c in calls]
    check(got == want, "call log: %d requests in order (op, method, path, "
          "status, principal, members)" % len(want))
    if got != want:
        for i in range(max(len(got), len(want))):
            g = got[i] if i < len(got) else None
            w = want[i] if i < len(want) else None
            print("#%s %3d got  %s\n#       want %s"
                  % ("  " if g == w else "!!", i, g, w))


def vault_requests(calls):
    vault = [c for c in calls if c["op"] in VAULT_OPS]
    check(all(c["query"] == "api%2Dversion=7.6" and c["api_version"] == "7.6"
              for c in vault), "api%2Dversion=7.6 on every vault request")
    check(all(UUID.match(c["x_ms_client_request_id"] or "")
              for c in vault), "x-ms-client-request-id, a uuid, on each")
    check(all((c["user_agent"] or "").startswith(
        "azsdk-js-keyvault-keys/4.10.0 ") for c in vault), "User-Agent")
    bodies = [c for c in vault if c.get("body_members")]
    check(all(c["content_type"] == "application/json" for c in bodies),
          "Content-Type application/json on every body")
    enc = [(k, v) for c in bodies for k, v in
           (c.get("member_encodings") or {}).items() if k in BINARY]
    check(len(enc) == 27 and all(v == "base64url" for _, v in enc),
          "%d binary members, all base64url without padding" % len(enc))
    algs = sorted({c["alg"] for c in bodies if c.get("alg")})
    check(algs == ["A256GCM", "A256KW", "CKM_AES_KEY_WRAP_PAD",
                   "RSA-OAEP-256"], "algorithms sent: %s" % algs)
    # The challenge: the 401 is answered by the same request, same id,
    # now with a bearer token.
    pairs = [(a, b) for a, b in zip(vault, vault[1:]) if a["status"] == 401]
    check(len(pairs) == 19 and all(
        a["auth_scheme"] is None and b["auth_scheme"] == "Bearer" and
        a["x_ms_client_request_id"] == b["x_ms_client_request_id"] and
        a["path"] == b["path"] for a, b in pairs),
        "%d challenges, each repeated with a token and the same "
        "client request id" % len(pairs))


def key_pairs(calls):
    """What the keypairs run sent: the algorithms in order, every binary
    member (value, digest) base64url, and the vault's refusals."""
    sent = [c for c in calls if c["op"] in ("AZ.Sign", "AZ.Verify",
                                            "AZ.Decrypt")]
    enc = [v for c in sent for k, v in
           (c.get("member_encodings") or {}).items() if k in BINARY +
           ("digest",)]
    check(len(enc) == 24 and all(v == "base64url" for v in enc),
          "key pairs: %d binary members, all base64url" % len(enc))
    algs = [c.get("alg") for c in sent]
    check(algs == ["ES256", "ES256", "ES256", "ES384", "ES384", "ES384",
                   "ES512", "ES512", "ES512", "ES384", "ES256", "RS256",
                   "RS512", "PS256", "PS384", "RSA-OAEP", "RSA-OAEP-256",
                   "RSA-OAEP-256"], "key pairs: algorithms %s" % algs)
    errs = [(c["status"], c["error"]) for c in calls if c["status"] >= 400
            and c["status"] != 401]
    check(errs == [(400, "BadParameter"), (400, "BadParameter"),
                   (403, "KeyOperationForbidden")],
          "key pairs: refusals %s" % errs)


def throttling(calls):
    got = []
    for i, c in enumerate(calls):
        if c["status"] == 429:
            nxt = calls[i + 1]
            got.append((c["retry_after"], nxt["status"],
                        nxt["x_ms_client_request_id"] ==
                        c["x_ms_client_request_id"],
                        nxt["time"] - c["time"]))
    want = [{"Retry-After": "2"}, {"retry-after-ms": "1500"},
            {"x-ms-retry-after-ms": "1500"}]
    check([g[:3] for g in got] == [(w, 200, True) for w in want],
          "429 answers %s, each retried once with the same id"
          % [g[0] for g in got])
    waits = [round(g[3], 2) for g in got]
    # Not before the time asked; the upper bound only tells a wait for the
    # header from none (a busy machine may add seconds).
    check(len(waits) == 3 and 1.95 <= waits[0] < 8 and
          all(1.45 <= w < 8 for w in waits[1:]),
          "waits before the retries: %s s (2, 1.5, 1.5 asked)" % waits)


def thumbprint(pem_path):
    der = subprocess.run(["openssl", "x509", "-in", pem_path, "-outform",
                          "DER"], capture_output=True, check=True).stdout
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(
        b"=").decode()


def tokens(calls, tmp, tls_port):
    tok = [c for c in calls if c["op"] == "AZ.Token"]
    check([(c["principal"], c["client_auth"], c["scope"]) for c in tok] ==
          [("app1", "secret", "https://vault.azure.net/.default"),
           ("app1", "secret", "https://managedhsm.azure.net/.default"),
           ("app-crypto", "secret", "https://vault.azure.net/.default"),
           ("app-limited", "secret", "https://vault.azure.net/.default"),
           ("app-limited", "secret", "https://vault.azure.net/.default"),
           ("app-cert", "certificate", "https://vault.azure.net/.default"),
           ("app-wi", "federated", "https://vault.azure.net/.default")],
          "token requests: who, how, scope")
    check(all(c["grant_type"] == "client_credentials" and
              c["content_type"] ==
              "application/x-www-form-urlencoded;charset=utf-8" and
              c["query"].startswith("client-request-id=") and
              UUID.match(c["query"][len("client-request-id="):]) and
              UUID.match(c["x_ms_client_request_id"] or "")
              for c in tok), "client_credentials form posts, MSAL's "
          "client-request-id in the query (not the pipeline's "
          "x-ms-client-request-id)")
    secret = sorted(MSAL_MEMBERS + ["client_secret"])
    assertion = sorted(MSAL_MEMBERS + ["client_assertion",
                                       "client_assertion_type"])
    check([c["body_members"] for c in tok] == [secret] * 5 + [assertion] * 2,
          "form members (MSAL's telemetry included)")
    check(all(c.get("client_assertion_type") == ASSERTION_TYPE
              for c in tok[5:]), "client_assertion_type")
    cert = tok[5]
    check(cert["jwt_header"] == {"alg": "PS256", "typ": "JWT",
                                 "x5t#S256": thumbprint(tmp + "/cert.pem")},
          "certificate assertion header %s" % cert["jwt_header"])
    check(cert["jwt_claims"] == ["aud", "exp", "iat", "iss", "jti", "nbf",
                                 "sub"],
          "certificate assertion claims %s" % cert["jwt_claims"])
    openid = [c for c in calls if c["op"] == "AZ.OpenIdConfig"]
    check([c["path"] for c in openid] ==
          ["/t1/v2.0/.well-known/openid-configuration"] * 6,
          "MSAL read the openid configuration once per credential")


def managed_identity(calls, http_port):
    kv = "https%3A%2F%2Fvault.azure.net"
    imds = [(c["path"], c["query"], c["metadata_header"], c["identity"])
            for c in calls if c["op"] == "AZ.IMDS"]
    path = "/metadata/identity/oauth2/token/"
    check(imds == [(path, "api-version=2018-02-01&resource=" + kv, "true",
                    "system"),
                   (path, "api-version=2018-02-01&resource=%s&client_id="
                    "mi-user" % kv, "true", "client_id")],
          "IMDS requests %s" % imds)
    app = [(c["path"], c["query"], c["identity_header"], c["identity"])
           for c in calls if c["op"] == "AZ.AppService"]
    check(app == [("/msi/token", "api-version=2019-08-01&resource=" + kv,
                   True, "system"),
                  ("/msi/token", "api-version=2019-08-01&resource=%s&"
                   "client_id=mi-user" % kv, True, "client_id")],
          "App Service requests %s" % app)


def no_secrets(raw, tmp):
    secrets = [open(tmp + "/secret").read().strip(), "limited-secret",
               "crypto-secret", open(tmp + "/federated").read().strip(),
               "app-svc-header"]
    check(not any(s in raw for s in secrets),
          "no client secret, federated token or identity header logged")


def main():
    path, tmp, tls_port, http_port = sys.argv[1:5]
    raw = open(path).read()
    calls = [json.loads(line) for line in raw.splitlines()]
    n = len(rows(MAIN + IMDS + APP_SERVICE))
    sequence(calls[:n], MAIN + IMDS + APP_SERVICE)
    sequence(calls[n:], KEY_PAIRS)
    key_pairs(calls[n:])
    calls = calls[:n]
    vault_requests(calls)
    throttling(calls)
    tokens(calls, tmp, tls_port)
    managed_identity(calls, http_port)
    no_secrets(raw, tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
