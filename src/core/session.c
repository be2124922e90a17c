/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: session handles, session info and operation state. Closing a
 * session ends its operations (each recorded) and destroys its session
 * objects; closing a token's last session logs the user out (PKCS#11 3.0
 * section 5.6).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "core/crypt.h"
#include "core/digest.h"
#include "core/handles.h"
#include "core/object.h"
#include "core/record.h"
#include "core/session.h"
#include "core/sign.h"
#include "core/token.h"
#include "core/token_store.h"
#include "util/err.h"

void cmk_find_reset(struct cmk_find *f)
{
    free(f->handles);
    memset(f, 0, sizeof(*f));
}

static void session_free(struct cmk_session *s)
{
    cmk_crypt_reset(&s->enc);
    cmk_crypt_reset(&s->dec);
    cmk_sign_reset(&s->sign);
    cmk_sign_reset(&s->verify);
    cmk_digest_reset(&s->digest);
    cmk_find_reset(&s->find);
    cmk_cache_free(s->cache);
    cmk_keymemo_fini(&s->memo[0]);
    cmk_keymemo_fini(&s->memo[1]);
    cmk_cond_fini(&s->idle);
    cmk_mutex_fini(&s->lock);
    free(s);
}

struct cmk_cache *cmk_session_cache(struct cmk_session *s)
{
    struct cmk_token *t = s->token;

    if (!t->cache_per_session)
        return t->cache;
    if (s->cache == NULL && cmk_cache_new(&t->cache_cfg, &s->cache) != CMK_OK)
        return NULL;
    return s->cache;
}

/* The session's lock, its condition and its key memos' locks, or none
 * of them. */
static CK_RV session_locks_init(struct cmk_session *s)
{
    CK_RV rv = cmk_mutex_init(&s->lock);

    if (rv != CKR_OK)
        return rv;
    rv = cmk_cond_init(&s->idle);
    if (rv == CKR_OK)
        rv = cmk_keymemo_init(&s->memo[0]);
    if (rv == CKR_OK) {
        rv = cmk_keymemo_init(&s->memo[1]);
        if (rv != CKR_OK)
            cmk_keymemo_fini(&s->memo[0]);
    }
    if (rv == CKR_OK)
        return CKR_OK;
    cmk_cond_fini(&s->idle); /* NULL-safe: s is zeroed */
    cmk_mutex_fini(&s->lock);
    return rv;
}

CK_RV cmk_session_open(struct cmk_token *t, CK_FLAGS flags,
                       CK_SESSION_HANDLE *out)
{
    struct cmk_session *s;
    CK_RV rv;

    if (t == NULL)
        return CKR_SLOT_ID_INVALID;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CKR_HOST_MEMORY;
    rv = session_locks_init(s);
    if (rv != CKR_OK) {
        free(s);
        return rv;
    }
    s->token = t;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    s->refs = 1;
    rv = cmk_handles_add_session(s);
    if (rv != CKR_OK) {
        session_free(s);
        return rv;
    }
    cmk_mutex_lock(&t->lock);
    t->sessions++;
    if (flags & CKF_RW_SESSION)
        t->rw_sessions++;
    cmk_mutex_unlock(&t->lock);
    (void)cmk_token_store_load_once(t); /* no file access once loaded */
    *out = s->handle;
    return CKR_OK;
}

CK_RV cmk_session_get(CK_SESSION_HANDLE h, struct cmk_session **out)
{
    struct cmk_session *s = cmk_handles_ref_session(h);

    if (s == NULL)
        return CKR_SESSION_HANDLE_INVALID;
    *out = s;
    return CKR_OK;
}

void cmk_session_unref(struct cmk_session *s)
{
    unsigned refs;

    if (s == NULL)
        return;
    /* Atomic, no lock: a count reaches 0 only after the handle table let
     * go, so no lookup can take a new reference then. */
    refs = __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    if (refs == 0)
        session_free(s);
}

