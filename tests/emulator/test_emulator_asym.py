#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# KMS emulator tests: asymmetric keys (CreateKey's KeySpec / KeyUsage rules,
# GetPublicKey, Sign, Verify, RSAES-OAEP Encrypt / Decrypt) and their errors.
"""End-to-end tests of the emulator's asymmetric keys through its sockets.
Every signature is checked with python3-cryptography against the public
key GetPublicKey gave (not by the emulator's own Verify alone), and every
OAEP decryption is of a ciphertext made here.

Exit 0 pass, 1 fail, 77 skip (99 under CI=true when prerequisites are
missing).
"""

import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_emulator import (Cred, b64, eq, expect_error,  # noqa: E402
                           run_suite)

SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256",
         "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"]
RSA_ALGS = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
            "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512"]
EC_ALG = {"ECC_NIST_P256": "ECDSA_SHA_256", "ECC_NIST_P384": "ECDSA_SHA_384",
          "ECC_NIST_P521": "ECDSA_SHA_512", "ECC_SECG_P256K1": "ECDSA_SHA_256"}
CURVE = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1",
         "ECC_NIST_P521": "secp521r1", "ECC_SECG_P256K1": "secp256k1"}


def crypto():
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    return hashes, serialization, ec, padding, Prehashed


def check_signature(spki, alg, msg, digest, sig):
    """Verifies sig with the DER SPKI (raises InvalidSignature)."""
    hashes, serialization, ec, padding, prehashed = crypto()
    pub = serialization.load_der_public_key(spki)
    h = {"256": hashes.SHA256, "384": hashes.SHA384,
         "512": hashes.SHA512}[alg[-3:]]()
    chosen = prehashed(h) if digest else h
    if alg.startswith("ECDSA"):
        pub.verify(sig, msg, ec.ECDSA(chosen))
    elif alg.startswith("RSASSA_PSS"):
        pub.verify(sig, msg, padding.PSS(padding.MGF1(h), h.digest_size),
                   chosen)
    else:
        pub.verify(sig, msg, padding.PKCS1v15(), chosen)


def oaep_encrypt(spki, alg, pt):
    hashes, serialization, _, padding, _ = crypto()
    h = hashes.SHA1() if alg.endswith("SHA_1") else hashes.SHA256()
    pub = serialization.load_der_public_key(spki)
    return pub.encrypt(pt, padding.OAEP(padding.MGF1(h), h, None))


def create(emu, args):
    """create_key, with time for an RSA-4096 key on a loaded machine."""
    r = emu.request("POST", "/_emulator/create_key",
                    json.dumps(args).encode(), timeout=300)
    eq(r.status, 200, "create_key %s (%s)" % (args, r.raw[:200]))
    return r.json()


