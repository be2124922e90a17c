/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the pieces of the azure envelope payload (azure.c describes
 * it byte for byte): the AAD of form 1, AES-256-GCM under the fresh seal
 * key (mech/aes.h, its state in the secure pool), and the local RSA wrap
 * with the public key of the key's GET answer (RSAES-OAEP-SHA-256,
 * mech/rsa_oaep.h, on the module's own OpenSSL context), for which the
 * JWK n and e are put into a DER SubjectPublicKeyInfo (RFC 8017 A.1.1,
 * RFC 5280 4.1).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/aes.h"
#include "mech/rsa_oaep.h"
#include "providers/azure_int.h"
#include "util/secpool.h"

#define AAD_LABEL "cmk-pkcs11/azure/1"

cmk_err cmk_azure_env_aad(enum cmk_azure_alg alg, const char *kid,
                          const struct cmk_buf *ctx, struct cmk_buf *out)
{
    size_t l = sizeof(AAD_LABEL), k = strlen(kid); /* l counts the 0x00 */
    uint8_t *p;
    cmk_err err;

    err = cmk_buf_alloc(out, l + 1 + 4 + k + ctx->len);
    if (err != CMK_OK)
        return err;
    p = out->p;
    memcpy(p, AAD_LABEL, l);
    p += l;
    *p++ = (uint8_t)alg;
    *p++ = (uint8_t)(k >> 24);
    *p++ = (uint8_t)(k >> 16);
    *p++ = (uint8_t)(k >> 8);
    *p++ = (uint8_t)k;
    memcpy(p, kid, k);
    if (ctx->len > 0)
        memcpy(p + k, ctx->p, ctx->len);
    return CMK_OK;
}

/* ---- AES-256-GCM ---- */

static struct cmk_gcm *gcm_new(const uint8_t key[AZ_SEAL_KEY_LEN],
                               const uint8_t iv[AZ_IV_LEN],
                               const struct cmk_buf *aad)
{
    struct cmk_gcm *g = cmk_secmem_alloc(sizeof(*g));

    if (g == NULL)
        return NULL;
    cmk_gcm_key_set(g, key, AZ_SEAL_KEY_LEN);
    cmk_gcm_start(g, iv, AZ_IV_LEN);
    cmk_gcm_aad(g, aad->p, aad->len);
    return g;
}

static void gcm_free(struct cmk_gcm *g)
{
    if (g == NULL)
        return;
    cmk_gcm_wipe(g);
    cmk_secmem_free(g);
}

cmk_err cmk_azure_gcm_seal(const uint8_t key[AZ_SEAL_KEY_LEN],
                           const struct cmk_buf *aad, const uint8_t *pt,
                           size_t pt_len, uint8_t *out)
{
    struct cmk_gcm *g;
    cmk_err err = CMK_OK;

    randombytes_buf(out, AZ_IV_LEN);
    g = gcm_new(key, out, aad);
    if (g == NULL)
        return CMK_E_NOMEM;
    cmk_gcm_encrypt(g, pt, out + AZ_IV_LEN, pt_len);
    if (cmk_aes_failed())
        err = CMK_E_CRYPTO;
    cmk_gcm_tag(g, out + AZ_IV_LEN + pt_len);
    if (cmk_aes_failed())
        err = CMK_E_CRYPTO;
    gcm_free(g);
    return err;
}

cmk_err cmk_azure_gcm_open(const uint8_t key[AZ_SEAL_KEY_LEN],
                           const struct cmk_buf *aad, const uint8_t *in,
                           size_t in_len, struct cmk_secret *out)
{
    uint8_t tag[AZ_TAG_LEN];
    size_t n = in_len - AZ_IV_LEN - AZ_TAG_LEN;
    struct cmk_gcm *g;
    cmk_err err;

    if (in_len < AZ_IV_LEN + AZ_TAG_LEN)
        return CMK_E_BAD_BLOB;
    err = cmk_secret_alloc(out, n);
    if (err != CMK_OK)
        return err;
    g = gcm_new(key, in, aad);
    if (g == NULL) {
        cmk_secret_free(out);
        return CMK_E_NOMEM;
    }
    cmk_gcm_decrypt(g, in + AZ_IV_LEN, out->p, n);
    cmk_gcm_tag(g, tag);
    if (cmk_aes_failed() ||
        sodium_memcmp(tag, in + AZ_IV_LEN + n, AZ_TAG_LEN) != 0) {
        cmk_secret_free(out); /* wipes: nothing unauthenticated leaves */
        err = CMK_E_BAD_CIPHERTEXT;
    }
    gcm_free(g);
    sodium_memzero(tag, sizeof(tag));
    return err;
}

