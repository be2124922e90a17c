/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: every use of a key leaves its audit record, however the
 * operation ends, and nothing reaches the caller without one: multi-part
 * operations ended by session close, cancel, logout or C_Finalize;
 * output and wrapped keys refused while a required audit file fails.
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

#include <sodium.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/auditfd.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define REC_MAX 2048

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE;

/* The DEK of these tests: a known AES-256 value, so a test can look for
 * it in the audit file. */
static uint8_t dek_value[32] = {0x5A, 0x11, 0xC7, 0x3E, 0x90, 0x2B, 0x64, 0xD8,
                                0x0F, 0xA3, 0x71, 0x4C, 0xE9, 0x36, 0x82, 0x1D,
                                0xB5, 0x58, 0x07, 0xFE, 0x6A, 0x93, 0x2C, 0xD1,
                                0x44, 0x7B, 0xE0, 0x19, 0xAF, 0x62, 0x3D, 0xC8};
static uint8_t dek_id[2] = {0x0a, 0x0b};
static uint8_t iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t data[64] = {0x42};

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

/* A failed test leaves the module initialised: the next starts afresh. */
static int finalize_any(void **state)
{
    (void)state;
    (void)p->C_Finalize(NULL);
    return 0;
}

/* A fresh audit file and module; the alpha token's logged-in R/W
 * session. */
static CK_SESSION_HANDLE start(void)
{
    int fd = open(tenv.audit, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    return tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
}

static CK_OBJECT_HANDLE make_dek(CK_SESSION_HANDLE h, CK_BBOOL token,
                                 CK_BBOOL sensitive)
{
    static char label[] = "dek-1";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_VALUE, dek_value, sizeof(dek_value)},
                           {CKA_LABEL, label, strlen(label)},
                           {CKA_ID, dek_id, sizeof(dek_id)},
                           {CKA_EXTRACTABLE, &yes, 1},
                           {CKA_SENSITIVE, &sensitive, 1},
                           {CKA_TOKEN, &token, 1}};
    CK_OBJECT_HANDLE o = 0;

    assert_int_equal(p->C_CreateObject(h, tmpl, 8, &o), CKR_OK);
    return o;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long len;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* The record fields of a line: from "event" up to the chain fields that
 * end it ("prev" in format 1, "mac" in format 2). */
static void body_of(const char *line, size_t len, char *out)
{
    const char *b = strstr(line, "\"event\":");
    const char *e = NULL, *c;

    assert_non_null(b);
    assert_true(b < line + len);
    for (c = b; c < line + len; c++) {
        if (strncmp(c, ",\"prev\":\"", 9) == 0 ||
            strncmp(c, ",\"mac\":\"", 8) == 0)
            e = c;
    }
    assert_non_null(e);
    assert_true((size_t)(e - b) < REC_MAX);
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
}

/* The bodies of the audit file's lines that contain needle, in order. */
static size_t bodies(const char *needle, char (*out)[REC_MAX], size_t max)
{
    char *text = read_all(tenv.audit), *line = text, *end;
    char one[REC_MAX * 2];
    size_t n = 0, len;

    while ((end = strchr(line, '\n')) != NULL) {
        len = (size_t)(end - line);
        assert_true(len < sizeof(one));
        memcpy(one, line, len);
        one[len] = '\0';
        if (strstr(one, needle) != NULL) {
            assert_true(n < max);
            body_of(one, len, out[n++]);
        }
        line = end + 1;
    }
    free(text);
    return n;
}

/* "event":"mechanism" for the alpha DEK, without the end. */
static void mech_body(char *out, const char *op, CK_SESSION_HANDLE h,
                      CK_MECHANISM_TYPE m, const char *name, long long in,
                      long long outn)
{
    snprintf(out, REC_MAX,
             "\"event\":\"mechanism\",\"op\":\"%s\",\"tenant\":\"alpha\","
             "\"session\":%lu,\"mech\":\"%s\",\"mech_num\":%lu,"
             "\"key_label\":\"dek-1\",\"key_id\":\"0a0b\","
             "\"result\":\"CKR_OK\",\"bytes_in\":%lld,\"bytes_out\":%lld",
             op, h, name, m, in, outn);
}

static void add_end(char *body, const char *end)
{
    size_t n = strlen(body);

    snprintf(body + n, REC_MAX - n, ",\"end\":\"%s\"", end);
}

/* ---- operations ended from outside ---- */

struct mech_case {
    CK_MECHANISM_TYPE mech;
    const char *name;
    size_t in;  /* bytes given to C_DecryptUpdate (0: Init only) */
    size_t out; /* bytes it hands out */
};

