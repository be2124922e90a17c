/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES block modes (ECB, CBC, CBC_PAD with PKCS#7 padding) and
 * CTR as struct cmk_op implementations over the key schedule in the op
 * (mech/aes.h). The block functions only ever see whole blocks; holding
 * back input and padding are done here, so output lengths are exact
 * before anything is consumed.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "mech/op_int.h"

#define BLK CMK_AES_BLOCK

/* ---- ECB / CBC / CBC_PAD ---- */

/* len whole blocks through ECB or CBC (chaining on from b->chain). */
static CK_RV blk_run(struct cmk_op *op, uint8_t *out, const uint8_t *in,
                     size_t len)
{
    struct op_blk *b = &op->u.blk;

    if (len == 0)
        return CKR_OK;
    if (op->mech == CKM_AES_ECB)
        cmk_aes_ecb(b->key, op->encrypt, in, out, len / BLK);
    else
        cmk_aes_cbc(b->key, op->encrypt, b->chain, in, out, len / BLK);
    return cmk_op_aes_rv();
}

/* Bytes an update of in_len gives out. CBC_PAD decrypt keeps the last
 * block back: it carries the padding, which only final may strip. */
static size_t blk_feed(const struct cmk_op *op, size_t in_len)
{
    size_t total = op->hold_len + in_len;

    if (op->u.blk.pad && !op->encrypt)
        return total == 0 ? 0 : (total - 1) / BLK * BLK;
    return total / BLK * BLK;
}

/* Runs feed bytes (held input first) through the cipher into out and
 * keeps the rest of in for later. The caller has checked that out holds
 * feed bytes. */
static CK_RV blk_process(struct cmk_op *op, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t feed)
{
    struct op_blk *b = &op->u.blk;
    CK_RV rv = CKR_OK;

    if (feed > 0 && op->hold_len > 0) {
        size_t k = BLK - op->hold_len;

        memcpy(b->hold + op->hold_len, in, k);
        in += k;
        in_len -= k;
        if (b->last_ready) { /* final's length query deciphered it */
            memcpy(out, b->last, BLK);
            sodium_memzero(b->last, BLK);
            b->last_ready = false;
        } else {
            rv = blk_run(op, out, b->hold, BLK);
        }
        out += BLK;
        feed -= BLK;
        op->hold_len = 0;
    }
    if (rv == CKR_OK && feed > 0) {
        rv = blk_run(op, out, in, feed);
        in += feed;
        in_len -= feed;
    }
    if (rv == CKR_OK && in_len > 0) {
        memcpy(b->hold + op->hold_len, in, in_len);
        op->hold_len += in_len;
    }
    return rv;
}

/* PKCS#7 padding check (RFC 5652 6.3) without data-dependent branches on
 * the padding bytes. */
static bool unpad(const uint8_t blk[BLK], size_t *len)
{
    int pad = blk[BLK - 1];
    int bad = (pad == 0) | (pad > BLK);

    for (int i = 0; i < BLK; i++)
        bad |= (i >= BLK - pad) & (blk[i] != pad);
    *len = bad ? 0 : (size_t)(BLK - pad);
    return bad == 0;
}

static CK_RV blk_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    size_t feed;
    CK_RV rv;

    if (in_len > SIZE_MAX - 2 * BLK)
        return cmk_op_len_rv(op);
    feed = blk_feed(op, in_len);
    if (cmk_op_len_short(out, out_len, feed, &rv))
        return rv;
    rv = blk_process(op, in, in_len, out, feed);
    if (rv == CKR_OK)
        *out_len = feed;
    return rv;
}

static CK_RV pad_final_enc(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    struct op_blk *b = &op->u.blk;
    uint8_t pad = (uint8_t)(BLK - op->hold_len);
    CK_RV rv;

    if (cmk_op_len_short(out, out_len, BLK, &rv))
        return rv;
    memset(b->hold + op->hold_len, pad, pad);
    rv = blk_run(op, out, b->hold, BLK);
    op->hold_len = 0;
    if (rv == CKR_OK)
        *out_len = BLK;
    return rv;
}

