#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests, HashiCorp Vault / OpenBao transit over TLS: routing
# beside Google's /v1/ routes, transit keys, versions and cryptography,
# batches, tokens, policies, logins, namespaces, node states, faults and the
# call log.
"""End-to-end tests of the emulator's Vault routes through its sockets,
standard library plus python3-cryptography, which checks the transit
cryptography from the outside: ciphertexts opened here with the key
material the control API hands out (AES-GCM, ChaCha20-Poly1305, HKDF for
derived keys, RSA-OAEP), and ciphertexts made here opened by the emulator.
Exit 0 pass, 1 fail, 77 skip (99 under CI=true when prerequisites are
missing).
"""

import base64
import datetime
import http.client
import json
import os
import socket
import ssl
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_emulator import eq, run_suite  # noqa: E402

DENIED = "1 error occurred:\n\t* permission denied\n\n"
INVALID_TOKEN = ("2 errors occurred:\n\t* permission denied\n\t* invalid "
                 "token\n\n")
MISSING_CONTEXT = ("missing 'context' for key derivation; the key was "
                   "created using a derived key, which means additional, "
                   "per-request information must be included in order to "
                   "perform operations with the key")
TOO_OLD = "ciphertext or signature version is disallowed by policy (too old)"
GCM_FAIL = "cipher: message authentication failed"
CHACHA_FAIL = "chacha20poly1305: message authentication failed"
ENVELOPE = ["auth", "data", "lease_duration", "lease_id", "mount_type",
            "renewable", "request_id", "warnings", "wrap_info"]


def b64(data):
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


