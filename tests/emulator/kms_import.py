# SPDX-License-Identifier: Apache-2.0
# KMS emulator, operation layer: importing key material into keys with
# Origin EXTERNAL (GetParametersForImport, ImportKeyMaterial).
"""Key material import, as AWS KMS does it for symmetric keys.

GetParametersForImport answers a real RSA public key (DER
SubjectPublicKeyInfo) with an import token:
    0x02 | key uuid (16) | token id (16) | expiry (u64 BE, seconds) |
    HMAC-SHA256(store secret, the bytes before)
so a token is bound to its key and its expiry (default 24 h on the
emulator clock; the control command import_token_ttl changes it). The
private key stays in the store under the token id. AWS makes a key pair
per call; the emulator makes one per size, on first use, and hands it out
with every token of that size, since an RSA-4096 key takes Python seconds
on a loaded machine. ImportKeyMaterial
checks the token, decrypts the material with that private key
(RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1, as asked for), and installs it.
"""

import base64
import hashlib
import hmac
import os
import struct
import threading
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from store import KmsError

TOKEN_VERSION = 2
TOKEN_LEN = 1 + 16 + 16 + 8 + 32
DEFAULT_TOKEN_TTL = 86400
MAX_VALID_TO_S = 365 * 86400
KEY_MATERIAL_LEN = 32  # SYMMETRIC_DEFAULT: a 256-bit key

# All names AWS's API model lists; the emulator implements the OAEP ones.
ALGORITHMS = ["RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
              "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"]
OAEP = {"RSAES_OAEP_SHA_1": hashes.SHA1, "RSAES_OAEP_SHA_256": hashes.SHA256}
SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
SPEC_NAMES = ["RSA_2048", "RSA_3072", "RSA_4096", "SM2"]
MODELS = ["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"]


def _enum(value, member, names):
    if value is None:
        raise KmsError("ValidationException",
                       "1 validation error detected: Value null at '%s' "
                       "failed to satisfy constraint: Member must not be "
                       "null" % member)
    if value not in names:
        raise KmsError("ValidationException",
                       "1 validation error detected: Value '%s' at '%s' "
                       "failed to satisfy constraint: Member must satisfy "
                       "enum value set: [%s]" % (value, member,
                                                 ", ".join(names)))


