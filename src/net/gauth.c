/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Google token chain (gauth.h) and the token endpoints' answer.
 * The sources are gauth_sa.c (key files) and gauth_md.c (metadata
 * server); calls run chain -> sources -> here.
 */
#include <config.h>

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "net/creds_int.h"
#include "net/gauth.h"
#include "net/json.h"
#include "util/log.h"

#define TOKEN_LIFE_MAX 86400 /* longer than any Google access token */
#define OAUTH2_ID "oauth2"   /* access_key_id of a token: not secret */

const char *cmk_gauth_bearer(const struct cmk_aws_creds *tok)
{
    return tok != NULL ? tok->secret_access_key : NULL;
}

/* The key file in use: the tenant's, else GOOGLE_APPLICATION_CREDENTIALS
 * (empty counts as unset, as Google's libraries do). */
static const char *key_file(const struct cmk_cred_env *env)
{
    const struct cmk_gauth_cfg *cfg = env->arg;
    const char *p;

    if (cfg != NULL && cfg->credentials_file != NULL)
        return cfg->credentials_file;
    p = cmk_creds_getenv(env, "GOOGLE_APPLICATION_CREDENTIALS");
    return p != NULL && p[0] != '\0' ? p : NULL;
}

cmk_err cmk_gauth_resolve(const struct cmk_cred_env *env,
                          struct cmk_cred_status *st,
                          struct cmk_aws_creds **out)
{
    const char *path;
    cmk_err err;

    if (env == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    path = key_file(env);
    if (path != NULL)
        err = cmk_gauth_from_file(env, path, st, out);
    else
        err = cmk_gauth_from_metadata(env, st, out);
    if (err != CMK_OK && st->detail[0] != '\0') /* said once */
        cmk_log_once("gcp credentials: %s (%s)", st->detail, st->code);
    return err;
}

cmk_err cmk_gauth_parse_token(struct cmk_http_resp *r, const char *source,
                              int64_t now, struct cmk_aws_creds **out)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL, *exp;
    const char *type;
    bool found = false;
    cmk_err err;

    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = cmk_json_take_secret((char *)r->body.p, r->body.len, "access_token",
                               &tok, &found);
    if (err == CMK_OK &&
        (root = json_loadb((const char *)r->body.p, r->body.len,
                           JSON_REJECT_DUPLICATES, NULL)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    exp = json_object_get(root, "expires_in");
    type = json_string_value(json_object_get(root, "token_type"));
    if (err == CMK_OK &&
        (!found || tok.len == 0 || strlen((const char *)tok.p) != tok.len ||
         !json_is_integer(exp) || json_integer_value(exp) <= 0 ||
         json_integer_value(exp) > TOKEN_LIFE_MAX || type == NULL ||
         strcasecmp(type, "Bearer") != 0))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_aws_creds_new(OAUTH2_ID, (const char *)tok.p, NULL,
                                now + (int64_t)json_integer_value(exp), source,
                                out);
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}
