/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: token objects shared by processes through the store, driven
 * through the module's function list, with forked processes that
 * initialise the module on their own: old object files copied back,
 * deleted ones restored or removed (refused); changes and destruction in
 * one process seen by the next use in another (compare-and-swap writes);
 * eight threads opening the first sessions at once (one copy of each
 * object, handles stable across a refresh); and nothing read from the
 * store, no KMS call, before login on a login-required token.
 */
#include <config.h>

#include <pthread.h>
#include <spawn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define SLOT_LOGIN 0   /* alpha: login required */
#define SLOT_NOLOGIN 1 /* beta: login_required false */
#define THREADS 8
#define ROUNDS 12
#define RW (CKF_SERIAL_SESSION | CKF_RW_SESSION)

static struct test_env tenv;
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

/* beta becomes a token without login (public objects load at once). */
static int no_login_for_beta(const char *config)
{
    static const char from[] = "{\"label\": \"beta\", ";
    char buf[8192], out[8300];
    FILE *f = fopen(config, "r");
    size_t n;
    char *at;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    at = strstr(buf, from);
    if (at == NULL)
        return -1;
    *at = '\0';
    snprintf(out, sizeof(out), "%s%s\"login_required\": false, %s", buf, from,
             at + sizeof(from) - 1);
    f = fopen(config, "w");
    if (f == NULL)
        return -1;
    fputs(out, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0 || no_login_for_beta(tenv.config) != 0)
        return -1;
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (getenv("KEEP") == NULL)
        test_env_remove(&tenv);
    return 0;
}

static int init(void **state)
{
    (void)state;
    return p->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int fini(void **state)
{
    (void)state;
    return p->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

/* ---- Helpers (no cmocka asserts: also used in child processes) ---- */

static CK_RV gen_key(CK_SESSION_HANDLE h, const char *label, CK_BBOOL priv,
                     CK_BBOOL extractable, CK_OBJECT_HANDLE *k)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &yes, sizeof(yes)},
                           {CKA_PRIVATE, &priv, sizeof(priv)},
                           {CKA_EXTRACTABLE, &extractable, 1},
                           {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)},
                           {CKA_ID, (void *)(uintptr_t)label, strlen(label)}};

    return p->C_GenerateKey(h, &m, tmpl, 6, k);
}

/* Handles of objects with CKA_ID id (NULL: every object). */
static CK_ULONG find_id(CK_SESSION_HANDLE h, const char *id,
                        CK_OBJECT_HANDLE *out, CK_ULONG max)
{
    CK_ATTRIBUTE tmpl[] = {
        {CKA_ID, (void *)(uintptr_t)id, id ? strlen(id) : 0}};
    CK_ULONG n = 0;

    if (p->C_FindObjectsInit(h, tmpl, id ? 1 : 0) != CKR_OK ||
        p->C_FindObjects(h, out, max, &n) != CKR_OK ||
        p->C_FindObjectsFinal(h) != CKR_OK)
        return 999;
    return n;
}

static CK_RV get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                      CK_ATTRIBUTE_TYPE type, CK_BBOOL *v)
{
    CK_ATTRIBUTE a = {type, v, sizeof(*v)};

    return p->C_GetAttributeValue(h, k, &a, 1);
}

static CK_RV set_label(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                       const char *label)
{
    CK_ATTRIBUTE a = {CKA_LABEL, (void *)(uintptr_t)label, strlen(label)};

    return p->C_SetAttributeValue(h, k, &a, 1);
}

static bool label_is(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, const char *label)
{
    char buf[64];
    CK_ATTRIBUTE a = {CKA_LABEL, buf, sizeof(buf)};

    return p->C_GetAttributeValue(h, k, &a, 1) == CKR_OK &&
           a.ulValueLen == strlen(label) &&
           memcmp(buf, label, a.ulValueLen) == 0;
}

