/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the DEK cache with a fake clock: expiry to the microsecond, use
 * limits, LRU eviction, single flight, failures never cached, flush on a
 * refusal, early refresh by one caller, and ttl 0.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys/cache.h"
#include "util/clock.h"

static int64_t fake_now;

static int64_t fake_clock(void)
{
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

struct fake_kms {
    int calls;
    cmk_err answer;
    uint8_t value;
    /* Races: the fill answers only once the cache counted this many
     * lookups (hits + misses), i.e. every racer found the flight or took
     * its value (each is counted in the same hold of the cache's lock),
     * however slowly the racers' threads run (valgrind runs one at a
     * time). */
    struct cmk_cache *cache;
    unsigned long lookups;
};

static void wait_for_lookups(const struct fake_kms *k)
{
    struct cmk_cache_stats st;
    int i;

    for (i = 0; i < 30000; i++) { /* 30 s: a lost racer fails the test */
        cmk_cache_stats(k->cache, &st);
        if (st.hits + st.misses >= k->lookups)
            return;
        usleep(1000);
    }
}

static cmk_err fill(void *arg, struct cmk_secret *val)
{
    struct fake_kms *k = arg;
    cmk_err err;

    __atomic_add_fetch(&k->calls, 1, __ATOMIC_SEQ_CST);
    if (k->cache != NULL)
        wait_for_lookups(k);
    if (k->answer != CMK_OK)
        return k->answer;
    err = cmk_secret_alloc(val, 32);
    if (err == CMK_OK)
        memset(val->p, k->value, 32);
    return err;
}

static struct cmk_cache *make(unsigned ttl, unsigned max, unsigned uses)
{
    struct cmk_cache_cfg cfg = {ttl, max, uses};
    struct cmk_cache *c = NULL;

    assert_int_equal(cmk_cache_new(&cfg, &c), CMK_OK);
    return c;
}

static void digest_of(int n, uint8_t d[CMK_CACHE_DIGEST])
{
    uint8_t blob[4] = {(uint8_t)n, 1, 2, 3};

    cmk_cache_digest("tenant", blob, sizeof(blob), d);
}

/* One get; returns the first value byte, or -1 on error. */
static int get(struct cmk_cache *c, int n, struct fake_kms *k, bool *hit)
{
    uint8_t d[CMK_CACHE_DIGEST];
    struct cmk_secret v = {0};
    int first;

    digest_of(n, d);
    if (cmk_cache_get(c, d, fill, k, &v, hit) != CMK_OK)
        return -1;
    first = v.p[0];
    cmk_secret_free(&v);
    return first;
}

static int setup(void **state)
{
    (void)state;
    fake_now = 1000000;
    cmk_clock_set_source(fake_clock);
    return 0;
}

static void test_hit_until_expiry(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    bool hit;

    (void)state;
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_false(hit);
    k.value = 0x22;            /* a new fill would show */
    fake_now += 269 * 1000000; /* before the refresh window (ttl - 30 s) */
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_true(hit);
    assert_int_equal(k.calls, 1);
    fake_now = 1000000 + 300 * INT64_C(1000000) - 1; /* last microsecond */
    k.answer = CMK_E_NETWORK; /* the early refresh fails... */
    assert_int_equal(get(c, 1, &k, &hit), 0x11); /* ...still inside ttl */
    assert_true(hit);
    assert_int_equal(k.calls, 2);
    fake_now += 1; /* expired: never served again, the KMS is asked */
    assert_int_equal(get(c, 1, &k, &hit), -1);
    assert_false(hit);
    assert_int_equal(k.calls, 3);
    cmk_cache_free(c);
}

/* The KMS refusing the key (access denied, disabled, the key gone: Key
 * Vault's KeyNotFound, AWS's NotFoundException) drops every entry; a
 * failure that says nothing of the key (network, bad ciphertext) keeps
 * them. */
static void test_refusal_flushes(void **state)
{
    static const struct {
        cmk_err err;
        size_t left;
    } t[] = {
        {CMK_E_ACCESS_DENIED, 0},  {CMK_E_KEY_DISABLED, 0},
        {CMK_E_KEY_NOT_FOUND, 0},  {CMK_E_NETWORK, 2},
        {CMK_E_BAD_CIPHERTEXT, 2},
    };
    struct cmk_cache_stats st;
    struct cmk_cache *c;
    bool hit;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};

        c = make(300, 16, 0);
        assert_int_equal(get(c, 1, &k, &hit), 0x11);
        assert_int_equal(get(c, 2, &k, &hit), 0x11);
        k.answer = t[i].err;
        assert_int_equal(get(c, 3, &k, &hit), -1);
        cmk_cache_stats(c, &st);
        assert_int_equal(st.entries, t[i].left); /* 1 and 2 gone, or kept */
        assert_int_equal(cmk_err_is_key_refusal(t[i].err), t[i].left == 0);
        k.answer = CMK_OK;
        assert_int_equal(get(c, 1, &k, &hit), 0x11);
        assert_int_equal(hit, t[i].left != 0);
        cmk_cache_free(c);
    }
}

