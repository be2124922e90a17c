/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the module under the application's mutexes (CreateMutex and the
 * others in CK_C_INITIALIZE_ARGS, flags 0), which count every mutex's
 * creation, destruction and lock/unlock pairs, per mutex and per thread.
 * Threads unwrap, encrypt and edit token objects; checked: each lock is
 * unlocked by the thread that took it, the counts balance, every mutex
 * made is destroyed by C_Finalize, the session, DEK cache and KEK paths
 * really lock, and no mutex is held while a provider call runs or while
 * the store writes (the provider and the write helpers are wrapped at
 * link time: -Wl,--wrap, see pkcs11.mk). Each mutex is named after the
 * module function that made it: CreateMutex's backtrace against the
 * extents nm gives for a few functions (they are hidden symbols).
 */
#include <config.h>

#include <execinfo.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "core/module.h"
#include "core/session.h"
#include "core/token.h"
#include "core/token_store.h"
#include "keys/cache.h"
#include "keys/cmk.h"
#include "pkcs11/entry.h"
#include "providers/provider.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"
#include "util/fdio.h"

#define THREADS 4
#define ROUNDS 40
#define N(a) (sizeof(a) / sizeof((a)[0]))

static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE;

/* ---- The application's mutexes ---- */

struct app_mx {
    pthread_mutex_t m;
    pthread_t owner; /* while locked */
    bool locked;
    bool destroyed;
    unsigned long locks, unlocks;
    const char *kind; /* which part of the module made it */
    struct app_mx *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct app_mx *registry;
static __thread int held; /* application mutexes this thread holds */
static __thread unsigned long thread_locks, thread_unlocks;
/* Broken rules (a lock released by another thread, a relock, a lock
 * destroyed while held or twice, a lock left held) and failed calls,
 * counted from any thread: threads must not call cmocka. */
static int rule_breaks, held_in_provider, held_in_write, call_failures;
static int provider_calls, store_writes;

static void count(int *what)
{
    __atomic_add_fetch(what, 1, __ATOMIC_SEQ_CST);
}

typedef void (*any_fn)(void);

/* Functions that make locks; a mutex is named after the innermost of them
 * on CreateMutex's stack (cmk_token_new calls cmk_cmk_open, say). */
static struct {
    const char *name, *kind;
    any_fn fn;
    uintptr_t lo, hi; /* where its code is, from its address and size */
} makers[] = {
    {"cmk_session_open", "session", (any_fn)cmk_session_open, 0, 0},
    {"cmk_cache_new", "cache", (any_fn)cmk_cache_new, 0, 0},
    {"cmk_cmk_open", "kek", (any_fn)cmk_cmk_open, 0, 0},
    {"cmk_token_store_init", "store", (any_fn)cmk_token_store_init, 0, 0},
    {"cmk_token_new", "token", (any_fn)cmk_token_new, 0, 0},
    {"cmk_audit_open", "audit", (any_fn)cmk_audit_open, 0, 0},
    {"cmk_module_initialize", "module", (any_fn)cmk_module_initialize, 0, 0},
};

/* Sizes from this program's symbol table; 0 when all were found. */
static int find_makers(void)
{
    char self[400], cmd[512], line[512], name[256], type;
    unsigned long addr, size;
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    size_t i, found = 0;
    FILE *f;

    if (len <= 0 || memchr(self, '\'', (size_t)len) != NULL)
        return -1;
    self[len] = '\0';
    snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", self);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%lx %lx %c %255s", &addr, &size, &type, name) != 4)
            continue;
        for (i = 0; i < N(makers); i++) {
            if (strcmp(name, makers[i].name) == 0 && makers[i].hi == 0) {
                makers[i].lo = (uintptr_t)makers[i].fn;
                makers[i].hi = makers[i].lo + size;
                found++;
            }
        }
    }
    return pclose(f) == 0 && found == N(makers) ? 0 : -1;
}

/* The innermost function of the caller's stack that makes locks. */
static const char *maker(void)
{
    void *frames[32];
    int n = backtrace(frames, N(frames)), i;
    size_t j;

    for (i = 1; i < n; i++)
        for (j = 0; j < N(makers); j++)
            if ((uintptr_t)frames[i] > makers[j].lo &&
                (uintptr_t)frames[i] <= makers[j].hi)
                return makers[j].kind;
    return "other";
}

