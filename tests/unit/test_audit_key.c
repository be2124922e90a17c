/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the audit chain key through the module: sealed at
 * C_Initialize by the key tenant's CMK, opened only under its own
 * context (never by C_UnwrapKey or C_Decrypt, and no DEK envelope opens
 * as an audit key), audit.key_tenant, sealing failure with required true
 * (C_Initialize fails, nothing written) and false (sealed_key null and
 * the reason), and a forked child's own writer.
 */
#include <config.h>

#include <jansson.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "keys/audit_unseal.h"
#include "keys/cmk.h"
#include "mech/envelope.h"
#include "pkcs11/entry.h"
#include "tests/lib/audit_check.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define NOT_SEALED "not verifiable: chain key not sealed"

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static int setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0)
        return -1;
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    test_env_remove(&tenv);
    return 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

static struct cmk_config *load_cfg(void)
{
    struct cmk_config *cfg = NULL;
    char msg[512];

    if (cmk_config_load(tenv.config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    return cfg;
}

/* The n-th audit_open record (0 first): its tenant and sealed key. */
static json_t *audit_open(size_t n)
{
    char *text = read_all(tenv.audit), *line, *end;
    json_error_t jerr;
    json_t *o = NULL;

    for (line = text; (end = strchr(line, '\n')) != NULL; line = end + 1) {
        if (strstr(line, "\"event\":\"audit_open\"") == NULL ||
            strstr(line, "\"event\":\"audit_open\"") > end || n-- > 0)
            continue;
        o = json_loadb(line, (size_t)(end - line), 0, &jerr);
        break;
    }
    free(text);
    assert_non_null(o);
    return o;
}

static size_t sealed_of(json_t *o, uint8_t *out, size_t cap)
{
    const char *b64 = json_string_value(json_object_get(o, "sealed_key"));
    size_t len = 0;

    assert_non_null(b64);
    assert_int_equal(sodium_base642bin(out, cap, b64, strlen(b64), NULL, &len,
                                       NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    return len;
}

/* Rewrites the test config: the audit object's extra members, and more
 * tenants (a JSON array text), both optional. */
static void edit_config(const char *audit_json, const char *tenants_json)
{
    json_error_t jerr;
    json_t *root, *add;
    FILE *f;

    root = json_load_file(tenv.config, 0, &jerr);
    assert_non_null(root);
    if (audit_json != NULL) {
        add = json_loads(audit_json, 0, &jerr);
        assert_non_null(add);
        assert_int_equal(
            json_object_update(json_object_get(root, "audit"), add), 0);
        json_decref(add);
    }
    if (tenants_json != NULL) {
        add = json_loads(tenants_json, 0, &jerr);
        assert_non_null(add);
        assert_int_equal(
            json_array_extend(json_object_get(root, "tenants"), add), 0);
        json_decref(add);
    }
    f = fopen(tenv.config, "w");
    assert_non_null(f);
    assert_int_equal(json_dumpf(root, f, JSON_INDENT(1)), 0);
    assert_int_equal(fclose(f), 0);
    json_decref(root);
}

static void one_wrap(CK_SLOT_ID slot)
{
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_SESSION_HANDLE h = tp11_open_login(p, slot, CKF_SERIAL_SESSION);
    CK_OBJECT_HANDLE dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    uint8_t blob[512];
    CK_ULONG n = sizeof(blob);

    assert_int_equal(p->C_WrapKey(h, &env, tp11_find_cmk(p, h), dek, blob, &n),
                     CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void expect_file_ok(size_t writers)
{
    struct test_audit_rep rep;

    if (test_audit_check(tenv.audit, tenv.config, &rep) != 0)
        fail_msg("%llu problems, first: %s",
                 (unsigned long long)rep.sum.problems, rep.first);
    assert_int_equal(rep.sum.writers, writers);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
}

/* The verifier's unseal (keys/audit_unseal.h) with label's tenant as the
 * pinned key tenant, for a record naming tenant. */
static cmk_err unseal_as(const struct cmk_config *cfg, const char *label,
                         const char *tenant, const uint8_t *sealed, size_t len,
                         uint8_t key[CMK_AUDIT_KEY_LEN])
{
    const struct cmk_tenant_cfg *t = cmk_config_tenant(cfg, label);
    struct cmk_audit_unsealer *u = NULL;
    char why[256];
    cmk_err err;

    assert_non_null(t);
    assert_int_equal(cmk_audit_unsealer_new(&t->kms, &u), CMK_OK);
    err = cmk_audit_unseal(u, tenant, "local", sealed, len, key, why,
                           sizeof(why));
    cmk_audit_unsealer_free(u);
    return err;
}

/* The first tenant seals K; whoever the KMS lets decrypt under the audit
 * context gets it back and every mac verifies with it. */
static void test_sealed_and_verified(void **state)
{
    struct cmk_config *cfg = load_cfg();
    uint8_t sealed[1024], k[CMK_AUDIT_KEY_LEN];
    size_t len;
    json_t *o;
    char *text;

    (void)state;
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    one_wrap(0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    expect_file_ok(1);
    o = audit_open(0);
    assert_string_equal(json_string_value(json_object_get(o, "tenant")),
                        "alpha");
    assert_string_equal(json_string_value(json_object_get(o, "provider")),
                        "local");
    assert_int_equal(json_integer_value(json_object_get(o, "file")), 1);
    len = sealed_of(o, sealed, sizeof(sealed));
    assert_int_equal(len, 24 + 32 + 16); /* XChaCha20-Poly1305 of 32 */
    assert_int_equal(unseal_as(cfg, "alpha", "alpha", sealed, len, k), CMK_OK);
    /* another tenant's CMK does not open it (that tenant pinned and
     * named by the record); a changed byte neither */
    assert_int_equal(unseal_as(cfg, "beta", "beta", sealed, len, k),
                     CMK_E_BAD_CIPHERTEXT);
    /* a record naming another tenant than the pinned one: refused */
    assert_int_equal(unseal_as(cfg, "alpha", "beta", sealed, len, k),
                     CMK_E_ACCESS_DENIED);
    sealed[30] ^= 1;
    assert_int_equal(unseal_as(cfg, "alpha", "alpha", sealed, len, k),
                     CMK_E_BAD_CIPHERTEXT);
    /* the sealing call is on record like every KMS call */
    text = read_all(tenv.audit);
    assert_non_null(strstr(text, "\"event\":\"kms_call\",\"op\":\"Encrypt\","
                                 "\"tenant\":\"alpha\",\"result\":\"CKR_OK\","
                                 "\"provider\":\"local\","));
    free(text);
    json_decref(o);
    cmk_config_free(cfg);
}

/* audit.key_tenant picks the tenant whose CMK seals K. */
static void test_key_tenant(void **state)
{
    struct cmk_config *cfg;
    uint8_t sealed[1024], k[CMK_AUDIT_KEY_LEN];
    size_t len;
    json_t *o;

    (void)state;
    edit_config("{\"key_tenant\": \"beta\"}", NULL);
    cfg = load_cfg();
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    one_wrap(1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    expect_file_ok(1);
    o = audit_open(0);
    assert_string_equal(json_string_value(json_object_get(o, "tenant")),
                        "beta");
    len = sealed_of(o, sealed, sizeof(sealed));
    assert_int_equal(unseal_as(cfg, "alpha", "alpha", sealed, len, k),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(unseal_as(cfg, "beta", "beta", sealed, len, k), CMK_OK);
    json_decref(o);
    cmk_config_free(cfg);
}

/* blob as an envelope of alpha's current CMK version (the key id of a
 * real envelope), so only the context can refuse it. */
static void as_envelope(const uint8_t *real, size_t real_len, const uint8_t *ct,
                        size_t ct_len, struct cmk_buf *out)
{
    struct cmk_envelope_view v;
    char kid[256];

    assert_int_equal(cmk_envelope_parse(real, real_len, &v), CMK_OK);
    memcpy(kid, v.key_id, v.key_id_len);
    kid[v.key_id_len] = '\0';
    assert_int_equal(cmk_envelope_encode(v.provider_id, kid, ct, ct_len, out),
                     CMK_OK);
}

static CK_RV unwrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                    CK_OBJECT_HANDLE cmk, const uint8_t *blob, size_t len,
                    CK_OBJECT_HANDLE *k)
{
    CK_MECHANISM m = {mt, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_SENSITIVE, &yes, 1},
                           {CKA_EXTRACTABLE, &no, 1}};

    *k = 0;
    return p->C_UnwrapKey(h, &m, cmk, (CK_BYTE_PTR)(uintptr_t)blob,
                          (CK_ULONG)len, tmpl, 4, k);
}

/* The sealed key never opens through the CMK's unwrap or decrypt paths,
 * as it is and inside an envelope naming the right CMK version; a key
 * sealed under the DEK context in the same envelope does (the control). */
static void test_sealed_key_not_unwrappable(void **state)
{
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    struct cmk_config *cfg = load_cfg();
    struct cmk_buf fake = {0}, good = {0};
    struct cmk_cmk *c = NULL;
    struct cmk_req rq = {0};
    uint8_t sealed[1024], real[512], out[512], k32[32];
    CK_ULONG rn = sizeof(real), on = sizeof(out);
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek, k;
    size_t len;
    json_t *o;

    (void)state;
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    cmk = tp11_find_cmk(p, h);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, dek, real, &rn), CKR_OK);
    o = audit_open(0);
    len = sealed_of(o, sealed, sizeof(sealed));
    as_envelope(real, rn, sealed, len, &fake);
    assert_int_not_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, sealed, len, &k),
                         CKR_OK);
    assert_int_equal(k, 0);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, fake.p, fake.len, &k),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(k, 0);
    assert_int_not_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, sealed, len, &k),
                         CKR_OK);
    assert_int_not_equal(unwrap(h, CKM_AES_KEY_WRAP_PAD, cmk, sealed, len, &k),
                         CKR_OK);
    assert_int_equal(p->C_DecryptInit(h, &env, cmk), CKR_OK);
    assert_int_not_equal(p->C_Decrypt(h, fake.p, (CK_ULONG)fake.len, out, &on),
                         CKR_OK);
    /* control: the same envelope around a DEK-context ciphertext opens */
    randombytes_buf(k32, sizeof(k32));
    assert_int_equal(cmk_cmk_open(&cfg->tenants[0].kms, 0, &c), CMK_OK);
    assert_int_equal(cmk_cmk_seal(c, &rq, k32, sizeof(k32), &good), CMK_OK);
    assert_int_equal(unwrap(h, CKM_CMK_ENVELOPE, cmk, good.p, good.len, &k),
                     CKR_OK);
    assert_int_not_equal(k, 0);
    cmk_cmk_close(c);
    cmk_buf_free(&fake);
    cmk_buf_free(&good);
    json_decref(o);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    cmk_config_free(cfg);
}

