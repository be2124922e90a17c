/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: handle map used for sessions and objects. Keys are handles, which
 * are never 0 and never ~0UL.
 */
#include <config.h>

#include <stdlib.h>

#include "util/hmap.h"

#define TOMB (~0UL)

static size_t slot_of(unsigned long key, size_t cap)
{
    /* Fibonacci hashing spreads sequential handles. */
    return (size_t)((key * 11400714819323198485ull) >> 7) & (cap - 1);
}

static cmk_err grow(struct cmk_hmap *h)
{
    struct cmk_hmap n = {0};
    size_t i;

    n.cap = h->cap ? h->cap * 2 : 64;
    if (h->live * 4 < h->cap)
        n.cap = h->cap; /* mostly tombstones: rehash in place size */
    n.keys = calloc(n.cap, sizeof(*n.keys));
    n.vals = calloc(n.cap, sizeof(*n.vals));
    if (n.keys == NULL || n.vals == NULL) {
        free(n.keys);
        free(n.vals);
        return CMK_E_NOMEM;
    }
    for (i = 0; i < h->cap; i++) {
        if (h->keys[i] != 0 && h->keys[i] != TOMB) {
            size_t s = slot_of(h->keys[i], n.cap);

            while (n.keys[s] != 0)
                s = (s + 1) & (n.cap - 1);
            n.keys[s] = h->keys[i];
            n.vals[s] = h->vals[i];
            n.used++;
            n.live++;
        }
    }
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

    if (key == 0 || key == TOMB)
        return CMK_E_ARGS;
    s = find(h, key);
    if (s != (size_t)-1) {
        h->vals[s] = val;
        return CMK_OK;
    }
    if ((h->used + 1) * 4 > h->cap * 3) {
        cmk_err err = grow(h);

        if (err != CMK_OK)
            return err;
    }
    s = slot_of(key, h->cap);
    while (h->keys[s] != 0 && h->keys[s] != TOMB)
        s = (s + 1) & (h->cap - 1);
    if (h->keys[s] == 0)
        h->used++;
    h->keys[s] = key;
    h->vals[s] = val;
    h->live++;
    return CMK_OK;
}

void *cmk_hmap_get(const struct cmk_hmap *h, unsigned long key)
{
    size_t s = find(h, key);

    return s == (size_t)-1 ? NULL : h->vals[s];
}

void *cmk_hmap_del(struct cmk_hmap *h, unsigned long key)
{
    size_t s = find(h, key);
    void *v;

    if (s == (size_t)-1)
        return NULL;
    v = h->vals[s];
    h->keys[s] = TOMB;
    h->vals[s] = NULL;
    h->live--;
    return v;
}

void cmk_hmap_each(const struct cmk_hmap *h,
                   void (*fn)(void *arg, unsigned long key, void *val),
                   void *arg)
{
    size_t i;

    for (i = 0; i < h->cap; i++) {
        if (h->keys[i] != 0 && h->keys[i] != TOMB)
            fn(arg, h->keys[i], h->vals[i]);
    }
}

void cmk_hmap_free(struct cmk_hmap *h)
{
    free(h->keys);
    free(h->vals);
    h->keys = NULL;
    h->vals = NULL;
    h->cap = h->used = h->live = 0;
}
