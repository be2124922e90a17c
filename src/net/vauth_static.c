/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the static Vault tokens (vauth.h sources 1-3): the tenant's
 * token_file, VAULT_TOKEN, and the Vault CLI's token helper file
 * ~/.vault-token. A file is trusted as a secret (owner-only, not a
 * symlink); one that is named but unusable is refused, never skipped
 * (the helper file only when it exists). The token is the file's text
 * without surrounding white space; an empty one counts as none for the
 * environment (as the CLI does) and is refused for a file. A static token
 * has no expiry: Vault's 403 "invalid token" drops it (read again).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/vauth_int.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The token in text[0..len), trimmed, as a cmk_creds. */
static cmk_err token_of(char *text, size_t len, const char *source,
                        struct cmk_creds **out)
{
    size_t a = 0;

    while (len > 0 && is_space(text[len - 1]))
        len--;
    while (a < len && is_space(text[a]))
        a++;
    if (a == len || memchr(text + a, '\n', len - a) != NULL ||
        strlen(text + a) < len - a)
        return CMK_E_CONFIG;
    text[len] = '\0';
    return cmk_creds_new(CMK_VAUTH_ID, text + a, NULL, 0, source, out);
}

static cmk_err from_file(const char *path, bool optional, const char *source,
                         struct cmk_cred_status *st, struct cmk_creds **out)
{
    char why[256] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_VAUTH_FILE_MAX, true, &text, &len, why,
                              sizeof(why));
    if (err == CMK_E_KEY_NOT_FOUND && optional)
        return CMK_OK;
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "TokenFileUnusable", "%s",
                                    why[0] != '\0' ? why : path);
    err = token_of(text, len, source, out);
    cmk_creds_free_file(text);
    if (err == CMK_E_CONFIG)
        return cmk_creds_refuse_why(st, err, "TokenFileMalformed",
                                    "%s: not one Vault token", path);
    return err;
}

static cmk_err from_helper(const struct cmk_vauth *va,
                           struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *home = cmk_creds_getenv(&va->cache.env, "HOME");
    char path[4096];
    int n;

    if (home == NULL || home[0] != '/')
        return CMK_OK;
    n = snprintf(path, sizeof(path), "%s/.vault-token", home);
    if (n < 0 || (size_t)n >= sizeof(path))
        return CMK_OK;
    return from_file(path, true, "helper", st, out);
}

cmk_err cmk_vauth_static(const struct cmk_vauth *va, struct cmk_cred_status *st,
                         struct cmk_creds **out)
{
    const struct cmk_vauth_cfg *cfg = va->env.cfg;
    const char *env;

    *out = NULL;
    if (cfg != NULL && cfg->token_file != NULL)
        return from_file(cfg->token_file, false, "token_file", st, out);
    env = cmk_creds_getenv(&va->cache.env, "VAULT_TOKEN");
    if (env != NULL && env[0] != '\0')
        return cmk_creds_new(CMK_VAUTH_ID, env, NULL, 0, "env", out);
    return from_helper(va, st, out);
}
