/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the DEK cache options (the config's global "cache" object: TTL,
 * entry and use limits, token or session scope) and their parser. Errors
 * as util/conf.h describes.
 */
#ifndef CMK_KEYS_CACHE_CFG_H
#define CMK_KEYS_CACHE_CFG_H

#include <stdbool.h>
#include "keys/cache.h"
#include "util/conf.h"
#include "util/err.h"

struct cmk_cache_opts {
    /* ttl_s default 300 (0..86400), also the KEK's time in memory;
     * max_entries default 4096 (1..1048576); max_uses default 0
     * (unlimited) */
    struct cmk_cache_cfg limits;
    bool per_session; /* "scope": default false, "token" (shared by a
                       * token's sessions); true: "session" */
};

/* Sets the defaults. */
void cmk_cache_opts_init(struct cmk_cache_opts *o);
/* Reads the "cache" object v (NULL: absent, defaults stay) at field path
 * name into o, which cmk_cache_opts_init set up. Refused: unknown fields,
 * values out of range, a scope other than "token" or "session". */
cmk_err cmk_cache_opts_parse(struct cmk_conf *cf, const char *name, json_t *v,
                             struct cmk_cache_opts *o) CMK_WUR;

#endif /* CMK_KEYS_CACHE_CFG_H */