static const struct mech_case mech_cases[] = {
    {CKM_AES_CBC, "CKM_AES_CBC", 48, 48},
    {CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD", 48, 32}, /* last block held */
    {CKM_AES_CTR, "CKM_AES_CTR", 48, 48},
    {CKM_AES_GCM, "CKM_AES_GCM", 48, 0}, /* AEAD: plaintext at final */
    {CKM_AES_CBC, "CKM_AES_CBC", 0, 0},  /* Init, then nothing */
};

enum how { BY_CLOSE, BY_CLOSE_ALL, BY_CANCEL, BY_LOGOUT, BY_FINALIZE };

static const char *const end_names[] = {"session_close", "session_close",
                                        "cancel", "logout", "finalize"};

static void decrypt_init(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                         CK_MECHANISM_TYPE type)
{
    CK_AES_CTR_PARAMS ctr = {64, {0}};
    CK_GCM_PARAMS gcm = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM m = {type, iv, 16};

    if (type == CKM_AES_CTR) {
        m.pParameter = &ctr;
        m.ulParameterLen = sizeof(ctr);
    } else if (type == CKM_AES_GCM) {
        m.pParameter = &gcm;
        m.ulParameterLen = sizeof(gcm);
    }
    assert_int_equal(p->C_DecryptInit(h, &m, k), CKR_OK);
}

static void end_by(CK_SESSION_HANDLE h, enum how how)
{
    uint8_t out[64];
    CK_ULONG n = sizeof(out);

    switch (how) {
    case BY_CLOSE:
        assert_int_equal(p->C_CloseSession(h), CKR_OK);
        break;
    case BY_CLOSE_ALL:
        assert_int_equal(p->C_CloseAllSessions(0), CKR_OK);
        break;
    case BY_CANCEL:
        assert_int_equal(cmk_C_SessionCancel(h, CKF_DECRYPT), CKR_OK);
        break;
    case BY_LOGOUT:
        assert_int_equal(p->C_Logout(h), CKR_OK);
        break;
    case BY_FINALIZE:
        assert_int_equal(p->C_Finalize(NULL), CKR_OK);
        return;
    }
    if (how == BY_CANCEL || how == BY_LOGOUT) /* the session lives on */
        assert_int_equal(p->C_DecryptUpdate(h, data, 16, out, &n),
                         CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

/* The records of one decryption that ends by how: a progress record if
 * the update handed out plaintext, then one record with the totals and
 * how it ended, before the writer's finalize record. */
static void check_ended(const struct mech_case *mc, enum how how,
                        CK_SESSION_HANDLE h)
{
    char got[4][REC_MAX], want[REC_MAX], needle[64];
    const char *op = mc->in != 0 ? "C_DecryptUpdate" : "C_DecryptInit";
    char *text, *fin;
    size_t n, i = 0;

    snprintf(needle, sizeof(needle), "\"mech\":\"%s\",", mc->name);
    n = bodies(needle, got, 4);
    assert_int_equal(n, mc->out != 0 ? 2 : 1);
    mech_body(want, op, h, mc->mech, mc->name, (long long)mc->in,
              (long long)mc->out);
    if (mc->out != 0)
        assert_string_equal(got[i++], want);
    add_end(want, end_names[how]);
    assert_string_equal(got[i], want);
    /* Before the finalize record, which closes the writer's chains. */
    text = read_all(tenv.audit);
    snprintf(needle, sizeof(needle), "\"end\":\"%s\"", end_names[how]);
    fin = strstr(text, "\"event\":\"finalize\"");
    assert_non_null(fin);
    assert_true(strstr(text, needle) < fin);
    free(text);
}

static void run_case(const struct mech_case *mc, enum how how)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    uint8_t out[64];
    CK_ULONG n = sizeof(out);

    decrypt_init(h, k, mc->mech);
    if (mc->in != 0) {
        assert_int_equal(p->C_DecryptUpdate(h, data, mc->in, out, &n), CKR_OK);
        assert_int_equal(n, mc->out);
    }
    end_by(h, how);
    check_ended(mc, how, h);
}

static void test_ended_from_outside(void **state)
{
    size_t i;
    int how;

    (void)state;
    for (i = 0; i < sizeof(mech_cases) / sizeof(mech_cases[0]); i++) {
        for (how = BY_CLOSE; how <= BY_FINALIZE; how++)
            run_case(&mech_cases[i], (enum how)how);
    }
}

/* The record of an operation C_Finalize ends comes before the writer's
 * finalize record (which closes the chain), and the last session's
 * logout is recorded too. */
static void test_finalize_order(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    char *text, *end_rec, *fin, *logout;

    (void)state;
    decrypt_init(h, k, CKM_AES_CBC);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    text = read_all(tenv.audit);
    end_rec = strstr(text, "\"end\":\"finalize\"");
    logout = strstr(text, "\"event\":\"logout\",\"op\":\"C_Finalize\","
                          "\"tenant\":\"alpha\"");
    fin = strstr(text, "\"event\":\"finalize\"");
    assert_non_null(end_rec);
    assert_non_null(logout);
    assert_non_null(fin);
    assert_true(end_rec < logout); /* the operation, then the login */
    assert_true(logout < fin);
    assert_non_null(strstr(logout, "\"detail\":\"last session closed\""));
    free(text);
}

/* ---- fail closed ---- */

static bool all_zero(const uint8_t *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != 0)
            return false;
    }
    return true;
}

