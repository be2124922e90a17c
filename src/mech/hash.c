/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: SHA-256 and HMAC-SHA-256 over the algorithms fetched once
 * from the module's OSSL_LIB_CTX, and BLAKE2b over libsodium.
 */
#include <config.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>

#include "mech/hash.h"
#include "mech/mech_int.h"
#include "util/regs.h"

struct cmk_sha256 {
    EVP_MD_CTX *md;
};

cmk_err cmk_sha256(const void *p, size_t n, uint8_t out[CMK_SHA256_LEN])
{
    const EVP_MD *md = cmk_mech_sha256();
    unsigned int len = 0;

    if (out == NULL || (p == NULL && n != 0))
        return CMK_E_ARGS;
    if (md == NULL ||
        EVP_Digest(p != NULL ? p : "", n, out, &len, md, NULL) != 1 ||
        len != CMK_SHA256_LEN)
        return CMK_E_CRYPTO;
    return CMK_OK;
}

cmk_err cmk_sha256_new(struct cmk_sha256 **out)
{
    struct cmk_sha256 *h;

    if (out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    if (cmk_mech_sha256() == NULL)
        return CMK_E_CRYPTO;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CMK_E_NOMEM;
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL) {
        free(h);
        return CMK_E_NOMEM;
    }
    *out = h;
    return CMK_OK;
}

void cmk_sha256_free(struct cmk_sha256 *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}

cmk_err cmk_sha256_init(struct cmk_sha256 *h)
{
    const EVP_MD *md = cmk_mech_sha256();

    if (h == NULL)
        return CMK_E_ARGS;
    /* Same digest on the same context: OpenSSL reuses its state. */
    if (md == NULL || EVP_DigestInit_ex2(h->md, md, NULL) != 1)
        return CMK_E_CRYPTO;
    return CMK_OK;
}

cmk_err cmk_sha256_update(struct cmk_sha256 *h, const void *p, size_t n)
{
    if (h == NULL || (p == NULL && n != 0))
        return CMK_E_ARGS;
    if (n != 0 && EVP_DigestUpdate(h->md, p, n) != 1)
        return CMK_E_CRYPTO;
    return CMK_OK;
}

cmk_err cmk_sha256_final(struct cmk_sha256 *h, uint8_t out[CMK_SHA256_LEN])
{
    unsigned int len = 0;

    if (h == NULL || out == NULL)
        return CMK_E_ARGS;
    if (EVP_DigestFinal_ex(h->md, out, &len) != 1 || len != CMK_SHA256_LEN)
        return CMK_E_CRYPTO;
    return CMK_OK;
}

cmk_err cmk_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t msg_len, uint8_t out[CMK_SHA256_LEN])
{
    const EVP_MAC_CTX *tmpl = cmk_mech_hmac_sha256();
    EVP_MAC_CTX *ctx = NULL;
    size_t n = 0;
    cmk_err err = CMK_E_CRYPTO;

    if (out == NULL || (key == NULL && key_len != 0) ||
        (msg == NULL && msg_len != 0))
        return CMK_E_ARGS;
    if (tmpl == NULL)
        return CMK_E_CRYPTO;
    ctx = EVP_MAC_CTX_dup(tmpl); /* SHA-256 set, no key yet */
    /* A NULL key would mean "the previous key": pass an empty one. */
    if (ctx != NULL &&
        EVP_MAC_init(ctx, key_len != 0 ? key : (const void *)"", key_len,
                     NULL) == 1 &&
        EVP_MAC_update(ctx, msg != NULL ? msg : "", msg_len) == 1 &&
        EVP_MAC_final(ctx, out, &n, CMK_SHA256_LEN) == 1 && n == CMK_SHA256_LEN)
        err = CMK_OK;
    EVP_MAC_CTX_free(ctx); /* cleanses its key schedule */
    return err;
}

cmk_err cmk_blake2b(uint8_t *out, size_t out_len, const void *in, size_t in_len,
                    const void *key, size_t key_len)
{
    cmk_err err;

    if (out == NULL || out_len == 0 || out_len > crypto_generichash_BYTES_MAX ||
        (in == NULL && in_len != 0) || (key == NULL && key_len != 0) ||
        key_len > crypto_generichash_KEYBYTES_MAX)
        return CMK_E_ARGS;
    err = crypto_generichash(out, out_len, in, in_len, key, key_len) == 0
              ? CMK_OK
              : CMK_E_CRYPTO;
    if (key_len != 0)
        cmk_regs_wipe(); /* BLAKE2b had the key in vector registers */
    return err;
}

void cmk_blake2b_init(struct cmk_blake2b *b, size_t out_len)
{
    bool ok = out_len != 0 && out_len <= crypto_generichash_BYTES_MAX;

    b->out_len = ok ? out_len : 0;
    (void)crypto_generichash_init(&b->st, NULL, 0,
                                  ok ? out_len : crypto_generichash_BYTES);
}

void cmk_blake2b_update(struct cmk_blake2b *b, const void *p, size_t n)
{
    (void)crypto_generichash_update(&b->st, p, n);
}

void cmk_blake2b_final(struct cmk_blake2b *b, uint8_t *out)
{
    uint8_t none[crypto_generichash_BYTES];

    if (b->out_len != 0)
        (void)crypto_generichash_final(&b->st, out, b->out_len);
    else
        (void)crypto_generichash_final(&b->st, none, sizeof(none));
}
