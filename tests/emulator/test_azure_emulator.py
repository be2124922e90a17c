#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests, Azure Key Vault / Managed HSM over TLS: the challenge,
# tokens, grants, key routes and their cryptography, Entra ID, managed
# identity, faults and the call log.
"""End-to-end tests of the emulator's Azure routes through its TLS socket,
standard library plus python3-cryptography, which checks the emulator's
cryptography from the outside: RSA-OAEP blobs made here from the public key
GET key returns, RFC 3394 / RFC 5649 vectors on imported oct-HSM keys, GCM
opened here. Exit 0 pass, 1 fail, 77 skip (99 under CI=true when
prerequisites are missing).
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import sys
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_emulator import eq, run_suite  # noqa: E402

AZ_JSON = "application/json; charset=utf-8"
KV = "https://vault.azure.net"
HSM = "https://managedhsm.azure.net"
API = "?api-version=7.4"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}"
                     r"-[0-9a-f]{12}$")
MISSING = "AKV10000: Request is missing a Bearer or PoP token."
NOT_FOUND = ("A key with (name/id) %s was not found in this key vault. If "
             "you recently deleted this key you may be able to recover it "
             "using the correct recovery command. For help resolving this "
             "issue, please see https://go.microsoft.com/fwlink/?linkid="
             "2125182")
# RFC 3394 section 4.6 and 4.3, RFC 5649 section 6.
KW256 = ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
         "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
         "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43B"
         "FB988B9B7A02DD21")
KW192 = ("000102030405060708090A0B0C0D0E0F1011121314151617",
         "00112233445566778899AABBCCDDEEFF",
         "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D")
KWP_KEK = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8"
KWP = [("c37b7e6492584340bed12207808941155068f738",
        "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
       ("466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f")]


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rsa_jwk(key):
    """The JWK of a python-cryptography RSA private key, as Key Vault's
    import takes it."""
    priv = key.private_numbers()
    pub = priv.public_numbers

    def enc(n):
        return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    return {"kty": "RSA", "n": enc(pub.n), "e": enc(pub.e),
            "d": enc(priv.d), "p": enc(priv.p), "q": enc(priv.q),
            "dp": enc(priv.dmp1), "dq": enc(priv.dmq1),
            "qi": enc(priv.iqmp)}


def oaep(alg):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    if alg == "RSA1_5":
        return padding.PKCS1v15()
    h = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
    return padding.OAEP(padding.MGF1(h), h, None)


def public_key(bundle):
    from cryptography.hazmat.primitives.asymmetric import rsa
    n = int.from_bytes(unb64u(bundle["key"]["n"]), "big")
    e = int.from_bytes(unb64u(bundle["key"]["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def self_signed(key, cn):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), \
        cert.public_bytes(serialization.Encoding.DER)


def jwt(key, header, claims, alg="RS256"):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    head = b64u(json.dumps(dict(header, alg=alg, typ="JWT")).encode())
    body = b64u(json.dumps(claims).encode())
    pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(
        padding.MGF1(hashes.SHA256()), 32)
    sig = key.sign((head + "." + body).encode(), pad, hashes.SHA256())
    return head + "." + body + "." + b64u(sig)


class Suite:
    def __init__(self, emu):
        self.emu = emu
        self.ctl = emu.ctl
        self.ctl("azure_create_vault", {"name": "kv1", "kind": "vault",
                                        "tenant": "t1",
                                        "hosts": ["127.0.0.1"]})
        self.ctl("azure_create_vault", {"name": "hsm1", "kind": "hsm",
                                        "tenant": "t1",
                                        "hosts": ["localhost"]})
        self.ctl("azure_create_vault", {"name": "kv2", "kind": "vault",
                                        "tenant": "t2"})
        self.k1 = self.ctl("azure_create_key", {
            "vault": "kv1", "name": "k1", "kty": "RSA", "key_size": 4096})
        self.ctl("azure_create_key", {"vault": "kv1", "name": "k2",
                                      "kty": "RSA-HSM"})
        self.ctl("azure_create_key", {"vault": "hsm1", "name": "aes1",
                                      "kty": "oct-HSM"})
        self.ctl("azure_principal", {"client_id": "app1", "tenant": "t1",
                                     "object_id": "oid-app1",
                                     "secret": "app1-secret"})
        self.ctl("azure_principal", {"client_id": "app2", "tenant": "t1"})
        self.ctl("azure_principal", {"client_id": "app3", "tenant": "t2"})
        self.ctl("azure_grant", {"principal": "app1",
                                 "grants": {"kv1": ["*"], "hsm1": ["*"]}})
        self.ctl("azure_grant", {"principal": "app2",
                                 "grants": {"kv1/k1": ["get", "wrapKey"]}})
        self.ctl("azure_grant", {"principal": "app3",
                                 "grants": {"kv2": ["*"]}})
        self.tok = self.token("app1")
        self.hsm_tok = self.token("app1", resource=HSM)
        self.port = emu.tls_port

    def token(self, principal, **kw):
        return self.ctl("azure_token", dict(kw, principal=principal))[
            "access_token"]

    def call(self, method, path, body=None, token=None, host="127.0.0.1",
             query=API, raw=None, headers=None):
        hdrs = {"Host": "%s:%d" % (host, self.port),
                "Content-Type": "application/json"}
        if token is not False:
            hdrs["Authorization"] = "Bearer " + (
                token or (self.hsm_tok if host == "localhost" else self.tok))
        hdrs.update(headers or {})
        data = raw if raw is not None else (
            b"" if body is None else json.dumps(body).encode())
        return self.emu.request(method, path + query, data, hdrs, tls=True)

    def hsm(self, method, path, body=None, **kw):
        return self.call(method, path, body, host="localhost", **kw)

    def op(self, name, op, body, version="", **kw):
        path = "/keys/%s/%s/%s" % (name, version, op) if version else \
            "/keys/%s/%s" % (name, op)
        return self.call("POST", path, body, **kw)

    def error(self, r, status, code, message=None, inner=None):
        eq(r.status, status, "HTTP status (%s)" % r.raw[:300])
        eq(r.headers.get("Content-Type"), AZ_JSON, "error content type")
        err = r.json()["error"]
        want = ["code", "message"] + (["innererror"] if inner else [])
        eq(sorted(err), sorted(want), "error members")
        eq(err["code"], code, "error code")
        if inner:
            eq(err["innererror"], {"code": inner}, "innererror")
        if message is not None:
            eq(err["message"], message, "error message")
        if not UUID_RE.match(r.headers.get("x-ms-request-id") or ""):
            raise AssertionError("x-ms-request-id %r"
                                 % r.headers.get("x-ms-request-id"))

    def challenge(self, r, resource=KV, tenant="t1",
                  host="login.microsoftonline.com"):
        eq(r.headers.get("WWW-Authenticate"),
           'Bearer authorization="https://%s/%s", resource="%s"'
           % (host, tenant, resource), "challenge")

    # -- the challenge and tokens ------------------------------------------
    def test_challenge(self):
        r = self.call("GET", "/keys/k1", token=False,
                      headers={"x-ms-client-request-id": "cid-1"})
        self.error(r, 401, "Unauthorized", MISSING)
        self.challenge(r)
        eq(r.headers.get("x-ms-client-request-id"), "cid-1", "echoed")
        r = self.hsm("GET", "/keys/aes1", token=False)
        self.error(r, 401, "Unauthorized", MISSING)
        self.challenge(r, HSM)
        eq(r.headers.get("x-ms-client-request-id"), None, "nothing to echo")
        # The challenge comes before the body is looked at: Azure's SDK
        # sends its first request without one.
        r = self.op("k1", "wrapkey", None, token=False, raw=b"{nope")
        self.error(r, 401, "Unauthorized", MISSING)
        r = self.call("GET", "/keys/k1", token=False,
                      headers={"Authorization": "Basic eDp5"})
        self.error(r, 401, "Unauthorized", MISSING)
        self.challenge(r)
        r = self.call("GET", "/keys/k1", token="nope")
        self.error(r, 401, "Unauthorized", "The access token is not valid.")
        self.challenge(r)
        old = self.token("app1")
        eq(self.ctl("azure_expire_token", {"token": old}), {"expired": 1},
           "expire")
        r = self.call("GET", "/keys/k1", token=old)
        self.error(r, 401, "Unauthorized", "The access token has expired.")
        r = self.call("GET", "/keys/k1", token=self.hsm_tok)
        self.error(r, 401, "Unauthorized", "AKV10022: Invalid audience. "
                   "Expected https://vault.azure.net, found: "
                   "https://managedhsm.azure.net.")
        r = self.call("GET", "/keys/k1", token=self.token("app3"))
        self.error(r, 401, "Unauthorized", "AKV10032: Invalid issuer. "
                   "Expected one of https://sts.windows.net/t1/, found "
                   "https://sts.windows.net/t2/.")
        self.ctl("azure_settings", {"login_host": "127.0.0.1:9"})
        try:
            self.challenge(self.call("GET", "/keys/k1", token=False), KV,
                           "t1", "127.0.0.1:9")
        finally:
            self.ctl("azure_settings",
                     {"login_host": "login.microsoftonline.com"})
        r = self.call("GET", "/keys/k1")
        eq(r.status, 200, "valid token")

    def test_api_version(self):
        r = self.call("GET", "/keys/k1", query="")
        self.error(r, 400, "BadParameter", "The 'api-version' query "
                   "parameter is missing.")
        r = self.call("GET", "/keys/k1", query="?api-version=7.3")
        self.error(r, 400, "BadParameter", "The specified version (7.3) is "
                   "not recognized. Consider using the latest supported "
                   "version (2025-07-01).")
        for q in ("?api-version=7.4", "?api-version=7.5",
                  "?api-version=7.6", "?api-version=2025-07-01",
                  "?api%2Dversion=2025%2D07%2D01", "?api%2dversion=7.6"):
            eq(self.call("GET", "/keys/k1", query=q).status, 200, q)
        log = self.emu.calls("AZ.GetKey")[-6:]
        eq([c["api_version"] for c in log],
           ["7.4", "7.5", "7.6", "2025-07-01", "2025-07-01", "7.6"],
           "api-version percent-decoded in the log")

    # -- GET key --------------------------------------------------------------
    def test_get_key(self):
        kid = self.k1["key"]["kid"]
        base = "https://127.0.0.1:%d" % self.port
        eq(kid.startswith(base + "/keys/k1/"), True, "control kid %s" % kid)
        ver = kid.rsplit("/", 1)[1]
        eq(bool(re.match(r"^[0-9a-f]{32}$", ver)), True, "version id")
        for path in ("/keys/k1", "/keys/k1/", "/keys/k1/" + ver):
            r = self.call("GET", path)
            eq(r.status, 200, "GET " + path)
            out = r.json()
            eq(sorted(out), ["attributes", "key"], "members")
            eq(sorted(out["key"]), ["e", "key_ops", "kid", "kty", "n"],
               "key members")
            eq((out["key"]["kid"], out["key"]["kty"], out["key"]["e"]),
               (kid, "RSA", "AQAB"), "kid kty e")
            eq(len(unb64u(out["key"]["n"])), 512, "4096-bit modulus")
            eq(out["key"]["key_ops"], ["encrypt", "decrypt", "sign",
                                       "verify", "wrapKey", "unwrapKey"],
               "key_ops")
            a = out["attributes"]
            eq(sorted(a), ["created", "enabled", "exportable",
                           "recoverableDays", "recoveryLevel", "updated"],
               "attributes")
            eq((a["enabled"], a["recoveryLevel"], a["exportable"]),
               (True, "Recoverable+Purgeable", False), "attribute values")
        r = self.hsm("GET", "/keys/aes1")
        eq(r.status, 200, "HSM GET")
        out = r.json()["key"]
        eq((sorted(out), out["kty"], out["key_ops"]),
           (["key_ops", "kid", "kty"], "oct-HSM",
            ["encrypt", "decrypt", "wrapKey", "unwrapKey"]), "oct-HSM key")
        eq(out["kid"].startswith("https://localhost:%d/keys/aes1/"
                                 % self.port), True, "HSM kid")
        self.error(self.call("GET", "/keys/none"), 404, "KeyNotFound",
                   NOT_FOUND % "none")
        self.error(self.call("GET", "/keys/k1/" + "0" * 32), 404,
                   "KeyNotFound", NOT_FOUND % ("k1/" + "0" * 32))

    # -- RSA ------------------------------------------------------------------
    def test_rsa_unwrap_of_local_wrap(self):
        """Blobs made here from the public key GET key returns unwrap
        through the emulator."""
        pub = public_key(self.call("GET", "/keys/k1").json())
        kid = self.k1["key"]["kid"]
        for alg in ("RSA-OAEP-256", "RSA-OAEP", "RSA1_5"):
            dek = os.urandom(32)
            blob = pub.encrypt(dek, oaep(alg))
            r = self.op("k1", "unwrapkey", {"alg": alg, "value": b64u(blob)})
            eq(r.status, 200, "unwrapkey %s (%s)" % (alg, r.raw[:200]))
            eq(r.json(), {"kid": kid, "value": b64u(dek)}, "unwrap " + alg)
            r = self.op("k1", "decrypt", {"alg": alg, "value": b64u(blob)},
                        version=kid.rsplit("/", 1)[1])
            eq(r.json(), {"kid": kid, "value": b64u(dek)}, "decrypt " + alg)
        # Wrong-key, tampered and wrong-length ciphertexts.
        blob = bytearray(pub.encrypt(b"x" * 32, oaep("RSA-OAEP-256")))
        blob[10] ^= 1
        self.error(self.op("k1", "unwrapkey", {"alg": "RSA-OAEP-256",
                                               "value": b64u(bytes(blob))}),
                   400, "BadParameter",
                   "The ciphertext does not decrypt under this key.")
        good = pub.encrypt(b"x" * 32, oaep("RSA-OAEP-256"))
        self.error(self.op("k1", "unwrapkey", {"alg": "RSA-OAEP",
                                               "value": b64u(good)}),
                   400, "BadParameter",
                   "The ciphertext does not decrypt under this key.")
        self.error(self.op("k1", "unwrapkey", {"alg": "RSA-OAEP-256",
                                               "value": b64u(good[:-1])}),
                   400, "BadParameter",
                   "The ciphertext length must be 512 bytes for this key.")

    def test_rsa_wrap_opened_here(self):
        """An imported key: the emulator's wraps open with the private key
        held here."""
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(65537, 2048)
        r = self.call("PUT", "/keys/imp1", {"key": rsa_jwk(key)})
        eq(r.status, 200, "import (%s)" % r.raw[:200])
        out = r.json()
        eq((out["key"]["kty"], unb64u(out["key"]["n"])),
           ("RSA", key.public_key().public_numbers().n.to_bytes(256, "big")),
           "imported public key")
        for alg, op in (("RSA-OAEP-256", "wrapkey"), ("RSA-OAEP", "wrapkey"),
                        ("RSA1_5", "wrapkey"), ("RSA-OAEP-256", "encrypt")):
            dek = os.urandom(32)
            r = self.op("imp1", op, {"alg": alg, "value": b64u(dek)})
            eq((r.status, r.json()["kid"]), (200, out["key"]["kid"]),
               "%s %s" % (op, alg))
            eq(key.decrypt(unb64u(r.json()["value"]), oaep(alg)), dek,
               "%s %s opened here" % (op, alg))
        # RSA-OAEP-256 with a 2048-bit key takes at most 190 bytes.
        eq(self.op("imp1", "wrapkey", {"alg": "RSA-OAEP-256",
                                       "value": b64u(bytes(190))}).status,
           200, "190 bytes")
        self.error(self.op("imp1", "wrapkey", {"alg": "RSA-OAEP-256",
                                               "value": b64u(bytes(191))}),
                   400, "BadParameter", "The value is too long for "
                   "RSA-OAEP-256 with a 2048-bit key (at most 190 bytes).")
        self.error(self.op("imp1", "wrapkey", {"alg": "A256KW",
                                               "value": b64u(bytes(32))}),
                   400, "BadParameter", "The algorithm A256KW is not "
                   "supported for key type RSA.")

    def test_import_errors(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(65537, 2048)
        jwk = rsa_jwk(key)
        self.error(self.call("PUT", "/keys/imp2", {
            "key": {k: v for k, v in jwk.items() if k not in ("dp", "qi")}}),
            400, "BadParameter",
            "The RSA key is missing the member(s): dp, qi.")
        other = rsa_jwk(rsa.generate_private_key(65537, 2048))
        self.error(self.call("PUT", "/keys/imp2", dict(
            key=dict(jwk, p=other["p"]))), 400, "BadParameter",
            "The RSA key is not valid: n must be p*q with 2048, 3072 or "
            "4096 bits and e must be 65537.")
        self.error(self.call("PUT", "/keys/imp2", dict(
            key=dict(jwk, d=other["d"]))), 400, "BadParameter",
            "The RSA key is not valid: d, dp, dq or qi does not match n and "
            "e.")
        self.error(self.call("PUT", "/keys/imp2", {"key": {"kty": "oct",
                                                           "k": "AAAA"}}),
                   400, "BadParameter", "The key type oct cannot be "
                   "imported into this key vault.")
        self.error(self.call("PUT", "/keys/imp2", {}), 400, "BadParameter",
                   "The parameter 'key' is required.")
        r = self.call("PUT", "/keys/imp2", {"key": dict(jwk, kty="RSA-HSM"),
                                            "attributes": {"enabled": False},
                                            "tags": {"t": "1"}})
        eq((r.status, r.json()["key"]["kty"], r.json()["attributes"][
            "enabled"], r.json()["tags"]),
           (200, "RSA-HSM", False, {"t": "1"}), "RSA-HSM import, disabled")
        r = self.hsm("PUT", "/keys/rsa-in-hsm", {"key": jwk})
        eq((r.status, r.json()["key"]["kty"]), (200, "RSA-HSM"),
           "RSA into a managed HSM is RSA-HSM")

    def test_create_key(self):
        for kty, size in (("RSA", 2048), ("RSA", 3072), ("RSA", 4096),
                          ("RSA-HSM", 2048)):
            r = self.call("POST", "/keys/c-%s-%d/create" % (kty, size),
                          {"kty": kty, "key_size": size})
            eq(r.status, 200, "create %s %d" % (kty, size))
            eq((r.json()["key"]["kty"], len(unb64u(r.json()["key"]["n"]))),
               (kty, size // 8), "created %s %d" % (kty, size))
        r = self.call("POST", "/keys/c-default/create", {"kty": "RSA"})
        eq(len(unb64u(r.json()["key"]["n"])), 256, "default 2048")
        self.error(self.call("POST", "/keys/c-bad/create",
                             {"kty": "RSA", "key_size": 1024}), 400,
                   "BadParameter", "RSA key size must be 2048, 3072 or "
                   "4096.")
        self.error(self.call("POST", "/keys/c-bad/create",
                             {"kty": "oct-HSM"}), 400, "BadParameter",
                   "The key type oct-HSM is not supported by this key "
                   "vault; use one of: RSA, RSA-HSM, EC, EC-HSM.")
        self.error(self.hsm("POST", "/keys/c-bad/create", {"kty": "RSA"}),
                   400, "BadParameter", "The key type RSA is not supported "
                   "by this managed HSM; use one of: RSA-HSM, EC-HSM, "
                   "oct-HSM.")
        self.error(self.hsm("POST", "/keys/c-bad/create",
                            {"kty": "oct-HSM", "key_size": 512}),
                   400, "BadParameter", "AES key size must be 128, 192 or "
                   "256.")
        r = self.hsm("POST", "/keys/c-aes/create", {
            "kty": "oct-HSM", "key_size": 128, "key_ops": ["wrapKey"],
            "attributes": {"exp": 4102444800}})
        eq((r.status, r.json()["key"]["key_ops"],
            r.json()["attributes"]["exp"]), (200, ["wrapKey"], 4102444800),
           "oct-HSM with key_ops and exp")
        # A second create makes a new version, the current one.
        first = self.call("POST", "/keys/c-ver/create",
                          {"kty": "RSA"}).json()["key"]["kid"]
        second = self.call("POST", "/keys/c-ver/create",
                           {"kty": "RSA"}).json()["key"]["kid"]
        eq(first != second and first.rsplit("/", 1)[0] ==
           second.rsplit("/", 1)[0], True, "new version")
        eq(self.call("GET", "/keys/c-ver").json()["key"]["kid"], second,
           "current version")
        eq(self.call("GET", "/keys/" + "/".join(
            first.rsplit("/", 2)[1:])).json()["key"]["kid"], first,
            "older version still there")
        self.error(self.call("POST", "/keys/bad_name/create",
                             {"kty": "RSA"}), 400, "BadParameter",
                   "The request URI contains an invalid name: bad_name")

    def test_rotate(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "rot",
                                      "kty": "RSA"})
        pub1 = public_key(self.call("GET", "/keys/rot").json())
        v1 = self.call("GET", "/keys/rot").json()["key"]["kid"]
        blob = pub1.encrypt(b"k" * 32, oaep("RSA-OAEP-256"))
        r = self.call("POST", "/keys/rot/rotate", {})
        eq(r.status, 200, "rotate")
        v2 = r.json()["key"]["kid"]
        eq((v2 != v1, len(unb64u(r.json()["key"]["n"]))), (True, 256),
           "rotated, same size")
        r = self.op("rot", "wrapkey", {"alg": "RSA-OAEP-256",
                                       "value": b64u(b"x" * 32)})
        eq(r.json()["kid"], v2, "wrap uses the new version")
        r = self.op("rot", "unwrapkey", {"alg": "RSA-OAEP-256",
                                         "value": b64u(blob)},
                    version=v1.rsplit("/", 1)[1])
        eq(r.json(), {"kid": v1, "value": b64u(b"k" * 32)},
           "old version unwraps its blob")
        self.error(self.op("rot", "unwrapkey", {"alg": "RSA-OAEP-256",
                                                "value": b64u(blob)}),
                   400, "BadParameter",
                   "The ciphertext does not decrypt under this key.")
        out = self.ctl("azure_new_version", {"vault": "kv1", "name": "rot"})
        eq(self.call("GET", "/keys/rot").json()["key"]["kid"],
           out["key"]["kid"], "control new version is current")

    # -- attributes and key state ---------------------------------------------
    def test_disabled_key(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "dis",
                                      "kty": "RSA"})
        pub = public_key(self.call("GET", "/keys/dis").json())
        blob = b64u(pub.encrypt(b"d" * 32, oaep("RSA-OAEP-256")))
        r = self.call("PATCH", "/keys/dis/", {"attributes":
                                              {"enabled": False}})
        eq((r.status, r.json()["attributes"]["enabled"]), (200, False),
           "disable (PATCH of the current version)")
        for op, method, path, body in (
                ("get", "GET", "/keys/dis", None),
                ("wrapKey", "POST", "/keys/dis/wrapkey",
                 {"alg": "RSA-OAEP-256", "value": b64u(b"x")}),
                ("unwrapKey", "POST", "/keys/dis/unwrapkey",
                 {"alg": "RSA-OAEP-256", "value": blob}),
                ("encrypt", "POST", "/keys/dis/encrypt",
                 {"alg": "RSA-OAEP-256", "value": b64u(b"x")}),
                ("decrypt", "POST", "/keys/dis/decrypt",
                 {"alg": "RSA-OAEP-256", "value": blob})):
            self.error(self.call(method, path, body), 403, "Forbidden",
                       "Operation %s is not allowed on a disabled key." % op,
                       "KeyDisabled")
        r = self.call("PATCH", "/keys/dis", {"attributes": {"enabled": True}})
        eq(r.status, 200, "enable")
        r = self.op("dis", "unwrapkey", {"alg": "RSA-OAEP-256",
                                         "value": blob})
        eq((r.status, r.json()["value"]), (200, b64u(b"d" * 32)),
           "unwrap once enabled again")
        self.error(self.call("PATCH", "/keys/dis", {"attributes":
                                                    {"enabled": "no"}}),
                   400, "BadParameter", "attributes.enabled must be a "
                   "boolean.")

    def test_expiry_and_not_before(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "exp",
                                      "kty": "RSA"})
        pub = public_key(self.call("GET", "/keys/exp").json())
        blob = b64u(pub.encrypt(b"e" * 32, oaep("RSA-OAEP-256")))
        now = int(time.time())
        r = self.call("PATCH", "/keys/exp", {"attributes": {"exp": now - 10}})
        eq(r.json()["attributes"]["exp"], now - 10, "exp set")
        for op in ("wrapKey", "encrypt"):
            self.error(self.op("exp", op.lower(), {"alg": "RSA-OAEP-256",
                                                   "value": b64u(b"x")}),
                       403, "Forbidden", "Operation %s is not allowed on an "
                       "expired key." % op, "KeyExpired")
        # What an expired key protected stays readable.
        eq(self.op("exp", "unwrapkey", {"alg": "RSA-OAEP-256",
                                        "value": blob}).status, 200,
           "unwrap with an expired key")
        eq(self.call("GET", "/keys/exp").status, 200, "GET an expired key")
        self.call("PATCH", "/keys/exp", {"attributes": {
            "exp": None, "nbf": now + 3600}})
        self.error(self.op("exp", "wrapkey", {"alg": "RSA-OAEP-256",
                                              "value": b64u(b"x")}),
                   403, "Forbidden", "Operation wrapKey is not allowed on a "
                   "key that is not yet valid.", "KeyNotYetValid")
        self.ctl("azure_set_attributes", {"vault": "kv1", "name": "exp",
                                          "attributes": {"nbf": now - 5,
                                                         "exp": now + 3600}})
        eq(self.op("exp", "wrapkey", {"alg": "RSA-OAEP-256",
                                      "value": b64u(b"x")}).status, 200,
           "inside the validity period")
        self.error(self.call("PATCH", "/keys/exp", {"attributes":
                                                    {"exp": "tomorrow"}}),
                   400, "BadParameter", "attributes.exp must be a number of "
                   "seconds since 1970-01-01 UTC.")

    def test_key_ops(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "ops",
                                      "kty": "RSA",
                                      "key_ops": ["wrapKey"]})
        pub = public_key(self.call("GET", "/keys/ops").json())
        blob = b64u(pub.encrypt(b"o" * 32, oaep("RSA-OAEP-256")))
        eq(self.op("ops", "wrapkey", {"alg": "RSA-OAEP-256",
                                      "value": b64u(b"x")}).status, 200,
           "wrapKey allowed")
        for op, value in (("unwrapKey", blob), ("encrypt", b64u(b"x")),
                          ("decrypt", blob)):
            self.error(self.op("ops", op.lower(), {"alg": "RSA-OAEP-256",
                                                   "value": value}),
                       403, "Forbidden", "Operation %s is not permitted on "
                       "this key." % op, "KeyOperationForbidden")
        r = self.call("PATCH", "/keys/ops", {"key_ops": ["wrapKey",
                                                         "unwrapKey"]})
        eq(r.json()["key"]["key_ops"], ["wrapKey", "unwrapKey"], "key_ops")
        eq(self.op("ops", "unwrapkey", {"alg": "RSA-OAEP-256",
                                        "value": blob}).status, 200,
           "unwrapKey once allowed")
        self.error(self.call("PATCH", "/keys/ops", {"key_ops": ["fly"]}),
                   400, "BadParameter", "key_ops must be a list of: "
                   "encrypt, decrypt, sign, verify, wrapKey, unwrapKey, "
                   "import, export.")

    # -- key pairs: EC keys, sign, verify, RSA decrypt ------------------------
    def test_ec_keys(self):
        from cryptography.hazmat.primitives.asymmetric import ec
        for crv, size, curve in (("P-256", 32, ec.SECP256R1),
                                 ("P-384", 48, ec.SECP384R1),
                                 ("P-521", 66, ec.SECP521R1),
                                 ("P-256K", 32, ec.SECP256K1)):
            name = "ec" + crv.replace("-", "")
            r = self.call("POST", "/keys/%s/create" % name,
                          {"kty": "EC", "crv": crv})
            eq(r.status, 200, "create %s (%s)" % (crv, r.raw[:200]))
            key = self.call("GET", "/keys/" + name).json()["key"]
            eq((key["kty"], key["crv"], key["key_ops"]),
               ("EC", crv, ["sign", "verify"]), "EC JWK " + crv)
            eq((len(unb64u(key["x"])), len(unb64u(key["y"]))),
               (size, size), "coordinates of " + crv)
            ec.EllipticCurvePublicNumbers(
                int.from_bytes(unb64u(key["x"]), "big"),
                int.from_bytes(unb64u(key["y"]), "big"),
                curve()).public_key()  # raises when not on the curve
            eq("n" in key, False, "no RSA members on " + crv)
        r = self.hsm("POST", "/keys/hsmec/create", {"kty": "EC-HSM",
                                                    "crv": "P-384"})
        eq((r.status, r.json()["key"]["kty"]), (200, "EC-HSM"),
           "EC-HSM in a Managed HSM")
        self.error(self.hsm("POST", "/keys/hsmec2/create", {"kty": "EC"}),
                   400, "BadParameter", "The key type EC is not supported "
                   "by this managed HSM; use one of: RSA-HSM, EC-HSM, "
                   "oct-HSM.")
        self.error(self.call("POST", "/keys/ecbad/create",
                             {"kty": "EC", "crv": "P-224"}),
                   400, "BadParameter", "The curve P-224 is not supported; "
                   "use one of: P-256, P-384, P-521, P-256K.")

    def _ec_pub(self, name, host="127.0.0.1"):
        from cryptography.hazmat.primitives.asymmetric import ec
        curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(),
                  "P-521": ec.SECP521R1(), "P-256K": ec.SECP256K1()}
        key = self.call("GET", "/keys/" + name, host=host).json()["key"]
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(unb64u(key["x"]), "big"),
            int.from_bytes(unb64u(key["y"]), "big"),
            curves[key["crv"]]).public_key()

    def test_sign_rsa(self):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
        self.ctl("azure_create_key", {"vault": "kv1", "name": "rsasig",
                                      "kty": "RSA", "key_size": 3072})
        pub = public_key(self.call("GET", "/keys/rsasig").json())
        for alg, h in (("RS256", hashes.SHA256()), ("RS384", hashes.SHA384()),
                       ("RS512", hashes.SHA512()), ("PS256", hashes.SHA256()),
                       ("PS384", hashes.SHA384()), ("PS512", hashes.SHA512())):
            digest = hashlib.new(h.name, alg.encode()).digest()
            r = self.op("rsasig", "sign", {"alg": alg,
                                           "value": b64u(digest)})
            eq((r.status, sorted(r.json())), (200, ["kid", "value"]),
               "sign " + alg)
            eq(r.json()["kid"], self.call("GET", "/keys/rsasig").json()[
                "key"]["kid"], "sign's kid")
            sig = unb64u(r.json()["value"])
            eq(len(sig), 384, "signature length " + alg)
            pad = padding.PKCS1v15() if alg[0] == "R" else padding.PSS(
                padding.MGF1(h), h.digest_size)
            pub.verify(sig, digest, pad, Prehashed(h))
            r = self.op("rsasig", "verify", {"alg": alg,
                                             "digest": b64u(digest),
                                             "value": b64u(sig)})
            eq((r.status, r.json()), (200, {"value": True}), "verify " + alg)
            bad = bytes([sig[0] ^ 1]) + sig[1:]
            r = self.op("rsasig", "verify", {"alg": alg,
                                             "digest": b64u(digest),
                                             "value": b64u(bad)})
            eq((r.status, r.json()), (200, {"value": False}),
               "verify a flipped " + alg)
        self.error(self.op("rsasig", "sign", {"alg": "RS256",
                                              "value": b64u(b"x" * 48)}),
                   400, "BadParameter", "The digest must be 32 bytes for "
                   "RS256; it is 48.")
        self.error(self.op("rsasig", "sign", {"alg": "ES256",
                                              "value": b64u(b"x" * 32)}),
                   400, "BadParameter", "The algorithm ES256 is not "
                   "supported for key type RSA.")
        self.error(self.op("rsasig", "sign", {"alg": "RS1",
                                              "value": b64u(b"x" * 20)}),
                   400, "BadParameter", "The algorithm RS1 is not "
                   "supported for key type RSA.")

    def test_sign_ec(self):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import (
            Prehashed, encode_dss_signature)
        for crv, alg, h, size in (("P-256", "ES256", hashes.SHA256(), 32),
                                  ("P-384", "ES384", hashes.SHA384(), 48),
                                  ("P-521", "ES512", hashes.SHA512(), 66),
                                  ("P-256K", "ES256K", hashes.SHA256(), 32)):
            name = "sig" + crv.replace("-", "")
            self.ctl("azure_create_key", {"vault": "kv1", "name": name,
                                          "kty": "EC", "crv": crv})
            pub = self._ec_pub(name)
            digest = hashlib.new(h.name, crv.encode()).digest()
            r = self.op(name, "sign", {"alg": alg, "value": b64u(digest)})
            eq(r.status, 200, "sign %s (%s)" % (alg, r.raw[:200]))
            sig = unb64u(r.json()["value"])
            eq(len(sig), 2 * size, "raw r||s length " + alg)
            pub.verify(encode_dss_signature(
                int.from_bytes(sig[:size], "big"),
                int.from_bytes(sig[size:], "big")), digest,
                ec.ECDSA(Prehashed(h)))
            r = self.op(name, "verify", {"alg": alg, "digest": b64u(digest),
                                         "value": b64u(sig)})
            eq(r.json(), {"value": True}, "verify " + alg)
            other = "ES384" if alg != "ES384" else "ES256"
            self.error(self.op(name, "sign", {"alg": other,
                                              "value": b64u(digest)}),
                       400, "BadParameter", "The algorithm %s is not "
                       "supported for key type EC on curve %s."
                       % (other, crv))
            self.error(self.op(name, "decrypt", {"alg": "RSA-OAEP",
                                                 "value": b64u(b"x")}),
                       403, "Forbidden", "Operation decrypt is not "
                       "permitted on this key.", "KeyOperationForbidden")
        self.error(self.op("sigP256", "sign", {"alg": "ES256",
                                               "value": b64u(b"d" * 31)}),
                   400, "BadParameter", "The digest must be 32 bytes for "
                   "ES256; it is 31.")

    def test_sign_refusals(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "nosign",
                                      "kty": "RSA",
                                      "key_ops": ["decrypt", "verify"]})
        self.error(self.op("nosign", "sign", {"alg": "RS256",
                                              "value": b64u(b"x" * 32)}),
                   403, "Forbidden", "Operation sign is not permitted on "
                   "this key.", "KeyOperationForbidden")
        self.ctl("azure_create_key", {"vault": "kv1", "name": "oldsig",
                                      "kty": "EC", "attributes": {
                                          "exp": int(time.time()) - 10}})
        self.error(self.op("oldsig", "sign", {"alg": "ES256",
                                              "value": b64u(b"x" * 32)}),
                   403, "Forbidden", "Operation sign is not allowed on an "
                   "expired key.", "KeyExpired")
        self.error(self.hsm_op("aes1", "sign", {"alg": "RS256",
                                                "value": b64u(b"x" * 32)}),
                   403, "Forbidden", "Operation sign is not permitted on "
                   "this key.", "KeyOperationForbidden")
        self.ctl("azure_grant", {"principal": "app2",
                                 "grants": {"kv1/nosign": ["get"]}})
        r = self.op("nosign", "decrypt", {"alg": "RSA-OAEP",
                                          "value": b64u(b"x" * 256)},
                    token=self.token("app2"))
        self.error(r, 403, "Forbidden", None, "ForbiddenByRbac")
        if "keys/decrypt/action" not in r.json()["error"]["message"]:
            raise AssertionError("RBAC text names keys/decrypt/action")
        self.ctl("azure_grant", {"principal": "app2",
                                 "grants": {"kv1/k1": ["get", "wrapKey"]}})

    def test_asym_decrypt(self):
        self.ctl("azure_create_key", {"vault": "kv1", "name": "dec",
                                      "kty": "RSA", "key_size": 2048,
                                      "key_ops": ["encrypt", "decrypt"]})
        pub = public_key(self.call("GET", "/keys/dec").json())
        for alg in ("RSA-OAEP", "RSA-OAEP-256"):
            ct = pub.encrypt(b"secret " + alg.encode(), oaep(alg))
            r = self.op("dec", "decrypt", {"alg": alg, "value": b64u(ct)})
            eq((r.status, unb64u(r.json()["value"])),
               (200, b"secret " + alg.encode()), "decrypt " + alg)
        ct = pub.encrypt(b"x", oaep("RSA-OAEP"))
        self.error(self.op("dec", "decrypt", {"alg": "RSA-OAEP-256",
                                              "value": b64u(ct)}),
                   400, "BadParameter", "The ciphertext does not decrypt "
                   "under this key.")
        self.error(self.op("dec", "decrypt", {"alg": "RSA-OAEP",
                                              "value": b64u(ct[:-1])}),
                   400, "BadParameter", "The ciphertext length must be 256 "
                   "bytes for this key.")
        self.error(self.op("dec", "sign", {"alg": "RS256",
                                           "value": b64u(b"x" * 32)}),
                   403, "Forbidden", "Operation sign is not permitted on "
                   "this key.", "KeyOperationForbidden")

    # -- oct-HSM --------------------------------------------------------------
    def import_oct(self, name, hexkey):
        r = self.hsm("PUT", "/keys/" + name, {"key": {
            "kty": "oct-HSM", "k": b64u(bytes.fromhex(hexkey))}})
        eq((r.status, r.json()["key"]["kty"]), (200, "oct-HSM"),
           "import %s (%s)" % (name, r.raw[:200]))
        return r.json()["key"]["kid"]

    def hsm_op(self, name, op, body):
        return self.hsm("POST", "/keys/%s/%s" % (name, op), body)

    def test_key_wrap_vectors(self):
        for name, (kek, data, want) in (("kw256", KW256), ("kw192", KW192)):
            kid = self.import_oct(name, kek)
            algs = ["CKM_AES_KEY_WRAP"] + (["A256KW"] if name == "kw256"
                                           else ["A192KW"])
            for alg in algs:
                r = self.hsm_op(name, "wrapkey", {
                    "alg": alg, "value": b64u(bytes.fromhex(data))})
                eq(r.json(), {"kid": kid,
                              "value": b64u(bytes.fromhex(want))},
                   "RFC 3394 %s %s" % (name, alg))
                r = self.hsm_op(name, "unwrapkey", {
                    "alg": alg, "value": b64u(bytes.fromhex(want))})
                eq(r.json()["value"], b64u(bytes.fromhex(data)),
                   "unwrap %s %s" % (name, alg))
        self.import_oct("kwp", KWP_KEK)
        for data, want in KWP:
            r = self.hsm_op("kwp", "wrapkey", {
                "alg": "CKM_AES_KEY_WRAP_PAD",
                "value": b64u(bytes.fromhex(data))})
            eq(r.json()["value"], b64u(bytes.fromhex(want)),
               "RFC 5649 %d octets" % (len(data) // 2))
            r = self.hsm_op("kwp", "unwrapkey", {
                "alg": "CKM_AES_KEY_WRAP_PAD",
                "value": b64u(bytes.fromhex(want))})
            eq(r.json()["value"], b64u(bytes.fromhex(data)), "RFC 5649 back")
        bad = bytearray(bytes.fromhex(KW256[2]))
        bad[0] ^= 1
        for alg in ("A256KW", "CKM_AES_KEY_WRAP_PAD"):
            self.error(self.hsm_op("kw256", "unwrapkey", {
                "alg": alg, "value": b64u(bytes(bad))}), 400,
                "BadParameter",
                "The ciphertext does not unwrap under this key.")
        self.error(self.hsm_op("kw192", "wrapkey", {
            "alg": "A256KW", "value": b64u(bytes(32))}), 400,
            "BadParameter", "The algorithm A256KW needs a 256-bit key; this "
            "key has 192 bits.")
        self.error(self.hsm_op("kw256", "wrapkey", {
            "alg": "A256KW", "value": b64u(bytes(20))}), 400,
            "BadParameter", "The value to wrap with A256KW must be a "
            "multiple of 8 bytes, at least 16.")
        self.error(self.hsm_op("kw256", "wrapkey", {
            "alg": "RSA-OAEP-256", "value": b64u(bytes(32))}), 400,
            "BadParameter", "The algorithm RSA-OAEP-256 is not supported for "
            "key type oct-HSM.")

    def test_gcm(self):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        key = os.urandom(32)
        kid = self.import_oct("gcm1", key.hex())
        aad = b"tenant=t1"
        r = self.hsm_op("gcm1", "encrypt", {
            "alg": "A256GCM", "value": b64u(b"plain data"), "aad": b64u(aad)})
        out = r.json()
        eq((r.status, sorted(out)), (200, ["aad", "iv", "kid", "tag",
                                           "value"]), "encrypt members")
        eq((out["kid"], out["aad"], len(unb64u(out["iv"])),
            len(unb64u(out["tag"]))), (kid, b64u(aad), 12, 16),
           "kid, aad, iv and tag sizes")
        eq(AESGCM(key).decrypt(unb64u(out["iv"]), unb64u(out["value"]) +
                               unb64u(out["tag"]), aad), b"plain data",
           "opened here")
        iv = os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, b"made here", aad)
        body = {"alg": "A256GCM", "value": b64u(sealed[:-16]),
                "iv": b64u(iv), "tag": b64u(sealed[-16:]), "aad": b64u(aad)}
        r = self.hsm_op("gcm1", "decrypt", body)
        eq(r.json(), {"kid": kid, "value": b64u(b"made here")},
           "decrypt of a ciphertext made here")
        self.error(self.hsm_op("gcm1", "decrypt", dict(body, aad=b64u(
            b"tenant=t2"))), 400, "BadParameter", "The ciphertext, iv, aad "
            "or tag does not decrypt under this key.")
        self.error(self.hsm_op("gcm1", "decrypt", {
            k: v for k, v in body.items() if k != "tag"}), 400,
            "BadParameter", "The parameter 'tag' is required for A256GCM.")
        self.error(self.hsm_op("gcm1", "encrypt", {
            "alg": "A128GCM", "value": b64u(b"x")}), 400, "BadParameter",
            "The algorithm A128GCM needs a 128-bit key; this key has 256 "
            "bits.")
        r = self.hsm_op("gcm1", "encrypt", {"alg": "A256GCM",
                                            "value": b64u(b"x"),
                                            "iv": b64u(iv)})
        eq((unb64u(r.json()["iv"]), "aad" in r.json()), (iv, False),
           "a given iv is used; no aad member without aad")

    # -- grants, vault addressing, bodies -------------------------------------
    def test_grants(self):
        tok2 = self.token("app2")
        eq(self.call("GET", "/keys/k1", token=tok2).status, 200, "get")
        eq(self.op("k1", "wrapkey", {"alg": "RSA-OAEP-256",
                                     "value": b64u(b"x")},
                   token=tok2).status, 200, "wrapKey")
        r = self.op("k1", "unwrapkey", {"alg": "RSA-OAEP-256",
                                        "value": b64u(b"x")}, token=tok2)
        self.error(r, 403, "Forbidden", None, "ForbiddenByRbac")
        eq(r.json()["error"]["message"],
           "Caller is not authorized to perform action on resource.\r\n"
           "If role assignments, deny assignments or role definitions were "
           "changed recently, please observe propagation time.\r\n"
           "Caller: appid=app2;oid=app2;iss=https://sts.windows.net/t1/\r\n"
           "Action: 'Microsoft.KeyVault/vaults/keys/unwrap/action'\r\n"
           "Resource: 'kv1/keys/k1'\r\nAssignment: (not found)\r\n"
           "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
           "Vault: kv1;location=emulator\r\n", "RBAC refusal")
        self.error(self.call("GET", "/keys/k2", token=tok2), 403,
                   "Forbidden", None, "ForbiddenByRbac")
        # Without a grant on the vault, a missing key is a refusal too.
        self.error(self.call("GET", "/keys/none", token=tok2), 403,
                   "Forbidden", None, "ForbiddenByRbac")
        self.ctl("azure_grant", {"principal": "app2", "grants": None})
        self.error(self.call("GET", "/keys/k1", token=tok2), 403,
                   "Forbidden", None, "ForbiddenByRbac")
        self.ctl("azure_grant", {"principal": "app2",
                                 "grants": {"kv1/k1": ["get", "wrapKey"]}})
        r = self.emu.ctl("azure_grant", {"principal": "x",
                                         "grants": {"kv1": ["fly"]}},
                         expect=400)
        eq(r["error"].startswith("ValueError: grants:"), True,
           "bad grant refused")

    def test_prefix_vault(self):
        self.ctl("azure_create_key", {"vault": "kv2", "name": "p1",
                                      "kty": "RSA"})
        tok3 = self.token("app3")
        r = self.call("GET", "/vaults/kv2/keys/p1", token=tok3)
        eq(r.status, 200, "prefix GET (%s)" % r.raw[:200])
        kid = r.json()["key"]["kid"]
        eq(kid.startswith("https://127.0.0.1:%d/vaults/kv2/keys/p1/"
                          % self.port), True, "prefixed kid %s" % kid)
        r = self.call("POST", "/vaults/kv2/keys/p1/wrapkey",
                      {"alg": "RSA-OAEP-256", "value": b64u(b"x")},
                      token=tok3)
        eq(r.json()["kid"], kid, "prefixed wrap")
        r = self.call("GET", "/vaults/kv2/keys/p1", token=False)
        self.challenge(r, KV, "t2")
        self.error(self.call("GET", "/vaults/nope/keys/p1"), 404,
                   "VaultNotFound", "No vault named nope is served here.")
        self.error(self.call("GET", "/keys/k1", host="127.0.0.2"), 404,
                   "VaultNotFound", "No vault is served for the host "
                   "127.0.0.2:%d." % self.port)
        r = self.emu.ctl("azure_create_vault", {
            "name": "kv3", "tenant": "t1", "hosts": ["localhost"]},
            expect=400)
        eq(r["error"], "ValueError: host localhost already names vault "
           "hsm1", "host taken")

    def test_bad_requests(self):
        self.error(self.op("k1", "wrapkey", None, raw=b"{nope"), 400,
                   "BadParameter", "The request body is not valid JSON.")
        self.error(self.op("k1", "wrapkey", None, raw=b"[1]"), 400,
                   "BadParameter", "The request body must be a JSON "
                   "object.")
        self.error(self.op("k1", "wrapkey", {"value": b64u(b"x")}), 400,
                   "BadParameter", "The parameter 'alg' is required.")
        self.error(self.op("k1", "wrapkey", {"alg": "RSA-OAEP-256"}), 400,
                   "BadParameter", "The parameter 'value' is required.")
        self.error(self.op("k1", "wrapkey", {"alg": "RSA-OAEP-256",
                                             "value": "a+b/"}), 400,
                   "BadParameter",
                   "The parameter 'value' is not valid base64url.")
        self.error(self.call("POST", "/keys/k1/%s/release" % ("0" * 32),
                             {}),
                   404, "NotFound", "The requested operation POST /keys/k1/"
                   "%s/release is not supported." % ("0" * 32))
        self.error(self.call("PUT", "/keys/k1/rotate", {}), 405,
                   "BadParameter", "The requested operation PUT "
                   "/keys/k1/rotate is not supported.")
        self.error(self.call("GET", "/keys/k1/wrapkey"), 405,
                   "BadParameter", "The requested operation GET "
                   "/keys/k1/wrapkey is not supported.")

    # -- Entra ID -------------------------------------------------------------
    def form(self, tenant, host="127.0.0.1", **params):
        return self.emu.request(
            "POST", "/%s/oauth2/v2.0/token" % tenant,
            urllib.parse.urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded",
             "Host": "%s:%d" % (host, self.port)}, tls=True)

    def entra_error(self, r, status, error, code, description=None):
        eq(r.status, status, "HTTP status (%s)" % r.raw[:300])
        out = r.json()
        eq(sorted(out), ["correlation_id", "error", "error_codes",
                         "error_description", "error_uri", "timestamp",
                         "trace_id"], "Entra error members")
        eq((out["error"], out["error_codes"]), (error, [code]),
           "error, error_codes")
        if description is not None:
            eq(out["error_description"], "AADSTS%d: %s" % (code,
                                                           description),
               "error_description")

    def secret_grant(self, **kw):
        params = {"grant_type": "client_credentials", "client_id": "app1",
                  "client_secret": "app1-secret",
                  "scope": KV + "/.default"}
        params.update(kw)
        return self.form("t1", **params)

    def test_client_secret(self):
        r = self.secret_grant()
        eq(r.status, 200, "token (%s)" % r.raw[:200])
        out = r.json()
        eq(sorted(out), ["access_token", "expires_in", "ext_expires_in",
                         "token_type"], "token members")
        eq((out["token_type"], out["expires_in"]), ("Bearer", 3600), "type")
        eq(self.call("GET", "/keys/k1", token=out["access_token"]).status,
           200, "the token opens the vault")
        self.error(self.hsm("GET", "/keys/aes1", token=out["access_token"]),
                   401, "Unauthorized", "AKV10022: Invalid audience. "
                   "Expected https://managedhsm.azure.net, found: "
                   "https://vault.azure.net.")
        hsm = self.secret_grant(scope=HSM + "/.default").json()
        eq(self.hsm("GET", "/keys/aes1", token=hsm["access_token"]).status,
           200, "HSM scope")
        self.entra_error(self.secret_grant(client_secret="wrong"), 401,
                         "invalid_client", 7000215)
        self.entra_error(self.secret_grant(client_id="nobody"), 400,
                         "unauthorized_client", 700016, "Application with "
                         "identifier 'nobody' was not found in the "
                         "directory 't1'.")
        self.entra_error(self.form("t9", grant_type="client_credentials",
                                   client_id="app1", client_secret="x",
                                   scope=KV + "/.default"), 400,
                         "invalid_request", 90002, "Tenant 't9' not found.")
        self.entra_error(self.secret_grant(scope=KV), 400, "invalid_scope",
                         1002012)
        self.entra_error(self.secret_grant(grant_type="password"), 400,
                         "unsupported_grant_type", 70003)
        self.entra_error(self.form("t1", grant_type="client_credentials",
                                   client_id="app1",
                                   scope=KV + "/.default"), 401,
                         "invalid_client", 7000218)
        log = self.emu.calls("AZ.Token")
        eq([(c["status"], c["principal"], c.get("client_auth"))
            for c in log[-8:]],
           [(200, "app1", "secret"), (200, "app1", "secret"),
            (401, None, "secret"), (400, None, None), (400, None, None),
            (400, None, None), (400, None, None), (401, None, None)],
           "token calls")
        eq((log[-8]["body_members"], log[-8]["scope"]),
           (["client_id", "client_secret", "grant_type", "scope"],
            KV + "/.default"), "logged members, no secret value")
        if "app1-secret" in json.dumps(self.emu.calls()):
            raise AssertionError("a client secret reached the call log")

    def register_cert(self, client_id, tenant="t1"):
        from cryptography.hazmat.primitives.asymmetric import rsa
        key = rsa.generate_private_key(65537, 2048)
        pem, der = self_signed(key, client_id)
        out = self.ctl("azure_principal", {"client_id": client_id,
                                           "tenant": tenant,
                                           "certificates": [pem]})
        x5t = b64u(hashlib.sha1(der).digest())
        x5t256 = b64u(hashlib.sha256(der).digest())
        eq(out["thumbprints"], [{"x5t": x5t, "x5t#S256": x5t256}],
           "thumbprints")
        return key, x5t, x5t256

    def assertion(self, key, header, client_id="app-cert", alg="RS256",
                  **claims):
        now = int(time.time())
        c = {"aud": "https://127.0.0.1:%d/t1/oauth2/v2.0/token" % self.port,
             "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
             "nbf": now, "exp": now + 600}
        c.update(claims)
        for k in [k for k, v in c.items() if v is None]:
            del c[k]
        return jwt(key, header, c, alg)

    def cert_grant(self, assertion, client_id="app-cert"):
        return self.form("t1", grant_type="client_credentials",
                         client_id=client_id, scope=KV + "/.default",
                         client_assertion_type="urn:ietf:params:oauth:"
                         "client-assertion-type:jwt-bearer",
                         client_assertion=assertion)

    def test_client_assertion(self):
        key, x5t, x5t256 = self.register_cert("app-cert")
        self.ctl("azure_grant", {"principal": "app-cert",
                                 "grants": {"kv1/k1": ["get"]}})
        r = self.cert_grant(self.assertion(key, {"x5t#S256": x5t256}))
        eq(r.status, 200, "RS256 x5t#S256 (%s)" % r.raw[:300])
        eq(self.call("GET", "/keys/k1",
                     token=r.json()["access_token"]).status, 200,
           "certificate token opens the vault")
        r = self.cert_grant(self.assertion(key, {"x5t": x5t}, alg="PS256"))
        eq(r.status, 200, "PS256 x5t (%s)" % r.raw[:300])
        log = self.emu.calls("AZ.Token")[-2:]
        eq([(c["client_auth"], c["jwt_header"], c["jwt_claims"])
            for c in log],
           [("certificate", {"x5t#S256": x5t256, "alg": "RS256",
                             "typ": "JWT"},
             ["aud", "exp", "iss", "jti", "nbf", "sub"]),
            ("certificate", {"x5t": x5t, "alg": "PS256", "typ": "JWT"},
             ["aud", "exp", "iss", "jti", "nbf", "sub"])], "logged JWT")
        other, _, _ = self.register_cert("app-other")
        cases = [
            (self.assertion(other, {"x5t#S256": x5t256}), 700027,
             "Client assertion failed signature validation."),
            (self.assertion(key, {"x5t#S256": "AAAA"}), 700027,
             "The certificate with identifier used to sign the client "
             "assertion is not registered on application."),
            (self.assertion(key, {"x5t#S256": x5t256}, aud="https://"
                            "login.microsoftonline.com/t1/oauth2/v2.0/"
                            "token"), 700212, None),
            (self.assertion(key, {"x5t#S256": x5t256}, iss="app-other"),
             700021, "Client assertion application identifier doesn't "
             "match 'client_id' parameter."),
            (self.assertion(key, {"x5t#S256": x5t256}, sub="someone"),
             700021, None),
            (self.assertion(key, {"x5t#S256": x5t256},
                            exp=int(time.time()) - 5), 700024,
             "Client assertion is not within its valid time range."),
            (self.assertion(key, {"x5t#S256": x5t256},
                            nbf=int(time.time()) + 3600), 700024, None),
            (self.assertion(key, {"x5t#S256": x5t256}, jti=None), 50027,
             "JWT token is invalid or malformed: jti is missing."),
            ("not.a.jwt", 50027, "JWT token is invalid or malformed."),
        ]
        for i, (a, code, text) in enumerate(cases):
            r = self.cert_grant(a)
            self.entra_error(r, 401, "invalid_client", code, text)
        once = self.assertion(key, {"x5t#S256": x5t256})
        eq(self.cert_grant(once).status, 200, "first use")
        self.entra_error(self.cert_grant(once), 401, "invalid_client", 50027,
                         "JWT token is invalid or malformed: its jti was "
                         "used before.")
        r = self.form("t1", grant_type="client_credentials",
                      client_id="app-cert", scope=KV + "/.default",
                      client_assertion_type="jwt", client_assertion="x")
        self.entra_error(r, 400, "invalid_request", 50027)

    def test_federated(self):
        self.ctl("azure_principal", {"client_id": "app-wi", "tenant": "t1",
                                     "federated_tokens": ["k8s-sa-token"]})
        self.ctl("azure_grant", {"principal": "app-wi",
                                 "grants": {"kv1": ["get"]}})
        r = self.cert_grant("k8s-sa-token", "app-wi")
        eq(r.status, 200, "federated (%s)" % r.raw[:200])
        eq(self.call("GET", "/keys/k1",
                     token=r.json()["access_token"]).status, 200,
           "workload identity token opens the vault")
        eq(self.emu.calls("AZ.Token")[-1]["client_auth"], "federated",
           "logged")
        self.entra_error(self.cert_grant("other-token", "app-wi"), 401,
                         "invalid_client", 50027)

    def test_openid_configuration(self):
        r = self.emu.request("GET", "/t1/v2.0/.well-known/"
                             "openid-configuration",
                             headers={"Host": "127.0.0.1:%d" % self.port},
                             tls=True)
        eq(r.status, 200, "openid configuration")
        out = r.json()
        base = "https://127.0.0.1:%d/t1" % self.port
        eq((out["token_endpoint"], out["issuer"],
            out["authorization_endpoint"], out["jwks_uri"]),
           (base + "/oauth2/v2.0/token", base + "/v2.0",
            base + "/oauth2/v2.0/authorize",
            base + "/discovery/v2.0/keys"), "endpoints")

    # -- managed identity -----------------------------------------------------
    def mi(self, path, headers, **query):
        return self.emu.request("GET", path + "?" +
                                urllib.parse.urlencode(query),
                                headers=headers)

    def test_imds(self):
        self.ctl("azure_principal", {"client_id": "vm-sys", "tenant": "t1"})
        self.ctl("azure_principal", {"client_id": "vm-user", "tenant": "t1"})
        self.ctl("azure_grant", {"principal": "vm-sys",
                                 "grants": {"kv1": ["get"]}})
        self.ctl("azure_managed_identity", {"kind": "system",
                                            "client_id": "vm-sys"})
        self.ctl("azure_managed_identity", {
            "kind": "user", "client_id": "vm-user", "object_id": "oid-u",
            "msi_res_id": "/subscriptions/s/resourcegroups/g/providers/"
                          "Microsoft.ManagedIdentity/"
                          "userAssignedIdentities/u"})
        path = "/metadata/identity/oauth2/token"
        md = {"Metadata": "true"}
        t0 = int(time.time())
        r = self.mi(path, md, **{"api-version": "2018-02-01",
                                 "resource": KV})
        eq(r.status, 200, "IMDS (%s)" % r.raw[:200])
        out = r.json()
        eq(sorted(out), ["access_token", "client_id", "expires_in",
                         "expires_on", "ext_expires_in", "not_before",
                         "resource", "token_type"], "IMDS members")
        eq((out["client_id"], out["expires_in"], out["resource"],
            out["token_type"]), ("vm-sys", "3600", KV, "Bearer"),
           "IMDS values (numbers as strings)")
        if not t0 + 3599 <= int(out["expires_on"]) <= t0 + 3602:
            raise AssertionError("expires_on %s" % out["expires_on"])
        eq(self.call("GET", "/keys/k1", token=out["access_token"]).status,
           200, "IMDS token opens the vault")
        # Azure's identity library asks at the path with a final "/".
        r = self.mi(path + "/", md, **{"api-version": "2018-02-01",
                                       "resource": KV})
        eq((r.status, r.json()["client_id"]), (200, "vm-sys"), "path + /")
        for param, value in (("client_id", "vm-user"),
                             ("object_id", "oid-u"),
                             ("msi_res_id", "/subscriptions/s/resourcegroups"
                              "/g/providers/Microsoft.ManagedIdentity/"
                              "userAssignedIdentities/u")):
            r = self.mi(path, md, **{"api-version": "2018-02-01",
                                     "resource": KV, param: value})
            eq((r.status, r.json()["client_id"]), (200, "vm-user"),
               "user-assigned by " + param)
        r = self.mi(path, md, **{"api-version": "2018-02-01",
                                 "resource": KV, "client_id": "nobody"})
        eq((r.status, r.json()), (400, {"error": "invalid_request",
                                        "error_description":
                                            "Identity not found"}),
           "unknown identity")
        r = self.mi(path, {}, **{"api-version": "2018-02-01",
                                 "resource": KV})
        eq((r.status, r.json()), (400, {"error": "invalid_request",
                                        "error_description": "Required "
                                        "metadata header not specified"}),
           "no Metadata header")
        r = self.mi(path, md, resource=KV)
        eq((r.status, r.json()["error"]), (400, "invalid_request"),
           "no api-version")
        r = self.mi(path, md, **{"api-version": "2018-02-01",
                                 "resource": "https://storage.azure.com"})
        eq((r.status, r.json()["error"]), (400, "invalid_resource"),
           "unknown resource")
        r = self.mi(path, md, **{"api-version": "2018-02-01",
                                 "resource": HSM})
        eq(self.hsm("GET", "/keys/aes1", token=r.json()["access_token"])
           .status, 403, "HSM token for vm-sys: no grant there")
        self.ctl("azure_identity_endpoints", {"imds_enabled": False})
        r = self.mi(path, md, **{"api-version": "2018-02-01",
                                 "resource": KV})
        eq(r.status, 404, "IMDS off")
        self.ctl("azure_identity_endpoints", {"imds_enabled": True})
        log = self.emu.calls("AZ.IMDS")
        eq([(c["status"], c["principal"], c.get("identity"))
            for c in log],
           [(200, "vm-sys", "system"), (200, "vm-sys", "system"),
            (200, "vm-user", "client_id"),
            (200, "vm-user", "object_id"), (200, "vm-user", "msi_res_id"),
            (400, None, "Identity not found"), (400, None, None),
            (400, None, None), (400, None, None), (200, "vm-sys", "system"),
            (404, None, None)], "IMDS calls")
        eq([c.get("metadata_header") for c in log],
           ["true"] * 6 + [None] + ["true"] * 3 + [None],
           "Metadata header logged")

    def test_app_service(self):
        self.ctl("azure_principal", {"client_id": "web-sys", "tenant": "t1"})
        self.ctl("azure_managed_identity", {"kind": "system",
                                            "client_id": "web-sys"})
        self.ctl("azure_identity_endpoints",
                 {"app_service_header": "hdr-secret"})
        hdr = {"X-IDENTITY-HEADER": "hdr-secret"}
        t0 = int(time.time())
        r = self.mi("/msi/token", hdr, **{"api-version": "2019-08-01",
                                          "resource": KV})
        eq(r.status, 200, "App Service (%s)" % r.raw[:200])
        out = r.json()
        eq(sorted(out), ["access_token", "client_id", "expires_on",
                         "resource", "token_type"], "members")
        if not t0 + 3599 <= int(out["expires_on"]) <= t0 + 3602:
            raise AssertionError("expires_on %s" % out["expires_on"])
        eq(self.ctl("azure_token_info", {"token": out["access_token"]})[
            "principal"], "web-sys", "token of the identity")
        r = self.mi("/msi/token", {"X-IDENTITY-HEADER": "wrong"},
                    **{"api-version": "2019-08-01", "resource": KV})
        eq(r.status, 401, "wrong header")
        eq(self.mi("/msi/token", {}, **{"api-version": "2019-08-01",
                                        "resource": KV}).status, 401,
           "no header")
        r = self.mi("/msi/token", hdr, **{"api-version": "2017-09-01",
                                          "resource": KV})
        eq(r.status, 400, "old api-version")

    # -- faults and the call log ----------------------------------------------
    def test_faults(self):
        emu = self.emu
        emu.ctl("faults", {"throttle_rate": 1, "for_ops": ["AZ.WrapKey"],
                           "count": 1})
        r = self.op("k1", "wrapkey", {"alg": "RSA-OAEP-256",
                                      "value": b64u(b"x")},
                    headers={"x-ms-client-request-id": "c-429"})
        self.error(r, 429, "Throttled", "Request was not processed because "
                   "too many requests were received. Reason: A1")
        eq((r.headers.get("Retry-After"), r.headers.get("retry-after-ms"),
            r.headers.get("x-ms-retry-after-ms"),
            r.headers.get("x-ms-client-request-id")),
           ("1", "1000", "1000", "c-429"), "retry headers, echo")
        emu.ctl("faults", {"throttle_rate": 1, "for_ops": ["AZ.*"],
                           "count": 1, "retry_after_ms": 2500,
                           "retry_after_headers": ["Retry-After",
                                                   "x-ms-retry-after-ms"]})
        r = self.call("GET", "/keys/k1")
        eq((r.status, r.headers.get("Retry-After"),
            r.headers.get("retry-after-ms"),
            r.headers.get("x-ms-retry-after-ms")),
           (429, "3", None, "2500"), "chosen headers, seconds rounded up")
        emu.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 503,
                           "for_ops": ["AZ.*"], "count": 1,
                           "retry_after_ms": 0,
                           "retry_after_headers": ["retry-after-ms"]})
        r = self.call("GET", "/keys/k1")
        self.error(r, 503, "ServiceUnavailable",
                   "The service is temporarily unavailable.")
        eq((r.headers.get("retry-after-ms"), r.headers.get("Retry-After")),
           ("0", None), "503 retry-after-ms")
        emu.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 500,
                           "for_ops": ["AZ.*"], "count": 1})
        r = self.call("GET", "/keys/k1")
        self.error(r, 500, "InternalServerError",
                   "An internal server error occurred.")
        eq(r.headers.get("Retry-After"), None, "no Retry-After on 500")
        emu.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 502,
                           "for_ops": ["AZ.GetKey"], "count": 1})
        r = self.call("GET", "/keys/k1")
        eq((r.status, r.headers.get("Content-Type"), r.raw),
           (502, "text/html", b"<html><body>502</body></html>"), "502")
        eq(bool(UUID_RE.match(r.headers.get("x-ms-request-id") or "")),
           True, "x-ms-request-id on a 502")
        # Default for_ops is AWS only.
        emu.ctl("faults", {"throttle_rate": 1, "count": 1})
        eq(self.call("GET", "/keys/k1").status, 200, "AWS-only default")
        emu.ctl("clear_faults")
        emu.ctl("faults", {"malformed_rate": 1, "for_ops": ["AZ.UnwrapKey"],
                           "count": 1})
        pub = public_key(self.call("GET", "/keys/k1").json())
        r = self.op("k1", "unwrapkey", {"alg": "RSA-OAEP-256", "value": b64u(
            pub.encrypt(b"m" * 32, oaep("RSA-OAEP-256")))})
        eq(r.status, 200, "malformed status")
        try:
            json.loads(r.raw)
            raise AssertionError("malformed body parsed")
        except ValueError:
            pass
        emu.ctl("faults", {"reset_rate": 1, "for_ops": ["AZ.Token"],
                           "count": 1})
        try:
            self.secret_grant()
            raise AssertionError("no reset")
        except (ConnectionResetError, http.client.RemoteDisconnected,
                OSError):
            pass
        emu.ctl("faults", {"latency_ms": 300, "for_ops": ["AZ.IMDS"],
                           "throttle_rate": 1, "count": 1})
        t0 = time.monotonic()
        r = self.mi("/metadata/identity/oauth2/token", {"Metadata": "true"},
                    **{"api-version": "2018-02-01", "resource": KV})
        if time.monotonic() - t0 < 0.3:
            raise AssertionError("latency not applied")
        eq((r.status, r.headers.get("Retry-After")), (429, "1"),
           "IMDS throttled")
        faults = [(c["op"], c["fault"], c["status"]) for c in emu.calls()
                  if c["endpoint"].startswith("azure") and c["fault"]]
        eq(faults, [("AZ.WrapKey", "throttle", 429),
                    ("AZ.GetKey", "throttle", 429),
                    ("AZ.GetKey", "5xx", 503), ("AZ.GetKey", "5xx", 500),
                    ("AZ.GetKey", "5xx", 502),
                    ("AZ.UnwrapKey", "malformed", 200),
                    ("AZ.Token", "reset", None),
                    ("AZ.IMDS", "throttle", 429)], "faults logged")
        first = [c for c in emu.calls() if c["fault"] == "throttle"][0]
        eq((first["method"], first["path"], first["api_version"],
            first["x_ms_client_request_id"], first["retry_after"]),
           ("POST", "/keys/k1/wrapkey", "7.4", "c-429",
            {"Retry-After": "1", "retry-after-ms": "1000",
             "x-ms-retry-after-ms": "1000"}), "faulted call details")

    def test_call_log(self):
        self.emu.ctl("reset_calls")
        r = self.op("k1", "wrapkey", {"alg": "RSA-OAEP-256",
                                      "value": b64u(b"\xfb\xff" * 8)},
                    headers={"x-ms-client-request-id": "cid-9"})
        self.call("GET", "/keys/k1", token=False)
        self.hsm("POST", "/keys/aes1/encrypt", {
            "alg": "A256GCM", "value": b64u(b"x"), "aad": b64u(b"a")},
            query="?api%2Dversion=2025-07-01")
        calls = self.emu.calls()
        eq([(c["endpoint"], c["op"], c["method"], c["path"], c["status"],
             c["principal"], c["api_version"], c["vault"]) for c in calls],
           [("azure", "AZ.WrapKey", "POST", "/keys/k1/wrapkey", 200, "app1",
             "7.4", "kv1"),
            ("azure", "AZ.GetKey", "GET", "/keys/k1", 401, None, "7.4",
             "kv1"),
            ("azure", "AZ.Encrypt", "POST", "/keys/aes1/encrypt", 200,
             "app1", "2025-07-01", "hsm1")], "calls")
        c = calls[0]
        eq((c["x_ms_request_id"], c["request_id"]),
           (r.headers.get("x-ms-request-id"),) * 2, "request id logged")
        eq((c["x_ms_client_request_id"], c["content_type"], c["auth_scheme"],
            c["body_members"], c["member_encodings"], c["alg"], c["key_id"]),
           ("cid-9", "application/json", "Bearer", ["alg", "value"],
            {"alg": "string", "value": "base64url"}, "RSA-OAEP-256",
            self.k1["key"]["kid"]), "request details")
        eq((calls[1]["error"], calls[1]["error_code"]),
           ("Unauthorized", "Unauthorized"), "401 logged")
        eq(calls[2]["member_encodings"],
           {"alg": "string", "value": "base64url", "aad": "base64url"},
           "HSM members")
        from azure_api import member_encoding
        for name, value, want in (
                ("value", "-_8A", "base64url"), ("value", "eA", "base64url"),
                ("value", "eA==", "base64url-padded"),
                ("value", "+/8A", "base64"), ("value", "e A", "string"),
                ("alg", "A256KW", "string"), ("tags", {}, "object")):
            eq(member_encoding(name, value), want,
               "member_encoding(%s, %r)" % (name, value))

    def test_control_commands(self):
        out = self.ctl("azure_import_key", {
            "vault": "hsm1", "name": "ctl-kw",
            "key": {"kty": "oct-HSM", "k": b64u(bytes.fromhex(KW256[0]))}})
        kid = out["key"]["kid"]
        eq(kid.startswith("https://localhost:%d/keys/ctl-kw/" % self.port),
           True, "control kid on the vault's first host %s" % kid)
        r = self.hsm_op("ctl-kw", "wrapkey", {
            "alg": "A256KW", "value": b64u(bytes.fromhex(KW256[1]))})
        eq(r.json(), {"kid": kid, "value": b64u(bytes.fromhex(KW256[2]))},
           "imported through the control API")
        eq(self.ctl("azure_key_material", {"vault": "hsm1",
                                           "name": "ctl-kw"})["key"]["kid"],
           kid, "azure_key_material")
        out = self.ctl("azure_create_key", {"vault": "kv2", "name": "ctl",
                                            "kty": "RSA"})
        eq(out["key"]["kid"].startswith(
            "https://127.0.0.1:%d/vaults/kv2/keys/ctl/" % self.port), True,
            "control kid of a prefix vault")
        out = self.ctl("azure_set_attributes", {
            "vault": "kv2", "name": "ctl", "attributes": {"enabled": False},
            "base": "https://kv2.vault.azure.net"})
        eq((out["key"]["kid"].startswith(
            "https://kv2.vault.azure.net/keys/ctl/"),
            out["attributes"]["enabled"]), (True, False), "base, attributes")
        self.ctl("azure_principal", {"client_id": "app-ctl", "tenant": "t1"})
        self.ctl("azure_grant", {"principal": "app-ctl",
                                 "grants": {"kv1": ["get"]}})
        t1, t2 = self.token("app-ctl"), self.token("app-ctl")
        eq(self.ctl("azure_token_info", {"token": t1})["principal"],
           "app-ctl", "token info")
        eq(self.ctl("azure_expire_token", {"principal": "app-ctl"}),
           {"expired": 2}, "expire every token of a principal")
        self.error(self.call("GET", "/keys/k1", token=t2), 401,
                   "Unauthorized", "The access token has expired.")
        eq(self.ctl("azure_token_info", {"token": "nope"}),
           {"principal": None}, "unknown token")
        for cmd, args, want in (
                ("azure_create_vault", {"name": "x", "kind": "cloud",
                                        "tenant": "t"},
                 "ValueError: kind must be vault or hsm"),
                ("azure_managed_identity", {"kind": "pod"},
                 "ValueError: kind must be system or user"),
                ("azure_principal", {"client_id": "x", "tenant": "t",
                                     "federated_tokens": "tok"},
                 "ValueError: federated_tokens: [token...]"),
                ("azure_create_key", {"vault": "nope", "name": "x",
                                      "kty": "RSA"}, "VaultNotFound")):
            r = self.emu.ctl(cmd, args, expect=404 if want ==
                             "VaultNotFound" else 400)
            eq(r["error"], want, cmd)

    def test_restart_keeps_state(self):
        pub = public_key(self.call("GET", "/keys/k1").json())
        blob = pub.encrypt(b"p" * 32, oaep("RSA-OAEP-256"))
        eq(self.emu.stop(), 0, "emulator exit status")
        self.emu.start()
        self.port = self.emu.tls_port
        r = self.op("k1", "unwrapkey", {"alg": "RSA-OAEP-256",
                                        "value": b64u(blob)})
        eq((r.status, r.json()["value"]), (200, b64u(b"p" * 32)),
           "unwrap after restart, same token")


def main():
    def make(emu, tmp):
        suite = Suite(emu)
        suite.port = emu.tls_port
        return suite

    def after(suite):
        suite.port = suite.emu.tls_port

    return run_suite(Suite, "azure-emu-", True, need_openssl=True,
                     make=make, after=after)


if __name__ == "__main__":
    sys.exit(main())
