# SPDX-License-Identifier: Apache-2.0
# KMS emulator, Google Cloud KMS asymmetric keys: the algorithms of
# ASYMMETRIC_SIGN and ASYMMETRIC_DECRYPT keys, their material, the public
# key, asymmetricSign and asymmetricDecrypt with Google's checks.
"""Asymmetric CryptoKeyVersions of the Cloud KMS emulation.

A version's material is its private key (PKCS#8 PEM, unencrypted: test
material only). ALGORITHMS says, per CryptoKeyVersionAlgorithm name, the
purpose, key type, size or curve, hash and padding, as Google's
algorithm list does (https://cloud.google.com/kms/docs/algorithms).
Signing takes a digest ({"sha256"|"sha384"|"sha512": bytes}) of the
algorithm's own hash, or data (hashed here with it); RSA-PSS uses a salt
as long as the hash. Decryption is RSAES-OAEP with the algorithm's hash
for OAEP and MGF1 and no label.
"""

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256,
          "sha384": hashes.SHA384, "sha512": hashes.SHA512}
CURVES = {"P256": ec.SECP256R1, "P384": ec.SECP384R1,
          "SECP256K1": ec.SECP256K1}
# name -> (purpose, "rsa"|"ec", bits or curve, hash, padding)
ALGORITHMS = {}
for _bits in (2048, 3072, 4096):
    for _pad in ("PSS", "PKCS1"):
        ALGORITHMS["RSA_SIGN_%s_%d_SHA256" % (_pad, _bits)] = (
            "ASYMMETRIC_SIGN", "rsa", _bits, "sha256", _pad)
    ALGORITHMS["RSA_DECRYPT_OAEP_%d_SHA256" % _bits] = (
        "ASYMMETRIC_DECRYPT", "rsa", _bits, "sha256", "OAEP")
    ALGORITHMS["RSA_DECRYPT_OAEP_%d_SHA1" % _bits] = (
        "ASYMMETRIC_DECRYPT", "rsa", _bits, "sha1", "OAEP")
    ALGORITHMS["RSA_SIGN_RAW_PKCS1_%d" % _bits] = (
        "ASYMMETRIC_SIGN", "rsa", _bits, None, "RAW_PKCS1")
ALGORITHMS.update({
    "RSA_SIGN_PSS_4096_SHA512": ("ASYMMETRIC_SIGN", "rsa", 4096, "sha512",
                                 "PSS"),
    "RSA_SIGN_PKCS1_4096_SHA512": ("ASYMMETRIC_SIGN", "rsa", 4096, "sha512",
                                   "PKCS1"),
    "RSA_DECRYPT_OAEP_4096_SHA512": ("ASYMMETRIC_DECRYPT", "rsa", 4096,
                                     "sha512", "OAEP"),
    "EC_SIGN_P256_SHA256": ("ASYMMETRIC_SIGN", "ec", "P256", "sha256", None),
    "EC_SIGN_P384_SHA384": ("ASYMMETRIC_SIGN", "ec", "P384", "sha384", None),
    "EC_SIGN_SECP256K1_SHA256": ("ASYMMETRIC_SIGN", "ec", "SECP256K1",
                                 "sha256", None),
})
# google.cloud.kms.v1 CryptoKeyVersionAlgorithm numbers (resources.proto)
ALGORITHM_NUMBERS = {
    "GOOGLE_SYMMETRIC_ENCRYPTION": 1,
    "RSA_SIGN_PSS_2048_SHA256": 2, "RSA_SIGN_PSS_3072_SHA256": 3,
    "RSA_SIGN_PSS_4096_SHA256": 4, "RSA_SIGN_PSS_4096_SHA512": 15,
    "RSA_SIGN_PKCS1_2048_SHA256": 5, "RSA_SIGN_PKCS1_3072_SHA256": 6,
    "RSA_SIGN_PKCS1_4096_SHA256": 7, "RSA_SIGN_PKCS1_4096_SHA512": 16,
    "RSA_SIGN_RAW_PKCS1_2048": 28, "RSA_SIGN_RAW_PKCS1_3072": 29,
    "RSA_SIGN_RAW_PKCS1_4096": 30,
    "RSA_DECRYPT_OAEP_2048_SHA256": 8, "RSA_DECRYPT_OAEP_3072_SHA256": 9,
    "RSA_DECRYPT_OAEP_4096_SHA256": 10, "RSA_DECRYPT_OAEP_4096_SHA512": 17,
    "RSA_DECRYPT_OAEP_2048_SHA1": 37, "RSA_DECRYPT_OAEP_3072_SHA1": 38,
    "RSA_DECRYPT_OAEP_4096_SHA1": 39,
    "EC_SIGN_P256_SHA256": 12, "EC_SIGN_P384_SHA384": 13,
    "EC_SIGN_SECP256K1_SHA256": 31,
}
PURPOSE_OF = {"ASYMMETRIC_SIGN": "sign", "ASYMMETRIC_DECRYPT": "decrypt"}


