/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: struct cmk_op life cycle and dispatch. Checks arguments and
 * operation state, applies the buffer-overlap rule and decides when an
 * operation is over; the mechanism files do the work, with the helpers
 * of op_util.c. Ops live in the secure pool, with their key schedules.
 */
#include <config.h>

#include "mech/op_int.h"
#include "util/regs.h"
#include "util/secpool.h"

_Static_assert(sizeof(struct cmk_op) <= CMK_SECPOOL_MAX,
               "struct cmk_op must fit a secure pool slot");

static const struct op_desc {
    CK_MECHANISM_TYPE type;
    CK_KEY_TYPE kt;
    op_init_fn init;
} g_ops[] = {
    {CKM_AES_ECB, CKK_AES, cmk_op_blk_init},
    {CKM_AES_CBC, CKK_AES, cmk_op_blk_init},
    {CKM_AES_CBC_PAD, CKK_AES, cmk_op_blk_init},
    {CKM_AES_CTR, CKK_AES, cmk_op_ctr_init},
    {CKM_AES_GCM, CKK_AES, cmk_op_gcm_init},
    {CKM_CHACHA20_POLY1305, CKK_CHACHA20, cmk_op_chacha_init},
    {CKM_AES_KEY_WRAP, CKK_AES, cmk_op_kw_init},
    {CKM_AES_KEY_WRAP_PAD, CKK_AES, cmk_op_kw_init},
    {CKM_AES_KEY_WRAP_KWP, CKK_AES, cmk_op_kw_init},
};

static const struct op_desc *find_op(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < sizeof(g_ops) / sizeof(g_ops[0]); i++) {
        if (g_ops[i].type == type)
            return &g_ops[i];
    }
    return NULL;
}

CK_RV cmk_op_check(const CK_MECHANISM *mech, CK_KEY_TYPE kt, size_t key_len)
{
    const struct op_desc *d;

    if (mech == NULL)
        return CKR_ARGUMENTS_BAD;
    d = find_op(mech->mechanism);
    if (d == NULL)
        return CKR_MECHANISM_INVALID;
    if (kt != d->kt)
        return CKR_KEY_TYPE_INCONSISTENT;
    return cmk_mech_check_key_len(kt, key_len);
}

CK_RV cmk_op_new_keyed(const CK_MECHANISM *mech, struct cmk_keyctx *kc,
                       bool encrypt, struct cmk_op **out)
{
    const struct op_desc *d;
    struct cmk_op *op = NULL;
    CK_RV rv;

    if (mech == NULL || kc == NULL || out == NULL)
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    rv = cmk_op_check(mech, kc->kt, kc->len);
    d = find_op(mech->mechanism);
    if (rv != CKR_OK || d == NULL)
        return rv != CKR_OK ? rv : CKR_MECHANISM_INVALID;
    op = cmk_secmem_alloc(sizeof(*op)); /* zeroed */
    if (op == NULL)
        return CKR_HOST_MEMORY;
    op->kc = cmk_keyctx_ref(kc); /* an object destroyed now leaves it */
    op->mech = mech->mechanism;
    op->encrypt = encrypt;
    rv = d->init(op, mech);
    cmk_regs_wipe(); /* the IV's hash (GCM) ran in vector registers */
    if (rv != CKR_OK)
        goto out;
    *out = op;
    op = NULL; /* caller owns it */
out:
    cmk_op_free(op);
    return rv;
}

CK_RV cmk_op_new(const CK_MECHANISM *mech, CK_KEY_TYPE kt, const uint8_t *key,
                 size_t key_len, bool encrypt, struct cmk_op **out)
{
    struct cmk_keyctx *kc = NULL;
    CK_RV rv;

    if (mech == NULL || out == NULL || (key == NULL && key_len > 0))
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    rv = cmk_op_check(mech, kt, key_len);
    if (rv == CKR_OK)
        rv = cmk_keyctx_new_for(mech->mechanism, kt, key, key_len, &kc);
    if (rv == CKR_OK)
        rv = cmk_op_new_keyed(mech, kc, encrypt, out);
    cmk_keyctx_unref(kc); /* the op holds its own reference */
    return rv;
}

const struct cmk_keyctx *cmk_op_keyctx(const struct cmk_op *op)
{
    return op != NULL ? op->kc : NULL;
}

void cmk_op_free(struct cmk_op *op)
{
    if (op == NULL)
        return;
    if (op->vt != NULL && op->vt->cleanup != NULL)
        op->vt->cleanup(op);
    cmk_keyctx_unref(op->kc); /* wiped here if the key went meanwhile */
    cmk_secmem_free(op);      /* wipes the message state */
}

/* in and out may be the same buffer when no earlier input is pending;
 * any other overlap would overwrite input before it is read. */
static bool overlap_bad(const struct cmk_op *op, const uint8_t *in,
                        size_t in_len, const uint8_t *out, size_t out_cap)
{
    uintptr_t i = (uintptr_t)in, o = (uintptr_t)out;

    if (in == NULL || out == NULL || in_len == 0 || out_cap == 0)
        return false;
    if (i + in_len <= o || o + out_cap <= i)
        return false;
    return !(i == o && op->hold_len == 0);
}

/* PKCS#11 3.0 5.2 and 5.8: only CKR_BUFFER_TOO_SMALL and a length query
 * leave the operation alive; any other error ends it. Every data call
 * ends here, so this is where the cipher's registers are cleared. */
static CK_RV settle(struct cmk_op *op, CK_RV rv, const uint8_t *out, bool last)
{
    cmk_regs_wipe();
    if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && out == NULL))
        return rv;
    if (rv != CKR_OK || last)
        op->done = true;
    else
        op->active = true;
    return rv;
}

/* Arguments of a data call; op itself is checked by the caller. */
static CK_RV check_io(const struct cmk_op *op, const uint8_t *in, size_t in_len,
                      const uint8_t *out, size_t out_cap)
{
    if (in == NULL && in_len > 0)
        return CKR_ARGUMENTS_BAD;
    if (overlap_bad(op, in, in_len, out, out_cap))
        return CKR_ARGUMENTS_BAD;
    return CKR_OK;
}

CK_RV cmk_op_oneshot(struct cmk_op *op, const uint8_t *in, size_t in_len,
                     uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (op == NULL || out_len == NULL)
        return CKR_ARGUMENTS_BAD;
    if (op->done)
        return CKR_OPERATION_NOT_INITIALIZED;
    rv = check_io(op, in, in_len, out, *out_len);
    if (rv == CKR_OK && op->active)
        rv = CKR_OPERATION_ACTIVE; /* C_Encrypt cannot end a multi-part */
    if (rv == CKR_OK)
        rv = op->vt->oneshot(op, in, in_len, out, out_len);
    return settle(op, rv, out, true);
}

CK_RV cmk_op_update(struct cmk_op *op, const uint8_t *in, size_t in_len,
                    uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (op == NULL || out_len == NULL)
        return CKR_ARGUMENTS_BAD;
    if (op->done)
        return CKR_OPERATION_NOT_INITIALIZED;
    rv = check_io(op, in, in_len, out, *out_len);
    if (rv == CKR_OK)
        rv = op->vt->update(op, in, in_len, out, out_len);
    return settle(op, rv, out, false);
}

CK_RV cmk_op_final(struct cmk_op *op, uint8_t *out, size_t *out_len)
{
    CK_RV rv;

    if (op == NULL || out_len == NULL)
        return CKR_ARGUMENTS_BAD;
    if (op->done)
        return CKR_OPERATION_NOT_INITIALIZED;
    rv = op->vt->final(op, out, out_len);
    return settle(op, rv, out, true);
}