static bool try_claim(struct cmk_session *s)
{
    bool idle = false;

    return __atomic_compare_exchange_n(&s->busy, &idle, true, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Under OS locking an uncontended claim and its release are one atomic
 * operation each; the lock and idle serve waiters only. Under the
 * application's mutexes both take the lock, so the application sees the
 * session's locking. No wake-up is lost: a waiter counts itself (seq_cst)
 * before its last try, a release clears busy before it reads the count,
 * so one of the two sees the other. */
void cmk_session_claim(struct cmk_session *s)
{
    if (cmk_mutex_is_os(&s->lock) && try_claim(s))
        return;
    cmk_mutex_lock_hot(&s->lock);
    __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    while (!try_claim(s))
        cmk_cond_wait(&s->idle, &s->lock);
    __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    cmk_mutex_unlock(&s->lock);
}

void cmk_session_release(struct cmk_session *s)
{
    __atomic_store_n(&s->busy, false, __ATOMIC_SEQ_CST);
    if (cmk_mutex_is_os(&s->lock) &&
        __atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) == 0)
        return;
    cmk_mutex_lock_hot(&s->lock);
    cmk_cond_broadcast(&s->idle);
    cmk_mutex_unlock(&s->lock);
}

static bool owned_by(void *arg, struct cmk_object *o)
{
    return o->session == *(CK_SESSION_HANDLE *)arg;
}

/* Bookkeeping after s left the handle table: its operations end with
 * their records, its objects go, and the token's last session logs the
 * user out (recorded: it ends a login the audit file shows). */
static CK_RV session_closed(struct cmk_session *s, enum cmk_end why,
                            const char *op)
{
    struct cmk_token *t = s->token;
    CK_RV rv, rv2;
    bool last;

    cmk_session_claim(s);
    rv = cmk_crypt_end(s, true, why);
    rv2 = cmk_crypt_end(s, false, why);
    if (cmk_sign_end(s, false, why) != CKR_OK)
        rv2 = CKR_DEVICE_ERROR;
    if (cmk_sign_end(s, true, why) != CKR_OK)
        rv2 = CKR_DEVICE_ERROR;
    if (cmk_digest_end(s, why) != CKR_OK)
        rv2 = CKR_DEVICE_ERROR;
    cmk_session_release(s);
    if (rv == CKR_OK)
        rv = rv2;
    cmk_object_remove_if(t, owned_by, &s->handle);
    cmk_mutex_lock(&t->lock);
    t->sessions--;
    if (s->flags & CKF_RW_SESSION)
        t->rw_sessions--;
    last = t->sessions == 0;
    cmk_mutex_unlock(&t->lock);
    /* Not logged in is fine. */
    if (last && t->cfg->login_required && cmk_session_logout(t) == CKR_OK)
        (void)cmk_record_event("logout", op, t, (long)s->handle, CKR_OK,
                               "last session closed");
    cmk_session_unref(s);
    return rv;
}

static CK_RV close_one(CK_SESSION_HANDLE h, enum cmk_end why, const char *op)
{
    struct cmk_session *s = cmk_handles_del_session(h);

    if (s == NULL)
        return CKR_SESSION_HANDLE_INVALID;
    return session_closed(s, why, op);
}

CK_RV cmk_session_close(CK_SESSION_HANDLE h)
{
    return close_one(h, CMK_END_SESSION_CLOSE, "C_CloseSession");
}

static CK_RV close_token(struct cmk_token *t, enum cmk_end why, const char *op)
{
    CK_SESSION_HANDLE *h;
    size_t i, n;
    CK_RV rv, one;

    rv = cmk_handles_sessions_of(t, &h, &n);
    if (rv != CKR_OK)
        return rv;
    for (i = 0; i < n; i++) {
        one = close_one(h[i], why, op);
        if (rv == CKR_OK && one != CKR_SESSION_HANDLE_INVALID)
            rv = one; /* one closed by another thread meanwhile is fine */
    }
    free(h);
    return rv;
}

CK_RV cmk_session_close_all(struct cmk_token *t)
{
    if (t == NULL)
        return CKR_SLOT_ID_INVALID;
    return close_token(t, CMK_END_SESSION_CLOSE, "C_CloseAllSessions");
}

void cmk_session_finalize_token(struct cmk_token *t)
{
    (void)close_token(t, CMK_END_FINALIZE, "C_Finalize");
}

/* Ends every operation of every session of token t, each with its record
 * ("end": "logout"). */
static void reset_all(struct cmk_token *t)
{
    struct cmk_session *s;
    CK_SESSION_HANDLE *h;
    size_t i, n;

    if (cmk_handles_sessions_of(t, &h, &n) != CKR_OK)
        return;
    for (i = 0; i < n; i++) {
        if (cmk_session_get(h[i], &s) != CKR_OK)
            continue;
        cmk_session_claim(s);
        (void)cmk_crypt_end(s, true, CMK_END_LOGOUT);
        (void)cmk_crypt_end(s, false, CMK_END_LOGOUT);
        (void)cmk_sign_end(s, false, CMK_END_LOGOUT);
        (void)cmk_sign_end(s, true, CMK_END_LOGOUT);
        cmk_find_reset(&s->find);
        cmk_cache_flush(s->cache);
        cmk_session_release(s);
        cmk_session_unref(s);
    }
    free(h);
}

CK_RV cmk_session_logout(struct cmk_token *t)
{
    CK_RV rv = cmk_token_logout(t);

    if (rv == CKR_OK)
        reset_all(t); /* also flushes session-scope caches */
    return rv;
}

void cmk_session_note_device(struct cmk_session *s)
{
    CK_ULONG code;

    if (cmk_err_device_take(&code))
        s->device_error = code;
}

CK_RV cmk_session_info(struct cmk_session *s, CK_SESSION_INFO *info)
{
    bool user = cmk_token_is_logged_in(s->token);

    memset(info, 0, sizeof(*info));
    info->slotID = s->token->slot;
    info->flags = s->flags;
    info->ulDeviceError = s->device_error;
    if (cmk_session_is_rw(s))
        info->state = user ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION;
    else
        info->state = user ? CKS_RO_USER_FUNCTIONS : CKS_RO_PUBLIC_SESSION;
    return CKR_OK;
}
