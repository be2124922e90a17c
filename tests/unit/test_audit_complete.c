/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: every use of a key leaves its audit record, however the
 * operation ends, and nothing reaches the caller without one: multi-part
 * operations ended by session close, cancel, logout or C_Finalize;
 * output, wrapped keys, key values and object changes refused while a
 * required audit file fails; object management recorded exactly.
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
#include "core/record.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define REC_MAX 2048

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

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

/* The audit file fails as a required one does (every record refused)
 * and works again. */
static void audit_break(void)
{
    cmk_record_fail_for_tests(true);
}

static void audit_mend(void)
{
    cmk_record_fail_for_tests(false);
}

/* A failed test leaves the module initialised: the next starts afresh. */
static int finalize_any(void **state)
{
    (void)state;
    audit_mend();
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

/* The one line that contains needle: its body in out. */
static void the_body(const char *needle, char *out)
{
    char got[4][REC_MAX];

    assert_int_equal(bodies(needle, got, 4), 1);
    strcpy(out, got[0]);
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

    (void)state;
    decrypt_init(h, k, CKM_AES_CBC);
    assert_int_equal(p->C_DecryptUpdate(h, data, 32, out, &n), CKR_OK);
    assert_int_equal(n, 32);
    audit_break();
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
    audit_mend();
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

    (void)state;
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h2),
                     CKR_OK); /* the token is logged in already */
    decrypt_init(h, k, CKM_AES_CBC);
    decrypt_init(h2, k, CKM_AES_CBC);
    audit_break();
    assert_int_equal(cmk_C_SessionCancel(h, CKF_DECRYPT), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_CloseSession(h2), CKR_DEVICE_ERROR);
    audit_mend();
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

    (void)state;
    assert_int_equal(p->C_EncryptInit(h, &mctr, k), CKR_OK);
    audit_break();
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_EncryptUpdate(h, data, 48, out, &n),
                     CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 48));
    n = sizeof(out);
    assert_int_equal(p->C_EncryptFinal(h, out, &n),
                     CKR_OPERATION_NOT_INITIALIZED);
    audit_mend();
    assert_int_equal(p->C_EncryptInit(h, &mgcm, k), CKR_OK);
    audit_break();
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_Encrypt(h, data, 48, out, &n), CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 64)); /* 48 bytes and the 16-byte tag */
    audit_mend();
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void gcm_encrypt(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, CK_RV want)
{
    CK_GCM_PARAMS gcm = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gcm, sizeof(gcm)};
    uint8_t out[96];
    CK_ULONG n = sizeof(out);

    assert_int_equal(p->C_EncryptInit(h, &m, k), want);
    if (want == CKR_OK) {
        assert_int_equal(p->C_Encrypt(h, data, 48, out, &n), CKR_OK);
        assert_int_equal(n, 64);
    }
}

/* One key used over and over by a session (which then starts its
 * operations from its memo of the key, core/keymemo.h): every use writes
 * the same complete record, and a change of the key's label or of what
 * it may do shows in the very next record. */
static void test_repeat_use_records(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE);
    char label2[] = "dek-2";
    CK_ATTRIBUTE relabel = {CKA_LABEL, label2, 5};
    CK_ATTRIBUTE noenc = {CKA_ENCRYPT, &no, 1};
    char got[8][REC_MAX], want[REC_MAX];
    char *at;
    int i;

    (void)state;
    for (i = 0; i < 5; i++)
        gcm_encrypt(h, k, CKR_OK);
    mech_body(want, "C_Encrypt", h, CKM_AES_GCM, "CKM_AES_GCM", 48, 64);
    add_end(want, "final");
    assert_int_equal(bodies("\"op\":\"C_Encrypt\"", got, 8), 5);
    for (i = 0; i < 5; i++)
        assert_string_equal(got[i], want);
    assert_int_equal(p->C_SetAttributeValue(h, k, &relabel, 1), CKR_OK);
    gcm_encrypt(h, k, CKR_OK);
    assert_int_equal(bodies("\"op\":\"C_Encrypt\"", got, 8), 6);
    at = strstr(want, "dek-1");
    assert_non_null(at);
    at[4] = '2';
    assert_string_equal(got[5], want);
    assert_int_equal(p->C_SetAttributeValue(h, k, &noenc, 1), CKR_OK);
    gcm_encrypt(h, k, CKR_KEY_FUNCTION_NOT_PERMITTED);
    the_body("CKR_KEY_FUNCTION_NOT_PERMITTED", got[0]);
    assert_non_null(strstr(got[0], "\"op\":\"C_EncryptInit\""));
    assert_non_null(strstr(got[0], "\"key_label\":\"dek-2\""));
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

    (void)state;
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, k, NULL, &n), CKR_OK);
    assert_int_equal(n, 40);
    audit_break();
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, k, out, &n), CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_true(all_zero(out, 40));
    assert_true(all_byte(out + 40, sizeof(out) - 40, 0xEE));
    memset(out, 0xEE, sizeof(out));
    n = sizeof(out);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, k, out, &n), CKR_DEVICE_ERROR);
    assert_int_equal(n, 0);
    assert_null(memmem(out, sizeof(out), CMK_ENVELOPE_MAGIC, 4));
    audit_mend();
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

