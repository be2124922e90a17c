# SPDX-License-Identifier: Apache-2.0
# KMS emulator, state layer: keys, aliases, credentials and the per-key allow
# list, with the opaque ciphertext-blob format; thread safe, optionally saved.
"""Key store and credential table of the KMS emulator.

Keys with Origin EXTERNAL start without material (state PendingImport)
until ImportKeyMaterial (kms_import.py); material imported with an expiry
is dropped once the emulator clock passes ValidTo, and the key is
PendingImport again until the same material is imported once more.

Ciphertext blob (emulator's own format, opaque to clients):
    0x01 | key uuid (16 bytes) | nonce (12) | AES-256-GCM(ct || tag)
with AAD = b"cmk-emu-blob-v1" | 0x01 | key uuid | canonical encryption
context (JSON, keys sorted, no spaces, UTF-8), so a wrong, missing or extra
context pair fails authentication exactly like a corrupted blob. A key
whose material was rotated seals with its newest material into version 2:
    0x02 | key uuid (16) | material version (4, big-endian) | nonce (12) |
    AES-256-GCM(ct || tag)
with the same AAD over that longer header; version 1 blobs are material 0,
so every blob made before a rotation keeps opening.
"""

import base64
import hashlib
import json
import os
import secrets
import string
import threading
import time
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import kms_asym

BLOB_VERSION = 1
BLOB_VERSION_ROTATED = 2
BLOB_HEADER = 1 + 16 + 12
BLOB_HEADER_ROTATED = 1 + 16 + 4 + 12
MAX_ON_DEMAND = 10  # on-demand rotations per key (AWS's limit)
AAD_LABEL = b"cmk-emu-blob-v1"


class KmsError(Exception):
    """An AWS-style error: type name, HTTP status and optional message."""

    def __init__(self, code, message=None, status=400):
        super().__init__(message or code)
        self.code = code
        self.message = message
        self.status = status


