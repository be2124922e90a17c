/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the locked slot pool behind cmk_secmem_alloc. Chunks are never
 * returned to the system (a module's key working set is small and
 * steady); a forked child gets them zeroed by the kernel, which also cuts
 * the free lists short, so the child's pool stays consistent.
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
#define SHARDS 8

/* Free slots are kept in a few lists, each under its own lock; a thread
 * uses the list its id hashes to, so two threads rarely share a lock or
 * its cache line. A slot freed by one thread may be reused by another:
 * slots are never tied to a list. */
struct shard {
    pthread_mutex_t lock;
    void *free_list; /* linked through each free slot's first bytes */
} __attribute__((aligned(64)));

#define SHARD_INIT {PTHREAD_MUTEX_INITIALIZER, NULL}
static struct shard shards[SHARDS] = {SHARD_INIT, SHARD_INIT, SHARD_INIT,
                                      SHARD_INIT, SHARD_INIT, SHARD_INIT,
                                      SHARD_INIT, SHARD_INIT};
/* chunk_lock orders additions; readers take n_chunks with acquire and see
 * every chunk below it (chunks are never removed). Lock order: a shard's
 * lock, then chunk_lock. */
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *chunks[MAX_CHUNKS];
static size_t n_chunks;

static struct shard *my_shard(void)
{
    uint64_t h = (uint64_t)pthread_self() * 0x9e3779b97f4a7c15ULL;

    return &shards[h >> 61]; /* top 3 bits: SHARDS == 8 */
}

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

/* Called with sh->lock held: a new chunk's slots go to sh. */
static int add_chunk(struct shard *sh)
{
    uint8_t *c;
    size_t off, n;

    pthread_mutex_lock(&chunk_lock);
    n = n_chunks;
    if (n == MAX_CHUNKS) {
        pthread_mutex_unlock(&chunk_lock);
        return -1;
    }
    c = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c != MAP_FAILED) {
        advise(c);
        chunks[n] = c;
        __atomic_store_n(&n_chunks, n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&chunk_lock);
    if (c == MAP_FAILED)
        return -1;
    for (off = CHUNK; off >= CMK_SECPOOL_SLOT; off -= CMK_SECPOOL_SLOT) {
        void *slot = c + off - CMK_SECPOOL_SLOT;

        memcpy(slot, &sh->free_list, sizeof(sh->free_list));
        sh->free_list = slot;
    }
    return 0;
}

/* Called with sh->lock held. */
static void *pop(struct shard *sh)
{
    void *p = sh->free_list;

    if (p != NULL) {
        memcpy(&sh->free_list, p, sizeof(sh->free_list));
        memset(p, 0, sizeof(sh->free_list));
    }
    return p;
}

/* Another list's slot, before a new chunk is mapped. */
static void *steal(const struct shard *mine)
{
    void *p = NULL;
    size_t i;

    for (i = 0; i < SHARDS && p == NULL; i++) {
        if (&shards[i] == mine)
            continue;
        pthread_mutex_lock(&shards[i].lock);
        p = pop(&shards[i]);
        pthread_mutex_unlock(&shards[i].lock);
    }
    return p;
}

static void *take(void)
{
    struct shard *sh = my_shard();
    void *p;

    cmk_pthread_lock_hot(&sh->lock);
    p = pop(sh);
    pthread_mutex_unlock(&sh->lock);
    if (p == NULL)
        p = steal(sh);
    if (p == NULL) {
        cmk_pthread_lock_hot(&sh->lock);
        if (sh->free_list != NULL || add_chunk(sh) == 0)
            p = pop(sh);
        pthread_mutex_unlock(&sh->lock);
    }
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

/* No lock: chunks are only ever added. */
static int pooled(const uint8_t *p)
{
    size_t i, n = __atomic_load_n(&n_chunks, __ATOMIC_ACQUIRE);

    for (i = 0; i < n; i++) {
        if (p >= chunks[i] && p < chunks[i] + CHUNK)
            return 1;
    }
    return 0;
}

void cmk_secmem_free(void *p)
{
    struct shard *sh;

    if (p == NULL)
        return;
    if (!pooled(p)) {
        sodium_free(p); /* wipes */
        return;
    }
    sodium_memzero(p, CMK_SECPOOL_SLOT); /* the slot is still ours */
    sh = my_shard();
    cmk_pthread_lock_hot(&sh->lock);
    memcpy(p, &sh->free_list, sizeof(sh->free_list));
    sh->free_list = p;
    pthread_mutex_unlock(&sh->lock);
}

int cmk_secpool_owns(const void *p)
{
    return pooled(p);
}
