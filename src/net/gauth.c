/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Google token chain (gauth.h): which credential file applies,
 * read once (gauth_file.c) and handed by its type to gauth_sa.c,
 * gauth_user.c or gauth_ext.c, else the metadata server (gauth_md.c).
 * The sources read the token endpoints' answers with gauth_token.c, so
 * calls run chain -> sources -> answer.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"
#include "util/log.h"

/* The key file named: the tenant's, else GOOGLE_APPLICATION_CREDENTIALS
 * (empty counts as unset, as Google's libraries do). */
static const char *key_file(const struct cmk_cred_env *env)
{
    const struct cmk_gauth_cfg *cfg = env->arg;

    if (cfg != NULL && cfg->credentials_file != NULL)
        return cfg->credentials_file;
    return cmk_creds_getenv(env, "GOOGLE_APPLICATION_CREDENTIALS");
}

/* The file's token; CMK_OK with *out NULL when an optional file is not
 * there. */
static cmk_err from_file(const struct cmk_cred_env *env, const char *path,
                         bool optional, struct cmk_cred_status *st,
                         struct cmk_creds **out)
{
    struct cmk_gauth_file f;
    cmk_err err;

    err = cmk_gauth_file_read(path, optional, st, &f);
    if (err != CMK_OK || f.root == NULL)
        return err;
    if (strcmp(f.type, "service_account") == 0)
        err = cmk_gauth_sa(env, &f, path, st, out);
    else if (strcmp(f.type, "authorized_user") == 0)
        err = cmk_gauth_user(env, &f, path, st, out);
    else
        err = cmk_gauth_ext(env, &f, path, st, out);
    cmk_gauth_file_free(&f); /* wipes */
    return err;
}

/* Says which source answered (debug log: no token, no secret). */
static void said(const struct cmk_cred_env *env, const char *path,
                 const struct cmk_creds *tok)
{
    cmk_log_debug("gcp credentials: %s token from %s, valid %llds", tok->source,
                  path != NULL ? path : "the metadata server",
                  (long long)(tok->expires - cmk_creds_now(env)));
}

cmk_err cmk_gauth_resolve(const struct cmk_cred_env *env,
                          struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *path;
    char *adc = NULL;
    cmk_err err = CMK_OK;

    if (env == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    path = key_file(env);
    if (path == NULL)
        err = cmk_gauth_adc_path(env, &adc); /* the gcloud file, if any */
    if (err == CMK_OK && (path != NULL || adc != NULL))
        err = from_file(env, path != NULL ? path : adc, path == NULL, st, out);
    if (err == CMK_OK && *out == NULL) {
        free(adc);
        adc = NULL;
        err = cmk_gauth_from_metadata(env, st, out);
    }
    if (err == CMK_OK)
        said(env, path != NULL ? path : adc, *out);
    else if (st->detail[0] != '\0') /* said once */
        cmk_log_once("gcp credentials: %s (%s)", st->detail, st->code);
    free(adc);
    return err;
}
