/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: attribute policy for new secret keys (PKCS#11 3.0 sections 4.1,
 * 4.7, 4.10 and the footnotes of table 4.4): the full attribute list of a
 * generated, unwrapped or imported key from its template and defaults.
 * The choices made where the specification leaves room are listed in
 * policy.c.
 */
#include <config.h>

#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "core/keyrules.h"
#include "core/policy_int.h"
#include "mech/mech.h"
#include "util/secmem.h"

#define CHECK_VALUE_LEN 3
#define CHACHA20_KEY_LEN 32

static bool is_key_type(CK_KEY_TYPE kt)
{
    return kt == CKK_AES || kt == CKK_CHACHA20;
}

static bool is_key_len(CK_KEY_TYPE kt, size_t len)
{
    if (kt == CKK_AES)
        return len == 16 || len == 24 || len == 32;
    return kt == CKK_CHACHA20 && len == CHACHA20_KEY_LEN;
}

/* Class, trust, session and login: everything but the key itself. */
static CK_RV check_object(const struct cmk_new_key *nk, const struct tview *tv)
{
    const CK_ATTRIBUTE *t = tv_get(tv, CKA_CLASS);

    if (t != NULL && tulong(t) != CKO_SECRET_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    if (tv_bool(tv, CKA_TRUSTED, false)) /* only the SO (footnote 10) */
        return CKR_ATTRIBUTE_READ_ONLY;
    if (tv_bool(tv, CKA_TOKEN, false) && !nk->rw_session)
        return CKR_SESSION_READ_ONLY;
    if (tv_bool(tv, CKA_PRIVATE, true) && !nk->logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

/* The key being made: type and value (generated into gen if asked). */
struct keyval {
    CK_KEY_TYPE kt;
    const uint8_t *p;
    size_t len;
    struct cmk_secret gen;
};

static CK_RV key_generate(const struct cmk_new_key *nk, const struct tview *tv,
                          struct keyval *kv)
{
    const CK_ATTRIBUTE *t = tv_get(tv, CKA_KEY_TYPE);
    const CK_ATTRIBUTE *vl = tv_get(tv, CKA_VALUE_LEN);
    CK_ULONG len;

    kv->kt = nk->mech_key_type;
    if (!is_key_type(kv->kt))
        return CKR_MECHANISM_INVALID;
    if (t != NULL && tulong(t) != kv->kt)
        return CKR_TEMPLATE_INCONSISTENT;
    if (tv_get(tv, CKA_VALUE) != NULL) /* footnote 4 */
        return CKR_ATTRIBUTE_READ_ONLY;
    if (vl == NULL && kv->kt == CKK_AES) /* footnote 3 */
        return CKR_TEMPLATE_INCOMPLETE;
    len = vl != NULL ? tulong(vl) : CHACHA20_KEY_LEN;
    if (!is_key_len(kv->kt, len))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (cmk_secret_alloc(&kv->gen, len) != CMK_OK)
        return CKR_HOST_MEMORY;
    cmk_random(kv->gen.p, len);
    kv->p = kv->gen.p;
    kv->len = len;
    return CKR_OK;
}

static CK_RV key_unwrap(const struct cmk_new_key *nk, const struct tview *tv,
                        struct keyval *kv)
{
    const CK_ATTRIBUTE *vl = tv_get(tv, CKA_VALUE_LEN);

    if (nk->value == NULL && nk->value_len != 0)
        return CKR_ARGUMENTS_BAD;
    if (tv_get(tv, CKA_VALUE) != NULL) /* footnote 6 */
        return CKR_ATTRIBUTE_READ_ONLY;
    if (vl != NULL && tulong(vl) != nk->value_len)
        return CKR_TEMPLATE_INCONSISTENT;
    if (!is_key_len(kv->kt, nk->value_len))
        return CKR_TEMPLATE_INCONSISTENT;
    kv->p = nk->value;
    kv->len = nk->value_len;
    return CKR_OK;
}

static CK_RV key_create(const struct tview *tv, struct keyval *kv)
{
    const CK_ATTRIBUTE *v = tv_get(tv, CKA_VALUE);

    if (tv_get(tv, CKA_VALUE_LEN) != NULL) /* footnote 2 */
        return CKR_ATTRIBUTE_READ_ONLY;
    if (v == NULL) /* footnote 1 */
        return CKR_TEMPLATE_INCOMPLETE;
    if (!is_key_len(kv->kt, v->ulValueLen))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    kv->p = v->pValue;
    kv->len = v->ulValueLen;
    return CKR_OK;
}

static CK_RV resolve_key(const struct cmk_new_key *nk, const struct tview *tv,
                         struct keyval *kv)
{
    const CK_ATTRIBUTE *t = tv_get(tv, CKA_KEY_TYPE);

    if (nk->origin == CMK_ORIGIN_GENERATE)
        return key_generate(nk, tv, kv);
    if (t == NULL) /* footnotes 1 and 5 */
        return CKR_TEMPLATE_INCOMPLETE;
    kv->kt = tulong(t);
    if (!is_key_type(kv->kt))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (nk->origin == CMK_ORIGIN_UNWRAP)
        return key_unwrap(nk, tv, kv);
    if (nk->origin == CMK_ORIGIN_CREATE)
        return key_create(tv, kv);
    return CKR_ARGUMENTS_BAD;
}

/* Computes the check value and holds it against the template's. */
static CK_RV set_check_value(struct cmk_attrs *a, const struct tview *tv,
                             const struct keyval *kv,
                             const struct cmk_keyctx *kc)
{
    const CK_ATTRIBUTE *t = tv_get(tv, CKA_CHECK_VALUE);
    uint8_t cv[CHECK_VALUE_LEN] = {0};
    size_t cv_len = 0;
    CK_RV rv;

    if (kv->kt == CKK_AES && (t == NULL || t->ulValueLen != 0)) {
        rv = cmk_aes_check_value(kv->p, kv->len, kc, cv);
        if (rv != CKR_OK)
            return rv;
        cv_len = sizeof(cv);
    }
    if (t != NULL && t->ulValueLen != 0 &&
        (t->ulValueLen != cv_len || memcmp(t->pValue, cv, cv_len) != 0))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return rv_of(cmk_attrs_set(a, CKA_CHECK_VALUE, cv, cv_len));
}

/* Every stored attribute, in table order, at its default. a starts empty
 * and the table names each type once. */
/* The stored attributes' defaults, in table order: built once, copied
 * into every new key's list in one go (util/attrs.h). */
static struct cmk_attr defaults[CMK_POLICY_NDEFS];
static size_t n_defaults;
static pthread_once_t defaults_once = PTHREAD_ONCE_INIT;

static void build_defaults(void)
{
    static const CK_ULONG zero = 0;
    const struct adef *d;
    struct cmk_attr *e;
    size_t i;

    for (i = 0; i < CMK_POLICY_NDEFS; i++) {
        d = &cmk_policy_defs[i];
        if (!(d->flags & F_STORE))
            continue;
        e = &defaults[n_defaults++];
        e->type = d->type;
        if (d->kind == K_BOOL) {
            e->len = sizeof(CK_BBOOL);
            e->inl[0] = d->dflt > 0 ? CK_TRUE : CK_FALSE;
        } else if (d->kind == K_ULONG) {
            e->len = sizeof(zero);
            memcpy(e->inl, &zero, sizeof(zero));
        }
    }
}

static cmk_err set_defaults(struct cmk_attrs *a)
{
    (void)pthread_once(&defaults_once, build_defaults);
    return cmk_attrs_init_inline(a, defaults, n_defaults);
}

/* Template values of the attributes a user may choose. */
static cmk_err set_chosen(struct cmk_attrs *a, const struct tview *tv)
{
    cmk_err err = CMK_OK;
    const CK_ATTRIBUTE *t;
    size_t i;

    for (i = 0; i < CMK_POLICY_NDEFS && err == CMK_OK; i++) {
        t = tv->e[i];
        if (t == NULL || !(cmk_policy_defs[i].flags & F_STORE))
            continue;
        switch (t->type) {
        case CKA_CLASS:
        case CKA_KEY_TYPE:
        case CKA_CHECK_VALUE:
        case CKA_VALUE:
        case CKA_VALUE_LEN:
            continue; /* derived in set_derived */
        default:
            err = cmk_attrs_set(a, t->type, t->pValue, t->ulValueLen);
        }
    }
    return err;
}

static cmk_err set_derived(struct cmk_attrs *a, const struct cmk_new_key *nk,
                           const struct keyval *kv)
{
    bool gen = nk->origin == CMK_ORIGIN_GENERATE;
    bool sens = cmk_attrs_bool(a, CKA_SENSITIVE, true);
    bool extr = cmk_attrs_bool(a, CKA_EXTRACTABLE, true);
    cmk_err err;

    err = cmk_attrs_set_ulong(a, CKA_CLASS, CKO_SECRET_KEY);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_KEY_TYPE, kv->kt);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_LOCAL, gen);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_KEY_GEN_MECHANISM,
                                  gen ? nk->gen_mech
                                      : CK_UNAVAILABLE_INFORMATION);
    if (err == CMK_OK) /* sections 4.7, 4.10: only a local key is known */
        err = cmk_attrs_set_bool(a, CKA_ALWAYS_SENSITIVE, gen && sens);
    if (err == CMK_OK)
        err = cmk_attrs_set_bool(a, CKA_NEVER_EXTRACTABLE, gen && !extr);
    if (err == CMK_OK)
        err = cmk_attrs_set(a, CKA_VALUE, kv->p, kv->len);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_VALUE_LEN, (CK_ULONG)kv->len);
    return err;
}

