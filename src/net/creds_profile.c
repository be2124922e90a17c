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

/* Parses one shared file; *ini stays NULL when the file does not exist.
 * On failure why says which file and what is wrong with it. */
static cmk_err load(const char *path, struct cmk_ini **ini, char *why,
                    size_t why_len)
{
    char *text = NULL;
    size_t len = 0;
    unsigned line = 0;
    cmk_err err;

    *ini = NULL;
    if (path == NULL)
        return CMK_OK;
    err =
        cmk_creds_read_file(path, SHARED_MAX, false, &text, &len, why, why_len);
    if (err == CMK_E_KEY_NOT_FOUND)
        return CMK_OK;
    if (err == CMK_OK) {
        err = cmk_ini_parse(text, len, ini, &line);
        if (err != CMK_OK && err != CMK_E_NOMEM)
            snprintf(why, why_len, "%s: line %u is not INI", path, line);
    }
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

/* The two shared files of one lookup, parsed, and their paths. */
struct shared {
    char *cred_path, *cfg_path;
    struct cmk_ini *creds, *cfg;
};

static void shared_free(struct shared *sh)
{
    cmk_ini_free(sh->creds);
    cmk_ini_free(sh->cfg);
    free(sh->cred_path);
    free(sh->cfg_path);
}

/* Keys from one section: CMK_OK with *out, or with NULL if it has none. */
static cmk_err keys_from(const struct cmk_ini *ini, const char *section,
                         const char *source, const char *path,
                         struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *id = cmk_ini_get(ini, section, "aws_access_key_id");
    const char *secret = cmk_ini_get(ini, section, "aws_secret_access_key");
    const char *token = cmk_ini_get(ini, section, "aws_session_token");

    *out = NULL;
    if ((id == NULL || id[0] == '\0') && (secret == NULL || secret[0] == '\0'))
        return CMK_OK;
    if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0')
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "PartialCredentials",
            "section [%s] of %s has one of aws_access_key_id and "
            "aws_secret_access_key without the other",
            section, path);
    return cmk_creds_new(id, secret, token != NULL && token[0] ? token : NULL,
                         0, source, out);
}

static bool profile_named(const struct cmk_cred_env *env)
{
    return (env->cfg != NULL && env->cfg->profile != NULL) ||
           cmk_creds_getenv(env, "AWS_PROFILE") != NULL;
}

/* A profile that only names a role to assume needs STS AssumeRole, which
 * is not implemented: say so instead of falling through to IMDS. */
static cmk_err check_leftovers(const struct shared *sh, const char *sec,
                               bool seen, const struct cmk_cred_env *env,
                               struct cmk_cred_status *st)
{
    const char *profile = cmk_creds_profile(env);

    if (cmk_ini_get(sh->cfg, sec, "source_profile") != NULL ||
        cmk_ini_get(sh->cfg, sec, "credential_source") != NULL ||
        cmk_ini_get(sh->cfg, sec, "credential_process") != NULL ||
        cmk_ini_get(sh->cfg, sec, "sso_session") != NULL ||
        cmk_ini_get(sh->cfg, sec, "sso_start_url") != NULL)
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "UnsupportedProfile",
            "profile \"%s\" in %s assumes a role or uses SSO or a process, "
            "which are not supported",
            profile, sh->cfg_path);
    if (!seen && profile_named(env))
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "ProfileNotFound",
            "profile \"%s\" is in neither %s nor %s", profile,
            sh->cred_path != NULL ? sh->cred_path : "(no HOME)",
            sh->cfg_path != NULL ? sh->cfg_path : "(no HOME)");
    return CMK_OK;
}

static cmk_err load_both(const struct cmk_cred_env *env, struct shared *sh,
                         struct cmk_cred_status *st)
{
    char why[400] = "";
    cmk_err err;

    sh->cred_path = cmk_creds_shared_path(env, false);
    sh->cfg_path = cmk_creds_shared_path(env, true);
    err = load(sh->cred_path, &sh->creds, why, sizeof(why));
    if (err == CMK_OK)
        err = load(sh->cfg_path, &sh->cfg, why, sizeof(why));
    if (err == CMK_E_NOMEM)
        return cmk_creds_refuse(st, err, "SharedFileUnusable");
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "SharedFileUnusable",
                                    "shared file %s", why);
    return CMK_OK;
}

cmk_err cmk_creds_from_profile(const struct cmk_cred_env *env,
                               struct cmk_cred_status *st,
                               struct cmk_creds **out)
{
    const char *profile = cmk_creds_profile(env);
    struct shared sh = {NULL, NULL, NULL, NULL};
    char sec[300];
    bool seen;
    cmk_err err;

    *out = NULL;
    err = load_both(env, &sh, st);
    if (err != CMK_OK)
        goto out;
    config_section(profile, sec, sizeof(sec));
    err = keys_from(sh.creds, profile, "shared-credentials", sh.cred_path, st,
                    out);
    if (err == CMK_OK && *out == NULL)
        err = keys_from(sh.cfg, sec, "shared-config", sh.cfg_path, st, out);
    seen = cmk_ini_has_section(sh.creds, profile) ||
           cmk_ini_has_section(sh.cfg, sec);
    if (err == CMK_OK && *out == NULL)
        err = check_leftovers(&sh, sec, seen, env, st);
out:
    shared_free(&sh);
    return err;
}

cmk_err cmk_creds_config_value(const struct cmk_cred_env *env, const char *key,
                               char **out)
{
    struct cmk_ini *cfg = NULL;
    const char *v;
    char sec[300], *path;
    cmk_err err;

    *out = NULL;
    path = cmk_creds_shared_path(env, true);
    err = load(path, &cfg, NULL, 0);
    free(path);
    if (err != CMK_OK)
        return err == CMK_E_NOMEM ? err : CMK_E_CONFIG;
    config_section(cmk_creds_profile(env), sec, sizeof(sec));
    v = cmk_ini_get(cfg, sec, key);
    if (v != NULL && v[0] != '\0' && (*out = cmk_strdup(v)) == NULL)
        err = CMK_E_NOMEM;
    cmk_ini_free(cfg);
    return err;
}
