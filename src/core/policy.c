/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: attribute policy for secret-key objects (PKCS#11 3.0 sections 4.1,
 * 4.4, 4.7, 4.10 and 5.7): set/copy, get and match, key use. Creation is
 * in policy_new.c, the attribute table and the template checks in
 * policy_table.c, the CMK object in policy_cmk.c.
 *
 * Choices where the specification leaves room, for all four files (in
 * section 4.1.1 terms):
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

#include <string.h>

#include "cmk-pkcs11.h"
#include "core/policy_int.h"

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
    const struct adef *d = &cmk_policy_defs[def_index(t->type)];
    bool old;

    if (d->flags & F_MOD)
        return CKR_OK;
    if (d->kind != K_BOOL || (d->flags & F_NOSET) || d->dflt < 0)
        return CKR_ATTRIBUTE_READ_ONLY;
    old = cmk_attrs_bool(cur, t->type, d->dflt > 0);
    return check_bool_change(t->type, old, tbool(t), copy);
}

/* The CMK's health (CKA_CMK_HEALTH, CKA_CMK_HEALTH_CHECKED) is the
 * module's to set: read-only on every object, before CKA_MODIFIABLE is
 * looked at (README, "Health"). */
static bool names_health(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ULONG i;

    for (i = 0; i < n; i++) {
        if (tmpl[i].type == CKA_CMK_HEALTH ||
            tmpl[i].type == CKA_CMK_HEALTH_CHECKED)
            return true;
    }
    return false;
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
    if (!copy && names_health(tmpl, n))
        return CKR_ATTRIBUTE_READ_ONLY;
    if (!copy && !cmk_attrs_bool(cur, CKA_MODIFIABLE, true))
        return CKR_ACTION_PROHIBITED; /* section 5.7.6 */
    if (copy && !cmk_attrs_bool(cur, CKA_COPYABLE, true))
        return CKR_ACTION_PROHIBITED; /* section 5.7.2 */
    rv = cmk_policy_check_template(tmpl, n, copy ? M_COPY : M_SET, &tv);
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
    return i >= 0 && !(cmk_policy_defs[i].flags & F_VENDOR);
}

/* One entry of C_GetAttributeValue (section 5.7.5 cases 1 to 5). */
static CK_RV get_one(const struct cmk_attrs *a, CK_ATTRIBUTE *t)
{
    const uint8_t *val;
    size_t len;

    if (t->type == CKA_VALUE && is_value_hidden(a))
        return cmk_attr_answer(t, CKR_ATTRIBUTE_SENSITIVE, NULL, 0);
    if (!lookup(a, t->type, &val, &len))
        return cmk_attr_answer(t, CKR_ATTRIBUTE_TYPE_INVALID, NULL, 0);
    return cmk_attr_answer(t, CKR_OK, val, len);
}

CK_RV cmk_policy_get(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    return cmk_attrs_answer(a, tmpl, n, get_one);
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
    if (cmk_policy_defs[i].kind == K_BOOL) /* any nonzero byte is TRUE */
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