static CK_RV build_secret(const struct cmk_new_key *nk, const struct tview *tv,
                          const struct keyval *kv, struct cmk_attrs *a)
{
    cmk_err err;

    err = set_defaults(a);
    if (err == CMK_OK)
        err = set_chosen(a, tv);
    if (err == CMK_OK)
        err = set_derived(a, nk, kv);
    if (err != CMK_OK)
        return rv_of(err);
    return set_check_value(a, tv, kv, nk->kctx);
}

CK_RV cmk_policy_new_secret(const struct cmk_new_key *nk,
                            const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                            struct cmk_attrs *out)
{
    struct cmk_attrs a = {0};
    struct keyval kv = {0};
    struct tview tv;
    CK_RV rv;

    if (nk == NULL || out == NULL || (n != 0 && tmpl == NULL))
        return CKR_ARGUMENTS_BAD;
    rv = cmk_policy_check_template(tmpl, n, M_CREATE, &tv);
    if (rv != CKR_OK)
        goto out;
    rv = check_object(nk, &tv);
    if (rv != CKR_OK)
        goto out;
    rv = resolve_key(nk, &tv, &kv);
    if (rv != CKR_OK)
        goto out;
    rv = build_secret(nk, &tv, &kv, &a);
    if (rv == CKR_OK && !nk->mixed_roles_ok)
        rv = cmk_keyrules_settle_roles(&a, tmpl, n);
    if (rv == CKR_OK && nk->by_trusted)
        rv = cmk_keyrules_settle_unwrapped(&a, tmpl, n);
    if (rv != CKR_OK)
        goto out;
    *out = a;
    memset(&a, 0, sizeof(a)); /* caller owns it */
out:
    cmk_attrs_clear(&a);
    cmk_secret_free(&kv.gen);
    return rv;
}
