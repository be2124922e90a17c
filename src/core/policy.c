/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: attribute policy for secret-key objects (PKCS#11 3.0 sections 4.1,
 * 4.4, 4.7, 4.10 and 5.7): creation templates, set/copy, get and match.
 *
 * Choices where the specification leaves room (all in section 4.1.1 terms):
 * - CKA_EXTRACTABLE defaults to TRUE so applications can wrap their DEKs
 *   (as SoftHSM2 does); CKA_SENSITIVE defaults to TRUE, CKA_PRIVATE TRUE.
 * - An attribute that "must not be specified" (table footnotes 2, 4, 6) or
 *   may never be set is CKR_ATTRIBUTE_READ_ONLY; one that must be specified
 *   and is missing is CKR_TEMPLATE_INCOMPLETE.
 * - A bad key length in a template (CKA_VALUE_LEN for C_GenerateKey,
 *   CKA_VALUE for C_CreateObject) is an invalid value of a valid attribute:
 *   CKR_ATTRIBUTE_VALUE_INVALID. An unwrapped value whose length does not
 *   fit the template's key type is inconsistent with the template:
 *   CKR_TEMPLATE_INCONSISTENT.
 * - CKA_VALUE_LEN may accompany C_UnwrapKey (mechanisms without length
 *   encoding need it) and must then equal the unwrapped length. ChaCha20
 *   key generation defaults CKA_VALUE_LEN to 32 (the only valid length).
 * - CKA_CHECK_VALUE (section 4.10): AES, the first 3 bytes of AES-ECB of a
 *   zero block; ChaCha20 defines none (length 0). A template value must be
 *   empty (no check value kept) or equal to ours.
 * - Key types other than AES and ChaCha20 are CKR_ATTRIBUTE_VALUE_INVALID.
 * - Nested CKA_WRAP_TEMPLATE/CKA_UNWRAP_TEMPLATE are not supported: only
 *   an empty one is accepted, and they always read back as length 0.
 * - A template naming an attribute twice is CKR_TEMPLATE_INCONSISTENT.
 * - C_FindObjects never matches on a CKA_VALUE that cannot be revealed, so
 *   a search cannot be used as a key oracle.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/keyrules.h"
#include "core/policy.h"
#include "mech/mech.h"
#include "util/secmem.h"

#define MAX_LABEL_LEN 256 /* CKA_LABEL and CKA_ID */
#define CHECK_VALUE_LEN 3
#define CHACHA20_KEY_LEN 32
#define CMK_KEY_LEN 32

enum kind {
    K_BOOL,  /* CK_BBOOL, 0 or 1 */
    K_ULONG, /* CK_ULONG */
    K_BYTES, /* any byte string */
    K_STR,   /* label, id: at most MAX_LABEL_LEN bytes */
    K_DATE,  /* CK_DATE or empty */
    K_MECHS, /* CK_MECHANISM_TYPE array */
    K_TMPL,  /* attribute template: only empty supported */
};

/* Attribute flags. */
#define F_NOSET 0x01u  /* never in a creation template: read-only */
#define F_MOD 0x02u    /* footnote 8: may change on set and copy */
#define F_VENDOR 0x04u /* ours, only on the CMK object */
#define F_STORE 0x08u  /* kept in every new key's list */

struct adef {
    CK_ATTRIBUTE_TYPE type;
    unsigned char kind;
    unsigned char flags;
    signed char dflt; /* K_BOOL default for new keys, -1 none */
};

/* Every attribute a secret key has, in the order lists are built and
 * answered; then our vendor attributes. */
