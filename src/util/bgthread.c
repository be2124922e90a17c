/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the background threads (bgthread.h) over a futex word each: 1
 * when a run is asked for, 0 otherwise. A thread sleeps on its word while
 * it is 0, runs the work, then clears it.
 *
 * fork(): every thread is stopped before the fork and started again
 * after it in the parent, so an application's fork is never the fork of
 * a process running one of ours; the child starts with none (a child of
 * a multi-threaded process may only call async-signal-safe functions
 * until exec, and ThreadSanitizer refuses threads made in it). The list
 * of threads, and each start and stop, is under one spin flag the fork
 * handlers hold from before the fork until after it.
 */
#include <config.h>

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/bgthread.h"

#define NAME_MAX_LEN 15 /* what the kernel keeps of a thread's name */

struct cmk_bgthread {
    struct cmk_bgthread *next; /* the list (under the flag) */
    pthread_t th;
    void (*work)(void *);
    void *arg;
    unsigned period_ms;
    char name[NAME_MAX_LEN + 1];
    bool running; /* atomic: th runs (changed under the flag) */
    int asked;    /* atomic; the futex word */
    int stopped;  /* atomic */
};

static struct cmk_bgthread *threads;
static int list_flag; /* atomic */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void list_lock(void)
{
    while (__atomic_exchange_n(&list_flag, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}

static void list_unlock(void)
{
    __atomic_store_n(&list_flag, 0, __ATOMIC_RELEASE);
}

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
        /* Cleared before the run: an ask that comes while work runs
         * (after work looked at what it was asked for) makes one more. */
        __atomic_store_n(&t->asked, 0, __ATOMIC_SEQ_CST);
        t->work(t->arg);
    }
}

static void wake(struct cmk_bgthread *t)
{
    (void)syscall(SYS_futex, &t->asked, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Under the flag: t's thread made (and asked for a first run). */
static int launch(struct cmk_bgthread *t)
{
    sigset_t all, old;
    int e;

    __atomic_store_n(&t->stopped, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->asked, 1, __ATOMIC_SEQ_CST);
    /* The new thread inherits the mask: no signal of the application's
     * is ever delivered to it. */
    (void)sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &old);
    e = pthread_create(&t->th, NULL, run, t);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e == 0)
        (void)pthread_setname_np(t->th, t->name);
    __atomic_store_n(&t->running, e == 0, __ATOMIC_RELEASE);
    return e;
}

/* Under the flag: t's thread ends after its current run. */
static void halt(struct cmk_bgthread *t)
{
    if (!__atomic_load_n(&t->running, __ATOMIC_ACQUIRE))
        return;
    __atomic_store_n(&t->stopped, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->asked, 1, __ATOMIC_SEQ_CST);
    wake(t);
    (void)pthread_join(t->th, NULL);
    __atomic_store_n(&t->running, false, __ATOMIC_RELEASE);
}

static void before_fork(void)
{
    struct cmk_bgthread *t;

    list_lock();
    for (t = threads; t != NULL; t = t->next)
        halt(t);
}

static void parent_after_fork(void)
{
    struct cmk_bgthread *t;

    for (t = threads; t != NULL; t = t->next)
        (void)launch(t); /* if it fails, t stays halted (not alive) */
    list_unlock();
}

static void child_after_fork(void)
{
    list_unlock(); /* the handles stay, halted, until stopped (freed) */
}

static void watch_forks(void)
{
    (void)pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

cmk_err cmk_bgthread_start(const char *name, void (*work)(void *), void *arg,
                           unsigned period_ms, struct cmk_bgthread **out)
{
    struct cmk_bgthread *t;
    int e;

    *out = NULL;
    (void)pthread_once(&fork_once, watch_forks);
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CMK_E_NOMEM;
    t->work = work;
    t->arg = arg;
    t->period_ms = period_ms;
    strncpy(t->name, name, NAME_MAX_LEN);
    list_lock();
    e = launch(t);
    if (e == 0) {
        t->next = threads;
        threads = t;
    }
    list_unlock();
    if (e != 0) {
        free(t);
        return e == ENOMEM || e == EAGAIN ? CMK_E_NOMEM : CMK_E_IO;
    }
    *out = t;
    return CMK_OK;
}

bool cmk_bgthread_alive(const struct cmk_bgthread *t)
{
    return t != NULL && __atomic_load_n(&t->running, __ATOMIC_ACQUIRE);
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
    struct cmk_bgthread **p;

    if (t == NULL)
        return;
    list_lock();
    for (p = &threads; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    halt(t); /* in a forked child: halted at the fork, nothing to join */
    list_unlock();
    free(t);
}
