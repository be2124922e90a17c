/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: dual control through the module against the KMS emulator (run
 * by tests/unit/emu_dual.sh): tenant "acme" has its CMK and its provider
 * key as two AWS KMS keys. DisableKey on either stops the KEK path,
 * token objects and the direct path at the cache TTL on the module
 * clock, and not before; EnableKey brings the tenant back. The halves
 * are sealed as cmk-tool provision seals them; each Decrypt of a half is
 * one KMS call the emulator logs against that half's key, and one
 * kms_call record naming the half.
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
#include "emu_client.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/dual.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "util/clock.h"

#define AKID "AKIDDUALCONTROL"
#define SECRET "dual-control-secret/0123456789+AB"
#define TTL_US (INT64_C(60) * 1000000)

static int64_t fake_now = 9000000;
static CK_FUNCTION_LIST_PTR p;
static char dir[512], config[600], creds[600], audit[600];
static char *arn_cmk, *arn_platform;

static int64_t fake_clock(void)
{
    return fake_now;
}

static void write_config(const struct test_dual_members *m)
{
    char verifier[crypto_pwhash_STRBYTES], kek[1800] = "", dual_kek[900] = "";
    FILE *f = fopen(config, "w");

    assert_non_null(f);
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
    fprintf(f,
            "{\"store_dir\": \"%s/store\", \"cache\": {\"ttl_seconds\": 60},\n"
            /* each call its own KMS answer: no fail-fast after a refusal */
            " \"health\": {\"breaker\": false},\n"
            " \"audit\": {\"file\": \"%s\", \"fsync\": \"interval\"},\n"
            " \"http\": {\"connect_timeout_ms\": 1000, \"timeout_ms\": 8000, "
            "\"max_attempts\": 1},\n"
            " \"tenants\": [{\"label\": \"acme\", \"provider\": \"aws\", "
            "\"key\": \"%s\", \"region\": \"us-east-1\", \"endpoint\": "
            "\"%s/\", \"aws\": {\"credentials_file\": \"%s\"}, \"test_mode\": "
            "true, \"pin_verifier\": \"%s\", %s\n"
            "  \"dual_control\": {\"provider\": \"aws\", \"key\": \"%s\", "
            "\"region\": \"us-east-1\", \"endpoint\": \"%s/\", \"aws\": "
            "{\"credentials_file\": \"%s\"}%s}}]}\n",
            dir, audit, arn_cmk, emu_http_url(), creds, verifier, kek,
            arn_platform, emu_http_url(), creds, dual_kek);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    struct test_dual_members m;
    struct cmk_config *cfg = NULL;
    char msg[512];

    (void)state;
    unsetenv("CMK_PKCS11_DEBUG");
    setenv("HOME", emu_tmp(), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(dir, sizeof(dir), "%s/dual", emu_tmp());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(config, sizeof(config), "%s/config.json", dir);
    snprintf(creds, sizeof(creds), "%s/creds.json", dir);
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", dir);
    emu_add_creds(AKID, SECRET);
    emu_write_file(creds, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"}",
                   AKID, SECRET);
    arn_cmk = emu_create_key(NULL);
    arn_platform = emu_create_key("alias/platform-dual");
    assert_int_equal(cmk_mech_init(), CKR_OK);
    write_config(NULL);
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    assert_int_equal(test_dual_seal(&cfg->tenants[0], NULL, NULL, &m, NULL), 0);
    cmk_config_free(cfg);
    write_config(&m);
    setenv(CMK_CONFIG_ENV, config, 1);
    cmk_clock_set_source(fake_clock);
    assert_int_equal(cmk_C_GetFunctionList(&p), CKR_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(arn_cmk);
    free(arn_platform);
    return 0;
}

static int count_lines(const char *a, const char *b)
{
    char line[4096];
    FILE *f = fopen(audit, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(f);
    return n;
}

/* Decrypt calls the emulator logged for key arn (since reset_calls). */
static size_t decrypts_of(const char *arn)
{
    json_t *r = emu_ctl("calls", "{\"op\":\"Decrypt\"}"), *c;
    size_t i, n = 0;
    const char *id = strrchr(arn, '/') + 1;

    json_array_foreach(json_object_get(r, "calls"), i, c)
    {
        const char *k = json_string_value(json_object_get(c, "key_id"));

        n += k != NULL && strstr(k, id) != NULL;
    }
    json_decref(r);
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

static CK_RV token_key(CK_SESSION_HANDLE h)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                        {CKA_TOKEN, &yes, 1},
                        {CKA_ENCRYPT, &yes, 1}};
    CK_OBJECT_HANDLE k;

    return p->C_GenerateKey(h, &m, t, 3, &k);
}

struct paths {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t env[512], kwp[512];
    CK_ULONG env_len, kwp_len;
};

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
                     CKR_OK);
    assert_int_equal(token_key(x->h), CKR_OK);
}

