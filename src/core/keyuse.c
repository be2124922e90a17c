/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key checks and keyed operations for encrypt, decrypt, wrap and
 * unwrap. The key value is copied into the operation under the token lock,
 * so destroying the object later does not disturb an active operation.
 */
#include <config.h>

#include <string.h>

#include "cmk-pkcs11.h"
#include "core/keyuse.h"
#include "core/policy.h"
#include "core/token.h"

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
                   : CKR_KEY_TYPE_INCONSISTENT;
    return cmk_keyuse_is_envelope(m) ? CKR_KEY_TYPE_INCONSISTENT : CKR_OK;
}

static CK_RV dek_op(struct cmk_object *o, const CK_MECHANISM *m,
                    bool encrypt, struct cmk_op **out)
{
    const struct cmk_attr *v = cmk_attrs_get(&o->attrs, CKA_VALUE);
    CK_KEY_TYPE kt = cmk_attrs_ulong(&o->attrs, CKA_KEY_TYPE,
                                     CK_UNAVAILABLE_INFORMATION);

    if (v == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    return cmk_op_new(m, kt, v->val, v->len, encrypt, out);
}

struct kek_op_ctx {
    const CK_MECHANISM *m;
    bool encrypt;
    struct cmk_op **out;
    CK_RV rv;
};

static cmk_err make_kek_op(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct kek_op_ctx *c = arg;

    c->rv = cmk_op_new(c->m, CKK_AES, kek, kek_len, c->encrypt, c->out);
    return CMK_OK;
}

static CK_RV kek_op(struct cmk_object *o, const CK_MECHANISM *m,
                    bool encrypt, struct cmk_op **out)
{
    struct kek_op_ctx c = {m, encrypt, out, CKR_GENERAL_ERROR};
    cmk_err err;

    err = cmk_cmk_with_kek(o->token->cmk, make_kek_op, &c);
    if (err != CMK_OK)
        return cmk_err_rv(err);
    return c.rv;
}

CK_RV cmk_keyuse_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt,
                    struct cmk_op **out)
{
    struct cmk_token *t = o->token;
    CK_MECHANISM_INFO info;
    CK_RV rv;

    *out = NULL;
    if (cmk_mech_info(m->mechanism, &info) != CKR_OK)
        return CKR_MECHANISM_INVALID;
    cmk_mutex_lock(&t->lock);
    rv = check_key(o, m, usage);
    if (rv == CKR_OK && !o->is_cmk)
        rv = dek_op(o, m, encrypt, out);
    cmk_mutex_unlock(&t->lock);
    if (rv != CKR_OK || !o->is_cmk || cmk_keyuse_is_envelope(m))
        return rv;
    return kek_op(o, m, encrypt, out); /* KMS call without locks */
}
