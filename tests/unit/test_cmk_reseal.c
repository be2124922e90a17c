/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: keys/cmk_reseal.c over the local provider (decrypt, then encrypt
 * under the current version): a blob of an older version moves to the
 * current one and opens through it alone, a blob already there is left
 * alone, and the attacks fail: another purpose, another tenant, a changed
 * byte, an unknown version, a disabled old key.
 */
#include <config.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keys/cmk.h"
#include "mech/envelope.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"

#define DEK "data-encryption key of 32 bytes!"

struct fx {
    char dir[256];
    char key_a[PATH_MAX], key_b[PATH_MAX], key_c[PATH_MAX];
    char *prev[2];
    struct cmk_kms_cfg old_cfg, new_cfg, only_new;
    struct cmk_cmk *old_c, *new_c, *only_c;
};

static char s_acme[] = "acme", s_local[] = "local";

static void write_key(const char *path, uint8_t first)
{
    uint8_t key[32];
    size_t i;
    int fd;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(first + i);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
    close(fd);
}

static void tenant(struct cmk_kms_cfg *cfg, char *key, char **prev, size_t n)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->label = s_acme;
    cfg->provider = s_local;
    cfg->key_ref = key;
    cfg->previous_key_refs = n != 0 ? prev : NULL;
    cfg->n_previous = n;
}

/* acme on key a; after the rotation on key b with a previous; and on b
 * alone (what must open a moved blob). */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    assert_int_equal(test_scratch_make("cmk-reseal", f->dir, sizeof(f->dir)),
                     0);
    snprintf(f->key_a, sizeof(f->key_a), "%s/a.key", f->dir);
    snprintf(f->key_b, sizeof(f->key_b), "%s/b.key", f->dir);
    snprintf(f->key_c, sizeof(f->key_c), "%s/c.key", f->dir);
    write_key(f->key_a, 1);
    write_key(f->key_b, 101);
    write_key(f->key_c, 201);
    f->prev[0] = f->key_a;
    tenant(&f->old_cfg, f->key_a, NULL, 0);
    tenant(&f->new_cfg, f->key_b, f->prev, 1);
    tenant(&f->only_new, f->key_b, NULL, 0);
    assert_int_equal(cmk_cmk_open(&f->old_cfg, 0, &f->old_c), CMK_OK);
    assert_int_equal(cmk_cmk_open(&f->new_cfg, 0, &f->new_c), CMK_OK);
    assert_int_equal(cmk_cmk_open(&f->only_new, 0, &f->only_c), CMK_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cmk_cmk_close(f->old_c);
    cmk_cmk_close(f->new_c);
    cmk_cmk_close(f->only_c);
    assert_int_equal(test_scratch_remove(f->dir), 0);
    free(f);
    return 0;
}

static void seal_old(struct fx *f, enum cmk_purpose p, const char *pt,
                     size_t len, struct cmk_buf *blob)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal_for(f->old_c, &rq, p, (const uint8_t *)pt, len, blob),
        CMK_OK);
}

static cmk_err reseal(struct fx *f, enum cmk_purpose p,
                      const struct cmk_buf *in, struct cmk_buf *out)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    return cmk_cmk_reseal_for(f->new_c, &rq, p, in->p, in->len, out);
}

/* The key id a blob names, as a string. */
static void key_id_of(const struct cmk_buf *b, char *out, size_t n)
{
    struct cmk_envelope_view ev;

    assert_int_equal(cmk_envelope_parse(b->p, b->len, &ev), CMK_OK);
    assert_true(ev.key_id_len < n);
    memcpy(out, ev.key_id, ev.key_id_len);
    out[ev.key_id_len] = '\0';
}

static void test_moves_to_current(void **state)
{
    struct fx *f = *state;
    struct cmk_buf old = {0}, moved = {0}, fresh = {0};
    struct cmk_secret pt = {0};
    char id_old[256], id_moved[256], id_fresh[256];
    struct cmk_req rq;

    seal_old(f, CMK_PURPOSE_KEY, DEK, 32, &old);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &old, &moved), CMK_OK);
    assert_true(moved.len > 0);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal(f->only_c, &rq, (const uint8_t *)DEK, 32, &fresh), CMK_OK);
    key_id_of(&old, id_old, sizeof(id_old));
    key_id_of(&moved, id_moved, sizeof(id_moved));
    key_id_of(&fresh, id_fresh, sizeof(id_fresh));
    assert_string_equal(id_moved, id_fresh); /* names key b */
    assert_string_not_equal(id_moved, id_old);
    /* Key b alone opens it to the same bytes; key a alone does not. */
    assert_int_equal(cmk_cmk_unseal(f->only_c, &rq, moved.p, moved.len, &pt),
                     CMK_OK);
    assert_int_equal(pt.len, 32);
    assert_memory_equal(pt.p, DEK, 32);
    cmk_secret_free(&pt);
    assert_int_equal(cmk_cmk_unseal(f->old_c, &rq, moved.p, moved.len, &pt),
                     CMK_E_BAD_BLOB);
    assert_null(pt.p);
    cmk_buf_free(&old);
    cmk_buf_free(&moved);
    cmk_buf_free(&fresh);
}

