/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the gcp provider's health check (GET cryptoKey: the primary
 * version's state, the purpose, the protection level) and what its codes
 * say about a key's health (include/cmk-pkcs11.h CMK_HEALTH_*).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "providers/gcp_int.h"

static const struct {
    const char *code;
    unsigned long reason;
} reasons[] = {
    {"FAILED_PRECONDITION", CMK_HEALTH_DISABLED},
    {"State:DISABLED", CMK_HEALTH_DISABLED},
    {"State:DESTROY_SCHEDULED", CMK_HEALTH_PENDING_DELETION},
    {"State:DESTROYED", CMK_HEALTH_KEY_UNAVAILABLE},
    {"WrongPurpose", CMK_HEALTH_WRONG_KEY_SPEC},
};

unsigned long cmk_gcp_health_reason(const char *code)
{
    size_t i;

    if (code == NULL)
        return 0;
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reasons[i].code, code) == 0)
            return reasons[i].reason;
    }
    if (strncmp(code, "State:", 6) == 0)
        return CMK_HEALTH_KEY_UNAVAILABLE;
    return 0;
}

static const char *const state_names[] = {"UNSPECIFIED",
                                          "ENABLED",
                                          "DISABLED",
                                          "DESTROYED",
                                          "DESTROY_SCHEDULED",
                                          "PENDING_GENERATION",
                                          "PENDING_IMPORT",
                                          "IMPORT_FAILED",
                                          "GENERATION_FAILED",
                                          "PENDING_EXTERNAL_DESTRUCTION",
                                          "EXTERNAL_DESTRUCTION_FAILED"};

static const char *state_name(int s)
{
    if (s < 0 || (size_t)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "UNKNOWN";
    return state_names[s];
}

static cmk_err parse_key(struct gcp_state *st, struct cmk_http_resp *r,
                         void *out, const char **code)
{
    struct cmk_gcp_key_info *ki = out;
    cmk_err err;

    (void)code;
    err = cmk_gcp_parse_key((const char *)r->body.p, r->body.len, ki);
    if (err == CMK_OK && ki->level > 0)
        atomic_store(&st->level, ki->level);
    return err;
}

/* The primary version must be ENABLED and the key for ENCRYPT_DECRYPT.
 * A configured version is not checked apart yet. */
cmk_err cmk_gcp_health(void *vst, struct cmk_req *rq)
{
    struct gcp_state *st = vst;
    struct cmk_gcp_key_info ki;
    struct gcp_call_req cr = {"GET", "",        NULL, CMK_GCP_OP_GET,
                              NULL,  parse_key, &ki};
    cmk_err err;

    if (st == NULL || rq == NULL)
        return CMK_E_ARGS;
    memset(&ki, 0, sizeof(ki));
    cr.name = st->crypto_key;
    err = cmk_gcp_call(st, rq, &cr);
    if (err != CMK_OK)
        return err;
    if (ki.purpose != CMK_GCP_ENCRYPT_DECRYPT) {
        snprintf(rq->provider_code, sizeof(rq->provider_code), "WrongPurpose");
        return CMK_E_ACCESS_DENIED;
    }
    if (ki.state != CMK_GCP_ENABLED) {
        snprintf(rq->provider_code, sizeof(rq->provider_code), "State:%s",
                 state_name(ki.state));
        return CMK_E_KEY_DISABLED;
    }
    return CMK_OK;
}
