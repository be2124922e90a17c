/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Google token chain (gauth.h). The sources are gauth_sa.c (key
 * files) and gauth_md.c (metadata server); both read the token endpoints'
 * answer with gauth_token.c, so calls run chain -> sources -> answer.
 */
#include <config.h>

#include <string.h>

#include "net/creds_int.h"
#include "net/gauth.h"
#include "util/log.h"

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
                          struct cmk_cred_status *st, struct cmk_creds **out)
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