static CK_RV app_create(CK_VOID_PTR_PTR out)
{
    struct app_mx *mx = calloc(1, sizeof(*mx));
    pthread_mutexattr_t attr;

    if (mx == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&mx->m, &attr);
    pthread_mutexattr_destroy(&attr);
    mx->kind = maker();
    pthread_mutex_lock(&registry_lock);
    mx->next = registry;
    registry = mx;
    pthread_mutex_unlock(&registry_lock);
    *out = mx;
    return CKR_OK;
}

static CK_RV app_destroy(CK_VOID_PTR m)
{
    struct app_mx *mx = m;

    if (mx->locked || mx->destroyed)
        count(&rule_breaks);
    mx->destroyed = true;
    pthread_mutex_destroy(&mx->m);
    return CKR_OK;
}

static CK_RV app_lock(CK_VOID_PTR m)
{
    struct app_mx *mx = m;

    if (pthread_mutex_lock(&mx->m) != 0) { /* relock: error-checking */
        count(&rule_breaks);
        return CKR_GENERAL_ERROR;
    }
    mx->owner = pthread_self();
    mx->locked = true;
    mx->locks++;
    held++;
    thread_locks++;
    return CKR_OK;
}

static CK_RV app_unlock(CK_VOID_PTR m)
{
    struct app_mx *mx = m;

    /* Read while the mutex is still held, by us if the rules hold. */
    if (!mx->locked || !pthread_equal(mx->owner, pthread_self()))
        count(&rule_breaks);
    mx->locked = false;
    mx->unlocks++;
    held--;
    thread_unlocks++;
    return pthread_mutex_unlock(&mx->m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

/* ---- A provider that looks at the calling thread's locks ---- */

const struct cmk_provider_ops *__real_cmk_provider_find(const char *name);
const struct cmk_provider_ops *__wrap_cmk_provider_find(const char *name);
cmk_err __real_cmk_fd_write_all(int fd, const void *buf, size_t len);
cmk_err __wrap_cmk_fd_write_all(int fd, const void *buf, size_t len);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

static const struct cmk_provider_ops *local;
static struct cmk_provider_ops checked;

static void in_provider(void)
{
    count(&provider_calls);
    if (held != 0)
        count(&held_in_provider);
}

static cmk_err checked_encrypt(void *st, struct cmk_req *rq, const uint8_t *in,
                               size_t in_len, struct cmk_buf *out)
{
    in_provider();
    return local->encrypt(st, rq, in, in_len, out);
}

static cmk_err checked_decrypt(void *st, struct cmk_req *rq, const uint8_t *in,
                               size_t in_len, struct cmk_secret *out)
{
    in_provider();
    return local->decrypt(st, rq, in, in_len, out);
}

/* The local provider with its KMS calls checked (init, fini and key_id
 * are local setup, not calls). */
const struct cmk_provider_ops *__wrap_cmk_provider_find(const char *name)
{
    const struct cmk_provider_ops *ops = __real_cmk_provider_find(name);

    if (ops == NULL || strcmp(ops->name, "local") != 0)
        return ops;
    local = ops;
    checked = *ops;
    checked.encrypt = checked_encrypt;
    checked.decrypt = checked_decrypt;
    checked.reencrypt = NULL;
    checked.health = NULL;
    checked.generate_key = NULL;
    return &checked;
}

static void in_write(void)
{
    count(&store_writes);
    if (held != 0)
        count(&held_in_write);
}

cmk_err __wrap_cmk_fd_write_all(int fd, const void *buf, size_t len)
{
    in_write();
    return __real_cmk_fd_write_all(fd, buf, len);
}

int __wrap_fsync(int fd)
{
    in_write();
    return __real_fsync(fd);
}

/* ---- What the threads do ---- */

#define CHECK(call)                                                            \
    do {                                                                       \
        CK_RV rv_ = (call);                                                    \
        if (rv_ != CKR_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s -> 0x%lx\n", __FILE__, __LINE__, #call, \
                    rv_);                                                      \
            count(&call_failures);                                             \
            return;                                                            \
        }                                                                      \
    } while (0)

static CK_OBJECT_HANDLE cmk, shared_obj;

/* Direct and KEK-path wrap and unwrap of a fresh DEK, GCM with the
 * unwrapped key, and the direct path for data. */
static void use_keys(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE wrap_mech, int i)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0}, wm = {wrap_mech, NULL, 0};
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_ULONG len = 32, n, cn;
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE gt[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                         {CKA_EXTRACTABLE, &yes, 1}};
    CK_ATTRIBUTE ut[] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    uint8_t blob[512], iv[12] = {0}, data[64], ct[512];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_OBJECT_HANDLE dek, back;

    memcpy(iv, &i, sizeof(i));
    memset(data, i, sizeof(data));
    n = sizeof(blob);
    cn = sizeof(ct);
    CHECK(p->C_GenerateKey(h, &gen, gt, N(gt), &dek));
    CHECK(p->C_WrapKey(h, &wm, cmk, dek, blob, &n));
    CHECK(p->C_UnwrapKey(h, &wm, cmk, blob, n, ut, N(ut), &back));
    CHECK(p->C_EncryptInit(h, &gcm, back));
    CHECK(p->C_Encrypt(h, data, sizeof(data), ct, &cn));
    cn = sizeof(ct);
    CHECK(p->C_EncryptInit(h, &env, cmk));
    CHECK(p->C_Encrypt(h, data, sizeof(data), ct, &cn));
    CHECK(p->C_DestroyObject(h, back));
    CHECK(p->C_DestroyObject(h, dek));
}

/* Token objects: the shared one relabelled by every thread, one of its
 * own made and destroyed, a search (a store sync), and now and then a
 * cache flush that sends the next KEK use back to the provider. */
static void edit_objects(CK_SESSION_HANDLE h, int id, int i)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32, found;
    char label[32];
    CK_ATTRIBUTE lt[] = {{CKA_LABEL, label, 0}};
    CK_ATTRIBUTE gt[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                         {CKA_TOKEN, &yes, 1},
                         {CKA_LABEL, label, 0}};
    CK_ATTRIBUTE flush[] = {{CKA_CMK_FLUSH_CACHE, &yes, 1}};
    CK_OBJECT_HANDLE k, any[8];

    lt[0].ulValueLen = gt[2].ulValueLen =
        (CK_ULONG)snprintf(label, sizeof(label), "t%d-r%d", id, i);
    CHECK(p->C_SetAttributeValue(h, shared_obj, lt, N(lt)));
    CHECK(p->C_GenerateKey(h, &gen, gt, N(gt), &k));
    CHECK(p->C_FindObjectsInit(h, gt + 1, 1));
    CHECK(p->C_FindObjects(h, any, N(any), &found));
    CHECK(p->C_FindObjectsFinal(h));
    CHECK(p->C_DestroyObject(h, k));
    if (i % 8 == id)
        CHECK(p->C_SetAttributeValue(h, cmk, flush, N(flush)));
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;
    CK_SESSION_HANDLE h;

    if (p->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                         &h) != CKR_OK) {
        count(&call_failures);
        return NULL;
    }
    for (i = 0; i < ROUNDS; i++) {
        use_keys(h, i % 2 ? CKM_AES_KEY_WRAP_KWP : CKM_CMK_ENVELOPE, i);
        edit_objects(h, id, i);
    }
    if (p->C_CloseSession(h) != CKR_OK)
        count(&call_failures);
    if (held != 0 || thread_locks != thread_unlocks)
        count(&rule_breaks); /* a lock left held on this thread */
    return NULL;
}

