# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Vault / OpenBao transit: named keys and their versions, the
# vault:vN: ciphertexts made with real AEADs (or RSA-OAEP), derived keys,
# associated data, batches and transit's own error texts.
"""Transit keys (the state behind vault_api).

A mount is {"keys": {name: key}, "config": {"disable_upsert": bool}}. A key
is {"type", "derived", "versions": {"N": {"key": hex | PEM, "time": s}},
"latest", "min_decryption_version", "min_encryption_version",
"deletion_allowed", "exportable"}.

Ciphertexts are transit's: "vault:v<N>:" + base64(nonce (12) | ciphertext
| tag (16)) for aes128-gcm96, aes256-gcm96 and chacha20-poly1305, and
"vault:v<N>:" + base64(RSA-OAEP-SHA-256) for rsa-2048/3072/4096. RSA
and ecdsa-p256/p384/p521 keys sign (sign/<name>: prehashed or not,
hash_algorithm, pkcs1v15 or pss with salt_length, asn1 or jws
marshaling); ECDSA keys neither encrypt nor decrypt. A derived
key's per-context key is HKDF-SHA-256(version key, salt none, info
context), which is what transit's hkdf_sha256 KDF does (not checked
byte for byte against a real Vault). Errors carry the texts of OpenBao's
builtin/logical/transit and sdk/helper/keysutil.
"""

import base64
import binascii
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed, decode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import (AESGCM,
                                                         ChaCha20Poly1305)
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# type -> (key bytes or RSA bits, AEAD class or None for RSA)
KEY_TYPES = {"aes128-gcm96": (16, AESGCM), "aes256-gcm96": (32, AESGCM),
             "chacha20-poly1305": (32, ChaCha20Poly1305),
             "rsa-2048": (2048, None), "rsa-3072": (3072, None),
             "rsa-4096": (4096, None), "ecdsa-p256": (256, None),
             "ecdsa-p384": (384, None), "ecdsa-p521": (521, None)}
# ECDSA types: the curve and the name the key read gives each version.
EC_CURVES = {"ecdsa-p256": (ec.SECP256R1, "P-256"),
             "ecdsa-p384": (ec.SECP384R1, "P-384"),
             "ecdsa-p521": (ec.SECP521R1, "P-521")}
# hash_algorithm values of sign (None: "none", PKCS#1 v1.5 only).
SIGN_HASHES = {"sha1": hashes.SHA1, "sha2-224": hashes.SHA224,
               "sha2-256": hashes.SHA256, "sha2-384": hashes.SHA384,
               "sha2-512": hashes.SHA512, "none": None}
# What Go's AEAD Open answers on a bad tag, per cipher.
AUTH_FAILED = {AESGCM: "cipher: message authentication failed",
               ChaCha20Poly1305: "chacha20poly1305: message authentication "
                                 "failed"}
MISSING_CONTEXT = ("missing 'context' for key derivation; the key was "
                   "created using a derived key, which means additional, "
                   "per-request information must be included in order to "
                   "perform operations with the key")
TOO_OLD = "ciphertext or signature version is disallowed by policy (too old)"
KEY_NOT_FOUND = "encryption key not found"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                    algorithm=hashes.SHA256(), label=None)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class VaultError(Exception):
    """An answer {"errors": [...]} with an HTTP status."""

    def __init__(self, status, errors, headers=None):
        super().__init__(errors[0] if errors else "")
        self.status = status
        self.errors = list(errors)
        self.headers = headers or {}


def user_error(text):
    return VaultError(400, [text])


class ItemError(Exception):
    """A per-item failure inside a batch (or of the one item of a plain
    request): transit's UserError."""


def b64decode(text):
    """Go's base64.StdEncoding.DecodeString, with its error text
    ("illegal base64 data at input byte N")."""
    if not isinstance(text, str):
        raise ItemError("illegal base64 data at input byte 0")
    body = text.rstrip("=")
    for i, ch in enumerate(body):
        if ch not in B64:
            raise ItemError("illegal base64 data at input byte %d" % i)
    pad = len(text) - len(body)
    if pad > 2 or (len(text) % 4) != 0:
        raise ItemError("illegal base64 data at input byte %d"
                        % (len(body) - len(body) % 4 if pad == 0 else
                           len(body)))
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ItemError("illegal base64 data at input byte %d" % len(body))


def b64(data):
    return base64.b64encode(data).decode()


def new_material(key_type):
    size, aead = KEY_TYPES[key_type]
    if aead is not None:
        return os.urandom(size).hex()
    if key_type in EC_CURVES:
        priv = ec.generate_private_key(EC_CURVES[key_type][0]())
    else:
        priv = rsa.generate_private_key(public_exponent=65537,
                                        key_size=size)
    return priv.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()


