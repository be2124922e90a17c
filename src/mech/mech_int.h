/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): cipher, digest and MAC handles fetched once from the
 * private OSSL_LIB_CTX, EVP helpers (the fallback of mech/aes.h) and the
 * key wrap cores over an expanded AES key. Not for use outside src/mech.
 */
#ifndef CMK_MECH_INT_H
#define CMK_MECH_INT_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mech/mech.h"
#include "util/err.h"

#define CMK_AES_BLOCK 16
/* Largest input a mechanism buffers (AEAD decrypt, ChaCha20-Poly1305) or
 * takes in one piece (key wrap). */
#define CMK_OP_MAX_BUFFER ((size_t)64 * 1024 * 1024)

enum cmk_aes_mode {
    CMK_AES_ECB,
    CMK_AES_CBC,
    CMK_AES_CTR,
    CMK_AES_GCM,
    CMK_AES__MODES
};

/* The module's private OpenSSL library context, or NULL before
 * cmk_mech_init (for public-key operations that fetch as they go). */
OSSL_LIB_CTX *cmk_mech_libctx(void);

/* A key (selection: EVP_PKEY_KEYPAIR or EVP_PKEY_PUBLIC_KEY) built from
 * params on the module's context by the provider's RSA (rsa true) or EC
 * key manager, never by an ENGINE (mech.c). *out on 1; 0 on failure,
 * -1 without memory. */
int cmk_mech_fromdata(bool rsa, int selection, OSSL_PARAM *params,
                      EVP_PKEY **out);

/* Cipher for mode and key length (16/24/32), or NULL (bad length or
 * cmk_mech_init not done). Shared, never freed by the caller. */
const EVP_CIPHER *cmk_mech_cipher(enum cmk_aes_mode mode, size_t key_len);

/* SHA-256 and an unkeyed HMAC-SHA-256 context (to EVP_MAC_CTX_dup, never
 * to use itself) made once by cmk_mech_init from the module's context
 * (mech/hash.c), or NULL before it. Shared, never freed by the caller. */
const EVP_MD *cmk_mech_sha256(void);
const EVP_MAC_CTX *cmk_mech_hmac_sha256(void);

/* New EVP context keyed once for mode; padding off. iv may be NULL.
 * CKR_KEY_SIZE_RANGE, CKR_HOST_MEMORY or CKR_GENERAL_ERROR. */
CK_RV cmk_evp_new(enum cmk_aes_mode mode, const uint8_t *key, size_t key_len,
                  const uint8_t *iv, bool encrypt,
                  EVP_CIPHER_CTX **out) CMK_WUR;
/* EVP_CipherUpdate over any length (EVP takes int lengths); writes
 * exactly len bytes for stream modes and full blocks. */
CK_RV cmk_evp_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in,
                     size_t len) CMK_WUR;

/* Key wrap cores (RFC 3394 2.2.1, RFC 5649 4) over an expanded AES key
 * (wrap uses the forward cipher, unwrap the inverse). Lengths are checked
 * by the caller: KW in_len >= 16 and a multiple of 8, out holds
 * in_len + 8; KWP wrap 1 <= in_len, out holds round_up8(in_len) + 8;
 * unwrap in_len >= 24 (KW) or 16 (KWP), a multiple of 8, out holds
 * in_len - 8. in and out may be the same buffer. Unwrap failure:
 * CKR_WRAPPED_KEY_INVALID, out zeroed. */
struct cmk_aes_key;
CK_RV cmk_kw_wrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                      size_t in_len, uint8_t *out) CMK_WUR;
CK_RV cmk_kw_unwrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                        size_t in_len, uint8_t *out) CMK_WUR;
CK_RV cmk_kwp_wrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                       size_t in_len, uint8_t *out) CMK_WUR;
CK_RV cmk_kwp_unwrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                         size_t in_len, uint8_t *out,
                         size_t *plain_len) CMK_WUR;
/* Output length for a wrap (encrypt) or unwrap (decrypt) of in_len bytes;
 * an upper bound for KWP unwrap. CKR_DATA_LEN_RANGE or
 * CKR_WRAPPED_KEY_LEN_RANGE for a length the scheme does not allow. */
CK_RV cmk_kw_out_len(bool pad, bool wrap, size_t in_len, size_t *need) CMK_WUR;

#endif /* CMK_MECH_INT_H */
