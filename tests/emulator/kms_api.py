# SPDX-License-Identifier: Apache-2.0
# KMS emulator, operation layer: the TrentService operations on the key store,
# with AWS's validation, key-state, policy and encryption-context rules.
"""AWS KMS operations (JSON 1.1 request members in, response members out).

Each operation takes the decoded JSON body, the authenticated caller and the
exchange record (to note the key it touched) and returns the response
object, or None for an empty 200 answer; failures raise store.KmsError.
"""

import base64
import binascii
import os

from store import KmsError
from kms_asym import AsymApi, check_spec, is_asymmetric
from kms_import import ImportApi

ALGORITHM = "SYMMETRIC_DEFAULT"
MAX_PLAINTEXT = 4096
MAX_CIPHERTEXT = 6144


def _length_error(member, limit, above):
    rel = "less than or equal to" if above else "greater than or equal to"
    return KmsError("ValidationException",
                    "1 validation error detected: Value at '%s' failed to "
                    "satisfy constraint: Member must have length %s %d"
                    % (member, rel, limit))


def _blob(params, name, lo, hi):
    value = params.get(name)
    member = name[0].lower() + name[1:]
    if value is None:
        raise KmsError("ValidationException",
                       "1 validation error detected: Value null at '%s' "
                       "failed to satisfy constraint: Member must not be "
                       "null" % member)
    if not isinstance(value, str):
        raise KmsError("SerializationException",
                       "STRING_VALUE can not be converted to a Blob")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KmsError("SerializationException",
                       "Base64 encoded blob could not be decoded") from None
    if len(data) < lo:
        raise _length_error(member, lo, False)
    if len(data) > hi:
        raise _length_error(member, hi, True)
    return data


def _context(params, name):
    ctx = params.get(name)
    if ctx is None:
        return {}
    if not isinstance(ctx, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in ctx.items()):
        raise KmsError("SerializationException",
                       "Unexpected value for %s: expected a map of strings"
                       % name)
    return ctx


def _b64(data):
    return base64.b64encode(data).decode("ascii")