/* ---- object management ---- */

static void obj_body(char *out, const char *op, CK_SESSION_HANDLE h,
                     const char *result, const char *detail, CK_OBJECT_HANDLE o,
                     const char *label, const char *tok, const char *attrs)
{
    int n;

    n = snprintf(out, REC_MAX,
                 "\"event\":\"object\",\"op\":\"%s\",\"tenant\":\"alpha\","
                 "\"session\":%lu,\"result\":\"%s\"",
                 op, h, result);
    if (detail != NULL)
        n += snprintf(out + n, REC_MAX - (size_t)n, ",\"detail\":\"%s\"",
                      detail);
    n += snprintf(out + n, REC_MAX - (size_t)n, ",\"object\":%lu", o);
    if (label != NULL)
        n += snprintf(out + n, REC_MAX - (size_t)n,
                      ",\"object_label\":\"%s\",\"object_id\":\"0a0b\","
                      "\"object_class\":\"CKO_SECRET_KEY\","
                      "\"object_token\":%s",
                      label, tok);
    if (attrs != NULL)
        snprintf(out + n, REC_MAX - (size_t)n, ",\"attrs\":[%s]", attrs);
}

static const char create_types[] =
    "\"CKA_CLASS\",\"CKA_KEY_TYPE\",\"CKA_VALUE\",\"CKA_LABEL\",\"CKA_ID\","
    "\"CKA_EXTRACTABLE\",\"CKA_SENSITIVE\",\"CKA_TOKEN\"";

/* Create, copy, set and destroy, each recorded exactly: the object, the
 * result and the attribute types, never a value. */
static void test_object_records(void **state)
{
    static char label2[] = "dek-2";
    CK_ATTRIBUTE relabel = {CKA_LABEL, label2, 5};
    CK_ATTRIBUTE lock[] = {{CKA_EXTRACTABLE, &no, 1}, {CKA_SENSITIVE, &yes, 1}};
    CK_ATTRIBUTE unlock = {CKA_EXTRACTABLE, &yes, 1};
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_TRUE), k2;
    char got[8][REC_MAX], want[REC_MAX], detail[48], hex[65];
    char *text;

    (void)state;
    assert_int_equal(p->C_CopyObject(h, k, &relabel, 1, &k2), CKR_OK);
    assert_int_equal(p->C_SetAttributeValue(h, k, lock, 2), CKR_OK);
    assert_int_equal(p->C_SetAttributeValue(h, k, &unlock, 1),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(p->C_DestroyObject(h, k2), CKR_OK);
    assert_int_equal(p->C_DestroyObject(h, 9999), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);

    the_body("\"op\":\"C_CreateObject\"", got[0]);
    obj_body(want, "C_CreateObject", h, "CKR_OK", NULL, k, "dek-1", "false",
             create_types);
    assert_string_equal(got[0], want);
    the_body("\"op\":\"C_CopyObject\"", got[0]);
    snprintf(detail, sizeof(detail), "copy of object %lu", k);
    obj_body(want, "C_CopyObject", h, "CKR_OK", detail, k2, "dek-2", "false",
             "\"CKA_LABEL\"");
    assert_string_equal(got[0], want);
    assert_int_equal(bodies("\"op\":\"C_SetAttributeValue\"", got, 8), 2);
    obj_body(want, "C_SetAttributeValue", h, "CKR_OK", NULL, k, "dek-1",
             "false", "\"CKA_EXTRACTABLE\",\"CKA_SENSITIVE\"");
    assert_string_equal(got[0], want);
    obj_body(want, "C_SetAttributeValue", h, "CKR_ATTRIBUTE_READ_ONLY", NULL, k,
             "dek-1", "false", "\"CKA_EXTRACTABLE\"");
    assert_string_equal(got[1], want);
    assert_int_equal(bodies("\"op\":\"C_DestroyObject\"", got, 8), 2);
    obj_body(want, "C_DestroyObject", h, "CKR_OK", NULL, k2, "dek-2", "false",
             NULL);
    assert_string_equal(got[0], want);
    obj_body(want, "C_DestroyObject", h, "CKR_OBJECT_HANDLE_INVALID", NULL,
             9999, NULL, NULL, NULL);
    assert_string_equal(got[1], want);
    /* The key's value appears in no encoding. */
    text = read_all(tenv.audit);
    sodium_bin2hex(hex, sizeof(hex), dek_value, sizeof(dek_value));
    assert_null(strstr(text, hex));
    assert_null(memmem(text, strlen(text), dek_value, 8));
    free(text);
}

