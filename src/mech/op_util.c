/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: helpers the mechanism files (op_aes.c, op_gcm.c,
 * op_chacha.c, op_kw.c) share: the output-length convention, length error
 * codes, AES key setup and the input buffer of AEAD ops. They call no
 * op file, so calls run one way: op.c -> op_*.c -> op_util.c.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mech/op_int.h"

bool cmk_op_len_short(const uint8_t *out, size_t *out_len, size_t need,
                      CK_RV *rv)
{
    if (out == NULL) {
        *out_len = need;
        *rv = CKR_OK;
        return true;
    }
    if (*out_len < need) {
        *out_len = need;
        *rv = CKR_BUFFER_TOO_SMALL;
        return true;
    }
    return false;
}

CK_RV cmk_op_len_rv(const struct cmk_op *op)
{
    return op->encrypt ? CKR_DATA_LEN_RANGE : CKR_ENCRYPTED_DATA_LEN_RANGE;
}

CK_RV cmk_op_aes_rv(void)
{
    return cmk_aes_failed() ? CKR_GENERAL_ERROR : CKR_OK;
}

CK_RV cmk_op_key_set(const struct cmk_op *op, const struct cmk_aes_key **k)
{
    /* As when EVP did the work: nothing before cmk_mech_init (the
     * fallback needs its ciphers). */
    if (cmk_mech_cipher(CMK_AES_ECB, op->kc->len) == NULL)
        return CKR_GENERAL_ERROR;
    *k = &op->kc->gk.key;
    return CKR_OK;
}

CK_RV cmk_op_buf_room(const struct cmk_op *op, const struct op_buf *b, size_t n)
{
    if (n > CMK_OP_MAX_BUFFER - b->len)
        return cmk_op_len_rv(op);
    return CKR_OK;
}

CK_RV cmk_op_buf_append(const struct cmk_op *op, struct op_buf *b,
                        const uint8_t *in, size_t n)
{
    CK_RV rv = cmk_op_buf_room(op, b, n);
    size_t len = b->len, cap;
    uint8_t *p;

    if (rv != CKR_OK || n == 0)
        return rv;
    if (len + n > b->cap) {
        cap = b->cap ? b->cap : 256;
        while (cap < len + n)
            cap *= 2;
        if (cap > CMK_OP_MAX_BUFFER)
            cap = CMK_OP_MAX_BUFFER;
        p = malloc(cap);
        if (p == NULL)
            return CKR_HOST_MEMORY;
        if (len > 0)
            memcpy(p, b->p, len);
        cmk_op_buf_free(b); /* wipes the old copy */
        b->p = p;
        b->len = len;
        b->cap = cap;
    }
    memcpy(b->p + b->len, in, n);
    b->len += n;
    return CKR_OK;
}

void cmk_op_buf_free(struct op_buf *b)
{
    if (b->p != NULL) {
        sodium_memzero(b->p, b->cap);
        free(b->p);
    }
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}
