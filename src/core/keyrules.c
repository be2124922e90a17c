/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key role separation and the protection of keys the CMK unwraps
 * (see keyrules.h for the rules and why).
 */
#include <config.h>

#include <string.h>

#include "core/keyrules.h"

static const CK_ATTRIBUTE_TYPE roles[] = {CKA_WRAP, CKA_UNWRAP, CKA_ENCRYPT,
                                          CKA_DECRYPT};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

static bool is_wrap_role(CK_ATTRIBUTE_TYPE r)
{
    return r == CKA_WRAP || r == CKA_UNWRAP;
}

/* A boolean template entry: 1 TRUE, 0 FALSE, -1 absent or malformed (the
 * attribute policy refuses malformed entries itself). */
static int tmpl_bool(const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG i;

    for (i = 0; tmpl != NULL && i < n; i++) {
        if (tmpl[i].type != type)
            continue;
        if (tmpl[i].pValue == NULL || tmpl[i].ulValueLen != sizeof(CK_BBOOL))
            return -1;
        return *(const CK_BBOOL *)tmpl[i].pValue != CK_FALSE;
    }
    return -1;
}

/* Does the template turn on a role of the wrapping (wrap true) or data
 * family? */
static bool names_family(const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool wrap)
{
    size_t i;

    for (i = 0; i < N_ROLES; i++) {
        if (is_wrap_role(roles[i]) == wrap && tmpl_bool(tmpl, n, roles[i]) > 0)
            return true;
    }
    return false;
}

static bool holds_family(const struct cmk_attrs *a, bool wrap)
{
    size_t i;

    for (i = 0; i < N_ROLES; i++) {
        if (is_wrap_role(roles[i]) == wrap &&
            cmk_attrs_bool(a, roles[i], false))
            return true;
    }
    return false;
}

bool cmk_keyrules_mixed(const struct cmk_attrs *a)
{
    return holds_family(a, true) && holds_family(a, false);
}

CK_RV cmk_keyrules_template_roles(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    return names_family(tmpl, n, true) && names_family(tmpl, n, false)
               ? CKR_TEMPLATE_INCONSISTENT
               : CKR_OK;
}

CK_RV cmk_keyrules_settle_roles(struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                                CK_ULONG n)
{
    bool wrap = names_family(tmpl, n, true);
    size_t i;

    if (cmk_keyrules_template_roles(tmpl, n) != CKR_OK)
        return CKR_TEMPLATE_INCONSISTENT;
    for (i = 0; i < N_ROLES; i++) {
        if (tmpl_bool(tmpl, n, roles[i]) >= 0)
            continue;
        /* Left out: on for the family the key belongs to. */
        if (cmk_attrs_set_bool(a, roles[i], is_wrap_role(roles[i]) == wrap) !=
            CMK_OK)
            return CKR_HOST_MEMORY;
    }
    return cmk_keyrules_mixed(a) ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
}

CK_RV cmk_keyrules_change_roles(const struct cmk_attrs *cur,
                                const struct cmk_attrs *next, bool copy)
{
    size_t i;

    for (i = 0; i < N_ROLES; i++) {
        if (cmk_attrs_bool(cur, roles[i], false) ||
            !cmk_attrs_bool(next, roles[i], false))
            continue;
        if (!holds_family(cur, is_wrap_role(roles[i])))
            return CKR_TEMPLATE_INCONSISTENT;
    }
    /* A key made before the policy may still be relabelled or have roles
     * dropped; no new key of both families comes from it. */
    if (cmk_keyrules_mixed(next) && (copy || !cmk_keyrules_mixed(cur)))
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

CK_RV cmk_keyrules_unwrap_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (tmpl_bool(tmpl, n, CKA_SENSITIVE) == 0 ||
        tmpl_bool(tmpl, n, CKA_WRAP_WITH_TRUSTED) == 0)
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

CK_RV cmk_keyrules_settle_unwrapped(struct cmk_attrs *a,
                                    const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (cmk_keyrules_unwrap_template(tmpl, n) != CKR_OK)
        return CKR_TEMPLATE_INCONSISTENT;
    if (cmk_attrs_set_bool(a, CKA_WRAP_WITH_TRUSTED, true) != CMK_OK)
        return CKR_HOST_MEMORY;
    return cmk_attrs_bool(a, CKA_SENSITIVE, false) ? CKR_OK
                                                   : CKR_TEMPLATE_INCONSISTENT;
}
