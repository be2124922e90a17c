/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: handle tables and hot-path locks under concurrency. Eight threads
 * use each other's session keys while their owners destroy them or close
 * the sessions holding them (reference counts taken under the handle
 * table locks, dropped without them), with pthread locks and with the
 * application's mutex callbacks; and cmk_mutex_lock_hot keeps mutual
 * exclusion in both locking models. Run under ASan/TSan by the CI jobs.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "core/handles.h"
#include "core/object.h"
#include "core/session.h"
#include "core/token.h"
#include "pkcs11/entry.h"
#include "tests/lib/tenant.h"
#include "util/lock.h"
#include "util/secpool.h"

#define THREADS 8
#define ROUNDS 150
#define COUNTS 100000

static CK_FUNCTION_LIST_PTR p;
static CK_UTF8CHAR pin[] = TEST_PIN;

/* The key each thread last published (0: none); read by the others. */
static CK_OBJECT_HANDLE shared_key[THREADS];
static int unexpected; /* CK_RVs outside the allowed set */

static void bad(const char *what, CK_RV rv)
{
    fprintf(stderr, "%s -> 0x%lx\n", what, rv);
    __atomic_add_fetch(&unexpected, 1, __ATOMIC_SEQ_CST);
}

static void expect(const char *what, CK_RV rv, CK_RV alt)
{
    if (rv != CKR_OK && rv != alt)
        bad(what, rv);
}

/* Uses another thread's key, which may vanish at any moment. */
static void use_foreign(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, int i)
{
    uint8_t iv[12] = {0}, data[64], ct[80];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG len = 0, n = sizeof(ct);
    CK_ATTRIBUTE a = {CKA_VALUE_LEN, &len, sizeof(len)};
    CK_RV rv;

    memcpy(iv, &i, sizeof(i));
    memset(data, i, sizeof(data));
    rv = p->C_GetAttributeValue(h, k, &a, 1);
    expect("C_GetAttributeValue", rv, CKR_OBJECT_HANDLE_INVALID);
    if (rv == CKR_OK && len != 32)
        bad("CKA_VALUE_LEN", len);
    rv = p->C_EncryptInit(h, &m, k);
    expect("C_EncryptInit", rv, CKR_KEY_HANDLE_INVALID);
    /* An operation that started owns a copy of the key: it completes. */
    if (rv == CKR_OK)
        expect("C_Encrypt", p->C_Encrypt(h, data, sizeof(data), ct, &n),
               CKR_OK);
}

/* A search over the token's objects while others come and go. */
static void find_all(CK_SESSION_HANDLE h)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
    CK_OBJECT_HANDLE found[64];
    CK_ULONG n = 0;

    expect("C_FindObjectsInit", p->C_FindObjectsInit(h, &a, 1), CKR_OK);
    expect("C_FindObjects", p->C_FindObjects(h, found, 64, &n), CKR_OK);
    expect("C_FindObjectsFinal", p->C_FindObjectsFinal(h), CKR_OK);
}

/* One round: a session with a key, published, used by others; then the
 * key is destroyed (even rounds) or goes with its session (odd rounds). */
static void round_once(int id, int i)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)}};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k, other;
    CK_RV rv;

    rv = p->C_OpenSession((CK_SLOT_ID)(id % 2), CKF_SERIAL_SESSION, NULL, NULL,
                          &h);
    if (rv != CKR_OK) {
        bad("C_OpenSession", rv);
        return;
    }
    rv = p->C_GenerateKey(h, &gen, tmpl, 1, &k);
    if (rv != CKR_OK)
        bad("C_GenerateKey", rv);
    else
        __atomic_store_n(&shared_key[id], k, __ATOMIC_RELEASE);
    other =
        __atomic_load_n(&shared_key[(id + 1 + i) % THREADS], __ATOMIC_ACQUIRE);
    if (other != 0)
        use_foreign(h, other, i);
    find_all(h);
    if (rv == CKR_OK && i % 2 == 0)
        expect("C_DestroyObject", p->C_DestroyObject(h, k), CKR_OK);
    expect("C_CloseSession", p->C_CloseSession(h), CKR_OK);
    rv = p->C_CloseSession(h); /* a closed session's handle stays invalid */
    if (rv != CKR_SESSION_HANDLE_INVALID)
        bad("stale C_CloseSession", rv);
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;

    for (i = 0; i < ROUNDS; i++)
        round_once(id, i);
    return NULL;
}

