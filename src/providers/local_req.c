/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the start of a local provider call, for its CMK (local.c)
 * and its key pairs (local_asym.c): a fresh request id, no answer yet
 * (backends.h).
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>

#include "providers/backends.h"
#include "providers/provider.h"
#include "mech/mech.h"

void cmk_local_start_request(struct cmk_req *rq)
{
    uint8_t r[8];
    char hex[sizeof(r) * 2 + 1];

    cmk_random(r, sizeof(r));
    sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
    snprintf(rq->request_id, sizeof(rq->request_id), "local-%s", hex);
    rq->http_status = 0;
    rq->provider_code[0] = '\0';
}