def parse_ciphertext(key, value):
    """(version, raw bytes) of a vault:vN: ciphertext, with keysutil's
    checks in keysutil's order."""
    if not isinstance(value, str) or not value.startswith("vault:v"):
        raise ItemError("invalid ciphertext: no prefix")
    parts = value[len("vault:v"):].split(":", 1)
    if len(parts) != 2:
        raise ItemError("invalid ciphertext: wrong number of fields")
    try:
        ver = int(parts[0], 10)
    except ValueError:
        raise ItemError("invalid ciphertext: version number could not be "
                        "decoded")
    ver = max(ver, 1)
    if ver > key["latest"]:
        raise ItemError("invalid ciphertext: version is too new")
    if key["min_decryption_version"] > 0 and \
            ver < key["min_decryption_version"]:
        raise ItemError(TOO_OLD)
    try:
        raw = b64decode(parts[1])
    except ItemError:
        raise ItemError("invalid ciphertext: could not decode base64")
    return ver, raw


class Transit:
    """The transit operations on one mount (a dict inside vault_api's
    state, guarded by its lock)."""

    def __init__(self, lock=None, clock=None):
        self.lock = lock or threading.RLock()
        self.clock = clock

    def now(self):
        return int(self.clock.now()) if self.clock else 0

    # -- keys -----------------------------------------------------------------
    def create(self, mount, name, key_type="aes256-gcm96", derived=False,
               exportable=False):
        if key_type not in KEY_TYPES:
            raise user_error("unknown key type %s" % key_type)
        if derived and KEY_TYPES[key_type][1] is None:
            raise user_error("key derivation and convergent encryption "
                             "not supported for keys of type %s" % key_type)
        key = {"type": key_type, "derived": bool(derived),
               "versions": {"1": {"key": new_material(key_type),
                                  "time": self.now()}},
               "latest": 1, "min_decryption_version": 1,
               "min_encryption_version": 0, "deletion_allowed": False,
               "exportable": bool(exportable)}
        mount["keys"][name] = key
        return key

    @staticmethod
    def key(mount, name):
        return mount["keys"].get(name)

    def rotate(self, key):
        key["latest"] += 1
        key["versions"][str(key["latest"])] = {
            "key": new_material(key["type"]), "time": self.now()}

    @staticmethod
    def configure(key, body):
        """POST keys/<name>/config: keysutil's checks and texts."""
        latest = key["latest"]
        if "min_decryption_version" in body:
            v = int(body["min_decryption_version"])
            if v < 0:
                raise user_error("min decryption version cannot be negative")
            v = v or 1
            if v != key["min_decryption_version"] and v > latest:
                raise user_error("cannot set min decryption version of %d, "
                                 "latest key version is %d" % (v, latest))
            key["min_decryption_version"] = v
        if "min_encryption_version" in body:
            v = int(body["min_encryption_version"])
            if v < 0:
                raise user_error("min encryption version cannot be negative")
            if v != key["min_encryption_version"] and v > latest:
                raise user_error("cannot set min encryption version of %d, "
                                 "latest key version is %d" % (v, latest))
            key["min_encryption_version"] = v
        if key["min_encryption_version"] and key["min_encryption_version"] \
                < key["min_decryption_version"]:
            raise user_error(
                "cannot set min encryption/decryption values; min "
                "encryption version of %d must be greater than or equal to "
                "min decryption version of %d"
                % (key["min_encryption_version"],
                   key["min_decryption_version"]))
        for flag in ("deletion_allowed", "exportable"):
            if flag in body:
                key[flag] = bool(body[flag])

    def info(self, name, key):
        """GET keys/<name> data, as transit formats it."""
        size, aead = KEY_TYPES[key["type"]]
        if aead is not None:
            keys = {v: rec["time"] for v, rec in key["versions"].items()}
        else:
            keys = {}
            for v, rec in key["versions"].items():
                priv = serialization.load_pem_private_key(
                    rec["key"].encode(), None)
                pub = priv.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo)
                keys[v] = {"creation_time": rec["time"],
                           "name": EC_CURVES.get(key["type"],
                                                 (None, key["type"]))[1],
                           "public_key": pub.decode()}
        data = {"allow_plaintext_backup": False, "auto_rotate_period": 0,
                "deletion_allowed": key["deletion_allowed"],
                "derived": key["derived"], "exportable": key["exportable"],
                "imported_key": False, "keys": keys,
                "latest_version": key["latest"],
                "min_available_version": 0,
                "min_decryption_version": key["min_decryption_version"],
                "min_encryption_version": key["min_encryption_version"],
                "name": name,
                "supports_decryption": key["type"] not in EC_CURVES,
                "supports_derivation": aead is not None,
                "supports_encryption": key["type"] not in EC_CURVES,
                "supports_signing": aead is None, "type": key["type"]}
        if key["derived"]:
            data["kdf"] = "hkdf_sha256"
            data["convergent_encryption"] = False
        return data

    # -- cryptography ---------------------------------------------------------
    @staticmethod
    def _version_key(key, ver, context):
        size, aead = KEY_TYPES[key["type"]]
        material = key["versions"][str(ver)]["key"]
        if aead is None:
            return serialization.load_pem_private_key(material.encode(),
                                                      None), None
        raw = bytes.fromhex(material)
        if key["derived"]:
            if not context:
                raise ItemError(MISSING_CONTEXT)
            raw = HKDF(hashes.SHA256(), size, None, context).derive(raw)
        return raw, aead

    def encrypt_one(self, key, plaintext, context, version, aad):
        """vault:vN:... of plaintext bytes, and N."""
        latest = key["latest"]
        if version == 0:
            ver = latest
        elif version < 0:
            raise ItemError("requested version for encryption is negative")
        elif version > latest:
            raise ItemError("requested version for encryption is higher "
                            "than the latest key version")
        elif version < key["min_encryption_version"]:
            raise ItemError("requested version for encryption is less than "
                            "the minimum encryption key version")
        else:
            ver = version
        if version == 0 and key["min_encryption_version"] > latest:
            raise ItemError("requested version for encryption is less than "
                            "the minimum encryption key version")
        material, aead = self._version_key(key, ver, context)
        if aead is None:
            raw = material.public_key().encrypt(plaintext, OAEP)
        else:
            nonce = os.urandom(12)
            raw = nonce + aead(material).encrypt(nonce, plaintext, aad)
        return "vault:v%d:%s" % (ver, b64(raw)), ver

    def decrypt_one(self, key, value, context, aad):
        """(plaintext bytes, version) of a vault:vN: ciphertext."""
        ver, raw = parse_ciphertext(key, value)
        material, aead = self._version_key(key, ver, context)
        if aead is None:
            try:
                return material.decrypt(raw, OAEP), ver
            except ValueError:
                raise ItemError("failed to RSA decrypt the ciphertext: "
                                "crypto/rsa: decryption error")
        if len(raw) < 12:
            raise ItemError("invalid ciphertext length")
        try:
            return aead(material).decrypt(raw[:12], raw[12:], aad), ver
        except InvalidTag:
            raise ItemError(AUTH_FAILED[aead])


