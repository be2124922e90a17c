/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util/bgthread: a run per ask, a run per period, an ask during a run
 * not lost, every signal blocked, the name, stop after the current run,
 * no lost stop, and a forked child that stops a thread it does not have.
 */
#include <config.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/tasks.h"
#include "util/bgthread.h"

#define NAME "cmk-test-bg"

struct job {
    pid_t tid;       /* atomic: the thread of the last run */
    int runs;        /* atomic */
    int sleep_ms;    /* each run takes this long */
    int done;        /* atomic: the last run finished */
    int all_blocked; /* atomic: 1 if every run found every signal blocked */
};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int blocked_all(void)
{
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ, SIGUSR1, SIGALRM};
    sigset_t cur;
    size_t i;

    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0)
        return 0;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (!sigismember(&cur, sigs[i]))
            return 0;
    }
    return 1;
}

static void work(void *p)
{
    struct job *j = p;

    __atomic_store_n(&j->done, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&j->tid, gettid(), __ATOMIC_SEQ_CST);
    if (!blocked_all())
        __atomic_store_n(&j->all_blocked, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&j->runs, 1, __ATOMIC_SEQ_CST);
    if (j->sleep_ms > 0)
        sleep_ms(j->sleep_ms);
    __atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
}

static int runs(struct job *j)
{
    return __atomic_load_n(&j->runs, __ATOMIC_SEQ_CST);
}

/* Waits up to 10 s for at least n runs; the count then. */
static int wait_runs(struct job *j, int n)
{
    int i;

    for (i = 0; i < 10000 && runs(j) < n; i++)
        sleep_ms(1);
    return runs(j);
}

static void test_ask(void **state)
{
    struct job j = {0, 0, 0, 0, 1};
    struct cmk_bgthread *t;

    (void)state;
    assert_int_equal(cmk_bgthread_start(NAME, work, &j, 0, &t), CMK_OK);
    assert_int_equal(test_threads_named(NAME), 1);
    assert_int_equal(wait_runs(&j, 1), 1); /* once started */
    sleep_ms(50);
    assert_int_equal(runs(&j), 1); /* no period: nothing unasked */
    cmk_bgthread_ask(t);
    assert_int_equal(wait_runs(&j, 2), 2);
    sleep_ms(20);
    cmk_bgthread_ask(t);
    assert_int_equal(wait_runs(&j, 3), 3);
    cmk_bgthread_stop(t);
    assert_int_equal(test_threads_named(NAME), 0);
    assert_int_equal(runs(&j), 3);
    assert_int_equal(j.all_blocked, 1);
}

static void test_period(void **state)
{
    struct job j = {0, 0, 0, 0, 1};
    struct cmk_bgthread *t;

    (void)state;
    assert_int_equal(cmk_bgthread_start(NAME, work, &j, 20, &t), CMK_OK);
    assert_true(wait_runs(&j, 3) >= 3); /* never asked */
    cmk_bgthread_stop(t);
    assert_int_equal(j.all_blocked, 1);
}

/* A thread for j (no period) asked 100 times while its first run (of
 * j->sleep_ms) is on. */
static struct cmk_bgthread *asked_during_run(struct job *j)
{
    struct cmk_bgthread *t;
    int i;

    assert_int_equal(cmk_bgthread_start(NAME, work, j, 0, &t), CMK_OK);
    assert_int_equal(wait_runs(j, 1), 1); /* the run once started */
    for (i = 0; i < 100; i++)
        cmk_bgthread_ask(t);
    return t;
}

/* Asks while a run is on make one more run after it, however many they
 * are; a run that may have looked before the ask came never swallows it
 * (the audit file's helper, asked by a last record while it was
 * allocating, would otherwise leave the space ahead short until the next
 * record). */
static void test_ask_during_run(void **state)
{
    struct job j = {0, 0, 200, 0, 1};
    struct cmk_bgthread *t = asked_during_run(&j);

    (void)state;
    assert_int_equal(wait_runs(&j, 2), 2);
    sleep_ms(600); /* the second run done, and nothing more asked */
    assert_int_equal(runs(&j), 2);
    cmk_bgthread_stop(t);
    assert_int_equal(test_threads_named(NAME), 0);
}

/* Stop waits for the run that is on to finish, and the thread ends
 * there, whatever was asked meanwhile. */
static void test_stop_after_run(void **state)
{
    struct job j = {0, 0, 200, 0, 1};
    struct cmk_bgthread *t = asked_during_run(&j);

    (void)state;
    cmk_bgthread_stop(t);
    assert_int_equal(__atomic_load_n(&j.done, __ATOMIC_SEQ_CST), 1);
    assert_int_equal(runs(&j), 1); /* stopped: no run for the asks */
    assert_int_equal(test_threads_named(NAME), 0);
}

/* A stop racing the thread's return to sleep is never lost (the test
 * would hang). */
static void test_no_lost_stop(void **state)
{
    struct job j = {0, 0, 0, 0, 1};
    struct cmk_bgthread *t;
    int i;

    (void)state;
    for (i = 0; i < 2000; i++) {
        assert_int_equal(cmk_bgthread_start(NAME, work, &j, 0, &t), CMK_OK);
        if (i % 2 == 0)
            cmk_bgthread_ask(t);
        cmk_bgthread_stop(t);
    }
    assert_int_equal(test_threads_named(NAME), 0);
}

/* The thread is stopped before the fork and started again after it in
 * the parent (a new thread: its first run comes from another tid), so
 * the fork is that of a process running none of ours; the child has
 * none, and stop there frees the handle and returns. */
static void test_fork_child(void **state)
{
    struct job j = {0, 0, 0, 0, 1};
    struct cmk_bgthread *t;
    pid_t pid, before;
    int status;

    (void)state;
    assert_int_equal(cmk_bgthread_start(NAME, work, &j, 0, &t), CMK_OK);
    assert_int_equal(wait_runs(&j, 1), 1); /* the run once started */
    before = __atomic_load_n(&j.tid, __ATOMIC_SEQ_CST);
    assert_true(cmk_bgthread_alive(t));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        if (test_threads_named(NAME) != 0 || cmk_bgthread_alive(t))
            _exit(2);
        cmk_bgthread_stop(t);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(wait_runs(&j, 2), 2); /* the new thread's first run */
    assert_true(cmk_bgthread_alive(t));
    assert_int_equal(test_threads_named(NAME), 1);
    assert_true(__atomic_load_n(&j.tid, __ATOMIC_SEQ_CST) != before);
    cmk_bgthread_ask(t); /* and it runs on asks */
    assert_int_equal(wait_runs(&j, 3), 3);
    cmk_bgthread_stop(t);
}

static void test_null(void **state)
{
    (void)state;
    cmk_bgthread_ask(NULL);
    cmk_bgthread_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ask),
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_ask_during_run),
        cmocka_unit_test(test_stop_after_run),
        cmocka_unit_test(test_no_lost_stop),
        cmocka_unit_test(test_fork_child),
        cmocka_unit_test(test_null),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
