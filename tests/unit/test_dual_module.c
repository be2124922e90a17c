/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: dual control through the module on the local provider, as an
 * attack: revoking either key (its file removed, as test_revocation.c
 * does for the CMK) stops the KEK path, token objects and the direct
 * path of that tenant at the cache TTL on the module clock, not one
 * microsecond later and not before; another tenant is not touched; the
 * audit file names the half that failed. A dual-control tenant keeps its
 * token objects across C_Finalize / C_Initialize. After a data-key
 * rotation its previous KEK is derived from the old pair of halves and
 * stops at the TTL too when the provider key is revoked.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "pkcs11/entry.h"
#include "tests/lib/dual.h"
#include "tests/lib/p11.h"
#include "tests/lib/scratch.h"
#include "tests/lib/tenant.h"
#include "util/clock.h"

#define TTL_US (INT64_C(60) * 1000000)

static int64_t fake_now = 7000000;
static CK_FUNCTION_LIST_PTR p;

struct env {
    char dir[256], config[300], audit[300];
    char cmk_key[300], prov_key[300], beta_key[300];
};

static int64_t fake_clock(void)
{
    return fake_now;
}

/* m: alpha's halves, or NULL before provisioning; prev: alpha's
 * "previous_keks" members (a comma first), or "". */
static void write_config_prev(const struct env *e,
                              const struct test_dual_members *m,
                              const char *prev)
{
    char verifier[crypto_pwhash_STRBYTES], kek[1800] = "", dual_kek[900] = "";
    FILE *f;

    assert_int_equal(crypto_pwhash_str(verifier, TEST_PIN, strlen(TEST_PIN),
                                       crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    if (m != NULL) {
        snprintf(kek, sizeof(kek),
                 "\"kek\": \"%s\", \"kek_commitment\": \"%s\",", m->kek,
                 m->commitment);
        snprintf(dual_kek, sizeof(dual_kek), ", \"kek\": \"%s\"", m->dual_kek);
    }
    f = fopen(e->config, "w");
    assert_non_null(f);
    fprintf(
        f,
        "{\"store_dir\": \"%s/store\", \"cache\": {\"ttl_seconds\": 60},\n"
        " \"audit\": {\"file\": \"%s\", \"fsync\": \"interval\"},\n"
        " \"tenants\": [\n"
        " {\"label\": \"alpha\", \"provider\": \"local\", \"key\": \"%s\",\n"
        "  \"test_mode\": true, \"pin_verifier\": \"%s\", %s\n"
        "  \"dual_control\": {\"provider\": \"local\", \"key\": \"%s\"%s}%s},\n"
        " {\"label\": \"beta\", \"provider\": \"local\", \"key\": \"%s\",\n"
        "  \"test_mode\": true, \"login_required\": false}\n"
        "]}\n",
        e->dir, e->audit, e->cmk_key, verifier, kek, e->prov_key, dual_kek,
        prev, e->beta_key);
    assert_int_equal(fclose(f), 0);
}

static void write_config(const struct env *e, const struct test_dual_members *m)
{
    write_config_prev(e, m, "");
}

static void make_key(const char *path)
{
    FILE *f = fopen(path, "wx");
    uint8_t k[32];

    assert_non_null(f);
    randombytes_buf(k, sizeof(k));
    assert_int_equal(fwrite(k, 1, sizeof(k), f), sizeof(k));
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0600), 0);
}

