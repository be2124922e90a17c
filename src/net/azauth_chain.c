/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Entra ID token sources in order (azauth.h): the one the
 * tenant's "azure" settings name, else the first the environment
 * configures, as Azure's DefaultAzureCredential reads it, handed to
 * azauth_secret.c, azauth_cert.c, azauth_wi.c or azauth_mi.c, which read
 * the answers with azauth_token.c: calls run chain -> sources -> answer.
 */
#include <config.h>

#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "util/log.h"

static bool has_env(const struct cmk_cred_env *env, const char *name)
{
    const char *v = cmk_creds_getenv(env, name);

    return v != NULL && v[0] != '\0';
}

/* The source the config names; the config parser refuses two, so the
 * first in azauth.h's order wins here. */
static cmk_err from_cfg(const struct cmk_cred_env *env,
                        const struct cmk_azauth_cfg *cfg, bool *named,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    *named = true;
    if (cfg->client_secret_file != NULL)
        return cmk_azauth_secret(env, cfg->client_secret_file, st, out);
    if (cfg->client_certificate_file != NULL)
        return cmk_azauth_cert(env, cfg->client_certificate_file,
                               cfg->certificate_alg, st, out);
    if (cfg->mi != CMK_AZAUTH_MI_NONE)
        return cmk_azauth_mi(env, st, out);
    *named = false;
    return CMK_OK;
}

/* The first source the environment configures; managed identity (App
 * Service, else IMDS) when none. */
static cmk_err from_env(const struct cmk_cred_env *env,
                        const struct cmk_azauth_cfg *cfg,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *v;

    if (has_env(env, "AZURE_CLIENT_SECRET"))
        return cmk_azauth_secret(env, NULL, st, out);
    v = cmk_creds_getenv(env, "AZURE_CLIENT_CERTIFICATE_PATH");
    if (v != NULL && v[0] != '\0')
        return cmk_azauth_cert(env, v, cfg->certificate_alg, st, out);
    v = cmk_creds_getenv(env, "AZURE_FEDERATED_TOKEN_FILE");
    if (v != NULL && v[0] != '\0')
        return cmk_azauth_wi(env, v, st, out);
    return cmk_azauth_mi(env, st, out);
}

/* Says which source answered (debug log: no token, no secret). */
static void said(const struct cmk_cred_env *env, const struct cmk_creds *tok)
{
    const struct cmk_azauth_ask *a = env->arg;

    cmk_log_debug("azure credentials: %s token for %s, valid %llds",
                  tok->source, a != NULL ? a->resource : "",
                  (long long)(tok->expires - cmk_creds_now(env)));
}

cmk_err cmk_azauth_resolve(const struct cmk_cred_env *env,
                           struct cmk_cred_status *st, struct cmk_creds **out)
{
    const struct cmk_azauth_cfg *cfg;
    bool named = false;
    cmk_err err;

    if (env == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    memset(st, 0, sizeof(*st));
    cfg = cmk_azauth_cfg_of(env->arg);
    err = from_cfg(env, cfg, &named, st, out);
    if (err == CMK_OK && !named)
        err = from_env(env, cfg, st, out);
    if (err == CMK_OK && *out == NULL) /* no source answered */
        err = cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "NoCredentials");
    if (err == CMK_OK)
        said(env, *out);
    else if (st->detail[0] != '\0') /* said once */
        cmk_log_once("azure credentials: %s (%s)", st->detail, st->code);
    return err;
}
