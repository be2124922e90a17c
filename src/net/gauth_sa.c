/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: tokens from a Google service-account key file (gauth.h): the file
 * (owner-only, no symlink, as the AWS credentials_file) is read into
 * guarded memory, its private_key lifted out into guarded memory before
 * jansson sees the rest, an RS256 assertion signed and exchanged at the
 * file's token_uri with the jwt-bearer grant (RFC 7523 2.1). token_uri
 * must be https, or http to loopback for tests (net/http.h).
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth.h"
#include "net/json.h"
#include "net/strbuf.h"

#define GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
#define TOKEN_TIMEOUT_MS 10000u
#define TOKEN_ATTEMPTS 3u

/* What the file says, borrowed from root and key. */
struct sa_file {
    json_t *root;
    struct cmk_secret key; /* the PEM private key */
    const char *email, *kid, *token_uri;
};

static void sa_free(struct sa_file *f)
{
    json_decref(f->root);
    cmk_secret_free(&f->key); /* wipes */
    memset(f, 0, sizeof(*f));
}

static cmk_err sa_fields(struct sa_file *f, const char *path,
                         struct cmk_cred_status *st)
{
    const char *type = json_string_value(json_object_get(f->root, "type"));

    if (type == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: no \"type\"", path);
    if (strcmp(type, "service_account") != 0)
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "UnsupportedCredentialType",
            "%s: credentials of type \"%.40s\" are not supported yet "
            "(only service_account)",
            path, type);
    f->email = json_string_value(json_object_get(f->root, "client_email"));
    f->kid = json_string_value(json_object_get(f->root, "private_key_id"));
    f->token_uri = json_string_value(json_object_get(f->root, "token_uri"));
    if (f->email == NULL || f->key.len == 0 || f->token_uri == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: client_email, private_key or "
                                    "token_uri missing",
                                    path);
    if (cmk_url_check(f->token_uri, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: token_uri must be https", path);
    return CMK_OK;
}

static cmk_err sa_read(const char *path, struct sa_file *f,
                       struct cmk_cred_status *st)
{
    char why[300] = "";
    char *text = NULL;
    size_t len = 0;
    bool found = false;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_GAUTH_FILE_MAX, true, &text, &len, why,
                              sizeof(why));
    if (err != CMK_OK)
        return cmk_creds_refuse_why(
            st, err == CMK_E_KEY_NOT_FOUND ? CMK_E_CONFIG : err,
            "GcpCredentialFile", "%s", why);
    err = cmk_json_take_secret(text, len, "private_key", &f->key, &found);
    if (err == CMK_OK &&
        (f->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
        err = CMK_E_CONFIG;
    cmk_creds_free_file(text); /* wipes */
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: not a JSON key file", path);
    return sa_fields(f, path, st);
}

/* POSTs the assertion and reads the token. */
static cmk_err exchange(const struct cmk_cred_env *env, const char *url,
                        const struct cmk_secret *jwt,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    static const char *const hdrs[] = {
        "Content-Type: application/x-www-form-urlencoded"};
    struct cmk_sb body = {0};
    struct cmk_http_resp resp;
    struct cmk_http_req rq = {
        "POST", url, hdrs, 1, NULL, 0, CMK_URL_HTTPS_ONLY, TOKEN_TIMEOUT_MS, 0};
    cmk_err err;

    cmk_sb_puts(&body, "grant_type=" GRANT "&assertion=");
    cmk_sb_add(&body, (const char *)jwt->p, jwt->len);
    err = cmk_sb_status(&body);
    rq.body = (const uint8_t *)body.p;
    rq.body_len = body.len;
    if (err == CMK_OK)
        err = cmk_creds_fetch(env, &rq, TOKEN_ATTEMPTS, st, &resp);
    if (err == CMK_OK) {
        st->http_status = resp.status;
        if (resp.status != 200)
            err = cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "GcpTokenRefused");
        else if (cmk_gauth_parse_token(&resp, "gcp-service-account",
                                       cmk_creds_now(env), out) != CMK_OK)
            err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "GcpTokenMalformed");
        cmk_http_resp_free(&resp); /* wipes */
    }
    cmk_sb_free(&body); /* wipes the assertion */
    return err;
}

cmk_err cmk_gauth_from_file(const struct cmk_cred_env *env, const char *path,
                            struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct sa_file f;
    struct cmk_secret jwt = {0};
    struct cmk_gauth_jwt j;
    cmk_err err;

    memset(&f, 0, sizeof(f));
    err = sa_read(path, &f, st);
    if (err == CMK_OK) {
        j.kid = f.kid;
        j.iss = f.email;
        j.aud = f.token_uri;
        j.scope = CMK_GAUTH_SCOPE;
        j.iat = cmk_creds_now(env);
        err = cmk_gauth_jwt(&j, (const char *)f.key.p, f.key.len, &jwt);
        if (err != CMK_OK)
            err = cmk_creds_refuse_why(st, err, "GcpPrivateKey",
                                       "%s: private_key is not a usable RSA "
                                       "key",
                                       path);
    }
    if (err == CMK_OK)
        err = exchange(env, f.token_uri, &jwt, st, out);
    cmk_secret_free(&jwt);
    sa_free(&f);
    return err;
}
