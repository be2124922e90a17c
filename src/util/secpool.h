/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: secure memory for secrets and keyed state. Allocations of at most
 * CMK_SECPOOL_MAX bytes come from a locked pool (mlock, MADV_DONTDUMP,
 * MADV_WIPEONFORK) of fixed slots in three sizes (key-sized secrets;
 * whole operation states with their key schedules; whole key files, a
 * key pair's PEM private key); larger ones from
 * sodium_malloc (guard pages, canary; out of core dumps but not wiped in
 * a forked child). A pooled slot costs a mutex and a list pop instead of
 * sodium_malloc's ~50 µs and ten system calls; the price is no guard
 * page between slots. Every free wipes. Thread safe.
 *
 * The pool's locks are cmk_mutexes (util/lock.h): cmk_secpool_init makes
 * them under the locking model of the moment and cmk_secpool_fini
 * destroys them; calls nest (a count). C_Initialize and C_Finalize call
 * them; cmk-tool and tests that use secure memory without C_Initialize
 * call them too. Neither is thread safe. While the pool is closed, secrets
 * come from sodium_malloc, and a pool slot freed then is wiped and not
 * reused. A fork child forgets the locks without taking them (a parent
 * thread may have held one): its pool stays closed until it initialises.
 */
#ifndef CMK_SECPOOL_H
#define CMK_SECPOOL_H

#include <stddef.h>
#include "util/err.h"

#define CMK_SECPOOL_SLOT 64
#define CMK_SECPOOL_BIG 1024
#define CMK_SECPOOL_FILE 16384
#define CMK_SECPOOL_MAX CMK_SECPOOL_FILE

/* CMK_E_NOMEM when a lock cannot be made (the application's CreateMutex
 * failed, say); the pool then stays closed. */
cmk_err cmk_secpool_init(void) CMK_WUR;
void cmk_secpool_fini(void);

/* Zeroed memory of len bytes (len 0 gives a valid 1-byte area); NULL when
 * out of memory. */
void *cmk_secmem_alloc(size_t len);
/* Wipes and frees; NULL-safe. len is not needed: the pool knows. */
void cmk_secmem_free(void *p);
/* Whether p is a pool slot (tests check where secrets live). */
int cmk_secpool_owns(const void *p);

#endif /* CMK_SECPOOL_H */
