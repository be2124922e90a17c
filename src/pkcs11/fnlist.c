/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: the 2.40 and 3.0 function lists and the 3.0 interfaces. Calls we
 * do not implement answer CKR_FUNCTION_NOT_SUPPORTED (parallel-function
 * calls CKR_FUNCTION_NOT_PARALLEL, as the spec requires).
 */
#include <config.h>

#include <string.h>

#include "core/module.h"
#include "pkcs11/entry.h"

#define NOT_SUPPORTED(name, args)                                              \
    static CK_RV name args                                                     \
    {                                                                          \
        return cmk_module_check() == CKR_OK ? CKR_FUNCTION_NOT_SUPPORTED       \
                                            : CKR_CRYPTOKI_NOT_INITIALIZED;    \
    }

typedef CK_SESSION_HANDLE SH;
typedef CK_OBJECT_HANDLE OH;

NOT_SUPPORTED(ns_InitToken,
              (CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d))
NOT_SUPPORTED(ns_InitPIN, (SH a, CK_UTF8CHAR_PTR b, CK_ULONG c))
NOT_SUPPORTED(ns_SetPIN, (SH a, CK_UTF8CHAR_PTR b, CK_ULONG c,
                          CK_UTF8CHAR_PTR d, CK_ULONG e))
NOT_SUPPORTED(ns_GetOperationState, (SH a, CK_BYTE_PTR b, CK_ULONG_PTR c))
NOT_SUPPORTED(ns_SetOperationState,
              (SH a, CK_BYTE_PTR b, CK_ULONG c, OH d, OH e))
