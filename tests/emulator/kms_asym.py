# SPDX-License-Identifier: Apache-2.0
# KMS emulator, operation layer: asymmetric keys (RSA and EC key pairs):
# CreateKey's KeySpec / KeyUsage rules, GetPublicKey, Sign, Verify, and
# Encrypt / Decrypt with RSAES-OAEP.
"""Asymmetric KMS keys, as AWS KMS documents them.

Key specs RSA_2048/3072/4096 (KeyUsage SIGN_VERIFY or ENCRYPT_DECRYPT)
and ECC_NIST_P256/P384/P521, ECC_SECG_P256K1 (SIGN_VERIFY only). The
private key is kept in the store as PKCS#8 PEM. Signing algorithms:
RSASSA_PKCS1_V1_5_SHA_256/384/512 and RSASSA_PSS_SHA_256/384/512 (MGF1
with the same hash, salt length = hash length) for RSA, ECDSA_SHA_256 for
P-256 and secp256k1, ECDSA_SHA_384 for P-384, ECDSA_SHA_512 for P-521
(DER ECDSA-Sig-Value). Encryption: RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256
(MGF1 with the same hash, empty label), no encryption context. A Message
of MessageType DIGEST must be exactly the algorithm's hash length; RAW
takes 1..4096 bytes.

Errors: a key of the wrong KeyUsage, or an algorithm the key does not
list: InvalidKeyUsageException; a name not in the API's enum or a bad
length: ValidationException; GetPublicKey on a symmetric key:
UnsupportedOperationException; a signature that does not verify:
KMSInvalidSignatureException; an OAEP ciphertext that does not decrypt:
InvalidCiphertextException. All with HTTP 400.
"""

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

import store

MAX_MESSAGE = 4096
MAX_SIGNATURE = 6144
MAX_CIPHERTEXT = 6144

RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
CURVES = {"ECC_NIST_P256": (ec.SECP256R1, "ECDSA_SHA_256"),
          "ECC_NIST_P384": (ec.SECP384R1, "ECDSA_SHA_384"),
          "ECC_NIST_P521": (ec.SECP521R1, "ECDSA_SHA_512"),
          "ECC_SECG_P256K1": (ec.SECP256K1, "ECDSA_SHA_256")}
# Every KeySpec and KeyUsage name of the API model (the emulator makes
# the ones above and SYMMETRIC_DEFAULT).
KEY_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256",
             "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
             "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384",
             "HMAC_512", "SM2"]
KEY_USAGES = ["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC",
              "KEY_AGREEMENT"]
HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384,
          "SHA_512": hashes.SHA512}
RSA_SIGNING = ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
               "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
               "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"]
SIGNING_ALGORITHMS = RSA_SIGNING + ["ECDSA_SHA_256", "ECDSA_SHA_384",
                                    "ECDSA_SHA_512", "SM2DSA"]
OAEP = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
ENCRYPTION_ALGORITHMS = ["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1",
                         "RSAES_OAEP_SHA_256", "SM2PKE"]
MESSAGE_TYPES = ["RAW", "DIGEST"]


def _err(code, message):
    return store.KmsError(code, message)


def _enum(value, member, names, required=True):
    if value is None and not required:
        return
    if value is None:
        raise _err("ValidationException",
                   "1 validation error detected: Value null at '%s' failed "
                   "to satisfy constraint: Member must not be null" % member)
    if value not in names:
        raise _err("ValidationException",
                   "1 validation error detected: Value '%s' at '%s' failed "
                   "to satisfy constraint: Member must satisfy enum value "
                   "set: [%s]" % (value, member, ", ".join(names)))


def check_spec(spec, usage):
    """CreateKey's rules on KeySpec and KeyUsage (ValidationException for
    a combination AWS refuses, UnsupportedOperationException for one it
    takes but the emulator does not make)."""
    _enum(spec, "keySpec", KEY_SPECS)
    _enum(usage, "keyUsage", KEY_USAGES)
    allowed = {"SIGN_VERIFY", "ENCRYPT_DECRYPT"} if spec in RSA_BITS else \
        {"SIGN_VERIFY"} if spec in CURVES else \
        {"ENCRYPT_DECRYPT"} if spec == "SYMMETRIC_DEFAULT" else None
    if allowed is None:
        raise _err("UnsupportedOperationException",
                   "The emulator does not create %s keys." % spec)
    if usage not in allowed:
        raise _err("ValidationException",
                   "KeyUsage %s is not compatible with KeySpec %s"
                   % (usage, spec))


