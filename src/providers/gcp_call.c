/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one Cloud KMS REST call (gcp_int.h): a bearer token from the
 * cache (net/gauth.h), the request, and the answer read inside the
 * attempt so that a checksum that failed (CMK_E_INTEGRITY) is discarded
 * and retried like a transient error, within the shared retry policy and
 * quota (net/retry.h), as Google's data-integrity guidance asks. After
 * UNAUTHENTICATED the token is dropped, another fetched and the request
 * sent again, once per call. Errors are mapped by the canonical status
 * only (gcp_json.c); a 5xx without one (a proxy's HTML page) is retried.
 * A 200 answer that is malformed (cut, not JSON, a member missing) is
 * not retried, as the aws provider does not: an endpoint that answers
 * that way is broken, not busy (a checksum that fails is the exception
 * Google's guidance makes).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/gauth.h"
#include "providers/gcp_int.h"
#include "util/log.h"

struct call {
    struct gcp_state *st;
    struct cmk_req *rq;
    const struct gcp_call_req *cr;
    const char *url;
    struct cmk_http_resp resp;
    bool token_renewed;
};

static cmk_err exchange(struct call *c, const struct cmk_creds *tok,
                        int64_t deadline_us)
{
    struct cmk_sb auth = {0};
    const char *lines[2];
    const struct cmk_sb *b = c->cr->body;
    struct cmk_http_req hr = {c->cr->method,
                              c->url,
                              lines,
                              1,
                              b != NULL ? (const uint8_t *)b->p : NULL,
                              b != NULL ? b->len : 0,
                              CMK_URL_HTTPS_ONLY,
                              0,
                              deadline_us};
    cmk_err err;

    cmk_sb_printf(&auth, "Authorization: Bearer %s", cmk_gauth_bearer(tok));
    err = cmk_sb_status(&auth);
    lines[0] = auth.p;
    if (b != NULL)
        lines[hr.n_headers++] = "Content-Type: application/json";
    cmk_http_resp_free(&c->resp);
    if (err == CMK_OK)
        err = cmk_http_do(c->st->http, &hr, &c->resp);
    cmk_sb_free(&auth); /* wipes the token */
    return err;
}

/* An error answer by its status; a 5xx with none is transient. */
static cmk_err refused(struct call *c, enum cmk_retry_class *cls, char *code,
                       size_t n)
{
    struct cmk_gcp_error rec;
    cmk_err err;

    err = cmk_gcp_error_map(c->resp.status, (const char *)c->resp.body.p,
                            c->resp.body.len, c->cr->op, &rec, cls);
    if (rec.status[0] != '\0')
        snprintf(code, n, "%s", rec.status);
    else
        snprintf(code, n, "HTTP%ld", c->resp.status);
    if (rec.status[0] == '\0' && c->resp.status >= 500) {
        *cls = CMK_RETRY_TRANSIENT;
        err = CMK_E_KMS_INTERNAL;
    }
    return err;
}

static cmk_err judge(struct call *c, cmk_err err, enum cmk_retry_class *cls,
                     char *code, size_t n)
{
    const char *pcode = "MalformedResponse";

    code[0] = '\0';
    if (err != CMK_OK) /* no answer; ClientError when nothing was sent */
        return cmk_provider_transport(&c->resp, err, cls, code, n);
    if (c->resp.status != 200)
        return refused(c, cls, code, n);
    err = c->cr->parse(c->st, &c->resp, c->cr->out, &pcode);
    if (err == CMK_E_INTEGRITY) {
        *cls = CMK_RETRY_TRANSIENT; /* discard the answer, ask again */
        pcode = "IntegrityMismatch";
    }
    if (err != CMK_OK)
        snprintf(code, n, "%s", pcode);
    return err;
}

static void note(struct cmk_req *rq, long status, const char *code)
{
    rq->request_id[0] = '\0'; /* Cloud KMS answers carry none */
    rq->http_status = status;
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
}

/* UNAUTHENTICATED: a new token, once per call. */
static bool renew(struct call *c, struct cmk_creds **tok)
{
    struct cmk_cred_status cs;

    if (c->token_renewed)
        return false;
    c->token_renewed = true;
    cmk_cred_cache_drop(&c->st->tokens, *tok);
    cmk_creds_unref(*tok);
    *tok = NULL;
    return cmk_cred_cache_get(&c->st->tokens, &cs, tok) == CMK_OK;
}

static cmk_err attempt(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct call *c = arg;
    struct cmk_creds *tok = NULL;
    struct cmk_cred_status cs;
    char code[64];
    cmk_err err;

    err = cmk_cred_cache_get(&c->st->tokens, &cs, &tok);
    if (err != CMK_OK) {
        note(c->rq, cs.http_status,
             cs.code[0] != '\0' ? cs.code : "NoCredentials");
        return err;
    }
    do {
        *cls = CMK_RETRY_NO;
        err = judge(c, exchange(c, tok, deadline_us), cls, code, sizeof(code));
    } while (err == CMK_E_AUTH_REFRESH && renew(c, &tok));
    note(c->rq, c->resp.status, code);
    cmk_log_debug("gcp: %s %s%s attempt %u: HTTP %ld %s (%s)", c->cr->method,
                  c->cr->name, c->cr->action, n, c->resp.status,
                  code[0] != '\0' ? code : "OK", cmk_err_name(err));
    cmk_creds_unref(tok);
    return err;
}

cmk_err cmk_gcp_call(struct gcp_state *st, struct cmk_req *rq,
                     const struct gcp_call_req *cr)
{
    struct call c;
    struct cmk_sb url = {0};
    cmk_err err;

    memset(&c, 0, sizeof(c));
    cmk_sb_printf(&url, "%s/v1/%s%s", st->base, cr->name, cr->action);
    err = cmk_sb_status(&url);
    if (err != CMK_OK)
        return err;
    c.st = st;
    c.rq = rq;
    c.cr = cr;
    c.url = url.p;
    err = cmk_retry_run(cmk_http_policy(st->http), cmk_http_quota(st->http),
                        st->clock, rq->deadline_us, attempt, &c);
    cmk_http_resp_free(&c.resp); /* wipes: a decrypt answer held plaintext */
    cmk_sb_free(&url);
    return err;
}
