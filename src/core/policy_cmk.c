/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the attribute list of a tenant's CMK object: fixed values (a
 * token key that never leaves the KMS, usable for the direct path and
 * the KEK path's standard mechanisms) plus its label, id and vendor
 * attributes from the configuration, and its health (keys/health.h).
 */
#include <config.h>

#include <string.h>

#include "cmk-pkcs11.h"
#include "core/policy_int.h"

#define CMK_KEY_LEN 32

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
    if (err == CMK_OK && cmk_policy_cmk_health(&a, 0, 0) != CKR_OK)
        err = CMK_E_NOMEM;
    if (err == CMK_OK) {
        *out = a;
        memset(&a, 0, sizeof(a)); /* caller owns it */
    }
    cmk_attrs_clear(&a);
    return rv_of(err);
}

CK_RV cmk_policy_cmk_health(struct cmk_attrs *a, CK_ULONG reason,
                            CK_ULONG checked)
{
    cmk_err err;

    err = cmk_attrs_set_ulong(a, CKA_CMK_HEALTH, reason);
    if (err == CMK_OK)
        err = cmk_attrs_set_ulong(a, CKA_CMK_HEALTH_CHECKED, checked);
    return rv_of(err);
}
