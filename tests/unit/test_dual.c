/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: dual control in keys/cmk.c over the local provider with real
 * key files and a fake clock: the KEK is derived from both halves (a
 * known answer of mech/dual_kek.h), each half unseals only through its
 * own key, for its tenant and its purpose; revoking either key stops the
 * KEK path and the direct path at the TTL and not before; the kms_call
 * records say which key each half used; a tenant without dual control
 * is unchanged.
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
#include "mech/dual_kek.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"
#include "tests/unit/mech_vec.h"

#define S_US INT64_C(1000000)

struct fx {
    char dir[256];
    char cust_key[PATH_MAX], prov_key[PATH_MAX], audit[PATH_MAX];
    struct cmk_ctx_pair pair;
    struct cmk_kms_cfg cfg, dual;
    struct cmk_cmk *c;
    struct cmk_audit *a;
    struct cmk_buf cust_blob, prov_blob;
    int64_t now;
    int refusals;
};

static char s_acme[] = "acme", s_other[] = "other", s_local[] = "local",
            k_app[] = "app", v_db[] = "db";

/* The halves of the known answer: 00..1f and 80..9f. */
static uint8_t cust_half[32], prov_half[32];
/* HKDF-Expand(SHA-256, cust_half || prov_half, "cmk-pkcs11 dual-control
 * kek v1" 0x00 "acme", 32), computed with Python cryptography's
 * HKDFExpand; "beta" the same for that label; "swapped" the halves the
 * other way round. */
static const char kat_acme[] =
    "274ca83d3c3d4deba3f6ecb43cfd94e2581e60c53474a5109a5776fdaeccc203";
static const char kat_beta[] =
    "5753b2c0e400cd0ed9852e1146c9ce9efb7ea2fc315c3f252ad07fc226c77dcc";
static const char kat_swapped[] =
    "fbe8c4b8c473dd0a1c73b34f00966b4e6209eaa1b5e65bc678c80088c1afaf9d";

static void write_key(const char *path, uint8_t first)
{
    uint8_t key[32];
    size_t i;
    int fd;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(first + i * 3);
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
    close(fd);
}

static int64_t fake_now(void *arg)
{
    return ((struct fx *)arg)->now;
}

static void refused(void *arg)
{
    ((struct fx *)arg)->refusals++;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    assert_int_equal(test_scratch_make("cmk-dual", f->dir, sizeof(f->dir)), 0);
    snprintf(f->cust_key, sizeof(f->cust_key), "%s/customer.key", f->dir);
    snprintf(f->prov_key, sizeof(f->prov_key), "%s/provider.key", f->dir);
    write_key(f->cust_key, 1);
    write_key(f->prov_key, 7);
    f->pair.key = k_app;
    f->pair.value = v_db;
    f->cfg.label = s_acme;
    f->cfg.provider = s_local;
    f->cfg.key_ref = f->cust_key;
    f->cfg.context = &f->pair;
    f->cfg.n_context = 1;
    f->dual = f->cfg; /* label and context are the tenant's */
    f->dual.key_ref = f->prov_key;
    f->cfg.dual = &f->dual;
    f->now = 5 * S_US;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    cmk_cmk_close(f->c);
    cmk_audit_close(f->a);
    cmk_buf_free(&f->cust_blob);
    cmk_buf_free(&f->prov_blob);
    assert_int_equal(test_scratch_remove(f->dir), 0);
    free(f);
    return 0;
}

/* Every KMS call of f->c goes into f->audit (a chain key of the test's
 * own: only the records' fields are looked at). */
static void record_calls(struct fx *f)
{
    static const uint8_t key[CMK_AUDIT_KEY_LEN] = {1};
    struct cmk_audit_key k = {key, key, sizeof(key), s_acme, s_local, NULL};
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    if (f->a == NULL) {
        snprintf(f->audit, sizeof(f->audit), "%s/audit.jsonl", f->dir);
        assert_int_equal(cmk_audit_open(f->audit, &o, &k, &f->a), CMK_OK);
    }
    cmk_cmk_set_audit(f->c, f->a);
}

