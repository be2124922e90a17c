/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: RS256 and PS256 signatures and certificate thumbprints (rs256.h)
 * over OpenSSL EVP in the module's private library context. The PEM is read
 * from the caller's guarded buffer by cmk_pkey_from_pem (its DER only in
 * secure memory); the EVP_PKEY is freed (OpenSSL clears its bignums) as
 * soon as the signature is made.
 */
#include <config.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mech/mech_int.h"
#include "mech/pkey.h"
#include "mech/rs256.h"

#define RS256_MIN_BITS 2048

static cmk_err load_key(const char *pem, size_t pem_len, EVP_PKEY **out)
{
    EVP_PKEY *pk = NULL;
    cmk_err err;

    err = cmk_pkey_from_pem((const uint8_t *)pem, pem_len, &pk);
    if (err != CMK_OK)
        return err;
    if (!EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < RS256_MIN_BITS) {
        EVP_PKEY_free(pk);
        return CMK_E_CONFIG;
    }
    *out = pk;
    return CMK_OK;
}

/* PS256's parameters (RFC 7518 3.5): MGF1 with SHA-256, salt the size
 * of the hash. */
static bool set_pss(EVP_PKEY_CTX *pc)
{
    return EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pc, "SHA256", NULL) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32) > 0;
}

static cmk_err sign(EVP_PKEY *pk, bool pss, const void *msg, size_t n,
                    struct cmk_buf *sig)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    size_t len = 0;
    cmk_err err = CMK_E_CRYPTO;

    if (md == NULL)
        return CMK_E_NOMEM;
    if (EVP_DigestSignInit_ex(md, &pc, "SHA256", cmk_mech_libctx(), NULL, pk,
                              NULL) == 1 &&
        (!pss || set_pss(pc)) && EVP_DigestSign(md, NULL, &len, msg, n) == 1) {
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

static cmk_err rsa_sign(const char *pem, size_t pem_len, bool pss,
                        const void *msg, size_t n, struct cmk_buf *sig)
{
    EVP_PKEY *pk = NULL;
    cmk_err err;

    if (pem == NULL || sig == NULL || (msg == NULL && n > 0))
        return CMK_E_ARGS;
    sig->p = NULL;
    sig->len = 0;
    err = load_key(pem, pem_len, &pk);
    if (err == CMK_OK)
        err = sign(pk, pss, msg, n, sig);
    EVP_PKEY_free(pk);
    return err;
}

cmk_err cmk_rs256_sign(const char *pem, size_t pem_len, const void *msg,
                       size_t n, struct cmk_buf *sig)
{
    return rsa_sign(pem, pem_len, false, msg, n, sig);
}

cmk_err cmk_ps256_sign(const char *pem, size_t pem_len, const void *msg,
                       size_t n, struct cmk_buf *sig)
{
    return rsa_sign(pem, pem_len, true, msg, n, sig);
}

static cmk_err digest(const char *name, const uint8_t *p, size_t n,
                      uint8_t *out)
{
    EVP_MD *md = EVP_MD_fetch(cmk_mech_libctx(), name, NULL);
    int ok = md != NULL && EVP_Digest(p, n, out, NULL, md, NULL) == 1;

    EVP_MD_free(md);
    return ok ? CMK_OK : CMK_E_CRYPTO;
}

cmk_err cmk_x509_thumbprints(const char *pem, size_t pem_len,
                             uint8_t x5t[CMK_X5T_LEN],
                             uint8_t x5t_s256[CMK_X5T_S256_LEN])
{
    unsigned char *der = NULL;
    X509 *x = NULL;
    BIO *bio;
    int len;
    cmk_err err;

    if (pem == NULL || x5t == NULL || x5t_s256 == NULL ||
        pem_len > (size_t)INT32_MAX)
        return CMK_E_ARGS;
    bio = BIO_new_mem_buf(pem, (int)pem_len);
    if (bio == NULL)
        return CMK_E_NOMEM;
    x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (x == NULL)
        return CMK_E_CONFIG;
    len = i2d_X509(x, &der);
    X509_free(x);
    if (len <= 0)
        return CMK_E_CONFIG;
    err = digest("SHA1", der, (size_t)len, x5t);
    if (err == CMK_OK)
        err = digest("SHA256", der, (size_t)len, x5t_s256);
    OPENSSL_free(der);
    return err;
}