/* Keys, config, halves sealed as cmk-tool provision seals them. */
static void make_env(struct env *e)
{
    struct test_dual_members m;
    struct cmk_config *cfg = NULL;
    char msg[512];

    assert_int_equal(test_scratch_make("cmk-dual", e->dir, sizeof(e->dir)), 0);
    snprintf(e->config, sizeof(e->config), "%s/config.json", e->dir);
    snprintf(e->audit, sizeof(e->audit), "%s/audit.jsonl", e->dir);
    snprintf(e->cmk_key, sizeof(e->cmk_key), "%s/alpha.key", e->dir);
    snprintf(e->prov_key, sizeof(e->prov_key), "%s/platform.key", e->dir);
    snprintf(e->beta_key, sizeof(e->beta_key), "%s/beta.key", e->dir);
    make_key(e->cmk_key);
    make_key(e->prov_key);
    make_key(e->beta_key);
    write_config(e, NULL);
    if (cmk_config_load(e->config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    assert_int_equal(test_dual_seal(&cfg->tenants[0], NULL, NULL, &m, NULL), 0);
    cmk_config_free(cfg);
    write_config(e, &m);
    setenv(CMK_CONFIG_ENV, e->config, 1);
}

static void key_file(const char *path, bool present)
{
    char off[320];

    snprintf(off, sizeof(off), "%s.off", path);
    assert_int_equal(present ? rename(off, path) : rename(path, off), 0);
}

static int count_lines(const struct env *e, const char *a, const char *b)
{
    char line[4096];
    FILE *f = fopen(e->audit, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(f);
    return n;
}

static CK_RV wrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                  CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE k, uint8_t *out,
                  CK_ULONG *len)
{
    CK_MECHANISM m = {mt, NULL, 0};

    *len = 512;
    return p->C_WrapKey(h, &m, wk, k, out, len);
}

static CK_RV unwrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                    CK_OBJECT_HANDLE uk, uint8_t *blob, CK_ULONG len)
{
    CK_MECHANISM m = {mt, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    CK_OBJECT_HANDLE k;

    return p->C_UnwrapKey(h, &m, uk, blob, len, tmpl, 2, &k);
}

/* KEK-path C_Encrypt on the CMK (its data key is derived from the KEK). */
static CK_RV gcm(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    uint8_t iv[12] = {3}, out[64];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG n = sizeof(out);
    CK_RV rv = p->C_EncryptInit(h, &m, k);

    if (rv == CKR_OK)
        rv = p->C_Encrypt(h, out, 16, out, &n);
    return rv;
}

static CK_RV token_key(CK_SESSION_HANDLE h, const char *label)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                        {CKA_TOKEN, &yes, 1},
                        {CKA_ENCRYPT, &yes, 1},
                        {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)}};
    CK_OBJECT_HANDLE k;

    return p->C_GenerateKey(h, &m, t, 4, &k);
}

/* Token objects labelled label the token shows. */
static CK_ULONG find_label(CK_SESSION_HANDLE h, const char *label)
{
    CK_ATTRIBUTE t = {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, o, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

struct paths {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t env[512], kwp[512];
    CK_ULONG env_len, kwp_len;
};

/* Module up, alpha logged in, blobs of both paths made, all caches warm
 * at the current instant. */
static void start(struct paths *x)
{
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    x->h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    x->cmk = tp11_find_cmk(p, x->h);
    x->dek = tp11_gen_aes(p, x->h, CK_FALSE, CK_TRUE);
    assert_int_equal(
        wrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->dek, x->env, &x->env_len),
        CKR_OK);
    assert_int_equal(
        wrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->dek, x->kwp, &x->kwp_len),
        CKR_OK);
    assert_int_equal(unwrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->env, x->env_len),
                     CKR_OK); /* the DEK cache keeps it */
    assert_int_equal(token_key(x->h, "before"), CKR_OK);
}

/* What the KEK cache serves still works: the KEK path and token objects. */
static void kek_served(struct paths *x, const char *label)
{
    uint8_t tmp[512];
    CK_ULONG n;

    assert_int_equal(
        unwrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->kwp, x->kwp_len), CKR_OK);
    assert_int_equal(wrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->dek, tmp, &n),
                     CKR_OK);
    assert_int_equal(gcm(x->h, x->cmk), CKR_OK);
    assert_int_equal(token_key(x->h, label), CKR_OK);
    assert_int_equal(find_label(x->h, label), 1);
}

