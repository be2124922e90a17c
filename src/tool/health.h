/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: "cmk-tool health" internals shared by health.c (options, rounds,
 * --watch) and health_check.c (one tenant's check, its report as a text
 * line or a JSON object, and its cmk_health_changed record).
 */
#ifndef CMK_TOOL_HEALTH_H
#define CMK_TOOL_HEALTH_H

#include <stdbool.h>

#include "core/settings.h"
#include "keys/cmk.h"
#include "tool/event.h"

/* One tenant across rounds. */
struct tool_health {
    const struct cmk_tenant_cfg *t;
    struct cmk_cmk *c;     /* kept open between --watch rounds */
    char last[64];         /* "healthy" or "unhealthy (REASON)" */
    struct tool_audit *ta; /* --watch: where changes are recorded */
    bool json;
};

/* Checks h's tenant (the provider's health call, then the KEK when one
 * is configured: always a KMS call, the breaker is off here), prints its
 * line or JSON object and, with h->ta, records a change from h->last.
 * TOOL_OK healthy, TOOL_FAIL not, TOOL_USAGE when the change could not
 * be recorded. */
int tool_health_check(struct tool_health *h);
/* Closes h's CMK (NULL-safe). */
void tool_health_fini(struct tool_health *h);

#endif /* CMK_TOOL_HEALTH_H */
