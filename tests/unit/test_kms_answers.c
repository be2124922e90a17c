/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: KMS answers are checked before the module keeps them, through
 * the PKCS#11 API on the local provider. A DEK or data plaintext of the
 * wrong length and a KEK that fails the tenant's commitment are refused
 * with CKR_DEVICE_ERROR and never cached (each later call asks the KMS
 * again, counted by the audit file's kms_call records); token objects
 * sealed under the right KEK stay readable; a KEK without a commitment is
 * refused with a message naming the command that adds one, and that
 * command (cmk-tool kek-commit) writes one only for a KEK that opens the
 * tenant's store.
 */
#include <config.h>

#include <fcntl.h>
#include <jansson.h>
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
static CK_BBOOL yes = CK_TRUE;

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

/* Sets (value) or removes (NULL) a member of tenant alpha in the config. */
static void set_alpha(const struct test_env *e, const char *key,
                      const char *value)
{
    json_error_t je;
    json_t *root = json_load_file(e->config, 0, &je), *t;

    assert_non_null(root);
    t = json_array_get(json_object_get(root, "tenants"), 0);
    assert_non_null(t);
    if (value != NULL)
        assert_int_equal(json_object_set_new(t, key, json_string(value)), 0);
    else
        assert_int_equal(json_object_del(t, key), 0);
    assert_int_equal(json_dump_file(root, e->config, JSON_INDENT(1)), 0);
    json_decref(root);
}

static const char *alpha_member(const struct test_env *e, const char *key,
                                char *out, size_t out_len)
{
    json_error_t je;
    json_t *root = json_load_file(e->config, 0, &je), *t;

    assert_non_null(root);
    t = json_array_get(json_object_get(root, "tenants"), 0);
    assert_true(json_is_string(json_object_get(t, key)));
    snprintf(out, out_len, "%s", json_string_value(json_object_get(t, key)));
    json_decref(root);
    return out;
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

static char kept[] = "kept";

/* The one object labelled kept, with *count the number found. */
static CK_OBJECT_HANDLE find_kept(CK_SESSION_HANDLE h, CK_ULONG *count)
{
    CK_ATTRIBUTE t[] = {{CKA_LABEL, kept, sizeof(kept) - 1}};
    CK_OBJECT_HANDLE o = 0;

    *count = 0;
    assert_int_equal(p->C_FindObjectsInit(h, t, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, &o, 1, count), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    return o;
}

static CK_RV kwp(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk, CK_OBJECT_HANDLE k,
                 uint8_t *out, CK_ULONG *len)
{
    CK_MECHANISM m = {CKM_AES_KEY_WRAP_KWP, NULL, 0};

    *len = 512;
    return p->C_WrapKey(h, &m, cmk, k, out, len);
}

/* A token object "kept", sealed under the right KEK; its KWP wrap. */
static CK_OBJECT_HANDLE make_kept(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                                  uint8_t *wrapped, CK_ULONG *len)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG vlen = 32;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &vlen, sizeof(vlen)},
                        {CKA_TOKEN, &yes, 1},
                        {CKA_EXTRACTABLE, &yes, 1},
                        {CKA_LABEL, kept, sizeof(kept) - 1}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_GenerateKey(h, &m, t, 4, &k), CKR_OK);
    assert_int_equal(kwp(h, cmk, k, wrapped, len), CKR_OK);
    return k;
}

static CK_RV gen_token_key(CK_SESSION_HANDLE h)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG vlen = 32;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &vlen, sizeof(vlen)},
                        {CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE k = 0;

    return p->C_GenerateKey(h, &m, t, 2, &k);
}

static CK_RV wrap_env(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE cmk,
                      CK_OBJECT_HANDLE k)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    uint8_t out[512];
    CK_ULONG n = sizeof(out);

    return p->C_WrapKey(h, &m, cmk, k, out, &n);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 65536);

    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    return buf;
}

/* While the KMS answers another 32-byte KEK, the commitment refuses it on
 * every call (each one a KMS call: nothing is cached), nothing is written
 * to the store under it, and the token objects sealed under the right KEK
 * are all there once the right KEK comes back. */
static void test_kek_commitment_mismatch(void **state)
{
    uint8_t wrong[32], before[512], after[512], tmp[512];
    char right_kek[512], b64[512], manifest[400];
    struct cmk_buf blob = {0};
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, k, dek;
    CK_ULONG n_before, n_after, n, count;
    size_t m_len, m2_len;
    char *m1, *m2;
    int calls, ok;

    (void)state;
    assert_int_equal(test_env_make_with(&e, CACHE), 0);
    h = start(&e, &cmk);
    make_kept(h, cmk, before, &n_before);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    ok = decrypts(&e, "\"result\":\"CKR_OK\"");
    snprintf(manifest, sizeof(manifest), "%s/store/alpha/manifest", e.dir);
    m1 = read_file(manifest, &m_len);

    randombytes_buf(wrong, sizeof(wrong));
    seal_for_alpha(&e, CMK_PURPOSE_KEK, wrong, sizeof(wrong), &blob);
    sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len,
                      sodium_base64_VARIANT_ORIGINAL);
    alpha_member(&e, "kek", right_kek, sizeof(right_kek));
    set_alpha(&e, "kek", b64); /* the commitment stays the right one's */
    h = start(&e, &cmk);
    find_kept(h, &count);
    assert_int_equal(count, 0); /* the store did not open */
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    calls = decrypts(&e, NULL);
    assert_int_equal(kwp(h, cmk, dek, tmp, &n), CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, NULL), calls + 1);
    assert_int_equal(kwp(h, cmk, dek, tmp, &n), CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, NULL), calls + 2);
    assert_true(decrypts(&e, "\"detail\":\"kek_commitment_mismatch\"") >= 2);
    assert_int_equal(decrypts(&e, "\"result\":\"CKR_OK\""), ok);
    assert_int_equal(gen_token_key(h), CKR_DEVICE_ERROR);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    m2 = read_file(manifest, &m2_len);
    assert_int_equal(m2_len, m_len); /* nothing written under that KEK */
    assert_memory_equal(m2, m1, m_len);

    set_alpha(&e, "kek", right_kek);
    h = start(&e, &cmk);
    k = find_kept(h, &count);
    assert_int_equal(count, 1);
    assert_int_equal(kwp(h, cmk, k, after, &n_after), CKR_OK);
    assert_int_equal(n_after, n_before);
    assert_memory_equal(after, before, n_before); /* same key, same KEK */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    free(m1);
    free(m2);
    cmk_buf_free(&blob);
    test_env_remove(&e);
}

