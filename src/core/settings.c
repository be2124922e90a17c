/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: configuration loading. Parses the JSON file with jansson, checks
 * every field (exact types, no unknown fields) and reports the first error
 * as "PATH: FIELD: what is wrong"; a config is either whole or refused.
 */
#include <config.h>

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "audit/audit_cfg.h"
#include "core/settings.h"
#include "core/settings_int.h"
#include "keys/cache_cfg.h"
#include "keys/health_cfg.h"
#include "net/http_cfg.h"
#include "util/conf.h"
#include "util/secmem.h"

#define CONFIG_MAX_BYTES (64 * 1024 * 1024)

/* ---- Top level ---- */

static cmk_err parse_version(struct cmk_conf *cf, json_t *root)
{
    json_t *v = json_object_get(root, "version");

    if (v == NULL)
        return CMK_OK;
    if (!json_is_integer(v))
        return cmk_conf_fail(cf, "version", "expected an integer");
    if (json_integer_value(v) != 1)
        return cmk_conf_fail(cf, "version", "unsupported version (expected 1)");
    return CMK_OK;
}

/* Tenant labels and store directories seen so far, each in a hash set
 * of tenant indices (open addressing, at most half full), so that every
 * tenant is checked against those before it in constant time: a list
 * compared pairwise costs n^2/2 string comparisons (50 million for 10 000
 * tenants, a quarter of the load). */
struct seen {
    size_t *slot; /* tenant index + 1; 0: empty */
    size_t mask;
};

static cmk_err seen_init(struct seen *s, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n)
        cap *= 2;
    s->slot = calloc(cap, sizeof(*s->slot));
    s->mask = cap - 1;
    return s->slot != NULL ? CMK_OK : CMK_E_NOMEM;
}

static size_t str_hash(const char *p)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */

    for (; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return (size_t)(h ^ h >> 32);
}

/* Adds tenant i under key; the index of an earlier tenant with the same
 * key (key_of(j) equal), or SIZE_MAX when it is new. */
static size_t seen_add(struct seen *s, const struct cmk_config *cfg, size_t i,
                       const char *(*key_of)(const struct cmk_tenant_cfg *))
{
    const char *key = key_of(&cfg->tenants[i]);
    size_t k = str_hash(key) & s->mask, j;

    for (; s->slot[k] != 0; k = (k + 1) & s->mask) {
        j = s->slot[k] - 1;
        if (strcmp(key_of(&cfg->tenants[j]), key) == 0)
            return j;
    }
    s->slot[k] = i + 1;
    return SIZE_MAX;
}

static const char *label_of(const struct cmk_tenant_cfg *t)
{
    return t->kms.label;
}

static const char *store_of(const struct cmk_tenant_cfg *t)
{
    return t->store_dir;
}

/* Tenant i against the ones before it: labels and store dirs unique. */
static cmk_err check_unique(struct cmk_conf *cf, const char *base,
                            const struct cmk_config *cfg, size_t i,
                            struct seen *labels, struct seen *stores)
{
    const struct cmk_tenant_cfg *t = &cfg->tenants[i];
    char f[CMK_CONF_FIELD_MAX];
    size_t j;

    if (seen_add(labels, cfg, i, label_of) != SIZE_MAX) {
        cmk_conf_join(f, base, "label");
        return cmk_conf_fail(cf, f, "duplicate tenant label \"%s\"",
                             t->kms.label);
    }
    j = seen_add(stores, cfg, i, store_of);
    if (j != SIZE_MAX) {
        cmk_conf_join(f, base, "store_dir");
        return cmk_conf_fail(cf, f, "same store directory as tenants[%zu]", j);
    }
    return CMK_OK;
}

static cmk_err parse_tenants(struct cmk_conf *cf, json_t *root,
                             struct cmk_config *cfg)
{
    char base[CMK_CONF_FIELD_MAX];
    struct seen labels = {0}, stores = {0};
    json_t *a, *t;
    size_t i;
    cmk_err err;

