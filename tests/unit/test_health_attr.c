/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the CMK object's CKA_CMK_HEALTH and CKA_CMK_HEALTH_CHECKED
 * through the module on the local provider: read as the last provider
 * answer left them, read-only (set and create refused), absent on other
 * keys, matched by C_FindObjects as they are now, one
 * cmk_health_changed record per change; the local provider is
 * never failed fast (its "KMS" is a file).
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

static CK_FUNCTION_LIST_PTR p;

static CK_RV get(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                 CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};

    *v = 0xdead;
    return p->C_GetAttributeValue(h, o, &a, 1);
}

static CK_ULONG health(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
                       CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v;

    assert_int_equal(get(h, o, type, &v), CKR_OK);
    return v;
}

static CK_RV wrap(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk, CK_OBJECT_HANDLE k)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    uint8_t out[512];
    CK_ULONG len = sizeof(out);

    return p->C_WrapKey(h, &m, cmk, k, out, &len);
}

static CK_ULONG dev_error(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;

    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    return si.ulDeviceError;
}

/* How many objects a search for CKA_CMK_HEALTH = want finds. */
static CK_ULONG found(CK_SESSION_HANDLE h, CK_ULONG want)
{
    CK_ATTRIBUTE t = {CKA_CMK_HEALTH, &want, sizeof(want)};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, o, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

static void key_file(const struct test_env *e, int present)
{
    char from[400], to[400];

    snprintf(from, sizeof(from), "%s/alpha.key%s", e->dir,
             present ? ".off" : "");
    snprintf(to, sizeof(to), "%s/alpha.key%s", e->dir, present ? "" : ".off");
    assert_int_equal(rename(from, to), 0);
}

/* The alpha tenant's cmk_health_changed records, in order. */
static int changes(const struct test_env *e, char lines[][4096], int max)
{
    char buf[4096];
    FILE *f = fopen(e->audit, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (strstr(buf, "\"event\":\"cmk_health_changed\"") == NULL)
            continue;
        assert_non_null(strstr(buf, "\"tenant\":\"alpha\""));
        if (n < max)
            snprintf(lines[n], 4096, "%s", buf);
        n++;
    }
    fclose(f);
    return n;
}

/* The module's clock for wall time (CLOCK_REALTIME): time(NULL) reads a
 * coarse clock that can be a tick behind it, so it is no upper bound of a
 * value the module read just before. */
static int64_t wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void test_attributes(void **state)
{
    CK_ULONG v = 0, bad = 3;
    CK_ATTRIBUTE set_h = {CKA_CMK_HEALTH, &v, sizeof(v)};
    CK_ATTRIBUTE set_c = {CKA_CMK_HEALTH_CHECKED, &bad, sizeof(bad)};
    CK_OBJECT_HANDLE cmk, dek, beta_cmk;
    CK_SESSION_HANDLE h, hb;
    char rec[4][4096];
    struct test_env e;
    time_t t0;

    (void)state;
    assert_int_equal(test_env_make(&e), 0);
    setenv(CMK_CONFIG_ENV, e.config, 1);
    t0 = time(NULL);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    hb = tp11_open_login(p, 1, CKF_SERIAL_SESSION);
    cmk = tp11_find_cmk(p, h);
    beta_cmk = tp11_find_cmk(p, hb);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    /* checked already: the KEK unwrap at login (the store) was a
     * provider call */
    assert_int_equal(health(hb, beta_cmk, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_true(health(hb, beta_cmk, CKA_CMK_HEALTH_CHECKED) >= (CK_ULONG)t0);
    assert_true(health(h, cmk, CKA_CMK_HEALTH_CHECKED) >= (CK_ULONG)t0);
    assert_int_equal(wrap(h, cmk, dek), CKR_OK);
    assert_int_equal(health(h, cmk, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_true(health(h, cmk, CKA_CMK_HEALTH_CHECKED) >= (CK_ULONG)t0);
    assert_true(health(h, cmk, CKA_CMK_HEALTH_CHECKED) <= (CK_ULONG)wall_now());
    /* read-only, whatever the value; not for making keys; not on DEKs */
    assert_int_equal(p->C_SetAttributeValue(h, cmk, &set_h, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p->C_SetAttributeValue(h, cmk, &set_c, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p->C_SetAttributeValue(h, dek, &set_h, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(get(h, dek, CKA_CMK_HEALTH, &v),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(v, 0xdead);
    /* The key file gone: disabled; the next call still asks (local). */
    key_file(&e, 0);
    assert_int_equal(wrap(h, cmk, dek), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(h), 0x10001);           /* KeyFileMissing */
    assert_int_equal(found(h, CMK_HEALTH_HEALTHY), 0); /* as it is now */
    assert_int_equal(found(h, CMK_HEALTH_DISABLED), 1);
    assert_int_equal(health(h, cmk, CKA_CMK_HEALTH), CMK_HEALTH_DISABLED);
    assert_int_equal(wrap(h, cmk, dek), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(h), 0x10001);
    assert_int_equal(health(hb, beta_cmk, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    key_file(&e, 1);
    assert_int_equal(wrap(h, cmk, dek), CKR_OK); /* no wait */
    assert_int_equal(found(h, CMK_HEALTH_HEALTHY), 1);
    assert_int_equal(found(h, CMK_HEALTH_DISABLED), 0);
    assert_int_equal(health(h, cmk, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_int_equal(p->C_SetAttributeValue(h, cmk, &set_h, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(changes(&e, rec, 4), 2);
    assert_non_null(strstr(rec[0], "\"detail\":\"healthy -> unhealthy "
                                   "(disabled)\""));
    assert_non_null(strstr(rec[0], "\"provider\":\"local\""));
    assert_non_null(strstr(rec[0], "\"provider_code\":\"KeyFileMissing\""));
    assert_non_null(
        strstr(rec[1], "\"detail\":\"unhealthy (disabled) -> healthy\""));
    test_env_remove(&e);
}

/* A template naming them cannot make a key. */
static void test_create_refused(void **state)
{
    static uint8_t value[32] = {1};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG zero = 0;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_VALUE, value, sizeof(value)},
                           {CKA_CMK_HEALTH, &zero, sizeof(zero)}};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o;
    struct test_env e;

    (void)state;
    assert_int_equal(test_env_make(&e), 0);
    setenv(CMK_CONFIG_ENV, e.config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    assert_int_equal(p->C_CreateObject(h, tmpl, 4, &o),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    tmpl[3].type = CKA_CMK_HEALTH_CHECKED;
    assert_int_equal(p->C_CreateObject(h, tmpl, 4, &o),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_create_refused),
    };

    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
