/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: mutexes that follow the four C_Initialize locking cases: the
 * application's callbacks when it gives them without CKF_OS_LOCKING_OK,
 * pthread mutexes otherwise (error-checking in debug builds).
 */
#ifndef CMK_LOCK_H
#define CMK_LOCK_H

#include "util/pkcs11_compat.h"

struct cmk_mutex {
    void *m;
};

/* Chooses the locking model from C_Initialize's arguments (NULL = case 1).
 * CKR_ARGUMENTS_BAD when only some callbacks are given. */
CK_RV cmk_lock_setup(const CK_C_INITIALIZE_ARGS *args);
/* Back to pthreads (C_Finalize). */
void cmk_lock_reset(void);

CK_RV cmk_mutex_init(struct cmk_mutex *mx);
void cmk_mutex_fini(struct cmk_mutex *mx);
void cmk_mutex_lock(struct cmk_mutex *mx);
void cmk_mutex_unlock(struct cmk_mutex *mx);
/* cmk_mutex_lock for locks held briefly by many threads: with pthread
 * mutexes it spins on trylock for a few microseconds before sleeping, so
 * a waiter does not pay a futex sleep and wake-up for a sub-microsecond
 * hold. With the application's callbacks it is cmk_mutex_lock. */
void cmk_mutex_lock_hot(struct cmk_mutex *mx);
/* The same for a bare pthread mutex (locks below the callbacks). */
void cmk_pthread_lock_hot(void *pthread_mutex);

#endif /* CMK_LOCK_H */