    err = cmk_conf_member(cf, "", root, "tenants", true, &a);
    if (err != CMK_OK)
        return err;
    if (!json_is_array(a))
        return cmk_conf_fail(cf, "tenants", "expected an array");
    if (json_array_size(a) == 0)
        return cmk_conf_fail(cf, "tenants", "must not be empty");
    cfg->tenants = calloc(json_array_size(a), sizeof(*cfg->tenants));
    if (cfg->tenants == NULL ||
        seen_init(&labels, json_array_size(a)) != CMK_OK ||
        seen_init(&stores, json_array_size(a)) != CMK_OK) {
        err = cmk_conf_oom(cf);
        goto out;
    }
    cfg->n_tenants = json_array_size(a);
    json_array_foreach(a, i, t)
    {
        cmk_conf_join_idx(base, "tenants", i);
        err = cmk_config_tenant_parse(cf, base, t, cfg, &cfg->tenants[i]);
        if (err == CMK_OK)
            err = cmk_config_dual_parse(cf, base, t, cfg, &cfg->tenants[i].kms);
        if (err == CMK_OK)
            err = check_unique(cf, base, cfg, i, &labels, &stores);
        if (err != CMK_OK)
            goto out;
    }
out:
    free(labels.slot);
    free(stores.slot);
    return err;
}

/* After the tenants: the audit key tenant must be one of them. */
static cmk_err check_audit_key_tenant(struct cmk_conf *cf,
                                      const struct cmk_config *cfg)
{
    if (cfg->audit.key_tenant == NULL ||
        cmk_config_tenant(cfg, cfg->audit.key_tenant) != NULL)
        return CMK_OK;
    return cmk_conf_fail(cf, "audit.key_tenant", "no tenant \"%s\"",
                         cfg->audit.key_tenant);
}

static cmk_err parse_root(struct cmk_conf *cf, json_t *root,
                          struct cmk_config *cfg)
{
    static const char *const keys[] = {"version", "store_dir", "audit",
                                       "cache",   "http",      "health",
                                       "tenants", NULL};
    cmk_err err;

    if (!json_is_object(root))
        return cmk_conf_fail(cf, NULL, "expected a JSON object at top level");
    err = cmk_conf_check_keys(cf, "", root, keys);
    if (err == CMK_OK)
        err = parse_version(cf, root);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, "", root, "store_dir", &cfg->store_dir);
    if (err == CMK_OK && cfg->store_dir == NULL)
        err =
            cmk_conf_dup(cf, LOCALSTATEDIR "/lib/cmk-pkcs11", &cfg->store_dir);
    if (err == CMK_OK)
        err = cmk_conf_dir_if_any(cf, "store_dir", cfg->store_dir);
    if (err == CMK_OK)
        err = cmk_audit_cfg_parse(cf, "audit", json_object_get(root, "audit"),
                                  &cfg->audit);
    if (err == CMK_OK)
        err = cmk_cache_opts_parse(cf, "cache", json_object_get(root, "cache"),
                                   &cfg->cache);
    if (err == CMK_OK)
        err = cmk_http_cfg_parse(cf, "http", json_object_get(root, "http"),
                                 &cfg->http);
    if (err == CMK_OK)
        err = cmk_health_opts_parse(
            cf, "health", json_object_get(root, "health"), &cfg->health);
    if (err == CMK_OK)
        err = parse_tenants(cf, root, cfg);
    if (err == CMK_OK)
        err = check_audit_key_tenant(cf, cfg);
    return err;
}