/* ---- The checks ---- */

static unsigned long locks_of(const char *kind)
{
    unsigned long n = 0;
    struct app_mx *mx;

    for (mx = registry; mx != NULL; mx = mx->next)
        if (strcmp(mx->kind, kind) == 0)
            n += mx->locks;
    return n;
}

/* Every mutex made is destroyed, each with as many unlocks as locks. */
static void check_balanced(void)
{
    struct app_mx *mx;

    for (mx = registry; mx != NULL; mx = mx->next) {
        if (!mx->destroyed || mx->locks != mx->unlocks || mx->locked)
            fprintf(stderr,
                    "mutex made by %s: destroyed %d, %lu locks, "
                    "%lu unlocks\n",
                    mx->kind, mx->destroyed, mx->locks, mx->unlocks);
        assert_true(mx->destroyed);
        assert_false(mx->locked);
        assert_int_equal(mx->locks, mx->unlocks);
    }
}

static void forget_mutexes(void)
{
    struct app_mx *mx;

    while ((mx = registry) != NULL) {
        registry = mx->next;
        free(mx);
    }
}

static void start(struct test_env *e, CK_C_INITIALIZE_ARGS *args,
                  CK_SESSION_HANDLE *keep)
{
    rule_breaks = held_in_provider = held_in_write = call_failures = 0;
    provider_calls = store_writes = 0;
    assert_int_equal(test_env_make(e), 0);
    setenv(CMK_CONFIG_ENV, e->config, 1);
    assert_int_equal(p->C_Initialize(args), CKR_OK);
    *keep = tp11_open_login(p, 0, CKF_SERIAL_SESSION | CKF_RW_SESSION);
    cmk = tp11_find_cmk(p, *keep);
    shared_obj = tp11_gen_aes(p, *keep, CK_TRUE, CK_FALSE);
}

