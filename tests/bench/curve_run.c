/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-curve's threads. Each has its own session; they meet at
 * a barrier, then call their op until the time is up (or once).
 */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curve.h"

#define LOG_CAP 400000 /* ops a thread logs (miss: 5 ms each at least) */

struct runner {
    struct curve_thr *t;
    curve_op fn;
    pthread_barrier_t *bar;
    double seconds;
    uint64_t start, end; /* monotonic ns */
};

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t curve_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t curve_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t curve_realtime_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}

static void *runner_main(void *arg)
{
    struct runner *r = arg;
    uint64_t deadline;

    pthread_barrier_wait(r->bar);
    r->start = curve_now_ns();
    deadline = r->start + (uint64_t)(r->seconds * 1e9);
    do {
        if (r->fn(r->t) != 0) {
            r->t->rc = -1;
            break;
        }
        r->t->ops++;
    } while (r->seconds > 0 && curve_now_ns() < deadline);
    r->end = curve_now_ns();
    return NULL;
}

static int new_thread(struct curve *c, unsigned i, struct curve_thr *t,
                      struct bench_err *e)
{
    struct p11 *g = c->g;

    t->c = c;
    t->idx = i;
    if (c->o->op_log != NULL) {
        t->log_cap = LOG_CAP;
        t->log = malloc(LOG_CAP * CURVE_LOG_N * sizeof(uint64_t));
        if (t->log == NULL) {
            bench_err_set(e, "malloc", BENCH_RV_NONE, "out of memory");
            return -1;
        }
    }
    P11_CALL(e, g, C_OpenSession, g->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
             NULL, NULL, &t->h);
    return 0;
}

void curve_free_threads(struct curve *c, struct curve_thr *thr)
{
    unsigned i;

    if (thr == NULL)
        return;
    for (i = 0; i < c->o->threads; i++) {
        if (thr[i].h != CK_INVALID_HANDLE)
            (void)c->g->f->C_CloseSession(thr[i].h);
        free(thr[i].log);
    }
    free(thr);
}

/* Starts n runners; 0 when every thread started and joined. */
static int start_join(struct runner *r, unsigned n)
{
    pthread_t tid[BENCH_MAX_THREADS];
    unsigned i;

    for (i = 0; i < n; i++) {
        if (pthread_create(&tid[i], NULL, runner_main, &r[i]) != 0)
            abort(); /* the others wait at the barrier: no way back */
    }
    for (i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    return 0;
}

int curve_run(struct curve *c, curve_op fn, struct curve_thr **thr,
              uint64_t *t0, uint64_t *t1, double *wall_s, struct bench_err *e)
{
    unsigned i, n = c->o->threads;
    struct runner r[BENCH_MAX_THREADS];
    pthread_barrier_t bar;
    uint64_t first = UINT64_MAX, last = 0;
    int rc = 0;

    *thr = calloc(n, sizeof(**thr));
    if (*thr == NULL) {
        bench_err_set(e, "calloc", BENCH_RV_NONE, "out of memory");
        return -1;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = new_thread(c, i, &(*thr)[i], e);
    if (rc != 0)
        return -1;
    pthread_barrier_init(&bar, NULL, n);
    memset(r, 0, sizeof(r));
    *t0 = curve_realtime_ns();
    for (i = 0; i < n; i++)
        r[i] = (struct runner){&(*thr)[i], fn, &bar, c->o->seconds, 0, 0};
    start_join(r, n);
    *t1 = curve_realtime_ns();
    pthread_barrier_destroy(&bar);
    for (i = 0; i < n; i++) {
        first = r[i].start < first ? r[i].start : first;
        last = r[i].end > last ? r[i].end : last;
        if ((*thr)[i].rc != 0 && rc == 0) {
            *e = (*thr)[i].err;
            rc = -1;
        }
    }
    *wall_s = (double)(last - first) / 1e9;
    return rc;
}
