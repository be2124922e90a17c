/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: secure memory for secrets and keyed state. Allocations of at most
 * CMK_SECPOOL_MAX bytes come from a locked pool (mlock, MADV_DONTDUMP,
 * MADV_WIPEONFORK) of fixed slots in two sizes (key-sized secrets; whole
 * operation states with their key schedules); larger ones from
 * sodium_malloc (guard pages, canary; out of core dumps but not wiped in
 * a forked child). A pooled slot costs a mutex and a list pop instead of
 * sodium_malloc's ~50 µs and ten system calls; the price is no guard
 * page between slots. Every free wipes. Thread safe.
 */
#ifndef CMK_SECPOOL_H
#define CMK_SECPOOL_H

#include <stddef.h>

#define CMK_SECPOOL_SLOT 64
#define CMK_SECPOOL_BIG 1024
#define CMK_SECPOOL_MAX CMK_SECPOOL_BIG

/* Zeroed memory of len bytes (len 0 gives a valid 1-byte area); NULL when
 * out of memory. */
void *cmk_secmem_alloc(size_t len);
/* Wipes and frees; NULL-safe. len is not needed: the pool knows. */
void cmk_secmem_free(void *p);
/* Whether p is a pool slot (tests check where secrets live). */
int cmk_secpool_owns(const void *p);

#endif /* CMK_SECPOOL_H */
