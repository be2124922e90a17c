/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: core/seen_gen.c, the process's memory of the highest
 * manifest generation per token store (what keeps an older manifest
 * refused across C_Finalize and C_Initialize). It used to hold 64 stores:
 * the 65th and later got no memory across C_Finalize. Now: 20 000 stores
 * each get their own word, the same store always the same word, and
 * eight threads asking for the same new stores at once agree.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/seen_gen.h"

#define N 20000

static void label_of(unsigned i, char *buf, size_t n)
{
    snprintf(buf, n, "tenant-%u", i);
}

static void test_many_stores(void **state)
{
    uint64_t **w = calloc(N, sizeof(*w));
    char label[32];
    unsigned i;

    (void)state;
    assert_non_null(w);
    for (i = 0; i < N; i++) {
        label_of(i, label, sizeof(label));
        w[i] = cmk_seen_gen("/srv/store-a", label);
        assert_non_null(w[i]);
        assert_int_equal(*w[i], 0);
        *w[i] = i + 1; /* a generation seen */
    }
    for (i = 0; i < N; i++) { /* as after C_Finalize + C_Initialize */
        label_of(i, label, sizeof(label));
        assert_ptr_equal(cmk_seen_gen("/srv/store-a", label), w[i]);
        assert_int_equal(*w[i], i + 1);
    }
    /* the directory counts: another store of the same tenant */
    label_of(70, label, sizeof(label));
    assert_true(cmk_seen_gen("/srv/store-b", label) != w[70]);
    assert_null(cmk_seen_gen(NULL, label));
    assert_null(cmk_seen_gen("/srv/store-a", NULL));
    free(w);
}

struct racer {
    pthread_barrier_t *go;
    uint64_t *w[512];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char label[32];
    unsigned i;

    pthread_barrier_wait(r->go);
    for (i = 0; i < 512; i++) {
        label_of(i, label, sizeof(label));
        r->w[i] = cmk_seen_gen("/srv/store-race", label);
    }
    return NULL;
}

static void test_racers_agree(void **state)
{
    pthread_barrier_t go;
    pthread_t th[8];
    static struct racer r[8];
    unsigned i, j;

    (void)state;
    assert_int_equal(pthread_barrier_init(&go, NULL, 8), 0);
    for (i = 0; i < 8; i++) {
        r[i].go = &go;
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    for (i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (j = 0; j < 512; j++) {
        assert_non_null(r[0].w[j]);
        for (i = 1; i < 8; i++)
            assert_ptr_equal(r[i].w[j], r[0].w[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_stores),
        cmocka_unit_test(test_racers_agree),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
