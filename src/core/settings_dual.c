/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a tenant's "dual_control" (README, "Dual control"): the
 * provider-managed key that seals the provider half of the tenant KEK,
 * with its own provider settings, read by that provider's cfg slots.
 */
#include <config.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/settings.h"
#include "core/settings_int.h"
#include "net/http.h"
#include "net/http_cfg.h"
#include "providers/provider.h"
#include "util/conf.h"
#include "util/secmem.h"

/* BuildBuddy keeps the derived key in memory at most 10 minutes; the KEK
 * cache keeps it cache.ttl_seconds. */
#define DUAL_TTL_MAX 600u

/* The provider key must be another key than every CMK version: one key
 * sealing both halves would give its holder the whole KEK. */
static cmk_err check_other_key(struct cmk_conf *cf, const char *f,
                               const struct cmk_kms_cfg *kms,
                               const struct cmk_kms_cfg *d)
{
    size_t i;

    if (strcmp(d->provider, kms->provider) != 0)
        return CMK_OK;
    if (strcmp(d->key_ref, kms->key_ref) == 0)
        return cmk_conf_fail(cf, f,
                             "must be another key than the tenant's "
                             "\"key\"");
    for (i = 0; i < kms->n_previous; i++) {
        if (strcmp(d->key_ref, kms->previous_key_refs[i]) == 0)
            return cmk_conf_fail(cf, f,
                                 "must be another key than the tenant's "
                                 "\"previous_keys\"[%zu]",
                                 i);
    }
    return CMK_OK;
}

static cmk_err parse_key(struct cmk_conf *cf, const char *f, json_t *v,
                         const struct cmk_kms_cfg *kms, struct cmk_kms_cfg *d)
{
    char fk[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, f, v, "key", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(fk, f, "key");
    err = cmk_config_key_ref(cf, fk, s, d, &d->key_ref);
    if (err == CMK_OK)
        err = check_other_key(cf, fk, kms, d);
    return err;
}

/* Both halves or neither: cmk-tool provision writes them together. */
static cmk_err check_halves(struct cmk_conf *cf, const char *f,
                            const struct cmk_kms_cfg *kms,
                            const struct cmk_kms_cfg *d)
{
    char fk[CMK_CONF_FIELD_MAX];

    cmk_conf_join(fk, f, "kek");
    if (d->kek_blob_len != 0 && kms->kek_blob_len == 0)
        return cmk_conf_fail(cf, fk, "given without the tenant's \"kek\"");
    if (d->kek_blob_len == 0 && kms->kek_blob_len != 0)
        return cmk_conf_fail(cf, fk,
                             "required when the tenant has a \"kek\" (the "
                             "provider half; cmk-tool provision writes "
                             "both)");
    return CMK_OK;
}

static cmk_err check_ttl(struct cmk_conf *cf, const char *f,
                         const struct cmk_config *cfg)
{
    if (cfg->cache.limits.ttl_s <= DUAL_TTL_MAX)
        return CMK_OK;
    return cmk_conf_fail(cf, f,
                         "needs cache.ttl_seconds <= %u (the derived KEK is "
                         "kept at most 10 minutes), not %u",
                         DUAL_TTL_MAX, cfg->cache.limits.ttl_s);
}

/* The members of "dual_control" v at field path f into d. */
static cmk_err parse_members(struct cmk_conf *cf, const char *f, json_t *v,
                             const struct cmk_kms_cfg *kms,
                             struct cmk_kms_cfg *d)
{
    static const char *const keys[] = {"provider", "key",    "kek",
                                       "endpoint", "region", NULL};
    cmk_err err;

    err = cmk_config_check_members(cf, f, v, keys);
    if (err == CMK_OK)
        err = cmk_config_provider(cf, f, v, d);
    if (err == CMK_OK)
        err = parse_key(cf, f, v, kms, d);
    if (err == CMK_OK)
        err = cmk_config_kek(cf, f, v, d);
    if (err == CMK_OK)
        err = check_halves(cf, f, kms, d);
    if (err == CMK_OK)
        err = cmk_http_cfg_url(cf, f, v, "endpoint", CMK_URL_HTTPS_ONLY,
                               &d->endpoint);
    if (err == CMK_OK)
        err = cmk_conf_str_dup(cf, f, v, "region", &d->region);
    if (err == CMK_OK)
        err = cmk_config_provider_cfg(cf, f, v, d);
    return err;
}

cmk_err cmk_config_dual_parse(struct cmk_conf *cf, const char *base, json_t *t,
                              const struct cmk_config *cfg,
                              struct cmk_kms_cfg *kms)
{
    json_t *v = json_object_get(t, "dual_control");
    char f[CMK_CONF_FIELD_MAX];
    struct cmk_kms_cfg *d;

    if (v == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "dual_control");
    if (!json_is_object(v))
        return cmk_conf_fail(cf, f, "expected an object");
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return cmk_conf_oom(cf);
    kms->dual = d; /* freed with the tenant, also when parsing fails */
    d->label = kms->label;
    d->context = kms->context;
    d->n_context = kms->n_context;
    d->http = kms->http;
    if (check_ttl(cf, f, cfg) != CMK_OK)
        return CMK_E_CONFIG;
    return parse_members(cf, f, v, kms, d);
}

void cmk_config_dual_free(struct cmk_kms_cfg *d)
{
    const struct cmk_provider_ops *ops;

    if (d == NULL)
        return;
    ops = d->provider != NULL ? cmk_provider_find(d->provider) : NULL;
    if (ops != NULL && ops->cfg_free != NULL)
        ops->cfg_free(d->provider_cfg);
    cmk_str_free(d->provider);
    cmk_str_free(d->key_ref);
    if (d->kek_blob != NULL) {
        sodium_memzero(d->kek_blob, d->kek_blob_len);
        free(d->kek_blob);
    }
    cmk_str_free(d->endpoint);
    cmk_str_free(d->region);
    sodium_memzero(d, sizeof(*d)); /* label and context are the tenant's */
    free(d);
}
