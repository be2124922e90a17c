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
/* Frees and wipes what parse put into t. */
void cmk_config_tenant_fini(struct cmk_tenant_cfg *t);

#endif /* CMK_CORE_SETTINGS_INT_H */