static void reopen(struct fx *f, unsigned ttl)
{
    cmk_cmk_close(f->c);
    f->c = NULL;
    assert_int_equal(cmk_cmk_open(&f->cfg, ttl, &f->c), CMK_OK);
    cmk_cmk_set_clock(f->c, fake_now, f);
    cmk_cmk_on_refusal(f->c, refused, f);
    if (f->a != NULL)
        record_calls(f);
}

static void seal_half(struct fx *f, enum cmk_purpose p, const uint8_t *v,
                      struct cmk_buf *blob)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    cmk_buf_free(blob);
    assert_int_equal(cmk_cmk_seal_for(f->c, &rq, p, v, 32, blob), CMK_OK);
}

/* As cmk-tool provision does: both halves sealed, each by its own key,
 * and the commitment of the KEK derived from them. */
static void provision(struct fx *f, const uint8_t *cust, const uint8_t *prov,
                      unsigned ttl)
{
    struct cmk_secret kek = {0};

    reopen(f, ttl);
    seal_half(f, CMK_PURPOSE_KEK, cust, &f->cust_blob);
    seal_half(f, CMK_PURPOSE_PROVIDER_KEK, prov, &f->prov_blob);
    f->cfg.kek_blob = f->cust_blob.p;
    f->cfg.kek_blob_len = f->cust_blob.len;
    f->dual.kek_blob = f->prov_blob.p;
    f->dual.kek_blob_len = f->prov_blob.len;
    assert_int_equal(cmk_dual_kek_derive(s_acme, cust, 32, prov, 32, &kek),
                     CMK_OK);
    assert_int_equal(
        cmk_cmk_kek_commitment(s_acme, kek.p, kek.len, f->cfg.kek_commitment),
        CMK_OK);
    f->cfg.has_kek_commitment = true;
    cmk_secret_free(&kek);
    reopen(f, ttl);
}

struct seen {
    uint8_t kek[32];
    int calls;
};

static cmk_err take(void *arg, const uint8_t *kek, size_t len)
{
    struct seen *s = arg;

    assert_int_equal(len, 32);
    memcpy(s->kek, kek, 32);
    s->calls++;
    return CMK_OK;
}

static int count_lines(const struct fx *f, const char *a, const char *b)
{
    char line[4096];
    FILE *fp = fopen(f->audit, "r");
    int n = 0;

    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(fp);
    return n;
}

static void expect_hex(const uint8_t *got, const char *hex)
{
    size_t n = 0;
    uint8_t *want = vec_hex_n(hex, strlen(hex), &n);

    assert_non_null(want);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want, 32);
    free(want);
}

/* ---- The derivation (mech/dual_kek.h) ---- */

static void test_derive_known_answer(void **state)
{
    struct cmk_secret k = {0};

    (void)state;
    assert_int_equal(
        cmk_dual_kek_derive("acme", cust_half, 32, prov_half, 32, &k), CMK_OK);
    assert_int_equal(k.len, 32);
    expect_hex(k.p, kat_acme);
    cmk_secret_free(&k);
    assert_int_equal(
        cmk_dual_kek_derive("beta", cust_half, 32, prov_half, 32, &k), CMK_OK);
    expect_hex(k.p, kat_beta); /* the label is bound */
    cmk_secret_free(&k);
    assert_int_equal(
        cmk_dual_kek_derive("acme", prov_half, 32, cust_half, 32, &k), CMK_OK);
    expect_hex(k.p, kat_swapped); /* the order is bound */
    cmk_secret_free(&k);
}

