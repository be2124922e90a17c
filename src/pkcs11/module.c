/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: the module's only exported symbols (see exports.map): the 2.40
 * C_GetFunctionList and the 3.0 interface getters.
 */
#include <config.h>

#include "pkcs11/entry.h"

#define CMK_EXPORT __attribute__((visibility("default")))

CMK_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
CMK_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                                CK_INTERFACE_PTR_PTR out, CK_FLAGS flags);

CMK_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    return cmk_C_GetFunctionList(out);
}

CMK_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
    return cmk_C_GetInterfaceList(list, count);
}

CMK_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                                CK_INTERFACE_PTR_PTR out, CK_FLAGS flags)
{
    return cmk_C_GetInterface(name, version, out, flags);
}