/* ---- The local RSA wrap ---- */

/* DER length of n at p (p may be NULL: only counted). */
static size_t put_len(uint8_t *p, size_t n)
{
    if (n < 0x80) {
        if (p != NULL)
            p[0] = (uint8_t)n;
        return 1;
    }
    if (n < 0x100) {
        if (p != NULL) {
            p[0] = 0x81;
            p[1] = (uint8_t)n;
        }
        return 2;
    }
    if (p != NULL) {
        p[0] = 0x82;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)n;
    }
    return 3;
}

/* tag | length | [0x00 when the top bit is set, for an INTEGER] | v */
static size_t put_tlv(uint8_t *p, uint8_t tag, const uint8_t *v, size_t n,
                      bool integer)
{
    size_t z = integer && n > 0 && (v[0] & 0x80) != 0 ? 1 : 0;
    size_t h = 1 + put_len(NULL, n + z);

    if (p != NULL) {
        p[0] = tag;
        put_len(p + 1, n + z);
        if (z != 0)
            p[h] = 0x00;
        memcpy(p + h + z, v, n);
    }
    return h + z + n;
}

/* SubjectPublicKeyInfo of rsaEncryption (n, e) into out (large enough). */
static size_t make_spki(const struct az_key_info *ki, uint8_t *out)
{
    static const uint8_t alg_id[] = {0x30, 0x0d, 0x06, 0x09, 0x2a,
                                     0x86, 0x48, 0x86, 0xf7, 0x0d,
                                     0x01, 0x01, 0x01, 0x05, 0x00};
    uint8_t rsa[AZ_RSA_MAX + 32], bits[AZ_RSA_MAX + 40], body[AZ_RSA_MAX + 80];
    size_t r = 0, b, s;

    r += put_tlv(rsa + r, 0x02, ki->n, ki->n_len, true);
    r += put_tlv(rsa + r, 0x02, ki->e, ki->e_len, true);
    b = put_tlv(bits + 1, 0x30, rsa, r, false);
    bits[0] = 0x00; /* no unused bits */
    memcpy(body, alg_id, sizeof(alg_id));
    s = sizeof(alg_id) +
        put_tlv(body + sizeof(alg_id), 0x03, bits, b + 1, false);
    return put_tlv(out, 0x30, body, s, false);
}

static unsigned modulus_bits(const struct az_key_info *ki)
{
    unsigned bits = (unsigned)ki->n_len * 8;
    uint8_t top = ki->n[0];

    while ((top & 0x80) == 0 && bits > 0) {
        top = (uint8_t)(top << 1);
        bits--;
    }
    return bits;
}

cmk_err cmk_azure_rsa_wrap(const struct az_key_info *ki, enum cmk_azure_alg alg,
                           const uint8_t *k, size_t k_len, struct cmk_buf *out)
{
    uint8_t spki[AZ_RSA_MAX + 128];
    size_t n;

    if (ki->kty != AZ_KTY_RSA || ki->n_len == 0 || ki->e_len == 0)
        return CMK_E_BAD_RESPONSE;
    n = make_spki(ki, spki);
    if (alg == AZ_ALG_RSA_OAEP)
        return cmk_rsa_oaep_sha1_encrypt(spki, n, modulus_bits(ki), k, k_len,
                                         out);
    return cmk_rsa_oaep256_encrypt(spki, n, modulus_bits(ki), k, k_len, out);
}