class AsymSuite:
    def __init__(self, emu):
        self.emu = emu
        self.alice = Cred("AKIDALICE0000000", "alice-secret")
        emu.ctl("add_credentials", {"access_key_id": self.alice.akid,
                                    "secret": self.alice.secret})
        self.keys = {}
        for spec in SPECS:
            self.keys[spec] = create(emu, {"key_spec": spec,
                                             "key_usage": "SIGN_VERIFY"})
        self.enc = {spec: create(emu, {
            "key_spec": spec, "key_usage": "ENCRYPT_DECRYPT"})
            for spec in ("RSA_2048", "RSA_3072", "RSA_4096")}
        self.sym = emu.ctl("create_key", {})

    def kms(self, op, params):
        return self.emu.kms(op, params, self.alice)

    def pub(self, key):
        r = self.kms("GetPublicKey", {"KeyId": key["arn"]})
        eq(r.status, 200, "GetPublicKey (%s)" % r.raw[:200])
        return r.json()

    def sign(self, key, alg, msg, mtype="RAW"):
        return self.kms("Sign", {"KeyId": key["arn"], "Message": b64(msg),
                                 "MessageType": mtype,
                                 "SigningAlgorithm": alg})

    # -- tests --------------------------------------------------------------
    def test_get_public_key(self):
        _, serialization, ec, _, _ = crypto()
        for spec in SPECS:
            out = self.pub(self.keys[spec])
            eq(out["KeyId"], self.keys[spec]["arn"], "KeyId is the ARN")
            eq((out["KeySpec"], out["CustomerMasterKeySpec"],
                out["KeyUsage"]), (spec, spec, "SIGN_VERIFY"), spec)
            eq(out["SigningAlgorithms"],
               RSA_ALGS if spec.startswith("RSA") else [EC_ALG[spec]],
               spec + " SigningAlgorithms")
            eq("EncryptionAlgorithms" in out, False, "no encryption list")
            pub = serialization.load_der_public_key(
                base64.b64decode(out["PublicKey"]))
            if spec.startswith("RSA"):
                eq(pub.key_size, int(spec[4:]), spec + " modulus")
            else:
                eq(pub.curve.name, CURVE[spec], spec + " curve")
        for spec, key in self.enc.items():
            out = self.pub(key)
            eq((out["KeyUsage"], out["EncryptionAlgorithms"]),
               ("ENCRYPT_DECRYPT", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]),
               spec + " encryption key")
            eq("SigningAlgorithms" in out, False, "no signing list")
        r = self.kms("GetPublicKey", {"KeyId": self.sym["arn"]})
        expect_error(r, 400, "UnsupportedOperationException")
        meta = self.emu.ctl("describe_key", {"key_id": self.keys[
            "ECC_NIST_P384"]["key_id"]})
        eq((meta["KeySpec"], meta["KeyUsage"], meta["SigningAlgorithms"]),
           ("ECC_NIST_P384", "SIGN_VERIFY", ["ECDSA_SHA_384"]),
           "DescribeKey of an EC key")

    def test_sign_every_algorithm(self):
        msg = b"the message to sign"
        for spec in SPECS:
            spki = base64.b64decode(self.pub(self.keys[spec])["PublicKey"])
            algs = RSA_ALGS if spec.startswith("RSA") else [EC_ALG[spec]]
            for alg in algs:
                h = getattr(hashlib, "sha" + alg[-3:])
                for mtype, m in (("RAW", msg), ("DIGEST", h(msg).digest())):
                    r = self.sign(self.keys[spec], alg, m, mtype)
                    eq(r.status, 200, "%s %s %s (%s)" % (spec, alg, mtype,
                                                        r.raw[:200]))
                    out = r.json()
                    eq((out["KeyId"], out["SigningAlgorithm"]),
                       (self.keys[spec]["arn"], alg), "Sign answer")
                    sig = base64.b64decode(out["Signature"])
                    # The same signature over the message: DIGEST and
                    # RAW sign the same hash.
                    check_signature(spki, alg, msg, False, sig)
                    if spec.startswith("ECC"):
                        eq(sig[0], 0x30, "DER ECDSA-Sig-Value")
                    v = self.kms("Verify", {
                        "KeyId": self.keys[spec]["arn"], "Message": b64(m),
                        "MessageType": mtype, "Signature": out["Signature"],
                        "SigningAlgorithm": alg})
                    eq((v.status, v.json().get("SignatureValid")),
                       (200, True), "Verify " + alg)

    def test_sign_refusals(self):
        rsa, p256 = self.keys["RSA_2048"], self.keys["ECC_NIST_P256"]
        expect_error(self.sign(p256, "ECDSA_SHA_384", b"m"), 400,
                     "InvalidKeyUsageException")
        expect_error(self.sign(rsa, "ECDSA_SHA_256", b"m"), 400,
                     "InvalidKeyUsageException")
        expect_error(self.sign(p256, "RSASSA_PSS_SHA_256", b"m"), 400,
                     "InvalidKeyUsageException")
        expect_error(self.sign(rsa, "RSASSA_PSS_SHA_1", b"m"), 400,
                     "ValidationException")
        expect_error(self.sign(rsa, "RSASSA_PSS_SHA_256", b"m", "HASHED"),
                     400, "ValidationException")
        for n in (31, 33, 48):
            expect_error(self.sign(rsa, "RSASSA_PSS_SHA_256", b"d" * n,
                                   "DIGEST"), 400, "ValidationException",
                         "Digest is invalid length")
        eq(self.sign(rsa, "RSASSA_PKCS1_V1_5_SHA_256", b"r" * 4096).status,
           200, "RAW of 4096 bytes")
        expect_error(self.sign(rsa, "RSASSA_PKCS1_V1_5_SHA_256", b"r" * 4097),
                     400, "ValidationException")
        expect_error(self.sign(self.enc["RSA_2048"], "RSASSA_PSS_SHA_256",
                               b"m"), 400, "InvalidKeyUsageException")
        expect_error(self.sign(self.sym, "RSASSA_PSS_SHA_256", b"m"), 400,
                     "InvalidKeyUsageException")
        good = self.sign(p256, "ECDSA_SHA_256", b"m").json()["Signature"]
        v = self.kms("Verify", {"KeyId": p256["arn"], "Message": b64(b"n"),
                                "Signature": good,
                                "SigningAlgorithm": "ECDSA_SHA_256"})
        expect_error(v, 400, "KMSInvalidSignatureException")

    def test_states(self):
        key = self.emu.ctl("create_key", {"key_spec": "ECC_NIST_P256"})
        self.emu.ctl("disable_key", {"key_id": key["key_id"]})
        expect_error(self.sign(key, "ECDSA_SHA_256", b"m"), 400,
                     "DisabledException")
        expect_error(self.kms("GetPublicKey", {"KeyId": key["arn"]}), 400,
                     "DisabledException")
        self.emu.ctl("schedule_deletion", {"key_id": key["key_id"]})
        expect_error(self.sign(key, "ECDSA_SHA_256", b"m"), 400,
                     "KMSInvalidStateException")
        self.emu.ctl("delete_key", {"key_id": key["key_id"]})
        expect_error(self.sign(key, "ECDSA_SHA_256", b"m"), 400,
                     "NotFoundException")

    def test_oaep(self):
        for spec, key in self.enc.items():
            spki = base64.b64decode(self.pub(key)["PublicKey"])
            for alg in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"):
                pt = os.urandom(32)
                ct = oaep_encrypt(spki, alg, pt)
                r = self.kms("Decrypt", {"KeyId": key["arn"],
                                         "CiphertextBlob": b64(ct),
                                         "EncryptionAlgorithm": alg})
                eq(r.status, 200, "Decrypt %s %s (%s)" % (spec, alg, r.raw))
                out = r.json()
                eq((base64.b64decode(out["Plaintext"]), out["KeyId"],
                    out["EncryptionAlgorithm"]), (pt, key["arn"], alg),
                   "Decrypt answer")
                e = self.kms("Encrypt", {"KeyId": key["arn"],
                                         "Plaintext": b64(pt),
                                         "EncryptionAlgorithm": alg})
                eq(e.status, 200, "Encrypt " + alg)
                eq(len(base64.b64decode(e.json()["CiphertextBlob"])),
                   int(spec[4:]) // 8, "ciphertext length")
                d = self.kms("Decrypt", {
                    "KeyId": key["arn"],
                    "CiphertextBlob": e.json()["CiphertextBlob"],
                    "EncryptionAlgorithm": alg})
                eq(base64.b64decode(d.json()["Plaintext"]), pt, "roundtrip")
                other = ("RSAES_OAEP_SHA_256" if alg.endswith("_1")
                         else "RSAES_OAEP_SHA_1")
                r = self.kms("Decrypt", {"KeyId": key["arn"],
                                         "CiphertextBlob": b64(ct),
                                         "EncryptionAlgorithm": other})
                expect_error(r, 400, "InvalidCiphertextException")

    def test_oaep_refusals(self):
        key = self.enc["RSA_2048"]
        ct = b64(b"\x01" * 256)
        r = self.kms("Decrypt", {"KeyId": key["arn"], "CiphertextBlob": ct})
        expect_error(r, 400, "InvalidKeyUsageException")
        r = self.kms("Decrypt", {"KeyId": key["arn"], "CiphertextBlob": ct,
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_512"})
        expect_error(r, 400, "ValidationException")
        r = self.kms("Decrypt", {"KeyId": key["arn"], "CiphertextBlob": ct,
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
        expect_error(r, 400, "InvalidCiphertextException")
        r = self.kms("Decrypt", {"KeyId": self.keys["RSA_2048"]["arn"],
                                 "CiphertextBlob": ct,
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
        expect_error(r, 400, "InvalidKeyUsageException")
        r = self.kms("Encrypt", {"KeyId": key["arn"],
                                 "Plaintext": b64(b"p" * 191),
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
        expect_error(r, 400, "ValidationException")
        r = self.kms("Encrypt", {"KeyId": key["arn"], "Plaintext": b64(b"p"),
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_256",
                                 "EncryptionContext": {"a": "b"}})
        expect_error(r, 400, "ValidationException")
        # The symmetric operations refuse asymmetric keys and the reverse.
        r = self.kms("GenerateDataKey", {"KeyId": key["arn"],
                                         "NumberOfBytes": 32})
        expect_error(r, 400, "InvalidKeyUsageException")
        r = self.kms("Encrypt", {"KeyId": self.sym["arn"],
                                 "Plaintext": b64(b"p"),
                                 "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
        expect_error(r, 400, "InvalidKeyUsageException")
        r = self.kms("Encrypt", {"KeyId": self.keys["ECC_NIST_P256"]["arn"],
                                 "Plaintext": b64(b"p")})
        expect_error(r, 400, "InvalidKeyUsageException")

    def test_create_key(self):
        ok = self.emu.kms("CreateKey", {"KeySpec": "ECC_NIST_P521",
                                        "KeyUsage": "SIGN_VERIFY"},
                          self.alice)
        eq(ok.status, 200, "CreateKey ECC_NIST_P521")
        meta = ok.json()["KeyMetadata"]
        eq((meta["KeySpec"], meta["KeyUsage"], meta["SigningAlgorithms"]),
           ("ECC_NIST_P521", "SIGN_VERIFY", ["ECDSA_SHA_512"]), "metadata")
        for spec, usage in (("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
                            ("SYMMETRIC_DEFAULT", "SIGN_VERIFY"),
                            ("RSA_1024", "SIGN_VERIFY"),
                            ("RSA_2048", "SIGNING")):
            r = self.kms("CreateKey", {"KeySpec": spec, "KeyUsage": usage})
            expect_error(r, 400, "ValidationException")
        r = self.kms("CreateKey", {"KeySpec": "ECC_NIST_P256"})
        expect_error(r, 400, "ValidationException")  # default usage

    def test_replace_key_pair(self):
        key = self.emu.ctl("create_key", {"key_spec": "ECC_NIST_P256"})
        before = self.pub(key)["PublicKey"]
        sig = self.sign(key, "ECDSA_SHA_256", b"m").json()["Signature"]
        self.emu.ctl("replace_key_pair", {"key_id": key["key_id"]})
        after = self.pub(key)["PublicKey"]
        eq(before != after, True, "a new public key")
        v = self.kms("Verify", {"KeyId": key["arn"], "Message": b64(b"m"),
                                "Signature": sig,
                                "SigningAlgorithm": "ECDSA_SHA_256"})
        expect_error(v, 400, "KMSInvalidSignatureException")
        self.emu.ctl("replace_key_pair", {"key_id": self.sym["key_id"]},
                     expect=400)

    def test_signing_algorithms_subset(self):
        key = create(self.emu, {"key_spec": "RSA_2048",
                                "key_usage": "SIGN_VERIFY",
                                "signing_algorithms": ["RSASSA_PSS_SHA_256"]})
        eq(self.pub(key)["SigningAlgorithms"], ["RSASSA_PSS_SHA_256"],
           "the listed algorithms only")
        eq(self.sign(key, "RSASSA_PSS_SHA_256", b"m").status, 200,
           "a listed algorithm")
        expect_error(self.sign(key, "RSASSA_PKCS1_V1_5_SHA_256", b"m"), 400,
                     "InvalidKeyUsageException")
        self.emu.stop()
        self.emu.start()
        eq(self.pub(key)["SigningAlgorithms"], ["RSASSA_PSS_SHA_256"],
           "after a restart")
        for bad in (["ECDSA_SHA_256"], [], "RSASSA_PSS_SHA_256"):
            r = self.emu.request("POST", "/_emulator/create_key", json.dumps(
                {"key_spec": "RSA_2048", "key_usage": "SIGN_VERIFY",
                 "signing_algorithms": bad}).encode())
            eq(r.status, 400, "signing_algorithms %r" % (bad,))

    def test_restart_keeps_key_pairs(self):
        key = self.keys["ECC_NIST_P384"]
        before = self.pub(key)["PublicKey"]
        self.emu.stop()
        self.emu.start()
        eq(self.pub(key)["PublicKey"], before, "public key after restart")


def main():
    try:
        __import__("cryptography.hazmat.primitives.asymmetric.ec")
    except ImportError:
        print("SKIP: python3-cryptography is missing")
        return 99 if os.environ.get("CI") == "true" else 77
    return run_suite(AsymSuite, "kms-emu-asym-", False)


if __name__ == "__main__":
    sys.exit(main())
