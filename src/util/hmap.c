/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: handle map used for sessions and objects. Keys are handles, which
 * are never 0. Linear probing; a removal shifts the entries after it back
 * into the gap (no tombstones), so a lookup or an insertion probes only
 * past live entries however many handles came and went.
 */
#include <config.h>

#include <stdlib.h>

#include "util/hmap.h"

static size_t slot_of(unsigned long key, size_t cap)
{
    /* Fibonacci hashing spreads sequential handles. */
    return (size_t)((key * 11400714819323198485ull) >> 7) & (cap - 1);
}

static void place(struct cmk_hmap *h, unsigned long key, void *val)
{
    size_t s = slot_of(key, h->cap);

    while (h->keys[s] != 0)
        s = (s + 1) & (h->cap - 1);
    h->keys[s] = key;
    h->vals[s] = val;
    h->live++;
}

static cmk_err grow(struct cmk_hmap *h)
{
    struct cmk_hmap n = {0};
    size_t i;

    n.cap = h->cap ? h->cap * 2 : 64;
    n.keys = calloc(n.cap, sizeof(*n.keys));
    n.vals = calloc(n.cap, sizeof(*n.vals));
    if (n.keys == NULL || n.vals == NULL) {
        free(n.keys);
        free(n.vals);
        return CMK_E_NOMEM;
    }
    for (i = 0; i < h->cap; i++)
        if (h->keys[i] != 0)
            place(&n, h->keys[i], h->vals[i]);
    free(h->keys);
    free(h->vals);
    *h = n;
    return CMK_OK;
}

static size_t find(const struct cmk_hmap *h, unsigned long key)
{
    size_t s;

    if (h->cap == 0)
        return (size_t)-1;
    s = slot_of(key, h->cap);
    while (h->keys[s] != 0) {
        if (h->keys[s] == key)
            return s;
        s = (s + 1) & (h->cap - 1);
    }
    return (size_t)-1;
}

cmk_err cmk_hmap_put(struct cmk_hmap *h, unsigned long key, void *val)
{
    size_t s;

    if (key == 0)
        return CMK_E_ARGS;
    s = find(h, key);
    if (s != (size_t)-1) {
        h->vals[s] = val;
        return CMK_OK;
    }
    if ((h->live + 1) * 4 > h->cap * 3) {
        cmk_err err = grow(h);

        if (err != CMK_OK)
            return err;
    }
    place(h, key, val);
    return CMK_OK;
}

void *cmk_hmap_get(const struct cmk_hmap *h, unsigned long key)
{
    size_t s = find(h, key);

    return s == (size_t)-1 ? NULL : h->vals[s];
}

/* Empties slot gap: each later entry of the run whose home slot is not
 * between the gap and itself moves into the gap, which moves on. */
static void close_gap(struct cmk_hmap *h, size_t gap)
{
    size_t mask = h->cap - 1, j = gap, home;

    for (;;) {
        j = (j + 1) & mask;
        if (h->keys[j] == 0)
            break;
        home = slot_of(h->keys[j], h->cap);
        if (((j - home) & mask) >= ((j - gap) & mask)) {
            h->keys[gap] = h->keys[j];
            h->vals[gap] = h->vals[j];
            gap = j;
        }
    }
    h->keys[gap] = 0;
    h->vals[gap] = NULL;
}

void *cmk_hmap_del(struct cmk_hmap *h, unsigned long key)
{
    size_t s = find(h, key);
    void *v;

    if (s == (size_t)-1)
        return NULL;
    v = h->vals[s];
    close_gap(h, s);
    h->live--;
    return v;
}

void cmk_hmap_each(const struct cmk_hmap *h,
                   void (*fn)(void *arg, unsigned long key, void *val),
                   void *arg)
{
    size_t i;

    for (i = 0; i < h->cap; i++) {
        if (h->keys[i] != 0)
            fn(arg, h->keys[i], h->vals[i]);
    }
}

void cmk_hmap_free(struct cmk_hmap *h)
{
    free(h->keys);
    free(h->vals);
    h->keys = NULL;
    h->vals = NULL;
    h->cap = h->live = 0;
}
