/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: C_Digest* (core/digest.c) through the function list: the FIPS
 * 180 "abc" answers of SHA-1, SHA-256, SHA-384 and SHA-512, one-shot
 * and multi-part, without login; the length convention; misuse answered
 * with its exact CK_RV and the operation ended as PKCS#11 3.0 section
 * 5.2 says; C_DigestKey refusing a key; and one audit record per
 * operation, however it ends.
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

static struct test_env tenv;
static CK_BYTE abc[] = "abc", abcd[] = "abcd";
static CK_FUNCTION_LIST_PTR p;

static const struct kat {
    CK_MECHANISM_TYPE m;
    const char *name;
    size_t len;
    const char *abc; /* hex of the digest of "abc" (FIPS 180-4 examples) */
} kats[] = {
    {CKM_SHA_1, "CKM_SHA_1", 20, "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {CKM_SHA256, "CKM_SHA256", 32,
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {CKM_SHA384, "CKM_SHA384", 48,
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
     "8086072ba1e7cc2358baeca134c825a7"},
    {CKM_SHA512, "CKM_SHA512", 64,
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
};

static void unhex(const char *h, uint8_t *out)
{
    for (size_t i = 0; h[2 * i] != '\0'; i++)
        sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static int group_setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0)
        return -1;
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_env_remove(&tenv);
    return 0;
}

/* A fresh audit file and module; a public (not logged in) session. */
static int start(void **state)
{
    int fd = open(tenv.audit, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CK_SESSION_HANDLE *h = malloc(sizeof(*h));

    if (fd < 0 || h == NULL)
        return -1;
    close(fd);
    if (p->C_Initialize(NULL) != CKR_OK ||
        p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, h) != CKR_OK)
        return -1;
    *state = h;
    return 0;
}

static int stop(void **state)
{
    free(*state);
    (void)p->C_Finalize(NULL);
    return 0;
}

/* The audit file's "mechanism" records, in order, as one string of
 * "OP MECH RESULT IN OUT END;" entries. */
static void records(char *out, size_t cap)
{
    FILE *f = fopen(tenv.audit, "r");
    char line[4096], op[64], mech[64], res[64], end[32];
    long long in, outn;
    const char *c;
    size_t n = 0;

    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "\"event\":\"mechanism\"") == NULL)
            continue;
        c = strstr(line, "\"op\":\"");
        assert_non_null(c);
        assert_int_equal(sscanf(c, "\"op\":\"%63[^\"]", op), 1);
        c = strstr(line, "\"mech\":\"");
        assert_non_null(c);
        assert_int_equal(sscanf(c, "\"mech\":\"%63[^\"]", mech), 1);
        c = strstr(line, "\"result\":\"");
        assert_non_null(c);
        assert_int_equal(sscanf(c, "\"result\":\"%63[^\"]", res), 1);
        in = outn = -1; /* "bytes_in", "bytes_out": absent when no data */
        c = strstr(line, "\"bytes_in\":");
        if (c != NULL &&
            sscanf(c, "\"bytes_in\":%lld,\"bytes_out\":%lld", &in, &outn) != 2)
            fail_msg("a record not of the form expected: %s", line);
        c = strstr(line, "\"end\":\"");
        assert_non_null(c);
        assert_int_equal(sscanf(c, "\"end\":\"%31[^\"]", end), 1);
        /* no key named: a digest uses none */
        assert_null(strstr(line, "\"key_label\""));
        n += (size_t)snprintf(out + n, cap - n, "%s %s %s %lld %lld %s;", op,
                              mech, res, in, outn, end);
        assert_true(n < cap);
    }
    fclose(f);
}

