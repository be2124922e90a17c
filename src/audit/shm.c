/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the shared counters of an audit path (shm.h). Each counter is
 * one 64-bit word: generation in the top 16 bits, byte offset in the low
 * 48 (256 TiB), so checking the generation and moving the offset is one
 * compare-and-swap, correct across processes on the shared mapping.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/shm.h"
#include "util/log.h"
#include "util/trust.h"

#define MAGIC UINT64_C(0x32534f50414b4d43) /* "CMKAPOS2" */
#define OFF_BITS 48
#define OFF_MASK ((UINT64_C(1) << OFF_BITS) - 1)
#define PAGE 4096

struct page {
    uint64_t magic;
    uint64_t dev, ino, born; /* the file the counters describe */
    uint64_t next;           /* gen << 48 | end of the space handed out */
    uint64_t alloc;          /* gen << 48 | end of the space allocated */
};

struct cmk_ashm {
    int fd;
    struct page *p;
};

static uint32_t gen_of(uint64_t w)
{
    return (uint32_t)(w >> OFF_BITS);
}

static uint64_t word(uint32_t gen, uint64_t off)
{
    return (uint64_t)(gen & 0xffff) << OFF_BITS | (off & OFF_MASK);
}

/* DIR/.BASENAME.pos */
static bool side_path(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int n;

    if (slash == NULL)
        n = snprintf(out, cap, ".%s.pos", path);
    else
        n = snprintf(out, cap, "%.*s/.%s.pos", (int)(slash - path), path,
                     slash + 1);
    return n > 0 && (size_t)n < cap;
}

static cmk_err map_it(struct cmk_ashm *s, const char *side)
{
    char why[PATH_MAX + 128];
    struct stat st;

    if (cmk_trust_fd(s->fd, side, 0, why, sizeof(why)) != CMK_OK) {
        cmk_log_error("audit: %s", why);
        return CMK_E_CONFIG;
    }
    if (fstat(s->fd, &st) != 0 ||
        (st.st_size < PAGE && ftruncate(s->fd, PAGE) != 0))
        return CMK_E_IO;
    s->p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (s->p == MAP_FAILED) {
        s->p = NULL;
        return CMK_E_IO;
    }
    return CMK_OK;
}

cmk_err cmk_ashm_open(const char *path, struct cmk_ashm **out)
{
    char side[PATH_MAX], msg[128];
    struct cmk_ashm *s;
    cmk_err err;

    if (!side_path(path, side, sizeof(side)))
        return CMK_E_ARGS;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return CMK_E_NOMEM;
    s->fd = open(side, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    err = s->fd < 0 ? CMK_E_IO : map_it(s, side);
    if (err == CMK_E_IO)
        cmk_log_error("audit: cannot open %s: %s", side,
                      strerror_r(errno, msg, sizeof(msg)));
    if (err != CMK_OK) {
        cmk_ashm_close(s);
        return err;
    }
    *out = s;
    return CMK_OK;
}

void cmk_ashm_close(struct cmk_ashm *s)
{
    if (s == NULL)
        return;
    if (s->p != NULL)
        (void)munmap(s->p, PAGE);
    if (s->fd >= 0)
        (void)close(s->fd);
    free(s);
}

uint32_t cmk_ashm_reset(struct cmk_ashm *s, dev_t dev, ino_t ino, uint64_t born,
                        uint64_t next, uint64_t alloc)
{
    struct page *p = s->p;
    uint32_t gen;

    gen = (gen_of(__atomic_load_n(&p->next, __ATOMIC_ACQUIRE)) + 1) & 0xffff;
    __atomic_store_n(&p->dev, (uint64_t)dev, __ATOMIC_RELAXED);
    __atomic_store_n(&p->ino, (uint64_t)ino, __ATOMIC_RELAXED);
    __atomic_store_n(&p->born, born, __ATOMIC_RELAXED);
    __atomic_store_n(&p->alloc, word(gen, alloc), __ATOMIC_RELEASE);
    __atomic_store_n(&p->next, word(gen, next), __ATOMIC_RELEASE);
    __atomic_store_n(&p->magic, MAGIC, __ATOMIC_RELEASE);
    return gen;
}

uint32_t cmk_ashm_bind(struct cmk_ashm *s, dev_t dev, ino_t ino, uint64_t born,
                       off_t size)
{
    struct page *p = s->p;

    if (__atomic_load_n(&p->magic, __ATOMIC_ACQUIRE) == MAGIC &&
        __atomic_load_n(&p->dev, __ATOMIC_RELAXED) == (uint64_t)dev &&
        __atomic_load_n(&p->ino, __ATOMIC_RELAXED) == (uint64_t)ino &&
        __atomic_load_n(&p->born, __ATOMIC_RELAXED) == born)
        return gen_of(__atomic_load_n(&p->next, __ATOMIC_ACQUIRE));
    /* A new file (or a first use): a new generation, counters at its
     * size. Writers of the old generation fail their next CAS. */
    return cmk_ashm_reset(s, dev, ino, born, (uint64_t)size, (uint64_t)size);
}

int64_t cmk_ashm_reserve(struct cmk_ashm *s, uint32_t gen, uint64_t len)
{
    uint64_t w = __atomic_load_n(&s->p->next, __ATOMIC_RELAXED);

    do {
        if (gen_of(w) != gen || (w & OFF_MASK) + len > OFF_MASK)
            return -1;
    } while (!__atomic_compare_exchange_n(&s->p->next, &w, w + len, true,
                                          __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
    return (int64_t)(w & OFF_MASK);
}

int64_t cmk_ashm_end(const struct cmk_ashm *s, uint32_t gen)
{
    uint64_t w = __atomic_load_n(&s->p->next, __ATOMIC_ACQUIRE);

    return gen_of(w) == gen ? (int64_t)(w & OFF_MASK) : -1;
}

uint64_t cmk_ashm_alloc(const struct cmk_ashm *s, uint32_t gen)
{
    uint64_t w = __atomic_load_n(&s->p->alloc, __ATOMIC_ACQUIRE);

    return gen_of(w) == gen ? w & OFF_MASK : 0;
}

void cmk_ashm_raise_alloc(struct cmk_ashm *s, uint32_t gen, uint64_t end)
{
    uint64_t w = __atomic_load_n(&s->p->alloc, __ATOMIC_RELAXED);

    while (gen_of(w) == gen && (w & OFF_MASK) < end &&
           !__atomic_compare_exchange_n(&s->p->alloc, &w, word(gen, end), true,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        ;
}

void cmk_ashm_set(struct cmk_ashm *s, uint32_t gen, uint64_t end)
{
    uint64_t w = __atomic_load_n(&s->p->next, __ATOMIC_RELAXED);

    if (gen_of(w) != gen)
        return;
    __atomic_store_n(&s->p->alloc, word(gen, end), __ATOMIC_RELEASE);
    __atomic_store_n(&s->p->next, word(gen, end), __ATOMIC_RELEASE);
}
