/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the AWS shared credentials and config files (net/ini.c, and
 * net/creds_profile.c choosing a profile's keys from both). Input: one
 * byte choosing the profile, then the credentials file, a 0x1e byte, and
 * the config file. The parser's line number of a refusal lies within the
 * text.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/ini.h"
#include "tests/fuzz/fuzz.h"

static const char *const g_profiles[] = {NULL, "default", "dev", "assume"};
static char g_creds[700], g_config[700];
static const char *g_profile;

static const char *fake_getenv(const char *name)
{
    if (strcmp(name, "AWS_SHARED_CREDENTIALS_FILE") == 0)
        return g_creds;
    if (strcmp(name, "AWS_CONFIG_FILE") == 0)
        return g_config;
    if (strcmp(name, "AWS_PROFILE") == 0)
        return g_profile;
    return NULL;
}

static void parse(const uint8_t *p, size_t n)
{
    static const char *const keys[] = {"aws_access_key_id", "region",
                                       "role_arn", ""};
    static const char *const secs[] = {"default", "profile dev", "dev", ""};
    struct cmk_ini *ini = NULL;
    unsigned line = 0;
    size_t i, lines = 1;
    cmk_err err;

    for (i = 0; i < n; i++)
        lines += p[i] == '\n';
    err = cmk_ini_parse((const char *)p, n, &ini, &line);
    fz_check((err == CMK_OK) == (ini != NULL), "result and parse differ");
    fz_check(err != CMK_E_CONFIG || memchr(p, 0, n) != NULL ||
                 (line >= 1 && line <= lines),
             "refused line out of range");
    for (i = 0; i < 16 && ini != NULL; i++) {
        (void)cmk_ini_get(ini, secs[i % 4], keys[i / 4]);
        (void)cmk_ini_has_section(ini, secs[i % 4]);
    }
    cmk_ini_free(ini);
}

/* Both files through the profile source. */
static void profile(const uint8_t *p, size_t n)
{
    const uint8_t *sep = memchr(p, 0x1e, n);
    size_t a = sep != NULL ? (size_t)(sep - p) : n;
    struct cmk_cred_env env;
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;
    char *role = NULL;
    cmk_err err;

    fz_write(fz_scratch(), "credentials", p, a, g_creds, sizeof(g_creds));
    fz_write(fz_scratch(), "config", sep != NULL ? sep + 1 : p,
             sep != NULL ? n - a - 1 : 0, g_config, sizeof(g_config));
    memset(&env, 0, sizeof(env));
    memset(&st, 0, sizeof(st));
    env.getenv = fake_getenv;
    err = cmk_creds_from_profile(&env, &st, &c);
    fz_check(err == CMK_OK || c == NULL, "a refusal with credentials");
    if (cmk_creds_config_value(&env, "role_arn", &role) == CMK_OK)
        fz_check(role == NULL || role[0] != '\0', "an empty role");
    free(role);
    cmk_creds_unref(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    g_profile = g_profiles[data[0] % 4];
    parse(data + 1, size - 1);
    profile(data + 1, size - 1);
    return 0;
}