/* Application mutexes: pthread mutexes behind the PKCS#11 callbacks, with
 * a count showing the module used them. */
static long app_locks;

static CK_RV app_create(CK_VOID_PTR_PTR m)
{
    pthread_mutex_t *pm = malloc(sizeof(*pm));

    if (pm == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(pm, NULL);
    *m = pm;
    return CKR_OK;
}

static CK_RV app_destroy(CK_VOID_PTR m)
{
    pthread_mutex_destroy(m);
    free(m);
    return CKR_OK;
}

static CK_RV app_lock(CK_VOID_PTR m)
{
    __atomic_add_fetch(&app_locks, 1, __ATOMIC_RELAXED);
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV app_unlock(CK_VOID_PTR m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static void run_threads(CK_C_INITIALIZE_ARGS *args)
{
    struct test_env e;
    CK_SESSION_HANDLE keep[2];
    pthread_t t[THREADS];
    intptr_t i;

    unexpected = 0;
    memset(shared_key, 0, sizeof(shared_key));
    assert_int_equal(test_env_make(&e), 0);
    setenv(CMK_CONFIG_ENV, e.config, 1);
    assert_int_equal(p->C_Initialize(args), CKR_OK);
    for (i = 0; i < 2; i++) {
        assert_int_equal(p->C_OpenSession((CK_SLOT_ID)i, CKF_SERIAL_SESSION,
                                          NULL, NULL, &keep[i]),
                         CKR_OK);
        assert_int_equal(p->C_Login(keep[i], CKU_USER, pin, sizeof(pin) - 1),
                         CKR_OK);
    }
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(unexpected, 0);
    /* Every published key is gone or was destroyed by its session close. */
    assert_int_equal(p->C_DestroyObject(keep[0], shared_key[0]),
                     CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    test_env_remove(&e);
}

static void test_handles_os_locking(void **state)
{
    (void)state;
    run_threads(NULL);
}

static void test_handles_app_mutexes(void **state)
{
    CK_C_INITIALIZE_ARGS args = {app_create, app_destroy, app_lock,
                                 app_unlock, 0,           NULL};

    (void)state;
    app_locks = 0;
    run_threads(&args);
    assert_true(app_locks > THREADS * ROUNDS);
}

/* cmk_mutex_lock_hot: a plain counter under the lock stays exact. */
static struct cmk_mutex counter_mx;
static unsigned long counter;

static void *count_main(void *arg)
{
    unsigned long v;
    int i, j;

    (void)arg;
    for (i = 0; i < COUNTS; i++) {
        cmk_mutex_lock_hot(&counter_mx);
        /* A read-modify-write wide enough for a race to show. */
        v = __atomic_load_n(&counter, __ATOMIC_RELAXED);
        for (j = 0; j < 20; j++)
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
        __atomic_store_n(&counter, v + 1, __ATOMIC_RELAXED);
        cmk_mutex_unlock(&counter_mx);
    }
    return NULL;
}

static void count_with(const CK_C_INITIALIZE_ARGS *args)
{
    pthread_t t[THREADS];
    int i;

    assert_int_equal(cmk_lock_setup(args), CKR_OK);
    assert_int_equal(cmk_mutex_init(&counter_mx), CKR_OK);
    counter = 0;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_main, NULL), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(counter, THREADS * (unsigned long)COUNTS);
    cmk_mutex_fini(&counter_mx);
    cmk_lock_reset();
}

static void test_lock_hot(void **state)
{
    CK_C_INITIALIZE_ARGS app = {app_create, app_destroy, app_lock,
                                app_unlock, 0,           NULL};
    CK_C_INITIALIZE_ARGS partial = {app_create, NULL, app_lock,
                                    app_unlock, 0,    NULL};

    (void)state;
    count_with(NULL);
    app_locks = 0;
    count_with(&app);
    /* Without CKF_OS_LOCKING_OK the callbacks take every lock. */
    assert_int_equal(app_locks, THREADS * (long)COUNTS);
    app.flags = CKF_OS_LOCKING_OK; /* the module may choose pthreads */
    app_locks = 0;
    count_with(&app);
    assert_int_equal(app_locks, 0);
    assert_int_equal(cmk_lock_setup(&partial), CKR_ARGUMENTS_BAD);
    cmk_lock_reset();
}

/* The pool's per-thread lists: slots allocated on one thread and freed on
 * another, while the others allocate, are never handed out twice. */
#define SLOTS 64
static uint8_t *handoff[THREADS][SLOTS];
static int pool_errors;

static void *pool_main(void *arg)
{
    int id = (int)(intptr_t)arg, r, i, j;
    uint8_t *mine[SLOTS];

    for (r = 0; r < 200; r++) {
        for (i = 0; i < SLOTS; i++) {
            mine[i] = cmk_secmem_alloc(CMK_SECPOOL_SLOT);
            if (mine[i] == NULL || !cmk_secpool_owns(mine[i]) ||
                mine[i][0] != 0 || mine[i][CMK_SECPOOL_SLOT - 1] != 0)
                __atomic_add_fetch(&pool_errors, 1, __ATOMIC_SEQ_CST);
            else
                memset(mine[i], id + 1, CMK_SECPOOL_SLOT);
        }
        for (i = 0; i < SLOTS; i++) { /* still ours: nobody wrote them */
            for (j = 0; mine[i] != NULL && j < CMK_SECPOOL_SLOT; j++)
                if (mine[i][j] != (uint8_t)(id + 1))
                    __atomic_add_fetch(&pool_errors, 1, __ATOMIC_SEQ_CST);
        }
        /* Free the neighbour's last batch, hand ours over. */
        for (i = 0; i < SLOTS; i++)
            cmk_secmem_free(__atomic_exchange_n(&handoff[(id + 1) % THREADS][i],
                                                NULL, __ATOMIC_ACQ_REL));
        for (i = 0; i < SLOTS; i++)
            cmk_secmem_free(__atomic_exchange_n(&handoff[id][i], mine[i],
                                                __ATOMIC_ACQ_REL));
    }
    return NULL;
}

static void test_pool_threads(void **state)
{
    pthread_t t[THREADS];
    int i, j;

    (void)state;
    assert_int_equal(cmk_secpool_init(), CMK_OK); /* as C_Initialize does */
    for (i = 0; i < THREADS; i++)
        assert_int_equal(
            pthread_create(&t[i], NULL, pool_main, (void *)(intptr_t)i), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(pool_errors, 0);
    for (i = 0; i < THREADS; i++)
        for (j = 0; j < SLOTS; j++)
            cmk_secmem_free(handoff[i][j]);
    cmk_secpool_fini();
}

/* ---- The store-name index of token objects ---- */

static struct cmk_object *named(struct cmk_token *token, const char *name)
{
    struct cmk_object *o = calloc(1, sizeof(*o));

    assert_non_null(o);
    o->token = token; /* a stand-in: only its roster is used */
    o->is_token = name != NULL;
    if (name == NULL)
        return o;
    snprintf(o->store_name, sizeof(o->store_name), "%s", name);
    return o;
}

/* Registers a new object for (token, name); returns the twin, if any
 * (the new one freed then). */
static struct cmk_object *add_named(struct cmk_token *token, const char *name,
                                    struct cmk_object **added)
{
    struct cmk_object *o = named(token, name), *dup = NULL;

    assert_int_equal(cmk_handles_add_object(o, &dup), CKR_OK);
    if (dup != NULL) {
        free(o);
        o = NULL;
    }
    if (added != NULL)
        *added = o;
    return dup;
}

static bool everything(void *arg, struct cmk_object *o)
{
    (void)arg;
    (void)o;
    return true;
}

/* One object per (token, store name), whoever registers it first: found
 * through the index, for the same name on another token (left out of the
 * index) and for the name 0 too, and forgotten once it leaves the table. */
static void test_store_name_index(void **state)
{
    static struct cmk_token tok1, tok2; /* two stand-in tokens */
    struct cmk_token *t1 = &tok1, *t2 = &tok2;
    struct cmk_object *a, *c, *e, *x[300], **hit = NULL;
    char name[CMK_STORE_NAME_LEN + 1];
    size_t i, n;

    (void)state;
    assert_int_equal(cmk_lock_setup(NULL), CKR_OK);
    assert_int_equal(cmk_handles_init(), CKR_OK);
    assert_int_equal(cmk_roster_init(&t1->objects), CKR_OK);
    assert_int_equal(cmk_roster_init(&t2->objects), CKR_OK);
    assert_null(add_named(t1, "00000000000000a1", &a));
    assert_ptr_equal(add_named(t1, "00000000000000a1", NULL), a);
    assert_null(add_named(t2, "00000000000000a1", &c));
    assert_ptr_equal(add_named(t2, "00000000000000a1", NULL), c);
    assert_ptr_equal(add_named(t1, "00000000000000a1", NULL), a);
    assert_null(add_named(t1, "0000000000000000", &e));
    assert_ptr_equal(add_named(t1, "0000000000000000", NULL), e);
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "%016zx", 0x1000 + i * 7);
        assert_null(add_named(t1, name, &x[i]));
    }
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "%016zx", 0x1000 + i * 7);
        assert_ptr_equal(add_named(t1, name, NULL), x[i]);
        assert_null(add_named(t2, name, &c)); /* another token's */
        assert_true(cmk_handles_del_object(c));
        free(c);
    }
    /* Gone from the table, gone from the index: a new one registers. */
    assert_true(cmk_handles_del_object(a));
    free(a);
    assert_null(add_named(t1, "00000000000000a1", &a));
    n = cmk_handles_take_objects(NULL, everything, NULL, &hit);
    assert_int_equal(n, 303); /* a, c (t2), e and x */
    for (i = 0; i < n; i++)
        free(hit[i]);
    free(hit);
    assert_null(add_named(t1, "00000000000000a1", &a));
    assert_null(add_named(t1, "0000000000000000", &e));
    n = cmk_handles_take_objects(NULL, everything, NULL, &hit);
    assert_int_equal(n, 2);
    for (i = 0; i < n; i++)
        free(hit[i]);
    free(hit);
    assert_int_equal(cmk_roster_count(&t1->objects),
                     0); /* and off the rosters */
    assert_int_equal(cmk_roster_count(&t2->objects), 0);
    cmk_roster_fini(&t1->objects);
    cmk_roster_fini(&t2->objects);
    cmk_handles_fini();
    cmk_lock_reset();
}

