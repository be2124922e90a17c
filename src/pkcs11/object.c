/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: object management entry points (PKCS#11 3.0 section 5.7).
 */
#include <config.h>

#include "core/find.h"
#include "core/objops.h"
#include "pkcs11/entry.h"

CK_RV cmk_C_CreateObject(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR out)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(tmpl, n) || out == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_object_create(s, tmpl, n, out);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_CopyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                       CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE_PTR out)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(tmpl, n) || out == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_object_copy(s, o, tmpl, n, out);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_DestroyObject(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    return cmk_leave(s, cmk_object_destroy(s, o));
}

CK_RV cmk_C_GetObjectSize(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                          CK_ULONG_PTR size)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    rv = size == NULL ? CKR_ARGUMENTS_BAD : cmk_object_size(s, o, size);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                              CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (tmpl == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_object_get_attrs(s, o, tmpl, n);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_SetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                              CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (tmpl == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_object_set_attrs(s, o, tmpl, n);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_FindObjectsInit(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
                            CK_ULONG n)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(tmpl, n))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_find_init(s, tmpl, n);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out,
                        CK_ULONG max, CK_ULONG_PTR count)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(out, max) || count == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_find_next(s, out, max, count);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_FindObjectsFinal(CK_SESSION_HANDLE h)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    return cmk_leave(s, cmk_find_final(s));
}
