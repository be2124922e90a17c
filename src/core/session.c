/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: session handles, session info and operation state. Closing a
 * session destroys its session objects; closing a token's last session
 * logs the user out (PKCS#11 3.0 section 5.6).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "core/module.h"
#include "core/object.h"
#include "core/session.h"
#include "core/token.h"

void cmk_crypt_reset(struct cmk_crypt *c)
{
    cmk_op_free(c->op);
    cmk_secret_free(&c->env.in);
    cmk_secret_free(&c->env.out);
    memset(c, 0, sizeof(*c));
}

void cmk_find_reset(struct cmk_find *f)
{
    free(f->handles);
    memset(f, 0, sizeof(*f));
}

static void session_free(struct cmk_session *s)
{
    cmk_crypt_reset(&s->enc);
    cmk_crypt_reset(&s->dec);
    cmk_find_reset(&s->find);
    cmk_cache_free(s->cache);
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

CK_RV cmk_session_open(CK_SLOT_ID slot, CK_FLAGS flags,
                       CK_SESSION_HANDLE *out)
{
    struct cmk_token *t = cmk_module_token(slot);
    struct cmk_session *s;
    CK_RV rv;

    if (t == NULL)
        return CKR_SLOT_ID_INVALID;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CKR_HOST_MEMORY;
    rv = cmk_mutex_init(&s->lock);
    if (rv == CKR_OK)
        rv = cmk_cond_init(&s->idle);
    if (rv != CKR_OK) {
        cmk_mutex_fini(&s->lock);
        free(s);
        return rv;
    }
    s->token = t;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    s->refs = 1;
    cmk_module_lock();
    s->handle = cmk_g.next_session++;
    if (cmk_hmap_put(&cmk_g.sessions, s->handle, s) != CMK_OK)
        rv = CKR_HOST_MEMORY;
    cmk_module_unlock();
    if (rv != CKR_OK) {
        session_free(s);
        return rv;
    }
    cmk_mutex_lock(&t->lock);
    t->sessions++;
    if (flags & CKF_RW_SESSION)
        t->rw_sessions++;
    cmk_mutex_unlock(&t->lock);
    (void)cmk_token_sync_store(t); /* one lstat once loaded */
    *out = s->handle;
    return CKR_OK;
}

CK_RV cmk_session_get(CK_SESSION_HANDLE h, struct cmk_session **out)
{
    struct cmk_session *s;

    cmk_module_lock();
    s = cmk_hmap_get(&cmk_g.sessions, h);
    if (s != NULL)
        __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
    cmk_module_unlock();
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

/* Bookkeeping after s left the handle table. */
static void session_closed(struct cmk_session *s)
{
    struct cmk_token *t = s->token;
    bool last;

    cmk_object_remove_if(t, owned_by, &s->handle);
    cmk_mutex_lock(&t->lock);
    t->sessions--;
    if (s->flags & CKF_RW_SESSION)
        t->rw_sessions--;
    last = t->sessions == 0;
    cmk_mutex_unlock(&t->lock);
    if (last && t->cfg->login_required)
        (void)cmk_token_logout(t); /* not logged in is fine */
    cmk_session_unref(s);
}

CK_RV cmk_session_close(CK_SESSION_HANDLE h)
{
    struct cmk_session *s;

    cmk_module_lock();
    s = cmk_hmap_del(&cmk_g.sessions, h);
    cmk_module_unlock();
    if (s == NULL)
        return CKR_SESSION_HANDLE_INVALID;
    session_closed(s);
    return CKR_OK;
}

struct of_token {
    struct cmk_token *t;
    CK_SESSION_HANDLE *h;
    size_t n;
};

static void collect_session(void *arg, unsigned long key, void *val)
{
    struct of_token *c = arg;
    struct cmk_session *s = val;

    if (c->t == NULL || s->token == c->t)
        c->h[c->n++] = key;
}

static CK_RV sessions_of(struct cmk_token *t, struct of_token *c)
{
    c->t = t;
    c->n = 0;
    cmk_module_lock();
    c->h = calloc(cmk_g.sessions.live + 1, sizeof(*c->h));
    if (c->h != NULL)
        cmk_hmap_each(&cmk_g.sessions, collect_session, c);
    cmk_module_unlock();
    return c->h == NULL ? CKR_HOST_MEMORY : CKR_OK;
}

CK_RV cmk_session_close_all(CK_SLOT_ID slot)
{
    struct cmk_token *t = cmk_module_token(slot);
    struct of_token c;
    size_t i;
    CK_RV rv;

    if (t == NULL)
        return CKR_SLOT_ID_INVALID;
    rv = sessions_of(t, &c);
    if (rv != CKR_OK)
        return rv;
    for (i = 0; i < c.n; i++)
        (void)cmk_session_close(c.h[i]);
    free(c.h);
    return CKR_OK;
}

void cmk_session_reset_all(struct cmk_token *t)
{
    struct cmk_session *s;
    struct of_token c;
    size_t i;

    if (sessions_of(t, &c) != CKR_OK)
        return;
    for (i = 0; i < c.n; i++) {
        if (cmk_session_get(c.h[i], &s) != CKR_OK)
            continue;
        cmk_session_claim(s);
        cmk_crypt_reset(&s->enc);
        cmk_crypt_reset(&s->dec);
        cmk_find_reset(&s->find);
        cmk_cache_flush(s->cache);
        cmk_session_release(s);
        cmk_session_unref(s);
    }
    free(c.h);
}

static void flush_one(void *arg, unsigned long key, void *val)
{
    struct cmk_session *s = val;

    (void)key;
    if (s->token == arg)
        cmk_cache_flush(s->cache); /* the cache lock is a leaf */
}

void cmk_session_flush_caches(struct cmk_token *t)
{
    cmk_module_lock();
    cmk_hmap_each(&cmk_g.sessions, flush_one, t);
    cmk_module_unlock();
}

bool cmk_session_is_rw(const struct cmk_session *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
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