class AsymError(Exception):
    """(canonical status, message), turned into a GcpError by the caller."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def purpose_of(algorithm):
    spec = ALGORITHMS.get(algorithm)
    return spec[0] if spec else None


def generate(algorithm):
    """A new private key for algorithm, as PKCS#8 PEM text."""
    _, kind, size, _, _ = ALGORITHMS[algorithm]
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    else:
        key = ec.generate_private_key(CURVES[size]())
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _key(material):
    return serialization.load_pem_private_key(material.encode(), None)


def public_pem(material):
    """The SubjectPublicKeyInfo PEM of a version, as getPublicKey gives
    it."""
    return _key(material).public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(algorithm, material, digest, data):
    """The signature of digest ((member, bytes)) or data (bytes)."""
    purpose, kind, _, hname, pad = ALGORITHMS[algorithm]
    if purpose != "ASYMMETRIC_SIGN":
        raise AsymError("FAILED_PRECONDITION", "The CryptoKeyVersion's "
                        "purpose is %s, not ASYMMETRIC_SIGN." % purpose)
    if pad == "RAW_PKCS1":
        raise AsymError("UNIMPLEMENTED", "The emulator does not sign with "
                        "%s." % algorithm)
    if digest is not None:
        member, value = digest
        if member != hname:
            raise AsymError("INVALID_ARGUMENT", "The requested digest "
                            "algorithm %s does not match the key's "
                            "algorithm %s." % (member.upper(), algorithm))
        want = HASHES[hname].digest_size
        if len(value) != want:
            raise AsymError("INVALID_ARGUMENT", "provided digest has "
                            "incorrect size (got %d, want %d)"
                            % (len(value), want))
    else:
        h = hashes.Hash(HASHES[hname]())
        h.update(data)
        value = h.finalize()
    algo = Prehashed(HASHES[hname]())
    key = _key(material)
    if kind == "ec":
        return key.sign(value, ec.ECDSA(algo))
    if pad == "PSS":
        return key.sign(value, padding.PSS(
            mgf=padding.MGF1(HASHES[hname]()),
            salt_length=HASHES[hname].digest_size), algo)
    return key.sign(value, padding.PKCS1v15(), algo)


def decrypt(algorithm, material, ciphertext):
    """RSAES-OAEP decryption with the algorithm's hash, no label."""
    purpose, _, bits, hname, _ = ALGORITHMS[algorithm]
    if purpose != "ASYMMETRIC_DECRYPT":
        raise AsymError("FAILED_PRECONDITION", "The CryptoKeyVersion's "
                        "purpose is %s, not ASYMMETRIC_DECRYPT." % purpose)
    if len(ciphertext) != bits // 8:
        raise AsymError("INVALID_ARGUMENT", "The ciphertext must be %d "
                        "bytes long." % (bits // 8))
    h = HASHES[hname]
    try:
        return _key(material).decrypt(ciphertext, padding.OAEP(
            mgf=padding.MGF1(h()), algorithm=h(), label=None))
    except ValueError:
        raise AsymError("INVALID_ARGUMENT", "Decryption failed.")
