# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google Cloud KMS REST v1: key rings, crypto keys and their
# versions, encrypt/decrypt/get and the admin calls, with Google's errors.
"""Google Cloud KMS REST v1: symmetric ENCRYPT_DECRYPT keys, and
ASYMMETRIC_SIGN / ASYMMETRIC_DECRYPT keys (gcp_asym.py) with their
getPublicKey, asymmetricSign and asymmetricDecrypt.

Ciphertext (emulator's own format, opaque to clients):
    0x47 ('G') | key uid (16) | version number (4, big-endian) | nonce (12)
    | AES-256-GCM(ct || tag)
with AAD = b"cmk-emu-gcp-v1" | the 33-byte header | the request's
additionalAuthenticatedData, under the version's own 32-byte material. The
version inside lets decrypt use the version that sealed, whatever the
primary is now; the key uid makes a ciphertext of another key fail.

State is kept in DIR/gcp_state.json (rings, keys, versions, tokens, IAM,
service accounts), beside the AWS state.json.
"""

import base64
import binascii
import json
import os
import re
import struct
import threading
import time
import urllib.parse

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crc32c import crc32c
import gcp_asym
from gcp_asym import ALGORITHM_NUMBERS, AsymError

MAGIC = 0x47
HEADER = 1 + 16 + 4 + 12
AAD_LABEL = b"cmk-emu-gcp-v1"
MAX_PAYLOAD = 65536  # plaintext and AAD, SOFTWARE keys
MAX_HSM_TOTAL = 8192  # plaintext + AAD, HSM keys
MAX_CIPHERTEXT = MAX_PAYLOAD + 800
# Enum values of google.cloud.kms.v1 (resources.proto), for answers to a
# client asking for enum-encoding=int (as the Node client does).
PROTECTION = {"SOFTWARE": 1, "HSM": 2, "EXTERNAL": 3, "EXTERNAL_VPC": 4}
STATES = {"ENABLED": 1, "DISABLED": 2, "DESTROYED": 3,
          "DESTROY_SCHEDULED": 4, "PENDING_GENERATION": 5}
PURPOSES = {"ENCRYPT_DECRYPT": 1, "ASYMMETRIC_SIGN": 5,
            "ASYMMETRIC_DECRYPT": 6}
ALGORITHMS = ALGORITHM_NUMBERS
SYMMETRIC = "GOOGLE_SYMMETRIC_ENCRYPTION"
ENUMS = {"protectionLevel": PROTECTION, "state": STATES,
         "purpose": PURPOSES, "algorithm": ALGORITHMS}
# Cloud KMS permission behind each emulator permission name.
PERMISSION = {"encrypt": "cloudkms.cryptoKeyVersions.useToEncrypt",
              "decrypt": "cloudkms.cryptoKeyVersions.useToDecrypt",
              "get": "cloudkms.cryptoKeys.get",
              "sign": "cloudkms.cryptoKeyVersions.useToSign",
              "public_key": "cloudkms.cryptoKeyVersions.viewPublicKey",
              "admin": "cloudkms.cryptoKeys.update"}
HTTP_OF = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400,
           "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403,
           "NOT_FOUND": 404, "ALREADY_EXISTS": 409,
           "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503,
           "DEADLINE_EXCEEDED": 504, "UNIMPLEMENTED": 501}
NAME_RE = re.compile(r"^projects/[^/]+/locations/[^/]+(/keyRings/[^/]+"
                     r"(/cryptoKeys/[^/]+(/cryptoKeyVersions/[^/]+)?)?)?$")
ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")


