/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the locked slot pool behind cmk_secmem_alloc. Chunks are never
 * returned to the system (a module's key working set is small and
 * steady); a forked child gets them zeroed by the kernel, which also cuts
 * the free list short, so the child's pool stays consistent.
 */
#include <config.h>

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "util/lock.h"
#include "util/secpool.h"

#define CHUNK (64 * 1024)
#define MAX_CHUNKS 256

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *chunks[MAX_CHUNKS];
static size_t n_chunks;
static void *free_list; /* linked through each free slot's first bytes */

static void advise(void *p)
{
#ifdef MADV_DONTDUMP
    (void)madvise(p, CHUNK, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
    (void)madvise(p, CHUNK, MADV_WIPEONFORK);
#endif
    /* Like sodium_malloc, go on without the lock when RLIMIT_MEMLOCK is
     * too small: the memory is still wiped and kept out of core dumps. */
    (void)sodium_mlock(p, CHUNK);
}

/* Called with pool_lock held. */
static int add_chunk(void)
{
    uint8_t *c;
    size_t off;

    if (n_chunks == MAX_CHUNKS)
        return -1;
    c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return -1;
    advise(c);
    for (off = CHUNK; off >= CMK_SECPOOL_SLOT; off -= CMK_SECPOOL_SLOT) {
        void *slot = c + off - CMK_SECPOOL_SLOT;

        memcpy(slot, &free_list, sizeof(free_list));
        free_list = slot;
    }
    chunks[n_chunks++] = c;
    return 0;
}

static void *take(void)
{
    void *p = NULL;

    cmk_pthread_lock_hot(&pool_lock);
    if (free_list != NULL || add_chunk() == 0) {
        p = free_list;
        memcpy(&free_list, p, sizeof(free_list));
        memset(p, 0, sizeof(free_list));
    }
    pthread_mutex_unlock(&pool_lock);
    return p;
}

void *cmk_secmem_alloc(size_t len)
{
    void *p = NULL;

    if (len <= CMK_SECPOOL_SLOT)
        p = take();
    /* sodium_malloc needs sodium_init (idempotent, thread safe). */
    if (p == NULL && sodium_init() >= 0) {
        p = sodium_malloc(len ? len : 1);
        if (p != NULL)
            sodium_memzero(p, len ? len : 1);
    }
    return p;
}

/* Called with pool_lock held. */
static int pooled(const uint8_t *p)
{
    size_t i;

    for (i = 0; i < n_chunks; i++) {
        if (p >= chunks[i] && p < chunks[i] + CHUNK)
            return 1;
    }
    return 0;
}

void cmk_secmem_free(void *p)
{
    int mine;

    if (p == NULL)
        return;
    cmk_pthread_lock_hot(&pool_lock);
    mine = pooled(p);
    if (mine) {
        sodium_memzero(p, CMK_SECPOOL_SLOT);
        memcpy(p, &free_list, sizeof(free_list));
        free_list = p;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!mine)
        sodium_free(p); /* wipes */
}

int cmk_secpool_owns(const void *p)
{
    int mine;

    pthread_mutex_lock(&pool_lock);
    mine = pooled(p);
    pthread_mutex_unlock(&pool_lock);
    return mine;
}