cmk_err cmk_config_load(const char *path, struct cmk_config **out, char *err,
                        size_t err_len)
{
    struct cmk_conf cf = {path != NULL ? path : "(null)", err, err_len};
    struct cmk_config *cfg = NULL;
    json_t *root = NULL;
    cmk_err e;

    if (err != NULL && err_len > 0)
        err[0] = '\0';
    if (out == NULL || path == NULL) {
        (void)cmk_conf_fail(&cf, NULL, "no configuration path");
        return CMK_E_ARGS;
    }
    *out = NULL;
    e = cmk_conf_read_json(&cf, CONFIG_MAX_BYTES, &root);
    if (e != CMK_OK)
        goto out;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL || (cfg->path = cmk_strdup(path)) == NULL) {
        e = cmk_conf_oom(&cf);
        goto out;
    }
    cmk_audit_cfg_init(&cfg->audit);
    cmk_cache_opts_init(&cfg->cache);
    cmk_http_cfg_init(&cfg->http);
    cmk_health_opts_init(&cfg->health);
    e = parse_root(&cf, root, cfg);
    if (e != CMK_OK)
        goto out;
    *out = cfg;
    cfg = NULL; /* caller owns it */
out:
    json_decref(root);
    cmk_config_free(cfg);
    return e;
}

void cmk_config_free(struct cmk_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    if (cfg->tenants != NULL) {
        for (i = 0; i < cfg->n_tenants; i++) {
            /* it borrows the tenant's label and context */
            cmk_config_dual_free(cfg->tenants[i].kms.dual);
            cmk_config_tenant_fini(&cfg->tenants[i]);
        }
        free(cfg->tenants);
    }
    cmk_str_free(cfg->path);
    cmk_str_free(cfg->store_dir);
    cmk_audit_cfg_fini(&cfg->audit);
    cmk_http_cfg_fini(&cfg->http);
    free(cfg);
}

const struct cmk_tenant_cfg *cmk_config_tenant(const struct cmk_config *cfg,
                                               const char *label)
{
    size_t i;

    if (cfg == NULL || label == NULL)
        return NULL;
    for (i = 0; i < cfg->n_tenants; i++) {
        if (strcmp(cfg->tenants[i].kms.label, label) == 0)
            return &cfg->tenants[i];
    }
    return NULL;
}

const struct cmk_tenant_cfg *
cmk_config_audit_key_tenant(const struct cmk_config *cfg)
{
    if (cfg == NULL || cfg->n_tenants == 0)
        return NULL;
    if (cfg->audit.key_tenant != NULL)
        return cmk_config_tenant(cfg, cfg->audit.key_tenant);
    return &cfg->tenants[0];
}

/* ---- Locating the file ---- */

/* "config=PATH" among space-separated words, or the whole string as a
 * plain path when it holds no '='. *found is false when reserved names
 * no config; then NULL is not an error. */
static char *from_reserved(const char *reserved, bool *found)
{
    const char *p = reserved, *w, *e = reserved;
    size_t n;
    char *d;

    *found = false;
    while (*p == ' ' || *p == '\t')
        p++;
    for (w = p; *w != '\0'; w = e) {
        while (*w == ' ' || *w == '\t')
            w++;
        for (e = w; *e != '\0' && *e != ' ' && *e != '\t'; e++)
            ;
        if ((size_t)(e - w) > 7 && strncmp(w, "config=", 7) == 0) {
            w += 7;
            break;
        }
    }
    if (*w == '\0') { /* no config= word */
        if (*p == '\0' || strchr(p, '=') != NULL)
            return NULL;
        w = p;
        e = p + strlen(p);
        while (e > w && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
    }
    *found = true;
    n = (size_t)(e - w);
    d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, w, n);
        d[n] = '\0';
    }
    return d;
}

char *cmk_config_locate(const char *reserved)
{
    const char *env;
    bool found = false;
    char *p;

    if (reserved != NULL) {
        p = from_reserved(reserved, &found);
        if (found)
            return p; /* NULL here means out of memory */
    }
    env = secure_getenv(CMK_CONFIG_ENV);
    if (env != NULL && env[0] != '\0')
        return cmk_strdup(env);
    return cmk_strdup(CMK_DEFAULT_CONFIG);
}