static void kek_served(struct paths *x)
{
    uint8_t tmp[512];
    CK_ULONG n;

    assert_int_equal(
        unwrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->kwp, x->kwp_len), CKR_OK);
    assert_int_equal(wrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->dek, tmp, &n),
                     CKR_OK);
    assert_int_equal(token_key(x->h), CKR_OK);
}

static void all_refused(struct paths *x)
{
    uint8_t tmp[512];
    CK_ULONG n;

    assert_int_equal(unwrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->env, x->env_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(
        unwrap(x->h, CKM_AES_KEY_WRAP_KWP, x->cmk, x->kwp, x->kwp_len),
        CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(x->h, CKM_CMK_ENVELOPE, x->cmk, x->dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    /* C_GenerateKey may not say CKR_KEY_FUNCTION_NOT_PERMITTED. */
    assert_int_equal(token_key(x->h), CKR_FUNCTION_FAILED);
}

static void revoke(const char *arn, const char *detail)
{
    struct paths x;
    int before = count_lines(detail, "\"provider_code\":\"DisabledException\"");

    start(&x);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", arn);
    fake_now += TTL_US - 7 * INT64_C(1000000); /* before the DEK refresh */
    assert_int_equal(unwrap(x.h, CKM_CMK_ENVELOPE, x.cmk, x.env, x.env_len),
                     CKR_OK);
    kek_served(&x);
    fake_now += 7 * INT64_C(1000000) - 1;
    kek_served(&x);
    fake_now += 1;
    all_refused(&x);
    assert_true(count_lines(detail, "\"provider_code\":\"DisabledException\"") >
                before);
    emu_do("enable_key", "{\"key_id\":\"%s\"}", arn);
    assert_int_equal(unwrap(x.h, CKM_CMK_ENVELOPE, x.cmk, x.env, x.env_len),
                     CKR_OK);
    kek_served(&x);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void test_disable_cmk(void **state)
{
    (void)state;
    revoke(arn_cmk, "\"detail\":\"customer key: key_disabled\"");
}

static void test_disable_provider_key(void **state)
{
    (void)state;
    revoke(arn_platform, "\"detail\":\"provider key: key_disabled\"");
}

/* One KMS Decrypt per half, against each half's own key, per TTL. */
static void test_one_call_per_half(void **state)
{
    struct paths x;

    (void)state;
    emu_do("reset_calls", "{}");
    start(&x);
    assert_int_equal(decrypts_of(arn_platform), 1);
    assert_int_equal(decrypts_of(arn_cmk), 2); /* its half, the DEK */
    fake_now += TTL_US;
    kek_served(&x);
    assert_int_equal(decrypts_of(arn_platform), 2);
    assert_true(count_lines("\"detail\":\"provider key\"",
                            "\"provider\":\"aws\",\"request_id\"") >= 2);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_call_per_half),
        cmocka_unit_test(test_disable_cmk),
        cmocka_unit_test(test_disable_provider_key),
    };

    if (emu_http_url() == NULL) {
        fprintf(stderr, "SKIP: run by tests/unit/emu_dual.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