class GcpError(Exception):
    """A google.rpc.Status: canonical code name, HTTP status, message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = HTTP_OF[status]

    def body(self):
        return json.dumps({"error": {"code": self.http,
                                     "message": self.message,
                                     "status": self.status}})


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + (
        ".%06dZ" % int((t % 1) * 1e6))


def b64decode(value, field):
    if not isinstance(value, str):
        raise GcpError("INVALID_ARGUMENT", "Invalid value at '%s' (TYPE_BYTES)"
                       % field)
    try:
        return base64.b64decode(value.replace("-", "+").replace("_", "/")
                                + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise GcpError("INVALID_ARGUMENT", "Invalid value at '%s' "
                       "(TYPE_BYTES), Base64 decoding failed for \"%s\""
                       % (field, value[:40]))


def int64(value, field):
    """An int64 from proto3 JSON: a string (as sent) or a number."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise GcpError("INVALID_ARGUMENT", "Invalid value at '%s' (TYPE_INT64)"
                       % field)
    try:
        n = int(value)
    except ValueError:
        raise GcpError("INVALID_ARGUMENT", "Invalid value at '%s' "
                       "(TYPE_INT64), \"%s\"" % (field, value))
    if not 0 <= n < 1 << 63:
        raise GcpError("INVALID_ARGUMENT", "Invalid value at '%s' "
                       "(TYPE_INT64), \"%s\"" % (field, value))
    return n