/* ---- Rosters: one token's objects, walked without the others' ---- */

static void count_one(void *arg, struct cmk_object *o)
{
    (void)o;
    ++*(size_t *)arg;
}

static size_t count_of(struct cmk_token *t)
{
    size_t n = 0;

    cmk_handles_each_object(t, count_one, &n);
    return n;
}

static bool is_odd(void *arg, struct cmk_object *o)
{
    (void)arg;
    return o->session % 2 == 1;
}

static void free_taken(struct cmk_object **hit, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(hit[i]);
    free(hit);
}

/* A walk or a removal of one token's objects sees exactly that token's
 * registered objects: a destroyed one has left its roster, taken ones
 * leave the table and the roster, the other token's stay. */
static void test_roster(void **state)
{
    static struct cmk_token tok1, tok2;
    struct cmk_object *o[6], **hit = NULL, *dup = NULL;
    size_t i, n;

    (void)state;
    assert_int_equal(cmk_lock_setup(NULL), CKR_OK);
    assert_int_equal(cmk_handles_init(), CKR_OK);
    assert_int_equal(cmk_roster_init(&tok1.objects), CKR_OK);
    assert_int_equal(cmk_roster_init(&tok2.objects), CKR_OK);
    for (i = 0; i < 6; i++) {
        o[i] = named(i < 4 ? &tok1 : &tok2, NULL);
        o[i]->session = i; /* 1, 3 (tok1) and 5 (tok2) are odd */
        assert_int_equal(cmk_handles_add_object(o[i], &dup), CKR_OK);
        assert_null(dup);
    }
    assert_int_equal(count_of(&tok1), 4);
    assert_int_equal(count_of(&tok2), 2);
    assert_int_equal(count_of(NULL), 6);
    assert_true(cmk_handles_del_object(o[0]));
    assert_false(cmk_handles_del_object(o[0]));
    free(o[0]);
    assert_int_equal(count_of(&tok1), 3);
    n = cmk_handles_take_objects(&tok1, is_odd, NULL, &hit);
    assert_int_equal(n, 2);
    assert_true((hit[0] == o[1] && hit[1] == o[3]) ||
                (hit[0] == o[3] && hit[1] == o[1]));
    assert_null(cmk_handles_ref_object(o[1]->handle, &tok1));
    assert_null(cmk_handles_ref_object(o[3]->handle, &tok1));
    assert_false(cmk_handles_del_object(o[3])); /* taken: not the table's */
    free_taken(hit, n);
    assert_int_equal(count_of(&tok1), 1);
    assert_int_equal(count_of(&tok2), 2);
    n = cmk_handles_take_objects(NULL, is_odd, NULL, &hit);
    assert_int_equal(n, 1);
    assert_ptr_equal(hit[0], o[5]);
    free_taken(hit, n);
    assert_int_equal(count_of(&tok2), 1);
    n = cmk_handles_take_objects(NULL, everything, NULL, &hit);
    assert_int_equal(n, 2);
    free_taken(hit, n);
    assert_int_equal(cmk_roster_count(&tok1.objects), 0);
    assert_int_equal(cmk_roster_count(&tok2.objects), 0);
    cmk_roster_fini(&tok1.objects);
    cmk_roster_fini(&tok2.objects);
    cmk_handles_fini();
    cmk_lock_reset();
}