/* stderr into path while a test looks at what the module says. */
static int stderr_to(const char *path)
{
    int saved, fd;

    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
}

/* A "kek" provisioned before commitments: the KEK path is refused before
 * any KMS call, and the module says once which command adds the
 * commitment; the direct path is not affected. */
static void test_kek_without_commitment(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t tmp[512];
    char log[400];
    CK_ULONG n;
    int saved;

    (void)state;
    assert_int_equal(test_env_make_with(&e, CACHE), 0);
    set_alpha(&e, "kek_commitment", NULL);
    snprintf(log, sizeof(log), "%s/stderr.txt", e.dir);
    saved = stderr_to(log);
    h = start(&e, &cmk);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    assert_int_equal(kwp(h, cmk, dek, tmp, &n), CKR_DEVICE_ERROR);
    assert_int_equal(kwp(h, cmk, dek, tmp, &n), CKR_DEVICE_ERROR);
    assert_int_equal(decrypts(&e, NULL), 0);
    assert_int_equal(wrap_env(h, cmk, dek), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    stderr_back(saved);
    assert_int_equal(count_lines(log,
                                 "cmk-pkcs11: tenant \"alpha\": its \"kek\" "
                                 "has no \"kek_commitment\"",
                                 "`cmk-tool kek-commit --config FILE "
                                 "--tenant alpha --write`"),
                     1);
    test_env_remove(&e);
}

/* Runs cmk-tool from the build tree with args; its stdout (one line,
 * without the newline) into out. Returns its exit status. */
static int tool(const struct test_env *e, const char *args, char *out,
                size_t cap)
{
    const char *top = getenv("top_builddir");
    char cmd[1400], path[400];
    size_t n;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/tool.out", e->dir);
    snprintf(cmd, sizeof(cmd), "'%s/cmk-tool' %s >'%s'",
             top != NULL ? top : ".", args, path);
    rc = system(cmd);
    assert_true(rc != -1 && WIFEXITED(rc));
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
    return WEXITSTATUS(rc);
}

/* An older config: alpha's KEK and token objects, no commitment. kek-commit
 * gives the commitment provisioning gave, but writes none while the KMS
 * answers a KEK that does not open the store; with one in place it only
 * checks. */
static void test_kek_commit_tool(void **state)
{
    char commit[128], got[128], right_kek[512], b64[512], args[700];
    uint8_t wrong[32];
    struct cmk_buf blob = {0};
    struct test_env e;
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk;
    uint8_t wrapped[512];
    CK_ULONG n, count;

    (void)state;
    assert_int_equal(test_env_make_with(&e, CACHE), 0);
    h = start(&e, &cmk);
    make_kept(h, cmk, wrapped, &n);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    alpha_member(&e, "kek_commitment", commit, sizeof(commit));
    alpha_member(&e, "kek", right_kek, sizeof(right_kek));
    set_alpha(&e, "kek_commitment", NULL);
    snprintf(args, sizeof(args), "kek-commit --config '%s' --tenant alpha",
             e.config);
    assert_int_equal(tool(&e, args, got, sizeof(got)), 0);
    assert_string_equal(got, commit);

    randombytes_buf(wrong, sizeof(wrong));
    seal_for_alpha(&e, CMK_PURPOSE_KEK, wrong, sizeof(wrong), &blob);
    sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len,
                      sodium_base64_VARIANT_ORIGINAL);
    set_alpha(&e, "kek", b64);
    snprintf(args, sizeof(args),
             "kek-commit --config '%s' --tenant alpha --write 2>'%s/err'",
             e.config, e.dir);
    assert_int_equal(tool(&e, args, got, sizeof(got)), 1);
    assert_string_equal(got, "");
    snprintf(b64, sizeof(b64), "%s/err", e.dir);
    assert_int_equal(count_lines(b64,
                                 "cmk-tool: tenant \"alpha\": the KEK "
                                 "the KMS answered does not open the "
                                 "token store",
                                 "no commitment written"),
                     1);
    sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len,
                      sodium_base64_VARIANT_ORIGINAL);
    set_alpha(&e, "kek", right_kek);
    assert_int_equal(tool(&e, args, got, sizeof(got)), 0);
    alpha_member(&e, "kek_commitment", got, sizeof(got));
    assert_string_equal(got, commit);
    h = start(&e, &cmk);
    find_kept(h, &count);
    assert_int_equal(count, 1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    set_alpha(&e, "kek", b64); /* committed now: a wrong KEK fails the check */
    assert_int_equal(tool(&e, args, got, sizeof(got)), 1);
    cmk_buf_free(&blob);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dek_wrong_length),
        cmocka_unit_test(test_data_too_long),
        cmocka_unit_test(test_kek_commitment_mismatch),
        cmocka_unit_test(test_kek_without_commitment),
        cmocka_unit_test(test_kek_commit_tool),
    };

    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
