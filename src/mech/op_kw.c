/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: CKM_AES_KEY_WRAP (RFC 3394) and CKM_AES_KEY_WRAP_KWP /
 * CKM_AES_KEY_WRAP_PAD (RFC 5649) as single-part struct cmk_op
 * operations over the key schedule in the op.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/op_int.h"

/* PKCS#11 3.0 current mechanisms 2.14: the optional parameter is the IV;
 * only the default IV of each scheme is supported. */
static CK_RV kw_param(const CK_MECHANISM *m, bool pad)
{
    static const uint8_t kw_iv[8] = {0xA6, 0xA6, 0xA6, 0xA6,
                                     0xA6, 0xA6, 0xA6, 0xA6};
    static const uint8_t kwp_iv[4] = {0xA6, 0x59, 0x59, 0xA6};
    const uint8_t *want = pad ? kwp_iv : kw_iv;
    size_t len = pad ? sizeof(kwp_iv) : sizeof(kw_iv);

    if (m->ulParameterLen == 0)
        return CKR_OK;
    if (m->pParameter == NULL || m->ulParameterLen != len ||
        memcmp(m->pParameter, want, len) != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

/* Unwrap errors in C_Decrypt terms; core maps them back for C_UnwrapKey. */
static CK_RV dec_rv(CK_RV rv)
{
    if (rv == CKR_WRAPPED_KEY_INVALID)
        return CKR_ENCRYPTED_DATA_INVALID;
    if (rv == CKR_WRAPPED_KEY_LEN_RANGE)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    return rv;
}

/* KWP unwrap: the exact length is known only after unwrapping, so a
 * length query answers the upper bound and a buffer shorter than that is
 * served through a secure scratch copy. */
static CK_RV kwp_open(struct cmk_op *op, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t *out_len, size_t bound)
{
    struct cmk_secret tmp = {0};
    size_t plain = 0;
    CK_RV rv;

    if (out == NULL || *out_len >= bound) {
        if (cmk_op_len_short(out, out_len, bound, &rv))
            return rv;
        rv = dec_rv(cmk_kwp_unwrap_key(op->u.kw.key, in, in_len, out, &plain));
        if (rv == CKR_OK)
            *out_len = plain;
        return rv;
    }
    if (cmk_secret_alloc(&tmp, bound) != CMK_OK)
        return CKR_HOST_MEMORY;
    rv = dec_rv(cmk_kwp_unwrap_key(op->u.kw.key, in, in_len, tmp.p, &plain));
    if (rv == CKR_OK && !cmk_op_len_short(out, out_len, plain, &rv)) {
        memcpy(out, tmp.p, plain);
        *out_len = plain;
    }
    cmk_secret_free(&tmp);
    return rv;
}

static CK_RV kw_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len)
{
    bool pad = op->u.kw.pad;
    size_t need = 0;
    CK_RV rv;

    rv = cmk_kw_out_len(pad, op->encrypt, in_len, &need);
    if (rv != CKR_OK)
        return dec_rv(rv);
    if (!op->encrypt && pad)
        return kwp_open(op, in, in_len, out, out_len, need);
    if (cmk_op_len_short(out, out_len, need, &rv))
        return rv;
    if (!op->encrypt)
        rv = dec_rv(cmk_kw_unwrap_key(op->u.kw.key, in, in_len, out));
    else if (pad)
        rv = cmk_kwp_wrap_key(op->u.kw.key, in, in_len, out);
    else
        rv = cmk_kw_wrap_key(op->u.kw.key, in, in_len, out);
    if (rv == CKR_OK)
        *out_len = need;
    return rv;
}

/* Key wrap is single-part only (mech.h). */
static CK_RV kw_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                       uint8_t *out, size_t *out_len)
{
    (void)op, (void)in, (void)in_len, (void)out, (void)out_len;
    return CKR_MECHANISM_INVALID;
}

static CK_RV kw_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    (void)op, (void)out, (void)out_len;
    return CKR_MECHANISM_INVALID;
}

static const struct op_vt kw_vt = {
    .oneshot = kw_oneshot,
    .update = kw_update,
    .final = kw_final,
    .cleanup = NULL,
};

CK_RV cmk_op_kw_init(struct cmk_op *op, const CK_MECHANISM *m)
{
    bool pad = m->mechanism != CKM_AES_KEY_WRAP;
    CK_RV rv = kw_param(m, pad);

    if (rv != CKR_OK)
        return rv;
    op->u.kw.pad = pad;
    op->vt = &kw_vt;
    return cmk_op_key_set(op, &op->u.kw.key);
}
