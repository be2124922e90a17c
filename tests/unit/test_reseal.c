/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: keys/reseal.c over the local provider with real key files: a blob
 * of the current version is left alone; one of a previous version moves
 * to the current one (new key id, same DEK, one ReEncrypt record);
 * blobs of another tenant (its own key, or the same key under another
 * label), tampered, malformed or made for another purpose are refused
 * with nothing written; a disabled sealing key is a refusal.
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

#include "audit/audit.h"
#include "keys/cmk.h"
#include "keys/reseal.h"
#include "mech/envelope.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"

#define DEK "data-encryption key of 32 bytes!"

struct fx {
    char dir[256];
    char key_a[PATH_MAX], key_b[PATH_MAX], key_c[PATH_MAX];
    char *prev[1];
    struct cmk_ctx_pair pair;
    struct cmk_kms_cfg cfg;
    struct cmk_cmk *c;
    char audit[PATH_MAX];
    struct cmk_audit *a;
};

static char s_acme[] = "acme", s_other[] = "other", s_local[] = "local",
            k_zone[] = "zone", v_eu[] = "eu";

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
    write_key(f->key_a, 0);
    write_key(f->key_b, 100);
    write_key(f->key_c, 200);
    f->pair.key = k_zone;
    f->pair.value = v_eu;
    f->cfg.label = s_acme;
    f->cfg.provider = s_local;
    f->cfg.key_ref = f->key_a;
    f->cfg.context = &f->pair;
    f->cfg.n_context = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cmk_cmk_close(f->c);
    cmk_audit_close(f->a);
    free(f);
    return 0;
}

/* (Re)opens f->c: label, current key, and previous (NULL: none). */
static void open_as(struct fx *f, char *label, char *key, char *previous)
{
    cmk_cmk_close(f->c);
    f->c = NULL;
    f->cfg.label = label;
    f->cfg.key_ref = key;
    f->prev[0] = previous;
    f->cfg.previous_key_refs = previous != NULL ? f->prev : NULL;
    f->cfg.n_previous = previous != NULL ? 1 : 0;
    assert_int_equal(cmk_cmk_open(&f->cfg, 0, &f->c), CMK_OK);
}

static void seal(struct fx *f, enum cmk_purpose p, struct cmk_buf *blob)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal_for(f->c, &rq, p, (const uint8_t *)DEK,
                                      sizeof(DEK) - 1, blob),
                     CMK_OK);
}

static cmk_err reseal(struct fx *f, enum cmk_purpose p,
                      const struct cmk_buf *in, struct cmk_buf *out,
                      bool *current)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    return cmk_reseal_for(f->c, &rq, p, in->p, in->len, out, current);
}

/* A refused blob: the error, and no output. */
static void refused(struct fx *f, enum cmk_purpose p, const struct cmk_buf *in,
                    cmk_err want)
{
    struct cmk_buf out = {0};
    bool current = true;

    assert_int_equal(reseal(f, p, in, &out, &current), want);
    assert_false(current);
    assert_null(out.p);
    assert_int_equal(out.len, 0);
}

static void test_current_left_alone(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0}, out = {0};
    struct cmk_reseal_info info;
    bool current = false;

    open_as(f, s_acme, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &blob);
    assert_int_equal(cmk_reseal_check(f->c, blob.p, blob.len, &info), CMK_OK);
    assert_true(info.current);
    assert_string_equal(info.key_ref, f->key_a);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out, &current), CMK_OK);
    assert_true(current);
    assert_null(out.p);
    assert_string_equal(cmk_reseal_current_ref(f->c), f->key_a);
    assert_memory_equal(cmk_reseal_current_id(f->c), "local:", 6);
    cmk_buf_free(&blob);
}

/* Records every provider call of f->c into f->audit. */
static void record_calls(struct fx *f)
{
    static const uint8_t key[CMK_AUDIT_KEY_LEN] = {1};
    struct cmk_audit_key k = {key, key, sizeof(key), s_acme, s_local, NULL};
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    snprintf(f->audit, sizeof(f->audit), "%s/audit.jsonl", f->dir);
    assert_int_equal(cmk_audit_open(f->audit, &o, &k, &f->a), CMK_OK);
    cmk_cmk_set_audit(f->c, f->a);
}

static int lines_with(const char *path, const char *a, const char *b)
{
    char line[4096];
    FILE *fp = fopen(path, "r");
    int n = 0;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL)
        n += strstr(line, a) != NULL && strstr(line, b) != NULL;
    fclose(fp);
    return n;
}