static void test_derive_args(void **state)
{
    char label[CMK_DUAL_KEK_LABEL_MAX + 2];
    struct cmk_secret k = {(uint8_t *)1, 3};

    (void)state;
    assert_int_equal(cmk_dual_kek_derive("a", cust_half, 31, prov_half, 32, &k),
                     CMK_E_ARGS);
    assert_null(k.p);
    assert_int_equal(k.len, 0);
    assert_int_equal(cmk_dual_kek_derive("a", cust_half, 32, prov_half, 33, &k),
                     CMK_E_ARGS);
    assert_int_equal(cmk_dual_kek_derive("", cust_half, 32, prov_half, 32, &k),
                     CMK_E_ARGS);
    assert_int_equal(
        cmk_dual_kek_derive(NULL, cust_half, 32, prov_half, 32, &k),
        CMK_E_ARGS);
    assert_int_equal(cmk_dual_kek_derive("a", NULL, 32, prov_half, 32, &k),
                     CMK_E_ARGS);
    assert_int_equal(
        cmk_dual_kek_derive("a", cust_half, 32, prov_half, 32, NULL),
        CMK_E_ARGS);
    memset(label, 'x', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    assert_int_equal(
        cmk_dual_kek_derive(label, cust_half, 32, prov_half, 32, &k),
        CMK_E_ARGS);
    label[CMK_DUAL_KEK_LABEL_MAX] = '\0'; /* the longest label is fine */
    assert_int_equal(
        cmk_dual_kek_derive(label, cust_half, 32, prov_half, 32, &k), CMK_OK);
    cmk_secret_free(&k);
}

/* ---- The tenant KEK ---- */

static void test_kek_is_derived(void **state)
{
    struct fx *f = *state;
    struct seen s = {{0}, 0};

    provision(f, cust_half, prov_half, 60);
    record_calls(f);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    expect_hex(s.kek, kat_acme);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK); /* a hit */
    assert_int_equal(s.calls, 2);
    /* one Decrypt per half, each naming its key */
    assert_int_equal(count_lines(f, "\"op\":\"Decrypt\"", NULL), 2);
    assert_int_equal(count_lines(f, "\"op\":\"Decrypt\"",
                                 "\"provider\":\"local\","
                                 "\"request_id\""),
                     2);
    assert_int_equal(
        count_lines(f, "\"op\":\"Decrypt\"", "\"detail\":\"customer key\""), 1);
    assert_int_equal(
        count_lines(f, "\"op\":\"Decrypt\"", "\"detail\":\"provider key\""), 1);
    assert_int_equal(count_lines(f, "\"result\":\"CKR_OK\"", NULL), 2);
}

/* Revoking one key: the cached KEK serves until its expiry, to the
 * microsecond, then nothing works until that key is back. */
static void revoke_one(struct fx *f, const char *path, const char *detail)
{
    struct seen s = {{0}, 0};
    char gone[PATH_MAX + 8];

    provision(f, cust_half, prov_half, 60);
    record_calls(f);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    snprintf(gone, sizeof(gone), "%s.off", path);
    assert_int_equal(rename(path, gone), 0);
    f->now += 60 * S_US - 1;
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    assert_int_equal(f->refusals, 0);
    f->now += 1;
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_KEY_DISABLED);
    assert_int_equal(s.calls, 2);
    assert_int_equal(f->refusals, 2); /* the token purges its DEKs too */
    assert_int_equal(count_lines(f, "\"op\":\"Decrypt\"", detail), 2);
    assert_int_equal(rename(gone, path), 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    expect_hex(s.kek, kat_acme);
}

static void test_revoke_customer_key(void **state)
{
    struct fx *f = *state;

    revoke_one(f, f->cust_key, "\"detail\":\"customer key: key_disabled\"");
    /* the provider half is never asked while the customer half fails */
    assert_int_equal(
        count_lines(f, "\"op\":\"Decrypt\"", "\"detail\":\"provider key\""), 2);
}

static void test_revoke_provider_key(void **state)
{
    struct fx *f = *state;

    revoke_one(f, f->prov_key, "\"detail\":\"provider key: key_disabled\"");
    assert_int_equal(
        count_lines(f, "\"op\":\"Decrypt\"", "\"detail\":\"customer key\""), 4);
}

