/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: a data-key rotation of tenant alpha written into a test config
 * as cmk-tool rotate-kek writes it, with a KEK the test knows.
 */
#include <config.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/settings.h"
#include "keys/cmk.h"
#include "tests/lib/tenant.h"
#include "util/utc.h"

static char *b64(const uint8_t *bin, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);

    if (s != NULL)
        sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

/* alpha's KEK kek sealed through its CMK, and its commitment, base64. */
static int seal_new(const char *config, const uint8_t *kek, char **blob64,
                    char **commit64)
{
    struct cmk_config *cfg = NULL;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    struct cmk_buf blob = {0};
    uint8_t commit[CMK_KEK_COMMITMENT_LEN];
    char msg[512];
    int rc = -1;

    memset(&rq, 0, sizeof(rq));
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) == CMK_OK &&
        cmk_cmk_open(&cfg->tenants[0].kms, 0, &c) == CMK_OK &&
        cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek, 32, &blob) == CMK_OK &&
        cmk_cmk_kek_commitment("alpha", kek, 32, commit) == CMK_OK) {
        *blob64 = b64(blob.p, blob.len);
        *commit64 = b64(commit, sizeof(commit));
        rc = *blob64 != NULL && *commit64 != NULL ? 0 : -1;
    }
    cmk_buf_free(&blob);
    cmk_cmk_close(c);
    cmk_config_free(cfg);
    return rc;
}

static int rewrite(json_t *t, const char *blob64, const char *commit64,
                   const char *date, const char *bad64)
{
    json_t *old_commit =
        bad64 != NULL ? json_string(bad64)
                      : json_incref(json_object_get(t, "kek_commitment"));
    json_t *prev =
        json_pack("[{s:O, s:o, s:s}]", "kek", json_object_get(t, "kek"),
                  "kek_commitment", old_commit, "expires", date);

    if (prev == NULL)
        return -1;
    if (json_object_set_new(t, "previous_keks", prev) != 0 ||
        json_object_set_new(t, "kek", json_string(blob64)) != 0 ||
        json_object_set_new(t, "kek_commitment", json_string(commit64)) != 0)
        return -1;
    return 0;
}

int test_env_rotate_kek(const struct test_env *env, const uint8_t *new_kek,
                        int64_t expires, const uint8_t *bad_commit)
{
    char date[CMK_UTC_LEN + 1], *blob64 = NULL, *commit64 = NULL;
    char *bad64 = NULL;
    json_error_t je;
    json_t *root = NULL;
    int rc = -1;

    if (!cmk_utc_format(expires, date) ||
        seal_new(env->config, new_kek, &blob64, &commit64) != 0)
        goto out;
    if (bad_commit != NULL &&
        (bad64 = b64(bad_commit, CMK_KEK_COMMITMENT_LEN)) == NULL)
        goto out;
    root = json_load_file(env->config, 0, &je);
    if (root != NULL &&
        rewrite(json_array_get(json_object_get(root, "tenants"), 0), blob64,
                commit64, date, bad64) == 0 &&
        json_dump_file(root, env->config, JSON_INDENT(1)) == 0)
        rc = 0;
out:
    json_decref(root);
    free(blob64);
    free(commit64);
    free(bad64);
    return rc;
}
