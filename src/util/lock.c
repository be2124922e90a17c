/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the mutex and wait abstraction behind every lock of the module.
 * Application callbacks are stored once at C_Initialize and used until
 * C_Finalize.
 */
#include <config.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "util/lock.h"

static CK_CREATEMUTEX app_create;
static CK_DESTROYMUTEX app_destroy;
static CK_LOCKMUTEX app_lock;
static CK_UNLOCKMUTEX app_unlock;

CK_RV cmk_lock_setup(const CK_C_INITIALIZE_ARGS *args)
{
    int given;

    cmk_lock_reset();
    if (args == NULL)
        return CKR_OK;
    given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
            (args->LockMutex != NULL) + (args->UnlockMutex != NULL);
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    /* Case 3: callbacks without OS locking: we must use them. Case 4
     * (both): the spec lets us choose; pthreads are faster. */
    if (given == 4 && !(args->flags & CKF_OS_LOCKING_OK)) {
        app_create = args->CreateMutex;
        app_destroy = args->DestroyMutex;
        app_lock = args->LockMutex;
        app_unlock = args->UnlockMutex;
    }
    return CKR_OK;
}

void cmk_lock_reset(void)
{
    app_create = NULL;
    app_destroy = NULL;
    app_lock = NULL;
    app_unlock = NULL;
}

CK_RV cmk_mutex_init(struct cmk_mutex *mx)
{
    pthread_mutexattr_t attr;
    CK_RV rv;

    mx->app = NULL;
    mx->kind = 0;
    if (app_create != NULL) {
        rv = app_create(&mx->app);
        if (rv == CKR_OK && mx->app == NULL)
            rv = CKR_GENERAL_ERROR;
        if (rv == CKR_OK)
            mx->kind = CMK_MUTEX_APP;
        return rv;
    }
    if (pthread_mutexattr_init(&attr) != 0)
        return CKR_HOST_MEMORY;
#ifdef CMK_DEBUG
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
#elif defined(PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP)
    /* Hot-path holds are short: spin briefly before sleeping in futex. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    rv = pthread_mutex_init(&mx->os, &attr) == 0 ? CKR_OK : CKR_HOST_MEMORY;
    pthread_mutexattr_destroy(&attr);
    if (rv == CKR_OK)
        mx->kind = CMK_MUTEX_OS;
    return rv;
}

void cmk_mutex_fini(struct cmk_mutex *mx)
{
    if (mx->kind == CMK_MUTEX_APP && app_destroy != NULL)
        (void)app_destroy(mx->app);
    else if (mx->kind == CMK_MUTEX_OS)
        pthread_mutex_destroy(&mx->os);
    mx->app = NULL;
    mx->kind = 0;
}

static void os_lock(pthread_mutex_t *pm)
{
#ifdef CMK_DEBUG
    /* Error-checking mutexes report a relock instead of hanging: in a
     * debug build that is a bug to stop at, not to step over. */
    if (pthread_mutex_lock(pm) != 0)
        abort();
#else
    (void)pthread_mutex_lock(pm);
#endif
}

void cmk_mutex_lock(struct cmk_mutex *mx)
{
    if (mx->kind == CMK_MUTEX_APP)
        (void)app_lock(mx->app);
    else
        os_lock(&mx->os);
}

#define SPINS 256

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void cmk_mutex_lock_hot(struct cmk_mutex *mx)
{
    int i;

    if (mx->kind == CMK_MUTEX_APP) {
        (void)app_lock(mx->app);
        return;
    }
    for (i = 0; i < SPINS; i++) {
        if (pthread_mutex_trylock(&mx->os) == 0)
            return;
        cpu_relax();
    }
    os_lock(&mx->os);
}

void cmk_mutex_unlock(struct cmk_mutex *mx)
{
    if (mx->kind == CMK_MUTEX_APP)
        (void)app_unlock(mx->app);
    else
        (void)pthread_mutex_unlock(&mx->os);
}

CK_RV cmk_cond_init(struct cmk_cond *cv)
{
    pthread_cond_t *pc;

    cv->c = NULL;
    cv->seq = 0;
    if (app_create != NULL)
        return CKR_OK; /* waits poll: nothing to make */
    pc = malloc(sizeof(*pc));
    if (pc == NULL)
        return CKR_HOST_MEMORY;
    if (pthread_cond_init(pc, NULL) != 0) {
        free(pc);
        return CKR_HOST_MEMORY;
    }
    cv->c = pc;
    return CKR_OK;
}

void cmk_cond_fini(struct cmk_cond *cv)
{
    if (cv->c == NULL)
        return;
    pthread_cond_destroy(cv->c);
    free(cv->c);
    cv->c = NULL;
}

#define POLL_YIELDS 16
#define POLL_MAX_NS 1000000L    /* one sleep at most */
#define POLL_TOTAL_NS 10000000L /* then the caller looks again */

/* Under the application's mutexes: unlock, wait for a broadcast by
 * watching seq (yields first, then sleeps doubling from 10 us), relock. */
static void poll_wait(struct cmk_cond *cv, struct cmk_mutex *mx)
{
    unsigned seen = __atomic_load_n(&cv->seq, __ATOMIC_ACQUIRE);
    struct timespec ts = {0, 10000};
    long slept = 0;
    int i;

    cmk_mutex_unlock(mx);
    for (i = 0;
         i < POLL_YIELDS && __atomic_load_n(&cv->seq, __ATOMIC_ACQUIRE) == seen;
         i++)
        (void)sched_yield();
    while (__atomic_load_n(&cv->seq, __ATOMIC_ACQUIRE) == seen &&
           slept < POLL_TOTAL_NS) {
        (void)nanosleep(&ts, NULL);
        slept += ts.tv_nsec;
        if (ts.tv_nsec < POLL_MAX_NS / 2)
            ts.tv_nsec *= 2;
    }
    cmk_mutex_lock(mx);
}

void cmk_cond_wait(struct cmk_cond *cv, struct cmk_mutex *mx)
{
    if (cv->c != NULL && mx->kind == CMK_MUTEX_OS)
        (void)pthread_cond_wait(cv->c, &mx->os);
    else
        poll_wait(cv, mx);
}

void cmk_cond_broadcast(struct cmk_cond *cv)
{
    __atomic_add_fetch(&cv->seq, 1, __ATOMIC_RELEASE);
    if (cv->c != NULL)
        (void)pthread_cond_broadcast(cv->c);
}