def canonical_context(ctx):
    return json.dumps(ctx or {}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def random_id(prefix, length):
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class Key:
    def __init__(self, key_id, material, created, description="",
                 allow=None, origin="AWS_KMS"):
        self.key_id = key_id
        # Asymmetric keys (kms_asym.py): KeySpec, KeyUsage and the private
        # key as PKCS#8 PEM; material is then unused.
        self.key_spec = "SYMMETRIC_DEFAULT"
        self.key_usage = "ENCRYPT_DECRYPT"
        self.private_pem = None
        # SIGN_VERIFY keys: the SigningAlgorithms listed and taken, when
        # only some of the spec's (create_key "signing_algorithms"), else
        # None: all of them.
        self.signing_algorithms = None
        self.material = material  # version 0; None: EXTERNAL, none imported
        self.created = created
        self.description = description
        self.state = "Enabled" if material is not None else "PendingImport"
        self.deletion_date = None
        self.pending_days = None
        self.allow = allow  # None: any authenticated caller
        # Later material versions 1, 2 ...: {material (bytes), date, type}.
        self.rotations = []
        self.rotation_period = None  # days; None: automatic rotation off
        self.next_rotation = None
        self.origin = origin
        # EXTERNAL keys, once material was imported: the SHA-256 of the
        # first material (a key takes no other), its expiry model and
        # ValidTo (POSIX seconds on the emulator clock, or None).
        self.imported_digest = None
        self.expiration_model = None
        self.valid_to = None

    def material_version(self):
        return len(self.rotations)

    def material_of(self, version):
        if version == 0:
            return self.material
        if 0 < version <= len(self.rotations):
            return self.rotations[version - 1]["material"]
        return None

    def to_json(self):
        d = dict(self.__dict__)
        if self.material is not None:
            d["material"] = base64.b64encode(self.material).decode()
        d["rotations"] = [dict(r, material=base64.b64encode(
            r["material"]).decode()) for r in self.rotations]
        return d

    @classmethod
    def from_json(cls, d):
        material = d.get("material")
        key = cls(d["key_id"], None if material is None
                  else base64.b64decode(material), d["created"])
        key.__dict__.update({k: v for k, v in d.items()
                             if k not in ("material", "rotations")})
        key.rotations = [dict(r, material=base64.b64decode(r["material"]))
                         for r in d.get("rotations", [])]
        return key

    def take_material(self, material, model, valid_to):
        """ImportKeyMaterial's effect (checks done by the caller)."""
        self.material = material
        self.imported_digest = hashlib.sha256(material).hexdigest()
        self.expiration_model = model
        self.valid_to = valid_to
        if self.state == "PendingImport":
            self.state = "Enabled"

    def expire(self, now):
        """Drops material whose ValidTo has passed; True if it did."""
        if (self.material is None or self.valid_to is None
                or now < self.valid_to):
            return False
        self.material = None
        if self.state in ("Enabled", "Disabled"):
            self.state = "PendingImport"
        return True


class Credential:
    """A long-term or temporary credential known to the emulator."""

    def __init__(self, access_key_id, secret, token=None, expires=None,
                 principal=None):
        self.access_key_id = access_key_id
        self.secret = secret
        self.token = token
        self.expires = expires  # POSIX seconds on the emulator clock
        self.principal = principal or access_key_id


class Store:
    """Keys, aliases and credentials; every method takes the lock."""

    def __init__(self, region, account, path=None):
        self.region = region
        self.account = account
        self.path = path
        self.lock = threading.RLock()
        self.keys = {}
        self.aliases = {}
        self.creds = {}
        # GetParametersForImport sets: token id (hex) -> {key_id,
        # algorithm, expires, private_key (PEM)}; and the MAC key of
        # import tokens (kms_import.py).
        self.imports = {}
        self.token_secret = os.urandom(32)
        self.now = time.time  # the emulator clock (App sets it)
        if path and os.path.exists(path):
            self._load()

    # -- persistence ------------------------------------------------------
    def _load(self):
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        self.keys = {k: Key.from_json(v) for k, v in data["keys"].items()}
        self.aliases = data["aliases"]
        self.creds = {k: Credential(**v) for k, v in data["creds"].items()}
        self.imports = data.get("imports", {})
        if data.get("token_secret"):
            self.token_secret = base64.b64decode(data["token_secret"])

    def save(self):
        if not self.path:
            return
        with self.lock:
            data = {"keys": {k: v.to_json() for k, v in self.keys.items()},
                    "aliases": self.aliases,
                    "creds": {k: v.__dict__ for k, v in self.creds.items()},
                    "imports": self.imports,
                    "token_secret":
                        base64.b64encode(self.token_secret).decode()}
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)

    # -- names ------------------------------------------------------------
    def key_arn(self, key_id):
        return "arn:aws:kms:%s:%s:key/%s" % (self.region, self.account,
                                             key_id)

    def alias_arn(self, name):
        return "arn:aws:kms:%s:%s:%s" % (self.region, self.account, name)

    def resolve(self, ident):
        """Key id, key ARN, alias/<name> or alias ARN -> Key."""
        if not isinstance(ident, str) or not ident:
            raise KmsError("ValidationException",
                           "1 validation error detected: Value null at "
                           "'keyId' failed to satisfy constraint: Member "
                           "must not be null")
        name = ident
        if ident.startswith("arn:"):
            parts = ident.split(":", 5)
            if (len(parts) != 6 or parts[2] != "kms"
                    or parts[3] != self.region or parts[4] != self.account):
                raise KmsError("NotFoundException",
                               "Invalid arn %s" % ident)
            name = parts[5]
            if name.startswith("key/"):
                name = name[4:]
        with self.lock:
            if name.startswith("alias/"):
                key_id = self.aliases.get(name)
                if key_id is None:
                    raise KmsError("NotFoundException", "Alias %s is not "
                                   "found." % self.alias_arn(name))
                return self.current(self.keys[key_id])
            key = self.keys.get(name)
            if key is not None:
                self.current(key)
        if key is None:
            try:
                uuid.UUID(name)
            except ValueError:
                raise KmsError("NotFoundException",
                               "Invalid keyId '%s'" % ident) from None
            raise KmsError("NotFoundException", "Key '%s' does not exist"
                           % self.key_arn(name))
        return key

    def current(self, key):
        """The key as the emulator clock sees it now (imported material
        past its ValidTo is gone)."""
        if key.expire(self.now()):
            self.save()
        return key

    # -- key life cycle ---------------------------------------------------
    def create_key(self, description="", allow=None, now=None,
                   origin="AWS_KMS", spec="SYMMETRIC_DEFAULT",
                   usage="ENCRYPT_DECRYPT"):
        """A new key; spec and usage as kms_asym.check_spec allowed."""
        material = None if origin == "EXTERNAL" else AESGCM.generate_key(256)
        key = Key(str(uuid.uuid4()), material,
                  now if now is not None else time.time(), description,
                  allow, origin)
        key.key_spec = spec
        key.key_usage = usage
        if spec != "SYMMETRIC_DEFAULT":
            key.private_pem = kms_asym.generate_pem(spec)
        with self.lock:
            self.keys[key.key_id] = key
        self.save()
        return key

    def check_alias_name(self, name):
        if (not isinstance(name, str) or not name.startswith("alias/")
                or len(name) <= 6 or name.startswith("alias/aws/")):
            raise KmsError("ValidationException",
                           "Alias must start with the prefix \"alias/\". "
                           "Please see https://docs.aws.amazon.com/kms/latest"
                           "/developerguide/kms-alias.html")
        with self.lock:
            if name in self.aliases:
                raise KmsError("AlreadyExistsException", "An alias with the "
                               "name %s already exists" % self.alias_arn(name))

    def create_alias(self, name, ident):
        self.check_alias_name(name)
        if isinstance(ident, str) and "alias/" in ident:
            raise KmsError("ValidationException",
                           "Aliases must refer to keys. Not aliases")
        key = self.resolve(ident)
        with self.lock:
            if name in self.aliases:
                raise KmsError("AlreadyExistsException", "An alias with the "
                               "name %s already exists" % self.alias_arn(name))
            self.aliases[name] = key.key_id
        self.save()
        return key

    def update_alias(self, name, ident):
        """UpdateAlias: an existing alias now names the key ident."""
        if (not isinstance(name, str) or not name.startswith("alias/")
                or len(name) <= 6):
            raise KmsError("ValidationException",
                           "Alias must start with the prefix \"alias/\". "
                           "Please see https://docs.aws.amazon.com/kms/latest"
                           "/developerguide/kms-alias.html")
        if name.startswith("alias/aws/"):
            raise KmsError("NotFoundException", "Alias %s is not found."
                           % self.alias_arn(name))
        if isinstance(ident, str) and "alias/" in ident:
            raise KmsError("ValidationException",
                           "Aliases must refer to keys. Not aliases")
        key = self.resolve(ident)
        with self.lock:
            if name not in self.aliases:
                raise KmsError("NotFoundException", "Alias %s is not found."
                               % self.alias_arn(name))
            self.aliases[name] = key.key_id
        self.save()
        return key

    def set_state(self, key, state, days=None, now=None):
        with self.lock:
            key.state = state
            if state == "PendingDeletion":
                key.pending_days = days
                key.deletion_date = (now or time.time()) + days * 86400
            else:
                key.pending_days = None
                key.deletion_date = None
        self.save()

    def delete_key(self, key):
        """The end of the deletion waiting period: the key and its aliases
        are gone, and every call naming them answers NotFoundException."""
        with self.lock:
            self.keys.pop(key.key_id, None)
            for name in [a for a, k in self.aliases.items()
                         if k == key.key_id]:
                del self.aliases[name]
        self.save()

    def rotate_material(self, key, kind, now):
        """New backing material for key (RotateKeyOnDemand, or automatic
        rotation): seals use it from now on, older blobs name theirs."""
        with self.lock:
            if (kind == "ON_DEMAND" and sum(
                    r["type"] == "ON_DEMAND" for r in key.rotations)
                    >= MAX_ON_DEMAND):
                raise KmsError("LimitExceededException",
                               "The key %s has reached the maximum of %d "
                               "on-demand rotations."
                               % (self.key_arn(key.key_id), MAX_ON_DEMAND))
            key.rotations.append({"material": AESGCM.generate_key(256),
                                  "date": now, "type": kind})
        self.save()

    def set_rotation(self, key, period, now):
        """Automatic rotation every period days (None: off)."""
        with self.lock:
            key.rotation_period = period
            key.next_rotation = (now + period * 86400
                                 if period is not None else None)
        self.save()

    def replace_key_pair(self, key):
        """New private key of the same spec (what no KMS does: tests of a
        client that must notice its cached public key went stale)."""
        if key.private_pem is None:
            raise KmsError("UnsupportedOperationException",
                           "%s is not an asymmetric key."
                           % self.key_arn(key.key_id))
        pem = kms_asym.generate_pem(key.key_spec)
        with self.lock:
            key.private_pem = pem
        self.save()

    def set_allow(self, key, allow):
        with self.lock:
            key.allow = allow
        self.save()

    def metadata(self, key):
        self.current(key)
        meta = {
            "AWSAccountId": self.account,
            "KeyId": key.key_id,
            "Arn": self.key_arn(key.key_id),
            "CreationDate": key.created,
            "Enabled": key.state == "Enabled",
            "Description": key.description,
            "KeyUsage": key.key_usage,
            "KeyState": key.state,
            "Origin": key.origin,
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": key.key_spec,
            "KeySpec": key.key_spec,
            "MultiRegion": False,
        }
        meta.update(kms_asym.algorithms(key.key_spec, key.key_usage,
                                        key.signing_algorithms))
        if key.state == "PendingDeletion":
            meta["DeletionDate"] = key.deletion_date
            meta["PendingDeletionWindowInDays"] = key.pending_days
        if key.origin == "EXTERNAL" and key.expiration_model is not None:
            meta["ExpirationModel"] = key.expiration_model
            if key.valid_to is not None:
                meta["ValidTo"] = key.valid_to
        return meta

    # -- blobs --------------------------------------------------------------
    @staticmethod
    def _aad(header, context):
        return AAD_LABEL + header + canonical_context(context)

    def seal(self, key, plaintext, context):
        version = key.material_version()
        if version == 0:
            header = bytes([BLOB_VERSION]) + uuid.UUID(key.key_id).bytes
        else:
            header = (bytes([BLOB_VERSION_ROTATED])
                      + uuid.UUID(key.key_id).bytes
                      + version.to_bytes(4, "big"))
        nonce = os.urandom(12)
        sealed = AESGCM(key.material_of(version)).encrypt(
            nonce, plaintext, self._aad(header, context))
        return header + nonce + sealed

    @staticmethod
    def _header_len(blob):
        if len(blob) > 0 and blob[0] == BLOB_VERSION:
            return BLOB_HEADER - 12
        if len(blob) > 0 and blob[0] == BLOB_VERSION_ROTATED:
            return BLOB_HEADER_ROTATED - 12
        return None

    def blob_key(self, blob):
        """The key a blob names, or InvalidCiphertextException."""
        hlen = self._header_len(blob)
        if hlen is None or len(blob) < hlen + 12 + 16:
            raise KmsError("InvalidCiphertextException")
        key_id = str(uuid.UUID(bytes=bytes(blob[1:17])))
        with self.lock:
            key = self.keys.get(key_id)
        if key is None:
            raise KmsError("InvalidCiphertextException")
        return self.current(key)

    def open(self, key, blob, context):
        hlen = self._header_len(blob)
        header, nonce, sealed = blob[:hlen], blob[hlen:hlen + 12], \
            blob[hlen + 12:]
        version = 0 if hlen == 17 else int.from_bytes(header[17:21], "big")
        material = key.material_of(version)
        if material is None:
            raise KmsError("InvalidCiphertextException")
        try:
            return AESGCM(material).decrypt(
                nonce, sealed, self._aad(header, context))
        except InvalidTag:
            raise KmsError("InvalidCiphertextException") from None

    # -- credentials --------------------------------------------------------
    def add_credential(self, cred):
        with self.lock:
            self.creds[cred.access_key_id] = cred
        self.save()

    def remove_credential(self, access_key_id):
        with self.lock:
            found = self.creds.pop(access_key_id, None) is not None
        self.save()
        return found

    def credential(self, access_key_id):
        with self.lock:
            return self.creds.get(access_key_id)

    def issue_temporary(self, principal, ttl, now):
        """New ASIA credential with a session token, valid for ttl seconds."""
        cred = Credential(random_id("ASIA", 16),
                          base64.b64encode(os.urandom(30)).decode(),
                          "IQoJ" + base64.b64encode(os.urandom(96)).decode(),
                          now + ttl, principal)
        self.add_credential(cred)
        return cred
