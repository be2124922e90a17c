/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the options of the HTTP client (the config's global "http" object)
 * and their parser, plus the URL field reader providers use for their
 * endpoints. Errors as util/conf.h describes.
 */
#ifndef CMK_NET_HTTP_CFG_H
#define CMK_NET_HTTP_CFG_H

#include "util/conf.h"
#include "util/err.h"

/* Global "http" object: the HTTP client of every network provider. */
struct cmk_http_cfg {
    unsigned connect_timeout_ms; /* default 2000 (1..60000) */
    unsigned timeout_ms;         /* default 10000 (1..600000): bounds one
                                  * whole provider call, retries and backoff
                                  * included */
    unsigned max_attempts;       /* default 3 (1..10), the first try included */
    char *ca_file;               /* PEM CA bundle for TLS; NULL: system store */
};

/* Sets the defaults. */
void cmk_http_cfg_init(struct cmk_http_cfg *cfg);
/* Reads the "http" object v (NULL: absent, defaults stay) at field path
 * name into cfg, which cmk_http_cfg_init set up. Refused: unknown fields,
 * values out of range, a ca_file that is relative, missing or not a
 * regular file. */
cmk_err cmk_http_cfg_parse(struct cmk_conf *cf, const char *name, json_t *v,
                           struct cmk_http_cfg *cfg) CMK_WUR;
/* Frees what parse allocated; the defaults stay. */
void cmk_http_cfg_fini(struct cmk_http_cfg *cfg);

/* Optional URL member key of obj (at path base), checked with
 * cmk_url_check(flags) (net/http.h) and copied to *out. */
cmk_err cmk_http_cfg_url(struct cmk_conf *cf, const char *base, json_t *obj,
                         const char *key, unsigned flags, char **out) CMK_WUR;

#endif /* CMK_NET_HTTP_CFG_H */