NOT_SUPPORTED(ns_MechInit, (SH a, CK_MECHANISM_PTR b, OH c))
NOT_SUPPORTED(ns_OneShot,
              (SH a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
NOT_SUPPORTED(ns_GenerateKeyPair,
              (SH a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d,
               CK_ATTRIBUTE_PTR e, CK_ULONG f, OH *g, OH *h))
NOT_SUPPORTED(ns_DeriveKey, (SH a, CK_MECHANISM_PTR b, OH c, CK_ATTRIBUTE_PTR d,
                             CK_ULONG e, OH *f))
NOT_SUPPORTED(ns_WaitForSlotEvent,
              (CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c))
NOT_SUPPORTED(ns_MessageOneShot,
              (SH a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e,
               CK_BYTE_PTR f, CK_ULONG g, CK_BYTE_PTR h, CK_ULONG_PTR i))
NOT_SUPPORTED(ns_MessageBegin,
              (SH a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e))
NOT_SUPPORTED(ns_MessageNext,
              (SH a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e,
               CK_BYTE_PTR f, CK_ULONG_PTR g, CK_FLAGS h))
NOT_SUPPORTED(ns_MessageFinal, (SH a))
NOT_SUPPORTED(ns_SignMessage, (SH a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                               CK_ULONG e, CK_BYTE_PTR f, CK_ULONG_PTR g))
NOT_SUPPORTED(ns_VerifyMessage, (SH a, CK_VOID_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                                 CK_ULONG e, CK_BYTE_PTR f, CK_ULONG g))

static CK_RV ns_Parallel(SH a)
{
    (void)a;
    return cmk_module_check() == CKR_OK ? CKR_FUNCTION_NOT_PARALLEL
                                        : CKR_CRYPTOKI_NOT_INITIALIZED;
}

#define LIST_2_40                                                              \
    cmk_C_Initialize, cmk_C_Finalize, cmk_C_GetInfo, cmk_C_GetFunctionList,    \
        cmk_C_GetSlotList, cmk_C_GetSlotInfo, cmk_C_GetTokenInfo,              \
        cmk_C_GetMechanismList, cmk_C_GetMechanismInfo, ns_InitToken,          \
        ns_InitPIN, ns_SetPIN, cmk_C_OpenSession, cmk_C_CloseSession,          \
        cmk_C_CloseAllSessions, cmk_C_GetSessionInfo, ns_GetOperationState,    \
        ns_SetOperationState, cmk_C_Login, cmk_C_Logout, cmk_C_CreateObject,   \
        cmk_C_CopyObject, cmk_C_DestroyObject, cmk_C_GetObjectSize,            \
        cmk_C_GetAttributeValue, cmk_C_SetAttributeValue,                      \
        cmk_C_FindObjectsInit, cmk_C_FindObjects, cmk_C_FindObjectsFinal,      \
        cmk_C_EncryptInit, cmk_C_Encrypt, cmk_C_EncryptUpdate,                 \
        cmk_C_EncryptFinal, cmk_C_DecryptInit, cmk_C_Decrypt,                  \
        cmk_C_DecryptUpdate, cmk_C_DecryptFinal, cmk_C_DigestInit,             \
        cmk_C_Digest, cmk_C_DigestUpdate, cmk_C_DigestKey, cmk_C_DigestFinal,  \
        cmk_C_SignInit, cmk_C_Sign, cmk_C_SignUpdate, cmk_C_SignFinal,         \
        ns_MechInit, ns_OneShot, cmk_C_VerifyInit, cmk_C_Verify,               \
        cmk_C_VerifyUpdate, cmk_C_VerifyFinal, ns_MechInit, ns_OneShot,        \
        ns_OneShot, ns_OneShot, ns_OneShot, ns_OneShot, cmk_C_GenerateKey,     \
        ns_GenerateKeyPair, cmk_C_WrapKey, cmk_C_UnwrapKey, ns_DeriveKey,      \
        cmk_C_SeedRandom, cmk_C_GenerateRandom, ns_Parallel, ns_Parallel,      \
        ns_WaitForSlotEvent

CK_FUNCTION_LIST cmk_function_list = {{2, 40}, LIST_2_40};

CK_FUNCTION_LIST_3_0 cmk_function_list_3_0 = {
    {3, 0},
    LIST_2_40,
    cmk_C_GetInterfaceList,
    cmk_C_GetInterface,
    cmk_C_LoginUser,
    cmk_C_SessionCancel,
    ns_MechInit,
    ns_MessageOneShot,
    ns_MessageBegin,
    ns_MessageNext,
    ns_MessageFinal,
    ns_MechInit,
    ns_MessageOneShot,
    ns_MessageBegin,
    ns_MessageNext,
    ns_MessageFinal,
    ns_MechInit,
    ns_SignMessage,
    ns_MessageBegin,
    ns_SignMessage,
    ns_MessageFinal,
    ns_MechInit,
    ns_VerifyMessage,
    ns_MessageBegin,
    ns_VerifyMessage,
    ns_MessageFinal,
};

static CK_CHAR interface_name[] = "PKCS 11";

static CK_INTERFACE interfaces[] = {
    {interface_name, &cmk_function_list_3_0, 0},
    {interface_name, &cmk_function_list, 0},
};

#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV cmk_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    *out = &cmk_function_list;
    return CKR_OK;
}

CK_RV cmk_C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    CK_ULONG have;

    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    have = *count;
    *count = N_INTERFACES;
    if (list == NULL)
        return CKR_OK;
    if (have < N_INTERFACES)
        return CKR_BUFFER_TOO_SMALL;
    memcpy(list, interfaces, sizeof(interfaces));
    return CKR_OK;
}

static const CK_VERSION *version_of(const CK_INTERFACE *i)
{
    return (const CK_VERSION *)i->pFunctionList; /* first member */
}

CK_RV cmk_C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                         CK_INTERFACE_PTR_PTR out, CK_FLAGS flags)
{
    size_t i;

    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    for (i = 0; i < N_INTERFACES; i++) {
        const CK_VERSION *v = version_of(&interfaces[i]);

        if (name != NULL &&
            strcmp((const char *)name,
                   (const char *)interfaces[i].pInterfaceName) != 0)
            continue;
        if (version != NULL &&
            (version->major != v->major || version->minor != v->minor))
            continue;
        if ((interfaces[i].flags & flags) != flags)
            continue;
        *out = &interfaces[i];
        return CKR_OK;
    }
    return CKR_ARGUMENTS_BAD;
}
