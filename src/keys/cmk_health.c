/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the provider's health check of a tenant's current CMK version,
 * through the circuit breaker and recorded like every provider call
 * (cmk.h cmk_cmk_health).
 */
#include <config.h>

#include "keys/cmk.h"
#include "keys/cmk_int.h"
#include "keys/health.h"
#include "util/clock.h"

cmk_err cmk_cmk_health(struct cmk_cmk *c, struct cmk_req *rq)
{
    const struct cmk_version *v;
    int64_t start;
    cmk_err err;

    if (c == NULL)
        return CMK_E_ARGS;
    v = &c->v[0];
    err = cmk_cmk_fill_req(c, v, CMK_PURPOSE_KEY, rq);
    if (err == CMK_OK && v->ops->health != NULL)
        err = cmk_health_enter(c->health);
    if (err != CMK_OK || v->ops->health == NULL)
        return err;
    start = cmk_clock_now_us();
    err = v->ops->health(v->st, rq);
    return cmk_cmk_note_call(c, v, "Health", rq, start, err);
}
