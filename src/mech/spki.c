/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: public keys from a KMS and the SHA-2 digests of a key pair
 * (spki.h), through OpenSSL on the module's library context.
 */
#include <config.h>

#include <ctype.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mech/mech_int.h"
#include "mech/spki.h"

/* Only the NIST curves a KMS key pair may have. */
static int curve_of(EVP_PKEY *pk)
{
    char name[64];
    size_t n = 0;
    int nid;

    if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                       sizeof(name), &n) != 1)
        return 0;
    nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
        nid == NID_secp521r1)
        return nid;
    return 0;
}

cmk_err cmk_spki_describe(const uint8_t *der, size_t len,
                          struct cmk_spki_info *info)
{
    const unsigned char *p = der;
    EVP_PKEY *pk;
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (der == NULL || info == NULL)
        return CMK_E_ARGS;
    memset(info, 0, sizeof(*info));
    if (len == 0 || len > CMK_SPKI_MAX)
        return CMK_E_BAD_RESPONSE;
    pk = d2i_PUBKEY_ex(NULL, &p, (long)len, cmk_mech_libctx(), NULL);
    if (pk == NULL || p != der + len)
        goto out;
    if (EVP_PKEY_is_a(pk, "RSA")) {
        info->kind = CMK_SPKI_RSA;
        err = CMK_OK;
    } else if (EVP_PKEY_is_a(pk, "EC")) {
        info->kind = CMK_SPKI_EC;
        info->curve_nid = curve_of(pk);
        err = info->curve_nid != 0 ? CMK_OK : CMK_E_BAD_RESPONSE;
    }
    if (err == CMK_OK && EVP_PKEY_get_bits(pk) > 0)
        info->bits = (unsigned)EVP_PKEY_get_bits(pk);
    else
        err = CMK_E_BAD_RESPONSE;
out:
    if (err != CMK_OK)
        memset(info, 0, sizeof(*info));
    EVP_PKEY_free(pk);
    return err;
}

static bool blank(const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isspace((unsigned char)p[i]))
            return false;
    }
    return true;
}

/* The one "PUBLIC KEY" block of pem, its DER copied into der. */
static cmk_err read_block(const char *pem, size_t len, struct cmk_buf *der)
{
    static const char begin[] = "-----BEGIN PUBLIC KEY-----";
    static const char end[] = "-----END PUBLIC KEY-----";
    const char *head, *tail;
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long n = 0;
    BIO *bio;
    cmk_err err = CMK_E_BAD_RESPONSE;

    /* Only whitespace around the block (PEM_read_bio skips any text). */
    head = memmem(pem, len, begin, sizeof(begin) - 1);
    tail = memmem(pem, len, end, sizeof(end) - 1);
    if (head == NULL || tail == NULL || memchr(pem, '\0', len) != NULL ||
        !blank(pem, (size_t)(head - pem)) ||
        !blank(tail + sizeof(end) - 1,
               len - (size_t)(tail - pem) - (sizeof(end) - 1)))
        return CMK_E_BAD_RESPONSE;
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return CMK_E_NOMEM;
    if (PEM_read_bio(bio, &name, &header, &data, &n) == 1 &&
        strcmp(name, "PUBLIC KEY") == 0 && header[0] == '\0' && n > 0 &&
        (size_t)n <= CMK_SPKI_MAX)
        err = cmk_buf_dup(der, data, (size_t)n);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    return err;
}

cmk_err cmk_spki_from_pem(const char *pem, size_t len, struct cmk_buf *der,
                          struct cmk_spki_info *info)
{
    cmk_err err;

    if (pem == NULL || der == NULL || info == NULL)
        return CMK_E_ARGS;
    memset(der, 0, sizeof(*der));
    if (len == 0 || len > 4 * CMK_SPKI_MAX)
        return CMK_E_BAD_RESPONSE;
    err = read_block(pem, len, der);
    if (err == CMK_OK)
        err = cmk_spki_describe(der->p, der->len, info);
    if (err != CMK_OK)
        cmk_buf_free(der);
    return err;
}

cmk_err cmk_sha2_digest(size_t out_len, const void *p, size_t n, uint8_t *out)
{
    const char *name = out_len == 32   ? "SHA2-256"
                       : out_len == 48 ? "SHA2-384"
                       : out_len == 64 ? "SHA2-512"
                                       : NULL;
    unsigned int got = 0;
    EVP_MD *md;
    int ok;

    if (name == NULL || out == NULL || (p == NULL && n > 0))
        return CMK_E_ARGS;
    md = EVP_MD_fetch(cmk_mech_libctx(), name, NULL);
    if (md == NULL)
        return CMK_E_CRYPTO;
    ok = EVP_Digest(n > 0 ? p : "", n, out, &got, md, NULL);
    EVP_MD_free(md);
    return ok == 1 && got == out_len ? CMK_OK : CMK_E_CRYPTO;
}