static void test_failure_not_cached(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_E_NETWORK, 0x11, NULL, 0};
    bool hit;

    (void)state;
    assert_int_equal(get(c, 1, &k, &hit), -1);
    assert_int_equal(get(c, 1, &k, &hit), -1);
    assert_int_equal(k.calls, 2);
    k.answer = CMK_OK;
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_false(hit);
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_true(hit);
    assert_int_equal(k.calls, 3);
    cmk_cache_free(c);
}

static void test_max_uses(void **state)
{
    struct cmk_cache *c = make(300, 16, 3);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    bool hit;
    int i;

    (void)state;
    assert_int_equal(get(c, 1, &k, &hit), 0x11); /* fill, not a use */
    for (i = 0; i < 3; i++) {
        assert_int_equal(get(c, 1, &k, &hit), 0x11);
        assert_true(hit);
    }
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_false(hit);
    assert_int_equal(k.calls, 2);
    cmk_cache_free(c);
}

static void test_lru_eviction(void **state)
{
    struct cmk_cache *c = make(300, 2, 0);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    struct cmk_cache_stats st;
    bool hit;

    (void)state;
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_int_equal(get(c, 2, &k, &hit), 0x11);
    assert_int_equal(get(c, 1, &k, &hit), 0x11); /* 1 is now most recent */
    assert_int_equal(get(c, 3, &k, &hit), 0x11); /* evicts 2 */
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_true(hit);
    assert_int_equal(get(c, 2, &k, &hit), 0x11);
    assert_false(hit);
    cmk_cache_stats(c, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.evictions, 2);
    cmk_cache_free(c);
}

/* Entry n (any int) through the cache: 1 when it was a hit. */
static int get_wide(struct cmk_cache *c, int n, struct fake_kms *k)
{
    uint8_t blob[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), 9};
    uint8_t d[CMK_CACHE_DIGEST];
    struct cmk_secret v = {0};
    bool hit = false;

    cmk_cache_digest("tenant", blob, sizeof(blob), d);
    assert_int_equal(cmk_cache_get(c, d, fill, k, &v, &hit), CMK_OK);
    assert_int_equal(v.p[0], k->value);
    cmk_secret_free(&v);
    return hit;
}

/* The bucket table starts small and grows with the entries (a token that
 * caches little pays little): every entry stays found across the growth,
 * and eviction still bounds them. */
static void test_grows_with_entries(void **state)
{
    struct fake_kms k = {0, CMK_OK, 0x22, NULL, 0};
    struct cmk_cache_stats st;
    struct cmk_cache *c = make(300, 4096, 0);
    int i, hits = 0;

    (void)state;
    for (i = 0; i < 3000; i++)
        hits += get_wide(c, i, &k);
    for (i = 0; i < 3000; i++)
        hits += get_wide(c, i, &k);
    assert_int_equal(hits, 3000);
    assert_int_equal(k.calls, 3000);
    cmk_cache_stats(c, &st);
    assert_int_equal(st.entries, 3000);
    cmk_cache_free(c);
    c = make(300, 1000, 0);
    for (i = 0, hits = 0; i < 3000; i++)
        hits += get_wide(c, i, &k);
    for (i = 2000; i < 3000; i++)
        hits += get_wide(c, i, &k);
    assert_int_equal(hits, 1000);
    cmk_cache_stats(c, &st);
    assert_int_equal(st.entries, 1000);
    assert_int_equal(st.evictions, 2000);
    cmk_cache_free(c);
}

