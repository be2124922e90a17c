/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the background thread (bgthread.h) over a futex word: 1 when a
 * run is asked for, 0 otherwise. The thread sleeps on the word while it
 * is 0, runs the work, then clears it.
 */
#include <config.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/bgthread.h"

struct cmk_bgthread {
    pthread_t th;
    void (*work)(void *);
    void *arg;
    unsigned period_ms;
    pid_t pid;   /* the process the thread runs in */
    int asked;   /* atomic; the futex word */
    int stopped; /* atomic */
};

static void wait_asked(struct cmk_bgthread *t)
{
    struct timespec ts = {(time_t)(t->period_ms / 1000),
                          (long)(t->period_ms % 1000) * 1000000L};

    /* Returns at once when asked is 1 already; a timeout, a signal or a
     * spurious wake only means one more (cheap) run. */
    (void)syscall(SYS_futex, &t->asked, FUTEX_WAIT_PRIVATE, 0,
                  t->period_ms != 0 ? &ts : NULL, NULL, 0);
}

static void *run(void *p)
{
    struct cmk_bgthread *t = p;

    /* Sequentially consistent: a stop that sets asked before this
     * thread clears it is seen by the next look at stopped, one after is
     * seen by the futex, which does not sleep on asked == 1. */
    for (;;) {
        if (__atomic_load_n(&t->stopped, __ATOMIC_SEQ_CST))
            return NULL;
        wait_asked(t);
        if (__atomic_load_n(&t->stopped, __ATOMIC_SEQ_CST))
            return NULL;
        t->work(t->arg);
        __atomic_store_n(&t->asked, 0, __ATOMIC_SEQ_CST);
    }
}

static void wake(struct cmk_bgthread *t)
{
    (void)syscall(SYS_futex, &t->asked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

cmk_err cmk_bgthread_start(const char *name, void (*work)(void *), void *arg,
                           unsigned period_ms, struct cmk_bgthread **out)
{
    struct cmk_bgthread *t;
    sigset_t all, old;
    int e;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CMK_E_NOMEM;
    t->work = work;
    t->arg = arg;
    t->period_ms = period_ms;
    t->pid = getpid();
    /* The new thread inherits the mask: no signal of the application's
     * is ever delivered to it. */
    (void)sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&t->th, NULL, run, t);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        free(t);
        return e == ENOMEM ? CMK_E_NOMEM : CMK_E_IO;
    }
    (void)pthread_setname_np(t->th, name);
    *out = t;
    return CMK_OK;
}

void cmk_bgthread_ask(struct cmk_bgthread *t)
{
    if (t == NULL || __atomic_load_n(&t->asked, __ATOMIC_RELAXED) != 0)
        return;
    if (__atomic_exchange_n(&t->asked, 1, __ATOMIC_RELEASE) == 0)
        wake(t);
}

void cmk_bgthread_stop(struct cmk_bgthread *t)
{
    if (t == NULL)
        return;
    if (getpid() == t->pid) {
        __atomic_store_n(&t->stopped, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&t->asked, 1, __ATOMIC_SEQ_CST);
        wake(t);
        (void)pthread_join(t->th, NULL);
    }
    free(t);
}
