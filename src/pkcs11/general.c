/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: general-purpose, slot and token entry points (PKCS#11 3.0
 * sections 5.4 and 5.5).
 */
#include <config.h>

#include <string.h>

#include "core/module.h"
#include "core/token.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "pkcs11/reserved.h"
#include "util/text.h"

CK_RV cmk_C_Initialize(CK_VOID_PTR args)
{
    char reserved[CMK_RESERVED_MAX];
    CK_C_INITIALIZE_ARGS copy;
    CK_RV rv;

    if (args == NULL || ((CK_C_INITIALIZE_ARGS *)args)->pReserved == NULL)
        return cmk_module_initialize(args);
    copy = *(CK_C_INITIALIZE_ARGS *)args;
    rv = cmk_reserved_copy(copy.pReserved, reserved, sizeof(reserved));
    if (rv != CKR_OK)
        return rv;
    copy.pReserved = reserved;
    return cmk_module_initialize(&copy);
}

CK_RV cmk_C_Finalize(CK_VOID_PTR reserved)
{
    if (reserved != NULL)
        return CKR_ARGUMENTS_BAD;
    return cmk_module_finalize();
}

CK_RV cmk_C_GetInfo(CK_INFO_PTR info)
{
    CK_RV rv = cmk_module_check();

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 3;
    info->cryptokiVersion.minor = 0;
    cmk_blank_pad(info->manufacturerID, sizeof(info->manufacturerID),
                  "cmk-pkcs11");
    cmk_blank_pad(info->libraryDescription, sizeof(info->libraryDescription),
                  "CMK-backed PKCS#11 module");
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}

CK_RV cmk_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list,
                        CK_ULONG_PTR count)
{
    CK_RV rv = cmk_module_check();
    CK_ULONG i, have;

    (void)present; /* every slot has its token */
    if (rv != CKR_OK)
        return rv;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    have = *count;
    *count = cmk_g.n_tokens;
    if (list == NULL)
        return CKR_OK;
    if (have < cmk_g.n_tokens)
        return CKR_BUFFER_TOO_SMALL;
    for (i = 0; i < cmk_g.n_tokens; i++)
        list[i] = cmk_g.tokens[i]->slot;
    return CKR_OK;
}

static CK_RV slot_token(CK_SLOT_ID id, void *ptr, struct cmk_token **t)
{
    CK_RV rv = cmk_module_check();

    if (rv != CKR_OK)
        return rv;
    if (ptr == NULL)
        return CKR_ARGUMENTS_BAD;
    *t = cmk_module_token(id);
    return *t == NULL ? CKR_SLOT_ID_INVALID : CKR_OK;
}

CK_RV cmk_C_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    struct cmk_token *t;
    CK_RV rv = slot_token(id, info, &t);

    if (rv == CKR_OK)
        cmk_token_slot_info(t, info);
    return rv;
}

CK_RV cmk_C_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
    struct cmk_token *t;
    CK_RV rv = slot_token(id, info, &t);

    if (rv == CKR_OK)
        cmk_token_info(t, info);
    return rv;
}

CK_RV cmk_C_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list,
                             CK_ULONG_PTR count)
{
    struct cmk_token *t;
    const CK_MECHANISM_TYPE *all;
    size_t n;
    CK_ULONG have;
    CK_RV rv = slot_token(id, count, &t);

    if (rv != CKR_OK)
        return rv;
    all = cmk_mech_list(&n);
    have = *count;
    *count = n;
    if (list == NULL)
        return CKR_OK;
    if (have < n)
        return CKR_BUFFER_TOO_SMALL;
    memcpy(list, all, n * sizeof(*all));
    return CKR_OK;
}

CK_RV cmk_C_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE type,
                             CK_MECHANISM_INFO_PTR info)
{
    struct cmk_token *t;
    CK_RV rv = slot_token(id, info, &t);

    if (rv != CKR_OK)
        return rv;
    return cmk_mech_info(type, info);
}
