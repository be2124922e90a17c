/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the local provider (providers/local.c) with real key files in a
 * temporary directory, cmk_provider_find and cmk_context_encode.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "providers/provider.h"
#include "tests/lib/scratch.h"

struct fx {
    char dir[256];
    char path[PATH_MAX];
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_ctx_pair ctx[2];
    struct cmk_req rq;
};

static char k_tenant[] = "tenant", v_acme[] = "acme", k_env[] = "env",
            v_prod[] = "prod", v_dev[] = "dev";

static void write_file(const char *path, const uint8_t *p, size_t len,
                       mode_t mode)
{
    int fd;

    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void key_bytes(uint8_t key[33], uint8_t first)
{
    int i;

    for (i = 0; i < 33; i++)
        key[i] = (uint8_t)(first + i);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    uint8_t key[33];

    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    assert_int_equal(test_scratch_make("cmk-local", f->dir, sizeof(f->dir)), 0);
    snprintf(f->path, sizeof(f->path), "%s/key", f->dir);
    key_bytes(key, 0);
    write_file(f->path, key, 32, 0600);
    f->ops = cmk_provider_find("local");
    assert_non_null(f->ops);
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    f->ctx[0].key = k_tenant;
    f->ctx[0].value = v_acme;
    f->ctx[1].key = k_env;
    f->ctx[1].value = v_prod;
    f->rq.ctx = f->ctx;
    f->rq.n_ctx = 2;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    f->ops->fini(f->st);
    free(f->st);
    assert_int_equal(test_scratch_remove(f->dir), 0);
    free(f);
    return 0;
}

static cmk_err init(struct fx *f)
{
    return f->ops->init(f->st, NULL, f->path);
}

static void test_find(void **state)
{
    (void)state;
    assert_string_equal(cmk_provider_find("local")->name, "local");
    assert_int_equal(cmk_provider_find("local")->id, CMK_PROV_LOCAL);
    assert_int_equal(cmk_provider_find("aws")->id, CMK_PROV_AWS);
    assert_int_equal(cmk_provider_find("gcp")->id, CMK_PROV_GCP);
    assert_int_equal(cmk_provider_find("azure")->id, CMK_PROV_AZURE);
    assert_int_equal(cmk_provider_find("vault")->id, CMK_PROV_VAULT);
    assert_false(cmk_provider_is_planned("vault"));
    assert_null(cmk_provider_find("hsm"));
    assert_null(cmk_provider_find("Local"));
    assert_null(cmk_provider_find(""));
    assert_null(cmk_provider_find(NULL));
}

static void test_context_encode(void **state)
{
    static const uint8_t want[] = {
        0,   0,   0,   6,   't', 'e', 'n', 'a', 'n', 't', 0,
        0,   0,   4,   'a', 'c', 'm', 'e', 0,   0,   0,   3,
        'e', 'n', 'v', 0,   0,   0,   4,   'p', 'r', 'o', 'd',
    };
    struct fx *f = *state;
    struct cmk_ctx_pair bad = {k_env, NULL};
    struct cmk_buf b = {0};

    assert_int_equal(cmk_context_encode(f->ctx, 2, &b), CMK_OK);
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    cmk_buf_free(&b);
    assert_int_equal(cmk_context_encode(NULL, 0, &b), CMK_OK);
    assert_int_equal(b.len, 0);
    cmk_buf_free(&b);
    assert_int_equal(cmk_context_encode(&bad, 1, &b), CMK_E_ARGS);
    assert_int_equal(cmk_context_encode(NULL, 1, &b), CMK_E_ARGS);
}

/* Known answer: BLAKE2b-256 keyed with "cmk-pkcs11 local key id" over the
 * bytes 00..1f, first 8 bytes (computed with Python's hashlib). */
static void test_key_id(void **state)
{
    struct fx *f = *state;
    char id[256];

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->key_id(f->st, id), CMK_OK);
    assert_string_equal(id, "local:e0f13c9f1d024171");
}

