/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one Vault REST call (vault_int.h). Every request carries
 * X-Vault-Request: true (as Vault's CLI and Go client), X-Vault-Token
 * from the token pool (net/vauth.h) and, with a namespace,
 * X-Vault-Namespace. A 403 that says the token is invalid drops it and
 * resends with a new one, once per call; a second is CMK_E_ACCESS_DENIED
 * "InvalidToken". A standby's 307 is followed (the same method, body and
 * headers, token included) only to the configured address's origin or a
 * vault.redirect_hosts one, at most twice per attempt; anywhere else it
 * is CMK_E_CONFIG "RedirectRefused", before anything is sent there.
 * Errors go through the one table of vault_errors.c; the retryable ones
 * are retried under the shared policy and quota, waiting at least what
 * Retry-After asks (capped at the policy's max_backoff, never past the
 * deadline). A malformed 200 is not retried. The request id is the
 * success body's request_id (Vault sends no request-id header; an error
 * body has none).
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/vault_int.h"
#include "util/log.h"

#define MAX_HOPS 2

struct call {
    struct vault_state *st;
    struct cmk_req *rq;
    const struct vault_call_req *cr;
    char *url; /* the address's; a redirect's for one attempt */
    struct cmk_http_resp resp;
    bool token_renewed;
    int64_t after_us; /* the retry driver's hint (cmk_retry_run_hinted) */
};

static cmk_err exchange(struct call *c, const char *url,
                        const struct cmk_creds *tok, int64_t deadline_us)
{
    struct cmk_sb auth = {0}, ns = {0};
    const struct cmk_sb *b = c->cr->body;
    const char *lines[5];
    struct cmk_http_req hr;
    cmk_err err;

    memset(&hr, 0, sizeof(hr));
    hr.method = c->cr->method;
    hr.url = url;
    hr.headers = lines;
    hr.body = b != NULL ? (const uint8_t *)b->p : NULL;
    hr.body_len = b != NULL ? b->len : 0;
    hr.url_flags = CMK_URL_HTTPS_ONLY;
    hr.deadline_us = deadline_us;
    lines[hr.n_headers++] = "X-Vault-Request: true";
    cmk_sb_printf(&auth, "X-Vault-Token: %s", cmk_vauth_token(tok));
    lines[hr.n_headers++] = auth.p;
    if (c->st->ns != NULL) {
        cmk_sb_printf(&ns, "X-Vault-Namespace: %s", c->st->ns);
        lines[hr.n_headers++] = ns.p;
    }
    if (b != NULL)
        lines[hr.n_headers++] = "Content-Type: application/json";
    err = cmk_sb_status(&auth);
    if (err == CMK_OK)
        err = cmk_sb_status(&ns);
    cmk_http_resp_free(&c->resp);
    if (err == CMK_OK)
        err = cmk_http_do(c->st->http, &hr, &c->resp);
    cmk_sb_free(&auth); /* wipes the token */
    cmk_sb_free(&ns);
    return err;
}

/* scheme://host[:port] of url, lower case, into out; false if none. */
static bool origin(const char *url, char *out, size_t n)
{
    const char *p = strstr(url, "://");
    size_t len, i;

    if (p == NULL)
        return false;
    p += 3;
    len = (size_t)(p - url) + strcspn(p, "/?#");
    if (len >= n || len == (size_t)(p - url))
        return false;
    for (i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)url[i]);
    out[len] = '\0';
    return true;
}

/* Whether a 307 may go to loc. */
static bool redirect_ok(const struct vault_state *st, const char *loc)
{
    char o[VAULT_ADDR_MAX], a[VAULT_ADDR_MAX], h[VAULT_ADDR_MAX];
    size_t i;

    if (!origin(loc, o, sizeof(o)) || !origin(st->address, a, sizeof(a)))
        return false;
    if (strcmp(o, a) == 0)
        return true;
    for (i = 0; i < st->cfg->n_redirect_hosts; i++) {
        if (origin(st->cfg->redirect_hosts[i], h, sizeof(h)) &&
            strcmp(o, h) == 0)
            return true;
    }
    return false;
}

/* Sends, following allowed redirects. CMK_E_CONFIG with code set when a
 * redirect is refused. */
static cmk_err send_following(struct call *c, const struct cmk_creds *tok,
                              int64_t deadline_us, char *code, size_t n)
{
    char *url = NULL, *next;
    unsigned hops = 0;
    cmk_err err;

    for (;;) {
        err = exchange(c, url != NULL ? url : c->url, tok, deadline_us);
        if (err != CMK_OK || c->resp.status != 307)
            break;
        if (hops++ == MAX_HOPS || !redirect_ok(c->st, c->resp.location)) {
            snprintf(code, n, "%s",
                     hops > MAX_HOPS ? "TooManyRedirects" : "RedirectRefused");
            err = CMK_E_CONFIG;
            break;
        }
        cmk_log_debug("vault: %s redirected to %s", c->cr->path,
                      c->resp.location);
        next = cmk_strdup(c->resp.location);
        free(url);
        url = next;
        if (url == NULL) {
            err = CMK_E_NOMEM;
            break;
        }
    }
    free(url);
    return err;
}