static const struct adef defs[] = {
    {CKA_CLASS, K_ULONG, F_STORE, -1},
    {CKA_TOKEN, K_BOOL, F_STORE, 0},
    {CKA_PRIVATE, K_BOOL, F_STORE, 1},
    {CKA_MODIFIABLE, K_BOOL, F_STORE, 1},
    {CKA_LABEL, K_STR, F_STORE | F_MOD, -1},
    {CKA_COPYABLE, K_BOOL, F_STORE, 1},
    {CKA_DESTROYABLE, K_BOOL, F_STORE, 1},
    {CKA_UNIQUE_ID, K_BYTES, F_NOSET, -1},
    {CKA_KEY_TYPE, K_ULONG, F_STORE, -1},
    {CKA_ID, K_STR, F_STORE | F_MOD, -1},
    {CKA_START_DATE, K_DATE, F_STORE | F_MOD, -1},
    {CKA_END_DATE, K_DATE, F_STORE | F_MOD, -1},
    {CKA_DERIVE, K_BOOL, F_STORE | F_MOD, 0},
    {CKA_LOCAL, K_BOOL, F_STORE | F_NOSET, -1},
    {CKA_KEY_GEN_MECHANISM, K_ULONG, F_STORE | F_NOSET, -1},
    {CKA_ALLOWED_MECHANISMS, K_MECHS, F_STORE, -1},
    {CKA_SENSITIVE, K_BOOL, F_STORE, 1},
    {CKA_ENCRYPT, K_BOOL, F_STORE | F_MOD, 1},
    {CKA_DECRYPT, K_BOOL, F_STORE | F_MOD, 1},
    {CKA_SIGN, K_BOOL, F_STORE | F_MOD, 0},
    {CKA_VERIFY, K_BOOL, F_STORE | F_MOD, 0},
    {CKA_WRAP, K_BOOL, F_STORE | F_MOD, 1},
    {CKA_UNWRAP, K_BOOL, F_STORE | F_MOD, 1},
    {CKA_EXTRACTABLE, K_BOOL, F_STORE, 1},
    {CKA_ALWAYS_SENSITIVE, K_BOOL, F_STORE | F_NOSET, -1},
    {CKA_NEVER_EXTRACTABLE, K_BOOL, F_STORE | F_NOSET, -1},
    {CKA_CHECK_VALUE, K_BYTES, F_STORE, -1},
    {CKA_WRAP_WITH_TRUSTED, K_BOOL, F_STORE, 0},
    {CKA_TRUSTED, K_BOOL, F_STORE, 0},
    {CKA_WRAP_TEMPLATE, K_TMPL, 0, -1},
    {CKA_UNWRAP_TEMPLATE, K_TMPL, 0, -1},
    {CKA_VALUE, K_BYTES, F_STORE, -1},
    {CKA_VALUE_LEN, K_ULONG, F_STORE, -1},
    {CKA_CMK_PROVIDER, K_BYTES, F_VENDOR, -1},
    {CKA_CMK_KEY_REF, K_BYTES, F_VENDOR, -1},
    {CKA_CMK_IS_CMK, K_BOOL, F_VENDOR, -1},
};

#define NDEFS (sizeof(defs) / sizeof(defs[0]))

/* A template sorted by attribute: tv[i] is the entry for defs[i] or NULL. */
struct tview {
    const CK_ATTRIBUTE *e[NDEFS];
};

enum tmode { M_CREATE, M_SET, M_COPY };

static int def_index(CK_ATTRIBUTE_TYPE type)
{
    size_t i;

    for (i = 0; i < NDEFS; i++) {
        if (defs[i].type == type)
            return (int)i;
    }
    return -1;
}

static CK_RV rv_of(cmk_err err)
{
    return err == CMK_OK ? CKR_OK : cmk_err_rv(err);
}

static bool is_digits(const unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return true;
}

static unsigned two_digits(const unsigned char *p)
{
    return (unsigned)(p[0] - '0') * 10u + (unsigned)(p[1] - '0');
}

/* CK_DATE: empty, or "YYYYMMDD" with year 1900-9999, month 01-12, day
 * 01-31 (section 3.3). */