static void test_round_trip(void **state)
{
    static const uint8_t msg[] = "a data encryption key, 32 bytes!";
    struct fx *f = *state;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->encrypt(f->st, &f->rq, msg, 32, &ct), CMK_OK);
    assert_int_equal(ct.len, 24 + 32 + 16);
    assert_int_equal(strlen(f->rq.request_id), 6 + 16);
    assert_memory_equal(f->rq.request_id, "local-", 6);
    assert_int_equal(f->rq.http_status, 0);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt), CMK_OK);
    assert_int_equal(pt.len, 32);
    assert_memory_equal(pt.p, msg, 32);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
}

/* Format check independent of local.c: nonce || AEAD output, with the
 * context encoded by hand as AAD. */
static void test_decrypt_hand_made(void **state)
{
    static const uint8_t aad[] = {
        0,   0,   0,   6,   't', 'e', 'n', 'a', 'n', 't', 0,
        0,   0,   4,   'a', 'c', 'm', 'e', 0,   0,   0,   3,
        'e', 'n', 'v', 0,   0,   0,   4,   'p', 'r', 'o', 'd',
    };
    struct fx *f = *state;
    uint8_t key[33], ct[24 + 5 + 16];
    struct cmk_secret pt = {0};

    assert_int_equal(init(f), CMK_OK);
    key_bytes(key, 0);
    memset(ct, 0x42, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct + 24, NULL,
                                               (const uint8_t *)"hello", 5, aad,
                                               sizeof(aad), NULL, ct, key);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct, sizeof(ct), &pt),
                     CMK_OK);
    assert_int_equal(pt.len, 5);
    assert_memory_equal(pt.p, "hello", 5);
    cmk_secret_free(&pt);
}

static void test_empty_plaintext(void **state)
{
    struct fx *f = *state;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->encrypt(f->st, &f->rq, NULL, 0, &ct), CMK_OK);
    assert_int_equal(ct.len, 40);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt), CMK_OK);
    assert_int_equal(pt.len, 0);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
}

static void test_tamper_and_context(void **state)
{
    struct fx *f = *state;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    size_t i;

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"dek", 3, &ct), CMK_OK);
    for (i = 0; i < ct.len; i++) {
        ct.p[i] ^= 0x01;
        assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt),
                         CMK_E_BAD_CIPHERTEXT);
        assert_null(pt.p);
        ct.p[i] ^= 0x01;
    }
    assert_string_equal(f->rq.provider_code, "InvalidCiphertext");
    f->ctx[1].value = v_dev;
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    f->ctx[1].value = v_prod;
    f->rq.n_ctx = 1;
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    f->rq.n_ctx = 2;
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, 39, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, 0, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len - 1, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt), CMK_OK);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
}

static void test_other_key_refused(void **state)
{
    struct fx *f = *state;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    uint8_t key[33];
    char id[256];

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"dek", 3, &ct), CMK_OK);
    f->ops->fini(f->st);
    key_bytes(key, 1);
    write_file(f->path, key, 32, 0600);
    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->key_id(f->st, id), CMK_OK);
    assert_string_not_equal(id, "local:e0f13c9f1d024171");
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&ct);
}

static void test_size_cap(void **state)
{
    struct fx *f = *state;
    uint8_t *big = calloc(1, 65536 + 41);
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};

    assert_non_null(big);
    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->encrypt(f->st, &f->rq, big, 65537, &ct),
                     CMK_E_TOO_LARGE);
    assert_null(ct.p);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, big, 65536 + 41, &pt),
                     CMK_E_TOO_LARGE);
    assert_int_equal(f->ops->encrypt(f->st, &f->rq, big, 65536, &ct), CMK_OK);
    assert_int_equal(ct.len, 65536 + 40);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt), CMK_OK);
    assert_int_equal(pt.len, 65536);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    free(big);
}