/* The direct path needs the KEK too: either key's revocation stops it at
 * the TTL; a refusal purges the KEK at once. */
static void test_direct_path_gated(void **state)
{
    struct fx *f = *state;
    struct cmk_secret out = {0};
    struct cmk_buf blob = {0}, blob2 = {0};
    struct cmk_req rq;
    char gone[PATH_MAX + 8];

    provision(f, cust_half, prov_half, 60);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal(f->c, &rq, (const uint8_t *)"sixteen byte dek", 16, &blob),
        CMK_OK);
    snprintf(gone, sizeof(gone), "%s.off", f->prov_key);
    assert_int_equal(rename(f->prov_key, gone), 0);
    f->now += 60 * S_US - 1;
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, blob.p, blob.len, &out), CMK_OK);
    assert_memory_equal(out.p, "sixteen byte dek", 16);
    cmk_secret_free(&out);
    f->now += 1;
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, blob.p, blob.len, &out),
                     CMK_E_KEY_DISABLED);
    assert_null(out.p);
    assert_int_equal(cmk_cmk_seal(f->c, &rq,
                                  (const uint8_t *)"sixteen byte dek", 16,
                                  &blob2),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(cmk_cmk_seal_for(f->c, &rq, CMK_PURPOSE_DATA,
                                      (const uint8_t *)"x", 1, &blob2),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(rename(gone, f->prov_key), 0);
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, blob.p, blob.len, &out), CMK_OK);
    cmk_secret_free(&out);
    /* the CMK refused on the direct path: the cached KEK goes at once */
    assert_int_equal(rename(f->cust_key, gone), 0);
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, blob.p, blob.len, &out),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(rename(gone, f->cust_key), 0);
    assert_int_equal(rename(f->prov_key, gone), 0);
    assert_int_equal(cmk_cmk_unseal(f->c, &rq, blob.p, blob.len, &out),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(rename(gone, f->prov_key), 0);
    cmk_buf_free(&blob);
    cmk_buf_free(&blob2);
}

/* Each half opens only through its own key, for its purpose and tenant;
 * a derived KEK that is not the committed one is refused. */
static void test_halves_bound(void **state)
{
    struct fx *f = *state;
    struct cmk_buf keep = {0};
    struct seen s = {{0}, 0};
    uint8_t other[32];

    provision(f, cust_half, prov_half, 60);
    /* swapped blobs name the other key: refused before any KMS call */
    f->cfg.kek_blob = f->prov_blob.p;
    f->cfg.kek_blob_len = f->prov_blob.len;
    f->dual.kek_blob = f->cust_blob.p;
    f->dual.kek_blob_len = f->cust_blob.len;
    reopen(f, 60);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_BAD_BLOB);
    /* the provider key's blob of another purpose ("kek") */
    f->cfg.kek_blob = f->cust_blob.p;
    f->cfg.kek_blob_len = f->cust_blob.len;
    f->cfg.key_ref = f->prov_key;
    reopen(f, 60);
    seal_half(f, CMK_PURPOSE_KEK, prov_half, &keep);
    f->cfg.key_ref = f->cust_key;
    f->dual.kek_blob = keep.p;
    f->dual.kek_blob_len = keep.len;
    reopen(f, 60);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_BAD_CIPHERTEXT);
    /* the provider half of another tenant, same keys */
    f->cfg.label = f->dual.label = s_other;
    reopen(f, 60);
    seal_half(f, CMK_PURPOSE_PROVIDER_KEK, prov_half, &keep);
    f->cfg.label = f->dual.label = s_acme;
    f->dual.kek_blob = keep.p;
    f->dual.kek_blob_len = keep.len;
    reopen(f, 60);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_BAD_CIPHERTEXT);
    /* another provider half of the right shape: not the committed KEK */
    memcpy(other, prov_half, 32);
    other[31] ^= 1;
    seal_half(f, CMK_PURPOSE_PROVIDER_KEK, other, &keep);
    f->dual.kek_blob = keep.p;
    f->dual.kek_blob_len = keep.len;
    reopen(f, 60);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_KEK_COMMITMENT);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_KEK_COMMITMENT);
    assert_int_equal(s.calls, 0);
    cmk_buf_free(&keep);
}