def generate_pem(spec):
    """A new private key of spec as PKCS#8 PEM (str)."""
    if spec in RSA_BITS:
        key = rsa.generate_private_key(65537, RSA_BITS[spec])
    else:
        key = ec.generate_private_key(CURVES[spec][0]())
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def algorithms(spec, usage, only=None):
    """The algorithm lists DescribeKey and GetPublicKey give a key (only:
    the SigningAlgorithms of a key made with some of them)."""
    if only is not None and usage == "SIGN_VERIFY":
        return {"SigningAlgorithms": list(only)}
    if spec == "SYMMETRIC_DEFAULT":
        return {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}
    if usage == "ENCRYPT_DECRYPT":
        return {"EncryptionAlgorithms": list(OAEP)}
    if spec in RSA_BITS:
        return {"SigningAlgorithms": list(RSA_SIGNING)}
    return {"SigningAlgorithms": [CURVES[spec][1]]}


def is_asymmetric(key):
    return key.private_pem is not None


def _private(key):
    return serialization.load_pem_private_key(key.private_pem.encode(),
                                              None)


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _hash_of(alg):
    return HASHES[alg[-7:]]()


def _scheme(key, alg):
    """(signature padding or ECDSA object, hash) of alg for key, digest
    mode decided by the caller."""
    h = _hash_of(alg)
    if alg.startswith("RSASSA_PSS_"):
        return padding.PSS(padding.MGF1(_hash_of(alg)), h.digest_size), h
    if alg.startswith("RSASSA_PKCS1_"):
        return padding.PKCS1v15(), h
    return None, h