static void test_reencrypt(void **state)
{
    struct fx *f = *state;
    struct cmk_buf ct = {0}, ct2 = {0};
    struct cmk_secret pt = {0};

    assert_int_equal(init(f), CMK_OK);
    assert_true(f->ops->caps & CMK_CAP_REENCRYPT);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"dek", 3, &ct), CMK_OK);
    assert_int_equal(f->ops->reencrypt(f->st, &f->rq, ct.p, ct.len, &ct2),
                     CMK_OK);
    assert_int_equal(ct2.len, ct.len);
    assert_memory_not_equal(ct2.p, ct.p, ct.len); /* fresh nonce */
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct2.p, ct2.len, &pt),
                     CMK_OK);
    assert_memory_equal(pt.p, "dek", 3);
    cmk_secret_free(&pt);
    ct.p[30] ^= 1;
    cmk_buf_free(&ct2);
    assert_int_equal(f->ops->reencrypt(f->st, &f->rq, ct.p, ct.len, &ct2),
                     CMK_E_BAD_CIPHERTEXT);
    assert_null(ct2.p);
    cmk_buf_free(&ct);
}

static void expect_refused(struct fx *f, const uint8_t *key, size_t len,
                           mode_t mode)
{
    write_file(f->path, key, len, mode);
    assert_int_equal(init(f), CMK_E_CONFIG);
}

static void test_init_refuses(void **state)
{
    struct fx *f = *state;
    uint8_t key[33];
    char p[PATH_MAX];

    key_bytes(key, 0);
    expect_refused(f, key, 32, 0644);
    expect_refused(f, key, 32, 0640);
    expect_refused(f, key, 32, 0602);
    expect_refused(f, key, 31, 0600);
    expect_refused(f, key, 33, 0600);
    expect_refused(f, key, 0, 0600);
    write_file(f->path, key, 32, 0600);
    snprintf(p, sizeof(p), "%s/link", f->dir);
    assert_int_equal(symlink(f->path, p), 0);
    assert_int_equal(f->ops->init(f->st, NULL, p), CMK_E_CONFIG);
    snprintf(p, sizeof(p), "%s/sub", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(f->ops->init(f->st, NULL, p), CMK_E_CONFIG);
    snprintf(p, sizeof(p), "%s/missing", f->dir);
    assert_int_equal(f->ops->init(f->st, NULL, p), CMK_E_CONFIG);
    assert_int_equal(f->ops->init(f->st, NULL, ""), CMK_E_ARGS);
    assert_int_equal(f->ops->init(f->st, NULL, NULL), CMK_E_ARGS);
    assert_int_equal(init(f), CMK_OK); /* 0600, 32 bytes: accepted */
}

static void test_health(void **state)
{
    struct fx *f = *state;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    uint8_t key[33];

    assert_int_equal(init(f), CMK_OK);
    assert_int_equal(f->ops->health(f->st, &f->rq), CMK_OK);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"dek", 3, &ct), CMK_OK);
    /* removing the file disables the key for every operation */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(f->ops->health(f->st, &f->rq), CMK_E_KEY_DISABLED);
    assert_string_equal(f->rq.provider_code, "KeyFileMissing");
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct.p, ct.len, &pt),
                     CMK_E_KEY_DISABLED);
    cmk_buf_free(&ct);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"dek", 3, &ct),
        CMK_E_KEY_DISABLED);
    /* another key at the same path: this version is gone */
    key_bytes(key, 9);
    write_file(f->path, key, 32, 0600);
    assert_int_equal(f->ops->health(f->st, &f->rq), CMK_E_KEY_NOT_FOUND);
    assert_string_equal(f->rq.provider_code, "KeyFileChanged");
    key_bytes(key, 0);
    write_file(f->path, key, 32, 0644);
    assert_int_equal(f->ops->health(f->st, &f->rq), CMK_E_CONFIG);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(f->ops->health(f->st, &f->rq), CMK_OK);
    assert_string_equal(f->rq.provider_code, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_hand_made, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_plaintext, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_and_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_key_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reencrypt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
