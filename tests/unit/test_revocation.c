/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the revocation bound through the module. A disabled CMK (the
 * local provider's key file removed) still serves cached keys until their
 * expiry on the module clock, and not one microsecond later, on every
 * path, token objects included; the audit file says why; ttl 0 keeps
 * nothing.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "util/clock.h"

#define TTL_US (INT64_C(60) * 1000000)

static int64_t fake_now = 5000000;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE;

static int64_t fake_clock(void)
{
    return fake_now;
}

static CK_SESSION_HANDLE login(void)
{
    return tp11_open_login(p, 0, CKF_SERIAL_SESSION);
}

static CK_OBJECT_HANDLE find_cmk(CK_SESSION_HANDLE h)
{
    return tp11_find_cmk(p, h);
}

static CK_OBJECT_HANDLE make_dek(CK_SESSION_HANDLE h)
{
    return tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
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

static CK_RV wrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                  CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE k, uint8_t *out,
                  CK_ULONG *len)
{
    CK_MECHANISM m = {mt, NULL, 0};

    *len = 512;
    return p->C_WrapKey(h, &m, wk, k, out, len);
}

static CK_RV gcm_init(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    uint8_t iv[12] = {9};
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_RV rv = p->C_EncryptInit(h, &m, k);
    uint8_t out[64];
    CK_ULONG n = sizeof(out);

    if (rv == CKR_OK)
        rv = p->C_Encrypt(h, out, 16, out, &n);
    return rv;
}

static int count_lines(const char *path, const char *a, const char *b)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, a) != NULL && (b == NULL || strstr(line, b));
    fclose(f);
    return n;
}

static void key_file(const struct test_env *e, bool present)
{
    char from[400], to[400];

    snprintf(from, sizeof(from), "%s/alpha.key%s", e->dir,
             present ? ".off" : "");
    snprintf(to, sizeof(to), "%s/alpha.key%s", e->dir, present ? "" : ".off");
    assert_int_equal(rename(from, to), 0);
}

/* A fresh pair of tenants with extra top-level config, the module
 * initialised, alpha logged in; its CMK and a new extractable DEK. */
static CK_SESSION_HANDLE start(struct test_env *e, const char *extra,
                               CK_OBJECT_HANDLE *cmk, CK_OBJECT_HANDLE *dek)
{
    CK_SESSION_HANDLE h;

    assert_int_equal(test_env_make_with(e, extra), 0);
    setenv(CMK_CONFIG_ENV, e->config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = login();
    *cmk = find_cmk(h);
    *dek = make_dek(h);
    return h;
}

static void test_bound_on_every_path(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t env_blob[512], kwp_blob[512], tmp[512];
    CK_ULONG env_len, kwp_len, n;

    (void)state;
    h = start(&e, " \"cache\": {\"ttl_seconds\": 60},", &cmk, &dek);
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, env_blob, &env_len),
                     CKR_OK);
    assert_int_equal(
        wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, kwp_blob, &kwp_len), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, env_blob, env_len),
                     CKR_OK); /* miss: now cached */

    key_file(&e, false); /* the tenant disables the CMK */
    fake_now += TTL_US - 40 * INT64_C(1000000); /* before the refresh window */
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, env_blob, env_len),
                     CKR_OK);
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, kwp_blob, kwp_len),
                     CKR_OK);
    assert_int_equal(gcm_init(h, cmk), CKR_OK);
    /* A fresh blob needs the KMS: refused at once, and the refusal purges
     * the caches. C_WrapKey and C_UnwrapKey may not say
     * CKR_KEY_FUNCTION_NOT_PERMITTED (PKCS#11 3.0 section 5.14): they fail
     * with CKR_FUNCTION_FAILED, ulDeviceError naming the KMS's answer;
     * C_EncryptInit may say it. */
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, env_blob, env_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, tmp, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, kwp_blob, kwp_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(gcm_init(h, cmk), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_true(count_lines(e.audit, "\"event\":\"kms_call\"",
                            "\"detail\":\"key_disabled\"") >= 4);
    assert_int_equal(count_lines(e.audit, "\"op\":\"C_UnwrapKey\"",
                                 "\"result\":\"CKR_FUNCTION_FAILED\""),
                     2);

    key_file(&e, true); /* enabled again: works again */
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, env_blob, env_len),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

/* Without a refusal to purge it, an entry still ends at its expiry. */
static void test_expiry_alone(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t blob[512];
    CK_ULONG len;

    (void)state;
    h = start(&e, " \"cache\": {\"ttl_seconds\": 60},", &cmk, &dek);
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len), CKR_OK);
    key_file(&e, false);
    fake_now += TTL_US - 40 * INT64_C(1000000);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len), CKR_OK);
    fake_now += 40 * INT64_C(1000000); /* exactly the expiry */
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(
        count_lines(e.audit, "\"op\":\"C_UnwrapKey\"", "\"cache\":\"hit\""), 1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    key_file(&e, true);
    test_env_remove(&e);
}

