/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: RS256 signatures (rs256.h) over OpenSSL EVP in the module's
 * private library context. The PEM is read from the caller's guarded
 * buffer without a copy; the EVP_PKEY is freed (OpenSSL clears its
 * bignums) as soon as the signature is made.
 */
#include <config.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "mech/mech_int.h"
#include "mech/rs256.h"

#define RS256_MIN_BITS 2048

static cmk_err load_key(const char *pem, size_t pem_len, EVP_PKEY **out)
{
    BIO *bio;
    EVP_PKEY *pk;

    if (pem_len > (size_t)INT32_MAX)
        return CMK_E_CONFIG;
    bio = BIO_new_mem_buf(pem, (int)pem_len); /* read-only, no copy */
    if (bio == NULL)
        return CMK_E_NOMEM;
    pk = PEM_read_bio_PrivateKey_ex(bio, NULL, NULL, NULL, cmk_mech_libctx(),
                                    NULL);
    BIO_free(bio);
    if (pk == NULL)
        return CMK_E_CONFIG;
    if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < RS256_MIN_BITS) {
        EVP_PKEY_free(pk);
        return CMK_E_CONFIG;
    }
    *out = pk;
    return CMK_OK;
}

static cmk_err sign(EVP_PKEY *pk, const void *msg, size_t n,
                    struct cmk_buf *sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t len = 0;
    cmk_err err = CMK_E_CRYPTO;

    if (md == NULL)
        return CMK_E_NOMEM;
    if (EVP_DigestSignInit_ex(md, NULL, "SHA256", cmk_mech_libctx(), NULL, pk,
                              NULL) == 1 &&
        EVP_DigestSign(md, NULL, &len, msg, n) == 1) {
        err = cmk_buf_alloc(sig, len);
        if (err == CMK_OK && EVP_DigestSign(md, sig->p, &len, msg, n) != 1) {
            cmk_buf_free(sig);
            err = CMK_E_CRYPTO;
        }
        if (err == CMK_OK)
            sig->len = len;
    }
    EVP_MD_CTX_free(md);
    return err;
}

cmk_err cmk_rs256_sign(const char *pem, size_t pem_len, const void *msg,
                       size_t n, struct cmk_buf *sig)
{
    EVP_PKEY *pk = NULL;
    cmk_err err;

    if (pem == NULL || sig == NULL || (msg == NULL && n > 0))
        return CMK_E_ARGS;
    sig->p = NULL;
    sig->len = 0;
    err = load_key(pem, pem_len, &pk);
    if (err == CMK_OK)
        err = sign(pk, msg, n, sig);
    EVP_PKEY_free(pk);
    return err;
}
