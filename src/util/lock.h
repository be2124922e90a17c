/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the one way the module locks. Mutexes follow the four C_Initialize
 * locking cases: the application's callbacks when it gives them without
 * CKF_OS_LOCKING_OK, pthread mutexes otherwise (error-checking in debug
 * builds).
 *
 * Every lock of the module is a cmk_mutex, created at C_Initialize (or by
 * an object C_Initialize or a later call makes) and destroyed at
 * C_Finalize, so an application that supplies its mutexes sees every lock
 * the module takes. No lock is held across file I/O or a provider (KMS)
 * call: take a reference or mark the work as in flight, unlock, do the
 * I/O, relock, publish. A function named *_locked expects its caller to
 * hold the lock its header names. A fork child takes none of these locks:
 * a thread of the parent may have held one.
 */
#ifndef CMK_LOCK_H
#define CMK_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include "util/pkcs11_compat.h"

/* Under OS locking the pthread mutex is inside the struct, next to what
 * it guards: no allocation, no pointer to follow on a hot path. */
struct cmk_mutex {
    pthread_mutex_t os;
    void *app;          /* made by the application's CreateMutex */
    unsigned char kind; /* 0 (not made), CMK_MUTEX_OS or CMK_MUTEX_APP */
};
#define CMK_MUTEX_OS 1
#define CMK_MUTEX_APP 2

/* Waiting for a state change under a cmk_mutex. The application's API has
 * mutexes only: under its callbacks a wait unlocks, sleeps briefly (a few
 * yields, then up to a millisecond) until a broadcast or its time is up,
 * and relocks; under OS locking it is a pthread condition variable. Either
 * way a wait may end without a broadcast: callers loop on their predicate. */
struct cmk_cond {
    void *c;      /* pthread_cond_t under OS locking, else NULL */
    unsigned seq; /* bumped by every broadcast (atomic) */
};

/* Chooses the locking model from C_Initialize's arguments (NULL = case 1).
 * CKR_ARGUMENTS_BAD when only some callbacks are given. Not thread safe:
 * C_Initialize, or a program's start (cmk-tool and tests use OS locks
 * without calling it). */
CK_RV cmk_lock_setup(const CK_C_INITIALIZE_ARGS *args);
/* Back to OS locks (C_Finalize, after every mutex is destroyed). */
void cmk_lock_reset(void);

CK_RV cmk_mutex_init(struct cmk_mutex *mx);
/* NULL-safe on a zeroed or finished mutex. */
void cmk_mutex_fini(struct cmk_mutex *mx);
void cmk_mutex_lock(struct cmk_mutex *mx);
void cmk_mutex_unlock(struct cmk_mutex *mx);
/* cmk_mutex_lock for locks held briefly by many threads: with pthread
 * mutexes it spins on trylock for a few microseconds before sleeping, so
 * a waiter does not pay a futex sleep and wake-up for a sub-microsecond
 * hold. With the application's callbacks it is cmk_mutex_lock. */
void cmk_mutex_lock_hot(struct cmk_mutex *mx);

/* True for a pthread mutex (OS locking): a caller may then take an
 * uncontended fast path on atomics, which the application would not see
 * anyway; under the application's mutexes it must take the mutex. */
static inline bool cmk_mutex_is_os(const struct cmk_mutex *mx)
{
    return mx->kind == CMK_MUTEX_OS;
}

CK_RV cmk_cond_init(struct cmk_cond *cv);
/* NULL-safe on a zeroed or finished condition. */
void cmk_cond_fini(struct cmk_cond *cv);
/* Called and returns with mx held (the same thread locks and unlocks). */
void cmk_cond_wait(struct cmk_cond *cv, struct cmk_mutex *mx);
/* Wakes every waiter; call it with the mutex held, after the change. */
void cmk_cond_broadcast(struct cmk_cond *cv);

#endif /* CMK_LOCK_H */
