/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES-GCM (CKM_AES_GCM) as a struct cmk_op. Encryption
 * streams; decryption holds all input and releases plaintext only from
 * final, after the tag check. Output is ciphertext || tag.
 */
#include <config.h>

#include <limits.h>
#include <sodium.h>
#include <string.h>

#include "mech/op_int.h"

/* SP 800-38D 5.2.1.1: at most 2^39 - 256 bits of plaintext. */
#define GCM_MAX_DATA (((uint64_t)1 << 36) - 32)
/* OpenSSL 3.0 keeps at most 128 IV bytes (GCM_IV_MAX_SIZE); PKCS#11 3.0
 * allows up to 2^32 - 1, 2.40 said 256. 12 bytes is what anyone uses. */
#define GCM_MAX_IV 128

static bool tag_bits_ok(CK_ULONG bits)
{
    /* SP 800-38D 5.2.1.2: 128, 120, 112, 104, 96, and 64 or 32 bits. */
    switch (bits) {
    case 32:
    case 64:
    case 96:
    case 104:
    case 112:
    case 120:
    case 128:
        return true;
    default:
        return false;
    }
}

static CK_RV gcm_seal(struct cmk_op *op, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t *out_len, bool with_tag)
{
    struct op_gcm *g = &op->u.gcm;
    size_t need;
    int n = 0;
    CK_RV rv;

    if ((uint64_t)in_len > GCM_MAX_DATA - g->total)
        return CKR_DATA_LEN_RANGE;
    need = in_len + (with_tag ? g->tag_len : 0);
    if (cmk_op_len_short(out, out_len, need, &rv))
        return rv;
    rv = cmk_evp_update(op->ctx, out, in, in_len);
    if (rv != CKR_OK)
        return rv;
    g->total += in_len;
    if (with_tag &&
        (EVP_CipherFinal_ex(op->ctx, out + in_len, &n) != 1 || n != 0 ||
         EVP_CIPHER_CTX_ctrl(op->ctx, EVP_CTRL_AEAD_GET_TAG, (int)g->tag_len,
                             out + in_len) != 1))
        return CKR_GENERAL_ERROR;
    *out_len = need;
    return CKR_OK;
}

/* Deciphers ciphertext || tag; on a tag mismatch out is zeroed. */
static CK_RV gcm_open(struct cmk_op *op, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t *out_len)
{
    size_t tag_len = op->u.gcm.tag_len, ct_len;
    uint8_t tag[16];
    int n = 0;
    CK_RV rv;

    if (in_len < tag_len)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    ct_len = in_len - tag_len;
    if (cmk_op_len_short(out, out_len, ct_len, &rv))
        return rv;
    memcpy(tag, in + ct_len, tag_len); /* before out may overwrite in */
    if (EVP_CIPHER_CTX_ctrl(op->ctx, EVP_CTRL_AEAD_SET_TAG, (int)tag_len,
                            tag) != 1)
        return CKR_GENERAL_ERROR;
    rv = cmk_evp_update(op->ctx, out, in, ct_len);
    if (rv == CKR_OK && EVP_CipherFinal_ex(op->ctx, out + ct_len, &n) != 1)
        rv = CKR_ENCRYPTED_DATA_INVALID;
    if (rv != CKR_OK) {
        sodium_memzero(out, ct_len);
        return rv;
    }
    *out_len = ct_len;
    return CKR_OK;
}

static CK_RV gcm_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t *out_len)
{
    if (op->encrypt)
        return gcm_seal(op, in, in_len, out, out_len, true);
    return gcm_open(op, in, in_len, out, out_len);
}

static CK_RV gcm_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (op->encrypt)
        return gcm_seal(op, in, in_len, out, out_len, false);
    rv = cmk_op_buf_room(op, &op->u.gcm.buf, in_len);
    if (rv != CKR_OK || cmk_op_len_short(out, out_len, 0, &rv))
        return rv;
    rv = cmk_op_buf_append(op, &op->u.gcm.buf, in, in_len);
    if (rv == CKR_OK)
        *out_len = 0;
    return rv;
}

static CK_RV gcm_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    struct op_buf *b = &op->u.gcm.buf;

    if (op->encrypt)
        return gcm_seal(op, NULL, 0, out, out_len, true);
    return gcm_open(op, b->p, b->len, out, out_len);
}

static void gcm_cleanup(struct cmk_op *op)
{
    cmk_op_buf_free(&op->u.gcm.buf);
}

static const struct op_vt gcm_vt = {
    .oneshot = gcm_oneshot,
    .update = gcm_update,
    .final = gcm_final,
    .cleanup = gcm_cleanup,
};

static CK_RV gcm_params(const CK_MECHANISM *m)
{
    const CK_GCM_PARAMS *p = m->pParameter;

    /* PKCS#11 3.0 current mechanisms 2.12.3. ulIvBits is ignored, as the
     * spec says; a zero-length IV is refused (SP 800-38D 5.2.1.1). */
    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->pIv == NULL || p->ulIvLen < 1 || p->ulIvLen > GCM_MAX_IV)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!tag_bits_ok(p->ulTagBits))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->pAAD == NULL && p->ulAADLen > 0)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

/* AAD goes in now: the caller's parameter block is gone after Init. */
static CK_RV gcm_aad(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t len)
{
    const size_t chunk = (size_t)1 << 30;
    int n = 0;

    while (len > 0) {
        size_t k = len < chunk ? len : chunk;

        if (EVP_CipherUpdate(ctx, NULL, &n, aad, (int)k) != 1)
            return CKR_GENERAL_ERROR;
        aad += k;
        len -= k;
    }
    return CKR_OK;
}

CK_RV cmk_op_gcm_init(struct cmk_op *op, const CK_MECHANISM *m,
                      const uint8_t *key, size_t key_len)
{
    const CK_GCM_PARAMS *p = m->pParameter;
    const EVP_CIPHER *cipher = cmk_mech_cipher(CMK_AES_GCM, key_len);
    int enc = op->encrypt ? 1 : 0;
    CK_RV rv = gcm_params(m);

    if (rv != CKR_OK)
        return rv;
    if (cipher == NULL)
        return CKR_GENERAL_ERROR; /* key length was checked */
    op->vt = &gcm_vt;
    op->u.gcm.tag_len = p->ulTagBits / 8;
    op->ctx = EVP_CIPHER_CTX_new();
    if (op->ctx == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_CipherInit_ex(op->ctx, cipher, NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(op->ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)p->ulIvLen,
                            NULL) != 1 ||
        EVP_CipherInit_ex(op->ctx, NULL, NULL, key, p->pIv, enc) != 1)
        return CKR_GENERAL_ERROR;
    return gcm_aad(op->ctx, p->pAAD, p->ulAADLen);
}
