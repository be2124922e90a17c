/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: the timing loop. Each thread warms up, waits for the others,
 * then runs its op for the time budget, keeping a reservoir of latencies.
 */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define RESERVOIR 200000

struct worker {
    const struct bench_backend *b;
    const struct bench_opts *o;
    void *ctx;
    pthread_barrier_t *bar;
    uint64_t *lat; /* nanoseconds, reservoir sample */
    size_t n_lat;
    uint64_t ops;
    uint64_t rng;
    uint64_t t_start;
    uint64_t t_end;
    int rc;
    struct bench_err err;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* Algorithm R: op number i (from 0) replaces a random slot once full. */
static void keep_latency(struct worker *w, uint64_t i, uint64_t ns)
{
    uint64_t j;

    if (i < RESERVOIR) {
        w->lat[w->n_lat++] = ns;
        return;
    }
    j = xorshift(&w->rng) % (i + 1);
    if (j < RESERVOIR)
        w->lat[j] = ns;
}

static int warm_up(struct worker *w)
{
    uint64_t end = now_ns() + (uint64_t)(w->o->seconds * 1e8); /* 10% */
    unsigned long n = w->o->iterations / 10 + 1, i;

    if (w->o->iterations == 0) {
        do {
            if (w->b->op(w->ctx, false, &w->err) != 0)
                return -1;
        } while (now_ns() < end);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (w->b->op(w->ctx, false, &w->err) != 0)
            return -1;
    }
    return 0;
}

static bool is_done(const struct worker *w, uint64_t now, uint64_t deadline)
{
    if (w->o->iterations != 0)
        return w->ops >= w->o->iterations;
    return now >= deadline;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint64_t t0, t1, deadline;
    int rc = warm_up(w);

    /* A failed thread still meets the barrier so no one waits forever. */
    pthread_barrier_wait(w->bar);
    if (rc != 0) {
        w->rc = -1;
        return NULL;
    }
    t0 = w->t_start = now_ns();
    deadline = t0 + (uint64_t)(w->o->seconds * 1e9);
    do {
        if (w->b->op(w->ctx, false, &w->err) != 0) {
            w->rc = -1;
            break;
        }
        t1 = now_ns();
        keep_latency(w, w->ops++, t1 - t0);
        t0 = t1;
    } while (!is_done(w, t0, deadline));
    w->t_end = t0;
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Merges the reservoirs, sorts them and fills r. */
static int summarize(struct worker *w, unsigned n, struct bench_result *r)
{
    size_t total = 0, k = 0;
    uint64_t start = UINT64_MAX, end = 0, *all;
    unsigned i;

    for (i = 0; i < n; i++)
        total += w[i].n_lat;
    all = malloc((total ? total : 1) * sizeof(*all));
    if (all == NULL)
        return -1;
    memset(r, 0, sizeof(*r));
    for (i = 0; i < n; i++) {
        memcpy(all + k, w[i].lat, w[i].n_lat * sizeof(*all));
        k += w[i].n_lat;
        r->ops += w[i].ops;
        start = w[i].t_start < start ? w[i].t_start : start;
        end = w[i].t_end > end ? w[i].t_end : end;
    }
    qsort(all, total, sizeof(*all), cmp_u64);
    r->wall_s = (double)(end - start) / 1e9;
    if (total > 0) {
        r->p50_us = (double)all[(total - 1) / 2] / 1e3;
        r->p99_us = (double)all[(size_t)((double)(total - 1) * 0.99)] / 1e3;
    }
    free(all);
    return 0;
}

static int make_workers(const struct bench_backend *b, void *g,
                        const struct bench_scn *s, const struct bench_opts *o,
                        struct worker *w, unsigned n, struct bench_err *e)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        w[i].b = b;
        w[i].o = o;
        w[i].rng = 0x9e3779b97f4a7c15u ^ ((uint64_t)i << 32 | (i + 1));
        w[i].lat = malloc(RESERVOIR * sizeof(uint64_t));
        if (w[i].lat == NULL) {
            bench_err_set(e, "malloc", BENCH_RV_NONE, "out of memory");
            return -1;
        }
        if (b->thread_new(g, s, i, &w[i].ctx, e) != 0)
            return -1;
    }
    return 0;
}

static void free_workers(const struct bench_backend *b, struct worker *w,
                         unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        if (w[i].ctx != NULL)
            b->thread_free(w[i].ctx);
        free(w[i].lat);
    }
}

static int start_all(struct worker *w, unsigned n, pthread_barrier_t *bar,
                     struct bench_err *e)
{
    pthread_t tid[BENCH_MAX_THREADS];
    unsigned i, started = 0;
    int rc = 0;

    for (i = 0; i < n; i++) {
        w[i].bar = bar;
        if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
            break;
        started++;
    }
    /* pthread_create failing after some threads started would leave
     * them at the barrier: there is no clean recovery, so stop there. */
    if (started != n) {
        fprintf(stderr, "cmk-bench: pthread_create failed\n");
        abort();
    }
    for (i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    for (i = 0; i < n && rc == 0; i++) {
        if (w[i].rc != 0) {
            *e = w[i].err;
            rc = -1;
        }
    }
    return rc;
}

int bench_run(const struct bench_backend *b, void *g, const struct bench_scn *s,
              const struct bench_opts *o, unsigned n, struct bench_result *r,
              struct bench_err *e)
{
    struct worker w[BENCH_MAX_THREADS];
    struct bench_cpu c0, c1;
    pthread_barrier_t bar;
    int rc;

    if (n == 0 || n > BENCH_MAX_THREADS) {
        bench_err_set(e, "threads", BENCH_RV_NONE, "thread count out of range");
        return -1;
    }
    memset(w, 0, sizeof(w));
    pthread_barrier_init(&bar, NULL, n);
    rc = make_workers(b, g, s, o, w, n, e);
    bench_cpu_sample(&c0);
    if (rc == 0)
        rc = start_all(w, n, &bar, e);
    bench_cpu_sample(&c1);
    if (rc == 0 && summarize(w, n, r) != 0) {
        bench_err_set(e, "malloc", BENCH_RV_NONE, "out of memory");
        rc = -1;
    }
    r->steal = bench_steal_share(&c0, &c1);
    free_workers(b, w, n);
    pthread_barrier_destroy(&bar);
    return rc;
}
