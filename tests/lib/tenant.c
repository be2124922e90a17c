/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: scratch tenants on the local provider. The KEK is sealed with the
 * library's own keys layer, as cmk-tool provision does.
 */
#include <config.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/settings.h"
#include "keys/cmk.h"
#include "tests/lib/scratch.h"
#include "tests/lib/tenant.h"

/* given: the key to write, or NULL for a random one. */
static int write_key(const char *path, const uint8_t *given)
{
    uint8_t key[32];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ssize_t n;

    if (fd < 0)
        return -1;
    if (given != NULL)
        memcpy(key, given, sizeof(key));
    else
        randombytes_buf(key, sizeof(key));
    n = write(fd, key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    close(fd);
    return n == (ssize_t)sizeof(key) ? 0 : -1;
}

/* kek_a, kek_b: the tenants' KEK members (", \"kek\": ..."), or "". */
static int write_config(const struct test_env *env, const char *kek_a,
                        const char *kek_b)
{
    char verifier[crypto_pwhash_STRBYTES];
    FILE *f;

    if (crypto_pwhash_str(verifier, TEST_PIN, strlen(TEST_PIN),
                          crypto_pwhash_OPSLIMIT_MIN,
                          crypto_pwhash_MEMLIMIT_MIN) != 0)
        return -1;
    f = fopen(env->config, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "{\"store_dir\": \"%s/store\",%s\n"
            " \"audit\": {\"file\": \"%s\", \"fsync\": \"interval\"},\n"
            " \"tenants\": [\n"
            " {\"label\": \"alpha\", \"provider\": \"local\", "
            "\"key\": \"%s/alpha.key\", \"test_mode\": true, "
            "\"pin_verifier\": \"%s\"%s,"
            " \"encryption_context\": {\"app\": \"unit\"}},\n"
            " {\"label\": \"beta\", \"provider\": \"local\", "
            "\"key\": \"%s/beta.key\", \"test_mode\": true, "
            "\"pin_verifier\": \"%s\"%s}\n"
            "]}\n",
            env->dir, env->extra, env->audit, env->dir, verifier, kek_a,
            env->dir, verifier, kek_b);
    return fclose(f) == 0 ? 0 : -1;
}

/* ", \"kek\": B64, \"kek_commitment\": B64" for the config. */
static void kek_members(const struct cmk_buf *blob, const uint8_t *commit,
                        char *out, size_t out_len)
{
    char b[400], cm[64];

    sodium_bin2base64(b, sizeof(b), blob->p, blob->len,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(cm, sizeof(cm), commit, CMK_KEK_COMMITMENT_LEN,
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, out_len, ", \"kek\": \"%s\", \"kek_commitment\": \"%s\"", b,
             cm);
}

/* Seals a KEK (given, or random when NULL) for tenant i of the config and
 * writes its config members into out. */
static int provision(const struct cmk_config *cfg, size_t i,
                     const uint8_t *given, char *out, size_t out_len)
{
    struct cmk_cmk *c = NULL;
    struct cmk_req rq = {0};
    struct cmk_buf blob = {0};
    uint8_t kek[32], commit[CMK_KEK_COMMITMENT_LEN];
    int rc = -1;

    if (given != NULL)
        memcpy(kek, given, sizeof(kek));
    else
        randombytes_buf(kek, sizeof(kek));
    if (cmk_cmk_open(&cfg->tenants[i].kms, 0, &c) == CMK_OK &&
        cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek, sizeof(kek), &blob) ==
            CMK_OK &&
        cmk_cmk_kek_commitment(cfg->tenants[i].kms.label, kek, sizeof(kek),
                               commit) == CMK_OK &&
        blob.len < 280) {
        kek_members(&blob, commit, out, out_len);
        rc = 0;
    }
    sodium_memzero(kek, sizeof(kek));
    cmk_buf_free(&blob);
    cmk_cmk_close(c);
    return rc;
}

int test_env_make(struct test_env *env)
{
    return test_env_make_with(env, "");
}

int test_env_make_with(struct test_env *env, const char *extra)
{
    return test_env_make_keys(env, extra, NULL, NULL);
}

int test_env_make_keys(struct test_env *env, const char *extra,
                       const uint8_t *alpha_key, const uint8_t *alpha_kek)
{
    struct cmk_config *cfg = NULL;
    char msg[512], kek_a[512], kek_b[512], path[300];
    int rc = -1;

    if (sodium_init() < 0)
        return -1;
    snprintf(env->extra, sizeof(env->extra), "%s", extra);
    if (test_scratch_make("cmk-test", env->dir, sizeof(env->dir)) != 0)
        return -1;
    snprintf(env->config, sizeof(env->config), "%s/config.json", env->dir);
    snprintf(env->audit, sizeof(env->audit), "%s/audit.jsonl", env->dir);
    snprintf(path, sizeof(path), "%s/alpha.key", env->dir);
    if (write_key(path, alpha_key) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/beta.key", env->dir);
    if (write_key(path, NULL) != 0 || write_config(env, "", "") != 0)
        return -1;
    if (cmk_config_load(env->config, &cfg, msg, sizeof(msg)) != CMK_OK) {
        fprintf(stderr, "%s\n", msg);
        return -1;
    }
    if (provision(cfg, 0, alpha_kek, kek_a, sizeof(kek_a)) == 0 &&
        provision(cfg, 1, NULL, kek_b, sizeof(kek_b)) == 0)
        rc = write_config(env, kek_a, kek_b);
    cmk_config_free(cfg);
    return rc;
}

void test_env_remove(const struct test_env *env)
{
    const char *name = strrchr(env->dir, '/');

    /* Only a directory test_env_make named (a forked child may have made
     * it, so it need not be this process's). */
    if (name == NULL || strncmp(name, "/cmk-test-", 10) != 0)
        return;
    if (test_scratch_remove(env->dir) != 0)
        fprintf(stderr, "could not remove %s\n", env->dir);
}