static CK_RV wrap(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CMK_IS_CMK, &t, sizeof(t)}};
    CK_OBJECT_HANDLE cmk = 0;
    CK_ULONG n = 0;
    uint8_t buf[128];

    if (p->C_FindObjectsInit(h, tmpl, 1) != CKR_OK ||
        p->C_FindObjects(h, &cmk, 1, &n) != CKR_OK ||
        p->C_FindObjectsFinal(h) != CKR_OK || n != 1)
        return CKR_GENERAL_ERROR;
    n = sizeof(buf);
    return p->C_WrapKey(h, &kwp, cmk, k, buf, &n);
}

static CK_RV encrypt_init(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k)
{
    uint8_t iv[12] = {0};
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_RV rv = p->C_EncryptInit(h, &m, k);

    if (rv == CKR_OK) { /* end it again */
        uint8_t ct[64];
        CK_ULONG n = sizeof(ct);
        CK_BYTE one = 'x';

        (void)p->C_Encrypt(h, &one, 1, ct, &n);
    }
    return rv;
}

/* The store file of token object k. */
static void path_of(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, char *path,
                    size_t len)
{
    char uid[32] = {0};
    CK_ATTRIBUTE a = {CKA_UNIQUE_ID, uid, sizeof(uid) - 1};

    assert_int_equal(p->C_GetAttributeValue(h, k, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, 16);
    snprintf(path, len, "%s/store/alpha/%s.obj", tenv.dir, uid);
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* What an attacker with write access to the directory does: put bytes
 * back under the name (a new file, renamed over the old one). */
static void put_back(const char *path, const uint8_t *buf, size_t len)
{
    char tmp[300];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.evil", path);
    f = fopen(tmp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

/* Runs fn in another process with its own module instance; returns its
 * exit status (0 when fn returned 0). */
static int in_child(int (*fn)(const void *arg), const void *arg)
{
    pid_t pid = fork();
    int status = 0, rc;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (p->C_Initialize(NULL) != CKR_OK)
            _exit(90);
        rc = fn(arg);
        (void)p->C_Finalize(NULL);
        _exit(rc);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The same as a new program (this one, "--relabel ID LABEL"), for when
 * other threads are inside the module: posix_spawn runs no fork handlers
 * and the child inherits no lock they hold. */
static char self[4096];

static int exec_relabel(const char *id, const char *label)
{
    char *argv[] = {self, (char *)(uintptr_t) "--relabel",
                    (char *)(uintptr_t)id, (char *)(uintptr_t)label, NULL};
    pid_t pid;
    int status = 0;

    assert_int_equal(posix_spawn(&pid, self, NULL, NULL, argv, environ), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static CK_SESSION_HANDLE child_login(void)
{
    static CK_UTF8CHAR pin[] = TEST_PIN;
    CK_SESSION_HANDLE h = 0;

    if (p->C_OpenSession(SLOT_LOGIN, RW, NULL, NULL, &h) != CKR_OK ||
        p->C_Login(h, CKU_USER, pin, sizeof(pin) - 1) != CKR_OK)
        return 0;
    return h;
}

/* ---- (a) replayed, restored and deleted files ---- */

/* Child: the object with CKA_ID id is not there (count 0), or, when
 * want == 1, is there and cannot be wrapped. */
struct look {
    const char *id;
    CK_ULONG want;
};

static int child_look(const void *arg)
{
    const struct look *l = arg;
    CK_SESSION_HANDLE h = child_login();
    CK_OBJECT_HANDLE k[4];
    CK_ULONG n;

    if (h == 0)
        return 10;
    n = find_id(h, l->id, k, 4);
    if (n != l->want) {
        fprintf(stderr, "child: %lu objects with id %s, want %lu\n", n, l->id,
                l->want);
        return 11;
    }
    if (n == 1 && wrap(h, k[0]) != CKR_KEY_UNEXTRACTABLE) {
        fprintf(stderr, "child: %s could be wrapped\n", l->id);
        return 12;
    }
    return 0;
}

static void test_old_file_copied_back_refused(void **state)
{
    static const struct look gone = {"a-replay", 0}, back = {"a-replay", 1};
    static uint8_t old[4096], cur[4096];
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_ATTRIBUTE ext = {CKA_EXTRACTABLE, &no, sizeof(no)};
    CK_OBJECT_HANDLE k;
    char path[300];
    size_t n_old, n_cur;

    (void)state;
    assert_int_equal(gen_key(h, "a-replay", CK_TRUE, CK_TRUE, &k), CKR_OK);
    path_of(h, k, path, sizeof(path));
    n_old = slurp(path, old, sizeof(old));
    assert_int_equal(p->C_SetAttributeValue(h, k, &ext, 1), CKR_OK);
    n_cur = slurp(path, cur, sizeof(cur));
    put_back(path, old, n_old); /* extractable again? */
    /* Another process: the stale file is refused, nothing to wrap. */
    assert_int_equal(in_child(child_look, &gone), 0);
    /* This process: the next use sees the file changed and refuses it. */
    assert_int_equal(wrap(h, k), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(find_id(h, "a-replay", &k, 1), 0);
    /* The current file put back loads again, still non-extractable. */
    put_back(path, cur, n_cur);
    assert_int_equal(in_child(child_look, &back), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void test_destroyed_object_restored_refused(void **state)
{
    static const struct look gone = {"a-destroyed", 0};
    static uint8_t old[4096];
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_OBJECT_HANDLE k;
    char path[300];
    size_t n;

    (void)state;
    assert_int_equal(gen_key(h, "a-destroyed", CK_TRUE, CK_TRUE, &k), CKR_OK);
    path_of(h, k, path, sizeof(path));
    n = slurp(path, old, sizeof(old));
    assert_int_equal(p->C_DestroyObject(h, k), CKR_OK);
    put_back(path, old, n);
    assert_int_equal(in_child(child_look, &gone), 0);
    assert_int_equal(find_id(h, "a-destroyed", &k, 1), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void test_deleted_file_not_used(void **state)
{
    static const struct look gone = {"a-deleted", 0};
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_OBJECT_HANDLE k;
    char path[300];

    (void)state;
    assert_int_equal(gen_key(h, "a-deleted", CK_TRUE, CK_FALSE, &k), CKR_OK);
    assert_int_equal(encrypt_init(h, k), CKR_OK);
    path_of(h, k, path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(encrypt_init(h, k), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(in_child(child_look, &gone), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* A consistent older snapshot (manifest and file from before the change)
 * put back while the module is finalised: this process has seen the newer
 * manifest, so it refuses the store after C_Initialize too. */
static void test_older_snapshot_after_reinit_refused(void **state)
{
    static uint8_t old_m[65536], old_f[4096], cur_m[65536], cur_f[4096];
    static CK_UTF8CHAR pin[] = TEST_PIN;
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_ATTRIBUTE ext = {CKA_EXTRACTABLE, &no, sizeof(no)};
    CK_OBJECT_HANDLE k;
    char path[300], manifest[300];
    size_t n_om, n_of, n_cm, n_cf;

    (void)state;
    snprintf(manifest, sizeof(manifest), "%s/store/alpha/manifest", tenv.dir);
    assert_int_equal(gen_key(h, "a-snap", CK_TRUE, CK_TRUE, &k), CKR_OK);
    path_of(h, k, path, sizeof(path));
    n_om = slurp(manifest, old_m, sizeof(old_m));
    n_of = slurp(path, old_f, sizeof(old_f));
    assert_int_equal(p->C_SetAttributeValue(h, k, &ext, 1), CKR_OK);
    n_cm = slurp(manifest, cur_m, sizeof(cur_m));
    n_cf = slurp(path, cur_f, sizeof(cur_f));
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    put_back(manifest, old_m, n_om);
    put_back(path, old_f, n_of);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_OpenSession(SLOT_LOGIN, RW, NULL, NULL, &h), CKR_OK);
    assert_int_equal(p->C_Login(h, CKU_USER, pin, sizeof(pin) - 1), CKR_OK);
    assert_int_equal(find_id(h, "a-snap", &k, 1), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    /* The current state put back is accepted again. */
    put_back(manifest, cur_m, n_cm);
    put_back(path, cur_f, n_cf);
    h = tp11_open_login(p, SLOT_LOGIN, RW);
    assert_int_equal(find_id(h, "a-snap", &k, 1), 1);
    assert_int_equal(wrap(h, k), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* ---- (b) another process changes and destroys ---- */

struct change {
    const char *id;
    int what; /* 0: set non-extractable, 1: check, 2: destroy, 3: label */
};

static int child_change(const void *arg)
{
    const struct change *c = arg;
    CK_SESSION_HANDLE h = child_login();
    CK_ATTRIBUTE ext = {CKA_EXTRACTABLE, &no, sizeof(no)};
    CK_OBJECT_HANDLE k;
    CK_BBOOL v = CK_TRUE;

    if (h == 0 || find_id(h, c->id, &k, 1) != 1)
        return 20;
    switch (c->what) {
    case 0:
        return p->C_SetAttributeValue(h, k, &ext, 1) == CKR_OK ? 0 : 21;
    case 1: /* still non-extractable, label not written back */
        if (get_bool(h, k, CKA_EXTRACTABLE, &v) != CKR_OK || v != CK_FALSE)
            return 22;
        return label_is(h, k, "b-key") ? 0 : 23;
    case 2:
        return p->C_DestroyObject(h, k) == CKR_OK ? 0 : 24;
    default:
        return set_label(h, k, "from-child") == CKR_OK ? 0 : 25;
    }
}

static void test_change_in_other_process(void **state)
{
    static const struct change unext = {"b-key", 0}, check = {"b-key", 1},
                               destroy = {"b-key", 2};
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_OBJECT_HANDLE k;
    CK_BBOOL v = CK_TRUE;

    (void)state;
    assert_int_equal(gen_key(h, "b-key", CK_TRUE, CK_TRUE, &k), CKR_OK);
    assert_int_equal(wrap(h, k), CKR_OK);
    assert_int_equal(in_child(child_change, &unext), 0);
    /* A harmless change based on the old attributes: compare-and-swap
     * lost, nothing written back. */
    assert_int_equal(set_label(h, k, "b-stale"), CKR_FUNCTION_FAILED);
    assert_int_equal(in_child(child_change, &check), 0);
    /* The next use has the new attributes. */
    assert_int_equal(wrap(h, k), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(get_bool(h, k, CKA_EXTRACTABLE, &v), CKR_OK);
    assert_int_equal(v, CK_FALSE);
    /* Now up to date: the change goes through. */
    assert_int_equal(set_label(h, k, "b-stale"), CKR_OK);
    assert_true(label_is(h, k, "b-stale"));
    /* Destroyed elsewhere: gone here too. */
    assert_int_equal(in_child(child_change, &destroy), 0);
    assert_int_equal(encrypt_init(h, k), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(get_bool(h, k, CKA_EXTRACTABLE, &v),
                     CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(find_id(h, "b-key", &k, 1), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void test_stale_destroy_refused(void **state)
{
    static const struct change relabel = {"b-other", 3};
    CK_SESSION_HANDLE h = tp11_open_login(p, SLOT_LOGIN, RW);
    CK_OBJECT_HANDLE k;

    (void)state;
    assert_int_equal(gen_key(h, "b-other", CK_TRUE, CK_FALSE, &k), CKR_OK);
    assert_int_equal(in_child(child_change, &relabel), 0);
    assert_int_equal(p->C_DestroyObject(h, k), CKR_FUNCTION_FAILED);
    assert_true(label_is(h, k, "from-child"));
    assert_int_equal(p->C_DestroyObject(h, k), CKR_OK);
    assert_int_equal(find_id(h, "b-other", &k, 1), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* ---- (c) eight threads open the first sessions at once ---- */

static pthread_barrier_t barrier;
static CK_SESSION_HANDLE opened[THREADS];

static void *open_one(void *arg)
{
    int i = (int)(intptr_t)arg;

    pthread_barrier_wait(&barrier);
    if (p->C_OpenSession(SLOT_NOLOGIN, RW, NULL, NULL, &opened[i]) != CKR_OK)
        opened[i] = 0;
    return NULL;
}

static int child_relabel_pub(const void *arg)
{
    CK_SESSION_HANDLE h = 0;
    CK_OBJECT_HANDLE k;

    (void)arg;
    if (p->C_OpenSession(SLOT_NOLOGIN, RW, NULL, NULL, &h) != CKR_OK ||
        find_id(h, "c-pub", &k, 1) != 1)
        return 30;
    return set_label(h, k, "c-relabelled") == CKR_OK ? 0 : 31;
}

static void test_first_sessions_in_threads(void **state)
{
    pthread_t th[THREADS];
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k[4], k2[4];
    int round, i;

    (void)state;
    assert_int_equal(p->C_OpenSession(SLOT_NOLOGIN, RW, NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(gen_key(h, "c-pub", CK_FALSE, CK_FALSE, &k[0]), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    for (round = 0; round < ROUNDS; round++) {
        assert_int_equal(p->C_Finalize(NULL), CKR_OK);
        assert_int_equal(p->C_Initialize(NULL), CKR_OK);
        assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS), 0);
        for (i = 0; i < THREADS; i++)
            assert_int_equal(
                pthread_create(&th[i], NULL, open_one, (void *)(intptr_t)i), 0);
        for (i = 0; i < THREADS; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&barrier);
        for (i = 0; i < THREADS; i++)
            assert_int_not_equal(opened[i], 0);
        assert_int_equal(find_id(opened[round % THREADS], "c-pub", k, 4), 1);
        assert_int_equal(find_id(opened[0], "c-pub", k2, 4), 1);
        assert_int_equal(k2[0], k[0]);
    }
    /* Another process changes the object: the refresh keeps the handle
     * and brings the new attributes. */
    assert_int_equal(in_child(child_relabel_pub, NULL), 0);
    assert_int_equal(find_id(opened[1], "c-pub", k2, 4), 1);
    assert_int_equal(k2[0], k[0]);
    assert_true(label_is(opened[1], k[0], "c-relabelled"));
    for (i = 0; i < THREADS; i++)
        assert_int_equal(p->C_CloseSession(opened[i]), CKR_OK);
}

/* Threads use and find a token key while other processes change it: the
 * handle never changes, every use succeeds, every search finds it once. */
static CK_OBJECT_HANDLE shared_key;
static int stop_users, user_errors;

static void *use_loop(void *arg)
{
    CK_SESSION_HANDLE h = (CK_SESSION_HANDLE)(uintptr_t)arg;
    CK_OBJECT_HANDLE k[4];
    CK_RV rv;

    while (!__atomic_load_n(&stop_users, __ATOMIC_ACQUIRE)) {
        rv = encrypt_init(h, shared_key);
        if (rv != CKR_OK || find_id(h, "c-use", k, 4) != 1 ||
            k[0] != shared_key) {
            fprintf(stderr, "use: 0x%lx\n", rv);
            __atomic_add_fetch(&user_errors, 1, __ATOMIC_SEQ_CST);
        }
    }
    return NULL;
}

/* "--relabel ID LABEL": a separate program run of this test binary. */
static int relabel_main(const char *id, const char *label)
{
    CK_SESSION_HANDLE h = 0;
    CK_OBJECT_HANDLE k;
    int rc = 0;

    if (cmk_C_GetFunctionList(&p) != CKR_OK || p->C_Initialize(NULL) != CKR_OK)
        return 40;
    if (p->C_OpenSession(SLOT_NOLOGIN, RW, NULL, NULL, &h) != CKR_OK ||
        find_id(h, id, &k, 1) != 1)
        rc = 41;
    else if (set_label(h, k, label) != CKR_OK)
        rc = 42;
    (void)p->C_Finalize(NULL);
    return rc;
}

static void test_uses_during_refresh(void **state)
{
    static const char *const labels[] = {"u1", "u2", "u3", "u4", "u5"};
    CK_SESSION_HANDLE h[THREADS];
    pthread_t th[THREADS];
    int i;

    (void)state;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(p->C_OpenSession(SLOT_NOLOGIN, RW, NULL, NULL, &h[i]),
                         CKR_OK);
    assert_int_equal(gen_key(h[0], "c-use", CK_FALSE, CK_FALSE, &shared_key),
                     CKR_OK);
    stop_users = user_errors = 0;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, use_loop, (void *)(uintptr_t)h[i]), 0);
    for (i = 0; i < 5; i++)
        assert_int_equal(exec_relabel("c-use", labels[i]), 0);
    __atomic_store_n(&stop_users, 1, __ATOMIC_RELEASE);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(user_errors, 0);
    assert_true(label_is(h[0], shared_key, "u5"));
    for (i = 0; i < THREADS; i++)
        assert_int_equal(p->C_CloseSession(h[i]), CKR_OK);
}

/* ---- (d) nothing before login ---- */

static size_t count_in_audit(const char *what)
{
    static char buf[1 << 20];
    FILE *f = fopen(tenv.audit, "r");
    size_t n, hits = 0;
    const char *at;

    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (at = buf; (at = strstr(at, what)) != NULL; at++)
        hits++;
    return hits;
}

static void test_nothing_before_login(void **state)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k[4];
    CK_ATTRIBUTE tok = {CKA_TOKEN, &yes, sizeof(yes)};
    CK_ULONG n = 0;

    (void)state;
    h = tp11_open_login(p, SLOT_LOGIN, RW);
    assert_int_equal(gen_key(h, "d-pub", CK_FALSE, CK_FALSE, &k[0]), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK); /* logs out */
    /* After logout: no token object left in sight. */
    assert_int_equal(p->C_OpenSession(SLOT_LOGIN, RW, NULL, NULL, &h), CKR_OK);
    assert_int_equal(find_id(h, "d-pub", k, 4), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    /* A fresh start: open, search, try to create, all before login. */
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(truncate(tenv.audit, 0), 0);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_OpenSession(SLOT_LOGIN, RW, NULL, NULL, &h), CKR_OK);
    assert_int_equal(find_id(h, NULL, k, 4), 0);
    assert_int_equal(p->C_FindObjectsInit(h, &tok, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, k, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gen_key(h, "d-new", CK_FALSE, CK_FALSE, &k[0]),
                     CKR_USER_NOT_LOGGED_IN);
    /* The one KMS call before login seals the audit chain key (an
     * Encrypt, at C_Initialize): no KEK unseal, no store load. */
    assert_int_equal(count_in_audit("\"kms_call\""),
                     count_in_audit("\"detail\":\"audit chain key\""));
    assert_int_equal(count_in_audit("\"kms_call\""), 1);
    /* After login the store loads (one KEK unseal). */
    {
        static CK_UTF8CHAR pin[] = TEST_PIN;

        assert_int_equal(p->C_Login(h, CKU_USER, pin, sizeof(pin) - 1), CKR_OK);
    }
    assert_int_equal(find_id(h, "d-pub", k, 4), 1);
    assert_true(count_in_audit("\"kms_call\"") >= 2);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, init, fini)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        T(test_old_file_copied_back_refused),
        T(test_destroyed_object_restored_refused),
        T(test_deleted_file_not_used),
        T(test_older_snapshot_after_reinit_refused),
        T(test_change_in_other_process),
        T(test_stale_destroy_refused),
        T(test_first_sessions_in_threads),
        T(test_uses_during_refresh),
        T(test_nothing_before_login),
    };

    if (argc == 4 && strcmp(argv[1], "--relabel") == 0)
        return relabel_main(argv[2], argv[3]);
    if (readlink("/proc/self/exe", self, sizeof(self) - 1) < 0)
        return 99;
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
