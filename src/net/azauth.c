/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the pool of Entra ID token caches (azauth.h), one per (tenant,
 * resource) a vault's challenge named, each a net/creds.h cache whose
 * resolver (azauth_chain.c) gets the pair as its env->arg. Entries are
 * allocated one by one so that the pair a cache points at never moves;
 * none is removed before the pool goes.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/azauth.h"
#include "util/lock.h"

struct entry {
    struct cmk_azauth_ask ask;
    struct cmk_cred_cache cache;
};

struct cmk_azauth {
    struct cmk_mutex lock; /* guards n and slots; a leaf */
    struct cmk_cred_env env;
    const struct cmk_azauth_cfg *cfg;
    cmk_cred_source_fn resolve;
    struct entry *slots[CMK_AZAUTH_CACHES];
    size_t n;
};

cmk_err cmk_azauth_new(const struct cmk_cred_env *env,
                       const struct cmk_azauth_cfg *cfg,
                       struct cmk_azauth **out)
{
    struct cmk_azauth *a;

    if (env == NULL || out == NULL)
        return CMK_E_ARGS;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return CMK_E_NOMEM;
    if (cmk_mutex_init(&a->lock) != CKR_OK) {
        free(a);
        return CMK_E_NOMEM;
    }
    a->env = *env;
    a->env.arg = NULL;
    a->cfg = cfg;
    a->resolve = cmk_azauth_resolve;
    *out = a;
    return CMK_OK;
}

void cmk_azauth_free(struct cmk_azauth *a)
{
    size_t i;

    if (a == NULL)
        return;
    for (i = 0; i < a->n; i++) {
        cmk_cred_cache_fini(&a->slots[i]->cache);
        free(a->slots[i]);
    }
    cmk_mutex_fini(&a->lock);
    free(a);
}

void cmk_azauth_set_resolver(struct cmk_azauth *a, cmk_cred_source_fn fn)
{
    cmk_mutex_lock(&a->lock);
    a->resolve = fn != NULL ? fn : cmk_azauth_resolve;
    cmk_mutex_unlock(&a->lock);
}

const char *cmk_azauth_tenant(const struct cmk_azauth *a, const char *ch_tenant)
{
    const char *t = a->cfg != NULL ? a->cfg->tenant_id : NULL;

    if (t == NULL || t[0] == '\0')
        t = cmk_creds_getenv(&a->env, "AZURE_TENANT_ID");
    if (t == NULL || t[0] == '\0')
        t = ch_tenant;
    return t != NULL ? t : "";
}

static bool same(const struct entry *e, const char *tenant,
                 const char *resource)
{
    return strcmp(e->ask.tenant, tenant) == 0 &&
           strcmp(e->ask.resource, resource) == 0;
}

static cmk_err add(struct cmk_azauth *a, const char *tenant,
                   const char *resource, struct entry **out)
{
    struct cmk_cred_env env = a->env;
    struct entry *e;
    cmk_err err;

    if (a->n == CMK_AZAUTH_CACHES)
        return CMK_E_ACCESS_DENIED;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return CMK_E_NOMEM;
    e->ask.cfg = a->cfg;
    snprintf(e->ask.tenant, sizeof(e->ask.tenant), "%s", tenant);
    snprintf(e->ask.resource, sizeof(e->ask.resource), "%s", resource);
    env.arg = &e->ask;
    err = cmk_cred_cache_init(&e->cache, &env);
    if (err != CMK_OK) {
        free(e);
        return err;
    }
    e->cache.resolve = a->resolve;
    a->slots[a->n++] = e;
    *out = e;
    return CMK_OK;
}

/* The cache of (tenant, resource), made when new; NULL on failure with
 * *err set. */
static struct entry *find(struct cmk_azauth *a, const char *tenant,
                          const char *resource, bool make, cmk_err *err)
{
    struct entry *e = NULL;
    size_t i;

    *err = CMK_OK;
    cmk_mutex_lock(&a->lock);
    for (i = 0; i < a->n && e == NULL; i++) {
        if (same(a->slots[i], tenant, resource))
            e = a->slots[i];
    }
    if (e == NULL && make)
        *err = add(a, tenant, resource, &e);
    cmk_mutex_unlock(&a->lock);
    return e;
}

static cmk_err refuse(struct cmk_cred_status *st, cmk_err err, const char *code)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->code, sizeof(st->code), "%s", code);
    return err;
}

cmk_err cmk_azauth_get(struct cmk_azauth *a, const char *tenant,
                       const char *resource, struct cmk_cred_status *st,
                       struct cmk_creds **out)
{
    const char *want;
    struct entry *e;
    cmk_err err;

    if (a == NULL || tenant == NULL || resource == NULL || st == NULL ||
        out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    want = cmk_azauth_tenant(a, tenant);
    if (tenant[0] != '\0' && strcmp(want, tenant) != 0)
        return refuse(st, CMK_E_ACCESS_DENIED, "TenantMismatch");
    if (strlen(want) >= CMK_AZAUTH_TENANT_MAX ||
        strlen(resource) >= CMK_AZAUTH_RESOURCE_MAX)
        return refuse(st, CMK_E_BAD_RESPONSE, "ChallengeTooLong");
    e = find(a, want, resource, true, &err);
    if (e == NULL)
        return refuse(st, err,
                      err == CMK_E_ACCESS_DENIED ? "TooManyTenants"
                                                 : "ClientError");
    return cmk_cred_cache_get(&e->cache, st, out);
}

void cmk_azauth_drop(struct cmk_azauth *a, const char *tenant,
                     const char *resource, const struct cmk_creds *tok)
{
    struct entry *e;
    cmk_err err;

    if (a == NULL || tenant == NULL || resource == NULL)
        return;
    e = find(a, cmk_azauth_tenant(a, tenant), resource, false, &err);
    if (e != NULL)
        cmk_cred_cache_drop(&e->cache, tok);
}

const char *cmk_azauth_bearer(const struct cmk_creds *tok)
{
    return tok != NULL ? tok->secret_access_key : NULL;
}