class KmsApi:
    """The operations; store holds keys, clock gives the emulator's time."""

    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.ops = {
            "Encrypt": self.encrypt,
            "Decrypt": self.decrypt,
            "ReEncrypt": self.re_encrypt,
            "GenerateDataKey": self.generate_data_key,
            "GenerateDataKeyWithoutPlaintext": self.generate_data_key_wp,
            "DescribeKey": self.describe_key,
            "CreateKey": self.create_key,
            "EnableKey": self.enable_key,
            "DisableKey": self.disable_key,
            "ScheduleKeyDeletion": self.schedule_key_deletion,
            "CancelKeyDeletion": self.cancel_key_deletion,
            "CreateAlias": self.create_alias,
            "UpdateAlias": self.update_alias,
            "RotateKeyOnDemand": self.rotate_key_on_demand,
            "EnableKeyRotation": self.enable_key_rotation,
            "DisableKeyRotation": self.disable_key_rotation,
            "GetKeyRotationStatus": self.get_key_rotation_status,
            "ListKeyRotations": self.list_key_rotations,
        }
        self.importer = ImportApi(self)
        self.ops.update(self.importer.ops())
        self.asym = AsymApi(self)
        self.ops.update(self.asym.ops())

    blob = staticmethod(_blob)

    # -- shared rules -------------------------------------------------------
    def _key(self, params, name, ex):
        key = self.store.resolve(params.get(name))
        ex.key_id = ex.key_id or key.key_id
        return key

    def _authorize(self, key, caller, action):
        allow = key.allow
        if allow is None:
            return
        names = {caller.access_key_id, caller.principal}
        if names & set(allow):
            return
        if caller.token:
            who = "arn:aws:sts::%s:assumed-role/%s/emulator" % (
                self.store.account, caller.principal)
        else:
            who = "arn:aws:iam::%s:user/%s" % (self.store.account,
                                               caller.principal)
        raise KmsError("AccessDeniedException",
                       "User: %s is not authorized to perform: kms:%s on "
                       "resource: %s because no resource-based policy allows "
                       "the kms:%s action" % (who, action,
                                              self.store.key_arn(key.key_id),
                                              action))

    def _usable(self, key):
        arn = self.store.key_arn(key.key_id)
        if key.state == "Disabled":
            raise KmsError("DisabledException", "%s is disabled." % arn)
        if key.state == "PendingDeletion":
            raise KmsError("KMSInvalidStateException",
                           "%s is pending deletion." % arn)
        if key.state == "PendingImport":
            raise KmsError("KMSInvalidStateException",
                           "%s is pending import." % arn)

    def _use(self, key, caller, action):
        self._authorize(key, caller, action)
        self._usable(key)

    def _symmetric(self, key, params, action):
        """Refuses an asymmetric key in a symmetric-only operation, and an
        asymmetric algorithm on a symmetric key."""
        arn = self.store.key_arn(key.key_id)
        if is_asymmetric(key):
            raise KmsError("InvalidKeyUsageException",
                           "%s key usage is %s which is not valid for %s."
                           % (arn, key.key_usage, action))
        alg = params.get("EncryptionAlgorithm")
        if alg is not None and alg != ALGORITHM:
            raise KmsError("InvalidKeyUsageException",
                           "Algorithm %s is incompatible with key spec "
                           "SYMMETRIC_DEFAULT." % alg)

    def _open_blob(self, params, key_member, ctx_member, caller, action, ex):
        """Resolve, check and decrypt CiphertextBlob; returns (key, pt)."""
        wanted = None
        if params.get(key_member) is not None:
            wanted = self._key(params, key_member, ex)
        if wanted is not None and is_asymmetric(wanted):
            raise KmsError("UnsupportedOperationException",
                           "The emulator does not re-encrypt with "
                           "asymmetric keys.")
        blob = _blob(params, "CiphertextBlob", 1, MAX_CIPHERTEXT)
        key = self.store.blob_key(blob)
        ex.key_id = key.key_id
        self._symmetric(key, params, action)
        if wanted is not None and wanted.key_id != key.key_id:
            raise KmsError("IncorrectKeyException",
                           "The key ID in the request does not identify a "
                           "CMK that can perform this operation.")
        self._use(key, caller, action)
        return key, self.store.open(key, blob, _context(params, ctx_member))

    def _data_key_length(self, params):
        nbytes, spec = params.get("NumberOfBytes"), params.get("KeySpec")
        if (nbytes is None) == (spec is None):
            raise KmsError("ValidationException",
                           "Please specify either number of bytes or key "
                           "spec.")
        if spec is not None:
            lengths = {"AES_256": 32, "AES_128": 16}
            if spec not in lengths:
                raise KmsError("ValidationException",
                               "1 validation error detected: Value '%s' at "
                               "'keySpec' failed to satisfy constraint: "
                               "Member must satisfy enum value set: "
                               "[AES_256, AES_128]" % spec)
            return lengths[spec]
        if not isinstance(nbytes, int) or isinstance(nbytes, bool):
            raise KmsError("SerializationException",
                           "NumberOfBytes must be an integer")
        if not 1 <= nbytes <= 1024:
            rel = "less" if nbytes > 1024 else "greater"
            raise KmsError("ValidationException",
                           "1 validation error detected: Value '%d' at "
                           "'numberOfBytes' failed to satisfy constraint: "
                           "Member must have value %s than or equal to %d"
                           % (nbytes, rel, 1024 if nbytes > 1024 else 1))
        return nbytes

    # -- cryptographic operations -------------------------------------------
    def encrypt(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        if is_asymmetric(key):
            return self.asym.encrypt(key, params, caller)
        self._symmetric(key, params, "Encrypt")
        plaintext = _blob(params, "Plaintext", 1, MAX_PLAINTEXT)
        ctx = _context(params, "EncryptionContext")
        self._use(key, caller, "Encrypt")
        blob = self.store.seal(key, plaintext, ctx)
        return {"CiphertextBlob": _b64(blob),
                "KeyId": self.store.key_arn(key.key_id),
                "EncryptionAlgorithm": ALGORITHM}

    def decrypt(self, params, caller, ex):
        if params.get("KeyId") is not None:
            key = self._key(params, "KeyId", ex)
            if is_asymmetric(key):
                return self.asym.decrypt(key, params, caller)
        key, plaintext = self._open_blob(params, "KeyId", "EncryptionContext",
                                         caller, "Decrypt", ex)
        return {"KeyId": self.store.key_arn(key.key_id),
                "Plaintext": _b64(plaintext),
                "EncryptionAlgorithm": ALGORITHM}

    def re_encrypt(self, params, caller, ex):
        dest = self.store.resolve(params.get("DestinationKeyId"))
        if is_asymmetric(dest):
            raise KmsError("UnsupportedOperationException",
                           "The emulator does not re-encrypt with "
                           "asymmetric keys.")
        src, plaintext = self._open_blob(
            params, "SourceKeyId", "SourceEncryptionContext", caller,
            "ReEncryptFrom", ex)
        self._use(dest, caller, "ReEncryptTo")
        ctx = _context(params, "DestinationEncryptionContext")
        blob = self.store.seal(dest, plaintext, ctx)
        return {"CiphertextBlob": _b64(blob),
                "SourceKeyId": self.store.key_arn(src.key_id),
                "KeyId": self.store.key_arn(dest.key_id),
                "SourceEncryptionAlgorithm": ALGORITHM,
                "DestinationEncryptionAlgorithm": ALGORITHM}

    def _generate(self, params, caller, ex, action):
        key = self._key(params, "KeyId", ex)
        self._symmetric(key, {}, action)
        length = self._data_key_length(params)
        ctx = _context(params, "EncryptionContext")
        self._use(key, caller, action)
        plaintext = os.urandom(length)
        blob = self.store.seal(key, plaintext, ctx)
        return plaintext, {"CiphertextBlob": _b64(blob),
                           "KeyId": self.store.key_arn(key.key_id)}

    def generate_data_key(self, params, caller, ex):
        plaintext, out = self._generate(params, caller, ex, "GenerateDataKey")
        out["Plaintext"] = _b64(plaintext)
        return out

    def generate_data_key_wp(self, params, caller, ex):
        return self._generate(params, caller, ex,
                              "GenerateDataKeyWithoutPlaintext")[1]

    # -- key management -----------------------------------------------------
    def describe_key(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, "DescribeKey")
        return {"KeyMetadata": self.store.metadata(key)}

    def create_key(self, params, caller, ex):
        usage = params.get("KeyUsage", "ENCRYPT_DECRYPT")
        spec = params.get("KeySpec",
                          params.get("CustomerMasterKeySpec",
                                     "SYMMETRIC_DEFAULT"))
        check_spec(spec, usage)
        desc = params.get("Description", "")
        if not isinstance(desc, str) or len(desc) > 8192:
            raise _length_error("description", 8192, True)
        origin = params.get("Origin", "AWS_KMS")
        if origin not in ("AWS_KMS", "EXTERNAL"):
            raise KmsError("UnsupportedOperationException",
                           "The emulator only creates keys with Origin "
                           "AWS_KMS or EXTERNAL.")
        if origin == "EXTERNAL" and spec != "SYMMETRIC_DEFAULT":
            raise KmsError("UnsupportedOperationException",
                           "The emulator imports material into "
                           "SYMMETRIC_DEFAULT keys only.")
        key = self.store.create_key(desc, None, self.clock.now(), origin,
                                    spec, usage)
        ex.key_id = key.key_id
        return {"KeyMetadata": self.store.metadata(key)}

    def _toggle(self, params, caller, ex, action, state):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, action)
        if key.state in ("PendingDeletion", "PendingImport"):
            raise KmsError("KMSInvalidStateException", "%s is pending %s."
                           % (self.store.key_arn(key.key_id),
                              "deletion" if key.state == "PendingDeletion"
                              else "import"))
        self.store.set_state(key, state)

    def enable_key(self, params, caller, ex):
        self._toggle(params, caller, ex, "EnableKey", "Enabled")

    def disable_key(self, params, caller, ex):
        self._toggle(params, caller, ex, "DisableKey", "Disabled")

    def schedule_key_deletion(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, "ScheduleKeyDeletion")
        days = params.get("PendingWindowInDays", 30)
        if not isinstance(days, int) or not 7 <= days <= 30:
            raise KmsError("ValidationException",
                           "1 validation error detected: Value '%s' at "
                           "'pendingWindowInDays' failed to satisfy "
                           "constraint: Member must have value between 7 and "
                           "30" % days)
        if key.state == "PendingDeletion":
            raise KmsError("KMSInvalidStateException", "%s is pending "
                           "deletion." % self.store.key_arn(key.key_id))
        self.store.set_state(key, "PendingDeletion", days, self.clock.now())
        return {"KeyId": self.store.key_arn(key.key_id),
                "DeletionDate": key.deletion_date,
                "KeyState": "PendingDeletion",
                "PendingWindowInDays": days}

    def cancel_key_deletion(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, "CancelKeyDeletion")
        if key.state != "PendingDeletion":
            raise KmsError("KMSInvalidStateException", "%s is not pending "
                           "deletion." % self.store.key_arn(key.key_id))
        # A key without material (EXTERNAL) goes back to waiting for it.
        self.store.set_state(key, "Disabled" if key.material is not None
                             else "PendingImport")
        return {"KeyId": self.store.key_arn(key.key_id)}

    def create_alias(self, params, caller, ex):
        target = params.get("TargetKeyId")
        if isinstance(target, str) and "alias/" not in target:
            key = self.store.resolve(target)
            ex.key_id = key.key_id
            self._authorize(key, caller, "CreateAlias")
        self.store.create_alias(params.get("AliasName"), target)

    def update_alias(self, params, caller, ex):
        target = params.get("TargetKeyId")
        if isinstance(target, str) and "alias/" not in target:
            key = self.store.resolve(target)
            ex.key_id = key.key_id
            self._authorize(key, caller, "UpdateAlias")
        self.store.update_alias(params.get("AliasName"), target)

    # -- rotation of the key material ---------------------------------------
    def rotate_key_on_demand(self, params, caller, ex):
        """New backing material at once; blobs name their material
        version, so every ciphertext made before keeps decrypting."""
        key = self._key(params, "KeyId", ex)
        self._use(key, caller, "RotateKeyOnDemand")
        if is_asymmetric(key):
            raise KmsError("UnsupportedOperationException",
                           "%s is not a symmetric encryption key."
                           % self.store.key_arn(key.key_id))
        self.store.rotate_material(key, "ON_DEMAND", self.clock.now())
        return {"KeyId": self.store.key_arn(key.key_id)}

    def enable_key_rotation(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        period = params.get("RotationPeriodInDays", 365)
        if (not isinstance(period, int) or isinstance(period, bool)
                or not 90 <= period <= 2560):
            raise KmsError("ValidationException",
                           "1 validation error detected: Value '%s' at "
                           "'rotationPeriodInDays' failed to satisfy "
                           "constraint: Member must have value between 90 "
                           "and 2560" % period)
        self._use(key, caller, "EnableKeyRotation")
        self.store.set_rotation(key, period, self.clock.now())

    def disable_key_rotation(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._use(key, caller, "DisableKeyRotation")
        self.store.set_rotation(key, None, self.clock.now())

    def get_key_rotation_status(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, "GetKeyRotationStatus")
        enabled = (key.rotation_period is not None
                   and key.state != "PendingDeletion")
        out = {"KeyRotationEnabled": enabled,
               "KeyId": self.store.key_arn(key.key_id)}
        if enabled:
            out["RotationPeriodInDays"] = key.rotation_period
            out["NextRotationDate"] = key.next_rotation
        return out

    def list_key_rotations(self, params, caller, ex):
        key = self._key(params, "KeyId", ex)
        self._authorize(key, caller, "ListKeyRotations")
        arn = self.store.key_arn(key.key_id)
        return {"Rotations": [{"KeyId": arn, "RotationDate": r["date"],
                               "RotationType": r["type"]}
                              for r in key.rotations],
                "Truncated": False}