static bool is_valid_date(const CK_ATTRIBUTE *t)
{
    const unsigned char *p = t->pValue;
    unsigned month, day;

    if (t->ulValueLen == 0)
        return true;
    if (t->ulValueLen != sizeof(CK_DATE) || !is_digits(p, 8))
        return false;
    if (two_digits(p) < 19)
        return false;
    month = two_digits(p + 4);
    day = two_digits(p + 6);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Value format of one template entry for its attribute's kind. */
static CK_RV check_format(const struct adef *d, const CK_ATTRIBUTE *t)
{
    CK_ULONG len = t->ulValueLen;

    if (len != 0 && t->pValue == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (d->kind) {
    case K_BOOL:
        if (len != sizeof(CK_BBOOL) || *(const CK_BBOOL *)t->pValue > CK_TRUE)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return CKR_OK;
    case K_ULONG:
        return len == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_STR:
        return len <= MAX_LABEL_LEN ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_DATE:
        return is_valid_date(t) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_MECHS:
        return len % sizeof(CK_MECHANISM_TYPE) == 0
                   ? CKR_OK
                   : CKR_ATTRIBUTE_VALUE_INVALID;
    case K_TMPL:
        return len == 0 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    default:
        return CKR_OK;
    }
}

static bool tbool(const CK_ATTRIBUTE *t)
{
    return *(const CK_BBOOL *)t->pValue != CK_FALSE;
}

static CK_ULONG tulong(const CK_ATTRIBUTE *t)
{
    CK_ULONG v;

    memcpy(&v, t->pValue, sizeof(v)); /* template may be unaligned */
    return v;
}

/* Per-entry checks shared by create, set and copy; fills tv. */
static CK_RV check_entry(const CK_ATTRIBUTE *t, enum tmode m, struct tview *tv)
{
    int i = def_index(t->type);

    if (i < 0)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if (defs[i].flags & F_VENDOR) /* users cannot make or change a CMK */
        return m == M_CREATE ? CKR_ATTRIBUTE_TYPE_INVALID
                             : CKR_ATTRIBUTE_READ_ONLY;
    if (m == M_CREATE && (defs[i].flags & F_NOSET))
        return CKR_ATTRIBUTE_READ_ONLY;
    if (tv->e[i] != NULL) /* section 4.1.1 item 5 */
        return CKR_TEMPLATE_INCONSISTENT;
    tv->e[i] = t;
    return check_format(&defs[i], t);
}

static CK_RV check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, enum tmode m,
                            struct tview *tv)
{
    CK_ULONG i;
    CK_RV rv;

    memset(tv, 0, sizeof(*tv));
    for (i = 0; i < n; i++) {
        rv = check_entry(&tmpl[i], m, tv);
        if (rv != CKR_OK)
            return rv;
    }
    return CKR_OK;
}

static const CK_ATTRIBUTE *tv_get(const struct tview *tv,
                                  CK_ATTRIBUTE_TYPE type)
{
    int i = def_index(type);

    return i < 0 ? NULL : tv->e[i];
}

static bool tv_bool(const struct tview *tv, CK_ATTRIBUTE_TYPE type, bool dflt)
{
    const CK_ATTRIBUTE *t = tv_get(tv, type);

    return t == NULL ? dflt : tbool(t);
}

/* ---- Creation ---- */

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

/* First 3 bytes of AES-ECB(key, zero block) (section 4.10). */
static CK_RV aes_check_value(const uint8_t *key, size_t len,
                             uint8_t cv[CHECK_VALUE_LEN])
{
    static const uint8_t zero[16];
    CK_MECHANISM mech = {CKM_AES_ECB, NULL, 0};
    struct cmk_op *op = NULL;
    uint8_t block[16];
    size_t out_len = sizeof(block);
    CK_RV rv;

    rv = cmk_op_new(&mech, CKK_AES, key, len, true, &op);
    if (rv != CKR_OK)
        goto out;
    rv = cmk_op_oneshot(op, zero, sizeof(zero), block, &out_len);
    if (rv == CKR_OK && out_len != sizeof(block))
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        memcpy(cv, block, CHECK_VALUE_LEN);
out:
    cmk_op_free(op);
    sodium_memzero(block, sizeof(block));
    return rv;
}

/* Computes the check value and holds it against the template's. */
static CK_RV set_check_value(struct cmk_attrs *a, const struct tview *tv,
                             const struct keyval *kv)
{
    const CK_ATTRIBUTE *t = tv_get(tv, CKA_CHECK_VALUE);
    uint8_t cv[CHECK_VALUE_LEN] = {0};
    size_t cv_len = 0;
    CK_RV rv;

    if (kv->kt == CKK_AES && (t == NULL || t->ulValueLen != 0)) {
        rv = aes_check_value(kv->p, kv->len, cv);
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
static cmk_err set_defaults(struct cmk_attrs *a)
{
    static const CK_BBOOL b_true = CK_TRUE, b_false = CK_FALSE;
    static const CK_ULONG zero = 0;
    cmk_err err = CMK_OK;
    size_t i;

    for (i = 0; i < NDEFS && err == CMK_OK; i++) {
        if (!(defs[i].flags & F_STORE))
            continue;
        if (defs[i].kind == K_BOOL)
            err = cmk_attrs_add_new(a, defs[i].type,
                                    defs[i].dflt > 0 ? &b_true : &b_false,
                                    sizeof(CK_BBOOL));
        else if (defs[i].kind == K_ULONG)
            err = cmk_attrs_add_new(a, defs[i].type, &zero, sizeof(zero));
        else
            err = cmk_attrs_add_new(a, defs[i].type, NULL, 0);
    }
    return err;
}

/* Template values of the attributes a user may choose. */
static cmk_err set_chosen(struct cmk_attrs *a, const struct tview *tv)
{
    cmk_err err = CMK_OK;
    const CK_ATTRIBUTE *t;
    size_t i;

    for (i = 0; i < NDEFS && err == CMK_OK; i++) {
        t = tv->e[i];
        if (t == NULL || !(defs[i].flags & F_STORE))
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
    return set_check_value(a, tv, kv);
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
    rv = check_template(tmpl, n, M_CREATE, &tv);
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

/* ---- Set and copy ---- */

/* May a boolean go from old to new? Sections 4.4, 4.7, 4.10 footnotes. */
static CK_RV check_bool_change(CK_ATTRIBUTE_TYPE type, bool from, bool to,
                               bool copy)
{
    if (from == to)
        return CKR_OK;
    switch (type) {
    case CKA_TOKEN:
    case CKA_PRIVATE:
        return copy ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_MODIFIABLE: /* copy may only lock the new object down */
        return copy && !to ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_DESTROYABLE:
        return copy || !to ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_COPYABLE:    /* cannot be set to TRUE once FALSE */
    case CKA_EXTRACTABLE: /* footnote 12 */
    case CKA_TRUSTED:     /* TRUE only by the SO (footnote 10) */
        return !to ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    case CKA_SENSITIVE:         /* footnote 11 */
    case CKA_WRAP_WITH_TRUSTED: /* footnote 11 */
        return to ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
    default:
        return CKR_ATTRIBUTE_READ_ONLY;
    }
}

static CK_RV check_change(const struct cmk_attrs *cur, const CK_ATTRIBUTE *t,
                          bool copy)
{
    const struct adef *d = &defs[def_index(t->type)];
    bool old;

    if (d->flags & F_MOD)
        return CKR_OK;
    if (d->kind != K_BOOL || (d->flags & F_NOSET) || d->dflt < 0)
        return CKR_ATTRIBUTE_READ_ONLY;
    old = cmk_attrs_bool(cur, t->type, d->dflt > 0);
    return check_bool_change(t->type, old, tbool(t), copy);
}

CK_RV cmk_policy_apply(const struct cmk_attrs *cur, const CK_ATTRIBUTE *tmpl,
                       CK_ULONG n, bool copy, struct cmk_attrs *out)
{
    struct cmk_attrs a = {0};
    struct tview tv;
    CK_ULONG i;
    CK_RV rv;

    if (cur == NULL || out == NULL || (n != 0 && tmpl == NULL))
        return CKR_ARGUMENTS_BAD;
    if (!copy && !cmk_attrs_bool(cur, CKA_MODIFIABLE, true))
        return CKR_ACTION_PROHIBITED; /* section 5.7.6 */
    if (copy && !cmk_attrs_bool(cur, CKA_COPYABLE, true))
        return CKR_ACTION_PROHIBITED; /* section 5.7.2 */
    rv = check_template(tmpl, n, copy ? M_COPY : M_SET, &tv);
    for (i = 0; i < n && rv == CKR_OK; i++)
        rv = check_change(cur, &tmpl[i], copy);
    if (rv != CKR_OK)
        goto out;
    rv = rv_of(cmk_attrs_copy(&a, cur));
    for (i = 0; i < n && rv == CKR_OK; i++)
        rv = rv_of(cmk_attrs_set(&a, tmpl[i].type, tmpl[i].pValue,
                                 tmpl[i].ulValueLen));
    if (rv != CKR_OK)
        goto out;
    *out = a;
    memset(&a, 0, sizeof(a)); /* caller owns it */
out:
    cmk_attrs_clear(&a);
    return rv;
}

/* ---- Get, size, match ---- */

static bool is_value_hidden(const struct cmk_attrs *a)
{
    return cmk_attrs_bool(a, CKA_SENSITIVE, true) ||
           !cmk_attrs_bool(a, CKA_EXTRACTABLE, false);
}

/* The object's view of an attribute: its value, length 0 for a standard
 * attribute not kept (templates, a missing unique id), false when the
 * object has no such attribute. */
static bool lookup(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                   const uint8_t **val, size_t *len)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);
    int i = def_index(type);

    *val = NULL;
    *len = 0;
    if (at != NULL && i >= 0) {
        *val = at->val;
        *len = at->len;
        return true;
    }
    return i >= 0 && !(defs[i].flags & F_VENDOR);
}

/* One entry of C_GetAttributeValue (section 5.7.5 cases 1 to 5). */
static CK_RV get_one(const struct cmk_attrs *a, CK_ATTRIBUTE *t)
{
    const uint8_t *val;
    size_t len;

    if (t->type == CKA_VALUE && is_value_hidden(a)) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_SENSITIVE;
    }
    if (!lookup(a, t->type, &val, &len)) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (t->pValue == NULL) {
        t->ulValueLen = len;
        return CKR_OK;
    }
    if (t->ulValueLen < len) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len != 0)
        memcpy(t->pValue, val, len);
    t->ulValueLen = len;
    return CKR_OK;
}

CK_RV cmk_policy_get(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    bool sensitive = false, invalid = false, small = false;
    CK_ULONG i;
    CK_RV rv;

    if (a == NULL || (n != 0 && tmpl == NULL))
        return CKR_ARGUMENTS_BAD;
    for (i = 0; i < n; i++) { /* every entry, whatever failed before */
        rv = get_one(a, &tmpl[i]);
        sensitive |= rv == CKR_ATTRIBUTE_SENSITIVE;
        invalid |= rv == CKR_ATTRIBUTE_TYPE_INVALID;
        small |= rv == CKR_BUFFER_TOO_SMALL;
    }
    if (sensitive)
        return CKR_ATTRIBUTE_SENSITIVE;
    if (invalid)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    return small ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

CK_ULONG cmk_policy_size(const struct cmk_attrs *a)
{
    CK_ULONG sum = 0;
    size_t i;

    if (a == NULL)
        return 0;
    for (i = 0; i < a->n; i++)
        sum += (CK_ULONG)a->v[i].len;
    return sum;
}

static bool match_one(const struct cmk_attrs *a, const CK_ATTRIBUTE *t)
{
    int i = def_index(t->type);
    const uint8_t *val;
    size_t len;

    if (t->type == CKA_VALUE && is_value_hidden(a))
        return false;
    if (!lookup(a, t->type, &val, &len))
        return false;
    if (t->ulValueLen != 0 && t->pValue == NULL)
        return false;
    if (defs[i].kind == K_BOOL) /* any nonzero byte is TRUE */
        return t->ulValueLen == sizeof(CK_BBOOL) && len == 1 &&
               (tbool(t) == (val[0] != 0));
    return t->ulValueLen == len &&
           (len == 0 || memcmp(t->pValue, val, len) == 0);
}

bool cmk_policy_match(const struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                      CK_ULONG n)
{
    CK_ULONG i;

    if (a == NULL || (n != 0 && tmpl == NULL))
        return false;
    for (i = 0; i < n; i++) {
        if (!match_one(a, &tmpl[i]))
            return false;
    }
    return true;
}

/* ---- Use ---- */

CK_RV cmk_policy_allows(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE attr)
{
    if (a == NULL)
        return CKR_ARGUMENTS_BAD;
    switch (attr) {
    case CKA_ENCRYPT:
    case CKA_DECRYPT:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_SIGN:
    case CKA_VERIFY:
    case CKA_DERIVE:
        return cmk_attrs_bool(a, attr, false) ? CKR_OK
                                              : CKR_KEY_FUNCTION_NOT_PERMITTED;
    default:
        return CKR_ARGUMENTS_BAD;
    }
}

CK_RV cmk_policy_can_wrap(const struct cmk_attrs *wrapping,
                          const struct cmk_attrs *key)
{
    if (wrapping == NULL || key == NULL)
        return CKR_ARGUMENTS_BAD;
    if (!cmk_attrs_bool(key, CKA_EXTRACTABLE, false))
        return CKR_KEY_UNEXTRACTABLE;
    if (cmk_attrs_bool(key, CKA_WRAP_WITH_TRUSTED, false) &&
        !cmk_attrs_bool(wrapping, CKA_TRUSTED, false))
        return CKR_KEY_NOT_WRAPPABLE;
    return CKR_OK;
}

/* ---- The CMK object ---- */

static const struct {
    CK_ATTRIBUTE_TYPE type;
    bool v;
} cmk_bools[] = {
    {CKA_TOKEN, true},
    {CKA_PRIVATE, true},
    {CKA_MODIFIABLE, false},
    {CKA_COPYABLE, false},
    {CKA_DESTROYABLE, false},
    {CKA_DERIVE, false},
    {CKA_LOCAL, false},
    {CKA_SENSITIVE, true},
    {CKA_ENCRYPT, true},
    {CKA_DECRYPT, true},
    {CKA_SIGN, false},
    {CKA_VERIFY, false},
    {CKA_WRAP, true},
    {CKA_UNWRAP, true},
    {CKA_EXTRACTABLE, false},
    {CKA_ALWAYS_SENSITIVE, true},
    {CKA_NEVER_EXTRACTABLE, true},
    {CKA_WRAP_WITH_TRUSTED, false},
    {CKA_TRUSTED, true},
    {CKA_CMK_IS_CMK, true},
};

static const struct {
    CK_ATTRIBUTE_TYPE type;
    CK_ULONG v;
} cmk_ulongs[] = {
    {CKA_CLASS, CKO_SECRET_KEY},
    {CKA_KEY_TYPE, CKK_AES},
    {CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION},
    {CKA_VALUE_LEN, CMK_KEY_LEN},
};

static cmk_err cmk_fixed(struct cmk_attrs *a)
{
    static const CK_ATTRIBUTE_TYPE empty[] = {CKA_START_DATE, CKA_END_DATE,
                                              CKA_CHECK_VALUE};
    /* What the CMK does (the direct path, and the KEK path's standard
     * mechanisms); anything else is CKR_MECHANISM_INVALID. */
    static const CK_MECHANISM_TYPE mechs[] = {
        CKM_CMK_ENVELOPE, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP,
        CKM_AES_KEY_WRAP_PAD, CKM_AES_GCM};
    cmk_err err;
    size_t i;

    err = cmk_attrs_set(a, CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs));

    for (i = 0; i < sizeof(cmk_ulongs) / sizeof(cmk_ulongs[0]); i++) {
        if (err == CMK_OK)
            err = cmk_attrs_set_ulong(a, cmk_ulongs[i].type, cmk_ulongs[i].v);
    }
    for (i = 0; i < sizeof(cmk_bools) / sizeof(cmk_bools[0]); i++) {
        if (err == CMK_OK)
            err = cmk_attrs_set_bool(a, cmk_bools[i].type, cmk_bools[i].v);
    }
    for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        if (err == CMK_OK)
            err = cmk_attrs_set(a, empty[i], NULL, 0);
    }
    return err;
}

CK_RV cmk_policy_cmk_object(const char *label, const uint8_t *id, size_t id_len,
                            const char *provider, const char *key_ref,
                            struct cmk_attrs *out)
{
    struct cmk_attrs a = {0};
    cmk_err err;

    if (out == NULL || provider == NULL || key_ref == NULL ||
        (id == NULL && id_len != 0))
        return CKR_ARGUMENTS_BAD;
    err = cmk_fixed(&a);
    if (err == CMK_OK)
        err = cmk_attrs_set(&a, CKA_LABEL, label,
                            label != NULL ? strlen(label) : 0);
    if (err == CMK_OK)
        err = cmk_attrs_set(&a, CKA_ID, id, id_len);
    if (err == CMK_OK)
        err = cmk_attrs_set(&a, CKA_CMK_PROVIDER, provider, strlen(provider));
    if (err == CMK_OK)
        err = cmk_attrs_set(&a, CKA_CMK_KEY_REF, key_ref, strlen(key_ref));
    if (err == CMK_OK) {
        *out = a;
        memset(&a, 0, sizeof(a)); /* caller owns it */
    }
    cmk_attrs_clear(&a);
    return rv_of(err);
}