/* A refused create names the object from its template. */
static void test_refused_create_record(void **state)
{
    static char label[] = "dek-1";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_VALUE, dek_value, 7}, /* bad length */
                           {CKA_LABEL, label, 5},
                           {CKA_ID, dek_id, 2},
                           {CKA_TOKEN, &no, 1}};
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE o = 0;
    char got[REC_MAX], want[REC_MAX];

    (void)state;
    assert_int_equal(p->C_CreateObject(h, tmpl, 6, &o),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    the_body("\"op\":\"C_CreateObject\"", got);
    snprintf(want, sizeof(want),
             "\"event\":\"object\",\"op\":\"C_CreateObject\","
             "\"tenant\":\"alpha\",\"session\":%lu,"
             "\"result\":\"CKR_ATTRIBUTE_VALUE_INVALID\","
             "\"object_label\":\"dek-1\",\"object_id\":\"0a0b\","
             "\"object_class\":\"CKO_SECRET_KEY\",\"object_token\":false,"
             "\"attrs\":[\"CKA_CLASS\",\"CKA_KEY_TYPE\",\"CKA_VALUE\","
             "\"CKA_LABEL\",\"CKA_ID\",\"CKA_TOKEN\"]",
             h);
    assert_string_equal(got, want);
}

static CK_ULONG count_label(CK_SESSION_HANDLE h, const char *label)
{
    CK_ATTRIBUTE t = {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)};
    CK_OBJECT_HANDLE o[4];
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, &t, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, o, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    return n;
}

static CK_BBOOL extractable(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    CK_BBOOL v = CK_FALSE;
    CK_ATTRIBUTE t = {CKA_EXTRACTABLE, &v, 1};

    assert_int_equal(p->C_GetAttributeValue(h, k, &t, 1), CKR_OK);
    return v;
}

static CK_RV create_dek2(CK_SESSION_HANDLE h, CK_BBOOL token,
                         CK_OBJECT_HANDLE *out)
{
    static char label2[] = "dek-2";
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &kt, sizeof(kt)},
                        {CKA_VALUE, dek_value, 32},
                        {CKA_LABEL, label2, 5},
                        {CKA_TOKEN, &token, 1}};

    return p->C_CreateObject(h, t, 5, out);
}

/* While a required audit file fails, no object changes: a create or copy
 * is taken back, a set or destroy never happens. */