/* ---- Shards: what one thread registers is spread over them ---- */

#define SPREAD 16 /* the tables' shards: a handle's low 4 bits name one */

/* The shards of SPREAD handles registered one after the other by one
 * thread are all different: sessions a pool opens in one thread and hands
 * to SPREAD workers meet on no lock when each looks up its own (with
 * every one in the opening thread's shard, two threads' lookups took
 * turns on one lock). The same for objects. */
static void test_one_thread_spreads(void **state)
{
    static struct cmk_token tok;
    static struct cmk_session s[SPREAD];
    struct cmk_object *o[SPREAD], *dup = NULL;
    unsigned seen_s = 0, seen_o = 0;
    size_t i;

    (void)state;
    assert_int_equal(cmk_lock_setup(NULL), CKR_OK);
    assert_int_equal(cmk_handles_init(), CKR_OK);
    assert_int_equal(cmk_roster_init(&tok.objects), CKR_OK);
    for (i = 0; i < SPREAD; i++) {
        assert_int_equal(cmk_handles_add_session(&s[i]), CKR_OK);
        seen_s |= 1u << (s[i].handle % SPREAD);
        o[i] = named(&tok, NULL);
        assert_int_equal(cmk_handles_add_object(o[i], &dup), CKR_OK);
        assert_null(dup);
        seen_o |= 1u << (o[i]->handle % SPREAD);
    }
    assert_int_equal(seen_s, (1u << SPREAD) - 1);
    assert_int_equal(seen_o, (1u << SPREAD) - 1);
    for (i = 0; i < SPREAD; i++) {
        assert_ptr_equal(cmk_handles_ref_session(s[i].handle), &s[i]);
        assert_ptr_equal(cmk_handles_del_session(s[i].handle), &s[i]);
        assert_true(cmk_handles_del_object(o[i]));
        free(o[i]);
    }
    cmk_roster_fini(&tok.objects);
    cmk_handles_fini();
    cmk_lock_reset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_hot),
        cmocka_unit_test(test_store_name_index),
        cmocka_unit_test(test_roster),
        cmocka_unit_test(test_one_thread_spreads),
        cmocka_unit_test(test_pool_threads),
        cmocka_unit_test(test_handles_os_locking),
        cmocka_unit_test(test_handles_app_mutexes),
    };

    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