/* A DEK envelope (or its provider ciphertext) does not open as an audit
 * key: the purpose in the context differs. */
static void test_dek_envelope_not_audit_key(void **state)
{
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    struct cmk_config *cfg = load_cfg();
    struct cmk_envelope_view v;
    uint8_t blob[512], k[CMK_AUDIT_KEY_LEN];
    CK_ULONG n = sizeof(blob);
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE dek;

    (void)state;
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = tp11_open_login(p, 0, CKF_SERIAL_SESSION);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    assert_int_equal(p->C_WrapKey(h, &env, tp11_find_cmk(p, h), dek, blob, &n),
                     CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(cmk_envelope_parse(blob, n, &v), CMK_OK);
    memset(k, 0, sizeof(k));
    assert_int_equal(unseal_as(cfg, "alpha", "alpha", v.ct, v.ct_len, k),
                     CMK_E_BAD_CIPHERTEXT);
    assert_true(sodium_is_zero(k, sizeof(k)));
    assert_int_equal(unseal_as(cfg, "alpha", "alpha", blob, n, k),
                     CMK_E_BAD_CIPHERTEXT);
    cmk_config_free(cfg);
}

/* A key tenant on an AWS endpoint nobody answers: sealing fails fast. */
static void unreachable_key_tenant(bool required)
{
    char creds[400], tenants[1200], audit[200];
    FILE *f;

    snprintf(creds, sizeof(creds), "%s/gamma-creds.json", tenv.dir);
    f = fopen(creds, "w");
    assert_non_null(f);
    fprintf(f, "{\"access_key_id\": \"AKIDEXAMPLE\", \"secret_access_key\": "
               "\"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"}\n");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(creds, 0600), 0);
    snprintf(tenants, sizeof(tenants),
             "[{\"label\": \"gamma\", \"provider\": \"aws\", \"key\": "
             "\"arn:aws:kms:eu-west-1:111122223333:key/"
             "1234abcd-12ab-34cd-56ef-1234567890ab\", \"region\": "
             "\"eu-west-1\", \"endpoint\": \"http://127.0.0.1:9\", "
             "\"login_required\": false, \"aws\": {\"credentials_file\": "
             "\"%s\"}}]",
             creds);
    snprintf(audit, sizeof(audit),
             "{\"key_tenant\": \"gamma\", \"required\": %s}",
             required ? "true" : "false");
    edit_config(audit, tenants);
}

static size_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* required: C_Initialize fails and nothing is written. */
static void test_seal_failure_required(void **state)
{
    (void)state;
    unreachable_key_tenant(true);
    unlink(tenv.audit);
    assert_int_equal(p->C_Initialize(NULL), CKR_DEVICE_ERROR);
    assert_int_equal(file_size(tenv.audit), 0);
    assert_int_equal(p->C_GetSlotList(CK_FALSE, NULL, &(CK_ULONG){0}),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
}

/* not required: the module runs, audit_open says null and why, the
 * failed sealing call is on record, and the writer cannot be verified. */
static void test_seal_failure_not_required(void **state)
{
    struct test_audit_rep rep;
    json_t *o;
    char *text;

    (void)state;
    unreachable_key_tenant(false);
    unlink(tenv.audit);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    one_wrap(0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    o = audit_open(0);
    assert_true(json_is_null(json_object_get(o, "sealed_key")));
    assert_string_equal(json_string_value(json_object_get(o, "tenant")),
                        "gamma");
    assert_string_equal(json_string_value(json_object_get(o, "provider")),
                        "aws");
    assert_string_equal(json_string_value(json_object_get(o, "detail")),
                        "chain key not sealed: network");
    text = read_all(tenv.audit);
    assert_non_null(strstr(text, "\"event\":\"kms_call\",\"op\":\"Encrypt\","
                                 "\"tenant\":\"gamma\",\"result\":"
                                 "\"CKR_DEVICE_ERROR\",\"provider\":\"aws\","));
    free(text);
    assert_int_equal(test_audit_check(tenv.audit, tenv.config, &rep), 1);
    assert_non_null(strstr(rep.first, NOT_SEALED));
    assert_int_equal(rep.sum.unverified, rep.sum.records);
    json_decref(o);
}

/* A forked child's C_Initialize opens a writer of its own (new id, new
 * K, its own audit_open); both writers verify and end with finalize. */
static void test_fork_child_writer(void **state)
{
    json_t *o1, *o2;
    int status;
    pid_t child;

    (void)state;
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    one_wrap(0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        CK_RV rv = p->C_Initialize(NULL);

        if (rv == CKR_OK) {
            one_wrap(1);
            rv = p->C_Finalize(NULL);
        }
        _exit(rv == CKR_OK ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    one_wrap(1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    expect_file_ok(2);
    o1 = audit_open(0);
    o2 = audit_open(1);
    assert_string_not_equal(json_string_value(json_object_get(o1, "writer")),
                            json_string_value(json_object_get(o2, "writer")));
    assert_int_equal(json_integer_value(json_object_get(o2, "pid")), child);
    assert_string_not_equal(
        json_string_value(json_object_get(o1, "sealed_key")),
        json_string_value(json_object_get(o2, "sealed_key")));
    json_decref(o1);
    json_decref(o2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_and_verified, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sealed_key_not_unwrappable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dek_envelope_not_audit_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seal_failure_required, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seal_failure_not_required, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_writer, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
