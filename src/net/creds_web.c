/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: web identity (EKS IRSA and other OIDC federations): the token
 * file's content is exchanged for temporary credentials with an unsigned
 * STS AssumeRoleWithWebIdentity call (query protocol, XML answer). The
 * token file is read again on every refresh, since it rotates.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "util/text.h"
#include "net/sigv4_int.h"
#include "net/strbuf.h"

#define TOKEN_MAX (64u * 1024u)
#define XML_VALUE_MAX 8192u

/* Inputs of the exchange (heap copies; token in guarded memory). */
struct web_in {
    char *token_file;
    char *role;
    char *session;
    char *token;
    size_t token_len;
};

static void web_in_free(struct web_in *w)
{
    free(w->token_file);
    free(w->role);
    free(w->session);
    cmk_creds_free_file(w->token);
}

/* The first of: tenant config, environment variable, profile setting. */
static cmk_err pick(const struct cmk_cred_env *env, const char *cfg_value,
                    const char *var, const char *profile_key, char **out)
{
    const char *v = cfg_value != NULL ? cfg_value : cmk_creds_getenv(env, var);

    if (v != NULL)
        return (*out = cmk_strdup(v)) != NULL ? CMK_OK : CMK_E_NOMEM;
    return cmk_creds_config_value(env, profile_key, out);
}

static cmk_err gather(const struct cmk_cred_env *env, struct web_in *w)
{
    const char *cfg_role = env->cfg != NULL ? env->cfg->role_arn : NULL;
    char name[64];
    cmk_err err;

    err = pick(env, NULL, "AWS_WEB_IDENTITY_TOKEN_FILE",
               "web_identity_token_file", &w->token_file);
    if (err == CMK_OK && w->token_file != NULL)
        err = pick(env, cfg_role, "AWS_ROLE_ARN", "role_arn", &w->role);
    if (err == CMK_OK && w->role != NULL)
        err = pick(env, NULL, "AWS_ROLE_SESSION_NAME", "role_session_name",
                   &w->session);
    if (err == CMK_OK && w->role != NULL && w->session == NULL) {
        snprintf(name, sizeof(name), "cmk-pkcs11-%lld",
                 (long long)cmk_creds_now(env));
        w->session = cmk_strdup(name);
        err = w->session != NULL ? CMK_OK : CMK_E_NOMEM;
    }
    return err;
}

static cmk_err read_token(struct web_in *w, struct cmk_cred_status *st)
{
    char why[400];
    cmk_err err;

    err = cmk_creds_read_file(w->token_file, TOKEN_MAX, false, &w->token,
                              &w->token_len, why, sizeof(why));
    if (err == CMK_E_NOMEM)
        return cmk_creds_refuse(st, err, "WebIdentityTokenUnreadable");
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG,
                                    "WebIdentityTokenUnreadable",
                                    "web identity token file %s", why);
    while (w->token_len > 0 &&
           strchr(" \t\r\n", w->token[w->token_len - 1]) != NULL)
        w->token[--w->token_len] = '\0';
    if (w->token_len == 0)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "WebIdentityTokenEmpty",
                                    "web identity token file %s: empty",
                                    w->token_file);
    return CMK_OK;
}

/* Form body; the buffer is wiped when freed (it holds the token). */
static void form(struct cmk_sb *sb, const struct web_in *w)
{
    cmk_sb_puts(sb, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                    "&RoleArn=");
    cmk_sigv4_uri_encode(sb, w->role, strlen(w->role), false);
    cmk_sb_puts(sb, "&RoleSessionName=");
    cmk_sigv4_uri_encode(sb, w->session, strlen(w->session), false);
    cmk_sb_puts(sb, "&WebIdentityToken=");
    cmk_sigv4_uri_encode(sb, w->token, w->token_len, false);
}

static void sts_url(const struct cmk_cred_env *env, struct cmk_sb *url)
{
    if (env->cfg != NULL && env->cfg->sts_endpoint != NULL)
        cmk_sb_puts(url, env->cfg->sts_endpoint);
    else if (env->region != NULL)
        cmk_sb_printf(url, "https://sts.%s.amazonaws.com/", env->region);
    else
        cmk_sb_puts(url, "https://sts.amazonaws.com/");
}

/* Unescapes XML text [a, b) (the five predefined entities and numeric
 * ASCII references) into guarded memory. */
static cmk_err xml_unescape(const char *a, const char *b,
                            struct cmk_secret *out)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;",
                                       "&apos;"};
    static const char chars[] = "&<>\"'";
    size_t n = 0, i, l;
    char *o;

    if ((size_t)(b - a) > XML_VALUE_MAX ||
        cmk_secret_alloc(out, (size_t)(b - a) + 1) != CMK_OK)
        return CMK_E_BAD_RESPONSE;
    o = (char *)out->p;
    while (a < b) {
        for (i = 0; *a == '&' && i < 5; i++) {
            l = strlen(ents[i]);
            if ((size_t)(b - a) >= l && memcmp(a, ents[i], l) == 0)
                break;
        }
        if (*a == '&' && i < 5) {
            o[n++] = chars[i];
            a += strlen(ents[i]);
        } else {
            o[n++] = *a++;
        }
    }
    o[n] = '\0';
    out->len = n;
    return CMK_OK;
}

