# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Azure Key Vault and Managed HSM keys: vaults, key versions,
# their attributes and the cryptography of each operation, with Key Vault's
# errors.
"""Azure Key Vault / Managed HSM keys (the state behind azure_api).

A vault has a kind: "vault" (Key Vault: RSA, RSA-HSM, EC and EC-HSM
keys) or "hsm" (Managed HSM: RSA-HSM, EC-HSM and oct-HSM keys), a tenant
and a list of host names that address it (see azure_api). A key is a list
of versions; the newest is the current one. Each version keeps its own
material (RSA, EC: a PKCS#8 PEM; oct-HSM: hex), key_ops, enabled, exp,
nbf, created, updated and tags. EC keys are on P-256, P-384, P-521 or
P-256K (secp256k1), "crv" at creation (default P-256).

Cryptography is real (python3-cryptography): RSA-OAEP (SHA-1),
RSA-OAEP-256 (SHA-256, MGF1-SHA-256) and RSA1_5 on RSA keys for
wrapkey/unwrapkey/encrypt/decrypt; on oct-HSM keys A128KW/A192KW/A256KW
and CKM_AES_KEY_WRAP (RFC 3394), CKM_AES_KEY_WRAP_PAD (RFC 5649) for
wrapkey/unwrapkey, and A128GCM/A192GCM/A256GCM (iv, aad, tag) for
encrypt/decrypt. sign and verify take a digest ("value", "digest") of
the length the algorithm's hash gives: RS256/384/512 (PKCS#1 v1.5) and
PS256/384/512 (PSS, salt length = hash length, MGF1 with the same hash)
on RSA keys; ES256 (P-256), ES384 (P-384), ES512 (P-521) and ES256K
(P-256K) on EC keys, each on its own curve only, the signature raw
r || s (each half the curve's size, RFC 7518 3.4). Verify answers
{"value": true|false}. Binary members are base64url without padding.
"""

import base64
import binascii
import json
import os
import re
import threading
import uuid

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed, decode_dss_signature, encode_dss_signature)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap, aes_key_unwrap, aes_key_unwrap_with_padding,
    aes_key_wrap, aes_key_wrap_with_padding)

AZ_JSON = "application/json; charset=utf-8"
RESOURCES = {"vault": "https://vault.azure.net",
             "hsm": "https://managedhsm.azure.net"}
RSA_SIZES = (2048, 3072, 4096)
OCT_SIZES = (128, 192, 256)
KTYS = {"vault": ("RSA", "RSA-HSM", "EC", "EC-HSM"),
        "hsm": ("RSA-HSM", "EC-HSM", "oct-HSM")}
# crv -> (curve, bytes of a coordinate, the one signing algorithm)
CURVES = {"P-256": (ec.SECP256R1, 32, "ES256"),
          "P-384": (ec.SECP384R1, 48, "ES384"),
          "P-521": (ec.SECP521R1, 66, "ES512"),
          "P-256K": (ec.SECP256K1, 32, "ES256K")}
SIGN_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384,
               "512": hashes.SHA512, "256K": hashes.SHA256}
ALL_OPS = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey",
           "import", "export")
DEFAULT_OPS = {"RSA": ["encrypt", "decrypt", "sign", "verify", "wrapKey",
                       "unwrapKey"],
               "EC": ["sign", "verify"],
               "oct": ["encrypt", "decrypt", "wrapKey", "unwrapKey"]}
RSA_ALGS = ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5")
KW_ALGS = {"A128KW": 16, "A192KW": 24, "A256KW": 32,
           "CKM_AES_KEY_WRAP": None, "CKM_AES_KEY_WRAP_PAD": None}
GCM_ALGS = {"A128GCM": 16, "A192GCM": 24, "A256GCM": 32}
NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
NOT_FOUND_HELP = (" If you recently deleted this key you may be able to "
                  "recover it using the correct recovery command. For help "
                  "resolving this issue, please see https://go.microsoft.com/"
                  "fwlink/?linkid=2125182")


