/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the credential cache of one provider instance. Credentials that
 * expire are refreshed CMK_CREDS_REFRESH_AHEAD_S before their expiry by
 * one thread; meanwhile, and when that refresh fails, the others keep
 * using the current credentials for as long as they are still valid.
 * Only callers that have nothing valid wait for the refresher. The lock
 * is never held during network I/O.
 */
#include <config.h>

#include <string.h>

#include "net/creds.h"

#define FAIL_MEMO_S 5 /* after a failed refresh, do not retry for this long */

cmk_err cmk_cred_cache_init(struct cmk_cred_cache *c,
                            const struct cmk_cred_env *env)
{
    if (c == NULL || env == NULL)
        return CMK_E_ARGS;
    memset(c, 0, sizeof(*c));
    if (cmk_mutex_init(&c->lock) != CKR_OK)
        return CMK_E_NOMEM;
    if (cmk_cond_init(&c->cond) != CKR_OK) {
        cmk_mutex_fini(&c->lock);
        return CMK_E_NOMEM;
    }
    c->env = *env;
    c->resolve = cmk_creds_resolve;
    return CMK_OK;
}

void cmk_cred_cache_fini(struct cmk_cred_cache *c)
{
    if (c == NULL)
        return;
    cmk_creds_unref(c->cur);
    c->cur = NULL;
    cmk_cond_fini(&c->cond);
    cmk_mutex_fini(&c->lock);
}

static bool is_fresh(const struct cmk_creds *cr, int64_t now)
{
    return cr != NULL &&
           (cr->expires == 0 || now < cr->expires - CMK_CREDS_REFRESH_AHEAD_S);
}

static bool is_usable(const struct cmk_creds *cr, int64_t now)
{
    return cr != NULL &&
           (cr->expires == 0 || now < cr->expires - CMK_CREDS_MIN_LIFE_S);
}

static bool failed_lately(const struct cmk_cred_cache *c, int64_t now)
{
    return c->last_fail != 0 && now - c->last_fail < FAIL_MEMO_S;
}

/* Under the lock: CMK_OK with *out when the current credentials serve,
 * or with *refresh set when the caller must refresh; an error when a
 * recent refresh failed and nothing valid is left. */
static cmk_err pick_locked(struct cmk_cred_cache *c, struct cmk_cred_status *st,
                           struct cmk_creds **out, bool *refresh)
{
    int64_t now;

    *refresh = false;
    for (;;) {
        now = cmk_creds_now(&c->env);
        if (is_fresh(c->cur, now) ||
            (is_usable(c->cur, now) &&
             (c->refreshing || failed_lately(c, now)))) {
            *out = cmk_creds_ref(c->cur);
            return CMK_OK;
        }
        if (!c->refreshing && failed_lately(c, now)) {
            *st = c->last_st;
            return c->last_err;
        }
        if (!c->refreshing) {
            *refresh = true;
            return CMK_OK;
        }
        cmk_cond_wait(&c->cond, &c->lock); /* nothing valid: wait */
    }
}

/* Under the lock, after a refresh: publish or remember the failure. */
static cmk_err publish_locked(struct cmk_cred_cache *c, cmk_err err,
                              const struct cmk_cred_status *st,
                              struct cmk_creds *fresh, struct cmk_creds **out)
{
    int64_t now = cmk_creds_now(&c->env);

    c->refreshing = false;
    cmk_cond_broadcast(&c->cond);
    if (err == CMK_OK) {
        cmk_creds_unref(c->cur);
        c->cur = fresh; /* the cache owns the reference */
        c->last_fail = 0;
        *out = cmk_creds_ref(fresh);
        return CMK_OK;
    }
    c->last_err = err;
    c->last_st = *st;
    c->last_fail = now;
    if (!is_usable(c->cur, now))
        return err;
    *out = cmk_creds_ref(c->cur); /* refresh ahead failed: keep it */
    return CMK_OK;
}

cmk_err cmk_cred_cache_get(struct cmk_cred_cache *c, struct cmk_cred_status *st,
                           struct cmk_creds **out)
{
    struct cmk_cred_status mine;
    struct cmk_creds *fresh = NULL;
    bool refresh;
    cmk_err err;

    if (c == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    memset(st, 0, sizeof(*st));
    cmk_mutex_lock(&c->lock);
    err = pick_locked(c, st, out, &refresh);
    if (err != CMK_OK || !refresh) {
        cmk_mutex_unlock(&c->lock);
        return err;
    }
    c->refreshing = true;
    cmk_mutex_unlock(&c->lock);
    memset(&mine, 0, sizeof(mine));
    err = c->resolve(&c->env, &mine, &fresh); /* I/O without the lock */
    if (err == CMK_OK && fresh == NULL)
        err = CMK_E_INTERNAL;
    cmk_mutex_lock(&c->lock);
    err = publish_locked(c, err, &mine, fresh, out);
    cmk_mutex_unlock(&c->lock);
    if (err != CMK_OK)
        *st = mine;
    return err;
}

void cmk_cred_cache_drop(struct cmk_cred_cache *c, const struct cmk_creds *cred)
{
    struct cmk_creds *old = NULL;

    if (c == NULL)
        return;
    cmk_mutex_lock(&c->lock);
    if (c->cur == cred) {
        old = c->cur;
        c->cur = NULL;
        c->last_fail = 0;
    }
    cmk_mutex_unlock(&c->lock);
    cmk_creds_unref(old);
}
