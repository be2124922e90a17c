/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the locked slot pool: zeroed slots, reuse after a wiped free,
 * the two slot sizes, the sodium_malloc fallback for larger secrets and
 * while the pool is closed, and concurrent use.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/secpool.h"
#include "tests/lib/pool_fx.h"

static void test_slot_zeroed_and_reused(void **state)
{
    uint8_t *a, *b;
    size_t i;

    (void)state;
    a = cmk_secmem_alloc(32);
    assert_non_null(a);
    assert_true(cmk_secpool_owns(a));
    for (i = 0; i < CMK_SECPOOL_SLOT; i++)
        assert_int_equal(a[i], 0);
    memset(a, 0xAB, CMK_SECPOOL_SLOT);
    cmk_secmem_free(a);
    b = cmk_secmem_alloc(CMK_SECPOOL_SLOT);
    assert_ptr_equal(a, b); /* last freed, first reused */
    for (i = 0; i < CMK_SECPOOL_SLOT; i++)
        assert_int_equal(b[i], 0);
    cmk_secmem_free(b);
}

static void test_big_slots(void **state)
{
    uint8_t *a, *b, *s;
    size_t i;

    (void)state;
    a = cmk_secmem_alloc(CMK_SECPOOL_SLOT + 1);
    s = cmk_secmem_alloc(CMK_SECPOOL_SLOT);
    assert_non_null(a);
    assert_non_null(s);
    assert_true(cmk_secpool_owns(a));
    for (i = 0; i < CMK_SECPOOL_BIG; i++)
        assert_int_equal(a[i], 0);
    memset(a, 0xCD, CMK_SECPOOL_BIG);
    memset(s, 0xEF, CMK_SECPOOL_SLOT);
    cmk_secmem_free(a);
    b = cmk_secmem_alloc(CMK_SECPOOL_BIG);
    assert_ptr_equal(a, b); /* same class, last freed */
    for (i = 0; i < CMK_SECPOOL_BIG; i++)
        assert_int_equal(b[i], 0);
    cmk_secmem_free(b);
    cmk_secmem_free(s);
}

static void test_large_falls_back(void **state)
{
    uint8_t *p = cmk_secmem_alloc(CMK_SECPOOL_MAX + 1);

    (void)state;
    assert_non_null(p);
    assert_false(cmk_secpool_owns(p));
    p[CMK_SECPOOL_MAX] = 1;
    cmk_secmem_free(p);
    cmk_secmem_free(NULL);
    p = cmk_secmem_alloc(0);
    assert_non_null(p);
    cmk_secmem_free(p);
}

static void test_many_slots_distinct(void **state)
{
    static uint8_t *p[5000];
    size_t i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        p[i] = cmk_secmem_alloc(16);
        assert_non_null(p[i]);
        memset(p[i], (int)(i & 0xff), 16);
    }
    for (i = 0; i < 5000; i++)
        assert_int_equal(p[i][15], (uint8_t)(i & 0xff));
    for (i = 0; i < 5000; i++)
        cmk_secmem_free(p[i]);
}

/* A DEK cache of a million entries keeps that many key-sized secrets:
 * the pool serves them all (it once stopped at 256 chunks, 262144 slots,
 * and fell back to sodium_malloc: pages per secret, then failure), and a
 * pointer is recognised as a slot whatever the number of chunks. */
#define MANY (300 * 1024)
static void test_beyond_256_chunks(void **state)
{
    uint8_t **p = calloc(MANY, sizeof(*p));
    size_t i;

    (void)state;
    assert_non_null(p);
    for (i = 0; i < MANY; i++) {
        p[i] = cmk_secmem_alloc(32);
        assert_non_null(p[i]);
        if (!cmk_secpool_owns(p[i]))
            fail_msg("secret %zu is not a pool slot", i);
        p[i][0] = (uint8_t)i;
    }
    for (i = 0; i < MANY; i++) {
        assert_int_equal(p[i][0], (uint8_t)i);
        cmk_secmem_free(p[i]);
    }
    free(p);
}

static void *churn(void *arg)
{
    uint8_t *p;
    int i;

    for (i = 0; i < 20000; i++) {
        p = cmk_secmem_alloc(32);
        if (p == NULL || p[0] != 0)
            return arg;
        memset(p, 0x5A, 32);
        cmk_secmem_free(p);
    }
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    void *ret;
    int i;

    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)state), 0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_null(ret);
    }
}

/* Closed (its locks destroyed), the pool hands out sodium_malloc memory
 * and keeps a slot freed meanwhile out of use; reopened, it serves its
 * slots again. Calls nest. */
static void test_closed_pool(void **state)
{
    uint8_t *kept, *p;

    (void)state;
    kept = cmk_secmem_alloc(16);
    assert_true(cmk_secpool_owns(kept));
    assert_int_equal(cmk_secpool_init(), CMK_OK); /* nested */
    cmk_secpool_fini();
    p = cmk_secmem_alloc(16);
    assert_true(cmk_secpool_owns(p)); /* still open: one user left */
    cmk_secmem_free(p);
    cmk_secpool_fini();
    p = cmk_secmem_alloc(16);
    assert_non_null(p);
    assert_false(cmk_secpool_owns(p));
    cmk_secmem_free(p);
    kept[0] = 0x77;
    cmk_secmem_free(kept); /* wiped, not reused */
    assert_int_equal(kept[0], 0);
    cmk_secpool_fini(); /* unmatched: nothing happens */
    assert_int_equal(cmk_secpool_init(), CMK_OK);
    p = cmk_secmem_alloc(16);
    assert_true(cmk_secpool_owns(p));
    assert_ptr_not_equal(p, kept);
    cmk_secmem_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_zeroed_and_reused),
        cmocka_unit_test(test_big_slots),
        cmocka_unit_test(test_large_falls_back),
        cmocka_unit_test(test_many_slots_distinct),
        cmocka_unit_test(test_beyond_256_chunks),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_closed_pool),
    };

    return cmocka_run_group_tests(tests, open_pool, close_pool) != 0;
}
