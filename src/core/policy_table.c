/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the attributes of a secret key (PKCS#11 3.0 sections 4.1, 4.4,
 * 4.7 and 4.10): kind, flags and default of each, and the checks every
 * template entry passes before create, set or copy look at it.
 */
#include <config.h>

#include <string.h>

#include "cmk-pkcs11.h"
#include "core/policy_int.h"

#define MAX_LABEL_LEN 256 /* CKA_LABEL and CKA_ID */

/* Every attribute a secret key has, in the order lists are built and
 * answered; then our vendor attributes. */
const struct adef cmk_policy_defs[] = {
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
    {CKA_CMK_HEALTH, K_ULONG, F_VENDOR, -1},
    {CKA_CMK_HEALTH_CHECKED, K_ULONG, F_VENDOR, -1},
};

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

/* Per-entry checks shared by create, set and copy; fills tv. */
static CK_RV check_entry(const CK_ATTRIBUTE *t, enum tmode m, struct tview *tv)
{
    int i = def_index(t->type);
    const struct adef *d;

    if (i < 0)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    d = &cmk_policy_defs[i];
    if (d->flags & F_VENDOR) /* users cannot make or change a CMK */
        return m == M_CREATE ? CKR_ATTRIBUTE_TYPE_INVALID
                             : CKR_ATTRIBUTE_READ_ONLY;
    if (m == M_CREATE && (d->flags & F_NOSET))
        return CKR_ATTRIBUTE_READ_ONLY;
    if (tv->e[i] != NULL) /* section 4.1.1 item 5 */
        return CKR_TEMPLATE_INCONSISTENT;
    tv->e[i] = t;
    return check_format(d, t);
}

CK_RV cmk_policy_check_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                                enum tmode m, struct tview *tv)
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