static void fail_closed_objects(CK_BBOOL token)
{
    static char label2[] = "dek-2";
    CK_ATTRIBUTE relabel = {CKA_LABEL, label2, 5};
    CK_ATTRIBUTE lock = {CKA_EXTRACTABLE, &no, 1};
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, token, CK_TRUE), k2 = 0;

    audit_break();
    assert_int_equal(create_dek2(h, token, &k2), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_CopyObject(h, k, &relabel, 1, &k2), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_SetAttributeValue(h, k, &lock, 1), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_DestroyObject(h, k), CKR_DEVICE_ERROR);
    audit_mend();
    assert_int_equal(count_label(h, "dek-2"), 0);
    assert_int_equal(count_label(h, "dek-1"), 1);
    assert_int_equal(extractable(h, k), CK_TRUE);
    assert_int_equal(p->C_DestroyObject(h, k), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    if (!token)
        return;
    /* The store kept nothing either: a new module reads it afresh. */
    h = start();
    assert_int_equal(count_label(h, "dek-1"), 0);
    assert_int_equal(count_label(h, "dek-2"), 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

static void test_objects_fail_closed(void **state)
{
    (void)state;
    fail_closed_objects(CK_FALSE);
    fail_closed_objects(CK_TRUE); /* the store is left as it was */
}

/* A key value handed out by C_GetAttributeValue is recorded, and wiped
 * when the record cannot be written. */
static void test_value_read(void **state)
{
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE k = make_dek(h, CK_FALSE, CK_FALSE);
    uint8_t val[32];
    CK_ATTRIBUTE t[] = {{CKA_VALUE, val, sizeof(val)}, {CKA_LABEL, NULL, 0}};
    char got[REC_MAX], want[REC_MAX];

    (void)state;
    /* A length query hands out nothing: no record. */
    t[0].pValue = NULL;
    assert_int_equal(p->C_GetAttributeValue(h, k, t, 2), CKR_OK);
    t[0].pValue = val;
    t[0].ulValueLen = sizeof(val);
    assert_int_equal(p->C_GetAttributeValue(h, k, t, 1), CKR_OK);
    assert_memory_equal(val, dek_value, 32);
    audit_break();
    t[0].ulValueLen = sizeof(val);
    assert_int_equal(p->C_GetAttributeValue(h, k, t, 1), CKR_DEVICE_ERROR);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_true(all_zero(val, sizeof(val)));
    audit_mend();
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    the_body("\"op\":\"C_GetAttributeValue\"", got);
    obj_body(want, "C_GetAttributeValue", h, "CKR_OK", NULL, k, "dek-1",
             "false", "\"CKA_VALUE\"");
    assert_string_equal(got, want);
}

/* C_GenerateKey and C_UnwrapKey name the key they made. */
static void test_new_key_named(void **state)
{
    static char label[] = "gen-1";
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_ULONG len = 32, n;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_LABEL, label, 5},
                           {CKA_ID, dek_id, 2},
                           {CKA_EXTRACTABLE, &yes, 1}};
    CK_ATTRIBUTE utmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                            {CKA_KEY_TYPE, &kt, sizeof(kt)},
                            {CKA_LABEL, label, 5},
                            {CKA_ID, dek_id, 2}};
    CK_SESSION_HANDLE h = start();
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), k, u;
    uint8_t blob[64];
    char got[REC_MAX], want[REC_MAX];

    (void)state;
    assert_int_equal(p->C_GenerateKey(h, &gen, tmpl, 4, &k), CKR_OK);
    n = sizeof(blob);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, k, blob, &n), CKR_OK);
    assert_int_equal(p->C_UnwrapKey(h, &kwp, cmk, blob, n, utmpl, 4, &u),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    the_body("\"op\":\"C_GenerateKey\"", got);
    snprintf(want, sizeof(want),
             "\"event\":\"mechanism\",\"op\":\"C_GenerateKey\","
             "\"tenant\":\"alpha\",\"session\":%lu,"
             "\"mech\":\"CKM_AES_KEY_GEN\",\"mech_num\":%lu,"
             "\"key_label\":\"gen-1\",\"key_id\":\"0a0b\","
             "\"result\":\"CKR_OK\",\"end\":\"final\",\"object\":%lu,"
             "\"object_label\":\"gen-1\",\"object_id\":\"0a0b\","
             "\"object_class\":\"CKO_SECRET_KEY\",\"object_token\":false",
             h, CKM_AES_KEY_GEN, k);
    assert_string_equal(got, want);
    the_body("\"op\":\"C_UnwrapKey\"", got);
    snprintf(want, sizeof(want),
             "\"event\":\"mechanism\",\"op\":\"C_UnwrapKey\","
             "\"tenant\":\"alpha\",\"session\":%lu,"
             "\"mech\":\"CKM_AES_KEY_WRAP_KWP\",\"mech_num\":%lu,"
             "\"key_label\":\"alpha-cmk\",\"key_id\":\"01\","
             "\"result\":\"CKR_OK\",\"bytes_in\":%lu,\"bytes_out\":32,"
             "\"end\":\"final\",\"object\":%lu,"
             "\"object_label\":\"gen-1\",\"object_id\":\"0a0b\","
             "\"object_class\":\"CKO_SECRET_KEY\",\"object_token\":false",
             h, CKM_AES_KEY_WRAP_KWP, n, u);
    assert_string_equal(got, want);
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
        cmocka_unit_test_teardown(test_object_records, finalize_any),
        cmocka_unit_test_teardown(test_refused_create_record, finalize_any),
        cmocka_unit_test_teardown(test_objects_fail_closed, finalize_any),
        cmocka_unit_test_teardown(test_value_read, finalize_any),
        cmocka_unit_test_teardown(test_new_key_named, finalize_any),
        cmocka_unit_test_teardown(test_repeat_use_records, finalize_any),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