static void test_known_answers(void **state)
{
    CK_SESSION_HANDLE h = *(CK_SESSION_HANDLE *)*state;
    uint8_t want[64], got[64];
    CK_ULONG n;
    char rec[2048], exp[2048] = "";
    size_t e = 0;

    for (size_t i = 0; i < 4; i++) {
        CK_MECHANISM m = {kats[i].m, NULL, 0};

        unhex(kats[i].abc, want);
        /* one-shot, with a length query first */
        assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
        n = 0;
        assert_int_equal(p->C_Digest(h, abc, 3, NULL, &n), CKR_OK);
        assert_int_equal(n, kats[i].len);
        n = sizeof(got);
        assert_int_equal(p->C_Digest(h, abc, 3, got, &n), CKR_OK);
        assert_int_equal(n, kats[i].len);
        assert_memory_equal(got, want, n);
        /* multi-part, one byte at a time */
        assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(p->C_DigestUpdate(h, abc + k, 1), CKR_OK);
        memset(got, 0, sizeof(got));
        n = sizeof(got);
        assert_int_equal(p->C_DigestFinal(h, got, &n), CKR_OK);
        assert_int_equal(n, kats[i].len);
        assert_memory_equal(got, want, n);
        e += (size_t)snprintf(exp + e, sizeof(exp) - e,
                              "C_Digest %s CKR_OK 3 %zu final;"
                              "C_DigestFinal %s CKR_OK 3 %zu final;",
                              kats[i].name, kats[i].len, kats[i].name,
                              kats[i].len);
    }
    records(rec, sizeof(rec));
    assert_string_equal(rec, exp);
}

