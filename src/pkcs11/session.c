/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: session management entry points (PKCS#11 3.0 section 5.6) and
 * the enter/leave helpers every session-based entry point uses.
 */
#include <config.h>

#include "core/crypt.h"
#include "core/digest.h"
#include "core/module.h"
#include "core/record.h"
#include "core/session.h"
#include "core/sign.h"
#include "core/token.h"
#include "pkcs11/entry.h"
#include "util/err.h"

CK_RV cmk_enter(CK_SESSION_HANDLE h, struct cmk_session **out)
{
    CK_RV rv = cmk_module_check();

    cmk_err_device_begin(); /* this call's KMS answers, for ulDeviceError */
    if (rv == CKR_OK)
        rv = cmk_session_get(h, out);
    if (rv == CKR_OK)
        cmk_session_claim(*out);
    return rv;
}

CK_RV cmk_leave(struct cmk_session *s, CK_RV rv)
{
    cmk_session_note_device(s);
    cmk_session_release(s);
    cmk_session_unref(s);
    return rv;
}

CK_RV cmk_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app,
                        CK_NOTIFY notify, CK_SESSION_HANDLE_PTR out)
{
    CK_RV rv = cmk_module_check();

    (void)app; /* no callbacks are ever made */
    (void)notify;
    if (rv != CKR_OK)
        return rv;
    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    return cmk_session_open(cmk_module_token(slot), flags, out);
}

CK_RV cmk_C_CloseSession(CK_SESSION_HANDLE h)
{
    CK_RV rv = cmk_module_check();

    return rv == CKR_OK ? cmk_session_close(h) : rv;
}

CK_RV cmk_C_CloseAllSessions(CK_SLOT_ID slot)
{
    CK_RV rv = cmk_module_check();

    return rv == CKR_OK ? cmk_session_close_all(cmk_module_token(slot)) : rv;
}

CK_RV cmk_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    rv = info == NULL ? CKR_ARGUMENTS_BAD : cmk_session_info(s, info);
    return cmk_leave(s, rv);
}

/* Successes and failures both go to the audit file (never the PIN); a
 * login that cannot be recorded is undone. */
static CK_RV login_recorded(struct cmk_token *t, CK_SESSION_HANDLE h,
                            CK_USER_TYPE user, const CK_UTF8CHAR *pin,
                            CK_ULONG pin_len)
{
    CK_RV rv = cmk_token_login(t, user, pin, pin_len);
    CK_RV rec = cmk_record_event("login", "C_Login", t, (long)h, rv, NULL);

    if (rv == CKR_OK && rec != CKR_OK)
        (void)cmk_session_logout(t);
    return rec;
}

CK_RV cmk_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                  CK_ULONG pin_len)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    /* Login and its undo touch every session of the token: run them
     * without this session's claim, as C_Logout does. */
    cmk_session_release(s);
    /* No protected authentication path: a PIN is always needed. */
    if (pin == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = login_recorded(s->token, h, user, pin, pin_len);
    cmk_session_claim(s); /* the store load's KMS calls were this one's */
    cmk_session_note_device(s);
    cmk_session_release(s);
    cmk_session_unref(s);
    return rv;
}

CK_RV cmk_C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user,
                      CK_UTF8CHAR_PTR pin, CK_ULONG pin_len,
                      CK_UTF8CHAR_PTR name, CK_ULONG name_len)
{
    (void)name; /* one user per token: the name is not used */
    (void)name_len;
    return cmk_C_Login(h, user, pin, pin_len);
}

CK_RV cmk_C_Logout(CK_SESSION_HANDLE h)
{
    struct cmk_session *s;
    struct cmk_token *t;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    t = s->token;
    /* Logout ends the operations of every session of the token, this one
     * included, so it runs without this session's claim. */
    cmk_session_release(s);
    rv = cmk_session_logout(t);
    rv = cmk_record_event("logout", "C_Logout", t, (long)h, rv, NULL);
    cmk_session_unref(s);
    return rv;
}

CK_RV cmk_C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
    struct cmk_session *s;
    CK_RV rv = cmk_enter(h, &s);

    if (rv != CKR_OK)
        return rv;
    /* Each cancelled operation is recorded ("end": "cancel"). */
    if (flags & CKF_ENCRYPT)
        rv = cmk_crypt_end(s, true, CMK_END_CANCEL);
    if ((flags & CKF_DECRYPT) &&
        cmk_crypt_end(s, false, CMK_END_CANCEL) != CKR_OK)
        rv = CKR_DEVICE_ERROR;
    if ((flags & CKF_SIGN) && cmk_sign_end(s, false, CMK_END_CANCEL) != CKR_OK)
        rv = CKR_DEVICE_ERROR;
    if ((flags & CKF_VERIFY) && cmk_sign_end(s, true, CMK_END_CANCEL) != CKR_OK)
        rv = CKR_DEVICE_ERROR;
    if ((flags & CKF_DIGEST) && cmk_digest_end(s, CMK_END_CANCEL) != CKR_OK)
        rv = CKR_DEVICE_ERROR;
    /* Other kinds (message-based...) are never active here. */
    return cmk_leave(s, rv);
}
