/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one KMS call: POST / with X-Amz-Target TrentService.<Op>,
 * signed with SigV4 afresh for every attempt, under the standard retry
 * mode (net/retry). Within an attempt, two one-time repairs as the SDKs
 * make them: after InvalidSignatureException with a Date header more
 * than 4 minutes from our clock, the skew is remembered and the request
 * re-signed; after ExpiredTokenException or UnrecognizedClientException
 * with temporary credentials, they are dropped, fetched again and the
 * request re-signed. No lock is held during the exchange.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "providers/aws_int.h"
#include "util/log.h"

#define SKEW_LIMIT_S 240 /* botocore corrects beyond 4 minutes */
#define HDR_MAX 8

struct call {
    struct aws_state *st;
    struct cmk_req *rq;
    const char *op;
    const struct cmk_sb *body;
    struct cmk_http_resp *resp;
    bool skew_fixed;
    bool creds_renewed;
};

static int64_t wall_now(const struct aws_state *st)
{
    return st->now != NULL ? st->now() : (int64_t)time(NULL);
}

/* The signed header lines of one request, in wiped buffers. */
struct hdrs {
    struct cmk_sb sb[HDR_MAX];
    const char *lines[HDR_MAX];
    size_t n;
};

static cmk_err hdrs_build(struct hdrs *h, const struct cmk_sigv4_hdr *sh,
                          const struct cmk_sigv4_out *so,
                          const struct cmk_creds *cr)
{
    size_t i;
    cmk_err err = CMK_OK;

    for (h->n = 0; h->n < 3; h->n++)
        cmk_sb_printf(&h->sb[h->n], "%s: %s", sh[h->n].name, sh[h->n].value);
    cmk_sb_printf(&h->sb[h->n++], "X-Amz-Date: %s", so->amz_date);
    cmk_sb_printf(&h->sb[h->n++], "Authorization: %s", so->authorization);
    if (cr->session_token != NULL) /* signed too (SigV4 allows both) */
        cmk_sb_printf(&h->sb[h->n++], "X-Amz-Security-Token: %s",
                      cr->session_token);
    for (i = 0; i < h->n && err == CMK_OK; i++) {
        err = cmk_sb_status(&h->sb[i]);
        h->lines[i] = h->sb[i].p;
    }
    return err;
}

static void hdrs_free(struct hdrs *h)
{
    size_t i;

    for (i = 0; i < HDR_MAX; i++)
        cmk_sb_free(&h->sb[i]);
}

/* Signs with cr (time corrected by the known skew) and sends once. */
static cmk_err exchange(struct call *c, const struct cmk_creds *cr,
                        int64_t deadline_us)
{
    struct aws_state *st = c->st;
    char target[64];
    struct cmk_sigv4_hdr sh[3] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", target},
        {"Host", st->host}};
    struct cmk_sigv4_req sr = {
        "POST",       st->path,   NULL,  sh, 3,     (const uint8_t *)c->body->p,
        c->body->len, st->region, "kms", 0,  false, false,
        false};
    struct cmk_sigv4_key key = {cr->access_key_id, cr->secret_access_key,
                                cr->session_token};
    struct cmk_http_req hr = {"POST",
                              st->url,
                              NULL,
                              0,
                              (const uint8_t *)c->body->p,
                              c->body->len,
                              CMK_URL_HTTPS_ONLY,
                              0,
                              deadline_us};
    struct cmk_sigv4_out so;
    struct hdrs h;
    cmk_err err;

    memset(&h, 0, sizeof(h));
    snprintf(target, sizeof(target), "TrentService.%s", c->op);
    sr.when = wall_now(st) + atomic_load(&st->skew_s);
    err = cmk_sigv4_sign(st->sv, &sr, &key, &so);
    if (err != CMK_OK)
        return err;
    err = hdrs_build(&h, sh, &so, cr);
    hr.headers = h.lines;
    hr.n_headers = h.n;
    cmk_http_resp_free(c->resp);
    if (err == CMK_OK)
        err = cmk_http_do(st->http, &hr, c->resp);
    hdrs_free(&h);
    cmk_sigv4_out_free(&so);
    return err;
}

/* After an auth error: may a re-signed request succeed? Repairs what it
 * can (clock skew, credentials) at most once per call each. */
