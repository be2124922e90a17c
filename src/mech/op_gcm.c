/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES-GCM (CKM_AES_GCM) as a struct cmk_op over the GCM state
 * in the op (mech/aes.h). Encryption streams; decryption holds all input
 * and releases plaintext only from final, after the tag check. Output is
 * ciphertext || tag.
 */
#include <config.h>

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
    uint8_t tag[16];
    size_t need;
    CK_RV rv;

    if ((uint64_t)in_len > GCM_MAX_DATA - g->total)
        return CKR_DATA_LEN_RANGE;
    need = in_len + (with_tag ? g->tag_len : 0);
    if (cmk_op_len_short(out, out_len, need, &rv))
        return rv;
    if (in_len > 0) { /* in may be NULL then (final) */
        cmk_gcm_encrypt(&g->g, in, out, in_len);
        rv = cmk_op_aes_rv();
        if (rv != CKR_OK)
            return rv;
    }
    g->total += in_len;
    if (with_tag) {
        cmk_gcm_tag(&g->g, tag);
        rv = cmk_op_aes_rv();
        if (rv != CKR_OK)
            return rv;
        memcpy(out + in_len, tag, g->tag_len); /* SP 800-38D 7.1: MSB */
    }
    *out_len = need;
    return CKR_OK;
}

/* Deciphers ciphertext || tag; on a tag mismatch out is zeroed. */
static CK_RV gcm_open(struct cmk_op *op, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t *out_len)
{
    struct op_gcm *g = &op->u.gcm;
    size_t tag_len = g->tag_len, ct_len;
    uint8_t tag[16], want[16];
    CK_RV rv;

    if (in_len < tag_len)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    ct_len = in_len - tag_len;
    if (cmk_op_len_short(out, out_len, ct_len, &rv))
        return rv;
    memcpy(want, in + ct_len, tag_len); /* before out may overwrite in */
    rv = CKR_OK;
    if (ct_len > 0) {
        cmk_gcm_decrypt(&g->g, in, out, ct_len);
        rv = cmk_op_aes_rv();
    }
    if (rv == CKR_OK) {
        cmk_gcm_tag(&g->g, tag);
        rv = cmk_op_aes_rv();
    }
    if (rv == CKR_OK && sodium_memcmp(tag, want, tag_len) != 0)
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
    cmk_gcm_wipe(&op->u.gcm.g); /* frees the fallback's EVP context */
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

CK_RV cmk_op_gcm_init(struct cmk_op *op, const CK_MECHANISM *m)
{
    const CK_GCM_PARAMS *p = m->pParameter;
    struct op_gcm *g = &op->u.gcm;
    CK_RV rv = gcm_params(m);

    if (rv != CKR_OK)
        return rv;
    if (!op->kc->has_htab || cmk_mech_cipher(CMK_AES_GCM, op->kc->len) == NULL)
        return CKR_GENERAL_ERROR; /* key length was checked: no init */
    op->vt = &gcm_vt;             /* from here cleanup frees what was made */
    g->tag_len = p->ulTagBits / 8;
    cmk_gcm_bind(&g->g, &op->kc->gk); /* the key's schedule and H table */
    cmk_gcm_start(&g->g, p->pIv, p->ulIvLen);
    rv = cmk_op_aes_rv();
    if (rv != CKR_OK)
        return rv;
    /* AAD goes in now: the caller's parameter block is gone after Init.
     * pAAD may be NULL when there is none. */
    if (p->ulAADLen > 0)
        cmk_gcm_aad(&g->g, p->pAAD, p->ulAADLen);
    return cmk_op_aes_rv();
}
