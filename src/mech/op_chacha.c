/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: CKM_CHACHA20_POLY1305 over libsodium. The nonce length picks
 * the construction: 12 bytes RFC 8439, 24 bytes XChaCha20-Poly1305, 8
 * bytes the original. libsodium is one-shot, so multi-part calls buffer
 * their input and work at final. Output is ciphertext || 16-byte tag.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/op_int.h"

#define TAG_LEN 16U

typedef int (*seal_fn)(unsigned char *c, unsigned long long *clen,
                       const unsigned char *m, unsigned long long mlen,
                       const unsigned char *ad, unsigned long long adlen,
                       const unsigned char *nsec, const unsigned char *npub,
                       const unsigned char *k);
typedef int (*open_fn)(unsigned char *m, unsigned long long *mlen,
                       unsigned char *nsec, const unsigned char *c,
                       unsigned long long clen, const unsigned char *ad,
                       unsigned long long adlen, const unsigned char *npub,
                       const unsigned char *k);

static const struct cc_alg {
    size_t nonce_len;
    seal_fn seal;
    open_fn open;
} g_algs[] = {
    {crypto_aead_chacha20poly1305_NPUBBYTES,
     crypto_aead_chacha20poly1305_encrypt,
     crypto_aead_chacha20poly1305_decrypt},
    {crypto_aead_chacha20poly1305_ietf_NPUBBYTES,
     crypto_aead_chacha20poly1305_ietf_encrypt,
     crypto_aead_chacha20poly1305_ietf_decrypt},
    {crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
     crypto_aead_xchacha20poly1305_ietf_encrypt,
     crypto_aead_xchacha20poly1305_ietf_decrypt},
};

/* The smallest message limit of the three (the IETF one), so no call can
 * reach libsodium's misuse handler. */
static size_t max_msg(void)
{
    return crypto_aead_chacha20poly1305_ietf_messagebytes_max();
}

static const struct cc_alg *find_alg(size_t nonce_len)
{
    for (size_t i = 0; i < sizeof(g_algs) / sizeof(g_algs[0]); i++) {
        if (g_algs[i].nonce_len == nonce_len)
            return &g_algs[i];
    }
    return NULL;
}

static CK_RV cc_seal(struct cmk_op *op, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t *out_len)
{
    struct op_chacha *c = &op->u.cc;
    const struct cc_alg *alg = find_alg(c->nonce_len);
    unsigned long long clen = 0;
    CK_RV rv;

    if (in_len > max_msg())
        return CKR_DATA_LEN_RANGE;
    if (cmk_op_len_short(out, out_len, in_len + TAG_LEN, &rv))
        return rv;
    if (alg->seal(out, &clen, in, in_len, c->aad.p, c->aad.len, NULL, c->nonce,
                  c->key) != 0)
        return CKR_GENERAL_ERROR;
    *out_len = (size_t)clen;
    return CKR_OK;
}

static CK_RV cc_open(struct cmk_op *op, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t *out_len)
{
    struct op_chacha *c = &op->u.cc;
    const struct cc_alg *alg = find_alg(c->nonce_len);
    unsigned long long mlen = 0;
    CK_RV rv;

    if (in_len < TAG_LEN || in_len - TAG_LEN > max_msg())
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (cmk_op_len_short(out, out_len, in_len - TAG_LEN, &rv))
        return rv;
    if (alg->open(out, &mlen, NULL, in, in_len, c->aad.p, c->aad.len, c->nonce,
                  c->key) != 0) {
        sodium_memzero(out, in_len - TAG_LEN);
        return CKR_ENCRYPTED_DATA_INVALID;
    }
    *out_len = (size_t)mlen;
    return CKR_OK;
}

static CK_RV cc_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    static const uint8_t empty[1];

    if (in == NULL)
        in = empty; /* nothing buffered: libsodium wants a pointer */
    if (op->encrypt)
        return cc_seal(op, in, in_len, out, out_len);
    return cc_open(op, in, in_len, out, out_len);
}

static CK_RV cc_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                       uint8_t *out, size_t *out_len)
{
    CK_RV rv = cmk_op_buf_room(op, &op->u.cc.buf, in_len);

    if (rv != CKR_OK || cmk_op_len_short(out, out_len, 0, &rv))
        return rv;
    rv = cmk_op_buf_append(op, &op->u.cc.buf, in, in_len);
    if (rv == CKR_OK)
        *out_len = 0;
    return rv;
}

static CK_RV cc_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    struct op_buf *b = &op->u.cc.buf;

    return cc_oneshot(op, b->p, b->len, out, out_len);
}

static void cc_cleanup(struct cmk_op *op)
{
    cmk_buf_free(&op->u.cc.aad);
    cmk_op_buf_free(&op->u.cc.buf);
}

static const struct op_vt cc_vt = {
    .oneshot = cc_oneshot,
    .update = cc_update,
    .final = cc_final,
    .cleanup = cc_cleanup,
};

/* PKCS#11 3.0 gives ulNonceLen in bits; several implementations pass
 * bytes. The two readings do not collide, so both are taken. */
static size_t nonce_bytes(CK_ULONG len)
{
    switch (len) {
    case 8:
    case 12:
    case 24:
        return len;
    case 64:
    case 96:
    case 192:
        return len / 8;
    default:
        return 0;
    }
}

CK_RV cmk_op_chacha_init(struct cmk_op *op, const CK_MECHANISM *m)
{
    const CK_SALSA20_CHACHA20_POLY1305_PARAMS *p = m->pParameter;
    struct op_chacha *c = &op->u.cc;

    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    c->nonce_len = nonce_bytes(p->ulNonceLen);
    if (c->nonce_len == 0 || p->pNonce == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    if ((p->pAAD == NULL && p->ulAADLen > 0) || p->ulAADLen > CMK_OP_MAX_BUFFER)
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(c->nonce, p->pNonce, c->nonce_len);
    op->vt = &cc_vt;             /* from here cleanup frees what was made */
    c->key = op->kc->gk.key.raw; /* 32 bytes, checked */
    if (cmk_buf_dup(&c->aad, p->pAAD, p->ulAADLen) != CMK_OK)
        return CKR_HOST_MEMORY;
    return CKR_OK;
}
