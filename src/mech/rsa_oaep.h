/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: RSAES-OAEP with SHA-256 for the OAEP hash and MGF1 (RFC 8017
 * 7.1; AWS KMS RSAES_OAEP_SHA_256), encryption to a public key given as
 * DER SubjectPublicKeyInfo, on the module's private OpenSSL context.
 * cmk-tool import-key wraps a customer's key material with it for the
 * KMS. Errors: CMK_E_ARGS, CMK_E_BAD_RESPONSE (not an RSA public key of
 * the size asked for, or input too long for it), CMK_E_NOMEM,
 * CMK_E_CRYPTO (also before cmk_mech_init). Thread safe.
 */
#ifndef CMK_MECH_RSA_OAEP_H
#define CMK_MECH_RSA_OAEP_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

/* Encrypts in (at most bits/8 - 66 bytes) to the RSA key spki, whose
 * modulus must have exactly bits bits (2048, 3072 or 4096). out gets
 * bits/8 bytes; it is freed (and left empty) on failure. */
cmk_err cmk_rsa_oaep256_encrypt(const uint8_t *spki, size_t spki_len,
                                unsigned bits, const uint8_t *in, size_t in_len,
                                struct cmk_buf *out) CMK_WUR;
/* The same with SHA-1 for the OAEP hash and MGF1 (RFC 8017's default;
 * Azure Key Vault's "RSA-OAEP"), at most bits/8 - 42 bytes of in. Only
 * for a KMS that names it: SHA-1 is fine in OAEP, but not the choice for
 * anything new. */
cmk_err cmk_rsa_oaep_sha1_encrypt(const uint8_t *spki, size_t spki_len,
                                  unsigned bits, const uint8_t *in,
                                  size_t in_len, struct cmk_buf *out) CMK_WUR;

#endif /* CMK_MECH_RSA_OAEP_H */
