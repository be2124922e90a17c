/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the per-store generation words of seen_gen.h. A store is known by
 * a 64-bit BLAKE2b hash of its directory and tenant (0 marks a
 * free slot, so the hash's low bit is set). Tables are open addressing
 * with linear probing, filled to at most half; when the last one is half
 * full a table twice its size is appended (compare-and-swap on its next
 * pointer: a racer's table is freed and the winner's used). A lookup
 * probes every table in order, so a store stays where it was first put.
 * Two threads that add the same new store at once while a table is
 * appended could place it twice: stores of one config are distinct, and
 * C_Initialize calls are not concurrent with each other, so each store
 * has one word in practice; a second word would only start from 0.
 */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/seen_gen.h"
#include "mech/hash.h"

#define FIRST_CAP 256u

struct table {
    struct table *next; /* atomic */
    size_t cap;         /* power of two */
    size_t used;        /* atomic */
    uint64_t *key;      /* cap words; atomic */
    uint64_t *gen;      /* cap words; atomic, read by the callers */
};

static struct table *head; /* atomic */

static struct table *table_new(size_t cap)
{
    struct table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->cap = cap;
    t->key = calloc(cap, sizeof(*t->key));
    t->gen = calloc(cap, sizeof(*t->gen));
    if (t->key == NULL || t->gen == NULL) {
        free(t->key);
        free(t->gen);
        free(t);
        return NULL;
    }
    return t;
}

static void table_free(struct table *t)
{
    free(t->key);
    free(t->gen);
    free(t);
}

/* The slot of key in t, or where it may go: NULL when t has neither
 * (it is not in t, and t is half full). *found says which. */
static uint64_t *probe(struct table *t, uint64_t key, bool add, bool *found)
{
    size_t i, at = (size_t)key & (t->cap - 1);
    uint64_t k;

    *found = false;
    for (i = 0; i < t->cap; i++, at = (at + 1) & (t->cap - 1)) {
        k = __atomic_load_n(&t->key[at], __ATOMIC_ACQUIRE);
        if (k == key) {
            *found = true;
            return &t->gen[at];
        }
        if (k != 0)
            continue;
        if (!add) /* an empty slot ends the probe: not in t */
            return NULL;
        if (__atomic_add_fetch(&t->used, 1, __ATOMIC_ACQ_REL) > t->cap / 2) {
            __atomic_sub_fetch(&t->used, 1, __ATOMIC_ACQ_REL);
            return NULL; /* full enough: the next table takes it */
        }
        if (__atomic_compare_exchange_n(&t->key[at], &k, key, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *found = true;
            return &t->gen[at];
        }
        __atomic_sub_fetch(&t->used, 1, __ATOMIC_ACQ_REL);
        if (k == key) { /* a racer put the same store there */
            *found = true;
            return &t->gen[at];
        }
    }
    return NULL;
}

/* The table after t (the first for NULL), appended when missing. */
static struct table *next_of(struct table *t)
{
    struct table **link = t != NULL ? &t->next : &head;
    struct table *n = __atomic_load_n(link, __ATOMIC_ACQUIRE), *mine;

    if (n != NULL)
        return n;
    mine = table_new(t != NULL ? t->cap * 2 : FIRST_CAP);
    if (mine == NULL)
        return NULL;
    if (__atomic_compare_exchange_n(link, &n, mine, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return mine;
    table_free(mine); /* a racer's table is there */
    return n;
}

static uint64_t store_key(const char *store_dir, const char *label)
{
    struct cmk_blake2b b;
    uint64_t key = 0;

    cmk_blake2b_init(&b, sizeof(key));
    cmk_blake2b_update(&b, store_dir, strlen(store_dir) + 1);
    cmk_blake2b_update(&b, label, strlen(label));
    cmk_blake2b_final(&b, (uint8_t *)&key);
    return key | 1; /* 0 marks a free slot */
}

uint64_t *cmk_seen_gen(const char *store_dir, const char *label)
{
    uint64_t key, *g;
    struct table *t;
    bool found;

    if (store_dir == NULL || label == NULL)
        return NULL;
    key = store_key(store_dir, label);
    for (t = __atomic_load_n(&head, __ATOMIC_ACQUIRE); t != NULL;
         t = __atomic_load_n(&t->next, __ATOMIC_ACQUIRE)) {
        g = probe(t, key, false, &found);
        if (found)
            return g;
    }
    for (t = next_of(NULL); t != NULL; t = next_of(t)) {
        g = probe(t, key, true, &found);
        if (found)
            return g;
    }
    return NULL;
}
