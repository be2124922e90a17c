/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the locked slot pool behind cmk_secmem_alloc. Chunks are never
 * returned to the system (a module's key working set is small and
 * steady); a forked child gets them zeroed by the kernel, which also cuts
 * the free lists short, so the child's pool stays consistent. The pool's
 * locks are cmk_mutexes made by cmk_secpool_init (C_Initialize) and
 * destroyed by cmk_secpool_fini (C_Finalize).
 *
 * Chunks are carved in order out of one range of address space reserved
 * (PROT_NONE, nothing behind it) when the first chunk is made, so the
 * chunk of a pointer is a subtraction, not a search of every chunk: a
 * free costs the same with a full DEK cache of a million entries (over
 * a thousand chunks) as with one chunk.
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
/* Address space reserved for chunks: 1 GiB (a million cached DEKs take
 * 64 MiB of slots); less where that much cannot be reserved. */
#if UINTPTR_MAX > 0xffffffffu
#define MAX_CHUNKS 16384
#else
#define MAX_CHUNKS 1024
#endif
#define MIN_CHUNKS 256
#define SHARDS 8
#define CLASSES 3

/* Slot size of each class: key-sized secrets, whole keyed operation
 * states (key schedules, GCM tables) and whole key files (a PEM RSA-4096
 * private key is 3.3 KB), which must not go to sodium_malloc: it costs
 * ~50 µs and its pages are not wiped in a forked child. */
static const size_t slot_size[CLASSES] = {CMK_SECPOOL_SLOT, CMK_SECPOOL_BIG,
                                          CMK_SECPOOL_FILE};
_Static_assert(CHUNK % CMK_SECPOOL_FILE == 0, "whole slots per chunk");

/* Free slots are kept in a few lists per class, each under its own lock;
 * a thread uses the list its id hashes to, so two threads rarely share a
 * lock or its cache line. A slot freed by one thread may be reused by
 * another: slots are never tied to a list. */
struct shard {
    struct cmk_mutex lock;
    void *free_list; /* linked through each free slot's first bytes */
} __attribute__((aligned(64)));

static struct shard shards[CLASSES][SHARDS];
/* chunk_lock orders additions; readers take n_chunks with acquire and see
 * every chunk below it (chunks are never removed). Lock order: a shard's
 * lock, then chunk_lock. Each chunk holds slots of one class. */
static struct cmk_mutex chunk_lock;
static uint8_t *region;    /* reserved once (atomic), never unmapped */
static size_t region_size; /* in chunks */
static uint8_t chunk_class[MAX_CHUNKS];
static size_t n_chunks; /* chunk i is region + i * CHUNK */
/* The locks exist (atomic): cmk_secpool_init ran more often than
 * cmk_secpool_fini. Without them secrets come from sodium_malloc. */