static void test_length_rules(void **state)
{
    CK_SESSION_HANDLE h = *(CK_SESSION_HANDLE *)*state;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    uint8_t got[64], want[32];
    CK_ULONG n;
    char rec[1024];

    unhex(kats[1].abc, want);
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
    /* too small: the length, nothing written, the operation goes on */
    memset(got, 0xee, sizeof(got));
    n = 31;
    assert_int_equal(p->C_Digest(h, abc, 3, got, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 32);
    assert_int_equal(got[0], 0xee);
    n = 32;
    assert_int_equal(p->C_Digest(h, abc, 3, got, &n), CKR_OK);
    assert_memory_equal(got, want, 32);
    /* the same at final */
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(p->C_DigestUpdate(h, abc, 3), CKR_OK);
    n = 1;
    assert_int_equal(p->C_DigestFinal(h, got, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 32);
    n = 0;
    assert_int_equal(p->C_DigestFinal(h, NULL, &n), CKR_OK);
    assert_int_equal(n, 32);
    n = 64;
    assert_int_equal(p->C_DigestFinal(h, got, &n), CKR_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(got, want, 32);
    /* ended: nothing more */
    assert_int_equal(p->C_DigestFinal(h, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    records(rec, sizeof(rec));
    assert_string_equal(rec, "C_Digest CKM_SHA256 CKR_OK 3 32 final;"
                             "C_DigestFinal CKM_SHA256 CKR_OK 3 32 final;");
}

static void test_misuse(void **state)
{
    CK_SESSION_HANDLE h = *(CK_SESSION_HANDLE *)*state;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_MECHANISM md5 = {CKM_MD5, NULL, 0};
    CK_MECHANISM sha224 = {CKM_SHA224, NULL, 0};
    CK_MECHANISM gcm = {CKM_AES_GCM, NULL, 0};
    uint8_t param[4] = {0}, got[64];
    CK_MECHANISM with_param = {CKM_SHA256, param, sizeof(param)};
    CK_ULONG n = sizeof(got);
    char rec[2048];

    assert_int_equal(p->C_DigestUpdate(h, got, 1),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_Digest(h, got, 1, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_DigestKey(h, 1), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_DigestInit(h, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_DigestInit(h, &md5), CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_DigestInit(h, &sha224), CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_DigestInit(h, &gcm), CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_DigestInit(h, &with_param),
                     CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(p->C_DigestInit(0xdead, &m), CKR_SESSION_HANDLE_INVALID);
    /* a second Init while one is active */
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OPERATION_ACTIVE);
    /* C_Digest after C_DigestUpdate: refused, and the operation ends */
    assert_int_equal(p->C_DigestUpdate(h, abc, 2), CKR_OK);
    n = sizeof(got);
    assert_int_equal(p->C_Digest(h, abc + 2, 1, got, &n), CKR_OPERATION_ACTIVE);
    assert_int_equal(p->C_DigestUpdate(h, got, 1),
                     CKR_OPERATION_NOT_INITIALIZED);
    /* bad arguments end it too */
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(p->C_DigestUpdate(h, NULL, 5), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_DigestFinal(h, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
    assert_int_equal(p->C_DigestFinal(h, got, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_DigestFinal(h, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    records(rec, sizeof(rec));
    assert_string_equal(
        rec, "C_DigestInit 0x210 CKR_MECHANISM_INVALID -1 -1 error;"
             "C_DigestInit 0x255 CKR_MECHANISM_INVALID -1 -1 error;"
             "C_DigestInit CKM_AES_GCM CKR_MECHANISM_INVALID -1 -1 error;"
             "C_DigestInit CKM_SHA256 CKR_MECHANISM_PARAM_INVALID -1 -1 error;"
             "C_Digest CKM_SHA256 CKR_OPERATION_ACTIVE 2 0 error;"
             "C_DigestUpdate CKM_SHA256 CKR_ARGUMENTS_BAD 0 0 error;"
             "C_DigestFinal CKM_SHA256 CKR_ARGUMENTS_BAD 0 0 error;");
}

static void test_digest_key(void **state)
{
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_SESSION_HANDLE user;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t got[64];
    CK_ULONG n = sizeof(got);

    (void)state;
    user = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    cmk = tp11_find_cmk(p, user);
    dek = tp11_gen_aes(p, user, CK_FALSE, CK_FALSE);
    /* a handle that names nothing */
    assert_int_equal(p->C_DigestInit(user, &m), CKR_OK);
    assert_int_equal(p->C_DigestKey(user, 0x7fff0000), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p->C_DigestFinal(user, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    /* a DEK and the CMK: never digested */
    assert_int_equal(p->C_DigestInit(user, &m), CKR_OK);
    assert_int_equal(p->C_DigestKey(user, dek), CKR_KEY_INDIGESTIBLE);
    assert_int_equal(p->C_DigestFinal(user, got, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_DigestInit(user, &m), CKR_OK);
    assert_int_equal(p->C_DigestKey(user, cmk), CKR_KEY_INDIGESTIBLE);
    assert_int_equal(p->C_CloseSession(user), CKR_OK);
}

enum how { BY_CLOSE, BY_CANCEL, BY_FINALIZE };

static void test_ended_from_outside(void **state)
{
    static const char *const ends[] = {"session_close", "cancel", "finalize"};
    CK_SESSION_HANDLE *hp = *state, h, user;
    CK_MECHANISM m = {CKM_SHA384, NULL, 0};
    uint8_t got[64], want[64];
    CK_ULONG n = sizeof(got);
    char rec[1024], exp[1024];

    for (int how = BY_CLOSE; how <= BY_FINALIZE; how++) {
        h = *hp;
        assert_int_equal(p->C_DigestInit(h, &m), CKR_OK);
        assert_int_equal(p->C_DigestUpdate(h, abcd, 4), CKR_OK);
        if (how == BY_CLOSE)
            assert_int_equal(p->C_CloseSession(h), CKR_OK);
        else if (how == BY_CANCEL)
            assert_int_equal(cmk_C_SessionCancel(h, CKF_DIGEST), CKR_OK);
        else
            assert_int_equal(p->C_Finalize(NULL), CKR_OK);
        records(rec, sizeof(rec));
        snprintf(exp, sizeof(exp), "C_DigestUpdate CKM_SHA384 CKR_OK 4 0 %s;",
                 ends[how]);
        assert_string_equal(rec, exp);
        if (how == BY_CANCEL)
            assert_int_equal(p->C_DigestFinal(h, got, &n),
                             CKR_OPERATION_NOT_INITIALIZED);
        (void)p->C_Finalize(NULL);
        assert_int_equal(stop(state), 0);
        assert_int_equal(start(state), 0);
        hp = *state;
    }
    /* a logout leaves it running: it uses no object */
    user = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    unhex(kats[2].abc, want);
    assert_int_equal(p->C_DigestInit(user, &m), CKR_OK);
    assert_int_equal(p->C_DigestUpdate(user, abc, 3), CKR_OK);
    assert_int_equal(p->C_Logout(user), CKR_OK);
    n = sizeof(got);
    assert_int_equal(p->C_DigestFinal(user, got, &n), CKR_OK);
    assert_int_equal(n, 48);
    assert_memory_equal(got, want, 48);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_known_answers, start, stop),
        cmocka_unit_test_setup_teardown(test_length_rules, start, stop),
        cmocka_unit_test_setup_teardown(test_misuse, start, stop),
        cmocka_unit_test_setup_teardown(test_digest_key, start, stop),
        cmocka_unit_test_setup_teardown(test_ended_from_outside, start, stop),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
