/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the handle map against a plain array model: random puts and
 * removals (many more handles than ever live at once, as the handle
 * tables see them), with every key checked after each step, runs that
 * wrap around the end of the table, and growth.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/hmap.h"

#define KEYS 600

static void *val_of(unsigned long k)
{
    return (void *)(uintptr_t)(k * 8 + 1);
}

static void count_one(void *arg, unsigned long key, void *val)
{
    size_t *n = arg;

    assert_ptr_equal(val, val_of(key));
    (*n)++;
}

/* Every key of the model is found with its value, no other is, and a
 * walk sees exactly the live entries. */
static void check_model(const struct cmk_hmap *h, const bool *in)
{
    size_t k, live = 0, walked = 0;

    for (k = 1; k < KEYS; k++) {
        if (in[k]) {
            assert_ptr_equal(cmk_hmap_get(h, k), val_of(k));
            live++;
        } else {
            assert_null(cmk_hmap_get(h, k));
        }
    }
    assert_int_equal(h->live, live);
    cmk_hmap_each(h, count_one, &walked);
    assert_int_equal(walked, live);
}

static void test_random_against_model(void **state)
{
    struct cmk_hmap h = {0};
    bool in[KEYS] = {false};
    unsigned seed = 12345;
    int step;

    (void)state;
    for (step = 0; step < 20000; step++) {
        unsigned long k = 1 + (unsigned long)(rand_r(&seed) % (KEYS - 1));

        if (in[k]) {
            assert_ptr_equal(cmk_hmap_del(&h, k), val_of(k));
            in[k] = false;
        } else {
            assert_int_equal(cmk_hmap_put(&h, k, val_of(k)), CMK_OK);
            in[k] = true;
        }
        if (step % 97 == 0)
            check_model(&h, in);
    }
    check_model(&h, in);
    cmk_hmap_free(&h);
}

/* Handles only grow and few are live: the table stays at its first size
 * (no tombstones fill it) and every removal keeps the rest reachable. */
static void test_sliding_window_stays_small(void **state)
{
    struct cmk_hmap h = {0};
    unsigned long k;

    (void)state;
    for (k = 1; k <= 100000; k++) {
        assert_int_equal(cmk_hmap_put(&h, k, val_of(k)), CMK_OK);
        if (k > 5) {
            assert_ptr_equal(cmk_hmap_del(&h, k - 5), val_of(k - 5));
            assert_ptr_equal(cmk_hmap_get(&h, k - 4), val_of(k - 4));
        }
    }
    assert_int_equal(h.cap, 64);
    assert_int_equal(h.live, 5);
    cmk_hmap_free(&h);
}

static void test_growth_and_edges(void **state)
{
    struct cmk_hmap h = {0};
    bool in[KEYS] = {false};
    unsigned long k;

    (void)state;
    assert_null(cmk_hmap_get(&h, 1));
    assert_null(cmk_hmap_del(&h, 1));
    assert_int_equal(cmk_hmap_put(&h, 0, val_of(0)), CMK_E_ARGS);
    for (k = 1; k < KEYS; k++) {
        assert_int_equal(cmk_hmap_put(&h, k, val_of(k)), CMK_OK);
        in[k] = true;
    }
    assert_true(h.live * 4 <= h.cap * 3);
    check_model(&h, in);
    /* Replacing a value keeps one entry. */
    assert_int_equal(cmk_hmap_put(&h, 7, val_of(8)), CMK_OK);
    assert_ptr_equal(cmk_hmap_get(&h, 7), val_of(8));
    assert_int_equal(cmk_hmap_put(&h, 7, val_of(7)), CMK_OK);
    for (k = 1; k < KEYS; k += 2) {
        assert_ptr_equal(cmk_hmap_del(&h, k), val_of(k));
        in[k] = false;
    }
    check_model(&h, in);
    cmk_hmap_free(&h);
    assert_int_equal(h.cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_sliding_window_stays_small),
        cmocka_unit_test(test_growth_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