static bool ready;
static unsigned users;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static struct shard *my_shard(int cls)
{
    uint64_t h = (uint64_t)pthread_self() * 0x9e3779b97f4a7c15ULL;

    return &shards[cls][h >> 61]; /* top 3 bits: SHARDS == 8 */
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

/* The chunks' address range, on first use (chunk_lock held): as large
 * as the system lets us reserve, down to MIN_CHUNKS. */
static int reserve_locked(void)
{
    size_t n;
    void *p;

    if (region != NULL)
        return 0;
    for (n = MAX_CHUNKS; n >= MIN_CHUNKS; n /= 2) {
        p = mmap(NULL, n * CHUNK, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            region_size = n;
            __atomic_store_n(&region, (uint8_t *)p, __ATOMIC_RELEASE);
            return 0;
        }
    }
    return -1;
}

/* The next chunk of the range, made usable (chunk_lock held). */
static uint8_t *new_chunk_locked(int cls)
{
    size_t n = n_chunks;
    uint8_t *c;

    if (reserve_locked() != 0 || n == region_size)
        return NULL;
    c = region + n * CHUNK;
    if (mprotect(c, CHUNK, PROT_READ | PROT_WRITE) != 0)
        return NULL;
    advise(c);
    chunk_class[n] = (uint8_t)cls;
    __atomic_store_n(&n_chunks, n + 1, __ATOMIC_RELEASE);
    return c;
}

/* A new chunk's slots of class cls go to sh (sh->lock held). */
static int add_chunk_locked(int cls, struct shard *sh)
{
    size_t off, slot = slot_size[cls];
    uint8_t *c;

    cmk_mutex_lock(&chunk_lock);
    c = new_chunk_locked(cls);
    cmk_mutex_unlock(&chunk_lock);
    if (c == NULL)
        return -1;
    for (off = CHUNK; off >= slot; off -= slot) {
        void *s = c + off - slot;

        memcpy(s, &sh->free_list, sizeof(sh->free_list));
        sh->free_list = s;
    }
    return 0;
}

/* sh->lock held. */
static void *pop_locked(struct shard *sh)
{
    void *p = sh->free_list;

    if (p != NULL) {
        memcpy(&sh->free_list, p, sizeof(sh->free_list));
        memset(p, 0, sizeof(sh->free_list));
    }
    return p;
}

/* Another list's slot of the same class, before a new chunk is mapped. */
static void *steal(int cls, const struct shard *mine)
{
    void *p = NULL;
    size_t i;

    for (i = 0; i < SHARDS && p == NULL; i++) {
        struct shard *sh = &shards[cls][i];

        if (sh == mine)
            continue;
        cmk_mutex_lock(&sh->lock);
        p = pop_locked(sh);
        cmk_mutex_unlock(&sh->lock);
    }
    return p;
}

static void *take(int cls)
{
    struct shard *sh = my_shard(cls);
    void *p;

    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return NULL;
    cmk_mutex_lock_hot(&sh->lock);
    p = pop_locked(sh);
    cmk_mutex_unlock(&sh->lock);
    if (p == NULL)
        p = steal(cls, sh);
    if (p == NULL) {
        cmk_mutex_lock_hot(&sh->lock);
        if (sh->free_list != NULL || add_chunk_locked(cls, sh) == 0)
            p = pop_locked(sh);
        cmk_mutex_unlock(&sh->lock);
    }
    return p;
}

void *cmk_secmem_alloc(size_t len)
{
    void *p = NULL;

    if (len <= CMK_SECPOOL_SLOT)
        p = take(0);
    else if (len <= CMK_SECPOOL_BIG)
        p = take(1);
    else if (len <= CMK_SECPOOL_FILE)
        p = take(2);
    /* sodium_malloc needs sodium_init (idempotent, thread safe). */
    if (p == NULL && sodium_init() >= 0) {
        p = sodium_malloc(len ? len : 1);
        if (p != NULL)
            sodium_memzero(p, len ? len : 1);
    }
    return p;
}

/* The chunk holding p, or -1. No lock: chunks are only ever added, and
 * n_chunks is stored after region. */
static long chunk_of(const uint8_t *p)
{
    size_t n = __atomic_load_n(&n_chunks, __ATOMIC_ACQUIRE);
    uintptr_t base = (uintptr_t)__atomic_load_n(&region, __ATOMIC_ACQUIRE);
    uintptr_t a = (uintptr_t)p;

    if (n == 0 || a < base || a - base >= n * (uintptr_t)CHUNK)
        return -1;
    return (long)((a - base) / CHUNK);
}

void cmk_secmem_free(void *p)
{
    struct shard *sh;
    long i;
    int cls;

    if (p == NULL)
        return;
    i = chunk_of(p);
    if (i < 0) {
        sodium_free(p); /* wipes */
        return;
    }
    cls = chunk_class[i];
    sodium_memzero(p, slot_size[cls]); /* the slot is still ours */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE))
        return; /* the pool is closed: the wiped slot is not reused */
    sh = my_shard(cls);
    cmk_mutex_lock_hot(&sh->lock);
    memcpy(p, &sh->free_list, sizeof(sh->free_list));
    sh->free_list = p;
    cmk_mutex_unlock(&sh->lock);
}

int cmk_secpool_owns(const void *p)
{
    return chunk_of(p) >= 0;
}

/* In a fork child: a parent thread may have held a pool lock, so the
 * child forgets the locks without touching them (no lock, no free) and
 * falls back to sodium_malloc until its next cmk_secpool_init. */
static void forget_in_child(void)
{
    int cls, i;

    __atomic_store_n(&ready, false, __ATOMIC_RELEASE);
    users = 0;
    for (cls = 0; cls < CLASSES; cls++)
        for (i = 0; i < SHARDS; i++)
            memset(&shards[cls][i].lock, 0, sizeof(struct cmk_mutex));
    memset(&chunk_lock, 0, sizeof(chunk_lock));
}

static void watch_forks(void)
{
    (void)pthread_atfork(NULL, NULL, forget_in_child);
}

static void destroy_locks(void)
{
    int cls, i;

    for (cls = 0; cls < CLASSES; cls++)
        for (i = 0; i < SHARDS; i++)
            cmk_mutex_fini(&shards[cls][i].lock);
    cmk_mutex_fini(&chunk_lock);
}

static CK_RV make_locks(void)
{
    CK_RV rv = cmk_mutex_init(&chunk_lock);
    int cls, i;

    for (cls = 0; cls < CLASSES && rv == CKR_OK; cls++)
        for (i = 0; i < SHARDS && rv == CKR_OK; i++)
            rv = cmk_mutex_init(&shards[cls][i].lock);
    if (rv != CKR_OK)
        destroy_locks();
    return rv;
}

cmk_err cmk_secpool_init(void)
{
    (void)pthread_once(&fork_once, watch_forks);
    if (users > 0) {
        users++;
        return CMK_OK;
    }
    if (make_locks() != CKR_OK)
        return CMK_E_NOMEM;
    users = 1;
    __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
    return CMK_OK;
}

void cmk_secpool_fini(void)
{
    if (users == 0 || --users > 0)
        return;
    __atomic_store_n(&ready, false, __ATOMIC_RELEASE);
    destroy_locks();
}