static CK_RV pad_final_dec(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    struct op_blk *b = &op->u.blk;
    size_t plen = 0;
    CK_RV rv;

    if (op->hold_len != BLK)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    /* Decipher once and keep it, so a length query or a short buffer
     * leaves the operation as it was. */
    if (!b->last_ready) {
        rv = blk_run(op, b->last, b->hold, BLK);
        if (rv != CKR_OK)
            return rv;
        b->last_ready = true;
    }
    if (!unpad(b->last, &plen))
        return CKR_ENCRYPTED_DATA_INVALID;
    if (cmk_op_len_short(out, out_len, plen, &rv))
        return rv;
    memcpy(out, b->last, plen);
    *out_len = plen;
    return CKR_OK;
}

static CK_RV blk_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (op->u.blk.pad)
        return op->encrypt ? pad_final_enc(op, out, out_len)
                           : pad_final_dec(op, out, out_len);
    if (op->hold_len != 0)
        return cmk_op_len_rv(op);
    if (cmk_op_len_short(out, out_len, 0, &rv))
        return rv;
    *out_len = 0;
    return CKR_OK;
}

/* Single-part CBC_PAD decrypt: the last block is deciphered first (its
 * chaining value is the previous ciphertext block or the IV) to learn the
 * exact output length before anything is written. */
static CK_RV pad_oneshot_dec(struct cmk_op *op, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t *out_len)
{
    struct op_blk *b = &op->u.blk;
    size_t body, plen = 0;
    CK_RV rv;

    if (in_len == 0 || in_len % BLK != 0)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    body = in_len - BLK;
    memcpy(b->chain, body > 0 ? in + body - BLK : b->iv, BLK);
    rv = blk_run(op, b->last, in + body, BLK);
    memcpy(b->chain, b->iv, BLK);
    if (rv == CKR_OK && !unpad(b->last, &plen))
        rv = CKR_ENCRYPTED_DATA_INVALID;
    if (rv != CKR_OK || cmk_op_len_short(out, out_len, body + plen, &rv))
        goto out;
    rv = blk_run(op, out, in, body);
    if (rv != CKR_OK)
        goto out;
    memcpy(out + body, b->last, plen);
    *out_len = body + plen;
out:
    sodium_memzero(b->last, BLK);
    return rv;
}

static CK_RV blk_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                         uint8_t *out, size_t *out_len)
{
    struct op_blk *b = &op->u.blk;
    size_t body = in_len / BLK * BLK, need, n = 0;
    CK_RV rv;

    if (b->pad && !op->encrypt)
        return pad_oneshot_dec(op, in, in_len, out, out_len);
    if ((!b->pad && body != in_len) || in_len > SIZE_MAX - 2 * BLK)
        return cmk_op_len_rv(op);
    need = b->pad ? body + BLK : in_len;
    if (cmk_op_len_short(out, out_len, need, &rv))
        return rv;
    rv = blk_process(op, in, in_len, out, body);
    if (rv == CKR_OK && b->pad) {
        n = BLK;
        rv = pad_final_enc(op, out + body, &n);
    }
    if (rv == CKR_OK)
        *out_len = need;
    return rv;
}

static const struct op_vt blk_vt = {
    .oneshot = blk_oneshot,
    .update = blk_update,
    .final = blk_final,
    .cleanup = NULL, /* op.c wipes the whole struct */
};

CK_RV cmk_op_blk_init(struct cmk_op *op, const CK_MECHANISM *m)
{
    struct op_blk *b = &op->u.blk;
    bool ecb = m->mechanism == CKM_AES_ECB;

    if (ecb && m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!ecb) {
        /* PKCS#11 3.0 current mechanisms 2.10: a 16-byte IV. */
        if (m->pParameter == NULL || m->ulParameterLen != BLK)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(b->iv, m->pParameter, BLK);
        memcpy(b->chain, b->iv, BLK);
    }
    b->pad = m->mechanism == CKM_AES_CBC_PAD;
    op->vt = &blk_vt;
    return cmk_op_key_set(op, &b->key);
}

