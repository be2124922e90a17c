/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Vault token chain and its cache (vauth.h). The cache of
 * net/creds.h calls resolve with one thread while the others keep the
 * current token: the last login's token is renewed when it is renewable
 * (renew-self), else, or when the renewal is refused or no longer
 * extends it past the refresh-ahead window (explicit_max_ttl reached), a
 * new token comes from the chain: the static sources (vauth_static.c),
 * then the logins (vauth_login.c). A dropped token is never renewed.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/vauth_int.h"
#include "util/log.h"

const char *cmk_vauth_token(const struct cmk_creds *tok)
{
    return tok != NULL ? tok->secret_access_key : NULL;
}

/* Under the lock: the token renew-self may extend, or NULL. */
static struct cmk_creds *renewable_token(struct cmk_vauth *va)
{
    struct cmk_creds *t = NULL;

    cmk_mutex_lock(&va->lock);
    if (va->last != NULL && va->renewable)
        t = cmk_creds_ref(va->last);
    cmk_mutex_unlock(&va->lock);
    return t;
}

static void remember(struct cmk_vauth *va, struct cmk_creds *tok,
                     bool renewable)
{
    struct cmk_creds *old;

    cmk_mutex_lock(&va->lock);
    old = va->last;
    va->last = tok != NULL ? cmk_creds_ref(tok) : NULL;
    va->renewable = renewable;
    cmk_mutex_unlock(&va->lock);
    cmk_creds_unref(old);
}

/* renew-self of tok; *out NULL when it did not help. */
static void renew(struct cmk_vauth *va, const struct cmk_creds *tok,
                  struct cmk_creds **out, bool *renewable)
{
    struct cmk_cred_status st;
    struct cmk_http_resp resp;
    int64_t now = cmk_creds_now(&va->cache.env);
    cmk_err err;

    memset(&st, 0, sizeof(st));
    *out = NULL;
    err = cmk_vauth_post(va, "auth/token/renew-self", NULL,
                         cmk_vauth_token(tok), NULL, &st, &resp);
    if (err == CMK_OK)
        err = cmk_vauth_parse_auth(&resp, tok->source, now, out, renewable);
    cmk_http_resp_free(&resp);
    if (err == CMK_OK && ((*out)->expires != 0 &&
                          (*out)->expires - now <= CMK_CREDS_REFRESH_AHEAD_S)) {
        cmk_creds_unref(*out); /* at its max TTL: log in again */
        *out = NULL;
    }
    cmk_log_debug("vault token: renew-self %s (%s)",
                  *out != NULL ? "extended it" : "did not help",
                  err == CMK_OK ? "OK" : st.code);
}

static cmk_err resolve(const struct cmk_cred_env *env,
                       struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_vauth *va = (struct cmk_vauth *)(uintptr_t)env->arg;
    struct cmk_creds *last = renewable_token(va);
    bool renewable = false;
    cmk_err err = CMK_OK;

    *out = NULL;
    if (last != NULL)
        renew(va, last, out, &renewable);
    cmk_creds_unref(last);
    if (*out != NULL) {
        remember(va, *out, renewable);
        return CMK_OK;
    }
    err = cmk_vauth_static(va, st, out);
    if (err == CMK_OK && *out == NULL) {
        err = cmk_vauth_login(va, st, out, &renewable);
        remember(va, err == CMK_OK ? *out : NULL, renewable);
    }
    if (err == CMK_OK && *out == NULL)
        err = cmk_creds_refuse_why(st, CMK_E_ACCESS_DENIED, "NoCredentials",
                                   "no Vault token: set vault.token_file, "
                                   "VAULT_TOKEN, ~/.vault-token or a login "
                                   "method");
    if (err != CMK_OK && st->detail[0] != '\0')
        cmk_log_once("vault token: %s (%s)", st->detail, st->code);
    return err;
}

cmk_err cmk_vauth_new(const struct cmk_vauth_env *env, struct cmk_vauth **out)
{
    struct cmk_cred_env ce;
    struct cmk_vauth *va;

    if (env == NULL || out == NULL || env->http == NULL || env->address == NULL)
        return CMK_E_ARGS;
    va = calloc(1, sizeof(*va));
    if (va == NULL)
        return CMK_E_NOMEM;
    va->env = *env;
    memset(&ce, 0, sizeof(ce));
    ce.http = env->http;
    ce.getenv = env->getenv;
    ce.now = env->now;
    ce.arg = va;
    if (cmk_mutex_init(&va->lock) != CKR_OK) {
        free(va);
        return CMK_E_NOMEM;
    }
    if (cmk_cred_cache_init(&va->cache, &ce) != CMK_OK) {
        cmk_mutex_fini(&va->lock);
        free(va);
        return CMK_E_NOMEM;
    }
    va->cache.resolve = resolve;
    *out = va;
    return CMK_OK;
}

void cmk_vauth_free(struct cmk_vauth *va)
{
    if (va == NULL)
        return;
    cmk_cred_cache_fini(&va->cache);
    cmk_creds_unref(va->last);
    cmk_mutex_fini(&va->lock);
    free(va);
}

cmk_err cmk_vauth_get(struct cmk_vauth *va, struct cmk_cred_status *st,
                      struct cmk_creds **out)
{
    if (va == NULL)
        return CMK_E_ARGS;
    return cmk_cred_cache_get(&va->cache, st, out);
}

void cmk_vauth_drop(struct cmk_vauth *va, const struct cmk_creds *tok)
{
    if (va == NULL)
        return;
    cmk_mutex_lock(&va->lock);
    if (va->last == tok) /* refused: never renewed */
        va->renewable = false;
    cmk_mutex_unlock(&va->lock);
    cmk_cred_cache_drop(&va->cache, tok);
}