/* Every purpose apart from every other, the provider half's included:
 * here the provider key holds the CMK's bytes (another file, the same
 * key id), so only the purpose in the context tells them apart. */
static void test_purposes_apart(void **state)
{
    struct fx *f = *state;
    struct cmk_secret out = {0};
    struct cmk_buf blob = {0};
    struct cmk_req rq;
    int from, to;

    write_key(f->prov_key, 1); /* the customer key's bytes */
    provision(f, cust_half, prov_half, 60);
    for (from = 0; from < CMK_PURPOSE__COUNT; from++) {
        memset(&rq, 0, sizeof(rq));
        assert_int_equal(cmk_cmk_seal_for(f->c, &rq, (enum cmk_purpose)from,
                                          prov_half, 32, &blob),
                         CMK_OK);
        for (to = 0; to < CMK_PURPOSE__COUNT; to++) {
            assert_int_equal(cmk_cmk_unseal_for(f->c, &rq, (enum cmk_purpose)to,
                                                blob.p, blob.len, &out),
                             from == to ? CMK_OK : CMK_E_BAD_CIPHERTEXT);
            cmk_secret_free(&out);
        }
        cmk_buf_free(&blob);
    }
}

static void test_ttl_zero(void **state)
{
    struct fx *f = *state;
    struct seen s = {{0}, 0};

    provision(f, cust_half, prov_half, 0);
    record_calls(f);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_OK);
    assert_int_equal(count_lines(f, "\"op\":\"Decrypt\"", NULL), 4);
    /* nothing kept: the provider key's revocation shows at once */
    assert_int_equal(unlink(f->prov_key), 0);
    assert_int_equal(cmk_cmk_with_kek(f->c, take, &s), CMK_E_KEY_DISABLED);
    assert_int_equal(s.calls, 2);
}

/* Without dual control nothing changes: no provider half, no detail. */
static void test_without_dual(void **state)
{
    struct fx *f = *state;
    struct cmk_buf blob = {0};
    struct cmk_secret out = {0};
    struct cmk_req rq;

    f->cfg.dual = NULL;
    reopen(f, 60);
    record_calls(f);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal_for(f->c, &rq, CMK_PURPOSE_PROVIDER_KEK,
                                      prov_half, 32, &blob),
                     CMK_E_ARGS);
    assert_int_equal(
        cmk_cmk_seal_for(f->c, &rq, CMK_PURPOSE_KEK, cust_half, 32, &blob),
        CMK_OK);
    assert_int_equal(cmk_cmk_unseal_for(f->c, &rq, CMK_PURPOSE_PROVIDER_KEK,
                                        blob.p, blob.len, &out),
                     CMK_E_BAD_BLOB);
    assert_int_equal(
        cmk_cmk_unseal_for(f->c, &rq, CMK_PURPOSE_KEK, blob.p, blob.len, &out),
        CMK_OK);
    cmk_secret_free(&out);
    assert_int_equal(count_lines(f, "\"event\":\"kms_call\"", NULL), 2);
    assert_int_equal(count_lines(f, "\"detail\"", NULL), 0);
    cmk_buf_free(&blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derive_known_answer),
        cmocka_unit_test(test_derive_args),
        cmocka_unit_test_setup_teardown(test_kek_is_derived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_customer_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_revoke_provider_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_direct_path_gated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_halves_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purposes_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_dual, setup, teardown),
    };
    size_t i;

    for (i = 0; i < 32; i++) {
        cust_half[i] = (uint8_t)i;
        prov_half[i] = (uint8_t)(0x80 + i);
    }
    if (cmk_mech_init() != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