static void test_ttl_zero(void **state)
{
    struct cmk_cache *c = make(0, 16, 0);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    struct cmk_cache_stats st;
    bool hit;

    (void)state;
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_false(hit);
    assert_int_equal(k.calls, 2);
    cmk_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    cmk_cache_free(c);
}

struct racer {
    struct cmk_cache *c;
    struct fake_kms *k;
    pthread_barrier_t *start;
    int value;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    bool hit;

    /* All eight ask at once, however slowly the threads were started. */
    (void)pthread_barrier_wait(r->start);
    r->value = get(r->c, 7, r->k, &hit);
    return NULL;
}

static void run_race(struct cmk_cache *c, struct fake_kms *k, int want)
{
    pthread_barrier_t start;
    pthread_t t[8];
    struct racer r[8];
    int i;

    assert_int_equal(pthread_barrier_init(&start, NULL, 8), 0);
    for (i = 0; i < 8; i++) {
        r[i] = (struct racer){c, k, &start, 0};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(r[i].value, want);
    }
    pthread_barrier_destroy(&start);
}

static void test_single_flight(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_OK, 0x33, c, 8};

    (void)state;
    run_race(c, &k, 0x33);
    assert_int_equal(k.calls, 1);
    cmk_cache_free(c);
}

static void test_single_flight_failure_shared(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_E_THROTTLED, 0x33, c, 8};

    (void)state;
    run_race(c, &k, -1);
    assert_int_equal(k.calls, 1); /* waiters did not each retry */
    cmk_cache_free(c);
}

static void test_early_refresh_once(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    bool hit;

    (void)state;
    assert_int_equal(get(c, 7, &k, &hit), 0x11);
    fake_now += 280 * INT64_C(1000000); /* inside the 30 s grace */
    k.value = 0x44;
    k.cache = c;
    k.lookups = 1 + 8;            /* the first get, then the racers */
    run_race(c, &k, 0x11);        /* all served the current value */
    assert_int_equal(k.calls, 2); /* one refresh */
    k.cache = NULL;
    fake_now += 25 * INT64_C(1000000); /* past the first expiry */
    assert_int_equal(get(c, 7, &k, &hit), 0x44);
    assert_true(hit);
    cmk_cache_free(c);
}

static void test_flush_and_args(void **state)
{
    struct cmk_cache *c = make(300, 16, 0);
    struct fake_kms k = {0, CMK_OK, 0x11, NULL, 0};
    struct cmk_cache_cfg bad = {300, 0, 0};
    struct cmk_cache *none = NULL;
    uint8_t d[CMK_CACHE_DIGEST] = {0};
    struct cmk_secret v = {0};
    bool hit;

    (void)state;
    assert_int_equal(cmk_cache_new(&bad, &none), CMK_E_ARGS);
    assert_int_equal(cmk_cache_get(c, d, NULL, &k, &v, &hit), CMK_E_ARGS);
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    cmk_cache_flush(c);
    assert_int_equal(get(c, 1, &k, &hit), 0x11);
    assert_false(hit);
    cmk_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hit_until_expiry, setup),
        cmocka_unit_test_setup(test_refusal_flushes, setup),
        cmocka_unit_test_setup(test_failure_not_cached, setup),
        cmocka_unit_test_setup(test_max_uses, setup),
        cmocka_unit_test_setup(test_lru_eviction, setup),
        cmocka_unit_test_setup(test_grows_with_entries, setup),
        cmocka_unit_test_setup(test_ttl_zero, setup),
        cmocka_unit_test_setup(test_single_flight, setup),
        cmocka_unit_test_setup(test_single_flight_failure_shared, setup),
        cmocka_unit_test_setup(test_early_refresh_once, setup),
        cmocka_unit_test_setup(test_flush_and_args, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