class AzError(Exception):
    """A Key Vault error: HTTP status, error.code, message and the optional
    innererror.code."""

    def __init__(self, status, code, message, inner=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.inner:
            err["innererror"] = {"code": self.inner}
        return json.dumps({"error": err})


def bad(message):
    return AzError(400, "BadParameter", message)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(value, member):
    """bytes of a base64url member (padding tolerated), or BadParameter."""
    if not isinstance(value, str) or not B64URL_RE.match(value):
        raise bad("The parameter '%s' is not valid base64url." % member)
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise bad("The parameter '%s' is not valid base64url." % member)


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")


def family(kty):
    if kty.startswith("oct"):
        return "oct"
    return "EC" if kty.startswith("EC") else "RSA"


def crv_of(key):
    """The JWK crv of an EC private key."""
    for crv, (curve, _, _) in CURVES.items():
        if isinstance(key.curve, curve):
            return crv
    raise ValueError("unknown curve")


class AzState:
    """Vaults, keys, principals, tokens, grants and identities; one lock.
    Saved to DIR/azure_state.json after every change."""

    TABLES = ("vaults", "keys", "principals", "tokens", "grants",
              "identities", "settings")

    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.vaults = {}  # name -> {kind, tenant, hosts}
        self.keys = {}  # "vault/name" -> {"versions": [version...]}
        # client_id -> {tenant, object_id, secret, certificates: [{pem,
        # x5t, x5t_s256}], federated: [token...]}
        self.principals = {}
        self.tokens = {}  # token -> {principal, resource, tenant, expires}
        self.grants = {}  # principal -> {"vault" or "vault/key": [perm]}
        # "system": {principal}, "user": [{client_id, object_id,
        # msi_res_id}], "imds_enabled", "app_service_header"
        self.identities = {"system": None, "user": [], "imds_enabled": True,
                           "app_service_header": None}
        self.settings = {"login_host": "login.microsoftonline.com",
                         "token_ttl": 3600}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.__dict__.update(json.load(f))

    def save(self):
        with self.lock:
            data = {k: getattr(self, k) for k in self.TABLES}
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)