/* Nothing of the tenant works. C_WrapKey/C_UnwrapKey may not say
 * CKR_KEY_FUNCTION_NOT_PERMITTED (PKCS#11 3.0 section 5.14), nor may
 * C_GenerateKey (5.18): a token key that cannot be stored fails with
 * CKR_FUNCTION_FAILED. */
static void all_refused(struct paths *x)
{
    uint8_t tmp[512];
    CK_ULONG n;

    assert_int_equal(unwrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->env, x->env_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(
        unwrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->kwp, x->kwp_len),
        CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(gcm(x->h, x->cmk), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(token_key(x->h, "after"), CKR_FUNCTION_FAILED);
    assert_int_equal(find_label(x->h, "after"), 0);
}

/* The other tenant (no dual control, its own key) is not touched. */
static void beta_works(void)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t blob[512];
    CK_ULONG n;

    assert_int_equal(p->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_OK);
    cmk = tp11_find_cmk(p, h);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, blob, &n), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, n), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void revoke(const char *which)
{
    struct env e;
    struct paths x;
    const char *path;
    char detail[64];

    make_env(&e);
    path = strcmp(which, "customer") == 0 ? e.cmk_key : e.prov_key;
    start(&x);
    key_file(path, false); /* that party revokes its key */
    /* Before the DEK cache's refresh window (the last tenth of the TTL,
     * where one caller renews an entry early and a refusal then purges
     * at once): a direct-path DEK from the cache, and the KEK. */
    fake_now += TTL_US - 7 * INT64_C(1000000);
    assert_int_equal(unwrap(x.h, CKM_CMK_ENVELOPE, x.cmk, x.env, x.env_len),
                     CKR_OK);
    kek_served(&x, "during");
    beta_works();
    /* The KEK, which is not renewed early, to the last microsecond. */
    fake_now += 7 * INT64_C(1000000) - 1;
    kek_served(&x, "last");
    fake_now += 1; /* exactly the TTL */
    all_refused(&x);
    beta_works();
    snprintf(detail, sizeof(detail), "\"detail\":\"%s key: key_disabled\"",
             which);
    assert_true(count_lines(&e, "\"event\":\"kms_call\"", detail) >= 1);
    assert_int_equal(count_lines(&e, "\"event\":\"kms_call\"",
                                 strcmp(which, "customer") == 0
                                     ? "\"detail\":\"provider key: "
                                     : "\"detail\":\"customer key: "),
                     0);
    key_file(path, true); /* back: everything works again */
    assert_int_equal(unwrap(x.h, CKM_CMK_ENVELOPE, x.cmk, x.env, x.env_len),
                     CKR_OK);
    assert_int_equal(unwrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.kwp, x.kwp_len),
                     CKR_OK);
    assert_int_equal(token_key(x.h, "again"), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(test_scratch_remove(e.dir), 0);
}

static void test_revoke_customer_key(void **state)
{
    (void)state;
    revoke("customer");
}

static void test_revoke_provider_key(void **state)
{
    (void)state;
    revoke("provider");
}

/* Token objects written under the derived KEK are there again after
 * C_Finalize / C_Initialize, which unseals both halves anew. */
