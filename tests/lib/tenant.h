/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: builds a scratch directory with local-provider key files, PIN
 * verifiers and provisioned KEKs, and writes the module config for it.
 */
#ifndef CMK_TEST_TENANT_H
#define CMK_TEST_TENANT_H

#include <stddef.h>
#include <stdint.h>

#define TEST_PIN "Tz9-pin-4417"

struct test_env {
    char dir[256];
    char config[300];
    char audit[300]; /* the config's audit file (fsync interval) */
    char extra[256]; /* more top-level members, e.g. "\"cache\": {...}," */
};

/* Creates dir ($TMPDIR/cmk-test-XXXXXX, removed when the process exits if
 * test_env_remove did not remove it before) with tenants "alpha" and
 * "beta" (PIN TEST_PIN) on the local provider, each with a KEK; writes
 * config.json. 0 on success. */
int test_env_make(struct test_env *env);
/* The same with extra top-level JSON members (each followed by a comma). */
int test_env_make_with(struct test_env *env, const char *extra);
/* The same with tenant alpha's local-provider key and KEK given (32 bytes
 * each; NULL: random), for tests that look for them in memory. */
int test_env_make_keys(struct test_env *env, const char *extra,
                       const uint8_t *alpha_key, const uint8_t *alpha_kek);
/* A data-key rotation of tenant alpha written into env's config as
 * cmk-tool rotate-kek writes it (tenant_rotate.c): new_kek (32 bytes)
 * sealed through alpha's CMK becomes its "kek", the old one
 * previous_keks[0] until expires (Unix seconds), with bad_commit (may be
 * NULL) written as that entry's commitment instead of its own. 0 on
 * success. */
int test_env_rotate_kek(const struct test_env *env, const uint8_t *new_kek,
                        int64_t expires, const uint8_t *bad_commit);
/* Removes the directory tree. */
void test_env_remove(const struct test_env *env);

#endif /* CMK_TEST_TENANT_H */
