/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: HTTP exchanges of the credential sources, retried with a short
 * backoff. These endpoints are not AWS service APIs, so the client's
 * retry quota (meant for KMS) is not charged.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "net/creds_int.h"

#define FETCH_BASE_MS 100u
#define FETCH_MAX_BACKOFF_MS 1000u

cmk_err cmk_creds_refuse(struct cmk_cred_status *st, cmk_err err,
                         const char *code)
{
    snprintf(st->code, sizeof(st->code), "%s", code);
    return err;
}

struct fetch {
    const struct cmk_cred_env *env;
    const struct cmk_http_req *rq;
    struct cmk_http_resp *resp;
    bool gone; /* 410 is transient too */
};

static cmk_err attempt(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct fetch *f = arg;
    struct cmk_http_req rq = *f->rq;
    cmk_err err;

    (void)n;
    rq.deadline_us = deadline_us;
    cmk_http_resp_free(f->resp);
    err = cmk_http_do(f->env->http, &rq, f->resp);
    if (err == CMK_E_TIMEOUT)
        *cls = CMK_RETRY_TIMEOUT;
    else if (err == CMK_E_NETWORK && f->resp->fail != CMK_HTTP_FAIL_TLS)
        *cls = CMK_RETRY_TRANSIENT;
    if (err != CMK_OK)
        return err;
    if (f->resp->status == 429 || f->resp->status >= 500 ||
        (f->gone && f->resp->status == 410)) {
        *cls = CMK_RETRY_TRANSIENT;
        return CMK_E_KMS_INTERNAL; /* the answer stays in resp */
    }
    return CMK_OK;
}

static cmk_err fetch(const struct cmk_cred_env *env,
                     const struct cmk_http_req *rq, unsigned attempts,
                     bool gone, struct cmk_cred_status *st,
                     struct cmk_http_resp *resp)
{
    const struct cmk_retry_policy *cp = cmk_http_policy(env->http);
    struct cmk_retry_policy p = {attempts, FETCH_BASE_MS, FETCH_MAX_BACKOFF_MS,
                                 cp->budget_ms};
    struct fetch f = {env, rq, resp, gone};
    cmk_err err;

    memset(resp, 0, sizeof(*resp));
    err = cmk_retry_run(&p, NULL, NULL, 0, attempt, &f);
    if (err == CMK_E_KMS_INTERNAL)
        return CMK_OK; /* an answer, if not a good one */
    st->http_status = resp->status;
    if (err == CMK_E_TIMEOUT)
        return cmk_creds_refuse(st, err, "CredentialEndpointTimeout");
    if (err != CMK_OK)
        return cmk_creds_refuse(st, err,
                                resp->fail == CMK_HTTP_FAIL_TLS
                                    ? "CredentialEndpointTls"
                                    : "CredentialEndpointUnreachable");
    return CMK_OK;
}

cmk_err cmk_creds_fetch(const struct cmk_cred_env *env,
                        const struct cmk_http_req *rq, unsigned attempts,
                        struct cmk_cred_status *st, struct cmk_http_resp *resp)
{
    return fetch(env, rq, attempts, false, st, resp);
}

cmk_err cmk_creds_fetch_gone(const struct cmk_cred_env *env,
                             const struct cmk_http_req *rq, unsigned attempts,
                             struct cmk_cred_status *st,
                             struct cmk_http_resp *resp)
{
    return fetch(env, rq, attempts, true, st, resp);
}
