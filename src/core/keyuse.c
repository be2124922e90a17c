/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key checks and keyed operations for encrypt, decrypt, wrap and
 * unwrap. The key value is copied into the operation under the token lock,
 * so destroying the object later does not disturb an active operation.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/keyrules.h"
#include "core/keyuse.h"
#include "core/policy.h"
#include "core/token.h"
#include "util/log.h"

bool cmk_keyuse_is_envelope(const CK_MECHANISM *m)
{
    return m->mechanism == CKM_CMK_ENVELOPE;
}

static bool is_kek_path(CK_MECHANISM_TYPE t)
{
    return t == CKM_AES_KEY_WRAP || t == CKM_AES_KEY_WRAP_PAD ||
           t == CKM_AES_KEY_WRAP_KWP || t == CKM_AES_GCM;
}

static CK_RV check_allowed(const struct cmk_attrs *a, CK_MECHANISM_TYPE t)
{
    const struct cmk_attr *am = cmk_attrs_get(a, CKA_ALLOWED_MECHANISMS);
    CK_MECHANISM_TYPE one;
    size_t i;

    if (am == NULL || am->len == 0)
        return CKR_OK;
    for (i = 0; i + sizeof(one) <= am->len; i += sizeof(one)) {
        memcpy(&one, am->val + i, sizeof(one));
        if (one == t)
            return CKR_OK;
    }
    return CKR_MECHANISM_INVALID;
}