static cmk_err judge(struct call *c, cmk_err err, enum cmk_retry_class *cls,
                     char *code, size_t n)
{
    const char *pcode = "MalformedResponse";

    if (err != CMK_OK && code[0] != '\0')
        return err;    /* a refused redirect */
    if (err != CMK_OK) /* no answer; ClientError when nothing was sent */
        return cmk_provider_transport(&c->resp, err, cls, code, n);
    if (c->resp.status != 200 &&
        !(c->resp.status == 400 && c->cr->batch &&
          cmk_vault_has_batch_results((char *)c->resp.body.p,
                                      c->resp.body.len))) {
        err = cmk_vault_error_map(c->resp.status, (const char *)c->resp.body.p,
                                  c->resp.body.len, c->cr->op, code, n, cls);
        if (*cls != CMK_RETRY_NO && c->resp.retry_after_ms >= 0)
            c->after_us = c->resp.retry_after_ms * 1000;
        return err;
    }
    /* a 200, or a batch's 400 that answers per item; parse first: it
     * lifts a plaintext out of the body, so reading the
     * request id afterwards never copies it (a malformed answer, which
     * may still hold it, is not read again) */
    err = c->cr->parse(&c->resp, c->cr->out, &pcode);
    if (err != CMK_OK)
        snprintf(code, n, "%s", pcode);
    else
        cmk_vault_request_id((const char *)c->resp.body.p, c->resp.body.len,
                             c->rq->request_id, sizeof(c->rq->request_id));
    return err;
}

static cmk_err get_token(struct call *c, struct cmk_creds **tok)
{
    struct cmk_cred_status cs;
    cmk_err err;

    memset(&cs, 0, sizeof(cs));
    err = cmk_vauth_get(c->st->auth, &cs, tok);
    if (err != CMK_OK) {
        c->rq->request_id[0] = '\0';
        c->rq->http_status = cs.http_status;
        snprintf(c->rq->provider_code, sizeof(c->rq->provider_code), "%s",
                 cs.code[0] != '\0' ? cs.code : "NoCredentials");
    }
    return err;
}

static cmk_err attempt(void *arg, unsigned n, int64_t deadline_us,
                       enum cmk_retry_class *cls)
{
    struct call *c = arg;
    struct cmk_creds *tok = NULL;
    char code[64];
    char rid[sizeof(c->rq->request_id)];
    cmk_err err;

    for (;;) {
        err = get_token(c, &tok);
        if (err != CMK_OK)
            return err;
        code[0] = '\0';
        c->rq->request_id[0] = '\0';
        *cls = CMK_RETRY_NO;
        err = judge(c, send_following(c, tok, deadline_us, code, sizeof(code)),
                    cls, code, sizeof(code));
        if (err != CMK_E_AUTH_REFRESH)
            break;
        if (c->token_renewed) {
            snprintf(code, sizeof(code), "InvalidToken");
            err = CMK_E_ACCESS_DENIED;
            break;
        }
        c->token_renewed = true;
        cmk_vauth_drop(c->st->auth, tok);
        cmk_creds_unref(tok);
        tok = NULL;
    }
    memcpy(rid, c->rq->request_id, sizeof(rid));
    cmk_provider_note(c->rq, &c->resp, code);
    memcpy(c->rq->request_id, rid, sizeof(rid));
    cmk_log_debug("vault: %s %s attempt %u: HTTP %ld %s (%s)", c->cr->method,
                  c->cr->path, n, c->resp.status, code[0] != '\0' ? code : "OK",
                  cmk_err_name(err));
    cmk_creds_unref(tok);
    return err;
}

cmk_err cmk_vault_call(struct vault_state *st, struct cmk_req *rq,
                       const struct vault_call_req *cr)
{
    struct call c;
    struct cmk_sb url = {0};
    cmk_err err;

    memset(&c, 0, sizeof(c));
    cmk_sb_printf(&url, "%s/v1/%s", st->address, cr->path);
    err = cmk_sb_status(&url);
    if (err != CMK_OK)
        return err;
    c.st = st;
    c.rq = rq;
    c.cr = cr;
    c.url = url.p;
    err = cmk_retry_run_hinted(cmk_http_policy(st->http),
                               cmk_http_quota(st->http), st->clock,
                               rq->deadline_us, attempt, &c, &c.after_us);
    cmk_http_resp_free(&c.resp); /* wipes: an answer may hold a key */
    cmk_sb_free(&url);
    return err;
}