class AzKeys:
    """Key life cycle and cryptography; vault names are the emulator's."""

    def __init__(self, state, clock):
        self.state = state
        self.clock = clock

    # -- vaults -------------------------------------------------------------
    def create_vault(self, name, kind, tenant, hosts):
        if kind not in RESOURCES:
            raise ValueError("kind must be vault or hsm")
        if not NAME_RE.match(name or ""):
            raise ValueError("invalid vault name")
        if not isinstance(hosts, list) or not all(
                isinstance(h, str) for h in hosts):
            raise ValueError("hosts must be a list of host names")
        with self.state.lock:
            for other, v in self.state.vaults.items():
                taken = set(v["hosts"]) & set(hosts)
                if other != name and taken:
                    raise ValueError("host %s already names vault %s"
                                     % (sorted(taken)[0], other))
            self.state.vaults[name] = {"kind": kind, "tenant": str(tenant),
                                       "hosts": hosts}
            self.state.save()
        return dict(self.state.vaults[name], name=name)

    def vault(self, name):
        with self.state.lock:
            v = self.state.vaults.get(name)
        if v is None:
            raise AzError(404, "VaultNotFound", "No vault named %s is "
                          "served here." % name)
        return v

    def vault_by_host(self, host):
        with self.state.lock:
            for name, v in self.state.vaults.items():
                if host in v["hosts"]:
                    return name
        return None

    # -- keys ---------------------------------------------------------------
    def _versions(self, vault, name):
        rec = self.state.keys.get(vault + "/" + name)
        if rec is None or not rec["versions"]:
            raise AzError(404, "KeyNotFound", "A key with (name/id) %s was "
                          "not found in this key vault.%s"
                          % (name, NOT_FOUND_HELP))
        return rec["versions"]

    def version(self, vault, name, version):
        """The version dict (None or "": the current one)."""
        versions = self._versions(vault, name)
        if not version:
            return versions[-1]
        for ver in versions:
            if ver["id"] == version:
                return ver
        raise AzError(404, "KeyNotFound", "A key with (name/id) %s/%s was "
                      "not found in this key vault.%s"
                      % (name, version, NOT_FOUND_HELP))

    @staticmethod
    def _ops(ops, kty):
        if ops is None:
            return list(DEFAULT_OPS[family(kty)])
        if not isinstance(ops, list) or not all(o in ALL_OPS for o in ops):
            raise bad("key_ops must be a list of: %s." % ", ".join(ALL_OPS))
        return list(ops)

    def _attributes(self, attrs, ver):
        if attrs is None:
            return
        if not isinstance(attrs, dict):
            raise bad("attributes must be an object.")
        if "enabled" in attrs and attrs["enabled"] is not None:
            if not isinstance(attrs["enabled"], bool):
                raise bad("attributes.enabled must be a boolean.")
            ver["enabled"] = attrs["enabled"]
        for name in ("exp", "nbf"):
            if name in attrs:
                value = attrs[name]
                if value is not None and (isinstance(value, bool) or
                                          not isinstance(value, int)):
                    raise bad("attributes.%s must be a number of seconds "
                              "since 1970-01-01 UTC." % name)
                ver[name] = value

    def _add_version(self, vault, name, kty, material, body):
        if not NAME_RE.match(name or ""):
            raise bad("The request URI contains an invalid name: %s" % name)
        now = int(self.clock.now())
        ver = {"id": uuid.uuid4().hex, "kty": kty, "material": material,
               "key_ops": self._ops(body.get("key_ops"), kty),
               "enabled": True, "exp": None, "nbf": None, "created": now,
               "updated": now, "tags": body.get("tags") or {}}
        self._attributes(body.get("attributes"), ver)
        with self.state.lock:
            rec = self.state.keys.setdefault(vault + "/" + name,
                                             {"versions": []})
            rec["versions"].append(ver)
            self.state.save()
        return ver

    def create(self, vault, name, body):
        """POST /keys/<name>/create: a new key, or a new version of it."""
        kind = self.vault(vault)["kind"]
        kty = body.get("kty")
        if kty not in KTYS[kind]:
            raise bad("The key type %s is not supported by this %s; use one "
                      "of: %s." % (kty, "managed HSM" if kind == "hsm"
                                   else "key vault", ", ".join(KTYS[kind])))
        size = body.get("key_size")
        if family(kty) == "RSA":
            size = 2048 if size is None else size
            if size not in RSA_SIZES:
                raise bad("RSA key size must be 2048, 3072 or 4096.")
            if body.get("public_exponent", 65537) != 65537:
                raise bad("The public exponent must be 65537.")
            key = rsa.generate_private_key(65537, size)
            material = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
        elif family(kty) == "EC":
            crv = body.get("crv") or "P-256"
            if crv not in CURVES:
                raise bad("The curve %s is not supported; use one of: %s."
                          % (crv, ", ".join(CURVES)))
            key = ec.generate_private_key(CURVES[crv][0]())
            material = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
        else:
            size = 256 if size is None else size
            if size not in OCT_SIZES:
                raise bad("AES key size must be 128, 192 or 256.")
            material = os.urandom(size // 8).hex()
        return self._add_version(vault, name, kty, material, body)

    def rotate(self, vault, name):
        """POST /keys/<name>/rotate: a new version like the current one."""
        cur = self.version(vault, name, None)
        body = {"kty": cur["kty"], "key_ops": cur["key_ops"],
                "tags": cur["tags"]}
        if family(cur["kty"]) == "RSA":
            body["key_size"] = self.private(cur).key_size
        elif family(cur["kty"]) == "EC":
            body["crv"] = crv_of(self.private(cur))
        else:
            body["key_size"] = len(bytes.fromhex(cur["material"])) * 8
        return self.create(vault, name, body)

    def import_key(self, vault, name, body):
        """PUT /keys/<name>: a JWK with its private members."""
        kind = self.vault(vault)["kind"]
        jwk = body.get("key")
        if not isinstance(jwk, dict):
            raise bad("The parameter 'key' is required.")
        kty = jwk.get("kty")
        if kty in ("RSA", "RSA-HSM"):
            if kind == "hsm" or body.get("Hsm") or body.get("hsm"):
                kty = "RSA-HSM"
            material = self._rsa_from_jwk(jwk)
        elif kty in ("oct", "oct-HSM") and kind == "hsm":
            raw = unb64u(jwk.get("k"), "k")
            if len(raw) * 8 not in OCT_SIZES:
                raise bad("AES key size must be 128, 192 or 256.")
            kty, material = "oct-HSM", raw.hex()
        else:
            raise bad("The key type %s cannot be imported into this %s."
                      % (kty, "managed HSM" if kind == "hsm"
                         else "key vault"))
        if "key_ops" in jwk:
            body = dict(body, key_ops=jwk["key_ops"])
        return self._add_version(vault, name, kty, material, body)

    @staticmethod
    def _rsa_from_jwk(jwk):
        members = ("n", "e", "d", "p", "q", "dp", "dq", "qi")
        missing = [m for m in members if not jwk.get(m)]
        if missing:
            raise bad("The RSA key is missing the member(s): %s."
                      % ", ".join(missing))
        n, e, d, p, q, dp, dq, qi = (int.from_bytes(unb64u(jwk[m], m), "big")
                                     for m in members)
        if p * q != n or e != 65537 or n.bit_length() not in RSA_SIZES:
            raise bad("The RSA key is not valid: n must be p*q with 2048, "
                      "3072 or 4096 bits and e must be 65537.")
        if (d * e) % ((p - 1) * (q - 1) // _gcd(p - 1, q - 1)) != 1 or \
                dp != d % (p - 1) or dq != d % (q - 1) or (qi * q) % p != 1:
            raise bad("The RSA key is not valid: d, dp, dq or qi does not "
                      "match n and e.")
        key = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi,
                                    rsa.RSAPublicNumbers(e, n)).private_key()
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()

    def update(self, vault, name, version, body):
        """PATCH /keys/<name>/<version>: attributes, key_ops, tags."""
        with self.state.lock:
            ver = self.version(vault, name, version)
            new = dict(ver)
            self._attributes(body.get("attributes"), new)
            if "key_ops" in body:
                new["key_ops"] = self._ops(body["key_ops"], ver["kty"])
            if "tags" in body:
                new["tags"] = body["tags"] or {}
            new["updated"] = int(self.clock.now())
            ver.update(new)
            self.state.save()
            return ver

    # -- views --------------------------------------------------------------
    @staticmethod
    def private(ver):
        return serialization.load_pem_private_key(ver["material"].encode(),
                                                  None)

    def bundle(self, base, name, ver):
        """The KeyBundle JSON of a version (kid under base)."""
        key = {"kid": "%s/keys/%s/%s" % (base, name, ver["id"]),
               "kty": ver["kty"], "key_ops": list(ver["key_ops"])}
        if family(ver["kty"]) == "RSA":
            pub = self.private(ver).public_key().public_numbers()
            key["n"] = b64u(int_bytes(pub.n))
            key["e"] = b64u(int_bytes(pub.e))
        elif family(ver["kty"]) == "EC":
            priv = self.private(ver)
            crv = crv_of(priv)
            size = CURVES[crv][1]
            pub = priv.public_key().public_numbers()
            key.update({"crv": crv, "x": b64u(pub.x.to_bytes(size, "big")),
                        "y": b64u(pub.y.to_bytes(size, "big"))})
        attrs = {"enabled": ver["enabled"]}
        for k in ("nbf", "exp"):
            if ver[k] is not None:
                attrs[k] = ver[k]
        attrs.update({"created": ver["created"], "updated": ver["updated"],
                      "recoveryLevel": "Recoverable+Purgeable",
                      "recoverableDays": 90, "exportable": False})
        out = {"key": key, "attributes": attrs}
        if ver["tags"]:
            out["tags"] = ver["tags"]
        return out

    # -- state checks -------------------------------------------------------
    def check_usable(self, ver, op):
        """Key Vault's refusals for a disabled, expired or not yet valid
        key. op: get, wrapKey, unwrapKey, encrypt, decrypt, sign, verify.
        An expired or not yet valid key still decrypts, unwraps and
        verifies (what it protected stays readable); it no longer
        encrypts, wraps or signs."""
        if not ver["enabled"]:
            raise AzError(403, "Forbidden", "Operation %s is not allowed on "
                          "a disabled key." % op, "KeyDisabled")
        if op not in ("encrypt", "wrapKey", "sign"):
            return
        now = self.clock.now()
        if ver["exp"] is not None and now >= ver["exp"]:
            raise AzError(403, "Forbidden", "Operation %s is not allowed on "
                          "an expired key." % op, "KeyExpired")
        if ver["nbf"] is not None and now < ver["nbf"]:
            raise AzError(403, "Forbidden", "Operation %s is not allowed on "
                          "a key that is not yet valid." % op,
                          "KeyNotYetValid")

    @staticmethod
    def check_op(ver, op):
        if op not in ver["key_ops"]:
            raise AzError(403, "Forbidden", "Operation %s is not permitted "
                          "on this key." % op, "KeyOperationForbidden")

    # -- cryptography -------------------------------------------------------
    def crypt(self, ver, op, body):
        """wrapKey/unwrapKey/encrypt/decrypt of a KeyOperationsParameters
        body; the KeyOperationResult members other than kid."""
        alg = body.get("alg")
        if not isinstance(alg, str) or not alg:
            raise bad("The parameter 'alg' is required.")
        if "value" not in body:
            raise bad("The parameter 'value' is required.")
        value = unb64u(body.get("value"), "value")
        if op in ("sign", "verify"):
            return self._signature(ver, op, alg, value, body)
        if family(ver["kty"]) == "EC":
            raise self._alg_refused(alg, ver["kty"])
        if family(ver["kty"]) == "RSA":
            return self._rsa(ver, op, alg, value)
        material = bytes.fromhex(ver["material"])
        if op in ("wrapKey", "unwrapKey"):
            return self._kw(material, op, alg, value)
        return self._gcm(material, op, alg, value, body)

    def _alg_refused(self, alg, kty):
        return bad("The algorithm %s is not supported for key type %s."
                   % (alg, kty))

    def _rsa(self, ver, op, alg, value):
        if alg not in RSA_ALGS:
            raise self._alg_refused(alg, ver["kty"])
        if alg == "RSA1_5":
            pad = padding.PKCS1v15()
        else:
            h = hashes.SHA1() if alg == "RSA-OAEP" else hashes.SHA256()
            pad = padding.OAEP(padding.MGF1(h), h, None)
        key = self.private(ver)
        if op in ("wrapKey", "encrypt"):
            k = key.key_size // 8
            limit = k - 11 if alg == "RSA1_5" else \
                k - 2 * (20 if alg == "RSA-OAEP" else 32) - 2
            if len(value) > limit:
                raise bad("The value is too long for %s with a %d-bit key "
                          "(at most %d bytes)." % (alg, key.key_size, limit))
            return {"value": b64u(key.public_key().encrypt(value, pad))}
        if len(value) != key.key_size // 8:
            raise bad("The ciphertext length must be %d bytes for this key."
                      % (key.key_size // 8))
        try:
            return {"value": b64u(key.decrypt(value, pad))}
        except ValueError:
            raise bad("The ciphertext does not decrypt under this key.")

    def _signature(self, ver, op, alg, value, body):
        """sign: {"value": signature}; verify: {"value": bool}."""
        if family(ver["kty"]) == "oct":
            raise self._alg_refused(alg, ver["kty"])
        key = self.private(ver)
        h, pad = _sig_alg(ver["kty"], alg, key)
        digest = value if op == "sign" else unb64u(body.get("digest"),
                                                   "digest")
        if len(digest) != h.digest_size:
            raise bad("The digest must be %d bytes for %s; it is %d."
                      % (h.digest_size, alg, len(digest)))
        if pad is None:
            return self._ecdsa(key, op, h, digest, value)
        if op == "sign":
            return {"value": b64u(key.sign(digest, pad, Prehashed(h)))}
        try:
            key.public_key().verify(value, digest, pad, Prehashed(h))
            return {"value": True}
        except InvalidSignature:
            return {"value": False}

    @staticmethod
    def _ecdsa(key, op, h, digest, value):
        size = CURVES[crv_of(key)][1]
        algo = ec.ECDSA(Prehashed(h))
        if op == "sign":
            r, s = decode_dss_signature(key.sign(digest, algo))
            return {"value": b64u(r.to_bytes(size, "big") +
                                  s.to_bytes(size, "big"))}
        if len(value) != 2 * size:
            return {"value": False}
        der = encode_dss_signature(int.from_bytes(value[:size], "big"),
                                   int.from_bytes(value[size:], "big"))
        try:
            key.public_key().verify(der, digest, algo)
            return {"value": True}
        except InvalidSignature:
            return {"value": False}

    @staticmethod
    def _kw(material, op, alg, value):
        if alg not in KW_ALGS:
            raise bad("The algorithm %s is not supported for key type "
                      "oct-HSM." % alg)
        if KW_ALGS[alg] is not None and KW_ALGS[alg] != len(material):
            raise bad("The algorithm %s needs a %d-bit key; this key has %d "
                      "bits." % (alg, KW_ALGS[alg] * 8, len(material) * 8))
        pad = alg == "CKM_AES_KEY_WRAP_PAD"
        if op == "wrapKey":
            if not pad and (len(value) < 16 or len(value) % 8):
                raise bad("The value to wrap with %s must be a multiple of "
                          "8 bytes, at least 16." % alg)
            if pad and not value:
                raise bad("The value to wrap must not be empty.")
            fn = aes_key_wrap_with_padding if pad else aes_key_wrap
            return {"value": b64u(fn(material, value))}
        try:
            fn = aes_key_unwrap_with_padding if pad else aes_key_unwrap
            return {"value": b64u(fn(material, value))}
        except (InvalidUnwrap, ValueError):
            raise bad("The ciphertext does not unwrap under this key.")

    @staticmethod
    def _gcm(material, op, alg, value, body):
        if alg not in GCM_ALGS:
            raise bad("The algorithm %s is not supported for key type "
                      "oct-HSM." % alg)
        if GCM_ALGS[alg] != len(material):
            raise bad("The algorithm %s needs a %d-bit key; this key has %d "
                      "bits." % (alg, GCM_ALGS[alg] * 8, len(material) * 8))
        aad = unb64u(body["aad"], "aad") if body.get("aad") else b""
        gcm = AESGCM(material)
        if op == "encrypt":
            iv = unb64u(body["iv"], "iv") if body.get("iv") else \
                os.urandom(12)
            if len(iv) != 12:
                raise bad("The parameter 'iv' must be 12 bytes.")
            sealed = gcm.encrypt(iv, value, aad)
            out = {"value": b64u(sealed[:-16]), "iv": b64u(iv),
                   "tag": b64u(sealed[-16:])}
            if aad:
                out["aad"] = b64u(aad)
            return out
        for member in ("iv", "tag"):
            if not body.get(member):
                raise bad("The parameter '%s' is required for %s."
                          % (member, alg))
        iv, tag = unb64u(body["iv"], "iv"), unb64u(body["tag"], "tag")
        if len(iv) != 12 or len(tag) != 16:
            raise bad("The parameter 'iv' must be 12 bytes and 'tag' 16.")
        try:
            return {"value": b64u(gcm.decrypt(iv, value + tag, aad))}
        except InvalidTag:
            raise bad("The ciphertext, iv, aad or tag does not decrypt "
                      "under this key.")


def _sig_alg(kty, alg, key):
    """(hash, padding or None) of a signing algorithm for the key, or
    BadParameter: RS*/PS* on RSA keys, ES* on the curve it names."""
    fam = family(kty)
    suffix = alg[2:]
    if fam == "RSA" and alg[:2] in ("RS", "PS") and \
            suffix in ("256", "384", "512"):
        h = SIGN_HASHES[suffix]()
        if alg[:2] == "RS":
            return h, padding.PKCS1v15()
        return h, padding.PSS(padding.MGF1(h), h.digest_size)
    if fam == "EC" and alg[:2] == "ES" and suffix in SIGN_HASHES and \
            CURVES[crv_of(key)][2] == alg:
        return SIGN_HASHES[suffix](), None
    raise bad("The algorithm %s is not supported for key type %s%s."
              % (alg, kty, " on curve " + crv_of(key) if fam == "EC"
                 else ""))


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a