static void test_ttl_zero_keeps_nothing(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t blob[512];
    CK_ULONG len;

    (void)state;
    h = start(&e, " \"cache\": {\"ttl_seconds\": 0},", &cmk, &dek);
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len), CKR_OK);
    key_file(&e, false);
    /* Same instant, no expiry passed: still refused, nothing was kept. */
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, blob, &len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(count_lines(e.audit, "\"cache\":\"hit\"", NULL), 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    key_file(&e, true);
    test_env_remove(&e);
}

static void test_explicit_flush(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    CK_ATTRIBUTE flush = {CKA_CMK_FLUSH_CACHE, &yes, 1};
    CK_ATTRIBUTE two[] = {{CKA_CMK_FLUSH_CACHE, &yes, 1},
                          {CKA_CMK_FLUSH_CACHE, &yes, 1}};
    uint8_t blob[512];
    CK_ULONG len;

    (void)state;
    h = start(&e, "", &cmk, &dek);
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len), CKR_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len), CKR_OK);
    /* Only the exact flush request is accepted on the read-only CMK. */
    assert_int_equal(p->C_SetAttributeValue(h, cmk, two, 2),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(p->C_SetAttributeValue(h, dek, &flush, 1),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(p->C_SetAttributeValue(h, cmk, &flush, 1), CKR_OK);
    key_file(&e, false);
    /* The entry is gone, so the disabled key shows at once. */
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, blob, len),
                     CKR_FUNCTION_FAILED);
    /* One flush asked for, one made by the KMS's refusal: both recorded. */
    assert_int_equal(count_lines(e.audit, "\"event\":\"cache_flush\"", NULL),
                     2);
    assert_int_equal(count_lines(e.audit, "\"event\":\"cache_flush\"",
                                 "\"op\":\"C_SetAttributeValue\""),
                     1);
    assert_int_equal(count_lines(e.audit, "\"event\":\"cache_flush\"",
                                 "\"detail\":\"the KMS refused the key\""),
                     1);
    assert_int_equal(count_lines(e.audit, "\"cache\":\"hit\"", NULL), 1);
    key_file(&e, true);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

static CK_ULONG count_labelled(CK_SESSION_HANDLE h, const char *label)
{
    CK_ATTRIBUTE t = {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)};
    CK_OBJECT_HANDLE found[4];
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, found, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

/* A token object is a key the KEK opened from the store: it is used only
 * while that KEK is live in the cache, so a disabled CMK ends its use at
 * the same instant as new unwraps; the refusal takes the token objects
 * away (their handles are invalid), and they come back from the store
 * once the key is enabled again. */
static void test_token_objects_bound(void **state)
{
    static const char label[] = "tok";
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &yes, 1},
                           {CKA_LABEL, (void *)(uintptr_t)label, 3}};
    char got[8];
    CK_ATTRIBUTE get = {CKA_LABEL, got, sizeof(got)};
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek, tok = 0;

    (void)state;
    (void)start(&e, " \"cache\": {\"ttl_seconds\": 60},", &cmk, &dek);
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION,
                                      NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(p->C_GenerateKey(h, &m, tmpl, 3, &tok), CKR_OK);
    assert_int_equal(gcm_init(h, tok), CKR_OK);
    key_file(&e, false); /* the tenant disables the CMK */
    fake_now += TTL_US - 1;
    assert_int_equal(gcm_init(h, tok), CKR_OK);
    get.ulValueLen = sizeof(got);
    assert_int_equal(p->C_GetAttributeValue(h, tok, &get, 1), CKR_OK);
    fake_now += 1; /* the KEK's expiry: the next use asks the KMS */
    assert_int_equal(gcm_init(h, tok), CKR_KEY_HANDLE_INVALID);
    get.ulValueLen = sizeof(got);
    assert_int_equal(p->C_GetAttributeValue(h, tok, &get, 1),
                     CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(count_labelled(h, label), 0);
    /* Two refusals: the use's, and the find's attempt to load the store. */
    assert_int_equal(count_lines(e.audit, "\"event\":\"cache_flush\"",
                                 "\"detail\":\"the KMS refused the key\""),
                     2);
    key_file(&e, true); /* enabled again: the store opens again */
    assert_int_equal(count_labelled(h, label), 1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_on_every_path),
        cmocka_unit_test(test_expiry_alone),
        cmocka_unit_test(test_ttl_zero_keeps_nothing),
        cmocka_unit_test(test_explicit_flush),
        cmocka_unit_test(test_token_objects_bound),
    };

    cmk_clock_set_source(fake_clock);
    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
