/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one Key Vault REST call (azure_int.h). The challenge flow of
 * Azure's SDK (kms-protocols.md 3.2): the first request of an instance to
 * its vault goes without a token and without its body; the vault's 401
 * names the tenant and the resource (azure_challenge.c, checked against
 * the vault's host before any token is asked for), kept in the state
 * once known; then a token for them from the pool (net/azauth.h) and the
 * real request. A 401 later drops the token and resends with a new one,
 * once per call; a second 401 is CMK_E_ACCESS_DENIED "Unauthorized". A
 * later 401 whose challenge names another pair is checked the same way
 * before it is used. Every request of one call, retries included, carries
 * the same x-ms-client-request-id (a random UUID v4), so the vault's logs
 * tie them together. Errors go through the one table of azure_errors.c;
 * 408, 429 and retryable 5xx are retried under the shared policy and
 * quota, waiting at least what retry-after-ms, x-ms-retry-after-ms or
 * Retry-After ask (capped at the policy's max_backoff, never past the
 * deadline). A malformed 200 is not retried, as in the other providers.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure_int.h"
#include "util/log.h"

struct call {
    struct azure_state *st;
    struct cmk_req *rq;
    const struct az_call_req *cr;
    const char *url;
    struct cmk_http_resp resp;
    char request_id_hdr[64]; /* "x-ms-client-request-id: <uuid>" */
    bool token_renewed;
    int64_t after_us; /* the retry driver's hint (cmk_retry_run_hinted) */
    char tenant[CMK_AZAUTH_TENANT_MAX];
    char resource[CMK_AZAUTH_RESOURCE_MAX];
};

/* RFC 9562 5.4: version 4, variant 10. */
static void make_request_id(struct call *c)
{
    uint8_t u[16];

    randombytes_buf(u, sizeof(u));
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    snprintf(c->request_id_hdr, sizeof(c->request_id_hdr),
             "x-ms-client-request-id: %02x%02x%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
             u[11], u[12], u[13], u[14], u[15]);
}

/* tok NULL: the challenge request, without token and without body. */
static cmk_err exchange(struct call *c, const struct cmk_creds *tok,
                        int64_t deadline_us)
{
    struct cmk_sb auth = {0};
    const char *lines[4];
    const struct cmk_sb *b = tok != NULL ? c->cr->body : NULL;
    struct cmk_http_req hr = {c->cr->method,
                              c->url,
                              lines,
                              1,
                              b != NULL ? (const uint8_t *)b->p : NULL,
                              b != NULL ? b->len : 0,
                              CMK_URL_HTTPS_ONLY,
                              0,
                              deadline_us};
    cmk_err err = CMK_OK;

    lines[0] = c->request_id_hdr;
    if (tok != NULL) {
        cmk_sb_printf(&auth, "Authorization: Bearer %s",
                      cmk_azauth_bearer(tok));
        err = cmk_sb_status(&auth);
        lines[hr.n_headers++] = auth.p;
    }
    if (b != NULL)
        lines[hr.n_headers++] = "Content-Type: application/json";
    else /* no default form type on a POST without body */
        lines[hr.n_headers++] = "Content-Type:";
    cmk_http_resp_free(&c->resp);
    if (err == CMK_OK)
        err = cmk_http_do(c->st->http, &hr, &c->resp);
    cmk_sb_free(&auth); /* wipes the token */
    return err;
}

/* An error answer; the wait it asks for goes to the retry driver. */
static cmk_err refused(struct call *c, enum cmk_retry_class *cls, char *code,
                       size_t n)
{
    cmk_err err;

    err = cmk_azure_error_map(c->resp.status, (const char *)c->resp.body.p,
                              c->resp.body.len, c->cr->op, code, n, cls);
    if (*cls != CMK_RETRY_NO && c->resp.retry_after_ms >= 0)
        c->after_us = c->resp.retry_after_ms * 1000;
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
    if (err != CMK_OK)
        snprintf(code, n, "%s", pcode);
    return err;
}

/* The pair the state knows; false before the first challenge. */
static bool known_pair(struct call *c)
{
    struct azure_state *st = c->st;
    bool known;

    cmk_mutex_lock(&st->lock);
    known = st->challenged;
    if (known) {
        memcpy(c->tenant, st->tenant, sizeof(c->tenant));
        memcpy(c->resource, st->resource, sizeof(c->resource));
    }
    cmk_mutex_unlock(&st->lock);
    return known;
}

/* The 401's challenge: checked, kept (the first one), used by this call. */
static cmk_err learn(struct call *c, char *code, size_t n)
{
    struct azure_state *st = c->st;
    char t[CMK_AZAUTH_TENANT_MAX], r[CMK_AZAUTH_RESOURCE_MAX];

    if (cmk_azure_challenge_parse(c->resp.www_authenticate, t, r) != CMK_OK) {
        snprintf(code, n, "ChallengeMalformed");
        return CMK_E_BAD_RESPONSE;
    }
    if (!cmk_azure_resource_ok(r, st->ref.host, st->cfg->resource)) {
        snprintf(code, n, "ChallengeResourceMismatch");
        return CMK_E_ACCESS_DENIED;
    }
    cmk_mutex_lock(&st->lock);
    if (!st->challenged) {
        memcpy(st->tenant, t, sizeof(t));
        memcpy(st->resource, r, sizeof(r));
        st->challenged = true;
    }
    cmk_mutex_unlock(&st->lock);
    memcpy(c->tenant, t, sizeof(t));
    memcpy(c->resource, r, sizeof(r));
    return CMK_OK;
}

static bool is_challenge(const struct call *c, cmk_err err)
{
    return err == CMK_OK && c->resp.status == 401 &&
           c->resp.www_authenticate[0] != '\0';
}

/* The instance's first request, without token and body. CMK_OK: the pair
 * is known now; otherwise the answer as it is (an unknown vault's 404, a
 * 5xx), judged. */
static cmk_err challenge(struct call *c, int64_t deadline_us,
                         enum cmk_retry_class *cls, char *code, size_t n)
{
    cmk_err err = exchange(c, NULL, deadline_us);

    if (is_challenge(c, err))
        return learn(c, code, n);
    err = judge(c, err, cls, code, n);
    if (err == CMK_E_AUTH_REFRESH) {
        snprintf(code, n, "ChallengeMalformed");
        err = CMK_E_BAD_RESPONSE;
    }
    return err != CMK_OK ? err : CMK_E_BAD_RESPONSE;
}

static cmk_err get_token(struct call *c, struct cmk_creds **tok)
{
    struct cmk_cred_status cs;
    cmk_err err;

    memset(&cs, 0, sizeof(cs));
    err = cmk_azauth_get(c->st->auth, c->tenant, c->resource, &cs, tok);
    if (err != CMK_OK) {
        c->rq->request_id[0] = '\0';
        c->rq->http_status = cs.http_status;
        snprintf(c->rq->provider_code, sizeof(c->rq->provider_code), "%s",
                 cs.code[0] != '\0' ? cs.code : "NoCredentials");
    }
    return err;
}

/* A 401: a new token, once per call (after checking a challenge that
 * names another pair). */
static cmk_err renew(struct call *c, struct cmk_creds **tok, char *code,
                     size_t n)
{
    char t[CMK_AZAUTH_TENANT_MAX], r[CMK_AZAUTH_RESOURCE_MAX];
    cmk_err err;

    if (c->token_renewed) {
        snprintf(code, n, "Unauthorized");
        return CMK_E_ACCESS_DENIED;
    }
    c->token_renewed = true;
    cmk_azauth_drop(c->st->auth, c->tenant, c->resource, *tok);
    cmk_creds_unref(*tok);
    *tok = NULL;
    if (cmk_azure_challenge_parse(c->resp.www_authenticate, t, r) == CMK_OK &&
        (strcmp(t, c->tenant) != 0 || strcmp(r, c->resource) != 0)) {
        err = learn(c, code, n);
        if (err != CMK_OK)
            return err;
    }
    return CMK_E_AUTH_REFRESH;
}

static cmk_err attempt(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct call *c = arg;
    struct cmk_creds *tok = NULL;
    char code[64] = "";
    cmk_err err = CMK_OK;

    if (!known_pair(c))
        err = challenge(c, deadline_us, cls, code, sizeof(code));
    while (err == CMK_OK) {
        err = get_token(c, &tok);
        if (err != CMK_OK)
            return err;
        *cls = CMK_RETRY_NO;
        err = judge(c, exchange(c, tok, deadline_us), cls, code, sizeof(code));
        if (err == CMK_E_AUTH_REFRESH)
            err = renew(c, &tok, code, sizeof(code));
        if (err == CMK_E_AUTH_REFRESH)
            err = CMK_OK; /* again with the new token */
        else
            break;
    }
    cmk_provider_note(c->rq, &c->resp, code);
    cmk_log_debug("azure: %s %s%s attempt %u: HTTP %ld %s (%s)", c->cr->method,
                  c->cr->target, c->cr->action, n, c->resp.status,
                  code[0] != '\0' ? code : "OK", cmk_err_name(err));
    cmk_creds_unref(tok);
    return err;
}

cmk_err cmk_azure_call(struct azure_state *st, struct cmk_req *rq,
                       const struct az_call_req *cr)
{
    struct call c;
    struct cmk_sb url = {0};
    cmk_err err;

    memset(&c, 0, sizeof(c));
    cmk_sb_printf(&url, "%s%s?api-version=%s", cr->target, cr->action,
                  st->api_version);
    err = cmk_sb_status(&url);
    if (err != CMK_OK)
        return err;
    c.st = st;
    c.rq = rq;
    c.cr = cr;
    c.url = url.p;
    make_request_id(&c);
    err = cmk_retry_run_hinted(cmk_http_policy(st->http),
                               cmk_http_quota(st->http), st->clock,
                               rq->deadline_us, attempt, &c, &c.after_us);
    cmk_http_resp_free(&c.resp); /* wipes: an answer may hold a key */
    cmk_sb_free(&url);
    return err;
}
