/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: thread stress. Eight threads, each with its own sessions on two
 * tenants, mix session open/close, key generation, direct and KEK-path
 * wrap/unwrap, GCM and destroy for a fixed number of rounds. Every call
 * must succeed, and afterwards the audit file must verify with exactly the
 * records the calls imply (no gap, no duplicate). Run under ASan, TSan or
 * helgrind by the CI jobs; STRESS_ROUNDS shortens it for valgrind.
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

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/audit_check.h"
#include "tests/lib/tenant.h"

#define THREADS 8

static CK_FUNCTION_LIST_PTR p;
static CK_UTF8CHAR pin[] = TEST_PIN;
static CK_BBOOL yes = CK_TRUE;
static int rounds = 100;

/* Counts CK_RVs that were not CKR_OK; threads must not call cmocka. */
static int failures;

#define CHECK(call)                                                            \
    do {                                                                       \
        CK_RV rv_ = (call);                                                    \
        if (rv_ != CKR_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s -> 0x%lx\n", __FILE__, __LINE__, #call, \
                    rv_);                                                      \
            __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);                \
            return;                                                            \
        }                                                                      \
    } while (0)

static void find_cmk(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *o)
{
    CK_ATTRIBUTE tmpl[] = {{CKA_CMK_IS_CMK, &yes, 1}};
    CK_ULONG n = 0;

    CHECK(p->C_FindObjectsInit(h, tmpl, 1));
    CHECK(p->C_FindObjects(h, o, 1, &n));
    CHECK(p->C_FindObjectsFinal(h));
}

static void gcm(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, int i)
{
    uint8_t iv[12] = {0}, data[300], ct[316], back[300];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG n = sizeof(ct), bn = sizeof(back);

    memcpy(iv, &i, sizeof(i));
    memset(data, i, sizeof(data));
    CHECK(p->C_EncryptInit(h, &m, k));
    CHECK(p->C_Encrypt(h, data, sizeof(data), ct, &n));
    CHECK(p->C_DecryptInit(h, &m, k));
    CHECK(p->C_Decrypt(h, ct, n, back, &bn));
    if (bn != sizeof(data) || memcmp(back, data, bn) != 0)
        __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
}

static void wrap_unwrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                        CK_OBJECT_HANDLE cmk, CK_OBJECT_HANDLE dek, int i)
{
    CK_MECHANISM m = {mt, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    uint8_t blob[512];
    CK_ULONG n = sizeof(blob);
    CK_OBJECT_HANDLE back;

    CHECK(p->C_WrapKey(h, &m, cmk, dek, blob, &n));
    CHECK(p->C_UnwrapKey(h, &m, cmk, blob, n, tmpl, 2, &back));
    gcm(h, back, i);
    CHECK(p->C_DestroyObject(h, back));
}

static void round_trip(CK_SLOT_ID slot, int i)
{
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_EXTRACTABLE, &yes, 1}};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk = 0, dek;

    CHECK(p->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                           NULL, &h));
    find_cmk(h, &cmk);
    CHECK(p->C_GenerateKey(h, &gen, tmpl, 2, &dek));
    wrap_unwrap(h, CKM_CMK_ENVELOPE, cmk, dek, i);
    wrap_unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, i);
    CHECK(p->C_DestroyObject(h, dek));
    CHECK(p->C_CloseSession(h));
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, i;

    for (i = 0; i < rounds; i++)
        round_trip((CK_SLOT_ID)((id + i) % 2), i);
    return NULL;
}

static void test_stress(void **state)
{
    struct test_env e;
    CK_SESSION_HANDLE keep[2];
    pthread_t t[THREADS];
    struct test_audit_rep rep;
    intptr_t i;

    (void)state;
    assert_int_equal(test_env_make(&e), 0);
    setenv(CMK_CONFIG_ENV, e.config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    /* One logged-in session per token keeps the users logged in while the
     * workers open and close theirs. */
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
    assert_int_equal(failures, 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    if (test_audit_check(e.audit, e.config, &rep) != 0)
        fail_msg("audit file: %s", rep.first);
    assert_int_equal(rep.sum.writers, 1);
    assert_int_equal(rep.sum.open_chains, 0); /* finalized */
    assert_int_equal(rep.sum.unverified, 0);
    /* Per round: generate, 2 wraps, 2 unwraps, 4 encrypts/decrypts. */
    assert_true(rep.sum.records >= (uint64_t)(THREADS * rounds * 9));
    test_env_remove(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress),
    };
    const char *r = getenv("STRESS_ROUNDS");

    if (r != NULL && atoi(r) > 0)
        rounds = atoi(r);
    if (cmk_C_GetFunctionList(&p) != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