/* The text of the first <tag> inside the first <scope> element. */
static cmk_err xml_text(const char *xml, const char *scope, const char *tag,
                        struct cmk_secret *out)
{
    char open[64], close[64];
    const char *s, *a, *b;

    snprintf(open, sizeof(open), "<%s>", scope);
    s = strstr(xml, open);
    if (s == NULL)
        return CMK_E_BAD_RESPONSE;
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    a = strstr(s, open);
    if (a == NULL)
        return CMK_E_BAD_RESPONSE;
    a += strlen(open);
    b = strstr(a, close);
    if (b == NULL)
        return CMK_E_BAD_RESPONSE;
    return xml_unescape(a, b, out);
}

static cmk_err parse_ok(const char *xml, struct cmk_creds **out)
{
    static const char *const tags[] = {"AccessKeyId", "SecretAccessKey",
                                       "SessionToken", "Expiration"};
    struct cmk_secret v[4] = {{0}, {0}, {0}, {0}};
    int64_t expires = 0;
    size_t i;
    cmk_err err = CMK_OK;

    for (i = 0; i < 4 && err == CMK_OK; i++)
        err = xml_text(xml, "Credentials", tags[i], &v[i]);
    if (err == CMK_OK)
        err = cmk_creds_parse_time((const char *)v[3].p, &expires);
    if (err == CMK_OK)
        err = cmk_creds_new((const char *)v[0].p, (const char *)v[1].p,
                            (const char *)v[2].p, expires, "web-identity", out);
    for (i = 0; i < 4; i++)
        cmk_secret_free(&v[i]);
    return err;
}

/* STS said no: keep its error code (never secret) for the caller. */
/* The answer's <Code>, cut to the characters a code may hold (it is
 * printed and logged): a bare or emptied one is StsMalformed. */
static cmk_err parse_error(const char *xml, struct cmk_cred_status *st)
{
    struct cmk_secret raw = {0};
    char code[64];
    cmk_err err = CMK_E_ACCESS_DENIED;

    code[0] = '\0';
    if (xml_text(xml, "Error", "Code", &raw) == CMK_OK)
        cmk_code_copy((const char *)raw.p, strlen((const char *)raw.p), code,
                      sizeof(code));
    cmk_secret_free(&raw);
    if (code[0] == '\0')
        return cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "StsMalformed");
    if (strcmp(code, "ValidationError") == 0)
        err = CMK_E_CONFIG;
    else if (strcmp(code, "Throttling") == 0)
        err = CMK_E_THROTTLED;
    (void)cmk_creds_refuse(st, err, code);
    return err;
}

cmk_err cmk_creds_sts_answer(long status, const char *xml,
                             struct cmk_cred_status *st, struct cmk_creds **out)
{
    if (status != 200)
        return parse_error(xml, st);
    if (parse_ok(xml, out) != CMK_OK)
        return cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "StsMalformed");
    return CMK_OK;
}

static cmk_err exchange(const struct cmk_cred_env *env, const struct web_in *w,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    static const char *const hdrs[] = {
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "Accept: text/xml"};
    struct cmk_sb body = {0}, url = {0};
    struct cmk_http_req rq = {
        "POST", NULL, hdrs, 2, NULL, 0, CMK_URL_HTTPS_ONLY, 0, 0};
    struct cmk_http_resp resp;
    cmk_err err;

    memset(&resp, 0, sizeof(resp));
    form(&body, w);
    sts_url(env, &url);
    err = cmk_sb_status(&body);
    if (err == CMK_OK)
        err = cmk_sb_status(&url);
    rq.url = url.p;
    rq.body = (const uint8_t *)body.p;
    rq.body_len = body.len;
    if (err == CMK_OK)
        err = cmk_creds_fetch(env, &rq, 3, st, &resp);
    if (err == CMK_OK)
        err = cmk_creds_sts_answer(resp.status, (const char *)resp.body.p, st,
                                   out);
    cmk_http_resp_free(&resp);
    cmk_sb_free(&body);
    cmk_sb_free(&url);
    return err;
}

cmk_err cmk_creds_from_web_identity(const struct cmk_cred_env *env,
                                    struct cmk_cred_status *st,
                                    struct cmk_creds **out)
{
    struct web_in w = {NULL, NULL, NULL, NULL, 0};
    cmk_err err;

    *out = NULL;
    err = gather(env, &w);
    if (err != CMK_OK || w.role == NULL) /* not configured here */
        goto out;
    err = read_token(&w, st);
    if (err == CMK_OK)
        err = exchange(env, &w, st, out);
out:
    if (err == CMK_E_CONFIG && st->code[0] == '\0')
        (void)cmk_creds_refuse(st, err, "SharedFileUnusable");
    web_in_free(&w);
    return err;
}