class ImportApi:
    """The two operations, on the KmsApi's store, clock and rules."""

    def __init__(self, api):
        self.api = api
        self.store = api.store
        self.clock = api.clock
        self.token_ttl = DEFAULT_TOKEN_TTL
        self.pairs = {}  # bits -> private key, made on first use
        self.pairs_lock = threading.Lock()

    def ops(self):
        return {"GetParametersForImport": self.get_parameters_for_import,
                "ImportKeyMaterial": self.import_key_material}

    # -- shared rules -------------------------------------------------------
    def _importable(self, key):
        arn = self.store.key_arn(key.key_id)
        if key.origin != "EXTERNAL":
            raise KmsError("UnsupportedOperationException",
                           "%s origin is %s which is not valid for this "
                           "operation." % (arn, key.origin))
        if key.state in ("PendingDeletion", "Unavailable"):
            raise KmsError("KMSInvalidStateException", "%s is %s." % (
                arn, "pending deletion" if key.state == "PendingDeletion"
                else "unavailable"))

    def _pair(self, bits):
        with self.pairs_lock:
            if bits not in self.pairs:
                self.pairs[bits] = rsa.generate_private_key(65537, bits)
            return self.pairs[bits]

    def _token(self, key_id, token_id, expires):
        body = (bytes([TOKEN_VERSION]) + uuid.UUID(key_id).bytes + token_id
                + struct.pack(">Q", int(expires)))
        return body + hmac.new(self.store.token_secret, body,
                               hashlib.sha256).digest()

    def _check_token(self, token, key):
        """The import set of a token, or the exception AWS gives."""
        bad = KmsError("InvalidImportTokenException",
                       "Import token is invalid or was issued for another "
                       "KMS key.")
        if len(token) != TOKEN_LEN or token[0] != TOKEN_VERSION:
            raise bad
        body, mac = token[:-32], token[-32:]
        want = hmac.new(self.store.token_secret, body, hashlib.sha256)
        if not hmac.compare_digest(mac, want.digest()):
            raise bad
        if str(uuid.UUID(bytes=bytes(body[1:17]))) != key.key_id:
            raise bad
        entry = self.store.imports.get(body[17:33].hex())
        if entry is None or entry["key_id"] != key.key_id:
            raise bad
        if self.clock.now() >= struct.unpack(">Q", body[33:41])[0]:
            raise KmsError("ExpiredImportTokenException",
                           "The import token is expired. Use "
                           "GetParametersForImport to get a new one.")
        return entry

    # -- operations ---------------------------------------------------------
    def get_parameters_for_import(self, params, caller, ex):
        key = self.api._key(params, "KeyId", ex)
        algorithm = params.get("WrappingAlgorithm")
        spec = params.get("WrappingKeySpec")
        _enum(algorithm, "wrappingAlgorithm", ALGORITHMS)
        _enum(spec, "wrappingKeySpec", SPEC_NAMES)
        self.api._authorize(key, caller, "GetParametersForImport")
        self._importable(key)
        if algorithm not in OAEP or spec not in SPECS:
            raise KmsError("UnsupportedOperationException",
                           "%s with %s is not supported by the emulator "
                           "(RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256 with "
                           "RSA_2048, RSA_3072 or RSA_4096)"
                           % (algorithm, spec))
        private = self._pair(SPECS[spec])
        token_id = os.urandom(16)
        expires = int(self.clock.now()) + self.token_ttl
        self.store.imports[token_id.hex()] = {
            "key_id": key.key_id, "algorithm": algorithm,
            "expires": expires,
            "private_key": private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()}
        self.store.save()
        public = private.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        token = self._token(key.key_id, token_id, expires)
        return {"KeyId": self.store.key_arn(key.key_id),
                "ImportToken": base64.b64encode(token).decode(),
                "PublicKey": base64.b64encode(public).decode(),
                "ParametersValidTo": expires}

    def _expiry(self, params):
        """(ExpirationModel, ValidTo or None) of a request."""
        model = params.get("ExpirationModel", "KEY_MATERIAL_EXPIRES")
        valid_to = params.get("ValidTo")
        _enum(model, "expirationModel", MODELS)
        if model == "KEY_MATERIAL_DOES_NOT_EXPIRE":
            if valid_to is not None:
                raise KmsError("ValidationException",
                               "ValidTo must not be set when "
                               "ExpirationModel is "
                               "KEY_MATERIAL_DOES_NOT_EXPIRE.")
            return model, None
        if valid_to is None:
            raise KmsError("ValidationException",
                           "ValidTo is required when ExpirationModel is "
                           "KEY_MATERIAL_EXPIRES.")
        if not isinstance(valid_to, (int, float)) or isinstance(valid_to,
                                                                bool):
            raise KmsError("SerializationException",
                           "ValidTo must be a timestamp (seconds).")
        now = self.clock.now()
        if not now < valid_to <= now + MAX_VALID_TO_S:
            raise KmsError("ValidationException",
                           "ValidTo must be in the future and at most 365 "
                           "days from now.")
        return model, valid_to

    def _unwrap(self, entry, wrapped):
        private = serialization.load_pem_private_key(
            entry["private_key"].encode(), None)
        digest = OAEP[entry["algorithm"]]
        try:
            return private.decrypt(wrapped, padding.OAEP(
                mgf=padding.MGF1(algorithm=digest()), algorithm=digest(),
                label=None))
        except ValueError:
            raise KmsError("InvalidCiphertextException") from None

    def import_key_material(self, params, caller, ex):
        from kms_api import MAX_CIPHERTEXT, _blob
        key = self.api._key(params, "KeyId", ex)
        token = _blob(params, "ImportToken", 1, MAX_CIPHERTEXT)
        wrapped = _blob(params, "EncryptedKeyMaterial", 1, MAX_CIPHERTEXT)
        model, valid_to = self._expiry(params)
        self.api._authorize(key, caller, "ImportKeyMaterial")
        self._importable(key)
        material = self._unwrap(self._check_token(token, key), wrapped)
        digest = hashlib.sha256(material).hexdigest()
        if len(material) != KEY_MATERIAL_LEN or (
                key.imported_digest is not None
                and key.imported_digest != digest):
            raise KmsError("IncorrectKeyMaterialException",
                           "The key material is not valid for this KMS key "
                           "or does not match the key material previously "
                           "imported into it.")
        with self.store.lock:
            key.take_material(material, model, valid_to)
        self.store.save()
        return None
