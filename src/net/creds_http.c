/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: temporary credentials from the container endpoint (ECS, EKS Pod
 * Identity) and from EC2 instance metadata (IMDSv2 only: a session token
 * from PUT /latest/api/token, then the role name and its credentials).
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/creds_int.h"
#include "net/json.h"
#include "net/strbuf.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_TIMEOUT_MS                                                        \
    1000u /* botocore: 1 s, so non-EC2 hosts do not stall                      \
           */
#define CONTAINER_TIMEOUT_MS 2000u
#define TOKEN_FILE_MAX 16384u

/* The credentials JSON both endpoints answer: AccessKeyId,
 * SecretAccessKey, Token, Expiration (and IMDS's Code). */
cmk_err cmk_creds_parse_json(struct cmk_http_resp *r, const char *source,
                             struct cmk_creds **out)
{
    struct cmk_secret sk = {0}, tok = {0};
    bool f1 = false, f2 = false;
    const char *id, *exp, *code;
    json_t *root = NULL;
    int64_t expires = 0;
    cmk_err err;

    err = cmk_json_take_secret((char *)r->body.p, r->body.len,
                               "SecretAccessKey", &sk, &f1);
    if (err == CMK_OK)
        err = cmk_json_take_secret((char *)r->body.p, r->body.len, "Token",
                                   &tok, &f2);
    if (err == CMK_OK && (root = json_loadb((const char *)r->body.p,
                                            r->body.len, 0, NULL)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    id = json_string_value(json_object_get(root, "AccessKeyId"));
    exp = json_string_value(json_object_get(root, "Expiration"));
    code = json_string_value(json_object_get(root, "Code"));
    if (err == CMK_OK && (!f1 || id == NULL || exp == NULL ||
                          (code != NULL && strcmp(code, "Success") != 0)))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_creds_parse_time(exp, &expires);
    if (err == CMK_OK)
        err = cmk_creds_new(id, (const char *)sk.p,
                            f2 ? (const char *)tok.p : NULL, expires, source,
                            out);
    json_decref(root);
    cmk_secret_free(&sk);
    cmk_secret_free(&tok);
    return err;
}

/* ---- Container ---- */

/* The Authorization value: the token file wins over the variable. On
 * failure why says what is wrong with the file or the value. */
static cmk_err container_token(const struct cmk_cred_env *env,
                               struct cmk_sb *hdr, char *why, size_t why_len)
{
    const char *file = cmk_creds_getenv(env, "AWS_CONTAINER_AUTHORIZATION_"
                                             "TOKEN_FILE");
    const char *tok = cmk_creds_getenv(env, "AWS_CONTAINER_AUTHORIZATION_"
                                            "TOKEN");
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    if (file == NULL && tok == NULL)
        return CMK_OK;
    if (file != NULL) {
        err = cmk_creds_read_file(file, TOKEN_FILE_MAX, false, &text, &len, why,
                                  why_len);
        if (err != CMK_OK)
            return err;
        while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
            text[--len] = '\0';
        tok = text;
    }
    err = strpbrk(tok, "\r\n") == NULL ? CMK_OK : CMK_E_CONFIG;
    if (err != CMK_OK)
        snprintf(why, why_len, "%s: holds a line break",
                 file != NULL ? file : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    cmk_sb_printf(hdr, "Authorization: %s", tok);
    cmk_creds_free_file(text);
    return err;
}

static cmk_err container_url(const struct cmk_cred_env *env, struct cmk_sb *url)
{
    const char *rel = cmk_creds_getenv(env, "AWS_CONTAINER_CREDENTIALS_"
                                            "RELATIVE_URI");
    const char *full = cmk_creds_getenv(env, "AWS_CONTAINER_CREDENTIALS_"
                                             "FULL_URI");

    if (rel != NULL)
        cmk_sb_printf(url, "%s%s%s",
                      env->container_host != NULL ? env->container_host
                                                  : CONTAINER_HOST,
                      rel[0] == '/' ? "" : "/", rel);
    else if (full != NULL)
        cmk_sb_puts(url, full);
    return cmk_sb_status(url);
}

cmk_err cmk_creds_from_container(const struct cmk_cred_env *env,
                                 struct cmk_cred_status *st,
                                 struct cmk_creds **out)
{
    struct cmk_sb url = {0}, auth = {0};
    struct cmk_http_resp resp;
    const char *hdrs[1];
    char why[400] = "";
    struct cmk_http_req rq = {"GET",
                              NULL,
                              hdrs,
                              0,
                              NULL,
                              0,
                              CMK_URL_METADATA_HTTP,
                              CONTAINER_TIMEOUT_MS,
                              0};
    cmk_err err;

    *out = NULL;
    memset(&resp, 0, sizeof(resp));
    err = container_url(env, &url);
    if (err != CMK_OK || url.len == 0)
        goto out;
    err = container_token(env, &auth, why, sizeof(why));
    if (err != CMK_OK) {
        err = err == CMK_E_NOMEM
                  ? cmk_creds_refuse(st, err, "ContainerTokenUnusable")
                  : cmk_creds_refuse_why(
                        st, CMK_E_CONFIG, "ContainerTokenUnusable",
                        "container authorization token %s", why);
        goto out;
    }
    rq.url = url.p;
    hdrs[0] = auth.p;
    rq.n_headers = auth.len > 0 ? 1 : 0;
    err = cmk_creds_fetch(env, &rq, 3, st, &resp);
    if (err == CMK_OK && resp.status != 200)
        err = cmk_creds_refuse(st, CMK_E_ACCESS_DENIED,
                               "ContainerCredentialsRefused");
    if (err == CMK_OK &&
        cmk_creds_parse_json(&resp, "container", out) != CMK_OK)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE,
                               "ContainerCredentialsMalformed");
out:
    cmk_http_resp_free(&resp);
    cmk_sb_free(&url);
    cmk_sb_free(&auth);
    return err;
}

/* ---- IMDSv2 ---- */

static bool imds_disabled(const struct cmk_cred_env *env)
{
    const char *v = cmk_creds_getenv(env, "AWS_EC2_METADATA_DISABLED");

    return v != NULL && strcasecmp(v, "true") == 0;
}

/* Base URL without a trailing '/'; *explicit when configured. */
static cmk_err imds_base(const struct cmk_cred_env *env, struct cmk_sb *base,
                         bool *explicit)
{
    const char *b = env->cfg != NULL ? env->cfg->imds_endpoint : NULL;

    if (b == NULL)
        b = cmk_creds_getenv(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    *explicit = b != NULL;
    cmk_sb_puts(base, b != NULL ? b : IMDS_HOST);
    while (base->len > 0 && base->p[base->len - 1] == '/')
        base->p[--base->len] = '\0';
    return cmk_sb_status(base);
}

/* One IMDS exchange: method on base + path with one header. */
static cmk_err imds_call(const struct cmk_cred_env *env, const char *base,
                         const char *method, const char *path, const char *hdr,
                         struct cmk_cred_status *st, struct cmk_http_resp *resp)
{
    struct cmk_sb url = {0};
    const char *hdrs[1] = {hdr};
    struct cmk_http_req rq = {
        method,          NULL, hdrs, 1, NULL, 0, CMK_URL_METADATA_HTTP,
        IMDS_TIMEOUT_MS, 0};
    cmk_err err;

    cmk_sb_printf(&url, "%s%s", base, path);
    err = cmk_sb_status(&url);
    rq.url = url.p;
    if (err == CMK_OK)
        err = cmk_creds_fetch(env, &rq, 2, st, resp);
    if (err == CMK_OK && resp->status != 200)
        err = cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "ImdsRefused");
    cmk_sb_free(&url);
    return err;
}

/* Token, then role name (first line), then that role's credentials. */
static cmk_err imds_walk(const struct cmk_cred_env *env, const char *base,
                         struct cmk_cred_status *st, struct cmk_creds **out)
{
    static const char prefix[] = "/latest/meta-data/iam/security-credentials/";
    struct cmk_http_resp r1, r2, r3;
    struct cmk_sb tok = {0}, path = {0};
    cmk_err err;

    memset(&r1, 0, sizeof(r1));
    memset(&r2, 0, sizeof(r2));
    memset(&r3, 0, sizeof(r3));
    err = imds_call(env, base, "PUT", "/latest/api/token",
                    "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, st,
                    &r1);
    if (err == CMK_OK && r1.body.len == 0)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "ImdsNoToken");
    if (err == CMK_OK) /* one line: no header injection */
        cmk_sb_printf(&tok, "X-aws-ec2-metadata-token: %.*s",
                      (int)strcspn((const char *)r1.body.p, "\r\n"),
                      (const char *)r1.body.p);
    if (err == CMK_OK)
        err = imds_call(env, base, "GET", prefix, tok.p, st, &r2);
    if (err == CMK_OK && (r2.body.len == 0 || r2.body.len > 128 ||
                          strchr((const char *)r2.body.p, '/') != NULL))
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "ImdsNoRole");
    if (err == CMK_OK) {
        cmk_sb_printf(&path, "%s%.*s", prefix,
                      (int)strcspn((const char *)r2.body.p, "\r\n"),
                      (const char *)r2.body.p);
        err = cmk_sb_status(&path);
    }
    if (err == CMK_OK)
        err = imds_call(env, base, "GET", path.p, tok.p, st, &r3);
    if (err == CMK_OK && cmk_creds_parse_json(&r3, "imds", out) != CMK_OK)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "ImdsMalformed");
    cmk_http_resp_free(&r1);
    cmk_http_resp_free(&r2);
    cmk_http_resp_free(&r3);
    cmk_sb_free(&tok);
    cmk_sb_free(&path);
    return err;
}

cmk_err cmk_creds_from_imds(const struct cmk_cred_env *env,
                            struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_sb base = {0};
    bool explicit = false;
    cmk_err err;

    *out = NULL;
    if (imds_disabled(env))
        return CMK_OK;
    err = imds_base(env, &base, &explicit);
    if (err == CMK_OK)
        err = imds_walk(env, base.p, st, out);
    cmk_sb_free(&base);
    /* Not on EC2: the default address does not answer. That is "no
     * credentials here", not an error of its own (as in botocore). */
    if (!explicit && (err == CMK_E_NETWORK || err == CMK_E_TIMEOUT)) {
        memset(st, 0, sizeof(*st));
        return CMK_OK;
    }
    return err;
}
