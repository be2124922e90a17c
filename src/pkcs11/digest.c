/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: message digesting entry points (PKCS#11 3.0 section 5.12), done
 * in the module (core/digest.h).
 */
#include <config.h>

#include "core/crypt.h"
#include "core/digest.h"
#include "pkcs11/entry.h"

CK_RV cmk_C_DigestInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(m->pParameter, m->ulParameterLen))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_digest_init(s, m);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_Digest(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                   CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len) || out_len == NULL)
        rv = cmk_digest_fail(s, CMK_CRYPT_ONESHOT, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_digest_oneshot(s, in, in_len, out, out_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_DigestUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len))
        rv = cmk_digest_fail(s, CMK_CRYPT_UPDATE, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_digest_update(s, in, in_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_DigestKey(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    return cmk_leave(s, cmk_digest_key(s, key));
}

CK_RV cmk_C_DigestFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                        CK_ULONG_PTR out_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (out_len == NULL)
        rv = cmk_digest_fail(s, CMK_CRYPT_FINAL, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_digest_final(s, out, out_len);
    return cmk_leave(s, rv);
}
