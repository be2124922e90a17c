/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256", RFC 7518 3.3) and
 * RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt ("PS256", RFC
 * 7518 3.5) under a PEM private key, for the OAuth 2.0 JWT assertions of
 * Google service accounts (net/gauth) and Entra ID client certificates
 * (net/azauth), and the thumbprints of an X.509 certificate that name it
 * in a JWS header (x5t, x5t#S256: RFC 7515 4.1.7, 4.1.8). Uses the module's
 * private OSSL_LIB_CTX, so cmk_mech_init first. Stateless; callable from any
 * thread.
 */
#ifndef CMK_MECH_RS256_H
#define CMK_MECH_RS256_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

/* Signs msg[0..n) with the RSA private key in pem[0..pem_len) (PKCS#8 or
 * PKCS#1 PEM, unencrypted; the caller keeps it in guarded memory). The
 * parsed key lives only for this call. *sig (heap, cmk_buf_free) on
 * CMK_OK. CMK_E_CONFIG when pem holds no RSA private key of at least 2048
 * bits, CMK_E_CRYPTO when signing fails, CMK_E_NOMEM. */
cmk_err cmk_rs256_sign(const char *pem, size_t pem_len, const void *msg,
                       size_t n, struct cmk_buf *sig) CMK_WUR;
/* The same with RSASSA-PSS (PS256). */
cmk_err cmk_ps256_sign(const char *pem, size_t pem_len, const void *msg,
                       size_t n, struct cmk_buf *sig) CMK_WUR;

#define CMK_X5T_LEN 20      /* SHA-1 */
#define CMK_X5T_S256_LEN 32 /* SHA-256 */
/* The SHA-1 and SHA-256 digests of the DER encoding of the first
 * certificate in pem[0..pem_len) (PEM "CERTIFICATE"). CMK_E_CONFIG when
 * there is none, CMK_E_CRYPTO, CMK_E_NOMEM. */
cmk_err cmk_x509_thumbprints(const char *pem, size_t pem_len,
                             uint8_t x5t[CMK_X5T_LEN],
                             uint8_t x5t_s256[CMK_X5T_S256_LEN]) CMK_WUR;

#endif /* CMK_MECH_RS256_H */
