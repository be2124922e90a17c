/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: cmk-tool rotate-kek on the local provider, through the module.
 * Token objects are re-sealed under the new KEK (they open with the old
 * KEK gone from the config) and stay readable before, during (a run
 * stopped part way, as by a crash) and after; the same command finishes
 * a stopped run from its journal, also with a torn last line; the config
 * gets the new KEK and the old one in previous_keks with its expiry;
 * exact data_key_rotation_started/completed records and a clean audit
 * verify; a held key-change lock refuses the run; at most four previous
 * KEKs, expired ones dropped (also by --finish). And the KEK-path rewrap
 * transform (tool/rewrap_kek.h) on RFC 5649, RFC 3394 and GCM blobs.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/audit_check.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "tool/rewrap_kek.h"
#include "tool/rotate_kek.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/clock.h"
#include "util/secpool.h"
#include "util/utc.h"

#define T0 INT64_C(1790000000) /* 2026-09-21T14:13:20Z */
#define T0_PLUS_24H "2026-09-22T14:13:20Z"
#define HOUR 3600

static int64_t wall = T0;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static const uint8_t k1[32] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t k2[32] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};

static int64_t fake_wall(void)
{
    return wall;
}

/* ---- Helpers ---- */

static json_t *alpha_json(const struct test_env *e, json_t **root)
{
    json_error_t je;

    *root = json_load_file(e->config, 0, &je);
    assert_non_null(*root);
    return json_array_get(json_object_get(*root, "tenants"), 0);
}

/* A string member of alpha ("kek_commitment"), copied. */
static char *alpha_str(const struct test_env *e, const char *key)
{
    json_t *root, *t = alpha_json(e, &root);
    char *s = strdup(json_string_value(json_object_get(t, key)));

    json_decref(root);
    return s;
}

static size_t n_prev(const struct test_env *e)
{
    json_t *root, *t = alpha_json(e, &root);
    size_t n = json_array_size(json_object_get(t, "previous_keks"));

    json_decref(root);
    return n;
}

/* A copy of the config without alpha's previous_keks: what opens there
 * is under the current KEK. */
static void config_without_prev(const struct test_env *e, char *out, size_t len)
{
    json_t *root, *t = alpha_json(e, &root);

    snprintf(out, len, "%s/noprev.json", e->dir);
    json_object_del(t, "previous_keks");
    assert_int_equal(json_dump_file(root, out, JSON_INDENT(1)), 0);
    assert_int_equal(chmod(out, 0600), 0);
    json_decref(root);
}

static CK_SESSION_HANDLE init(const char *config)
{
    setenv(CMK_CONFIG_ENV, config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    return tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
}

static void make_objects(const struct test_env *e, size_t n)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_SESSION_HANDLE h = init(e->config);
    uint8_t value[32];
    char label[16];
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, value, 32},         {CKA_TOKEN, &yes, 1},
        {CKA_SENSITIVE, &no, 1},        {CKA_EXTRACTABLE, &yes, 1},
        {CKA_ENCRYPT, &yes, 1},         {CKA_LABEL, label, 0}};
    CK_OBJECT_HANDLE k;
    size_t i;

    for (i = 0; i < n; i++) {
        memset(value, (int)(0x40 + i), sizeof(value));
        tmpl[7].ulValueLen =
            (CK_ULONG)snprintf(label, sizeof(label), "o%zu", i);
        assert_int_equal(p->C_CreateObject(h, tmpl, 8, &k), CKR_OK);
    }
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
}

