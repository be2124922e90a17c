/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Entra ID token endpoint (azauth_int.h): the client-credentials
 * form POST of the secret, certificate and workload identity sources, its
 * refusals (Entra's OAuth error and AADSTS number), and the token answer
 * it shares with IMDS and App Service, the token lifted into guarded
 * memory before jansson parses the rest.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "net/gauth_int.h"

#define GRANT_TIMEOUT_MS 10000u
#define GRANT_ATTEMPTS 3u
#define NUM_DIGITS_MAX 12u /* Unix seconds for the next 30000 years */

/* A number, or a string of digits (IMDS and App Service send numbers as
 * strings): *v >= 0. */
static bool num(json_t *j, int64_t *v)
{
    const char *s = json_string_value(j);
    size_t n = s != NULL ? strlen(s) : 0;

    if (json_is_integer(j)) {
        *v = (int64_t)json_integer_value(j);
        return *v >= 0;
    }
    if (n == 0 || n > NUM_DIGITS_MAX || strspn(s, "0123456789") != n)
        return false;
    *v = (int64_t)strtoll(s, NULL, 10);
    return true;
}

/* When the token expires: now + expires_in, else expires_on; capped. */
static bool expiry(json_t *root, int64_t now, int64_t *out)
{
    json_t *in = json_object_get(root, "expires_in");
    int64_t v = 0, life;

    if (in != NULL) {
        if (!num(in, &v))
            return false;
        life = v;
    } else if (num(json_object_get(root, "expires_on"), &v)) {
        life = v - now;
    } else {
        return false;
    }
    if (life <= 0)
        return false;
    if (life > CMK_AZAUTH_TOKEN_LIFE_MAX)
        life = CMK_AZAUTH_TOKEN_LIFE_MAX;
    *out = now + life;
    return true;
}

cmk_err cmk_azauth_parse_token(struct cmk_http_resp *r, const char *source,
                               int64_t now, struct cmk_creds **out)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL;
    const char *type;
    int64_t expires = 0;
    cmk_err err;

    err = cmk_gauth_take_token(r, &tok, &root);
    type = json_string_value(json_object_get(root, "token_type"));
    if (err == CMK_OK && (type == NULL || strcasecmp(type, "Bearer") != 0 ||
                          !expiry(root, now, &expires)))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_creds_new(CMK_AZAUTH_ID, (const char *)tok.p, NULL, expires,
                            source, out);
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}

long cmk_azauth_aadsts(const char *body, size_t len)
{
    json_t *root = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *c = json_array_get(json_object_get(root, "error_codes"), 0);
    long v = json_is_integer(c) && json_integer_value(c) > 0 &&
                     json_integer_value(c) < 100000000
                 ? (long)json_integer_value(c)
                 : 0;

    json_decref(root);
    return v;
}

/* A refusal: Entra's OAuth error as the code, its AADSTS number (never
 * the description, which can be long and quote the request) in detail. */
static cmk_err refused(const struct cmk_azauth_grant *g,
                       const struct cmk_http_resp *resp,
                       struct cmk_cred_status *st)
{
    const char *body = (const char *)resp->body.p;
    char code[sizeof(st->code)];
    cmk_err err = cmk_oauth_status_err(resp->status);
    long aadsts;

    cmk_oauth_error(body, resp->body.len, "AzureTokenRefused", code,
                    sizeof(code));
    if (err != CMK_E_ACCESS_DENIED) /* the endpoint's trouble, not ours */
        return cmk_creds_refuse(st, err, code);
    aadsts = cmk_azauth_aadsts(body, resp->body.len);
    if (aadsts == 0)
        return cmk_creds_refuse_why(st, err, code,
                                    "%s: Entra ID refused client %s "
                                    "(HTTP %ld)",
                                    g->source, g->client_id, resp->status);
    return cmk_creds_refuse_why(st, err, code,
                                "%s: Entra ID refused client %s (HTTP %ld, "
                                "AADSTS%ld)",
                                g->source, g->client_id, resp->status, aadsts);
}

static void form_head(const struct cmk_cred_env *env,
                      const struct cmk_azauth_grant *g, struct cmk_sb *form)
{
    const struct cmk_azauth_ask *a = env->arg;
    struct cmk_sb scope = {0};

    cmk_sb_printf(&scope, "%s/.default", a != NULL ? a->resource : "");
    cmk_gauth_form_add(form, "client_id", g->client_id, strlen(g->client_id));
    if (cmk_sb_status(&scope) == CMK_OK)
        cmk_gauth_form_add(form, "scope", scope.p, scope.len);
    else
        form->failed = true;
    cmk_gauth_form_add(form, "grant_type", "client_credentials", 18);
    cmk_sb_free(&scope);
}

/* The whole form: client_id, scope, grant_type, then g's proof. */
static cmk_err form_of(const struct cmk_cred_env *env,
                       const struct cmk_azauth_grant *g, struct cmk_sb *form)
{
    form_head(env, g, form);
    cmk_sb_putc(form, '&');
    cmk_sb_add(form, g->form.p, g->form.len);
    return cmk_sb_status(form);
}

cmk_err cmk_azauth_grant(const struct cmk_cred_env *env,
                         struct cmk_azauth_grant *g, struct cmk_cred_status *st,
                         struct cmk_creds **out)
{
    static const char *const hdrs[] = {
        "Content-Type: application/x-www-form-urlencoded"};
    struct cmk_http_req rq = {
        "POST",           g->url, hdrs, 1, NULL, 0, CMK_URL_HTTPS_ONLY,
        GRANT_TIMEOUT_MS, 0};
    struct cmk_sb form = {0};
    struct cmk_http_resp resp;
    cmk_err err;

    err = cmk_sb_status(&g->form);
    if (err == CMK_OK)
        err = form_of(env, g, &form);
    if (err != CMK_OK) {
        cmk_sb_free(&form);
        return cmk_creds_refuse(st, err, "ClientError");
    }
    rq.body = (const uint8_t *)form.p;
    rq.body_len = form.len;
    err = cmk_creds_fetch(env, &rq, GRANT_ATTEMPTS, st, &resp);
    cmk_sb_free(&form); /* wipes the secret or assertion */
    if (err != CMK_OK)
        return err;
    st->http_status = resp.status;
    if (resp.status != 200)
        err = refused(g, &resp, st);
    else if (cmk_azauth_parse_token(&resp, g->source, cmk_creds_now(env),
                                    out) != CMK_OK)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "AzureTokenMalformed");
    cmk_http_resp_free(&resp); /* wipes */
    return err;
}