def sign(key, body, path_hash):
    """POST sign/<name>[/<hash>]: {"signature": "vault:vN:...",
    "key_version": N}, with transit's checks and texts."""
    ktype = key["type"]
    if KEY_TYPES[ktype][1] is not None:
        raise user_error("key type %s does not support signing" % ktype)
    hname = body.get("hash_algorithm") or path_hash or "sha2-256"
    if hname not in SIGN_HASHES:
        raise user_error("unsupported hash algorithm %s" % hname)
    try:
        data = b64decode(body.get("input", ""))
    except ItemError:
        raise user_error("unable to decode input as base64: illegal base64 "
                         "data")
    ver = int(body.get("key_version") or 0) or key["latest"]
    if ver > key["latest"] or str(ver) not in key["versions"]:
        raise user_error("requested version for signing does not exist")
    if ver < key["min_encryption_version"]:
        raise user_error("requested version for signing is less than the "
                         "minimum encryption key version")
    h = SIGN_HASHES[hname]
    prehashed = body.get("prehashed") in (True, "true")
    if h is not None and not prehashed:
        d = hashes.Hash(h())
        d.update(data)
        data = d.finalize()
    priv = serialization.load_pem_private_key(
        key["versions"][str(ver)]["key"].encode(), None)
    if ktype in EC_CURVES:
        if h is None:
            raise user_error("unsupported hash algorithm none")
        der = priv.sign(data, ec.ECDSA(Prehashed(h())) if len(data) ==
                        h.digest_size else ec.ECDSA(Prehashed(_Raw(len(
                            data)))))
        if body.get("marshaling_algorithm", "asn1") == "jws":
            r, s = decode_dss_signature(der)
            n = (priv.curve.key_size + 7) // 8
            raw = r.to_bytes(n, "big") + s.to_bytes(n, "big")
            sig = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        else:
            sig = b64(der)
        return {"signature": "vault:v%d:%s" % (ver, sig), "key_version": ver}
    if h is not None and len(data) != h.digest_size:
        raise user_error("crypto/rsa: input must be hashed with given hash")
    algo = body.get("signature_algorithm") or "pss"
    if algo == "pss":
        if h is None:
            raise user_error("unsupported hash algorithm none for pss")
        salt = body.get("salt_length", "auto")
        if salt == "hash":
            salt = h.digest_size
        elif salt == "auto":
            salt = padding.PSS.MAX_LENGTH
        else:
            try:
                salt = int(salt)
            except (TypeError, ValueError):
                raise user_error("salt length must be \"auto\", \"hash\" "
                                 "or an integer")
        raw = priv.sign(data, padding.PSS(padding.MGF1(h()), salt),
                        Prehashed(h()))
    elif algo == "pkcs1v15":
        if h is None:
            raw = _sign_raw_pkcs1(priv, data)
        else:
            raw = priv.sign(data, padding.PKCS1v15(), Prehashed(h()))
    else:
        raise user_error("unsupported rsa signature algorithm %s" % algo)
    return {"signature": "vault:v%d:%s" % (ver, b64(raw)), "key_version": ver}