static void test_across_initialize(void **state)
{
    struct env e;
    struct paths x;
    CK_SESSION_HANDLE h;
    int before;

    (void)state;
    make_env(&e);
    start(&x);
    assert_int_equal(token_key(x.h, "kept"), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    before =
        count_lines(&e, "\"op\":\"Decrypt\"", "\"detail\":\"provider key\"");
    assert_int_equal(before, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION);
    assert_int_equal(find_label(h, "kept"), 1);
    assert_int_equal(find_label(h, "before"), 1);
    assert_int_equal(
        count_lines(&e, "\"op\":\"Decrypt\"", "\"detail\":\"provider key\""),
        2);
    assert_int_equal(
        count_lines(&e, "\"op\":\"Decrypt\"", "\"detail\":\"customer key\""),
        2);
    /* the halves' records carry the local provider's request ids */
    assert_int_equal(count_lines(&e, "\"detail\":\"provider key\"",
                                 "\"request_id\":\"local-"),
                     2);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(test_scratch_remove(e.dir), 0);
}

/* A data-key rotation of alpha as cmk-tool rotate-kek leaves it: a new
 * pair of halves current, the old pair (*old) in previous_keks. */
static void rotate(const struct env *e, const struct test_dual_members *old)
{
    struct test_dual_members m;
    struct cmk_config *cfg = NULL;
    char msg[512], prev[2000];

    if (cmk_config_load(e->config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    assert_int_equal(test_dual_seal(&cfg->tenants[0], NULL, NULL, &m, NULL), 0);
    cmk_config_free(cfg);
    snprintf(prev, sizeof(prev),
             ", \"previous_keks\": [{\"kek\": \"%s\", \"provider_kek\": "
             "\"%s\", \"kek_commitment\": \"%s\", \"expires\": "
             "\"2999-01-01T00:00:00Z\"}]",
             old->kek, old->dual_kek, old->commitment);
    write_config_prev(e, &m, prev);
}

/* The halves of alpha's current KEK, read back from its config. */
static void current_members(const struct env *e, struct test_dual_members *m)
{
    struct cmk_config *cfg = NULL;
    const struct cmk_kms_cfg *k;
    char msg[512];

    if (cmk_config_load(e->config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    k = &cfg->tenants[0].kms;
    sodium_bin2base64(m->kek, sizeof(m->kek), k->kek_blob, k->kek_blob_len,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(m->dual_kek, sizeof(m->dual_kek), k->dual->kek_blob,
                      k->dual->kek_blob_len, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(m->commitment, sizeof(m->commitment), k->kek_commitment,
                      CMK_KEK_COMMITMENT_LEN, sodium_base64_VARIANT_ORIGINAL);
    cmk_config_free(cfg);
}

/* A previous KEK of a dual-control tenant is derived from its own pair:
 * a blob wrapped before the rotation unwraps, until the provider key is
 * revoked and the TTL of the cached previous KEK has passed, exactly as
 * for the current KEK. */
static void test_previous_kek_pair(void **state)
{
    struct test_dual_members old;
    struct env e;
    struct paths x;
    uint8_t tmp[512];
    CK_ULONG n;

    (void)state;
    make_env(&e);
    current_members(&e, &old);
    start(&x); /* x.kwp: under the KEK about to be replaced */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    rotate(&e, &old);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    x.h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    x.cmk = tp11_find_cmk(p, x.h);
    x.dek = tp11_gen_aes(p, x.h, CK_FALSE, CK_TRUE);
    /* not re-sealed: read through the previous KEK */
    assert_int_equal(find_label(x.h, "before"), 1);
    assert_int_equal(unwrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.kwp, x.kwp_len),
                     CKR_OK);
    assert_int_equal(wrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.dek, tmp, &n),
                     CKR_OK);
    /* The old pair was opened once: two more half records. */
    assert_int_equal(
        count_lines(&e, "\"op\":\"Decrypt\"", "\"detail\":\"provider key\""),
        3);
    key_file(e.prov_key, false); /* the platform revokes its key */
    fake_now += TTL_US - 1;
    assert_int_equal(unwrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.kwp, x.kwp_len),
                     CKR_OK);
    assert_int_equal(wrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.dek, tmp, &n),
                     CKR_OK);
    fake_now += 1; /* both KEKs at their TTL */
    assert_int_equal(unwrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.kwp, x.kwp_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    key_file(e.prov_key, true);
    assert_int_equal(unwrap(x.h, CKM_AES_KEY_WRAP_KWP, x.cmk, x.kwp, x.kwp_len),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(test_scratch_remove(e.dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_customer_key),
        cmocka_unit_test(test_revoke_provider_key),
        cmocka_unit_test(test_across_initialize),
        cmocka_unit_test(test_previous_kek_pair),
    };

    cmk_clock_set_source(fake_clock);
    if (sodium_init() < 0 || cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
