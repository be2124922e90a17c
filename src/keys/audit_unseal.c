/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: unsealing audit chain keys for verification. The key tenant is
 * pinned by the caller's configuration, never taken from the record: any
 * tenant can encrypt under its own CMK, so trusting the record's tenant
 * would let a tenant seal a key for a writer it made up.
 */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h" /* CMK_AUDIT_KEY_LEN */
#include "keys/audit_unseal.h"
#include "providers/provider.h"

struct version {
    void *st; /* NULL: not opened */
    const char *ref;
    cmk_err err; /* why it did not open */
};

struct cmk_audit_unsealer {
    const struct cmk_kms_cfg *t;
    const struct cmk_provider_ops *ops;
    struct version *v; /* current, then previous, newest first */
    size_t n_v;
    bool opened;
    struct cmk_audit_key_ctx ctx;
};

cmk_err cmk_audit_unsealer_new(const struct cmk_kms_cfg *key_tenant,
                               struct cmk_audit_unsealer **out)
{
    struct cmk_audit_unsealer *u;

    if (key_tenant == NULL || key_tenant->label == NULL ||
        key_tenant->provider == NULL || out == NULL)
        return CMK_E_ARGS;
    u = calloc(1, sizeof(*u));
    if (u == NULL)
        return CMK_E_NOMEM;
    u->t = key_tenant;
    cmk_audit_key_ctx_init(&u->ctx, key_tenant);
    *out = u;
    return CMK_OK;
}

void cmk_audit_unsealer_free(struct cmk_audit_unsealer *u)
{
    size_t i;

    if (u == NULL)
        return;
    for (i = 0; i < u->n_v; i++) {
        if (u->v[i].st != NULL) {
            u->ops->fini(u->v[i].st);
            free(u->v[i].st);
        }
    }
    free(u->v);
    free(u);
}

/* Every CMK version's provider instance, once; a version that does not
 * open is skipped (its error kept for the message). */
static cmk_err open_versions(struct cmk_audit_unsealer *u)
{
    size_t i;

    u->opened = true;
    u->ops = cmk_provider_find(u->t->provider);
    if (u->ops == NULL)
        return CMK_E_CONFIG;
    u->v = calloc(1 + u->t->n_previous, sizeof(*u->v));
    if (u->v == NULL)
        return CMK_E_NOMEM;
    u->n_v = 1 + u->t->n_previous;
    for (i = 0; i < u->n_v; i++) {
        u->v[i].ref = i == 0 ? u->t->key_ref : u->t->previous_key_refs[i - 1];
        u->v[i].st = calloc(1, u->ops->state_size ? u->ops->state_size : 1);
        if (u->v[i].st == NULL)
            return CMK_E_NOMEM;
        u->v[i].err = u->ops->init(u->v[i].st, u->t, u->v[i].ref);
        if (u->v[i].err != CMK_OK) {
            free(u->v[i].st); /* init cleaned up after itself */
            u->v[i].st = NULL;
        }
    }
    return CMK_OK;
}

static cmk_err try_version(struct cmk_audit_unsealer *u, struct version *v,
                           const uint8_t *sealed, size_t len, uint8_t *key,
                           struct cmk_req *rq)
{
    struct cmk_secret k = {0};
    cmk_err err;

    cmk_audit_key_req(rq, &u->ctx, u->t, v->ref);
    err = u->ops->decrypt(v->st, rq, sealed, len, &k);
    if (err == CMK_OK && k.len != CMK_AUDIT_KEY_LEN)
        err = CMK_E_BAD_CIPHERTEXT;
    if (err == CMK_OK)
        memcpy(key, k.p, CMK_AUDIT_KEY_LEN);
    cmk_secret_free(&k); /* wipes */
    return err;
}

/* The record must name the pinned key tenant and its provider. */
static cmk_err check_names(const struct cmk_audit_unsealer *u,
                           const char *tenant, const char *provider, char *why,
                           size_t why_len)
{
    if (strcmp(tenant, u->t->label) != 0) {
        snprintf(why, why_len,
                 "sealed by tenant \"%s\", not by the audit key tenant "
                 "\"%s\"",
                 tenant, u->t->label);
        return CMK_E_ACCESS_DENIED;
    }
    if (strcmp(provider, u->t->provider) != 0) {
        snprintf(why, why_len,
                 "provider \"%s\" is not the key tenant's (\"%s\")", provider,
                 u->t->provider);
        return CMK_E_ACCESS_DENIED;
    }
    return CMK_OK;
}

cmk_err cmk_audit_unseal(void *arg, const char *tenant, const char *provider,
                         const uint8_t *sealed, size_t sealed_len, uint8_t *key,
                         char *why, size_t why_len)
{
    struct cmk_audit_unsealer *u = arg;
    cmk_err err, last = CMK_E_KEY_NOT_FOUND;
    struct cmk_req rq;
    size_t i;

    if (u == NULL || tenant == NULL || provider == NULL || sealed == NULL ||
        key == NULL)
        return CMK_E_ARGS;
    memset(&rq, 0, sizeof(rq));
    err = check_names(u, tenant, provider, why, why_len);
    if (err == CMK_OK && !u->opened)
        err = open_versions(u);
    if (err == CMK_E_CONFIG)
        snprintf(why, why_len, "no provider \"%s\"", u->t->provider);
    if (err != CMK_OK)
        return err;
    for (i = 0; i < u->n_v; i++) {
        last = u->v[i].st != NULL
                   ? try_version(u, &u->v[i], sealed, sealed_len, key, &rq)
                   : u->v[i].err;
        if (last == CMK_OK)
            return CMK_OK;
    }
    snprintf(why, why_len, "the CMK of tenant \"%s\" refuses it (%s%s%s)",
             u->t->label, cmk_err_name(last), rq.provider_code[0] ? ", " : "",
             rq.provider_code);
    return last == CMK_E_CONFIG ? CMK_E_KEY_NOT_FOUND : last;
}
