/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the circuit breaker options (the config's global "health"
 * object: breaker, probe_min_ms, probe_max_ms) and their parser. Errors
 * as util/conf.h describes.
 */
#ifndef CMK_KEYS_HEALTH_CFG_H
#define CMK_KEYS_HEALTH_CFG_H

#include "keys/health.h"
#include "util/conf.h"
#include "util/err.h"

/* Sets the defaults: breaker on, 1 s doubling up to 60 s. */
void cmk_health_opts_init(struct cmk_health_opts *o);
/* Reads the "health" object v (NULL: absent, defaults stay) at field path
 * name into o. Refused: unknown fields, a breaker that is not a boolean,
 * probe_min_ms outside 1..3600000, probe_max_ms outside that range or
 * below probe_min_ms. */
cmk_err cmk_health_opts_parse(struct cmk_conf *cf, const char *name, json_t *v,
                              struct cmk_health_opts *o) CMK_WUR;

#endif /* CMK_KEYS_HEALTH_CFG_H */
