/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: parsing the DEK cache options ("cache": ttl_seconds, max_entries,
 * max_uses, scope).
 */
#include <config.h>

#include <limits.h>

#include "keys/cache_cfg.h"

#define TTL_MAX 86400
#define CACHE_ENTRIES_MAX (1024 * 1024)

void cmk_cache_opts_init(struct cmk_cache_opts *o)
{
    o->limits.ttl_s = 300;
    o->limits.max_entries = 4096;
    o->limits.max_uses = 0;
    o->per_session = false;
}

cmk_err cmk_cache_opts_parse(struct cmk_conf *cf, const char *name, json_t *v,
                             struct cmk_cache_opts *o)
{
    static const char *const keys[] = {"ttl_seconds", "max_entries", "max_uses",
                                       "scope", NULL};
    static const char *const scopes[] = {"token", "session", NULL};
    unsigned scope = o->per_session ? 1 : 0;
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    err = cmk_conf_check_object(cf, name, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "ttl_seconds", 0, TTL_MAX,
                            &o->limits.ttl_s);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "max_entries", 1, CACHE_ENTRIES_MAX,
                            &o->limits.max_entries);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "max_uses", 0, UINT_MAX,
                            &o->limits.max_uses);
    if (err == CMK_OK)
        err = cmk_conf_enum(cf, name, v, "scope", scopes,
                            "\"token\" or \"session\"", &scope);
    o->per_session = scope == 1;
    return err;
}
