/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: public-key primitives for key pairs (RSA 2048..4096, EC P-256,
 * P-384, P-521) on the module's private OpenSSL context: keys from DER
 * SubjectPublicKeyInfo or PEM, their PKCS#11 attribute forms, signing
 * (the local provider), local verification and RSA-OAEP, and the format
 * conversions PKCS#11 needs (DigestInfo, ECDSA r || s, the digest an
 * ECDSA key of a fixed hash signs). cmk_mech_init first. Thread safe; an
 * EVP_PKEY is read-only once made.
 */
#ifndef CMK_MECH_PKEY_H
#define CMK_MECH_PKEY_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/pkcs11_compat.h"
#include "util/secmem.h"

/* Hash numbers: the same values as providers/asym.h enum cmk_hash. */
#define CMK_MD_SHA1 1
#define CMK_MD_SHA256 2
#define CMK_MD_SHA384 3
#define CMK_MD_SHA512 4
/* Signature schemes: as providers/asym.h enum cmk_sig_scheme. */
#define CMK_PK_RSA_PKCS1 1
#define CMK_PK_RSA_PSS 2
#define CMK_PK_ECDSA 3

/* Output bytes of hash md; 0 for an unknown one. */
size_t cmk_md_len(int md);

/* A private key from a PEM buffer (pkey_pem.c: the first unencrypted
 * PKCS#8, PKCS#1 or SEC 1 private key block; RSA, or EC on P-256, P-384
 * or P-521), read without leaving its DER anywhere but in secure memory.
 * CMK_E_CONFIG when it is none, CMK_E_NOMEM. */
cmk_err cmk_pkey_from_pem(const uint8_t *pem, size_t len,
                          EVP_PKEY **out) CMK_WUR;
/* A public key from DER SubjectPublicKeyInfo (the whole buffer).
 * CMK_E_BAD_RESPONSE when it is none. */
cmk_err cmk_pkey_from_spki(const uint8_t *spki, size_t len,
                           EVP_PKEY **out) CMK_WUR;
/* DER SubjectPublicKeyInfo of pk (public half). */
cmk_err cmk_pkey_spki(EVP_PKEY *pk, struct cmk_buf *out) CMK_WUR;
/* What pk is: *is_rsa, its bits (RSA modulus; EC order) and, EC, the
 * curve's NID (NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1).
 * CMK_E_CONFIG for any other key (another curve or type, an RSA size
 * other than 2048, 3072 or 4096). */
cmk_err cmk_pkey_kind(EVP_PKEY *pk, bool *is_rsa, unsigned *bits,
                      int *nid) CMK_WUR;
/* Attribute forms (PKCS#11 3.0 sections 2.1.2, 2.3.3): RSA modulus and
 * public exponent, big-endian without leading zeros; EC CKA_EC_PARAMS
 * (the DER OID of the named curve) and CKA_EC_POINT (DER OCTET STRING of
 * the uncompressed point). */
cmk_err cmk_pkey_rsa_parts(EVP_PKEY *pk, struct cmk_buf *n,
                           struct cmk_buf *e) CMK_WUR;
cmk_err cmk_pkey_ec_parts(EVP_PKEY *pk, struct cmk_buf *params,
                          struct cmk_buf *point) CMK_WUR;

/* Signature of digest (md's length) with scheme (CMK_PK_*; PSS: MGF1 of
 * md, salt = md's length). RSA: the modulus' length; ECDSA: DER. */
cmk_err cmk_pkey_sign(EVP_PKEY *pk, int scheme, int md, const uint8_t *digest,
                      size_t len, struct cmk_buf *sig) CMK_WUR;
/* Local verification; ECDSA sig as r || s (each half the curve's size).
 * CKR_OK, CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE,
 * CKR_HOST_MEMORY, CKR_GENERAL_ERROR. */
CK_RV cmk_pkey_verify(EVP_PKEY *pk, int scheme, int md, const uint8_t *digest,
                      size_t len, const uint8_t *sig, size_t sig_len);
/* RSAES-OAEP with md for OAEP and MGF1, empty label. encrypt:
 * CKR_DATA_LEN_RANGE for input over k - 2 hLen - 2; decrypt:
 * CKR_ENCRYPTED_DATA_INVALID (out in secure memory). */
CK_RV cmk_pkey_oaep_encrypt(EVP_PKEY *pk, int md, const uint8_t *in, size_t len,
                            struct cmk_buf *out);
CK_RV cmk_pkey_oaep_decrypt(EVP_PKEY *pk, int md, const uint8_t *in, size_t len,
                            struct cmk_secret *out);

/* Bytes of each of r and s for an EC key of bits order bits. */
static inline size_t cmk_ecdsa_half(unsigned bits)
{
    return (bits + 7) / 8;
}
/* ECDSA-Sig-Value DER (RFC 3279 2.2.3) to r || s of half bytes each;
 * out holds 2 * half. CMK_E_BAD_RESPONSE for bad DER or an integer that
 * does not fit. */
cmk_err cmk_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t half,
                             uint8_t *out) CMK_WUR;
/* The digest an ECDSA key whose KMS signs only with a hash of want bytes
 * gets for a digest of len bytes: the leftmost want bytes of a longer
 * one, a shorter one left-padded with zero bytes (the same signature:
 * ECDSA uses the digest's leftmost order-bits, FIPS 186-4 6.4). out
 * holds want bytes. */
void cmk_ecdsa_adjust_digest(const uint8_t *in, size_t len, size_t want,
                             uint8_t *out);

/* A PKCS#1 v1.5 DigestInfo (RFC 8017 9.2 note 1) of SHA-256, SHA-384 or
 * SHA-512: *md and the digest inside (borrowed from in).
 * CKR_DATA_LEN_RANGE for a length no DigestInfo we know has,
 * CKR_DATA_INVALID for one of the right length with another prefix. */
CK_RV cmk_digestinfo_parse(const uint8_t *in, size_t len, int *md,
                           const uint8_t **digest);

/* One X.509 certificate from a PEM buffer (a second one in it is
 * refused): its DER (CKA_VALUE), subject and issuer names, serial number
 * (the DER INTEGER) and SubjectPublicKeyInfo, each DER. CMK_E_CONFIG
 * for anything else. Frees with cmk_cert_parts_free. */
struct cmk_cert_parts {
    struct cmk_buf der, subject, issuer, serial, spki;
};
cmk_err cmk_cert_from_pem(const uint8_t *pem, size_t len,
                          struct cmk_cert_parts *out) CMK_WUR;
void cmk_cert_parts_free(struct cmk_cert_parts *c);

/* Incremental hashing for the hash-and-sign mechanisms. */
struct cmk_mdctx;
CK_RV cmk_mdctx_new(int md, struct cmk_mdctx **out);
CK_RV cmk_mdctx_update(struct cmk_mdctx *c, const uint8_t *in, size_t len);
/* out holds cmk_md_len(md) bytes. */
CK_RV cmk_mdctx_final(struct cmk_mdctx *c, uint8_t *out);
void cmk_mdctx_free(struct cmk_mdctx *c);

#endif /* CMK_MECH_PKEY_H */
