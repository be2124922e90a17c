/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: Google token endpoints (gauth.h, gauth_int.h): the form POST of
 * the OAuth 2.0 grants (jwt-bearer, refresh_token, RFC 8693 token
 * exchange at STS) and the answer they share with the metadata server,
 * read into a cached token, the token lifted into guarded memory before
 * jansson parses the rest.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"
#include "net/json.h"
#include "net/sigv4_int.h"
#include "util/text.h"

#define GRANT_TIMEOUT_MS 10000u
#define GRANT_ATTEMPTS 3u

const char *cmk_gauth_bearer(const struct cmk_creds *tok)
{
    return tok != NULL ? tok->secret_access_key : NULL;
}

/* expires_in, token_type and issued_token_type of a parsed answer. */
static bool answer_ok(json_t *root, const char *issued)
{
    json_t *exp = json_object_get(root, "expires_in");
    const char *type = json_string_value(json_object_get(root, "token_type"));
    const char *it =
        json_string_value(json_object_get(root, "issued_token_type"));

    if (!json_is_integer(exp) || json_integer_value(exp) <= 0 ||
        json_integer_value(exp) > CMK_GAUTH_TOKEN_LIFE_MAX)
        return false;
    if (type == NULL || strcasecmp(type, "Bearer") != 0)
        return false;
    return issued == NULL || (it != NULL && strcmp(it, issued) == 0);
}

cmk_err cmk_gauth_take_token(struct cmk_http_resp *r, struct cmk_secret *tok,
                             json_t **root)
{
    bool found = false;
    cmk_err err;

    *root = NULL;
    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = cmk_json_take_secret((char *)r->body.p, r->body.len, "access_token",
                               tok, &found);
    if (err == CMK_OK &&
        (*root = json_loadb((const char *)r->body.p, r->body.len,
                            JSON_REJECT_DUPLICATES, NULL)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK &&
        (!found || tok->len == 0 || strlen((const char *)tok->p) != tok->len))
        err = CMK_E_BAD_RESPONSE;
    return err;
}

cmk_err cmk_gauth_parse_issued(struct cmk_http_resp *r, const char *source,
                               const char *issued, int64_t now,
                               struct cmk_creds **out)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL;
    cmk_err err;

    err = cmk_gauth_take_token(r, &tok, &root);
    if (err == CMK_OK && !answer_ok(root, issued))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_creds_new(CMK_GAUTH_ID, (const char *)tok.p, NULL,
                            now + (int64_t)json_integer_value(
                                      json_object_get(root, "expires_in")),
                            source, out);
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}

cmk_err cmk_gauth_parse_token(struct cmk_http_resp *r, const char *source,
                              int64_t now, struct cmk_creds **out)
{
    return cmk_gauth_parse_issued(r, source, NULL, now, out);
}

void cmk_oauth_error(const char *body, size_t len, const char *dflt, char *code,
                     size_t n)
{
    json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(root, "error"));

    code[0] = '\0';
    if (e != NULL)
        cmk_code_copy(e, strlen(e), code, n);
    if (code[0] == '\0')
        snprintf(code, n, "%s", dflt);
    json_decref(root);
}

cmk_err cmk_oauth_status_err(long status)
{
    if (status == 429)
        return CMK_E_THROTTLED;
    return status >= 500 ? CMK_E_KMS_INTERNAL : CMK_E_ACCESS_DENIED;
}

void cmk_gauth_oauth_error(const char *body, size_t len, char *code, size_t n)
{
    cmk_oauth_error(body, len, "GcpTokenRefused", code, n);
}

void cmk_gauth_form_add(struct cmk_sb *sb, const char *name, const char *value,
                        size_t len)
{
    if (sb->len > 0)
        cmk_sb_putc(sb, '&');
    cmk_sb_puts(sb, name);
    cmk_sb_putc(sb, '=');
    cmk_sigv4_uri_encode(sb, value, len, false);
}

/* A refusal: the endpoint's OAuth error as the code. */
static cmk_err refused(const struct cmk_gauth_grant *g,
                       const struct cmk_http_resp *resp,
                       struct cmk_cred_status *st)
{
    char code[sizeof(st->code)];
    cmk_err err = cmk_oauth_status_err(resp->status);

    cmk_gauth_oauth_error((const char *)resp->body.p, resp->body.len, code,
                          sizeof(code));
    if (err != CMK_E_ACCESS_DENIED) /* the endpoint's trouble, not ours */
        return cmk_creds_refuse(st, err, code);
    return cmk_creds_refuse_why(st, err, code,
                                "%s: the token endpoint refused its "
                                "credentials (HTTP %ld)",
                                g->what, resp->status);
}

cmk_err cmk_gauth_grant(const struct cmk_cred_env *env,
                        const struct cmk_gauth_grant *g,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    static const char *const hdrs[] = {
        "Content-Type: application/x-www-form-urlencoded"};
    struct cmk_http_resp resp;
    struct cmk_http_req rq = {
        "POST",           g->url, hdrs, 1, NULL, 0, CMK_URL_HTTPS_ONLY,
        GRANT_TIMEOUT_MS, 0};
    cmk_err err;

    rq.body = (const uint8_t *)g->form->p;
    rq.body_len = g->form->len;
    err = cmk_creds_fetch(env, &rq, GRANT_ATTEMPTS, st, &resp);
    if (err != CMK_OK)
        return err;
    st->http_status = resp.status;
    if (resp.status != 200)
        err = refused(g, &resp, st);
    else if (cmk_gauth_parse_issued(&resp, g->source, g->issued_type,
                                    cmk_creds_now(env), out) != CMK_OK)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "GcpTokenMalformed");
    cmk_http_resp_free(&resp); /* wipes */
    return err;
}