static bool repair(struct call *c, const char *code, struct cmk_creds **cr)
{
    struct aws_state *st = c->st;
    struct cmk_cred_status cs;
    int64_t ours = wall_now(st) + atomic_load(&st->skew_s);
    int64_t theirs = c->resp->date;

    if (strcmp(code, "InvalidSignatureException") == 0 && !c->skew_fixed &&
        theirs != 0 &&
        (theirs - ours > SKEW_LIMIT_S || ours - theirs > SKEW_LIMIT_S)) {
        atomic_store(&st->skew_s, theirs - wall_now(st));
        c->skew_fixed = true;
        cmk_log_debug("aws: clock skew %+llds corrected from Date",
                      (long long)(theirs - wall_now(st)));
        return true;
    }
    if (strcmp(code, "InvalidSignatureException") == 0 || c->creds_renewed ||
        (*cr)->expires == 0)
        return false; /* static keys do not get better by asking again */
    c->creds_renewed = true;
    cmk_cred_cache_drop(&st->creds, *cr);
    cmk_creds_unref(*cr);
    *cr = NULL;
    return cmk_cred_cache_get(&st->creds, &cs, cr) == CMK_OK;
}

/* The result of an exchange as an error, a retry class and rq fields. */
static cmk_err judge(struct call *c, cmk_err err, enum cmk_retry_class *cls,
                     char *code, size_t n)
{
    const char *tcode = "";

    snprintf(code, n, "%s", err != CMK_OK ? "ClientError" : "");
    if (err != CMK_OK && c->resp->fail == CMK_HTTP_FAIL_NONE)
        return err; /* signing or memory: nothing was sent */
    if (err != CMK_OK) {
        err = cmk_aws_transport_map(err, c->resp, cls, &tcode);
        snprintf(code, n, "%s", tcode);
        return err;
    }
    if (c->resp->status == 200) {
        code[0] = '\0';
        return CMK_OK;
    }
    cmk_aws_parse_error_code(c->resp, code, n);
    err = cmk_aws_error_map(c->resp->status, code, cls);
    if (code[0] == '\0')
        snprintf(code, n, "HTTP%ld", c->resp->status);
    return err;
}

static cmk_err attempt(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct call *c = arg;
    struct cmk_creds *cr = NULL;
    struct cmk_cred_status cs;
    char code[64];
    cmk_err err;

    err = cmk_cred_cache_get(&c->st->creds, &cs, &cr);
    if (err != CMK_OK) {
        snprintf(c->rq->provider_code, sizeof(c->rq->provider_code), "%s",
                 cs.code[0] != '\0' ? cs.code : "NoCredentials");
        c->rq->http_status = cs.http_status;
        return err;
    }
    do {
        *cls = CMK_RETRY_NO;
        err = judge(c, exchange(c, cr, deadline_us), cls, code, sizeof(code));
    } while (err != CMK_OK && cmk_aws_is_auth_retry(code) &&
             repair(c, code, &cr));
    cmk_provider_note(c->rq, c->resp, code);
    if (err != CMK_OK && cmk_aws_is_auth_retry(code)) /* repairs failed */
        cmk_creds_say_rejected(&c->st->creds.env, cr, code);
    cmk_log_debug("aws: %s attempt %u: HTTP %ld %s request-id %s (%s)", c->op,
                  n, c->resp->status, code[0] ? code : "OK",
                  c->resp->request_id, cmk_err_name(err));
    cmk_creds_unref(cr);
    return err;
}

cmk_err cmk_aws_call(struct aws_state *st, struct cmk_req *rq, const char *op,
                     const struct cmk_sb *body, struct cmk_http_resp *resp)
{
    struct call c = {st, rq, op, body, resp, false, false};
    cmk_err err;

    memset(resp, 0, sizeof(*resp));
    err = cmk_retry_run(cmk_http_policy(st->http), cmk_http_quota(st->http),
                        st->clock, rq->deadline_us, attempt, &c);
    if (err != CMK_OK)
        cmk_http_resp_free(resp);
    return err;
}

/* An answer refused by parse keeps its request id and HTTP status in rq
 * (the audit record names the exchange that went wrong). */
cmk_err cmk_aws_run(struct aws_state *st, struct cmk_req *rq, const char *op,
                    struct cmk_sb *body, cmk_err body_err,
                    cmk_aws_parse_fn parse, void *out)
{
    struct cmk_http_resp resp;
    const char *code = "MalformedResponse";
    cmk_err err = body_err;

    memset(&resp, 0, sizeof(resp));
    if (err == CMK_OK)
        err = cmk_aws_call(st, rq, op, body, &resp);
    if (err == CMK_OK) {
        err = parse(st, &resp, out, &code);
        if (err != CMK_OK)
            snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    }
    cmk_http_resp_free(&resp); /* wipes: a Decrypt answer held plaintext */
    cmk_sb_free(body);         /* wipes: an Encrypt request held it */
    return err;
}