class _Raw(hashes.HashAlgorithm):
    """A digest of another length (ECDSA takes any: Go's ecdsa.Sign
    truncates it)."""

    name = "raw"
    block_size = None

    def __init__(self, size):
        self._size = size

    @property
    def digest_size(self):
        return self._size


def _sign_raw_pkcs1(priv, data):
    """PKCS#1 v1.5 type 1 padding of data itself (hash_algorithm none)."""
    k = (priv.key_size + 7) // 8
    if len(data) > k - 11:
        raise user_error("crypto/rsa: message too long for RSA key size")
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    n = priv.private_numbers()
    return pow(int.from_bytes(em, "big"), n.d, n.public_numbers.n).to_bytes(
        k, "big")


def supports_aad(key_type):
    return KEY_TYPES[key_type][1] is not None


# -- requests: single item or batch_input -------------------------------------
def batch_items(body, required):
    """The request's items and whether it was a batch; the refusals of
    decodeBatchRequestItems (500: transit answers them as an internal
    error) and of the single-item form."""
    raw = body.get("batch_input")
    if raw is None:
        item = {k: body[k] for k in ("plaintext", "ciphertext", "context",
                                     "key_version", "associated_data",
                                     "nonce") if k in body}
        if required == "plaintext" and "plaintext" not in item:
            raise user_error("missing plaintext to encrypt")
        if required == "ciphertext" and not item.get("ciphertext"):
            raise user_error("missing ciphertext to decrypt")
        return [item], False
    if not isinstance(raw, list):
        raise VaultError(500, ["1 error occurred:\n\t* failed to parse "
                               "batch input: source data must be an array "
                               "or slice, got %s\n\n" % type(raw).__name__])
    problems = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise VaultError(500, ["1 error occurred:\n\t* failed to parse "
                                   "batch input: [%d] expected a map\n\n"
                                   % i])
        if required not in item:
            problems.append("'[%d].%s' missing %s to %s" % (
                i, required, required,
                "encrypt" if required == "plaintext" else "decrypt"))
    if problems:
        raise VaultError(500, ["1 error occurred:\n\t* failed to parse "
                               "batch input: %d error(s) decoding:\n\n* %s"
                               "\n\n" % (len(problems),
                                          "\n* ".join(problems))])
    if not raw:
        raise user_error("missing batch input to process")
    return raw, True


def check_contexts(items):
    """Transit's rule: context in every item or in none; decoded contexts."""
    context_set = bool(items[0].get("context"))
    for item in items:
        if bool(item.get("context")) != context_set:
            raise user_error("context should be set either in all the "
                             "request blocks or in none")
    return context_set


def outcome(body, results, batch, ok, user_err, key_of_single):
    """(status, data) as batchRequestResponse decides them."""
    if not batch:
        if results[0].get("error"):
            raise user_error(results[0]["error"])
        return 200, key_of_single(results[0])
    status = 200
    if user_err:
        status = 400
        code = body.get("partial_failure_response_code")
        if code is not None and ok:
            try:
                code = int(code)
            except (TypeError, ValueError):
                code = 0
            if 1 <= code <= 599:
                status = code
    return status, {"batch_results": results}


def item_aad(key, item, i):
    ad = item.get("associated_data") or ""
    if not ad:
        return None
    if not supports_aad(key["type"]):
        raise ItemError("'[%d].associated_data' provided for non-AEAD "
                        "cipher suite %s" % (i, key["type"]))
    return b64decode(ad)


