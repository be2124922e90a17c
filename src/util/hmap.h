/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: map from handles (CK_ULONG, never 0) to pointers, open addressing
 * with linear probing and backward-shift removal. Not thread safe: the
 * owner locks.
 */
#ifndef CMK_HMAP_H
#define CMK_HMAP_H

#include <stddef.h>
#include "util/err.h"

struct cmk_hmap {
    unsigned long *keys; /* 0 = empty */
    void **vals;
    size_t cap; /* power of two; at most 3/4 of it live */
    size_t live;
};

cmk_err cmk_hmap_put(struct cmk_hmap *h, unsigned long key, void *val) CMK_WUR;
void *cmk_hmap_get(const struct cmk_hmap *h, unsigned long key);
/* Removes and returns the value, NULL if absent. */
void *cmk_hmap_del(struct cmk_hmap *h, unsigned long key);
/* Calls fn for every entry; fn may not modify the map. */
void cmk_hmap_each(const struct cmk_hmap *h,
                   void (*fn)(void *arg, unsigned long key, void *val),
                   void *arg);
void cmk_hmap_free(struct cmk_hmap *h);

#endif /* CMK_HMAP_H */
