#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests, Google Cloud KMS REST v1: CRC32C vectors, encrypt,
# decrypt, get, admin routes, bearer tokens, IAM, token endpoints, faults.
"""End-to-end tests of the emulator's Google Cloud KMS routes through its
sockets, standard library plus python3-cryptography (for the service
account's JWT). Exit 0 pass, 1 fail, 77 skip (99 under CI=true when
prerequisites are missing).
"""

import base64
import calendar
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_emulator import eq, run_suite  # noqa: E402

P = "projects/p1/locations/global"
RING = P + "/keyRings/r1"
K1 = RING + "/cryptoKeys/k1"
HSM = RING + "/cryptoKeys/hsm1"
JSON_CT = "application/json; charset=UTF-8"
# RFC 3720 B.4 and the usual check value.
CRC_VECTORS = [
    (b"123456789", 0xE3069283),
    (b"", 0),
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (bytes.fromhex("01c00000000000000000000000000000"
                   "14000000000004000000001400000018"
                   "28000000000000000200000000000000"), 0xD9963A56),
]


def b64(data):
    return base64.b64encode(data).decode()


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Suite:
    def __init__(self, emu):
        from crc32c import crc32c
        self.crc = crc32c
        self.emu = emu
        emu.ctl("gcp_create_key_ring", {"name": RING})
        emu.ctl("gcp_create_key", {"name": K1})
        emu.ctl("gcp_create_key", {"name": HSM, "protection_level": "HSM"})
        emu.ctl("gcp_iam", {"principal": "alice@p1.iam",
                            "bindings": {RING: ["*"]}})
        emu.ctl("gcp_iam", {"principal": "bob@p1.iam",
                            "bindings": {K1: ["encrypt"]}})
        self.alice = self.token("alice@p1.iam")
        self.bob = self.token("bob@p1.iam")

    def token(self, principal, **kw):
        return self.emu.ctl("gcp_token", dict(kw, principal=principal))[
            "access_token"]

    def call(self, method, name, body=None, token=None, query="",
             raw=None, headers=None):
        hdrs = {"Content-Type": "application/json"}
        if token is not False:
            hdrs["Authorization"] = "Bearer " + (token or self.alice)
        hdrs.update(headers or {})
        data = raw if raw is not None else (
            b"" if body is None else json.dumps(body).encode())
        return self.emu.request(method, "/v1/" + name + query, data, hdrs)

    def encrypt(self, name, pt, aad=None, token=None, **crcs):
        body = {"plaintext": b64(pt)}
        if aad is not None:
            body["additionalAuthenticatedData"] = b64(aad)
        body.update(crcs)
        return self.call("POST", name + ":encrypt", body, token)

    def decrypt(self, name, ct, aad=None, token=None, **crcs):
        body = {"ciphertext": ct}
        if aad is not None:
            body["additionalAuthenticatedData"] = b64(aad)
        body.update(crcs)
        return self.call("POST", name + ":decrypt", body, token)

    def error(self, r, http, status, message=None):
        eq(r.status, http, "HTTP status (%s)" % r.raw[:300])
        eq(r.headers.get("Content-Type"), JSON_CT, "error content type")
        err = r.json()["error"]
        eq(sorted(err), ["code", "message", "status"], "error members")
        eq((err["code"], err["status"]), (http, status), "error code/status")
        if message is not None:
            eq(err["message"], message, "error message")

    # -- tests --------------------------------------------------------------
    def test_crc32c_vectors(self):
        for data, want in CRC_VECTORS:
            eq(self.crc(data), want, "crc32c(%r)" % data[:12])
        eq(self.crc(b"6789", self.crc(b"12345")), 0xE3069283, "continued")

    def test_encrypt_decrypt(self):
        r = self.encrypt(K1, b"hello", b"tenant=t1")
        eq(r.status, 200, "encrypt")
        eq(r.headers.get("Content-Type"), JSON_CT, "content type")
        out = r.json()
        eq(sorted(out), ["ciphertext", "ciphertextCrc32c", "name",
                         "protectionLevel"], "encrypt members, no CRC sent")
        eq(out["name"], K1 + "/cryptoKeyVersions/1", "version used")
        eq(out["protectionLevel"], "SOFTWARE", "protectionLevel")
        ct = base64.b64decode(out["ciphertext"])
        eq(len(ct), 1 + 16 + 4 + 12 + 5 + 16, "ciphertext length")
        eq(out["ciphertextCrc32c"], str(self.crc(ct)), "ciphertextCrc32c")
        r = self.decrypt(K1, out["ciphertext"], b"tenant=t1")
        eq(r.status, 200, "decrypt")
        eq(r.json(), {"plaintext": b64(b"hello"),
                      "plaintextCrc32c": str(self.crc(b"hello")),
                      "usedPrimary": True, "protectionLevel": "SOFTWARE"},
           "decrypt answer")
        r = self.call("POST", K1 + "/cryptoKeyVersions/1:encrypt",
                      {"plaintext": b64(b"x")})
        eq((r.status, r.json()["name"]), (200, K1 + "/cryptoKeyVersions/1"),
           "encrypt with a version name")
        # An empty plaintext is allowed, a missing one is not.
        eq(self.encrypt(K1, b"").status, 200, "empty plaintext")
        self.error(self.call("POST", K1 + ":encrypt", {}), 400,
                   "INVALID_ARGUMENT", "plaintext is required.")

    def test_crc32c_fields(self):
        pt, aad = b"hello", b"ctx"
        r = self.encrypt(K1, pt, aad, plaintextCrc32c=str(self.crc(pt)),
                         additionalAuthenticatedDataCrc32c=str(
                             self.crc(aad)))
        out = r.json()
        eq((out["verifiedPlaintextCrc32c"],
            out["verifiedAdditionalAuthenticatedDataCrc32c"]), (True, True),
           "verified flags")
        r = self.encrypt(K1, pt, aad, plaintextCrc32c=self.crc(pt))
        eq(("verifiedPlaintextCrc32c" in r.json(),
            "verifiedAdditionalAuthenticatedDataCrc32c" in r.json()),
           (True, False), "number accepted; AAD flag absent without CRC")
        self.error(self.encrypt(K1, pt, plaintextCrc32c=str(
            self.crc(pt) + 1)), 400, "INVALID_ARGUMENT",
            "The checksum in field plaintextCrc32c did not match the data "
            "in field plaintext.")
        self.error(self.encrypt(K1, pt, aad,
                                additionalAuthenticatedDataCrc32c="1"),
                   400, "INVALID_ARGUMENT")
        ct = out["ciphertext"]
        self.error(self.decrypt(K1, ct, aad, ciphertextCrc32c=str(
            self.crc(base64.b64decode(ct)) ^ 1)), 400, "INVALID_ARGUMENT",
            "The checksum in field ciphertextCrc32c did not match the data "
            "in field ciphertext.")
        r = self.decrypt(K1, ct, aad, ciphertextCrc32c=str(
            self.crc(base64.b64decode(ct))))
        eq(r.json()["plaintext"], b64(pt), "decrypt with CRC")
        self.error(self.encrypt(K1, pt, plaintextCrc32c="x"), 400,
                   "INVALID_ARGUMENT")

    def test_aad_and_bad_ciphertext(self):
        bad = ("Decryption failed: verify that 'name' refers to the correct "
               "CryptoKey.")
        ct = self.encrypt(K1, b"secret", b"aad-1").json()["ciphertext"]
        self.error(self.decrypt(K1, ct, b"aad-2"), 400, "INVALID_ARGUMENT",
                   bad)
        self.error(self.decrypt(K1, ct), 400, "INVALID_ARGUMENT", bad)
        raw = bytearray(base64.b64decode(ct))
        raw[-1] ^= 1
        self.error(self.decrypt(K1, b64(bytes(raw)), b"aad-1"), 400,
                   "INVALID_ARGUMENT", bad)
        self.error(self.decrypt(K1, b64(b"short"), b"aad-1"), 400,
                   "INVALID_ARGUMENT", bad)
        # Another key's ciphertext.
        hct = self.encrypt(HSM, b"secret", b"aad-1").json()["ciphertext"]
        self.error(self.decrypt(K1, hct, b"aad-1"), 400, "INVALID_ARGUMENT",
                   bad)
        self.error(self.call("POST", K1 + ":decrypt",
                             {"ciphertext": "not base64!"}), 400,
                   "INVALID_ARGUMENT")
        self.error(self.call("POST", K1 + ":encrypt", raw=b"{nope"), 400,
                   "INVALID_ARGUMENT", "Invalid JSON payload received. "
                   "Unexpected token.")

    def test_sizes(self):
        eq(self.encrypt(K1, b"a" * 65536).status, 200, "64 KiB plaintext")
        self.error(self.encrypt(K1, b"a" * 65537), 400, "INVALID_ARGUMENT",
                   "The request field 'plaintext' must be at most 65536 "
                   "bytes.")
        self.error(self.encrypt(K1, b"a", b"b" * 65537), 400,
                   "INVALID_ARGUMENT")
        r = self.encrypt(HSM, b"a" * 4096, b"b" * 4096)
        eq((r.status, r.json()["protectionLevel"]), (200, "HSM"),
           "HSM 8 KiB")
        self.error(self.encrypt(HSM, b"a" * 4097, b"b" * 4096), 400,
                   "INVALID_ARGUMENT", "The combined length of the plaintext "
                   "and additionalAuthenticatedData fields must be at most "
                   "8192 bytes for HSM keys.")

    def test_get_crypto_key(self):
        r = self.call("GET", K1)
        eq(r.status, 200, "get")
        out = r.json()
        eq(sorted(out), ["createTime", "destroyScheduledDuration", "name",
                         "primary", "purpose", "versionTemplate"], "members")
        eq((out["name"], out["purpose"]), (K1, "ENCRYPT_DECRYPT"), "name")
        eq(out["versionTemplate"], {"protectionLevel": "SOFTWARE",
                                    "algorithm":
                                        "GOOGLE_SYMMETRIC_ENCRYPTION"},
           "versionTemplate")
        prim = out["primary"]
        eq((prim["name"], prim["state"], prim["protectionLevel"],
            prim["algorithm"]), (K1 + "/cryptoKeyVersions/1", "ENABLED",
                                 "SOFTWARE", "GOOGLE_SYMMETRIC_ENCRYPTION"),
           "primary")
        r = self.call("GET", HSM, query="?$alt=json%3Benum-encoding=int")
        eq((r.json()["purpose"], r.json()["primary"]["state"],
            r.json()["primary"]["protectionLevel"]), (1, 1, 2),
           "enum-encoding=int")
        self.error(self.call("GET", RING + "/cryptoKeys/none"), 404,
                   "NOT_FOUND", "CryptoKey %s/cryptoKeys/none not found."
                   % RING)

    def test_rotation_and_states(self):
        k = RING + "/cryptoKeys/rot"
        self.emu.ctl("gcp_create_key", {"name": k})
        old = self.encrypt(k, b"v1 data", b"a").json()["ciphertext"]
        r = self.call("POST", k + "/cryptoKeyVersions", {})
        eq((r.status, r.json()["name"], r.json()["state"]),
           (200, k + "/cryptoKeyVersions/2", "ENABLED"), "create version")
        r = self.call("POST", k + ":updatePrimaryVersion",
                      {"cryptoKeyVersionId": "2"})
        eq((r.status, r.json()["primary"]["name"]),
           (200, k + "/cryptoKeyVersions/2"), "updatePrimaryVersion")
        new = self.encrypt(k, b"v2 data", b"a").json()
        eq(new["name"], k + "/cryptoKeyVersions/2", "encrypt uses v2")
        r = self.decrypt(k, old, b"a")
        eq(r.json(), {"plaintext": b64(b"v1 data"),
                      "plaintextCrc32c": str(self.crc(b"v1 data")),
                      "protectionLevel": "SOFTWARE"},
           "old ciphertext after rotation (usedPrimary absent)")
        eq(self.decrypt(k, new["ciphertext"], b"a").json()["usedPrimary"],
           True, "usedPrimary")
        r = self.call("PATCH", k + "/cryptoKeyVersions/1",
                      {"state": "DISABLED"}, query="?updateMask=state")
        eq((r.status, r.json()["state"]), (200, "DISABLED"), "disable v1")
        self.error(self.decrypt(k, old, b"a"), 400, "FAILED_PRECONDITION",
                   "%s/cryptoKeyVersions/1 is not enabled, current state "
                   "is: DISABLED." % k)
        self.error(self.call("POST", k + "/cryptoKeyVersions/1:encrypt",
                             {"plaintext": ""}), 400, "FAILED_PRECONDITION")
        self.error(self.call("POST", k + ":updatePrimaryVersion",
                             {"cryptoKeyVersionId": "1"}), 400,
                   "FAILED_PRECONDITION")
        self.call("PATCH", k + "/cryptoKeyVersions/1", {"state": "ENABLED"},
                  query="?updateMask=state")
        eq(self.decrypt(k, old, b"a").status, 200, "enabled again")
        r = self.call("POST", k + "/cryptoKeyVersions/1:destroy", {})
        eq((r.status, r.json()["state"]), (200, "DESTROY_SCHEDULED"),
           "destroy")
        self.error(self.decrypt(k, old, b"a"), 400, "FAILED_PRECONDITION",
                   "%s/cryptoKeyVersions/1 is not enabled, current state "
                   "is: DESTROY_SCHEDULED." % k)
        out = self.emu.ctl("gcp_destroy_version", {
            "name": k + "/cryptoKeyVersions/1", "now": True})
        eq(out["state"], "DESTROYED", "destroyed at once")
        self.error(self.decrypt(k, old, b"a"), 400, "FAILED_PRECONDITION",
                   "%s/cryptoKeyVersions/1 is not enabled, current state "
                   "is: DESTROYED." % k)
        self.error(self.call("PATCH", k + "/cryptoKeyVersions/9",
                             {"state": "ENABLED"}, query="?updateMask=state"),
                   404, "NOT_FOUND")

    def test_admin_routes(self):
        # alice's binding is on r1: no key ring creation in the location.
        r = self.call("POST", P + "/keyRings", {}, query="?keyRingId=r2")
        self.error(r, 403, "PERMISSION_DENIED", "Permission 'cloudkms."
                   "cryptoKeys.update' denied on resource '%s' (or it may "
                   "not exist)." % P)
        self.emu.ctl("gcp_iam", {"principal": "admin@p1.iam",
                                 "bindings": {P: ["admin", "get"]}})
        adm = self.token("admin@p1.iam")
        r = self.call("POST", P + "/keyRings", {}, adm, "?keyRingId=r2")
        eq((r.status, r.json()["name"]), (200, P + "/keyRings/r2"), "ring")
        self.error(self.call("POST", P + "/keyRings", {}, adm,
                             "?keyRingId=r2"), 409, "ALREADY_EXISTS")
        r = self.call("POST", P + "/keyRings/r2/cryptoKeys", {
            "purpose": "ENCRYPT_DECRYPT",
            "versionTemplate": {"protectionLevel": "HSM",
                                "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"}},
            adm, "?cryptoKeyId=k9")
        eq((r.status, r.json()["primary"]["protectionLevel"]), (200, "HSM"),
           "create key")
        self.error(self.call("POST", P + "/keyRings/r2/cryptoKeys", {
            "purpose": "ASYMMETRIC_SIGN"}, adm, "?cryptoKeyId=k8"), 400,
            "INVALID_ARGUMENT")
        self.error(self.call("POST", P + "/keyRings/r9/cryptoKeys", {},
                             adm, "?cryptoKeyId=k8"), 404, "NOT_FOUND")
        self.error(self.encrypt(P + "/keyRings/r2/cryptoKeys/k9", b"x",
                                token=adm), 403, "PERMISSION_DENIED")

    def test_auth_and_iam(self):
        self.error(self.call("GET", K1, token=False), 401, "UNAUTHENTICATED")
        self.error(self.call("GET", K1, token="ya29.unknown"), 401,
                   "UNAUTHENTICATED", "Request had invalid authentication "
                   "credentials. Expected OAuth 2 access token, login cookie "
                   "or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/"
                   "devconsole-project.")
        short = self.token("alice@p1.iam", expires_in=1)
        eq(self.call("GET", K1, token=short).status, 200, "fresh token")
        self.emu.ctl("gcp_expire_token", {"token": short})
        self.error(self.call("GET", K1, token=short), 401, "UNAUTHENTICATED")
        one = self.token("carol@p1.iam")
        two = self.token("carol@p1.iam")
        self.emu.ctl("gcp_iam", {"principal": "carol@p1.iam",
                                 "bindings": {K1: ["get"]}})
        eq(self.call("GET", K1, token=two).status, 200, "carol's token")
        eq(self.emu.ctl("gcp_expire_token", {"principal": "carol@p1.iam"}),
           {"expired": 2}, "expire every token of a principal")
        for t in (one, two):
            self.error(self.call("GET", K1, token=t), 401, "UNAUTHENTICATED")
        eq(self.call("GET", K1).status, 200, "another principal's token")
        eq(self.encrypt(K1, b"x", token=self.bob).status, 200, "bob encrypt")
        ct = self.encrypt(K1, b"x").json()["ciphertext"]
        self.error(self.decrypt(K1, ct, token=self.bob), 403,
                   "PERMISSION_DENIED", "Permission 'cloudkms.cryptoKey"
                   "Versions.useToDecrypt' denied on resource '%s' (or it "
                   "may not exist)." % K1)
        self.error(self.encrypt(HSM, b"x", token=self.bob), 403,
                   "PERMISSION_DENIED")
        self.error(self.call("GET", K1, token=self.bob), 403,
                   "PERMISSION_DENIED", "Permission 'cloudkms.cryptoKeys.get"
                   "' denied on resource '%s' (or it may not exist)." % K1)
        # Unknown key without permission: 403 (Google hides existence).
        self.error(self.encrypt(RING + "x/cryptoKeys/k1", b"x"), 403,
                   "PERMISSION_DENIED")
        self.emu.ctl("gcp_iam", {"principal": "bob@p1.iam",
                                 "bindings": {"x": ["bogus"]}}, expect=400)

    def test_jwt_bearer(self):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        sa = "sa1@p1.iam.gserviceaccount.com"
        self.emu.ctl("gcp_service_account", {"client_email": sa,
                                             "key_id": "kid1",
                                             "public_key": pem})
        self.emu.ctl("gcp_iam", {"principal": sa,
                                 "bindings": {K1: ["encrypt"]}})
        aud = "http://%s/token" % self.emu.host
        now = int(time.time())

        def jwt(header=None, **claims):
            h = dict({"alg": "RS256", "typ": "JWT", "kid": "kid1"},
                     **(header or {}))
            c = dict({"iss": sa, "aud": aud, "iat": now, "exp": now + 3600,
                      "scope": "https://www.googleapis.com/auth/"
                               "cloud-platform"}, **claims)
            signing = b64u(json.dumps(h).encode()) + "." + b64u(
                json.dumps(c).encode())
            sig = key.sign(signing.encode(), padding.PKCS1v15(),
                           hashes.SHA256())
            return signing + "." + b64u(sig)

        def post(assertion, grant="urn:ietf:params:oauth:grant-type:"
                                  "jwt-bearer"):
            return self.emu.request("POST", "/token", urllib.parse.urlencode(
                {"grant_type": grant, "assertion": assertion}).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})

        r = post(jwt())
        eq(r.status, 200, "token (%s)" % r.raw)
        out = r.json()
        eq((sorted(out), out["token_type"], out["expires_in"]),
           (["access_token", "expires_in", "token_type"], "Bearer", 3600),
           "token answer")
        eq(self.encrypt(K1, b"x", token=out["access_token"]).status, 200,
           "KMS with the issued token")

        def refused(r, error, desc):
            eq((r.status, r.json()), (400, {"error": error,
                                            "error_description": desc}),
               "refusal")
        sig_bad = "Invalid JWT Signature."
        tampered = jwt().rsplit(".", 1)[0] + "." + b64u(b"x" * 256)
        refused(post(tampered), "invalid_grant", sig_bad)
        refused(post(jwt({"kid": "other"})), "invalid_grant", sig_bad)
        refused(post(jwt({"alg": "HS256"})), "invalid_grant",
                "Invalid JWT: alg must be RS256.")
        timing = ("Invalid JWT: Token must be a short-lived token (60 "
                  "minutes) and in a reasonable timeframe. Check your iat "
                  "and exp values in the JWT claim.")
        refused(post(jwt(exp=now - 10, iat=now - 100)), "invalid_grant",
                timing)
        refused(post(jwt(exp=now + 7200)), "invalid_grant", timing)
        refused(post(jwt(aud="https://example.com/token")), "invalid_grant",
                "Invalid JWT: Failed audience check.")
        refused(post(jwt(scope="https://www.googleapis.com/auth/drive")),
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.")
        refused(post(jwt(iss="nobody@x")), "invalid_grant",
                "Invalid grant: account not found")
        refused(post("abc"), "invalid_grant",
                "Invalid JWT: the assertion is not a JWS.")
        r = post(jwt(), grant="password")
        eq((r.status, r.json()["error"]), (400, "unsupported_grant_type"),
           "grant type")
        log = [c for c in self.emu.calls("GCP.Token")]
        eq(log[0]["body_members"], ["assertion", "grant_type"],
           "token call logged")
        eq((log[0]["principal"], log[0]["jwt_header"]["kid"]), (sa, "kid1"),
           "principal and kid logged")

    def test_metadata_refresh_sts(self):
        path = "/computeMetadata/v1/instance/service-accounts/default/token"
        r = self.emu.request("GET", path)
        eq((r.status, r.headers.get("Metadata-Flavor")), (403, "Google"),
           "metadata without Metadata-Flavor")
        self.emu.ctl("gcp_metadata", {"principal": "alice@p1.iam"})
        r = self.emu.request("GET", path, headers={"Metadata-Flavor":
                                                   "Google"})
        eq((r.status, r.headers.get("Metadata-Flavor")), (200, "Google"),
           "metadata token")
        eq((sorted(r.json()), r.json()["token_type"]),
           (["access_token", "expires_in", "token_type"], "Bearer"),
           "metadata answer")
        eq(self.call("GET", K1, token=r.json()["access_token"]).status, 200,
           "metadata token works")
        r = self.emu.request("GET", "/computeMetadata/v1/instance/"
                             "service-accounts/default/email",
                             headers={"Metadata-Flavor": "Google"})
        eq((r.status, r.raw), (200, b"alice@p1.iam"), "metadata email")
        # authorized_user refresh grant
        self.emu.ctl("gcp_authorized_user", {
            "client_id": "cid", "client_secret": "csec",
            "refresh_token": "1//rt", "principal": "alice@p1.iam"})

        def form(path, **params):
            return self.emu.request(
                "POST", path, urllib.parse.urlencode(params).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})
        r = form("/token", grant_type="refresh_token", client_id="cid",
                 client_secret="csec", refresh_token="1//rt")
        eq((r.status, r.json()["token_type"]), (200, "Bearer"), "refresh")
        eq(self.call("GET", K1, token=r.json()["access_token"]).status, 200,
           "refreshed token works")
        r = form("/token", grant_type="refresh_token", client_id="cid",
                 client_secret="bad", refresh_token="1//rt")
        eq((r.status, r.json()), (401, {"error": "invalid_client",
                                        "error_description": "Unauthorized"}),
           "refresh, wrong secret")
        r = form("/token", grant_type="refresh_token", client_id="cid",
                 client_secret="csec", refresh_token="nope")
        eq((r.status, r.json()["error"]), (400, "invalid_grant"),
           "refresh, unknown token")
        # STS token exchange
        self.emu.ctl("gcp_sts", {"subject_token": "oidc-jwt",
                                 "principal": "alice@p1.iam"})
        ex = {"grant_type": "urn:ietf:params:oauth:grant-type:"
                            "token-exchange",
              "requested_token_type": "urn:ietf:params:oauth:token-type:"
                                      "access_token",
              "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
              "audience": "//iam.googleapis.com/projects/1/locations/global/"
                          "workloadIdentityPools/p/providers/o",
              "scope": "https://www.googleapis.com/auth/cloud-platform",
              "subject_token": "oidc-jwt"}
        r = form("/v1/token", **ex)
        sts = self.emu.calls("GCP.STS")[-1]
        eq([sts[k] for k in ("audience", "scope", "subject_token_type",
                             "requested_token_type")],
           [ex["audience"], ex["scope"], ex["subject_token_type"],
            ex["requested_token_type"]], "STS call logged")
        eq((r.status, r.json()["issued_token_type"],
            r.json()["token_type"]),
           (200, "urn:ietf:params:oauth:token-type:access_token", "Bearer"),
           "STS")
        eq(self.call("GET", K1, token=r.json()["access_token"]).status, 200,
           "STS token works")
        r = form("/v1/token", **dict(ex, subject_token="other"))
        eq((r.status, r.json()["error"]), (400, "invalid_grant"),
           "STS unknown subject")

    def test_refresh_revoked(self):
        self.emu.ctl("gcp_authorized_user", {
            "client_id": "cid2", "client_secret": "csec2",
            "refresh_token": "1//rt2", "principal": "alice@p1.iam"})
        params = {"grant_type": "refresh_token", "client_id": "cid2",
                  "client_secret": "csec2", "refresh_token": "1//rt2"}

        def refresh():
            return self.emu.request(
                "POST", "/token", urllib.parse.urlencode(params).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})
        eq(refresh().status, 200, "refresh before revocation")
        self.emu.ctl("gcp_authorized_user", {"refresh_token": "1//rt2",
                                             "revoked": True})
        r = refresh()
        eq((r.status, r.json()), (400, {
            "error": "invalid_grant",
            "error_description": "Token has been expired or revoked."}),
           "refresh after revocation")
        log = self.emu.calls("GCP.Token")
        eq((log[-2]["client_id"], log[-2]["principal"], log[-1]["error"]),
           ("cid2", "alice@p1.iam", "invalid_grant"), "refresh calls logged")

    def test_generate_access_token(self):
        sa = "target@p1.iam.gserviceaccount.com"
        path = "/v1/projects/-/serviceAccounts/%s:generateAccessToken" % sa
        fed = self.token("principal://fed/subject/s1")
        self.emu.ctl("gcp_iam", {"principal": sa,
                                 "bindings": {K1: ["encrypt"]}})

        def gen(body, token=fed):
            hdrs = {"Content-Type": "application/json"}
            if token is not None:
                hdrs["Authorization"] = "Bearer " + token
            return self.emu.request("POST", path, json.dumps(body).encode(),
                                    hdrs)
        scope = {"scope": ["https://www.googleapis.com/auth/cloud-platform"]}
        self.error(gen(scope), 403, "PERMISSION_DENIED",
                   "Permission 'iam.serviceAccounts.getAccessToken' denied "
                   "on resource (or it may not exist).")
        self.emu.ctl("gcp_impersonation", {
            "service_account": sa,
            "principals": ["principal://fed/subject/s1"]})
        self.error(gen(scope, None), 401, "UNAUTHENTICATED")
        self.error(gen(scope, "ya29.unknown"), 401, "UNAUTHENTICATED")
        self.error(gen({}), 400, "INVALID_ARGUMENT", "Scope required.")
        self.error(gen(dict(scope, lifetime="99999s")), 400,
                   "INVALID_ARGUMENT", "Invalid lifetime.")
        t0 = int(time.time())
        r = gen(dict(scope, lifetime="1200s"))
        eq(r.status, 200, "generateAccessToken (%s)" % r.raw)
        out = r.json()
        eq(sorted(out), ["accessToken", "expireTime"], "answer members")
        left = calendar.timegm(time.strptime(
            out["expireTime"], "%Y-%m-%dT%H:%M:%SZ")) - t0
        if not 1195 <= left <= 1202:
            raise AssertionError("expireTime %s is %ds away"
                                 % (out["expireTime"], left))
        info = self.emu.ctl("gcp_token_info", {"token": out["accessToken"]})
        eq(info["principal"], sa, "token of the service account")
        eq(self.encrypt(K1, b"x", token=out["accessToken"]).status, 200,
           "KMS with the impersonated token")
        eq(gen(scope).status, 200, "lifetime defaults")
        log = self.emu.calls("GCP.GenerateAccessToken")
        eq([(c["status"], c["error"]) for c in log],
           [(403, "PERMISSION_DENIED"), (401, "UNAUTHENTICATED"),
            (401, "UNAUTHENTICATED"), (400, "INVALID_ARGUMENT"),
            (400, "INVALID_ARGUMENT"), (200, None), (200, None)],
           "calls")
        eq((log[5]["principal"], log[5]["target"], log[5]["lifetime"],
            log[5]["scope"], log[6]["lifetime"]),
           ("principal://fed/subject/s1", sa, 1200, scope["scope"], 3600),
           "call details")
        self.emu.ctl("gcp_impersonation", {"service_account": sa,
                                           "principals": None})
        self.error(gen(scope), 403, "PERMISSION_DENIED")

    def test_subject_url(self):
        self.emu.ctl("gcp_subject_url", {"name": "n1", "token": "subj-1",
                                         "headers": {"X-Flavor": "test"}})
        r = self.emu.request("GET", "/gcp-subject/n1",
                             headers={"X-Flavor": "test"})
        eq((r.status, r.raw), (200, b"subj-1"), "text subject token")
        r = self.emu.request("GET", "/gcp-subject/n1",
                             headers={"X-Flavor": "other"})
        eq(r.status, 401, "wrong header")
        eq(self.emu.request("GET", "/gcp-subject/n1").status, 401,
           "no header")
        eq(self.emu.request("GET", "/gcp-subject/none").status, 404,
           "unknown name")
        self.emu.ctl("gcp_subject_url", {"name": "n2", "token": "subj-2",
                                         "json_field": "id_token"})
        r = self.emu.request("GET", "/gcp-subject/n2")
        eq((r.status, r.json()), (200, {"id_token": "subj-2"}),
           "json subject token")
        log = self.emu.calls("GCP.SubjectToken")
        eq([(c["status"], c.get("missing_header")) for c in log],
           [(200, None), (401, "X-Flavor"), (401, "X-Flavor"), (404, None),
            (200, None)], "calls")

    def test_faults(self):
        emu = self.emu
        emu.ctl("faults", {"throttle_rate": 1, "for_ops": ["GCP.Encrypt"],
                           "count": 1})
        self.error(self.encrypt(K1, b"x"), 429, "RESOURCE_EXHAUSTED")
        for status, code in ((500, "INTERNAL"), (503, "UNAVAILABLE"),
                             (504, "DEADLINE_EXCEEDED")):
            emu.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status":
                               status, "for_ops": ["GCP.*"], "count": 1})
            self.error(self.call("GET", K1), status, code)
        # AWS-only default: a fault set without for_ops leaves GCP alone.
        emu.ctl("faults", {"throttle_rate": 1, "count": 1})
        eq(self.encrypt(K1, b"x").status, 200, "default for_ops is AWS")
        emu.ctl("clear_faults")
        emu.ctl("faults", {"bad_crc_rate": 1, "for_ops": ["GCP.*"],
                           "count": 2})
        out = self.encrypt(K1, b"crc").json()
        ct = base64.b64decode(out["ciphertext"])
        eq(out["ciphertextCrc32c"], str((self.crc(ct) + 1) & 0xFFFFFFFF),
           "ciphertextCrc32c off by one")
        out = self.decrypt(K1, b64(ct)).json()
        eq((out["plaintext"], out["plaintextCrc32c"]),
           (b64(b"crc"), str(self.crc(b"crc") + 1)),
           "plaintextCrc32c off by one")
        emu.ctl("faults", {"malformed_rate": 1, "for_ops": ["GCP.Decrypt"],
                           "count": 1})
        r = self.decrypt(K1, b64(ct))
        eq(r.status, 200, "malformed status")
        try:
            json.loads(r.raw)
            raise AssertionError("malformed body parsed")
        except ValueError:
            pass
        emu.ctl("faults", {"reset_rate": 1, "for_ops": ["GCP.Encrypt"],
                           "count": 1})
        try:
            self.encrypt(K1, b"x")
            raise AssertionError("no reset")
        except ConnectionResetError:
            pass
        emu.ctl("faults", {"latency_ms": 300, "for_ops": ["GCP.Token"],
                           "throttle_rate": 1, "count": 1})
        t0 = time.monotonic()
        r = self.emu.request("POST", "/token", b"grant_type=x", {
            "Content-Type": "application/x-www-form-urlencoded"})
        if time.monotonic() - t0 < 0.3:
            raise AssertionError("latency not applied")
        self.error(r, 429, "RESOURCE_EXHAUSTED")
        faults = [c["fault"] for c in emu.calls() if
                  c["endpoint"].startswith("gcp")]
        for kind in ("throttle", "5xx", "bad_crc", "malformed", "reset"):
            if kind not in faults:
                raise AssertionError("no %s in the call log" % kind)

    def test_asymmetric(self):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import \
            Prehashed
        keys = {"EC_SIGN_P256_SHA256": RING + "/cryptoKeys/ec256",
                "RSA_SIGN_PKCS1_2048_SHA256": RING + "/cryptoKeys/pkcs1",
                "RSA_SIGN_PSS_2048_SHA256": RING + "/cryptoKeys/pss",
                "RSA_DECRYPT_OAEP_2048_SHA256": RING + "/cryptoKeys/oaep",
                "RSA_DECRYPT_OAEP_2048_SHA1": RING + "/cryptoKeys/oaep1"}
        pub = {}
        for alg, name in keys.items():
            out = self.emu.ctl("gcp_create_asym_key", {"name": name,
                                                       "algorithm": alg})
            eq(("primary" in out, out["versionTemplate"]["algorithm"]),
               (False, alg), "asymmetric key has no primary")
            v1 = name + "/cryptoKeyVersions/1"
            r = self.call("GET", v1 + "/publicKey")
            eq(r.status, 200, "getPublicKey " + alg)
            out = r.json()
            eq(sorted(out), ["algorithm", "name", "pem", "pemCrc32c",
                             "protectionLevel"], "publicKey members")
            eq((out["algorithm"], out["name"], out["pemCrc32c"]),
               (alg, v1, str(self.crc(out["pem"].encode()))),
               "publicKey answer")
            pub[alg] = serialization.load_pem_public_key(out["pem"].encode())
        r = self.call("GET", K1 + "/cryptoKeyVersions/1/publicKey")
        self.error(r, 400, "FAILED_PRECONDITION")
        d = bytes(range(32))
        v = keys["EC_SIGN_P256_SHA256"] + "/cryptoKeyVersions/1"
        r = self.call("POST", v + ":asymmetricSign", {
            "digest": {"sha256": b64(d)}, "digestCrc32c": str(self.crc(d))})
        out = r.json()
        sig = base64.b64decode(out["signature"])
        eq((out["verifiedDigestCrc32c"], out["name"],
            out["signatureCrc32c"]), (True, v, str(self.crc(sig))),
           "asymmetricSign answer")
        pub["EC_SIGN_P256_SHA256"].verify(sig, d,
                                          ec.ECDSA(Prehashed(hashes.SHA256())))
        for alg, pad in (("RSA_SIGN_PKCS1_2048_SHA256", padding.PKCS1v15()),
                         ("RSA_SIGN_PSS_2048_SHA256", padding.PSS(
                             padding.MGF1(hashes.SHA256()), 32))):
            v = keys[alg] + "/cryptoKeyVersions/1"
            out = self.call("POST", v + ":asymmetricSign", {
                "digest": {"sha256": b64(d)}}).json()
            eq("verifiedDigestCrc32c" in out, False, "no CRC, no flag")
            pub[alg].verify(base64.b64decode(out["signature"]), d, pad,
                            Prehashed(hashes.SHA256()))
            out = self.call("POST", v + ":asymmetricSign", {
                "data": b64(b"msg"),
                "dataCrc32c": str(self.crc(b"msg"))}).json()
            eq(out.get("verifiedDataCrc32c"), True, "data CRC verified")
            pub[alg].verify(base64.b64decode(out["signature"]), b"msg", pad,
                            hashes.SHA256())
        self.error(self.call("POST", v + ":asymmetricSign", {
            "digest": {"sha256": b64(d[:20])}}), 400, "INVALID_ARGUMENT",
            "provided digest has incorrect size (got 20, want 32)")
        self.error(self.call("POST", v + ":asymmetricSign", {
            "digest": {"sha384": b64(bytes(48))}}), 400, "INVALID_ARGUMENT")
        self.error(self.call("POST", v + ":asymmetricSign", {
            "digest": {"sha256": b64(d)}, "digestCrc32c": "1"}), 400,
            "INVALID_ARGUMENT")
        oaep = keys["RSA_DECRYPT_OAEP_2048_SHA256"] + "/cryptoKeyVersions/1"
        self.error(self.call("POST", oaep + ":asymmetricSign", {
            "digest": {"sha256": b64(d)}}), 400, "FAILED_PRECONDITION")
        self.error(self.call("POST", v + ":asymmetricDecrypt", {
            "ciphertext": b64(bytes(256))}), 400, "FAILED_PRECONDITION")
        for alg, h in (("RSA_DECRYPT_OAEP_2048_SHA256", hashes.SHA256),
                       ("RSA_DECRYPT_OAEP_2048_SHA1", hashes.SHA1)):
            v = keys[alg] + "/cryptoKeyVersions/1"
            ct = pub[alg].encrypt(b"dek", padding.OAEP(padding.MGF1(h()),
                                                       h(), None))
            out = self.call("POST", v + ":asymmetricDecrypt", {
                "ciphertext": b64(ct),
                "ciphertextCrc32c": str(self.crc(ct))}).json()
            eq(out, {"plaintext": b64(b"dek"),
                     "plaintextCrc32c": str(self.crc(b"dek")),
                     "verifiedCiphertextCrc32c": True,
                     "protectionLevel": "SOFTWARE"}, "asymmetricDecrypt")
        self.error(self.call("POST", oaep + ":asymmetricDecrypt", {
            "ciphertext": b64(bytes(256))}), 400, "INVALID_ARGUMENT",
            "Decryption failed.")
        self.error(self.call("POST", oaep + ":asymmetricSign", {
            "digest": {"sha256": b64(d)}}, token=self.bob), 403,
            "PERMISSION_DENIED")
        self.emu.ctl("faults", {"bad_crc_rate": 1, "for_ops": ["GCP.*"],
                                "count": 1})
        out = self.call("GET", oaep + "/publicKey").json()
        eq(out["pemCrc32c"], str((self.crc(out["pem"].encode()) + 1)
                                 & 0xFFFFFFFF), "pemCrc32c off by one")
        r = self.call("GET", oaep + "/publicKey",
                      query="?$alt=json%3Benum-encoding=int")
        eq(r.json()["algorithm"], 8, "algorithm as its number")

    def test_call_log(self):
        self.emu.ctl("reset_calls")
        self.encrypt(K1, b"x", b"y", plaintextCrc32c=str(self.crc(b"x")))
        self.call("GET", K1, query="?$alt=json%3Benum-encoding=int",
                  headers={"x-goog-request-params": "name=" +
                           urllib.parse.quote(K1, safe="")})
        calls = self.emu.calls()
        eq([(c["endpoint"], c["op"], c["method"], c["path"], c["status"],
             c["principal"], c["key_id"]) for c in calls],
           [("gcp", "GCP.Encrypt", "POST", "/v1/%s:encrypt" % K1, 200,
             "alice@p1.iam", K1),
            ("gcp", "GCP.GetCryptoKey", "GET", "/v1/" + K1, 200,
             "alice@p1.iam", K1)], "calls")
        eq(calls[0]["body_members"], ["additionalAuthenticatedData",
                                      "plaintext", "plaintextCrc32c"],
           "body members")
        eq((calls[1]["query"], calls[1]["x_goog_request_params"]),
           ("$alt=json%3Benum-encoding=int",
            "name=" + urllib.parse.quote(K1, safe="")), "query and header")
        eq((calls[0]["content_type"], calls[0]["auth_scheme"],
            calls[0]["member_encodings"]),
           ("application/json", "Bearer",
            {"plaintext": "base64", "additionalAuthenticatedData": "base64",
             "plaintextCrc32c": "decimal-string"}),
           "content type, authorization scheme, member encodings")
        self.call("POST", K1 + ":encrypt", raw=b'{"plaintext": "eA"}',
                  headers={"Content-Type": "text/plain"}, token=False)
        last = self.emu.calls()[-1]
        eq((last["content_type"], last["auth_scheme"], last["status"]),
           ("text/plain", None, 401), "logged before authentication")

    def test_member_encodings(self):
        from gcp_api import encoding
        for value, want in (
                ("123", "decimal-string"), ("0", "decimal-string"),
                ("0123", "base64"), ("eA==", "base64"), ("eHk=", "base64"),
                ("+/8A", "base64"), ("-_8A", "base64url"),
                ("-_8", "base64url"), ("eA", "base64-unpadded"),
                ("eHk", "base64-unpadded"), ("e A=", "string"),
                ("", "base64"),
                (12, "number"), (True, "bool"), ({}, "object"),
                ([], "array"), (None, "null")):
            eq(encoding(value), want, "encoding(%r)" % (value,))

    def test_restart_keeps_state(self):
        ct = self.encrypt(K1, b"persist").json()["ciphertext"]
        eq(self.emu.stop(), 0, "emulator exit status")
        self.emu.start()
        r = self.decrypt(K1, ct)
        eq((r.status, r.json()["plaintext"]), (200, b64(b"persist")),
           "decrypt after restart, same token")


def main():
    return run_suite(Suite, "gcp-emu-", False)


if __name__ == "__main__":
    sys.exit(main())
