/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: long-lived credentials: the tenant's credentials file (JSON,
 * owner-only) and the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN environment variables.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/json.h"

#define FILE_MAX 16384u

/* After the secrets are lifted out: an object of strings with known
 * member names only. */
static bool shape_ok(const char *text, size_t len)
{
    static const char *const names[] = {"access_key_id", "secret_access_key",
                                        "session_token", NULL};
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    const char *k;
    json_t *v;
    bool ok = json_is_object(root);
    size_t i;

    json_object_foreach(root, k, v)
    {
        for (i = 0; names[i] != NULL && strcmp(names[i], k) != 0; i++)
            ;
        ok = ok && names[i] != NULL && json_is_string(v);
    }
    json_decref(root);
    return ok;
}

/* Lifts the three members out of the file text. */
static cmk_err take_members(char *text, size_t len, struct cmk_secret m[3])
{
    static const char *const names[] = {"access_key_id", "secret_access_key",
                                        "session_token"};
    bool found[3] = {false, false, false};
    size_t i;
    cmk_err err = CMK_OK;

    for (i = 0; i < 3 && err == CMK_OK; i++)
        err = cmk_json_take_secret(text, len, names[i], &m[i], &found[i]);
    if (err == CMK_OK && (!found[0] || !found[1] || !shape_ok(text, len)))
        err = CMK_E_BAD_RESPONSE;
    return err;
}

cmk_err cmk_creds_from_file(const struct cmk_cred_env *env,
                            struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_secret m[3] = {{0}, {0}, {0}};
    char *text = NULL, why[400];
    size_t len = 0, i;
    cmk_err err;

    *out = NULL;
    if (env->cfg == NULL || env->cfg->credentials_file == NULL)
        return CMK_OK;
    err = cmk_creds_read_file(env->cfg->credentials_file, FILE_MAX, true, &text,
                              &len, why, sizeof(why));
    if (err == CMK_E_NOMEM)
        return err;
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "CredentialsFileUnusable",
                                    "credentials_file %s", why);
    err = take_members(text, len, m);
    if (err == CMK_OK)
        err = cmk_creds_new((const char *)m[0].p, (const char *)m[1].p,
                            m[2].p != NULL ? (const char *)m[2].p : NULL, 0,
                            "static", out);
    if (err == CMK_E_BAD_RESPONSE)
        err = cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "CredentialsFileMalformed",
            "credentials_file %s: not a JSON object of the strings "
            "access_key_id, secret_access_key and (optional) session_token",
            env->cfg->credentials_file);
    for (i = 0; i < 3; i++)
        cmk_secret_free(&m[i]);
    cmk_creds_free_file(text);
    return err;
}

cmk_err cmk_creds_from_env(const struct cmk_cred_env *env,
                           struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *id, *secret, *token;

    *out = NULL;
    if (env->cfg != NULL && env->cfg->profile != NULL)
        return CMK_OK; /* an explicit profile outranks the environment */
    id = cmk_creds_getenv(env, "AWS_ACCESS_KEY_ID");
    secret = cmk_creds_getenv(env, "AWS_SECRET_ACCESS_KEY");
    if (id == NULL && secret == NULL)
        return CMK_OK;
    if (id == NULL || secret == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "PartialCredentials",
                                    "the environment sets one of "
                                    "AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY without the other");
    token = cmk_creds_getenv(env, "AWS_SESSION_TOKEN");
    if (token == NULL)
        token = cmk_creds_getenv(env, "AWS_SECURITY_TOKEN");
    return cmk_creds_new(id, secret, token, 0, "env", out);
}
