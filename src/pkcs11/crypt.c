/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: encryption and decryption entry points (PKCS#11 3.0 sections
 * 5.9 and 5.10).
 */
#include <config.h>

#include "core/crypt.h"
#include "pkcs11/entry.h"

static CK_RV init(CK_SESSION_HANDLE h, bool enc, CK_MECHANISM_PTR m,
                  CK_OBJECT_HANDLE key)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(m->pParameter, m->ulParameterLen))
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_crypt_init(s, enc, m, key);
    return cmk_leave(s, rv);
}

/* C_Encrypt, C_Decrypt and their Update forms: same checks, one core
 * call. */
typedef CK_RV (*data_fn)(struct cmk_session *s, bool encrypt, const uint8_t *in,
                         size_t in_len, uint8_t *out, CK_ULONG *out_len);

static CK_RV data_call(CK_SESSION_HANDLE h, bool enc, data_fn fn,
                       enum cmk_crypt_call call, CK_BYTE_PTR in,
                       CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(in, in_len) || out_len == NULL)
        rv = cmk_crypt_fail(s, enc, call, CKR_ARGUMENTS_BAD);
    else
        rv = fn(s, enc, in, in_len, out, out_len);
    return cmk_leave(s, rv);
}

static CK_RV oneshot(CK_SESSION_HANDLE h, bool enc, CK_BYTE_PTR in,
                     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return data_call(h, enc, cmk_crypt_oneshot, CMK_CRYPT_ONESHOT, in, in_len,
                     out, out_len);
}

static CK_RV update(CK_SESSION_HANDLE h, bool enc, CK_BYTE_PTR in,
                    CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return data_call(h, enc, cmk_crypt_update, CMK_CRYPT_UPDATE, in, in_len,
                     out, out_len);
}

static CK_RV final(CK_SESSION_HANDLE h, bool enc, CK_BYTE_PTR out,
                   CK_ULONG_PTR out_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (out_len == NULL)
        rv = cmk_crypt_fail(s, enc, CMK_CRYPT_FINAL, CKR_ARGUMENTS_BAD);
    else
        rv = cmk_crypt_final(s, enc, out, out_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_EncryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                        CK_OBJECT_HANDLE key)
{
    return init(h, true, m, key);
}

CK_RV cmk_C_Encrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return oneshot(h, true, in, in_len, out, out_len);
}

CK_RV cmk_C_EncryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                          CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return update(h, true, in, in_len, out, out_len);
}

CK_RV cmk_C_EncryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len)
{
    return final(h, true, out, out_len);
}

CK_RV cmk_C_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                        CK_OBJECT_HANDLE key)
{
    return init(h, false, m, key);
}

CK_RV cmk_C_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return oneshot(h, false, in, in_len, out, out_len);
}

CK_RV cmk_C_DecryptUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR in, CK_ULONG in_len,
                          CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    return update(h, false, in, in_len, out, out_len);
}

CK_RV cmk_C_DecryptFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR out,
                         CK_ULONG_PTR out_len)
{
    return final(h, false, out, out_len);
}
