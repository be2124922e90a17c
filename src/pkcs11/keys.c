/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: key management and random number entry points (PKCS#11 3.0
 * sections 5.14 and 5.15).
 */
#include <config.h>

#include "core/keyops.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"

CK_RV cmk_C_GenerateKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                        CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE_PTR out)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(tmpl, n) || out == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_key_generate(s, m, tmpl, n, out);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_WrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                    CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key,
                    CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(m->pParameter, m->ulParameterLen) ||
        out_len == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_key_wrap(s, m, wrapping, key, out, out_len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_UnwrapKey(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,
                      CK_OBJECT_HANDLE unwrapping, CK_BYTE_PTR in,
                      CK_ULONG in_len, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE_PTR out)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (m == NULL || CMK_BAD_ARRAY(m->pParameter, m->ulParameterLen) ||
        in == NULL || CMK_BAD_ARRAY(tmpl, n) || out == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = cmk_key_unwrap(s, m, unwrapping, in, in_len, tmpl, n, out);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_GenerateRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (CMK_BAD_ARRAY(out, len))
        rv = CKR_ARGUMENTS_BAD;
    else if (len != 0)
        cmk_random(out, len);
    return cmk_leave(s, rv);
}

CK_RV cmk_C_SeedRandom(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    /* The generator is the kernel's (libsodium randombytes): it takes no
     * seed from applications. */
    rv = CMK_BAD_ARRAY(seed, len) ? CKR_ARGUMENTS_BAD
                                  : CKR_RANDOM_SEED_NOT_SUPPORTED;
    return cmk_leave(s, rv);
}