static void test_previous_moves(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0}, out = {0}, again = {0};
    struct cmk_envelope_view ev, ov;
    struct cmk_secret dek = {0};
    struct cmk_reseal_info info;
    struct cmk_req rq;
    bool current = true;

    open_as(f, s_acme, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &blob);
    open_as(f, s_acme, f->key_b, f->key_a); /* rotated */
    record_calls(f);
    assert_int_equal(cmk_reseal_check(f->c, blob.p, blob.len, &info), CMK_OK);
    assert_false(info.current);
    assert_string_equal(info.key_ref, f->key_a);
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &blob, &out, &current), CMK_OK);
    assert_false(current);
    assert_int_equal(cmk_envelope_parse(out.p, out.len, &ov), CMK_OK);
    assert_int_equal(cmk_envelope_parse(blob.p, blob.len, &ev), CMK_OK);
    assert_int_equal(ov.key_id_len, strlen(cmk_reseal_current_id(f->c)));
    assert_memory_equal(ov.key_id, cmk_reseal_current_id(f->c), ov.key_id_len);
    assert_memory_not_equal(ov.key_id, ev.key_id, ev.key_id_len);
    assert_int_equal(
        lines_with(f->audit, "\"op\":\"ReEncrypt\"", "\"result\":\"CKR_OK\""),
        1);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, out.p, out.len, &dek), CMK_OK);
    assert_int_equal(dek.len, sizeof(DEK) - 1);
    assert_memory_equal(dek.p, DEK, dek.len);
    cmk_secret_free(&dek);
    /* Now current: a second pass makes no provider call. */
    assert_int_equal(reseal(f, CMK_PURPOSE_KEY, &out, &again, &current),
                     CMK_OK);
    assert_true(current);
    assert_int_equal(lines_with(f->audit, "\"op\":\"ReEncrypt\"", "tenant"), 1);
    /* Without the previous version the new blob still opens, the old one
     * names no version any more. */
    open_as(f, s_acme, f->key_b, NULL);
    refused(f, CMK_PURPOSE_KEY, &blob, CMK_E_BAD_BLOB);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, out.p, out.len, &dek), CMK_OK);
    cmk_secret_free(&dek);
    cmk_buf_free(&blob);
    cmk_buf_free(&out);
}

/* Another tenant's blob: sealed by a key that is no version of acme's
 * (refused before any call), or by acme's own key file under the label
 * "other" (the context differs: the provider refuses it). */
static void test_other_tenant(void **state)
{
    struct fx *f = *state;
    struct cmk_buf own = {0}, same_key = {0};

    open_as(f, s_other, f->key_c, NULL);
    seal(f, CMK_PURPOSE_KEY, &own);
    open_as(f, s_other, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &same_key);
    open_as(f, s_acme, f->key_b, f->key_a);
    refused(f, CMK_PURPOSE_KEY, &own, CMK_E_BAD_BLOB);
    refused(f, CMK_PURPOSE_KEY, &same_key, CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&own);
    cmk_buf_free(&same_key);
}

static void test_tampered_malformed_purpose(void **state)
{
    struct fx *f = *state;
    struct cmk_buf key = {0}, data = {0}, out = {0};
    struct cmk_reseal_info info;
    bool current = false;

    open_as(f, s_acme, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &key);
    seal(f, CMK_PURPOSE_DATA, &data);
    open_as(f, s_acme, f->key_b, f->key_a);
    /* made by C_Encrypt, not C_WrapKey: the purpose is bound */
    refused(f, CMK_PURPOSE_KEY, &data, CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(reseal(f, CMK_PURPOSE_DATA, &data, &out, &current),
                     CMK_OK);
    cmk_buf_free(&out);
    key.p[key.len - 3] ^= 1;
    refused(f, CMK_PURPOSE_KEY, &key, CMK_E_BAD_CIPHERTEXT);
    key.len -= 1;
    refused(f, CMK_PURPOSE_KEY, &key, CMK_E_BAD_BLOB);
    assert_int_equal(cmk_reseal_check(f->c, key.p, key.len, &info),
                     CMK_E_BAD_BLOB);
    assert_null(info.key_ref);
    key.p[0] = 'X';
    key.len += 1;
    refused(f, CMK_PURPOSE_KEY, &key, CMK_E_BAD_BLOB);
    cmk_buf_free(&key);
    cmk_buf_free(&data);
}

/* The sealing key file gone (the local provider's "disabled"). */
static void test_disabled_source(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};

    open_as(f, s_acme, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &blob);
    open_as(f, s_acme, f->key_b, f->key_a);
    assert_int_equal(unlink(f->key_a), 0);
    refused(f, CMK_PURPOSE_KEY, &blob, CMK_E_KEY_DISABLED);
    cmk_buf_free(&blob);
}

static void test_args(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0}, out = {0};
    struct cmk_req rq;
    bool current;

    open_as(f, s_acme, f->key_a, NULL);
    seal(f, CMK_PURPOSE_KEY, &blob);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_reseal_for(NULL, &rq, CMK_PURPOSE_KEY, blob.p,
                                    blob.len, &out, &current),
                     CMK_E_ARGS);
    assert_int_equal(cmk_reseal_for(f->c, &rq, CMK_PURPOSE_KEY, blob.p,
                                    blob.len, NULL, &current),
                     CMK_E_ARGS);
    assert_int_equal(cmk_reseal_check(f->c, blob.p, blob.len, NULL),
                     CMK_E_ARGS);
    assert_null(cmk_reseal_current_ref(NULL));
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
        cmocka_unit_test_setup_teardown(test_current_left_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_previous_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_malformed_purpose, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disabled_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