static void run_threads(void)
{
    pthread_t t[THREADS];
    intptr_t i;

    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void test_app_mutexes(void **state)
{
    CK_C_INITIALIZE_ARGS args = {.CreateMutex = app_create,
                                 .DestroyMutex = app_destroy,
                                 .LockMutex = app_lock,
                                 .UnlockMutex = app_unlock};
    CK_SESSION_HANDLE keep;
    struct test_env e;

    (void)state;
    start(&e, &args, &keep);
    run_threads();
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    fprintf(stderr,
            "locks: session %lu, cache %lu, kek %lu, store %lu, "
            "token %lu, module %lu (the pool's too), other %lu; provider "
            "calls %d (%d under a lock), store writes %d (%d under a "
            "lock); rules broken %d\n",
            locks_of("session"), locks_of("cache"), locks_of("kek"),
            locks_of("store"), locks_of("token"), locks_of("module"),
            locks_of("other"), provider_calls, held_in_provider, store_writes,
            held_in_write, rule_breaks);
    assert_int_equal(call_failures, 0);
    assert_int_equal(rule_breaks, 0);
    assert_int_equal(held, 0);
    check_balanced();
    assert_true(locks_of("session") > 0);
    assert_true(locks_of("cache") > 0);
    assert_true(locks_of("kek") > 0);
    assert_true(provider_calls > THREADS * ROUNDS);
    assert_true(store_writes > THREADS * ROUNDS);
    assert_int_equal(held_in_provider, 0);
    assert_int_equal(held_in_write, 0);
    forget_mutexes();
    test_env_remove(&e);
}

/* Callbacks with CKF_OS_LOCKING_OK: the module may use its own locks,
 * and does; none of the application's is made. */
static void test_os_locking_chosen(void **state)
{
    CK_C_INITIALIZE_ARGS args = {.CreateMutex = app_create,
                                 .DestroyMutex = app_destroy,
                                 .LockMutex = app_lock,
                                 .UnlockMutex = app_unlock,
                                 .flags = CKF_OS_LOCKING_OK};
    struct app_mx *before = registry;
    CK_SESSION_HANDLE keep;
    struct test_env e;

    (void)state;
    start(&e, &args, &keep);
    run_threads();
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(call_failures, 0);
    assert_ptr_equal(registry, before);
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_mutexes),
        cmocka_unit_test(test_os_locking_chosen),
    };
    void *warm[1];

    (void)backtrace(warm, 1); /* loads the unwinder before any thread */
    if (find_makers() != 0) {
        const char *ci = getenv("CI");

        fprintf(stderr, "skip: nm could not size the functions that make "
                        "locks\n");
        return ci != NULL && strcmp(ci, "true") == 0 ? 99 : 77;
    }
    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
