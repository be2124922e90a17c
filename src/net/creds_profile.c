/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: credentials from the AWS shared files. The credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) has sections
 * named after profiles; the config file (AWS_CONFIG_FILE, else
 * ~/.aws/config) names them "[profile NAME]", except "[default]".
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/ini.h"
#include "util/secmem.h"

#define SHARED_MAX (1024u * 1024u)

/* The file's path from env var, else ~/.aws/<name>; NULL without HOME. */
static char *shared_path(const struct cmk_cred_env *env, const char *var,
                         const char *name)
{
    const char *v = cmk_creds_getenv(env, var), *home;
    char *p;
    size_t n;

    if (v != NULL)
        return cmk_strdup(v);
    home = cmk_creds_getenv(env, "HOME");
    if (home == NULL)
        return NULL;
    n = strlen(home) + strlen(name) + sizeof("/.aws/");
    p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/.aws/%s", home, name);
    return p;
}

/* Parses one shared file; *ini stays NULL when the file does not exist. */
static cmk_err load(const struct cmk_cred_env *env, const char *var,
                    const char *name, struct cmk_ini **ini)
{
    char *path = shared_path(env, var, name), *text = NULL;
    size_t len = 0;
    cmk_err err;

    *ini = NULL;
    if (path == NULL)
        return CMK_OK;
    err = cmk_creds_read_file(path, SHARED_MAX, false, &text, &len);
    free(path);
    if (err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK;
    if (err == CMK_OK)
        err = cmk_ini_parse(text, len, ini, NULL);
    cmk_creds_free_file(text);
    return err;
}

/* The config file's section name for a profile. */
static void config_section(const char *profile, char *out, size_t n)
{
    if (strcmp(profile, "default") == 0)
        snprintf(out, n, "default");
    else
        snprintf(out, n, "profile %s", profile);
}

/* Keys from one section: CMK_OK with *out, or with NULL if it has none. */
static cmk_err keys_from(const struct cmk_ini *ini, const char *section,
                         const char *source, struct cmk_cred_status *st,
                         struct cmk_aws_creds **out)
{
    const char *id = cmk_ini_get(ini, section, "aws_access_key_id");
    const char *secret = cmk_ini_get(ini, section, "aws_secret_access_key");
    const char *token = cmk_ini_get(ini, section, "aws_session_token");

    *out = NULL;
    if ((id == NULL || id[0] == '\0') && (secret == NULL || secret[0] == '\0'))
        return CMK_OK;
    if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0')
        return cmk_creds_refuse(st, CMK_E_CONFIG, "PartialCredentials");
    return cmk_aws_creds_new(
        id, secret, token != NULL && token[0] ? token : NULL, 0, source, out);
}

static bool profile_named(const struct cmk_cred_env *env)
{
    return (env->cfg != NULL && env->cfg->profile != NULL) ||
           cmk_creds_getenv(env, "AWS_PROFILE") != NULL;
}

/* A profile that only names a role to assume needs STS AssumeRole, which
 * is not implemented: say so instead of falling through to IMDS. */
static cmk_err check_leftovers(const struct cmk_ini *cfg, const char *sec,
                               bool seen, const struct cmk_cred_env *env,
                               struct cmk_cred_status *st)
{
    if (cmk_ini_get(cfg, sec, "source_profile") != NULL ||
        cmk_ini_get(cfg, sec, "credential_source") != NULL ||
        cmk_ini_get(cfg, sec, "credential_process") != NULL ||
        cmk_ini_get(cfg, sec, "sso_session") != NULL ||
        cmk_ini_get(cfg, sec, "sso_start_url") != NULL)
        return cmk_creds_refuse(st, CMK_E_CONFIG, "UnsupportedProfile");
    if (!seen && profile_named(env))
        return cmk_creds_refuse(st, CMK_E_CONFIG, "ProfileNotFound");
    return CMK_OK;
}

cmk_err cmk_creds_from_profile(const struct cmk_cred_env *env,
                               struct cmk_cred_status *st,
                               struct cmk_aws_creds **out)
{
    const char *profile = cmk_creds_profile(env);
    struct cmk_ini *creds = NULL, *cfg = NULL;
    char sec[300];
    bool seen;
    cmk_err err;

    *out = NULL;
    err = load(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &creds);
    if (err == CMK_OK)
        err = load(env, "AWS_CONFIG_FILE", "config", &cfg);
    if (err != CMK_OK) {
        err = cmk_creds_refuse(st, err == CMK_E_NOMEM ? err : CMK_E_CONFIG,
                               "SharedFileUnusable");
        goto out;
    }
    config_section(profile, sec, sizeof(sec));
    err = keys_from(creds, profile, "shared-credentials", st, out);
    if (err == CMK_OK && *out == NULL)
        err = keys_from(cfg, sec, "shared-config", st, out);
    seen = cmk_ini_has_section(creds, profile) || cmk_ini_has_section(cfg, sec);
    if (err == CMK_OK && *out == NULL)
        err = check_leftovers(cfg, sec, seen, env, st);
out:
    cmk_ini_free(creds);
    cmk_ini_free(cfg);
    return err;
}

cmk_err cmk_creds_config_value(const struct cmk_cred_env *env, const char *key,
                               char **out)
{
    struct cmk_ini *cfg = NULL;
    const char *v;
    char sec[300];
    cmk_err err;

    *out = NULL;
    err = load(env, "AWS_CONFIG_FILE", "config", &cfg);
    if (err != CMK_OK)
        return err == CMK_E_NOMEM ? err : CMK_E_CONFIG;
    config_section(cmk_creds_profile(env), sec, sizeof(sec));
    v = cmk_ini_get(cfg, sec, key);
    if (v != NULL && v[0] != '\0' && (*out = cmk_strdup(v)) == NULL)
        err = CMK_E_NOMEM;
    cmk_ini_free(cfg);
    return err;
}
