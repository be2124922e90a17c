/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: parsing the circuit breaker options ("health": breaker,
 * probe_min_ms, probe_max_ms).
 */
#include <config.h>

#include <stdio.h>

#include "keys/health_cfg.h"

#define PROBE_MS_MAX 3600000u /* an hour */

void cmk_health_opts_init(struct cmk_health_opts *o)
{
    o->breaker = true;
    o->probe_min_ms = 1000;
    o->probe_max_ms = 60000;
}

cmk_err cmk_health_opts_parse(struct cmk_conf *cf, const char *name, json_t *v,
                              struct cmk_health_opts *o)
{
    static const char *const keys[] = {"breaker", "probe_min_ms",
                                       "probe_max_ms", NULL};
    char field[128];
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    err = cmk_conf_check_object(cf, name, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, name, v, "breaker", &o->breaker);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "probe_min_ms", 1, PROBE_MS_MAX,
                            &o->probe_min_ms);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, name, v, "probe_max_ms", 1, PROBE_MS_MAX,
                            &o->probe_max_ms);
    if (err == CMK_OK && o->probe_max_ms < o->probe_min_ms) {
        snprintf(field, sizeof(field), "%s.probe_max_ms", name);
        err = cmk_conf_fail(cf, field, "%u is below probe_min_ms (%u)",
                            o->probe_max_ms, o->probe_min_ms);
    }
    return err;
}