def usable(key, what):
    """ECDSA keys neither encrypt nor decrypt (transit's refusal)."""
    if key["type"] in EC_CURVES:
        raise user_error("key type %s does not support %s"
                         % (key["type"], what))


def run_encrypt(transit, key, items, batch, body):
    usable(key, "encryption")
    results, ok, user_err = [], False, False
    for i, item in enumerate(items):
        res = {"reference": item.get("reference", "")}
        try:
            plaintext = b64decode(item.get("plaintext", ""))
            ctx = b64decode(item["context"]) if item.get("context") else b""
        except ItemError as e:
            res["error"], user_err = str(e), True
            results.append(res)
            continue
        try:
            aad = item_aad(key, item, i)
        except ItemError as e:
            # transit does not count this one as a user error
            res["error"] = str(e)
            results.append(res)
            continue
        try:
            ct, ver = transit.encrypt_one(key, plaintext, ctx, int(
                item.get("key_version") or 0), aad)
            res.update({"ciphertext": ct, "key_version": ver})
            ok = True
        except ItemError as e:
            res["error"], user_err = str(e), True
        results.append(res)
    return outcome(body, results, batch, ok, user_err, lambda r: {
        "ciphertext": r["ciphertext"], "key_version": r["key_version"]})


def run_decrypt(transit, key, items, batch, body):
    usable(key, "decryption")
    results, ok, user_err = [], False, False
    for i, item in enumerate(items):
        res = {"plaintext": "", "reference": item.get("reference", "")}
        try:
            if not item.get("ciphertext"):
                raise ItemError("missing ciphertext to decrypt")
            ctx = b64decode(item["context"]) if item.get("context") else b""
        except ItemError as e:
            res["error"], user_err = str(e), True
            results.append(res)
            continue
        try:
            aad = item_aad(key, item, i)
        except ItemError as e:
            res["error"] = str(e)
            results.append(res)
            continue
        try:
            plain, _ = transit.decrypt_one(key, item["ciphertext"], ctx, aad)
            res["plaintext"] = b64(plain)
            ok = True
        except ItemError as e:
            res["error"], user_err = str(e), True
        results.append(res)
    return outcome(body, results, batch, ok, user_err,
                   lambda r: {"plaintext": r["plaintext"]})


def run_rewrap(transit, key, items, batch, body):
    usable(key, "decryption")
    results, ok, user_err = [], False, False
    for item in items:
        res = {"reference": item.get("reference", "")}
        try:
            if not item.get("ciphertext"):
                raise ItemError("missing ciphertext to decrypt")
            ctx = b64decode(item["context"]) if item.get("context") else b""
            plain, _ = transit.decrypt_one(key, item["ciphertext"], ctx,
                                           None)
            ct, ver = transit.encrypt_one(key, plain, ctx, int(
                item.get("key_version") or 0), None)
            res.update({"ciphertext": ct, "key_version": ver})
            ok = True
        except ItemError as e:
            res["error"], user_err = str(e), True
        results.append(res)
    return outcome(body, results, batch, ok, user_err, lambda r: {
        "ciphertext": r["ciphertext"], "key_version": r["key_version"]})


def datakey_checks(kind, body):
    """What transit checks of a datakey request before it looks the key
    up: the path's kind, then the context (decoded)."""
    if kind not in ("plaintext", "wrapped"):
        raise user_error("Invalid path, must be 'plaintext' or 'wrapped'")
    try:
        return b64decode(body["context"]) if body.get("context") else b""
    except ItemError:
        raise user_error("failed to base64-decode context")


def datakey(transit, key, kind, ctx, body):
    """POST datakey/<plaintext|wrapped>/<name>, once the key is found."""
    try:
        bits = int(body.get("bits") or 256)
    except (TypeError, ValueError):
        bits = -1
    if bits not in (128, 256, 512):
        raise user_error("invalid bit length")
    new_key = os.urandom(bits // 8)
    try:
        ct, ver = transit.encrypt_one(key, new_key, ctx, int(
            body.get("key_version") or 0), None)
    except ItemError as e:
        raise user_error(str(e))
    data = {"ciphertext": ct, "key_version": ver}
    if kind == "plaintext":
        data["plaintext"] = b64(new_key)
    return data


__all__ = ["KEY_TYPES", "KEY_NOT_FOUND", "MISSING_CONTEXT", "TOO_OLD",
           "ItemError", "Transit", "VaultError", "b64", "b64decode",
           "batch_items", "check_contexts", "datakey", "datakey_checks",
           "run_decrypt",
           "run_encrypt", "run_rewrap", "sign", "supports_aad",
           "user_error"]