class AsymApi:
    """GetPublicKey, Sign, Verify and the asymmetric halves of Encrypt and
    Decrypt, on the KmsApi's store and rules."""

    def __init__(self, api):
        self.api = api
        self.store = api.store

    def ops(self):
        return {"GetPublicKey": self.get_public_key, "Sign": self.sign,
                "Verify": self.verify}

    # -- shared rules -------------------------------------------------------
    def _asym_key(self, params, caller, ex, action, usage):
        key = self.api._key(params, "KeyId", ex)
        self.api._use(key, caller, action)
        if usage is not None and key.key_usage != usage:
            raise _err("InvalidKeyUsageException",
                       "%s key usage is %s which is not valid for %s."
                       % (self.store.key_arn(key.key_id), key.key_usage,
                          action))
        return key

    def _algorithm(self, key, params, member, names, listed):
        alg = params.get(member)
        _enum(alg, member[0].lower() + member[1:], names)
        if alg not in listed:
            raise _err("InvalidKeyUsageException",
                       "Algorithm %s is incompatible with key spec %s."
                       % (alg, key.key_spec))
        return alg

    def _message(self, params, alg):
        """(bytes, digest?) of Message under MessageType."""
        mtype = params.get("MessageType", "RAW")
        _enum(mtype, "messageType", MESSAGE_TYPES)
        msg = self.api.blob(params, "Message", 1, MAX_MESSAGE)
        if mtype == "DIGEST" and len(msg) != _hash_of(alg).digest_size:
            raise _err("ValidationException",
                       "Digest is invalid length for algorithm %s." % alg)
        return msg, mtype == "DIGEST"

    def _signing(self, params, caller, ex, action):
        # The members' own constraints first, as AWS checks them before
        # it looks at the key.
        _enum(params.get("SigningAlgorithm"), "signingAlgorithm",
              SIGNING_ALGORITHMS)
        _enum(params.get("MessageType"), "messageType", MESSAGE_TYPES,
              False)
        self.api.blob(params, "Message", 1, MAX_MESSAGE)
        key = self._asym_key(params, caller, ex, action, "SIGN_VERIFY")
        listed = algorithms(key.key_spec, key.key_usage,
                            key.signing_algorithms)["SigningAlgorithms"]
        alg = self._algorithm(key, params, "SigningAlgorithm",
                              SIGNING_ALGORITHMS, listed)
        msg, digest = self._message(params, alg)
        pad, h = _scheme(key, alg)
        chosen = Prehashed(h) if digest else h
        return key, alg, msg, pad, chosen

    # -- operations ---------------------------------------------------------
    def get_public_key(self, params, caller, ex):
        key = self.api._key(params, "KeyId", ex)
        self.api._use(key, caller, "GetPublicKey")
        if not is_asymmetric(key):
            raise _err("UnsupportedOperationException",
                       "%s is not an asymmetric key: it has no public key."
                       % self.store.key_arn(key.key_id))
        spki = _private(key).public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        out = {"KeyId": self.store.key_arn(key.key_id),
               "PublicKey": _b64(spki),
               "CustomerMasterKeySpec": key.key_spec,
               "KeySpec": key.key_spec, "KeyUsage": key.key_usage}
        out.update(algorithms(key.key_spec, key.key_usage,
                              key.signing_algorithms))
        return out

    def sign(self, params, caller, ex):
        key, alg, msg, pad, h = self._signing(params, caller, ex, "Sign")
        priv = _private(key)
        if pad is None:
            sig = priv.sign(msg, ec.ECDSA(h))
        else:
            sig = priv.sign(msg, pad, h)
        return {"KeyId": self.store.key_arn(key.key_id),
                "Signature": _b64(sig), "SigningAlgorithm": alg}

    def verify(self, params, caller, ex):
        key, alg, msg, pad, h = self._signing(params, caller, ex, "Verify")
        sig = self.api.blob(params, "Signature", 1, MAX_SIGNATURE)
        pub = _private(key).public_key()
        try:
            if pad is None:
                pub.verify(sig, msg, ec.ECDSA(h))
            else:
                pub.verify(sig, msg, pad, h)
        except (InvalidSignature, ValueError):
            raise _err("KMSInvalidSignatureException",
                       "The signature is not valid.") from None
        return {"KeyId": self.store.key_arn(key.key_id),
                "SignatureValid": True, "SigningAlgorithm": alg}

    def _oaep(self, key, params, caller, action):
        """The OAEP padding Encrypt or Decrypt asks for on key."""
        self.api._use(key, caller, action)
        if key.key_usage != "ENCRYPT_DECRYPT":
            raise _err("InvalidKeyUsageException",
                       "%s key usage is %s which is not valid for %s."
                       % (self.store.key_arn(key.key_id), key.key_usage,
                          action))
        params = dict(params)
        params.setdefault("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")
        alg = self._algorithm(key, params, "EncryptionAlgorithm",
                              ENCRYPTION_ALGORITHMS, list(OAEP))
        if params.get("EncryptionContext"):
            raise _err("ValidationException",
                       "EncryptionContext is not supported with asymmetric "
                       "keys.")
        h = OAEP[alg]()
        return alg, padding.OAEP(padding.MGF1(h), h, None), h.digest_size

    def encrypt(self, key, params, caller):
        alg, pad, hlen = self._oaep(key, params, caller, "Encrypt")
        pt = self.api.blob(params, "Plaintext", 1, MAX_MESSAGE)
        pub = _private(key).public_key()
        limit = pub.key_size // 8 - 2 * hlen - 2  # RFC 8017, 7.1.1
        if len(pt) > limit:
            raise _err("ValidationException",
                       "Plaintext is too long for %s with %s: at most %d "
                       "bytes." % (key.key_spec, alg, limit))
        return {"CiphertextBlob": _b64(pub.encrypt(pt, pad)),
                "KeyId": self.store.key_arn(key.key_id),
                "EncryptionAlgorithm": alg}

    def decrypt(self, key, params, caller):
        alg, pad, _ = self._oaep(key, params, caller, "Decrypt")
        ct = self.api.blob(params, "CiphertextBlob", 1, MAX_CIPHERTEXT)
        try:
            pt = _private(key).decrypt(ct, pad)
        except ValueError:
            raise _err("InvalidCiphertextException", None) from None
        return {"KeyId": self.store.key_arn(key.key_id),
                "Plaintext": _b64(pt), "EncryptionAlgorithm": alg}