class GcpState:
    """Key rings, crypto keys, versions and the auth tables; one lock."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.rings = {}  # name -> {createTime}
        self.keys = {}  # name -> key dict (versions inside)
        self.tokens = {}  # access token -> {principal, expires}
        self.iam = {}  # principal -> {resource or "*": [permission...]}
        self.service_accounts = {}  # client_email -> {key_id, public_key}
        self.authorized_users = {}  # refresh token -> {client_id, ...}
        self.sts_subjects = {}  # subject token -> principal
        self.impersonation = {}  # service account -> [principal...]
        self.subject_urls = {}  # name -> {token, headers, json_field}
        self.metadata = {"enabled": True,
                         "principal": "default@emu-project.iam."
                                      "gserviceaccount.com"}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.__dict__.update(json.load(f))

    def save(self):
        with self.lock:
            data = {k: getattr(self, k) for k in (
                "rings", "keys", "tokens", "iam", "service_accounts",
                "authorized_users", "sts_subjects", "impersonation",
                "subject_urls", "metadata")}
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)


class GcpKms:
    """The KMS operations; names are full resource names."""

    def __init__(self, state, clock):
        self.state = state
        self.clock = clock
        # version name -> how its answers are tampered with (tests of a
        # client's checks; not kept across a restart): "name" (the name
        # answered), "pem_of" (another version whose public key is
        # answered), "signature_len" (the signature cut to that length).
        # The CRC32Cs are of what is answered.
        self.tamper = {}

    # -- resources ----------------------------------------------------------
    def create_key_ring(self, parent, ring_id):
        if not NAME_RE.match(parent or "") or "/keyRings/" in parent:
            raise GcpError("INVALID_ARGUMENT", "Invalid parent: %s" % parent)
        if not ID_RE.match(ring_id or ""):
            raise GcpError("INVALID_ARGUMENT", "Invalid key ring id: %s"
                           % ring_id)
        name = "%s/keyRings/%s" % (parent, ring_id)
        with self.state.lock:
            if name in self.state.rings:
                raise GcpError("ALREADY_EXISTS", "KeyRing %s already exists."
                               % name)
            self.state.rings[name] = {"createTime": rfc3339(self.clock.now())}
            self.state.save()
        return {"name": name, "createTime": self.state.rings[name][
            "createTime"]}

    def create_crypto_key(self, ring, key_id, body):
        purpose = body.get("purpose", "ENCRYPT_DECRYPT")
        template = body.get("versionTemplate") or {}
        level = template.get("protectionLevel", "SOFTWARE")
        algorithm = template.get("algorithm", SYMMETRIC
                                 if purpose == "ENCRYPT_DECRYPT" else None)
        if (purpose, algorithm) != ("ENCRYPT_DECRYPT", SYMMETRIC) and \
                gcp_asym.purpose_of(algorithm) != purpose:
            raise GcpError("INVALID_ARGUMENT", "Algorithm %s is not valid "
                           "for purpose %s (the emulator makes "
                           "ENCRYPT_DECRYPT keys with %s and the asymmetric "
                           "algorithms of gcp_asym.py)."
                           % (algorithm, purpose, SYMMETRIC))
        if level not in ("SOFTWARE", "HSM"):
            raise GcpError("INVALID_ARGUMENT", "Unsupported protection level "
                           "%s." % level)
        if not ID_RE.match(key_id or ""):
            raise GcpError("INVALID_ARGUMENT", "Invalid crypto key id: %s"
                           % key_id)
        name = "%s/cryptoKeys/%s" % (ring, key_id)
        with self.state.lock:
            if ring not in self.state.rings:
                raise GcpError("NOT_FOUND", "KeyRing %s not found." % ring)
            if name in self.state.keys:
                raise GcpError("ALREADY_EXISTS", "CryptoKey %s already "
                               "exists." % name)
            self.state.keys[name] = {
                "name": name, "purpose": purpose,
                "createTime": rfc3339(self.clock.now()),
                "protectionLevel": level, "labels": body.get("labels") or {},
                "algorithm": algorithm,
                "uid": os.urandom(16).hex(), "primary": None, "versions": []}
            if not body.get("skipInitialVersionCreation"):
                self._new_version(self.state.keys[name], True)
            self.state.save()
            return self.crypto_key_json(self.state.keys[name])

    def _new_version(self, key, make_primary):
        n = len(key["versions"]) + 1
        algorithm = key.get("algorithm", SYMMETRIC)
        material = (os.urandom(32).hex() if algorithm == SYMMETRIC
                    else gcp_asym.generate(algorithm))
        key["versions"].append({"n": n, "state": "ENABLED",
                                "createTime": rfc3339(self.clock.now()),
                                "material": material})
        if make_primary and key["purpose"] == "ENCRYPT_DECRYPT":
            key["primary"] = n
        return n

    def create_version(self, key_name):
        with self.state.lock:
            key = self.key(key_name)
            n = self._new_version(key, False)
            self.state.save()
            return self.version_json(key, n)

    def key(self, name):
        key = self.state.keys.get(name)
        if key is None:
            if not NAME_RE.match(name) or "/cryptoKeys/" not in name:
                raise GcpError("INVALID_ARGUMENT", "Resource name [%s] does "
                               "not represent a valid CryptoKey." % name)
            raise GcpError("NOT_FOUND", "CryptoKey %s not found." % name)
        return key

    def version(self, name):
        """(key, version dict) of projects/.../cryptoKeyVersions/N."""
        key_name, _, n = name.rpartition("/cryptoKeyVersions/")
        key = self.key(key_name)
        if not n.isdigit() or not 1 <= int(n) <= len(key["versions"]):
            raise GcpError("NOT_FOUND", "CryptoKeyVersion %s not found."
                           % name)
        return key, key["versions"][int(n) - 1]

    def set_version_state(self, name, new_state):
        if new_state not in ("ENABLED", "DISABLED"):
            raise GcpError("INVALID_ARGUMENT", "The state can be set to "
                           "ENABLED or DISABLED only.")
        with self.state.lock:
            key, ver = self.version(name)
            if ver["state"] not in ("ENABLED", "DISABLED"):
                raise GcpError("FAILED_PRECONDITION", "%s is not enabled or "
                               "disabled, current state is: %s."
                               % (name, ver["state"]))
            ver["state"] = new_state
            self.state.save()
            return self.version_json(key, ver["n"])

    def destroy_version(self, name, now=False):
        """As Google: DESTROY_SCHEDULED (24 h); now: DESTROYED, material
        gone (the control API's shortcut past the waiting period)."""
        with self.state.lock:
            key, ver = self.version(name)
            if ver["state"] not in ("ENABLED", "DISABLED") and not now:
                raise GcpError("FAILED_PRECONDITION", "%s is not enabled or "
                               "disabled, current state is: %s."
                               % (name, ver["state"]))
            if now:
                ver["state"] = "DESTROYED"
                ver["material"] = None
                ver["destroyEventTime"] = rfc3339(self.clock.now())
            else:
                ver["state"] = "DESTROY_SCHEDULED"
                ver["destroyTime"] = rfc3339(self.clock.now() + 86400)
            self.state.save()
            return self.version_json(key, ver["n"])

    def update_primary(self, key_name, version_id):
        with self.state.lock:
            key = self.key(key_name)
            if key["purpose"] != "ENCRYPT_DECRYPT":
                raise GcpError("FAILED_PRECONDITION", "%s has purpose %s: "
                               "only ENCRYPT_DECRYPT keys have a primary "
                               "version." % (key_name, key["purpose"]))
            n = str(version_id)
            _, ver = self.version("%s/cryptoKeyVersions/%s" % (key_name, n))
            if ver["state"] != "ENABLED":
                raise GcpError("FAILED_PRECONDITION", "%s/cryptoKeyVersions/"
                               "%s is not enabled, current state is: %s."
                               % (key_name, n, ver["state"]))
            key["primary"] = int(n)
            self.state.save()
            return self.crypto_key_json(key)

    # -- JSON views ---------------------------------------------------------
    def version_json(self, key, n):
        ver = key["versions"][n - 1]
        out = {"name": "%s/cryptoKeyVersions/%d" % (key["name"], n),
               "state": ver["state"],
               "protectionLevel": key["protectionLevel"],
               "algorithm": key.get("algorithm", SYMMETRIC),
               "createTime": ver["createTime"]}
        if ver["state"] == "ENABLED":
            out["generateTime"] = ver["createTime"]
        for extra in ("destroyTime", "destroyEventTime"):
            if extra in ver:
                out[extra] = ver[extra]
        return out

    def crypto_key_json(self, key):
        out = {"name": key["name"]}
        if key["primary"]:
            out["primary"] = self.version_json(key, key["primary"])
        out.update({"purpose": key["purpose"],
                    "createTime": key["createTime"],
                    "versionTemplate": {
                        "protectionLevel": key["protectionLevel"],
                        "algorithm": key.get("algorithm", SYMMETRIC)},
                    "destroyScheduledDuration": "86400s"})
        if key["labels"]:
            out["labels"] = key["labels"]
        return out

    # -- crypto -------------------------------------------------------------
    @staticmethod
    def _checked(body, field, crc_field, verified):
        """A base64 payload member, its CRC32C checked when sent (400
        INVALID_ARGUMENT on a mismatch, as Google does); verified[crc_field]
        is True only when a CRC32C was sent and matched."""
        raw = body.get(field)
        data = b"" if raw is None else b64decode(raw, field)
        if body.get(crc_field) is not None:
            want = int64(body[crc_field], crc_field)
            if want != crc32c(data):
                raise GcpError("INVALID_ARGUMENT", "The checksum in field %s "
                               "did not match the data in field %s."
                               % (crc_field, field))
            verified[crc_field] = True
        return data

    @staticmethod
    def _check_sizes(key, plaintext, aad, pt_field="plaintext"):
        if len(plaintext) > MAX_PAYLOAD:
            raise GcpError("INVALID_ARGUMENT", "The request field '%s' "
                           "must be at most 65536 bytes." % pt_field)
        if len(aad) > MAX_PAYLOAD:
            raise GcpError("INVALID_ARGUMENT", "The request field "
                           "'additionalAuthenticatedData' must be at most "
                           "65536 bytes.")
        if key["protectionLevel"] == "HSM" and \
                len(plaintext) + len(aad) > MAX_HSM_TOTAL:
            raise GcpError("INVALID_ARGUMENT", "The combined length of the "
                           "plaintext and additionalAuthenticatedData fields "
                           "must be at most 8192 bytes for HSM keys.")

    @staticmethod
    def _usable(name, ver):
        if ver["state"] != "ENABLED":
            raise GcpError("FAILED_PRECONDITION", "%s is not enabled, current "
                           "state is: %s." % (name, ver["state"]))

    @staticmethod
    def _purpose(key, want, call):
        if key["purpose"] != want:
            raise GcpError("FAILED_PRECONDITION", "%s can be used only with "
                           "a CryptoKey of purpose %s; %s has purpose %s."
                           % (call, want, key["name"], key["purpose"]))

    def encrypt(self, name, body):
        with self.state.lock:
            if "/cryptoKeyVersions/" in name:
                key, ver = self.version(name)
                self._purpose(key, "ENCRYPT_DECRYPT", "Encrypt")
            else:
                key = self.key(name)
                self._purpose(key, "ENCRYPT_DECRYPT", "Encrypt")
                if not key["primary"]:
                    raise GcpError("FAILED_PRECONDITION", "%s has no primary "
                                   "version." % name)
                ver = key["versions"][key["primary"] - 1]
            ver_name = "%s/cryptoKeyVersions/%d" % (key["name"], ver["n"])
            self._usable(ver_name, ver)
            material = bytes.fromhex(ver["material"])
            uid = bytes.fromhex(key["uid"])
            level = key["protectionLevel"]
        verified = {}
        if body.get("plaintext") is None:
            raise GcpError("INVALID_ARGUMENT", "plaintext is required.")
        pt = self._checked(body, "plaintext", "plaintextCrc32c", verified)
        aad = self._checked(body, "additionalAuthenticatedData",
                            "additionalAuthenticatedDataCrc32c", verified)
        self._check_sizes(key, pt, aad)
        nonce = os.urandom(12)
        header = struct.pack(">B16sI12s", MAGIC, uid, ver["n"], nonce)
        ct = header + AESGCM(material).encrypt(nonce, pt,
                                               AAD_LABEL + header + aad)
        out = {"name": ver_name,
               "ciphertext": base64.b64encode(ct).decode(),
               "ciphertextCrc32c": str(crc32c(ct))}
        # proto3 JSON leaves out false booleans, as Google's answers do.
        if verified.get("plaintextCrc32c"):
            out["verifiedPlaintextCrc32c"] = True
        if verified.get("additionalAuthenticatedDataCrc32c"):
            out["verifiedAdditionalAuthenticatedDataCrc32c"] = True
        out["protectionLevel"] = level
        return out

    def decrypt(self, name, body):
        if "/cryptoKeyVersions/" in name:
            raise GcpError("INVALID_ARGUMENT", "Resource name [%s] does not "
                           "represent a valid CryptoKey." % name)
        if body.get("ciphertext") is None:
            raise GcpError("INVALID_ARGUMENT", "ciphertext is required.")
        verified = {}
        ct = self._checked(body, "ciphertext", "ciphertextCrc32c", verified)
        aad = self._checked(body, "additionalAuthenticatedData",
                            "additionalAuthenticatedDataCrc32c", verified)
        bad = GcpError("INVALID_ARGUMENT", "Decryption failed: verify that "
                       "'name' refers to the correct CryptoKey.")
        with self.state.lock:
            key = self.key(name)
            self._purpose(key, "ENCRYPT_DECRYPT", "Decrypt")
            if len(ct) > MAX_CIPHERTEXT:
                raise GcpError("INVALID_ARGUMENT", "The request field "
                               "'ciphertext' must be at most %d bytes."
                               % MAX_CIPHERTEXT)
            self._check_sizes(key, b"", aad)
            if len(ct) < HEADER + 16 or ct[0] != MAGIC:
                raise bad
            _, uid, n, nonce = struct.unpack(">B16sI12s", ct[:HEADER])
            if uid != bytes.fromhex(key["uid"]) or not \
                    1 <= n <= len(key["versions"]):
                raise bad
            ver = key["versions"][n - 1]
            self._usable("%s/cryptoKeyVersions/%d" % (name, n), ver)
            material = bytes.fromhex(ver["material"])
            primary = key["primary"] == n
            level = key["protectionLevel"]
        try:
            pt = AESGCM(material).decrypt(nonce, ct[HEADER:],
                                          AAD_LABEL + ct[:HEADER] + aad)
        except InvalidTag:
            raise bad
        out = {"plaintext": base64.b64encode(pt).decode(),
               "plaintextCrc32c": str(crc32c(pt))}
        if primary:
            out["usedPrimary"] = True
        out["protectionLevel"] = level
        return out

    # -- asymmetric keys (gcp_asym.py) --------------------------------------
    def _asym_version(self, name, purpose, call):
        """(key, version, its name, material) of an ENABLED version of an
        asymmetric key of purpose (None: either)."""
        if "/cryptoKeyVersions/" not in name:
            raise GcpError("INVALID_ARGUMENT", "Resource name [%s] does not "
                           "represent a valid CryptoKeyVersion." % name)
        with self.state.lock:
            key, ver = self.version(name)
            if key["purpose"] == "ENCRYPT_DECRYPT" or (
                    purpose is not None and key["purpose"] != purpose):
                self._purpose(key, purpose or "ASYMMETRIC_SIGN or "
                              "ASYMMETRIC_DECRYPT", call)
            ver_name = "%s/cryptoKeyVersions/%d" % (key["name"], ver["n"])
            self._usable(ver_name, ver)
            return key, ver_name, ver["material"]

    def get_public_key(self, name):
        key, ver_name, material = self._asym_version(name, None,
                                                     "GetPublicKey")
        t = self.tamper.get(ver_name, {})
        if t.get("pem_of"):
            with self.state.lock:
                material = self.version(t["pem_of"])[1]["material"]
        pem = gcp_asym.public_pem(material)
        return {"pem": pem, "algorithm": key["algorithm"],
                "pemCrc32c": str(crc32c(pem.encode())),
                "name": t.get("name", ver_name),
                "protectionLevel": key["protectionLevel"]}

    def asymmetric_sign(self, name, body):
        key, ver_name, material = self._asym_version(
            name, "ASYMMETRIC_SIGN", "AsymmetricSign")
        verified = {}
        digest = body.get("digest")
        if (digest is None) == (body.get("data") is None):
            raise GcpError("INVALID_ARGUMENT", "Exactly one of digest and "
                           "data must be given.")
        if digest is not None:
            if not isinstance(digest, dict) or len(digest) != 1 or \
                    next(iter(digest)) not in ("sha256", "sha384", "sha512"):
                raise GcpError("INVALID_ARGUMENT", "digest must hold one of "
                               "sha256, sha384, sha512.")
            member = next(iter(digest))
            value = b64decode(digest[member], "digest." + member)
            if body.get("digestCrc32c") is not None:
                if int64(body["digestCrc32c"], "digestCrc32c") != \
                        crc32c(value):
                    raise GcpError("INVALID_ARGUMENT", "The checksum in field "
                                   "digest_crc32c did not match the data in "
                                   "field digest.")
                verified["verifiedDigestCrc32c"] = True
            args = ((member, value), None)
        else:
            data = self._checked(body, "data", "dataCrc32c", verified)
            if "dataCrc32c" in verified:
                verified = {"verifiedDataCrc32c": True}
            args = (None, data)
        try:
            sig = gcp_asym.sign(key["algorithm"], material, *args)
        except AsymError as e:
            raise GcpError(e.status, e.message)
        t = self.tamper.get(ver_name, {})
        if t.get("signature_len") is not None:
            sig = sig[:t["signature_len"]]
        ver_name = t.get("name", ver_name)
        out = {"signature": base64.b64encode(sig).decode(),
               "signatureCrc32c": str(crc32c(sig))}
        out.update(verified)
        out["name"] = ver_name
        out["protectionLevel"] = key["protectionLevel"]
        return out

    def asymmetric_decrypt(self, name, body):
        key, _, material = self._asym_version(
            name, "ASYMMETRIC_DECRYPT", "AsymmetricDecrypt")
        if body.get("ciphertext") is None:
            raise GcpError("INVALID_ARGUMENT", "ciphertext is required.")
        verified = {}
        ct = self._checked(body, "ciphertext", "ciphertextCrc32c", verified)
        try:
            pt = gcp_asym.decrypt(key["algorithm"], material, ct)
        except AsymError as e:
            raise GcpError(e.status, e.message)
        out = {"plaintext": base64.b64encode(pt).decode(),
               "plaintextCrc32c": str(crc32c(pt))}
        if verified.get("ciphertextCrc32c"):
            out["verifiedCiphertextCrc32c"] = True
        out["protectionLevel"] = key["protectionLevel"]
        return out


def enums_as_ints(obj):
    """The answer as google's ?$alt=json;enum-encoding=int gives it."""
    if isinstance(obj, dict):
        return {k: (ENUMS[k][v] if k in ENUMS and isinstance(v, str)
                    and v in ENUMS[k] else enums_as_ints(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [enums_as_ints(v) for v in obj]
    return obj


def enums_from_ints(obj):
    """A request body with enum numbers (the Node client sends them with
    enum-encoding=int) turned into their names."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            names = {n: s for s, n in ENUMS.get(k, {}).items()}
            out[k] = (names.get(v, v) if isinstance(v, int)
                      and not isinstance(v, bool) and names
                      else enums_from_ints(v))
        return out
    return obj


def wants_int_enums(query):
    """True when $alt asks for enum-encoding=int (the Node client sends
    $alt=json%3Benum-encoding=int)."""
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name == "$alt" and "enum-encoding=int" in value.split(";"):
            return True
    return False