def make_ca(cn):
    """A CA key and certificate, and a function issuing client leaves."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                         critical=True)
          .sign(key, hashes.SHA256()))

    def leaf(tmp, leaf_cn):
        lkey = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(
                    NameOID.COMMON_NAME, leaf_cn)]))
                .issuer_name(name).public_key(lkey.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                    critical=False)
                .sign(key, hashes.SHA256()))
        cpath = os.path.join(tmp, leaf_cn + ".pem")
        kpath = os.path.join(tmp, leaf_cn + ".key")
        with open(cpath, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kpath, "wb") as f:
            f.write(lkey.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        return cpath, kpath

    return ca.public_bytes(serialization.Encoding.PEM).decode(), leaf


class Suite:
    def __init__(self, emu, tmp):
        self.emu = emu
        self.tmp = tmp
        self.ctl = emu.ctl
        self.root = self.ctl("vault_token", {"token": "hvs.root-test"})[
            "token"]
        self.ctl("vault_create_key", {"name": "k1"})

    # -- helpers --------------------------------------------------------------
    def call(self, method, path, body=None, token=None, headers=None,
             tls=True, raw=None):
        hdrs = {"Content-Type": "application/json"}
        if token is not False:
            hdrs["X-Vault-Token"] = token or self.root
        hdrs.update(headers or {})
        data = raw if raw is not None else (
            b"" if body is None else json.dumps(body).encode())
        return self.emu.request(method, path, data, hdrs, tls=tls)

    def ok(self, r, status=200):
        eq(r.status, status, "HTTP status (%s)" % r.raw[:300])
        eq(r.headers.get("Content-Type"), "application/json",
           "content type")
        eq(r.headers.get("Cache-Control"), "no-store", "cache-control")
        body = r.json()
        eq(sorted(body), ENVELOPE, "envelope members")
        uuid.UUID(body["request_id"])
        eq(r.headers.get("X-Request-Id"), None, "no request-id header")
        return body

    def error(self, r, status, *errors):
        eq(r.status, status, "HTTP status (%s)" % r.raw[:300])
        eq(r.headers.get("Content-Type"), "application/json",
           "error content type")
        eq(r.headers.get("Cache-Control"), "no-store", "cache-control")
        eq(r.raw, json.dumps({"errors": list(errors)},
                             separators=(",", ":")).encode() + b"\n",
           "error body")

    def enc(self, key, plaintext, mount="transit", **kw):
        body = dict(kw, plaintext=b64(plaintext))
        return self.call("POST", "/v1/%s/encrypt/%s" % (mount, key), body)

    def dec(self, key, ciphertext, mount="transit", **kw):
        body = dict(kw, ciphertext=ciphertext)
        return self.call("POST", "/v1/%s/decrypt/%s" % (mount, key), body)

    def material(self, key, **kw):
        return self.ctl("vault_key_material", dict(kw, name=key))

    def last(self, op):
        calls = self.ctl("calls", {"op": op})["calls"]
        return calls[-1]

    # -- routing --------------------------------------------------------------
    def test_routing_beside_google(self):
        g = "/v1/projects/p/locations/global/keyRings/r/cryptoKeys/k:encrypt"
        self.emu.request("POST", g, b"{}", {
            "Authorization": "Bearer x"})
        eq(self.ctl("calls")["calls"][-1]["op"], "GCP.Encrypt",
           "a Google path without X-Vault headers")
        self.emu.request("POST", "/v1/token", b"", {})
        eq(self.ctl("calls")["calls"][-1]["op"], "GCP.STS", "/v1/token")
        r = self.emu.request("GET", "/v1/transit/keys/k1", b"",
                             {"Authorization": "Bearer " + self.root})
        self.ok(r)
        eq(self.ctl("calls")["calls"][-1]["op"], "VAULT.ReadKey",
           "a transit path without X-Vault headers")
        r = self.call("GET", "/v1/projects/transit/keys/k1")
        self.error(r, 404, 'no handler for route "projects/transit/keys/k1".'
                   ' route entry not found.')
        eq(self.ctl("calls")["calls"][-1]["op"], "VAULT.Unknown",
           "a /v1/projects path with X-Vault-Token")
        r = self.call("GET", "/v1/transit/keys/k1", tls=False)
        self.ok(r)

    # -- transit --------------------------------------------------------------
    def test_encrypt_decrypt(self):
        r = self.enc("k1", b"hello vault")
        body = self.ok(r)
        ct = body["data"]["ciphertext"]
        eq(body["data"]["key_version"], 1, "key_version")
        eq(ct.startswith("vault:v1:"), True, "prefix")
        eq(body["mount_type"], "transit", "mount_type")
        key = bytes.fromhex(self.material("k1")["keys"]["1"])
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        raw = unb64(ct[len("vault:v1:"):])
        eq(AESGCM(key).decrypt(raw[:12], raw[12:], None), b"hello vault",
           "opened here")
        nonce = os.urandom(12)
        mine = "vault:v1:" + b64(nonce + AESGCM(key).encrypt(
            nonce, b"made here", None))
        body = self.ok(self.dec("k1", mine))
        eq(unb64(body["data"]["plaintext"]), b"made here", "decrypt")
        r = self.dec("k1", "vault:v1:" + b64(raw[:-1] + bytes(
            [raw[-1] ^ 1])))
        self.error(r, 400, GCM_FAIL)
        self.error(self.dec("k1", "v1:abc"), 400,
                   "invalid ciphertext: no prefix")
        self.error(self.dec("k1", "vault:v1"), 400,
                   "invalid ciphertext: wrong number of fields")
        self.error(self.dec("k1", "vault:vx:AAAA"), 400,
                   "invalid ciphertext: version number could not be decoded")
        self.error(self.dec("k1", "vault:v1:!!"), 400,
                   "invalid ciphertext: could not decode base64")
        self.error(self.dec("k1", "vault:v1:AAAA"), 400,
                   "invalid ciphertext length")
        self.error(self.call("POST", "/v1/transit/decrypt/k1", {}), 400,
                   "missing ciphertext to decrypt")
        self.error(self.call("POST", "/v1/transit/encrypt/k1", {}), 400,
                   "missing plaintext to encrypt")
        self.error(self.call("POST", "/v1/transit/encrypt/k1",
                             {"plaintext": "a*b"}), 400,
                   "illegal base64 data at input byte 1")
        self.error(self.dec("nokey", ct), 400, "encryption key not found")
        self.error(self.call("POST", "/v1/transit/encrypt/k1",
                             raw=b"{nope"), 400, "error parsing JSON")

    def test_upsert_and_config_keys(self):
        body = self.ok(self.enc("upserted", b"x"))
        eq(body["data"]["key_version"], 1, "upserted key")
        info = self.ok(self.call("GET", "/v1/transit/keys/upserted"))["data"]
        eq((info["type"], info["derived"]), ("aes256-gcm96", False), "type")
        self.ok(self.enc("upserted-cc", b"x", type="chacha20-poly1305"))
        eq(self.material("upserted-cc")["type"], "chacha20-poly1305",
           "upsert type")
        self.error(self.enc("upserted-bad", b"x", type="rsa-2048"), 400,
                   "unknown key type rsa-2048")
        self.ok(self.enc("upserted-derived", b"x", context=b64(b"t1")))
        eq(self.material("upserted-derived")["derived"], True,
           "a context at upsert makes a derived key")
        body = self.ok(self.call("POST", "/v1/transit/config/keys",
                                 {"disable_upsert": True}))
        eq(body["data"], {"disable_upsert": True}, "config/keys")
        self.error(self.enc("never", b"x"), 400, "encryption key not found")
        eq(self.ok(self.call("GET", "/v1/transit/config/keys"))["data"],
           {"disable_upsert": True}, "config/keys read")
        self.ok(self.call("POST", "/v1/transit/config/keys",
                          {"disable_upsert": False}))
        self.ctl("vault_policy", {"name": "enc-only", "paths": {
            "transit/encrypt/*": ["update"]}})
        tok = self.ctl("vault_token", {"policies": ["enc-only"],
                                       "ttl": 600})["token"]
        self.ok(self.call("POST", "/v1/transit/encrypt/k1",
                          {"plaintext": b64(b"x")}, token=tok))
        r = self.call("POST", "/v1/transit/encrypt/absent",
                      {"plaintext": b64(b"x")}, token=tok)
        self.error(r, 403, DENIED)
        eq(self.last("VAULT.Encrypt")["capability"], "create",
           "a missing key needs create")

    def test_key_types_and_aad(self):
        from cryptography.hazmat.primitives.ciphers.aead import (
            AESGCM, ChaCha20Poly1305)
        self.ctl("vault_create_key", {"name": "cc", "type":
                                      "chacha20-poly1305"})
        self.ctl("vault_create_key", {"name": "a128", "type":
                                      "aes128-gcm96"})
        aad = b"tenant-7"
        for name, cls, fail in (("k1", AESGCM, GCM_FAIL),
                                ("cc", ChaCha20Poly1305, CHACHA_FAIL),
                                ("a128", AESGCM, GCM_FAIL)):
            ct = self.ok(self.enc(name, b"p", associated_data=b64(aad)))[
                "data"]["ciphertext"]
            raw = unb64(ct.split(":", 2)[2])
            key = bytes.fromhex(self.material(name)["keys"]["1"])
            eq(len(key), 16 if name == "a128" else 32, name + " key size")
            eq(cls(key).decrypt(raw[:12], raw[12:], aad), b"p",
               name + " opened here with AAD")
            body = self.ok(self.dec(name, ct, associated_data=b64(aad)))
            eq(unb64(body["data"]["plaintext"]), b"p", name + " AAD")
            self.error(self.dec(name, ct, associated_data=b64(b"other")),
                       400, fail)
            self.error(self.dec(name, ct), 400, fail)
        self.ctl("vault_create_key", {"name": "rsa", "type": "rsa-2048"})
        self.error(self.enc("rsa", b"p", associated_data=b64(aad)), 400,
                   "'[0].associated_data' provided for non-AEAD cipher "
                   "suite rsa-2048")
        ct = self.ok(self.enc("rsa", b"p"))["data"]["ciphertext"]
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
        priv = serialization.load_pem_private_key(
            self.material("rsa")["keys"]["1"].encode(), None)
        oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(),
                            None)
        eq(priv.decrypt(unb64(ct[len("vault:v1:"):]), oaep), b"p",
           "RSA-OAEP opened here")
        info = self.ok(self.call("GET", "/v1/transit/keys/rsa"))["data"]
        eq(sorted(info["keys"]["1"]), ["creation_time", "name",
                                       "public_key"], "RSA key entry")
        self.error(self.call("POST", "/v1/transit/keys/bad", {
            "type": "des"}), 400, "unknown key type des")

    def test_sign_and_rsa_decrypt(self):
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import (ec, padding,
                                                               utils)
        d = bytes(range(32))
        for ktype, curve in (("ecdsa-p256", "P-256"), ("ecdsa-p384", "P-384"),
                             ("ecdsa-p521", "P-521")):
            self.ctl("vault_create_key", {"name": ktype, "type": ktype})
            info = self.ok(self.call("GET", "/v1/transit/keys/" + ktype))[
                "data"]
            eq((info["supports_signing"], info["supports_decryption"],
                info["keys"]["1"]["name"]), (True, False, curve),
               ktype + " key read")
            pub = serialization.load_pem_public_key(
                info["keys"]["1"]["public_key"].encode())
            body = self.ok(self.call("POST", "/v1/transit/sign/" + ktype, {
                "input": b64(d), "prehashed": True,
                "hash_algorithm": "sha2-256",
                "marshaling_algorithm": "asn1"}))["data"]
            eq(body["key_version"], 1, "key_version")
            eq(body["signature"][:9], "vault:v1:", "signature prefix")
            pub.verify(unb64(body["signature"][9:]), d,
                       ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            self.error(self.dec(ktype, body["signature"]), 400,
                       "key type %s does not support decryption" % ktype)
        self.ctl("vault_create_key", {"name": "rsa-s", "type": "rsa-3072"})
        pub = serialization.load_pem_public_key(self.ok(self.call(
            "GET", "/v1/transit/keys/rsa-s"))["data"]["keys"]["1"][
                "public_key"].encode())
        d = bytes(48)
        for algo, pad in (("pkcs1v15", padding.PKCS1v15()),
                          ("pss", padding.PSS(padding.MGF1(hashes.SHA384()),
                                              48))):
            body = self.ok(self.call("POST", "/v1/transit/sign/rsa-s", {
                "input": b64(d), "prehashed": True,
                "hash_algorithm": "sha2-384", "signature_algorithm": algo,
                "salt_length": "hash"}))["data"]
            sig = unb64(body["signature"][9:])
            eq(len(sig), 384, algo + " signature length")
            pub.verify(sig, d, pad, utils.Prehashed(hashes.SHA384()))
        body = self.ok(self.call("POST", "/v1/transit/sign/rsa-s/sha2-512",
                                 {"input": b64(b"msg")}))["data"]
        pub.verify(unb64(body["signature"][9:]), b"msg", padding.PSS(
            padding.MGF1(hashes.SHA512()), padding.PSS.MAX_LENGTH),
            hashes.SHA512())
        self.error(self.call("POST", "/v1/transit/sign/rsa-s", {
            "input": b64(bytes(20)), "prehashed": True}), 400,
            "crypto/rsa: input must be hashed with given hash")
        self.error(self.call("POST", "/v1/transit/sign/k1", {
            "input": b64(d)}), 400,
            "key type aes256-gcm96 does not support signing")
        self.error(self.call("POST", "/v1/transit/sign/rsa-s", {
            "input": b64(d), "hash_algorithm": "sha2-999"}), 400,
            "unsupported hash algorithm sha2-999")
        ct = pub.encrypt(b"dek", padding.OAEP(padding.MGF1(hashes.SHA256()),
                                              hashes.SHA256(), None))
        body = self.ok(self.dec("rsa-s", "vault:v1:" + b64(ct)))
        eq(unb64(body["data"]["plaintext"]), b"dek", "RSA-OAEP decrypt")
        self.error(self.dec("rsa-s", "vault:v1:" + b64(bytes(384))), 400,
                   "failed to RSA decrypt the ciphertext: crypto/rsa: "
                   "decryption error")
        eq(self.last("VAULT.Sign")["status"], 400, "sign in the call log")

    def test_derived_keys(self):
        self.ok(self.call("POST", "/v1/transit/keys/d1", {"derived": True}))
        self.error(self.enc("d1", b"x"), 400, MISSING_CONTEXT)
        ctx = b"tenant-a"
        ct = self.ok(self.enc("d1", b"secret", context=b64(ctx)))[
            "data"]["ciphertext"]
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        base = bytes.fromhex(self.material("d1")["keys"]["1"])
        key = HKDF(hashes.SHA256(), 32, None, ctx).derive(base)
        raw = unb64(ct[len("vault:v1:"):])
        eq(AESGCM(key).decrypt(raw[:12], raw[12:], None), b"secret",
           "HKDF-SHA-256 per-context key")
        body = self.ok(self.dec("d1", ct, context=b64(ctx)))
        eq(unb64(body["data"]["plaintext"]), b"secret", "derived decrypt")
        self.error(self.dec("d1", ct, context=b64(b"tenant-b")), 400,
                   GCM_FAIL)
        self.error(self.dec("d1", ct), 400, MISSING_CONTEXT)
        info = self.ok(self.call("GET", "/v1/transit/keys/d1"))["data"]
        eq((info["derived"], info["kdf"], info["convergent_encryption"]),
           (True, "hkdf_sha256", False), "derived key info")

    def test_versions_and_min_decryption(self):
        self.ctl("vault_create_key", {"name": "rot"})
        ct1 = self.ok(self.enc("rot", b"one"))["data"]["ciphertext"]
        info = self.ok(self.call("POST", "/v1/transit/keys/rot/rotate"))[
            "data"]
        eq(info["latest_version"], 2, "rotate")
        eq(sorted(info["keys"]), ["1", "2"], "versions")
        body = self.ok(self.enc("rot", b"two"))
        ct2 = body["data"]["ciphertext"]
        eq((ct2[:9], body["data"]["key_version"]), ("vault:v2:", 2), "v2")
        eq(unb64(self.ok(self.dec("rot", ct1))["data"]["plaintext"]),
           b"one", "v1 still decrypts")
        body = self.ok(self.call("POST", "/v1/transit/rewrap/rot",
                                 {"ciphertext": ct1}))
        eq((body["data"]["ciphertext"][:9], body["data"]["key_version"]),
           ("vault:v2:", 2), "rewrap to the latest")
        eq(unb64(self.ok(self.dec("rot", body["data"]["ciphertext"]))[
            "data"]["plaintext"]), b"one", "rewrapped decrypts")
        self.ok(self.enc("rot", b"v1", key_version=1))
        info = self.ok(self.call("POST", "/v1/transit/keys/rot/config", {
            "min_decryption_version": 2}))["data"]
        eq(info["min_decryption_version"], 2, "min_decryption_version")
        self.error(self.dec("rot", ct1), 400, TOO_OLD)
        self.error(self.call("POST", "/v1/transit/rewrap/rot",
                             {"ciphertext": ct1}), 400, TOO_OLD)
        self.error(self.dec("rot", "vault:v3:" + ct1[9:]), 400,
                   "invalid ciphertext: version is too new")
        self.error(self.call("POST", "/v1/transit/keys/rot/config", {
            "min_decryption_version": 5}), 400,
            "cannot set min decryption version of 5, latest key version "
            "is 2")
        self.ok(self.call("POST", "/v1/transit/keys/rot/config", {
            "min_encryption_version": 2}))
        self.error(self.enc("rot", b"x", key_version=1), 400,
                   "requested version for encryption is less than the "
                   "minimum encryption key version")
        self.error(self.enc("rot", b"x", key_version=7), 400,
                   "requested version for encryption is higher than the "
                   "latest key version")
        self.error(self.call("POST", "/v1/transit/keys/nokey/rotate", {}),
                   400, "key not found")
        self.ctl("vault_key_config", {"name": "rot",
                                      "min_decryption_version": 1})
        eq(unb64(self.ok(self.dec("rot", ct1))["data"]["plaintext"]),
           b"one", "lowering the floor brings v1 back")

    def test_batch(self):
        ct = self.ok(self.enc("k1", b"a"))["data"]["ciphertext"]
        body = self.ok(self.call("POST", "/v1/transit/encrypt/k1", {
            "batch_input": [{"plaintext": b64(b"x"), "reference": "r1"},
                            {"plaintext": b64(b"y")}]}))
        res = body["data"]["batch_results"]
        eq([(sorted(x), x["key_version"], x["reference"]) for x in res],
           [(["ciphertext", "key_version", "reference"], 1, "r1"),
            (["ciphertext", "key_version", "reference"], 1, "")],
           "batch results")
        r = self.call("POST", "/v1/transit/decrypt/k1", {"batch_input": [
            {"ciphertext": ct}, {"ciphertext": "vault:v9:AAAA"}]})
        body = self.ok(r, 400)
        eq(body["data"]["batch_results"],
           [{"plaintext": b64(b"a"), "reference": ""},
            {"plaintext": "", "reference": "",
             "error": "invalid ciphertext: version is too new"}],
           "per-item error")
        r = self.call("POST", "/v1/transit/decrypt/k1", {
            "partial_failure_response_code": 207, "batch_input": [
                {"ciphertext": ct}, {"ciphertext": "vault:v9:AAAA"}]})
        self.ok(r, 207)
        r = self.call("POST", "/v1/transit/decrypt/k1", {
            "partial_failure_response_code": 207, "batch_input": [
                {"ciphertext": "vault:v9:AAAA"}]})
        self.ok(r, 400)
        r = self.call("POST", "/v1/transit/encrypt/k1", {"batch_input": [
            {"plaintext": "*"}, {"plaintext": b64(b"y")}]})
        res = self.ok(r, 400)["data"]["batch_results"]
        eq(res[0], {"error": "illegal base64 data at input byte 0",
                    "reference": ""}, "bad item")
        self.error(self.call("POST", "/v1/transit/encrypt/k1", {
            "batch_input": []}), 400, "missing batch input to process")
        self.error(self.call("POST", "/v1/transit/encrypt/k1", {
            "batch_input": [{"plaintext": "", "context": b64(b"c")},
                            {"plaintext": ""}]}), 400,
            "context should be set either in all the request blocks or in "
            "none")
        self.error(self.call("POST", "/v1/transit/encrypt/k1", {
            "batch_input": [{"context": b64(b"c")}]}), 500,
            "1 error occurred:\n\t* failed to parse batch input: 1 error(s) "
            "decoding:\n\n* '[0].plaintext' missing plaintext to encrypt"
            "\n\n")
        body = self.ok(self.call("POST", "/v1/transit/rewrap/k1", {
            "batch_input": [{"ciphertext": ct}, {"ciphertext": "bad"}]}),
            400)
        eq([sorted(x) for x in body["data"]["batch_results"]],
           [["ciphertext", "key_version", "reference"],
            ["error", "reference"]], "rewrap batch")
        eq(self.last("VAULT.Rewrap")["batch_size"], 2, "batch_size logged")

    def test_datakey(self):
        body = self.ok(self.call("POST", "/v1/transit/datakey/plaintext/k1",
                                 {}))
        d = body["data"]
        eq(sorted(d), ["ciphertext", "key_version", "plaintext"], "members")
        eq(len(unb64(d["plaintext"])), 32, "256 bits by default")
        eq(self.ok(self.dec("k1", d["ciphertext"]))["data"]["plaintext"],
           d["plaintext"], "wrapped copy decrypts to the key")
        d = self.ok(self.call("POST", "/v1/transit/datakey/wrapped/k1",
                              {"bits": 512}))["data"]
        eq(sorted(d), ["ciphertext", "key_version"], "wrapped members")
        eq(len(unb64(self.ok(self.dec("k1", d["ciphertext"]))["data"][
            "plaintext"])), 64, "512 bits")
        self.error(self.call("POST", "/v1/transit/datakey/wrapped/k1",
                             {"bits": 100}), 400, "invalid bit length")
        self.error(self.call("POST", "/v1/transit/datakey/wrapped/nokey",
                             {}), 400, "encryption key not found")
        self.error(self.call("POST", "/v1/transit/datakey/both/nokey",
                             {}), 400,
                   "Invalid path, must be 'plaintext' or 'wrapped'")
        self.error(self.call("POST", "/v1/transit/datakey/wrapped/nokey",
                             {"context": "*"}), 400,
                   "failed to base64-decode context")

    def test_key_admin(self):
        self.error(self.call("GET", "/v1/transit/keys/missing"), 404)
        self.ctl("vault_create_key", {"name": "gone"})
        r = self.call("LIST", "/v1/transit/keys")
        eq("gone" in self.ok(r)["data"]["keys"], True, "LIST")
        r = self.call("GET", "/v1/transit/keys?list=true")
        eq("gone" in self.ok(r)["data"]["keys"], True, "GET ?list=true")
        self.error(self.call("DELETE", "/v1/transit/keys/gone"), 400,
                   "deletion is not allowed for this key")
        self.ok(self.call("POST", "/v1/transit/keys/gone/config",
                          {"deletion_allowed": True}))
        r = self.call("DELETE", "/v1/transit/keys/gone")
        eq((r.status, r.raw), (204, b""), "deleted")
        self.error(self.call("GET", "/v1/transit/keys/gone"), 404)
        info = self.ok(self.call("POST", "/v1/transit/keys/fresh", {}))[
            "data"]
        eq((info["name"], info["latest_version"], info["type"],
            info["supports_encryption"], info["supports_decryption"],
            info["min_decryption_version"], info["deletion_allowed"]),
           ("fresh", 1, "aes256-gcm96", True, True, 1, False), "created")

    def test_mounts(self):
        self.ctl("vault_mount", {"path": "kms/tenant"})
        self.ctl("vault_create_key", {"mount": "kms/tenant", "name": "k"})
        ct = self.ok(self.enc("k", b"m", mount="kms/tenant"))["data"][
            "ciphertext"]
        eq(unb64(self.ok(self.dec("k", ct, mount="kms/tenant"))["data"][
            "plaintext"]), b"m", "second mount")
        self.error(self.dec("k", ct), 400, "encryption key not found")
        eq(self.last("VAULT.Decrypt")["mount"], "transit", "mount logged")
        self.error(self.call("POST", "/v1/nomount/encrypt/k", {}), 404,
                   'no handler for route "nomount/encrypt/k". route entry '
                   'not found.')
        self.error(self.call("GET", "/v1/transit/encrypt/k1"), 405,
                   "1 error occurred:\n\t* unsupported operation\n\n")
        self.error(self.call("PATCH", "/v1/transit/keys/k1", {}), 405,
                   "1 error occurred:\n\t* unsupported operation\n\n")
        self.error(self.call("POST", "/v1/transit/hmac/k1", {}), 404,
                   "1 error occurred:\n\t* unsupported path\n\n")
        eq(self.last("VAULT.Unknown")["mount"], "transit", "unknown op")

    # -- tokens and policies --------------------------------------------------
    def test_tokens(self):
        self.error(self.call("GET", "/v1/transit/keys/k1", token=False),
                   403, "permission denied")
        self.error(self.call("GET", "/v1/transit/keys/k1", token="hvs.no"),
                   403, INVALID_TOKEN)
        t = self.ctl("vault_token", {"policies": ["root"], "ttl": 120,
                                     "max_ttl": 300})
        r = self.emu.request("GET", "/v1/transit/keys/k1", b"", {
            "Authorization": "Bearer " + t["token"]}, tls=True)
        self.ok(r)
        eq(self.last("VAULT.ReadKey")["token_sent"], "bearer", "bearer")
        d = self.ok(self.call("GET", "/v1/auth/token/lookup-self",
                              token=t["token"]))["data"]
        eq((d["id"], d["accessor"], d["creation_ttl"], d["renewable"],
            d["policies"], d["explicit_max_ttl"], d["type"]),
           (t["token"], t["accessor"], 120, True, ["root"], 300,
            "service"), "lookup-self")
        eq(0 < d["ttl"] <= 120, True, "ttl")
        body = self.ok(self.call("POST", "/v1/auth/token/renew-self",
                                 {"increment": "200s"}, token=t["token"]))
        a = body["auth"]
        eq((a["client_token"], a["renewable"], a["accessor"]),
           (t["token"], True, t["accessor"]), "renew-self auth")
        eq(body["mount_type"], "token", "mount_type")
        eq(a["lease_duration"] <= 200, True, "lease")
        body = self.ok(self.call("POST", "/v1/auth/token/renew-self",
                                 {"increment": 1000}, token=t["token"]))
        eq(body["auth"]["lease_duration"] <= 300, True, "capped")
        eq(body["warnings"][0].startswith('TTL of "1000s" exceeded the '
                                          'effective max_ttl of "'), True,
           "cap warning")
        nr = self.ctl("vault_token", {"ttl": 60, "renewable": False})
        self.error(self.call("POST", "/v1/auth/token/renew-self", {},
                             token=nr["token"]), 400,
                   "lease is not renewable")
        self.ctl("vault_expire_token", {"token": t["token"]})
        self.error(self.call("GET", "/v1/transit/keys/k1",
                             token=t["token"]), 403, INVALID_TOKEN)
        self.error(self.call("POST", "/v1/auth/token/renew-self", {},
                             token=t["token"]), 403, INVALID_TOKEN)
        for c in self.ctl("calls")["calls"]:
            if t["token"] in json.dumps(c):
                raise AssertionError("a token in the call log: %r" % c)

    def test_policies(self):
        self.ctl("vault_policy", {"name": "app", "paths": {
            "transit/encrypt/app-*": ["update"],
            "transit/decrypt/+": ["update"],
            "transit/keys/app-1": ["read"],
            "transit/decrypt/secret": ["deny"]}})
        tok = self.ctl("vault_token", {"policies": ["app"], "ttl": 600})[
            "token"]
        self.ctl("vault_create_key", {"name": "app-1"})
        self.ctl("vault_create_key", {"name": "secret"})
        ct = self.ok(self.call("POST", "/v1/transit/encrypt/app-1", {
            "plaintext": b64(b"x")}, token=tok))["data"]["ciphertext"]
        self.ok(self.call("POST", "/v1/transit/decrypt/app-1", {
            "ciphertext": ct}, token=tok))
        self.ok(self.call("GET", "/v1/transit/keys/app-1", token=tok))
        for method, path in (("GET", "/v1/transit/keys/k1"),
                             ("POST", "/v1/transit/encrypt/k1"),
                             ("POST", "/v1/transit/decrypt/secret"),
                             ("POST", "/v1/transit/keys/app-1/rotate"),
                             ("DELETE", "/v1/transit/keys/app-1")):
            self.error(self.call(method, path, {"plaintext": "", "ciphertext":
                                                ct}, token=tok), 403, DENIED)
        c = self.last("VAULT.DeleteKey")
        eq((c["capability"], c["acl_path"], c["status"]),
           ("delete", "transit/keys/app-1", 403), "refusal logged")

    def test_decrypt_deleted_key(self):
        """A key deleted under a token allowed to decrypt with it: the
        decrypt is an update (no existence check in path_decrypt.go), so
        the answer is transit's 400, not a policy refusal."""
        self.ctl("vault_policy", {"name": "dec", "paths": {
            "transit/decrypt/doomed": ["update"]}})
        tok = self.ctl("vault_token", {"policies": ["dec"], "ttl": 600})[
            "token"]
        self.ctl("vault_create_key", {"name": "doomed"})
        ct = self.ok(self.enc("doomed", b"x"))["data"]["ciphertext"]
        self.ok(self.call("POST", "/v1/transit/keys/doomed/config",
                          {"deletion_allowed": True}))
        r = self.call("DELETE", "/v1/transit/keys/doomed")
        eq(r.status, 204, "deleted")
        self.error(self.call("POST", "/v1/transit/decrypt/doomed",
                             {"ciphertext": ct}, token=tok),
                   400, "encryption key not found")
        c = self.last("VAULT.Decrypt")
        eq((c["capability"], c["status"]), ("update", 400), "logged")
        self.error(self.call("POST", "/v1/transit/encrypt/doomed",
                             {"plaintext": b64(b"x")}, token=tok),
                   403, DENIED)
        eq(self.last("VAULT.Encrypt")["capability"], "create",
           "encrypt's existence check")

    # -- logins ---------------------------------------------------------------
    def test_approle(self):
        self.ctl("vault_policy", {"name": "ar", "paths": {
            "transit/encrypt/k1": ["update"]}})
        ids = self.ctl("vault_approle", {
            "name": "svc", "role_id": "role-1", "secret_id": "sec-1",
            "secret_id_num_uses": 2, "token_policies": ["ar"],
            "token_ttl": 90})
        eq(ids, {"role_id": "role-1", "secret_id": "sec-1"}, "ids")
        body = self.ok(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "role-1", "secret_id": "sec-1"}, token=False))
        a = body["auth"]
        eq((a["policies"], a["lease_duration"], a["renewable"],
            a["metadata"], body["data"], body["mount_type"]),
           (["ar"], 90, True, {"role_name": "svc"}, None, "approle"),
           "approle auth")
        self.ok(self.call("POST", "/v1/transit/encrypt/k1", {
            "plaintext": b64(b"x")}, token=a["client_token"]))
        self.ok(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "role-1", "secret_id": "sec-1"}, token=False))
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "role-1", "secret_id": "sec-1"}, token=False), 400,
            "invalid role or secret ID")
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "role-1", "secret_id": "nope"}, token=False), 400,
            "invalid role or secret ID")
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "nope", "secret_id": "x"}, token=False), 400,
            "invalid role or secret ID")
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "secret_id": "x"}, token=False), 500, "missing role_id")
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "role-1"}, token=False), 400, "missing secret_id")
        c = self.last("VAULT.AppRoleLogin")
        eq((c["auth_method"], c["role"]), ("approle", "svc"), "logged")
        if "sec-1" in json.dumps(self.ctl("calls")):
            raise AssertionError("a secret id in the call log")

    def test_kubernetes(self):
        self.ctl("vault_k8s_role", {
            "name": "web", "bound_service_account_names": ["web-sa"],
            "bound_service_account_namespaces": ["prod"],
            "token_policies": ["root"], "token_ttl": 60,
            "jwt": {"token": "jwt-web", "service_account_name": "web-sa",
                    "service_account_namespace": "prod"}})
        self.ctl("vault_k8s_role", {"jwt": {
            "token": "jwt-other", "service_account_name": "other",
            "service_account_namespace": "prod"}})
        self.ctl("vault_k8s_role", {"jwt": {
            "token": "jwt-dev", "service_account_name": "web-sa",
            "service_account_namespace": "dev"}})
        body = self.ok(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "web", "jwt": "jwt-web"}, token=False))
        a = body["auth"]
        eq((a["lease_duration"], a["metadata"]["service_account_name"],
            a["metadata"]["service_account_namespace"], a["metadata"]["role"],
            body["mount_type"]),
           (60, "web-sa", "prod", "web", "kubernetes"), "k8s auth")
        self.ok(self.call("GET", "/v1/transit/keys/k1",
                          token=a["client_token"]))
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "web", "jwt": "jwt-other"}, token=False), 403,
            "service account name not authorized")
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "web", "jwt": "jwt-dev"}, token=False), 403,
            "namespace not authorized")
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "web", "jwt": "forged"}, token=False), 403,
            "permission denied")
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "nope", "jwt": "jwt-web"}, token=False), 400,
            'invalid role name "nope"')
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "jwt": "jwt-web"}, token=False), 400, "missing role")
        self.error(self.call("POST", "/v1/auth/kubernetes/login", {
            "role": "web"}, token=False), 400, "missing jwt")

    def cert_call(self, cert, body):
        ctx = ssl.create_default_context(cafile=self.emu.ca)
        if cert:
            ctx.load_cert_chain(*cert)
        c = http.client.HTTPSConnection("127.0.0.1", self.emu.tls_port,
                                        context=ctx, timeout=10)
        try:
            c.request("POST", "/v1/auth/cert/login", json.dumps(body),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            from test_emulator import Reply
            return Reply(r.status, r.headers, r.read())
        finally:
            c.close()

    def test_cert_auth(self):
        pem1, leaf1 = make_ca("client-ca-1")
        pem2, leaf2 = make_ca("client-ca-2")
        self.ctl("vault_cert_role", {"name": "c1", "certificate": pem1,
                                     "token_policies": ["root"],
                                     "token_ttl": 300})
        self.ctl("vault_cert_role", {"name": "c2", "certificate": pem2,
                                     "token_policies": ["default"]})
        cert1 = leaf1(self.tmp, "client1")
        body = self.ok(self.cert_call(cert1, {}))
        a = body["auth"]
        eq((a["lease_duration"], a["policies"], a["metadata"]["cert_name"],
            a["metadata"]["common_name"], body["mount_type"]),
           (300, ["root"], "c1", "client1", "cert"), "cert login")
        self.ok(self.call("GET", "/v1/transit/keys/k1",
                          token=a["client_token"]))
        self.error(self.cert_call(cert1, {"name": "c2"}), 400,
                   "invalid certificate or no client certificate supplied")
        self.error(self.cert_call(None, {}), 400,
                   "client certificate must be supplied")
        eq(self.last("VAULT.CertLogin")["client_cert"], False, "logged")
        self.error(self.call("POST", "/v1/auth/cert/login", {}, token=False,
                             tls=False), 400, "tls connection required")
        eq(self.last("VAULT.CertLogin")["error"], "HTTP400", "logged")
        # a certificate of an unknown CA does not get past the handshake
        _, leaf3 = make_ca("client-ca-3")
        try:
            self.cert_call(leaf3(self.tmp, "client3"), {})
            raise AssertionError("an unknown CA's certificate was taken")
        except (ssl.SSLError, ConnectionError, socket.error):
            pass

    # -- namespaces -----------------------------------------------------------
    def test_namespaces(self):
        self.ctl("vault_namespace", {"path": "ns1"})
        self.ctl("vault_namespace", {"path": "ns1/team"})
        self.ctl("vault_create_key", {"namespace": "ns1", "name": "k1"})
        ct = self.ok(self.call("POST", "/v1/transit/encrypt/k1", {
            "plaintext": b64(b"ns")}, headers={"X-Vault-Namespace": "ns1"}))[
            "data"]["ciphertext"]
        self.error(self.dec("k1", ct), 400, GCM_FAIL)
        body = self.ok(self.call("POST", "/v1/ns1/transit/decrypt/k1", {
            "ciphertext": ct}))
        eq(unb64(body["data"]["plaintext"]), b"ns", "path-prefix form")
        eq(self.last("VAULT.Decrypt")["namespace"], "ns1", "logged")
        self.ok(self.call("POST", "/v1/team/transit/encrypt/t", {
            "plaintext": b64(b"x")}, headers={"X-Vault-Namespace": "ns1/"}))
        eq(self.last("VAULT.Encrypt")["namespace"], "ns1/team",
           "header plus path")
        self.ctl("vault_policy", {"namespace": "ns1", "name": "p", "paths": {
            "transit/decrypt/k1": ["update"],
            "team/transit/keys/*": ["read"]}})
        tok = self.ctl("vault_token", {"namespace": "ns1",
                                       "policies": ["p"], "ttl": 600})[
            "token"]
        self.ok(self.call("POST", "/v1/ns1/transit/decrypt/k1", {
            "ciphertext": ct}, token=tok))
        self.ok(self.call("GET", "/v1/ns1/team/transit/keys/t", token=tok))
        self.error(self.call("GET", "/v1/transit/keys/k1", token=tok), 403,
                   DENIED)
        eq(self.ok(self.call("GET", "/v1/auth/token/lookup-self", token=tok,
                             headers={"X-Vault-Namespace": "ns1"}))[
            "data"]["namespace_path"], "ns1/", "namespace_path")
        self.ctl("vault_approle", {"namespace": "ns1", "name": "r",
                                   "role_id": "ns-role", "secret_id": "s"})
        self.error(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "ns-role", "secret_id": "s"}, token=False), 400,
            "invalid role or secret ID")
        self.ok(self.call("POST", "/v1/auth/approle/login", {
            "role_id": "ns-role", "secret_id": "s"}, token=False,
            headers={"X-Vault-Namespace": "ns1"}))
        self.error(self.call("GET", "/v1/transit/keys/k1", headers={
            "X-Vault-Namespace": "nope"}), 404,
            'no handler for route "transit/keys/k1". route entry not found.')

    # -- node states ----------------------------------------------------------
    def test_sealed(self):
        self.ctl("vault_seal")
        try:
            self.error(self.enc("k1", b"x"), 503, "Vault is sealed")
            self.error(self.call("POST", "/v1/auth/approle/login", {},
                                 token=False), 503, "Vault is sealed")
            r = self.call("GET", "/v1/sys/health", token=False)
            eq(r.status, 503, "health sealed")
            h = r.json()
            eq((h["sealed"], h["initialized"], "cluster_id" in h),
               (True, True, False), "health body")
            r = self.call("GET", "/v1/sys/health?sealedcode=200",
                          token=False)
            eq(r.status, 200, "sealedcode")
            r = self.call("GET", "/v1/sys/seal-status", token=False)
            eq((r.status, r.json()["sealed"], r.json()["type"],
                r.json()["t"]), (200, True, "shamir", 1), "seal-status")
            self.ctl("vault_seal", {"initialized": False})
            eq(self.call("GET", "/v1/sys/health").status, 501, "uninit")
        finally:
            self.ctl("vault_unseal")
        self.ok(self.enc("k1", b"x"))
        r = self.call("GET", "/v1/sys/health", token=False)
        eq((r.status, r.json()["sealed"], r.json()["standby"]),
           (200, False, False), "active")
        eq(r.headers.get("Cache-Control"), "no-store", "health headers")

    def test_standby(self):
        self.ctl("vault_standby", {"mode": "redirect",
                                   "active_address": "https://active:8200"})
        try:
            r = self.call("POST", "/v1/transit/encrypt/k1?x=1",
                          {"plaintext": ""})
            eq((r.status, r.headers.get("Location"), r.raw),
               (307, "https://active:8200/v1/transit/encrypt/k1?x=1", b""),
               "redirect")
            eq(self.call("GET", "/v1/sys/health").status, 429, "standby")
            eq(self.call("GET", "/v1/sys/health?standbyok=true").status,
               200, "standbyok")
            eq(self.call("GET", "/v1/sys/health?standbycode=299").status,
               299, "standbycode")
            self.ctl("vault_standby", {"mode": "503"})
            self.error(self.enc("k1", b"x"), 503, "node not active but "
                       "active cluster node not found")
            self.ctl("vault_standby", {"mode": "429"})
            self.error(self.enc("k1", b"x"), 429,
                       "node is a standby (emulator)")
            self.ctl("vault_standby", {"perf_standby": True})
            eq(self.call("GET", "/v1/sys/health").status, 473, "perf")
            self.ok(self.enc("k1", b"x"))
        finally:
            self.ctl("vault_standby", {"standby": False})
        eq(self.call("GET", "/v1/sys/health").status, 200, "active again")

    def test_consistency(self):
        self.ok(self.enc("k1", b"x"))
        eq(self.enc("k1", b"x").headers.get("X-Vault-Index"), None,
           "no index by default")
        self.ctl("vault_consistency", {"send_index": True,
                                       "lacking_index": True})
        try:
            r = self.enc("k1", b"x")
            idx = r.headers.get("X-Vault-Index")
            eq(bool(idx), True, "X-Vault-Index on a write")
            self.error(self.call("GET", "/v1/transit/keys/k1",
                                 headers={"X-Vault-Index": idx}), 412,
                       "required index state not present")
            eq(self.last("VAULT.ReadKey")["x_vault_index"], idx, "logged")
        finally:
            self.ctl("vault_consistency", {"send_index": False,
                                           "lacking_index": False})

    # -- faults and the call log ----------------------------------------------
    def test_faults(self):
        self.ctl("faults", {"throttle_rate": 1, "for_ops": ["VAULT.*"],
                            "retry_after_ms": 2500})
        r = self.enc("k1", b"x")
        self.error(r, 429, 'request path "transit/encrypt/k1": rate limit '
                   'quota exceeded')
        eq(r.headers.get("Retry-After"), "3", "Retry-After")
        self.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 500,
                            "for_ops": ["VAULT.Decrypt"]})
        self.ok(self.enc("k1", b"x"))
        self.error(self.dec("k1", "x"), 500,
                   "1 error occurred:\n\t* internal error\n\n")
        self.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 503,
                            "for_ops": ["VAULT.Encrypt"]})
        self.error(self.enc("k1", b"x"), 503, "Vault is sealed")
        self.ctl("faults", {"error_5xx_rate": 1, "error_5xx_status": 502,
                            "for_ops": ["VAULT.*"], "count": 1})
        r = self.enc("k1", b"x")
        eq((r.status, r.headers.get("Content-Type")), (502, "text/html"),
           "502")
        self.ok(self.enc("k1", b"x"))
        self.ctl("faults", {"throttle_rate": 1})
        self.ok(self.enc("k1", b"x"))
        self.ctl("faults", {"malformed_rate": 1, "for_ops": ["VAULT.*"]})
        r = self.enc("k1", b"x")
        eq(r.status, 200, "malformed status")
        try:
            json.loads(r.raw)
            raise AssertionError("malformed answer parsed")
        except ValueError:
            pass
        self.ctl("faults", {"reset_rate": 1, "for_ops": ["VAULT.Encrypt"]})
        try:
            self.enc("k1", b"x")
            raise AssertionError("no reset")
        except (ConnectionError, http.client.HTTPException, ssl.SSLError,
                OSError):
            pass
        self.ctl("clear_faults")
        eq(self.last("VAULT.Encrypt")["fault"], "reset", "reset logged")
        self.ctl("faults", {"close_rate": 1, "for_ops": ["VAULT.Encrypt"],
                            "count": 1})
        try:
            self.enc("k1", b"x")
            raise AssertionError("no close")
        except (ConnectionError, http.client.HTTPException, ssl.SSLError,
                OSError):
            pass
        eq(self.last("VAULT.Encrypt")["fault"], "close", "close logged")
        self.ctl("faults", {"latency_ms": 300, "for_ops": ["VAULT.ReadKey"],
                            "count": 1})
        t0 = time.monotonic()
        self.ok(self.call("GET", "/v1/transit/keys/k1"))
        eq(time.monotonic() - t0 >= 0.3, True, "latency")
        eq(self.last("VAULT.ReadKey")["fault"], "latency", "latency logged")

    def test_call_log(self):
        self.ctl("reset_calls")
        tok = self.ctl("vault_token", {"ttl": 60})
        self.ok(self.call("POST", "/v1/transit/encrypt/k1", {
            "plaintext": b64(b"x"), "key_version": 1}, token=tok["token"],
            headers={"X-Vault-Request": "true"}))
        c = self.ctl("calls")["calls"][-1]
        want = {"endpoint": "vault", "op": "VAULT.Encrypt",
                "method": "POST", "path": "/v1/transit/encrypt/k1",
                "namespace": "", "mount": "transit", "key_name": "k1",
                "key_id": "transit/k1", "key_version": 1, "status": 200,
                "token_accessor": tok["accessor"], "auth_method": "token",
                "token_sent": "x-vault-token", "x_vault_request": "true",
                "body_members": ["key_version", "plaintext"],
                "member_encodings": {"key_version": "number",
                                     "plaintext": "base64"},
                "capability": "update", "acl_path": "transit/encrypt/k1",
                "error": None}
        eq({k: c.get(k) for k in want}, want, "call record")
        uuid.UUID(c["request_id"])
        if tok["token"] in json.dumps(c):
            raise AssertionError("token in the call log")
        self.error(self.dec("k1", "vault:v1:AAAA"), 400,
                   "invalid ciphertext length")
        c = self.ctl("calls")["calls"][-1]
        eq((c["error"], c["vault_errors"], c["key_version"]),
           ("HTTP400", ["invalid ciphertext length"], 1), "error record")
        eq(len(open(os.path.join(self.emu.state, "calls.jsonl"))
               .read().splitlines()), 2, "calls.jsonl")

    def test_control_commands(self):
        r = self.emu.request("POST", "/_emulator/vault_policy", json.dumps(
            {"name": "x", "paths": {"a": ["fly"]}}).encode())
        eq(r.status, 400, "bad capability")
        r = self.emu.request("POST", "/_emulator/vault_create_key",
                             json.dumps({"name": "x", "mount": "nope"})
                             .encode())
        eq(r.status, 400, "unknown mount")
        r = self.emu.request("POST", "/_emulator/vault_standby",
                             json.dumps({"mode": "x"}).encode())
        eq(r.status, 400, "bad standby mode")
        info = self.ctl("vault_token_info", {"token": self.root})
        eq((info["policies"], info["expire_time"]), (["root"], None),
           "token info")
        info = self.ctl("vault_rotate", {"name": "k1"})
        eq(info["latest_version"] >= 2, True, "vault_rotate")
        t = self.ctl("vault_token", {"ttl": 600})
        eq(self.ctl("vault_expire_token", {"accessor": t["accessor"]}),
           {"expired": 1}, "expire by accessor")
        self.error(self.call("GET", "/v1/transit/keys/k1", token=t["token"]),
                   403, INVALID_TOKEN)
        r = self.emu.request("POST", "/_emulator/vault_expire_token",
                             json.dumps({"token": "nope"}).encode())
        eq(r.status, 400, "unknown token")

    def test_restart_keeps_state(self):
        ct = self.ok(self.enc("k1", b"kept"))["data"]["ciphertext"]
        eq(self.emu.stop(), 0, "emulator exit status")
        self.emu.start()
        eq(unb64(self.ok(self.dec("k1", ct))["data"]["plaintext"]),
           b"kept", "after a restart")


def main():
    return run_suite(Suite, "vault-emu-", True, need_openssl=True,
                     make=lambda emu, tmp: Suite(emu, tmp))


if __name__ == "__main__":
    sys.exit(main())