/* ---- CTR ---- */

/* Beyond 2^58 blocks (2^62 bytes) nothing can run out of counter. */
#define CTR_ROOM_CAP ((uint64_t)1 << 58)

/* Blocks left before the counter field (the low `bits` bits of cb) would
 * wrap into the rest of the block, capped at CTR_ROOM_CAP. */
static uint64_t ctr_room(const uint8_t cb[BLK], size_t bits)
{
    uint64_t low = 0;

    for (size_t i = BLK / 2; i < BLK; i++)
        low = (low << 8) | cb[i];
    if (bits < 58)
        return ((uint64_t)1 << bits) - (low & (((uint64_t)1 << bits) - 1));
    for (size_t i = 58; i < bits; i++) {
        if (((cb[BLK - 1 - i / 8] >> (i % 8)) & 1) == 0)
            return CTR_ROOM_CAP;
    }
    return CTR_ROOM_CAP - (low & (CTR_ROOM_CAP - 1));
}

/* Keystream XOR over any length: leftover keystream first, then whole
 * blocks, then a new keystream block for the tail (kept for the next
 * call, as EVP's CTR did). in == out is fine byte by byte. */
static CK_RV ctr_xor(struct op_ctr *c, const uint8_t *in, uint8_t *out,
                     size_t len)
{
    size_t n;

    while (len > 0 && c->ks_used < BLK) {
        *out++ = *in++ ^ c->ks[c->ks_used++];
        len--;
    }
    n = len / BLK;
    if (n > 0) {
        cmk_aes_ctr(c->key, c->ctr, in, out, n);
        if (cmk_aes_failed())
            return CKR_GENERAL_ERROR;
        in += n * BLK;
        out += n * BLK;
        len -= n * BLK;
    }
    if (len > 0) {
        memset(c->ks, 0, BLK);
        cmk_aes_ctr(c->key, c->ctr, c->ks, c->ks, 1);
        if (cmk_aes_failed())
            return CKR_GENERAL_ERROR;
        for (c->ks_used = 0; c->ks_used < len; c->ks_used++)
            out[c->ks_used] = in[c->ks_used] ^ c->ks[c->ks_used];
    }
    return CKR_OK;
}

static CK_RV ctr_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    struct op_ctr *c = &op->u.ctr;
    CK_RV rv;

    /* PKCS#11 3.0 2.10.3 (ulCounterBits): the counter must not wrap. */
    if ((uint64_t)in_len > c->room * BLK - c->used)
        return cmk_op_len_rv(op);
    if (cmk_op_len_short(out, out_len, in_len, &rv))
        return rv;
    rv = ctr_xor(c, in, out, in_len);
    if (rv != CKR_OK)
        return rv;
    c->used += in_len;
    *out_len = in_len;
    return CKR_OK;
}

static CK_RV ctr_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    (void)op;
    if (cmk_op_len_short(out, out_len, 0, &rv))
        return rv;
    *out_len = 0;
    return CKR_OK;
}

static const struct op_vt ctr_vt = {
    .oneshot = ctr_update, /* a fresh CTR op: one update is the whole job */
    .update = ctr_update,
    .final = ctr_final,
    .cleanup = NULL,
};

CK_RV cmk_op_ctr_init(struct cmk_op *op, const CK_MECHANISM *m)
{
    const CK_AES_CTR_PARAMS *p = m->pParameter;

    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulCounterBits < 1 || p->ulCounterBits > 128)
        return CKR_MECHANISM_PARAM_INVALID;
    op->u.ctr.room = ctr_room(p->cb, p->ulCounterBits);
    memcpy(op->u.ctr.ctr, p->cb, BLK);
    op->u.ctr.ks_used = BLK;
    op->vt = &ctr_vt;
    return cmk_op_key_set(op, &op->u.ctr.key);
}
