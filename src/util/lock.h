/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: mutexes that follow the four C_Initialize locking cases: the
 * application's callbacks when it gives them without CKF_OS_LOCKING_OK,
 * pthread mutexes otherwise (error-checking in debug builds).
 */
#ifndef CMK_LOCK_H
#define CMK_LOCK_H

#include "pkcs11/compat.h"

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

#endif /* CMK_LOCK_H */
