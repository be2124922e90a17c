/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: HMAC-SHA256 (RFC 2104) over OpenSSL's SHA-256 (SHA-NI where the
 * CPU has it), fetched once on the module's library context by cmk_mech_init.
 * The inner and outer states after the padded key block are kept per writer and
 * copied for each record: two copies and seven compression calls per 300-byte
 * line.
 */
#include <config.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include "mech/hmac_line.h"
#include "mech/mech_int.h"

#define BLOCK 64

struct cmk_vmac_lib {
    const EVP_MD *sha256; /* mech's, on the module's library context */
    EVP_MD_CTX *work;
};

struct cmk_vmac {
    EVP_MD_CTX *inner; /* after (K ^ ipad) */
    EVP_MD_CTX *outer; /* after (K ^ opad) */
};

cmk_err cmk_vmac_lib_new(struct cmk_vmac_lib **out)
{
    struct cmk_vmac_lib *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return CMK_E_NOMEM;
    l->sha256 = cmk_mech_sha256(); /* NULL before cmk_mech_init */
    l->work = EVP_MD_CTX_new();
    if (l->sha256 == NULL || l->work == NULL) {
        cmk_vmac_lib_free(l);
        return CMK_E_CRYPTO;
    }
    *out = l;
    return CMK_OK;
}

void cmk_vmac_lib_free(struct cmk_vmac_lib *l)
{
    if (l == NULL)
        return;
    EVP_MD_CTX_free(l->work);
    free(l);
}

void cmk_vmac_free(struct cmk_vmac *m)
{
    if (m == NULL)
        return;
    EVP_MD_CTX_free(m->inner); /* the provider's freectx cleanses */
    EVP_MD_CTX_free(m->outer);
    free(m);
}

static int keyed(struct cmk_vmac_lib *l, EVP_MD_CTX *c, const uint8_t *key,
                 uint8_t pad)
{
    uint8_t block[BLOCK];
    int ok;
    size_t i;

    for (i = 0; i < BLOCK; i++)
        block[i] = (uint8_t)((i < CMK_VMAC_KEY_LEN ? key[i] : 0) ^ pad);
    ok = EVP_DigestInit_ex2(c, l->sha256, NULL) &&
         EVP_DigestUpdate(c, block, sizeof(block));
    OPENSSL_cleanse(block, sizeof(block));
    return ok;
}

cmk_err cmk_vmac_new(struct cmk_vmac_lib *l, const uint8_t *key,
                     struct cmk_vmac **out)
{
    struct cmk_vmac *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return CMK_E_NOMEM;
    m->inner = EVP_MD_CTX_new();
    m->outer = EVP_MD_CTX_new();
    if (m->inner == NULL || m->outer == NULL ||
        !keyed(l, m->inner, key, 0x36) || !keyed(l, m->outer, key, 0x5c)) {
        cmk_vmac_free(m);
        return CMK_E_CRYPTO;
    }
    *out = m;
    return CMK_OK;
}

cmk_err cmk_vmac_line(struct cmk_vmac_lib *l, const struct cmk_vmac *m,
                      const uint8_t *prev, const char *line, size_t n,
                      uint8_t *out)
{
    uint8_t t[CMK_VMAC_OUT_LEN];
    cmk_err err = CMK_E_CRYPTO;

    if (!EVP_MD_CTX_copy_ex(l->work, m->inner) ||
        !EVP_DigestUpdate(l->work, prev, CMK_VMAC_OUT_LEN) ||
        !EVP_DigestUpdate(l->work, line, n) ||
        !EVP_DigestFinal_ex(l->work, t, NULL) ||
        !EVP_MD_CTX_copy_ex(l->work, m->outer) ||
        !EVP_DigestUpdate(l->work, t, sizeof(t)) ||
        !EVP_DigestFinal_ex(l->work, out, NULL))
        goto out;
    err = CMK_OK;
out:
    OPENSSL_cleanse(t, sizeof(t));
    return err;
}

bool cmk_vmac_equal(const uint8_t *a, const uint8_t *b)
{
    return CRYPTO_memcmp(a, b, CMK_VMAC_OUT_LEN) == 0;
}