/* Every object make_objects made opens with its value, through config. */
static size_t readable(const char *config, size_t n)
{
    CK_SESSION_HANDLE h = init(config);
    uint8_t value[32], want[32];
    char label[16];
    CK_ATTRIBUTE q = {CKA_LABEL, label, 0};
    CK_ATTRIBUTE v = {CKA_VALUE, value, 32};
    CK_OBJECT_HANDLE o[2];
    CK_ULONG got;
    size_t i, ok = 0;

    for (i = 0; i < n; i++) {
        q.ulValueLen = (CK_ULONG)snprintf(label, sizeof(label), "o%zu", i);
        assert_int_equal(p->C_FindObjectsInit(h, &q, 1), CKR_OK);
        assert_int_equal(p->C_FindObjects(h, o, 2, &got), CKR_OK);
        assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
        if (got != 1)
            continue;
        assert_int_equal(p->C_GetAttributeValue(h, o[0], &v, 1), CKR_OK);
        memset(want, (int)(0x40 + i), sizeof(want));
        assert_memory_equal(value, want, 32);
        ok++;
    }
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    return ok;
}

static int rotate(const struct test_env *e, size_t stop_after, bool finish)
{
    struct tool_rotkek_args a = {e->config, "alpha", 24,
                                 true,      finish,  stop_after};

    /* As cmk-tool's main does (C_Finalize freed the library context). */
    assert_int_equal(cmk_mech_init(), CKR_OK);
    return tool_rotkek_run(&a);
}

static bool journal_exists(const struct test_env *e)
{
    char path[400];

    snprintf(path, sizeof(path), "%s/store/alpha/%s", e->dir, TOOL_RKJ_NAME);
    return access(path, F_OK) == 0;
}

static int count_lines(const char *path, const char *a)
{
    char line[8192];
    FILE *f = fopen(path, "r");
    int n = 0;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        n += strstr(line, a) != NULL;
    fclose(f);
    return n;
}

static void audit_clean(const struct test_env *e)
{
    struct test_audit_rep rep;

    assert_int_equal(test_audit_check(e->audit, e->config, &rep), 0);
}

