/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: signing and verification entry points (PKCS#11 3.0 sections
 * 5.11 and 5.12), on a key pair's keys (core/sign.h).
 */
#include <config.h>

#include "core/crypt.h"
#include "core/sign.h"
#include "pkcs11/entry.h"

static CK_RV init(CK_SESSION_HANDLE h, bool verify, CK_MECHANISM_PTR m,
                  CK_OBJECT_HANDLE key)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(m->pParameter, m->ulParameterLen))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_sign_init(s, verify, m, key);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                     CK_OBJECT_HANDLE key)
{
    return init(h, false, m, key);
}

CK_RV cmk_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                 CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len) || sig_len == NULL)
        rv = cmk_sign_fail(s, false, CMK_CRYPT_ONESHOT, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_sign_oneshot(s, in, in_len, sig, sig_len);
    return cmk_leave(s, rv);
}

static CK_RV update(CK_SESSION_HANDLE h, bool verify, CK_BYTE_PTR in,
                    CK_ULONG in_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len))
        rv = cmk_sign_fail(s, verify, CMK_CRYPT_UPDATE, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_sign_update(s, verify, in, in_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    return update(h, false, in, in_len);
}

CK_RV cmk_C_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig,
                      CK_ULONG_PTR sig_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (sig_len == NULL)
        rv = cmk_sign_fail(s, false, CMK_CRYPT_FINAL, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_sign_final(s, sig, sig_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_VerifyInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                       CK_OBJECT_HANDLE key)
{
    return init(h, true, m, key);
}

CK_RV cmk_C_Verify(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                   CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len) || CMK_BAD_ARRAY(sig, sig_len))
        rv = cmk_sign_fail(s, true, CMK_CRYPT_ONESHOT, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_verify_oneshot(s, in, in_len, sig, sig_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_VerifyUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len)
{
    return update(h, true, in, in_len);
}

CK_RV cmk_C_VerifyFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(sig, sig_len))
        rv = cmk_sign_fail(s, true, CMK_CRYPT_FINAL, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_verify_final(s, sig, sig_len);
    return cmk_leave(s, rv);
}
