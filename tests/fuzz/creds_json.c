/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: credentials in JSON: the container and IMDS endpoints'
 * answer (net/creds_http.c), the tenant's credentials file
 * (net/creds_static.c) and the Expiration time (net/creds.c). Input: one
 * mode byte, then
 *   0, 1  an endpoint answer ("container", "imds");
 *   2     a credentials file (written owner-only to a scratch file);
 *   3     a time string.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "tests/fuzz/fuzz.h"

static void endpoint(const char *source, const uint8_t *p, size_t n)
{
    struct cmk_creds *c = NULL;
    struct cmk_http_resp r;
    cmk_err err;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    r.body.p = (uint8_t *)fz_strndup(p, n);
    r.body.len = n;
    err = cmk_creds_parse_json(&r, source, &c);
    fz_check((err == CMK_OK) == (c != NULL), "credentials and result differ");
    if (c != NULL)
        fz_check(strcmp(c->source, source) == 0 &&
                     c->secret_access_key[0] != '\0',
                 "incomplete credentials accepted");
    cmk_creds_unref(c);
    cmk_http_resp_free(&r);
}

static void file(const uint8_t *p, size_t n)
{
    struct cmk_cred_cfg cfg;
    struct cmk_cred_env env;
    struct cmk_cred_status st;
    struct cmk_creds *c = NULL;
    char path[700];
    cmk_err err;

    fz_write(fz_scratch(), "credentials.json", p, n, path, sizeof(path));
    memset(&cfg, 0, sizeof(cfg));
    memset(&env, 0, sizeof(env));
    memset(&st, 0, sizeof(st));
    cfg.credentials_file = path;
    env.cfg = &cfg;
    err = cmk_creds_from_file(&env, &st, &c);
    fz_check((err == CMK_OK) == (c != NULL), "credentials and result differ");
    fz_check(err == CMK_OK || st.code[0] != '\0', "a refusal without a code");
    cmk_creds_unref(c);
}

static void when(const uint8_t *p, size_t n)
{
    char *s = fz_strndup(p, n);
    int64_t t = 0;

    size_t n2 = strlen(s);

    if (cmk_creds_parse_time(s, &t) == CMK_OK)
        fz_check((n2 >= 1 && s[n2 - 1] == 'Z') ||
                     (n2 >= 3 && strcmp(s + n2 - 3, "UTC") == 0) ||
                     (n2 >= 6 && strcmp(s + n2 - 6, "+00:00") == 0),
                 "a time that is not UTC accepted");
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
    case 1:
        endpoint(data[0] % 4 == 0 ? "container" : "imds", data + 1, size - 1);
        break;
    case 2:
        file(data + 1, size - 1);
        break;
    default:
        when(data + 1, size - 1);
        break;
    }
    return 0;
}