/* Runs rotate() with stderr captured into err. */
static int rotate_quiet(const struct test_env *e, char *err, size_t len)
{
    char path[400];
    int saved = dup(2), fd, rc;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", e->dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, 2);
    rc = rotate(e, 0, false);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, err, len - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

/* ---- Rotation ---- */

static void test_rotate_reseals(void **state)
{
    char noprev[400], want[1024];
    char *old_kek, *old_c, *new_c;
    struct test_env e;
    json_t *root, *t, *prev;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    make_objects(&e, 3);
    old_kek = alpha_str(&e, "kek");
    old_c = alpha_str(&e, "kek_commitment");
    assert_int_equal(rotate(&e, 0, false), TOOL_OK);
    assert_false(journal_exists(&e));
    new_c = alpha_str(&e, "kek_commitment");
    assert_string_not_equal(new_c, old_c);
    t = alpha_json(&e, &root);
    prev = json_array_get(json_object_get(t, "previous_keks"), 0);
    assert_int_equal(json_array_size(json_object_get(t, "previous_keks")), 1);
    assert_string_equal(json_string_value(json_object_get(prev, "kek")),
                        old_kek);
    assert_string_equal(
        json_string_value(json_object_get(prev, "kek_commitment")), old_c);
    assert_string_equal(json_string_value(json_object_get(prev, "expires")),
                        T0_PLUS_24H);
    json_decref(root);
    /* After: readable with the new config, and with the old KEK gone
     * from it, so every object is under the new KEK. */
    assert_int_equal(readable(e.config, 3), 3);
    config_without_prev(&e, noprev, sizeof(noprev));
    assert_int_equal(readable(noprev, 3), 3);
    snprintf(want, sizeof(want),
             "\"event\":\"data_key_rotation_started\",\"op\":\"cmk-tool "
             "rotate-kek\",\"tenant\":\"alpha\",\"result\":\"ok\","
             "\"detail\":\"" T0_PLUS_24H "\",\"key_old\":\"%s\","
             "\"key_new\":\"%s\"",
             old_c, new_c);
    assert_int_equal(count_lines(e.audit, want), 1);
    snprintf(want, sizeof(want),
             "\"event\":\"data_key_rotation_completed\",\"op\":\"cmk-tool "
             "rotate-kek\",\"tenant\":\"alpha\",\"result\":\"ok\","
             "\"key_old\":\"%s\",\"key_new\":\"%s\",\"count\":3",
             old_c, new_c);
    assert_int_equal(count_lines(e.audit, want), 1);
    audit_clean(&e);
    free(old_kek);
    free(old_c);
    free(new_c);
    test_env_remove(&e);
}

/* Appends text to the journal (a torn line: no newline). */
static void journal_append(const struct test_env *e, const char *text)
{
    char path[400];
    FILE *f;

    snprintf(path, sizeof(path), "%s/store/alpha/%s", e->dir, TOOL_RKJ_NAME);
    f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_resume_after_stop(void **state)
{
    char noprev[400];
    struct test_env e;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    make_objects(&e, 5);
    assert_int_equal(readable(e.config, 5), 5); /* before */
    assert_int_equal(rotate(&e, 2, false), TOOL_FAIL);
    assert_true(journal_exists(&e));
    assert_int_equal(n_prev(&e), 1);
    /* During: the module reads all five, two under the new KEK and three
     * through the previous one; without it only the two. */
    assert_int_equal(readable(e.config, 5), 5);
    config_without_prev(&e, noprev, sizeof(noprev));
    assert_int_equal(readable(noprev, 5), 2); /* the manifest moved too */
    assert_int_equal(rotate(&e, 1, false), TOOL_FAIL); /* one more */
    journal_append(&e, "done 0123"); /* a crash in the middle of a line */
    assert_int_equal(rotate(&e, 0, false), TOOL_OK);
    assert_false(journal_exists(&e));
    assert_int_equal(n_prev(&e), 1); /* the same rotation, not another */
    assert_int_equal(readable(e.config, 5), 5); /* after */
    config_without_prev(&e, noprev, sizeof(noprev));
    assert_int_equal(readable(noprev, 5), 5);
    assert_int_equal(
        count_lines(e.audit, "\"event\":\"data_key_rotation_started\""), 1);
    assert_int_equal(
        count_lines(e.audit, "\"event\":\"data_key_rotation_completed\""), 1);
    assert_int_equal(count_lines(e.audit, "\"count\":5,"), 1);
    audit_clean(&e);
    test_env_remove(&e);
}

static void test_damaged_journal(void **state)
{
    struct test_env e;
    char err[2048];

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    make_objects(&e, 2);
    assert_int_equal(rotate(&e, 1, false), TOOL_FAIL);
    journal_append(&e, "done ../../etc\n");
    assert_int_equal(rotate_quiet(&e, err, sizeof(err)), TOOL_FAIL);
    assert_non_null(strstr(err, TOOL_RKJ_NAME ": line 10: not a rotate-kek "
                                              "journal line"));
    test_env_remove(&e);
}

static void test_lock_held(void **state)
{
    struct tool_rotlock *l = NULL;
    struct cmk_config *cfg;
    struct test_env e;
    char err[2048], *before, *after;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    make_objects(&e, 1);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    cfg = tool_load_config(e.config);
    assert_non_null(cfg);
    assert_int_equal(tool_rotlock_take(&cfg->tenants[0], "rotate-cmk", 0, &l),
                     0);
    before = alpha_str(&e, "kek");
    assert_int_equal(rotate_quiet(&e, err, sizeof(err)), TOOL_FAIL);
    assert_non_null(strstr(err, "tenant \"alpha\": a key change is running: "
                                "rotate-cmk, pid "));
    assert_false(journal_exists(&e));
    after = alpha_str(&e, "kek");
    assert_string_equal(after, before); /* unchanged */
    free(after);
    assert_int_equal(n_prev(&e), 0);
    tool_rotlock_release(l);
    cmk_config_free(cfg);
    assert_int_equal(rotate(&e, 0, false), TOOL_OK);
    free(before);
    test_env_remove(&e);
}

static void test_cap_and_expiry(void **state)
{
    struct test_env e;
    char err[2048];
    int i;

    (void)state;
    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    make_objects(&e, 1);
    for (i = 0; i < 4; i++) {
        wall = T0 + i * HOUR;
        assert_int_equal(rotate(&e, 0, false), TOOL_OK);
    }
    assert_int_equal(n_prev(&e), 4);
    assert_int_equal(rotate_quiet(&e, err, sizeof(err)), TOOL_FAIL);
    assert_non_null(strstr(err, "4 previous KEKs are still in their overlap "
                                "window"));
    assert_int_equal(n_prev(&e), 4);
    /* The first expires: the next rotation drops it. */
    wall = T0 + 24 * HOUR;
    assert_int_equal(rotate(&e, 0, false), TOOL_OK);
    assert_int_equal(n_prev(&e), 4);
    /* All of them expire: --finish drops them, and the objects stay. */
    wall = T0 + 48 * HOUR;
    assert_int_equal(rotate(&e, 0, true), TOOL_OK);
    assert_int_equal(n_prev(&e), 0);
    assert_int_equal(readable(e.config, 1), 1);
    assert_int_equal(rotate(&e, 0, true), TOOL_OK); /* nothing to drop */
    assert_int_equal(
        count_lines(e.audit, "\"event\":\"data_key_rotation_completed\""), 5);
    audit_clean(&e);
    test_env_remove(&e);
}

/* ---- KEK-path rewrap transform ---- */

struct kekx {
    struct cmk_config *cfg;
    struct tool_rewrap_kek *x;
};

static void open_x(const struct test_env *e, enum tool_rewrap_kek_mech m,
                   struct kekx *k)
{
    assert_int_equal(cmk_mech_init(), CKR_OK);
    k->cfg = tool_load_config(e->config);
    assert_non_null(k->cfg);
    assert_int_equal(tool_rewrap_kek_open(&k->cfg->tenants[0], m, &k->x),
                     TOOL_OK);
}

static void close_x(struct kekx *k)
{
    tool_rewrap_kek_close(k->x);
    cmk_config_free(k->cfg);
}

static void op(const uint8_t *kek, CK_MECHANISM_TYPE mt, uint8_t *iv, bool wrap,
               const uint8_t *in, size_t len, uint8_t *out, size_t *n,
               CK_RV want)
{
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM m = {mt, mt == CKM_AES_GCM ? &gp : NULL,
                      mt == CKM_AES_GCM ? sizeof(gp) : 0};
    struct cmk_op *o = NULL;

    assert_int_equal(cmk_op_new(&m, CKK_AES, kek, 32, wrap, &o), CKR_OK);
    assert_int_equal(cmk_op_oneshot(o, in, len, out, n), want);
    cmk_op_free(o);
}

/* A blob of the key dek under kek, in the form rewrap_kek.h gives. */
static size_t blob_of(const uint8_t *kek, CK_MECHANISM_TYPE mt,
                      const uint8_t *dek, size_t dek_len, uint8_t *out)
{
    size_t iv = mt == CKM_AES_GCM ? 12 : 0, n = 200;

    memset(out, 0x5a, iv);
    op(kek, mt, out, true, dek, dek_len, out + iv, &n, CKR_OK);
    return iv + n;
}

static void rewrap_one(enum tool_rewrap_kek_mech m, CK_MECHANISM_TYPE mt,
                       size_t dek_len)
{
    static const uint8_t dek[24] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0xaa};
    size_t iv = mt == CKM_AES_GCM ? 12 : 0, n, len, len2;
    struct test_env e;
    struct cmk_buf out = {0}, out2 = {0};
    uint8_t blob[256], key[256], junk[64];
    struct kekx k;
    bool already = true;

    wall = T0;
    assert_int_equal(test_env_make_keys(&e, "", NULL, k1), 0);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    len = blob_of(k1, mt, dek, dek_len, blob);
    assert_int_equal(test_env_rotate_kek(&e, k2, T0 + HOUR, NULL), 0);
    open_x(&e, m, &k);
    assert_int_equal(tool_rewrap_kek_one(k.x, blob, len, &out, &already),
                     TOOL_OK);
    assert_false(already);
    /* Now under K2 (a fresh IV for GCM), the same key inside. */
    n = sizeof(key);
    op(k2, mt, out.p, false, out.p + iv, out.len - iv, key, &n, CKR_OK);
    assert_int_equal(n, dek_len);
    assert_memory_equal(key, dek, dek_len);
    if (iv != 0)
        assert_memory_not_equal(out.p, blob, iv);
    n = sizeof(key);
    op(k1, mt, out.p, false, out.p + iv, out.len - iv, key, &n,
       CKR_ENCRYPTED_DATA_INVALID);
    /* Its output is already under the current KEK. */
    assert_int_equal(tool_rewrap_kek_one(k.x, out.p, out.len, &out2, &already),
                     TOOL_OK);
    assert_true(already);
    assert_int_equal(out2.len, 0);
    /* Tampered, too short, or under no KEK of the tenant: refused. */
    blob[len - 1] ^= 1;
    assert_int_equal(tool_rewrap_kek_one(k.x, blob, len, &out2, &already),
                     TOOL_FAIL);
    blob[len - 1] ^= 1;
    assert_int_equal(tool_rewrap_kek_one(k.x, blob, iv + 8, &out2, &already),
                     TOOL_FAIL);
    randombytes_buf(junk, sizeof(junk));
    len2 = blob_of(junk, mt, dek, dek_len, blob + 100);
    assert_int_equal(
        tool_rewrap_kek_one(k.x, blob + 100, len2, &out2, &already), TOOL_FAIL);
    close_x(&k);
    /* After the window the old KEK is not even unsealed. */
    wall = T0 + HOUR;
    open_x(&e, m, &k);
    assert_int_equal(tool_rewrap_kek_one(k.x, blob, len, &out2, &already),
                     TOOL_FAIL);
    close_x(&k);
    cmk_buf_free(&out);
    cmk_buf_free(&out2);
    test_env_remove(&e);
}

static void test_rewrap_kwp(void **state)
{
    (void)state;
    rewrap_one(TOOL_RWK_KWP, CKM_AES_KEY_WRAP_KWP, 20);
}

static void test_rewrap_kw(void **state)
{
    (void)state;
    rewrap_one(TOOL_RWK_KW, CKM_AES_KEY_WRAP, 24);
}

static void test_rewrap_gcm(void **state)
{
    (void)state;
    rewrap_one(TOOL_RWK_GCM, CKM_AES_GCM, 16);
}

static void test_rewrap_mech_names(void **state)
{
    enum tool_rewrap_kek_mech m = TOOL_RWK_KW;

    (void)state;
    assert_true(tool_rewrap_kek_mech("kwp", &m));
    assert_int_equal(m, TOOL_RWK_KWP);
    assert_true(tool_rewrap_kek_mech("gcm", &m));
    assert_int_equal(m, TOOL_RWK_GCM);
    assert_false(tool_rewrap_kek_mech("KWP", &m));
    assert_false(tool_rewrap_kek_mech("cbc", &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotate_reseals),
        cmocka_unit_test(test_resume_after_stop),
        cmocka_unit_test(test_damaged_journal),
        cmocka_unit_test(test_lock_held),
        cmocka_unit_test(test_cap_and_expiry),
        cmocka_unit_test(test_rewrap_kwp),
        cmocka_unit_test(test_rewrap_kw),
        cmocka_unit_test(test_rewrap_gcm),
        cmocka_unit_test(test_rewrap_mech_names),
    };
    int rc;

    cmk_clock_set_wall_source(fake_wall);
    if (cmk_C_GetFunctionList(&p) != CKR_OK || cmk_mech_init() != CKR_OK ||
        cmk_secpool_init() != CMK_OK)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cmk_secpool_fini();
    cmk_mech_fini();
    return rc != 0;
}
