/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: KMS answers are checked before the module keeps them, through
 * the PKCS#11 API on the local provider. A DEK or data plaintext of the
 * wrong length is refused with CKR_DEVICE_ERROR and never cached (each
 * later call asks the KMS again, counted by the audit file's kms_call
 * records).
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "keys/cmk.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define CACHE " \"cache\": {\"ttl_seconds\": 300},"

static CK_FUNCTION_LIST_PTR p;

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

/* KMS Decrypt calls on record so far (detail NULL: all of them). */
static int decrypts(const struct test_env *e, const char *field)
{
    char line[4096];
    FILE *f = fopen(e->audit, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, "\"event\":\"kms_call\"") != NULL &&
             strstr(line, "\"op\":\"Decrypt\"") != NULL &&
             (field == NULL || strstr(line, field) != NULL);
    fclose(f);
    return n;
}

/* Seals len bytes for purpose pp under tenant alpha's CMK, as a KMS (or
 * anyone with its Encrypt permission) could; the blob in out. */
static void seal_for_alpha(const struct test_env *e, enum cmk_purpose pp,
                           const uint8_t *in, size_t len, struct cmk_buf *out)
{
    struct cmk_config *cfg = NULL;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq = {0};
    char msg[512];

    assert_int_equal(cmk_config_load(e->config, &cfg, msg, sizeof(msg)),
                     CMK_OK);
    assert_int_equal(cmk_cmk_open(&cfg->tenants[0].kms, 0, &c), CMK_OK);
    assert_int_equal(cmk_cmk_seal_for(c, &rq, pp, in, len, out), CMK_OK);
    cmk_cmk_close(c);
    cmk_config_free(cfg);
}

static CK_SESSION_HANDLE start(const struct test_env *e, CK_OBJECT_HANDLE *cmk)
{
    CK_SESSION_HANDLE h;

    setenv(CMK_CONFIG_ENV, e->config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    *cmk = tp11_find_cmk(p, h);
    return h;
}

static CK_RV unwrap_env(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                        const struct cmk_buf *blob)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    CK_OBJECT_HANDLE k;

    return p->C_UnwrapKey(h, &m, cmk, blob->p, (CK_ULONG)blob->len, tmpl, 2,
                          &k);
}

/* A direct-path blob whose plaintext is 20 bytes (no DEK has that size):
 * refused as the KMS's fault, and not cached, so the second try asks the
 * KMS again. A good blob is still cached as before. */
static void test_dek_wrong_length(void **state)
{
    uint8_t odd[20] = {7}, dek[32] = {8};
    struct cmk_buf bad = {0}, good = {0};
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk;
    int calls;

    (void)state;
    assert_int_equal(test_env_make_with(&e, CACHE), 0);
    seal_for_alpha(&e, CMK_PURPOSE_KEY, odd, sizeof(odd), &bad);
    seal_for_alpha(&e, CMK_PURPOSE_KEY, dek, sizeof(dek), &good);
    h = start(&e, &cmk);
    calls = decrypts(&e, NULL); /* the KEK's, for the store at login */
    assert_int_equal(unwrap_env(h, cmk, &bad), CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, NULL), calls + 1);
    assert_int_equal(unwrap_env(h, cmk, &bad), CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, NULL), calls + 2);
    assert_int_equal(decrypts(&e, "\"result\":\"CKR_DEVICE_ERROR\""), 2);
    assert_int_equal(decrypts(&e, "\"detail\":\"plaintext_length\""), 2);
    assert_int_equal(count_lines(e.audit, "\"op\":\"C_UnwrapKey\"",
                                 "\"result\":\"CKR_DEVICE_ERROR\""),
                     2);
    assert_int_equal(unwrap_env(h, cmk, &good), CKR_OK);
    assert_int_equal(unwrap_env(h, cmk, &good), CKR_OK);
    assert_int_equal(decrypts(&e, NULL), calls + 3); /* then a hit */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    cmk_buf_free(&bad);
    cmk_buf_free(&good);
    test_env_remove(&e);
}

/* C_Decrypt of an envelope blob holding more than the documented
 * CMK_ENVELOPE_MAX_PLAINTEXT bytes: refused, nothing returned. */
static void test_data_too_long(void **state)
{
    static uint8_t big[CMK_ENVELOPE_MAX_PLAINTEXT + 1], out[8192];
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    struct cmk_buf blob = {0}, fits = {0};
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk;
    CK_ULONG n = sizeof(out);

    (void)state;
    memset(big, 0x33, sizeof(big));
    assert_int_equal(test_env_make_with(&e, CACHE), 0);
    seal_for_alpha(&e, CMK_PURPOSE_DATA, big, sizeof(big), &blob);
    seal_for_alpha(&e, CMK_PURPOSE_DATA, big, sizeof(big) - 1, &fits);
    h = start(&e, &cmk);
    assert_int_equal(p->C_DecryptInit(h, &m, cmk), CKR_OK);
    assert_int_equal(p->C_Decrypt(h, blob.p, (CK_ULONG)blob.len, out, &n),
                     CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, "\"detail\":\"plaintext_length\""), 1);
    n = sizeof(out);
    assert_int_equal(p->C_DecryptInit(h, &m, cmk), CKR_OK);
    assert_int_equal(p->C_Decrypt(h, fits.p, (CK_ULONG)fits.len, out, &n),
                     CKR_OK);
    assert_int_equal(n, CMK_ENVELOPE_MAX_PLAINTEXT);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    cmk_buf_free(&blob);
    cmk_buf_free(&fits);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dek_wrong_length),
        cmocka_unit_test(test_data_too_long),
    };

    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