static bool all_byte(const uint8_t *b, size_t n, uint8_t v)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != v)
            return false;
    }
    return true;
}

/* The audit file fails between two updates of a decryption: the second
 * update's plaintext is wiped (length 0, CKR_DEVICE_ERROR) and the
 * operation is over. */
static void test_update_fails_closed(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    char got[4][REC_MAX], want[REC_MAX];
    uint8_t out[64];
    CK_ULONG n = sizeof(out);
    int fd;

    (void)state;
    decrypt_init(h, k, CKM_AES_CBC);
    assert_int_equal(p->C_DecryptUpdate(h, data, 32, out, &n), CKR_OK);
    assert_int_equal(n, 32);
    fd = taudit_break(tenv.audit);
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_DecryptUpdate(h, data + 32, 32, out, &n),
                     CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 32));
    assert_true(all_byte(out + 32, 32, 0xEE)); /* only what it wrote */
    n = sizeof(out);
    assert_int_equal(p->C_DecryptFinal(h, out, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    taudit_mend(tenv.audit, fd);
    n = sizeof(out);
    assert_int_equal(p->C_DecryptUpdate(h, data, 16, out, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    /* Only the first update's plaintext left, and it is on record. */
    assert_int_equal(bodies("\"mech\":\"CKM_AES_CBC\",", got, 4), 1);
    mech_body(want, "C_DecryptUpdate", h, CKM_AES_CBC, "CKM_AES_CBC", 32, 32);
    assert_string_equal(got[0], want);
}

/* Ending an operation from outside cannot be refused: the session is
 * closed, the operation cancelled, but the call says the record failed. */
static void test_end_unrecorded(void **state)
{
    CK_SESSION_HANDLE h = start(), h2;
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    uint8_t out[64];
    CK_ULONG n = sizeof(out);
    int fd;

    (void)state;
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2),
                     CKR_OK); /* the token is logged in already */
    decrypt_init(h, k, CKM_AES_CBC);
    decrypt_init(h2, k, CKM_AES_CBC);
    fd = taudit_break(tenv.audit);
    assert_int_equal(cmk_C_SessionCancel(h, CKF_DECRYPT), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_CloseSession(h2), CKR_DEVICE_ERROR);
    taudit_mend(tenv.audit, fd);
    assert_int_equal(p->C_DecryptUpdate(h, data, 16, out, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(p->C_CloseSession(h2), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

/* Encryption too: a multi-part update's and a single-part call's
 * ciphertext are wiped when their record cannot be written. */
static void test_encrypt_fails_closed(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    CK_AES_CTR_PARAMS ctr = {64, {0}};
    CK_GCM_PARAMS gcm = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM mctr = {CKM_AES_CTR, &ctr, sizeof(ctr)};
    CK_MECHANISM mgcm = {CKM_AES_GCM, &gcm, sizeof(gcm)};
    uint8_t out[96];
    CK_ULONG n;
    int fd;

    (void)state;
    assert_int_equal(p->C_EncryptInit(h, &mctr, k), CKR_OK);
    fd = taudit_break(tenv.audit);
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_EncryptUpdate(h, data, 48, out, &n),
                     CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 48));
    n = sizeof(out);
    assert_int_equal(p->C_EncryptFinal(h, out, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    taudit_mend(tenv.audit, fd);
    assert_int_equal(p->C_EncryptInit(h, &mgcm, k), CKR_OK);
    fd = taudit_break(tenv.audit);
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_Encrypt(h, data, 48, out, &n), CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 64)); /* 48 bytes and the 16-byte tag */
    taudit_mend(tenv.audit, fd);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

/* C_WrapKey under a failing audit file: no wrapped key in the buffer. */
static void test_wrap_fails_closed(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h);
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    uint8_t out[512];
    CK_ULONG n = 0;
    int fd;

    (void)state;
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, k, NULL, &n), CKR_OK);
    assert_int_equal(n, 40);
    fd = taudit_break(tenv.audit);
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, k, out, &n), CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 40));
    assert_true(all_byte(out + 40, sizeof(out) - 40, 0xEE));
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, k, out, &n), CKR_DEVICE_ERROR);
    assert_true(n == 0 || n == sizeof(out));
    assert_null(memmem(out, sizeof(out), CMK_ENVELOPE_MAGIC, 4));
    taudit_mend(tenv.audit, fd);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ended_from_outside, finalize_any),
        cmocka_unit_test_teardown(test_finalize_order, finalize_any),
        cmocka_unit_test_teardown(test_update_fails_closed, finalize_any),
        cmocka_unit_test_teardown(test_end_unrecorded, finalize_any),
        cmocka_unit_test_teardown(test_encrypt_fails_closed, finalize_any),
        cmocka_unit_test_teardown(test_wrap_fails_closed, finalize_any),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
