/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: what settings.c (the file, top level, tenant list) and
 * settings_tenant.c (one tenant) share. Not for use outside them.
 */
#ifndef CMK_CORE_SETTINGS_INT_H
#define CMK_CORE_SETTINGS_INT_H

#include <jansson.h>
#include "core/settings.h"
#include "util/conf.h"

/* Reads tenant t at field path base into tc (zeroed by the caller);
 * cfg->store_dir and cfg->http must be set. On error tc may hold part of
 * the tenant: cmk_config_tenant_fini frees it either way. */
cmk_err cmk_config_tenant_parse(struct cmk_conf *cf, const char *base,
                                json_t *t, const struct cmk_config *cfg,
                                struct cmk_tenant_cfg *tc) CMK_WUR;
/* The tenant's "previous_keks" (settings_keks.c), after its "kek" and
 * "kek_commitment"; and their release. */
cmk_err cmk_config_prev_keks_parse(struct cmk_conf *cf, const char *base,
                                   json_t *t,
                                   struct cmk_tenant_cfg *tc) CMK_WUR;
void cmk_config_prev_keks_free(struct cmk_kms_cfg *k);
/* settings_kp.c: the tenant's "key_pairs" at base in t, after its
 * provider, cmk_label and cmk_id; and their release (NULL-safe). */
cmk_err cmk_config_key_pairs_parse(struct cmk_conf *cf, const char *base,
                                   json_t *t,
                                   struct cmk_tenant_cfg *tc) CMK_WUR;
void cmk_config_key_pairs_free(struct cmk_tenant_cfg *tc);
/* Frees and wipes what parse put into t. */
void cmk_config_tenant_fini(struct cmk_tenant_cfg *t);

/* Pieces of a tenant that dual control's provider key has too
 * (settings_tenant.c), on the kms part they fill. */
/* "provider" at base in t: a built provider's name. */
cmk_err cmk_config_provider(struct cmk_conf *cf, const char *base, json_t *t,
                            struct cmk_kms_cfg *kms) CMK_WUR;
/* Key reference s at field, checked by kms's provider, copied to *out. */
cmk_err cmk_config_key_ref(struct cmk_conf *cf, const char *field,
                           const char *s, const struct cmk_kms_cfg *kms,
                           char **out) CMK_WUR;
/* Optional "kek" at base in t: a sealed blob in base64. */
cmk_err cmk_config_kek(struct cmk_conf *cf, const char *base, json_t *t,
                       struct cmk_kms_cfg *kms) CMK_WUR;
/* t is an object whose members are in keys or a provider's ("aws"). */
cmk_err cmk_config_check_members(struct cmk_conf *cf, const char *base,
                                 json_t *t, const char *const *keys) CMK_WUR;
/* The settings of kms's provider in t (its cfg slots); another
 * provider's member is refused. */
cmk_err cmk_config_provider_cfg(struct cmk_conf *cf, const char *base,
                                json_t *t, struct cmk_kms_cfg *kms) CMK_WUR;

/* settings_dual.c: the tenant's "dual_control" at base in t, absent or
 * not, into kms->dual, after cmk_config_tenant_parse read the rest of
 * the tenant (its label, keys, "kek", context, http) and cfg->cache. On
 * error kms->dual may hold part of it: cmk_config_dual_free frees it
 * either way, before cmk_config_tenant_fini. */
cmk_err cmk_config_dual_parse(struct cmk_conf *cf, const char *base, json_t *t,
                              const struct cmk_config *cfg,
                              struct cmk_kms_cfg *kms) CMK_WUR;
/* Frees and wipes what dual_parse made; NULL-safe. */
void cmk_config_dual_free(struct cmk_kms_cfg *d);

#endif /* CMK_CORE_SETTINGS_INT_H */