/* A blob already under the current version: nothing to do, nothing made. */
static void test_current_left_alone(void **state)
{
    struct fx *f = *state;
    uint8_t junk[1] = {'x'};
    struct cmk_buf cur = {0}, out = {junk, 1};
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal(f->new_c, &rq, (const uint8_t *)DEK, 32, &cur), CMK_OK);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &cur, &out), CMK_OK);
    assert_null(out.p);
    assert_int_equal(out.len, 0);
    cmk_buf_free(&cur);
}

/* The KEK moves as a KEK: its context on both sides, 32 bytes only. */
static void test_purpose_bound(void **state)
{
    struct fx *f = *state;
    struct cmk_buf kek = {0}, dek = {0}, out = {0};
    struct cmk_secret pt = {0};
    struct cmk_req rq;

    seal_old(f, CMK_PURPOSE_KEK, DEK, 32, &kek);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &kek, &out),
                     CMK_E_BAD_CIPHERTEXT);
    assert_null(out.p);
    assert_int_equal(reseal(f, CMK_PURPOSE_DATA, &kek, &out),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEK, &kek, &out), CMK_OK);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_unseal_for(f->only_c, &rq, CMK_PURPOSE_KEY, out.p,
                                        out.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(cmk_cmk_unseal_for(f->only_c, &rq, CMK_PURPOSE_KEK, out.p,
                                        out.len, &pt),
                     CMK_OK);
    assert_memory_equal(pt.p, DEK, 32);
    cmk_secret_free(&pt);
    cmk_buf_free(&out);
    /* A "KEK" of 16 bytes is not moved (the KMS answer fits no KEK). */
    seal_old(f, CMK_PURPOSE_KEK, DEK, 16, &dek);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEK, &dek, &out),
                     CMK_E_BAD_RESPONSE);
    assert_null(out.p);
    cmk_buf_free(&kek);
    cmk_buf_free(&dek);
}

/* Another tenant's blob, a changed byte, a key nobody configured. */
static void test_attacks(void **state)
{
    struct fx *f = *state;
    struct cmk_kms_cfg other, stranger;
    struct cmk_cmk *oc = NULL, *sc = NULL;
    struct cmk_buf blob = {0}, out = {0};
    struct cmk_req rq;
    char s_other[] = "other";

    other = f->old_cfg;
    other.label = s_other;
    assert_int_equal(cmk_cmk_open(&other, 0, &oc), CMK_OK);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(oc, &rq, (const uint8_t *)DEK, 32, &blob),
                     CMK_OK);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out),
                     CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&blob);
    seal_old(f, CMK_PURPOSE_KEY, DEK, 32, &blob);
    blob.p[blob.len - 1] ^= 1;
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out),
                     CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&blob);
    tenant(&stranger, f->key_c, NULL, 0);
    assert_int_equal(cmk_cmk_open(&stranger, 0, &sc), CMK_OK);
    assert_int_equal(cmk_cmk_seal(sc, &rq, (const uint8_t *)DEK, 32, &blob),
                     CMK_OK);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out), CMK_E_BAD_BLOB);
    blob.len = 3; /* not an envelope */
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out), CMK_E_BAD_BLOB);
    assert_null(out.p);
    assert_int_equal(
        cmk_cmk_reseal_for(NULL, &rq, CMK_PURPOSE_KEY, blob.p, blob.len, &out),
        CMK_E_ARGS);
    assert_int_equal(cmk_cmk_reseal_for(f->new_c, &rq, CMK_PURPOSE__COUNT,
                                        blob.p, blob.len, &out),
                     CMK_E_ARGS);
    cmk_buf_free(&blob);
    cmk_cmk_close(oc);
    cmk_cmk_close(sc);
}

/* The old key disabled (its file gone): nothing moves. */
static void test_old_key_disabled(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0}, out = {0};

    seal_old(f, CMK_PURPOSE_KEY, DEK, 32, &blob);
    assert_int_equal(unlink(f->key_a), 0);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out),
                     CMK_E_KEY_DISABLED);
    assert_null(out.p);
    cmk_buf_free(&blob);
}

static int group_setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_moves_to_current, setup, teardown),
        cmocka_unit_test_setup_teardown(test_current_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_purpose_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_key_disabled, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