/* Checks that need the token lock (attributes may change). */
static CK_RV check_key(struct cmk_object *o, const CK_MECHANISM *m,
                       CK_ATTRIBUTE_TYPE usage)
{
    const struct cmk_attrs *a = &o->attrs;
    CK_RV rv;

    if (cmk_attrs_ulong(a, CKA_CLASS, CKO_DATA) != CKO_SECRET_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    rv = cmk_policy_allows(a, usage);
    if (rv == CKR_OK)
        rv = check_allowed(a, m->mechanism);
    if (rv != CKR_OK)
        return rv;
    if (o->is_cmk)
        return cmk_keyuse_is_envelope(m) || is_kek_path(m->mechanism)
                   ? CKR_OK
                   : CKR_MECHANISM_INVALID;
    /* A key of both role families made before the policy (keyrules.h). */
    if (!o->token->cfg->mixed_roles && cmk_keyrules_mixed(a))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    return cmk_keyuse_is_envelope(m) ? CKR_KEY_TYPE_INCONSISTENT : CKR_OK;
}

/* A DEK's value and type, copied under the token lock so that the key
 * schedule is built after it is released. */
struct dek_copy {
    uint8_t key[64];
    size_t len;
    CK_KEY_TYPE kt;
};

static CK_RV copy_dek(const struct cmk_object *o, struct dek_copy *d)
{
    const struct cmk_attr *v = cmk_attrs_get(&o->attrs, CKA_VALUE);

    d->kt =
        cmk_attrs_ulong(&o->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    if (v == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (v->len > sizeof(d->key))
        return CKR_KEY_SIZE_RANGE;
    memcpy(d->key, v->val, v->len);
    d->len = v->len;
    return CKR_OK;
}

struct kek_op_ctx {
    const CK_MECHANISM *m;
    bool encrypt;
    bool data; /* C_Encrypt/C_Decrypt: the data key, not the KEK */
    struct cmk_op **out;
    CK_RV rv;
};

/* The CMK's data key: HKDF-SHA256(IKM KEK, no salt, this info), 32
 * bytes, computed in the secure pool (mech/kdf.c). */
#define DATA_KEY_INFO "cmk-pkcs11 cmk data key v1"

static cmk_err make_kek_op(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct kek_op_ctx *c = arg;
    struct cmk_secret dk = {0};

    if (!c->data) {
        c->rv = cmk_op_new(c->m, CKK_AES, kek, kek_len, c->encrypt, c->out);
        return CMK_OK;
    }
    /* The CMK's wrap and data roles never share a key: what it wraps
     * under the KEK cannot be C_Decrypted by it (DESIGN.md). */
    c->rv =
        cmk_hkdf_sha256(NULL, 0, kek, kek_len, (const uint8_t *)DATA_KEY_INFO,
                        sizeof(DATA_KEY_INFO) - 1, 32, &dk);
    if (c->rv == CKR_OK)
        c->rv = cmk_op_new(c->m, CKK_AES, dk.p, dk.len, c->encrypt, c->out);
    cmk_secret_free(&dk);
    return CMK_OK;
}

static enum cmk_err_call call_of(CK_ATTRIBUTE_TYPE usage)
{
    if (usage == CKA_WRAP)
        return CMK_CALL_WRAP;
    return usage == CKA_UNWRAP ? CMK_CALL_UNWRAP : CMK_CALL_INIT;
}

/* Why the KEK could not be had, as call may say it. The KEK is the
 * token's own: its sealed copy refused, or a KMS answer that is no KEK,
 * is a device problem, never the caller's data; the CMK refused or gone
 * answers as for the direct path (util/err.c). */
static CK_RV kek_rv(cmk_err err, CK_ATTRIBUTE_TYPE usage)
{
    if (err == CMK_E_BAD_BLOB || err == CMK_E_BAD_CIPHERTEXT ||
        err == CMK_E_TOO_LARGE || err == CMK_E_BAD_RESPONSE)
        return CKR_DEVICE_ERROR;
    return cmk_err_rv_in(err, call_of(usage));
}

static CK_RV kek_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt, struct cmk_op **out)
{
    struct kek_op_ctx c = {m, encrypt,
                           usage == CKA_ENCRYPT || usage == CKA_DECRYPT, out,
                           CKR_GENERAL_ERROR};
    cmk_err err;

    /* Not provisioned: the CMK can do the direct path only. C_WrapKey and
     * C_UnwrapKey cannot say CKR_KEY_FUNCTION_NOT_PERMITTED (PKCS#11 3.0
     * section 5.14): for them the mechanism is not one this CMK has. */
    if (o->token->cfg->kms.kek_blob_len == 0) {
        cmk_log_debug("tenant %s has no KEK (cmk-tool provision): KEK-path "
                      "mechanisms refused",
                      o->token->cfg->kms.label);
        return call_of(usage) == CMK_CALL_INIT ? CKR_KEY_FUNCTION_NOT_PERMITTED
                                               : CKR_MECHANISM_INVALID;
    }
    err = cmk_cmk_with_kek(o->token->cmk, make_kek_op, &c);
    if (err != CMK_OK)
        return kek_rv(err, usage);
    return c.rv;
}

CK_RV cmk_keyuse_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt,
                    struct cmk_note *note, struct cmk_op **out)
{
    struct cmk_token *t = o->token;
    struct dek_copy d = {.len = 0};
    CK_MECHANISM_INFO info;
    CK_RV rv;

    *out = NULL;
    if (cmk_mech_info(m->mechanism, &info) != CKR_OK)
        return CKR_MECHANISM_INVALID;
    /* One short hold of the token lock per operation: checks, audit
     * fields and the key copy; the key schedule is built outside it. */
    cmk_mutex_lock_hot(&t->lock);
    if (note != NULL)
        cmk_note_key_locked(note, o);
    rv = check_key(o, m, usage);
    if (rv == CKR_OK && !o->is_cmk)
        rv = copy_dek(o, &d);
    cmk_mutex_unlock(&t->lock);
    if (rv == CKR_OK && !o->is_cmk)
        rv = cmk_op_new(m, d.kt, d.key, d.len, encrypt, out);
    sodium_memzero(&d, sizeof(d));
    if (rv != CKR_OK || !o->is_cmk || cmk_keyuse_is_envelope(m))
        return rv;
    return kek_op(o, m, usage, encrypt, out); /* KMS call without locks */
}

/* ---- KEK-path unwrap in a data-key rotation's overlap window ---- */

struct prev_ctx {
    const CK_MECHANISM *m;
    const uint8_t *in;
    size_t in_len;
    struct cmk_secret *val;
    CK_RV rv;
};

static cmk_err unwrap_prev(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct prev_ctx *c = arg;
    struct cmk_op *op = NULL;
    size_t n = c->val->len;

    c->rv = cmk_op_new(c->m, CKK_AES, kek, kek_len, false, &op);
    if (c->rv == CKR_OK)
        c->rv = cmk_op_oneshot(op, c->in, c->in_len, c->val->p, &n);
    cmk_op_free(op);
    if (c->rv == CKR_OK)
        c->val->len = n;
    return CMK_OK;
}

CK_RV cmk_keyuse_unwrap_prev(struct cmk_object *o, const CK_MECHANISM *m,
                             const uint8_t *in, size_t in_len,
                             struct cmk_secret *val)
{
    struct prev_ctx c = {m, in, in_len, val, CKR_ENCRYPTED_DATA_INVALID};
    size_t i, cap = val->len, count = cmk_cmk_kek_count(o->token->cmk);
    CK_RV first = CKR_OK;
    cmk_err err;

    for (i = 1; i < count; i++) {
        val->len = cap;
        err = cmk_cmk_with_kek_at(o->token->cmk, i, unwrap_prev, &c);
        if (err == CMK_OK && c.rv == CKR_OK)
            return CKR_OK;
        /* Expired (or past the end): not tried. A KEK in its window that
         * cannot be had (refused, wrong commitment) is the answer unless
         * another one opens the blob. */
        if (err != CMK_OK && err != CMK_E_KEY_NOT_FOUND && first == CKR_OK)
            first = kek_rv(err, CKA_UNWRAP);
    }
    val->len = cap;
    return first != CKR_OK ? first : CKR_ENCRYPTED_DATA_INVALID;
}
