/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the DEK cache ("session-level key cache"): unwrapped keys by a
 * digest of (tenant, blob), each with an expiry on the module clock, an
 * optional use limit, LRU eviction at a bounded entry count, single-flight
 * fills and one early refresh just before expiry. Values live in locked
 * secure memory and are wiped on eviction, flush and free. A hit is never
 * served after its expiry: that is the revocation bound. Thread safe; no
 * lock is held while a fill (a KMS call) runs.
 */
#ifndef CMK_CACHE_H
#define CMK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

#define CMK_CACHE_DIGEST 32

struct cmk_cache;

struct cmk_cache_cfg {
    unsigned ttl_s;       /* 0: nothing is cached */
    unsigned max_entries; /* >= 1 */
    unsigned max_uses;    /* 0: unlimited */
};

/* Makes the value for a miss (the KMS call). */
typedef cmk_err (*cmk_cache_fill)(void *arg, struct cmk_secret *val);

cmk_err cmk_cache_new(const struct cmk_cache_cfg *cfg,
                      struct cmk_cache **out) CMK_WUR;
void cmk_cache_free(struct cmk_cache *c);

/* Digest of a tenant label and a blob (BLAKE2b-256). */
void cmk_cache_digest(const char *tenant, const uint8_t *blob, size_t len,
                      uint8_t digest[CMK_CACHE_DIGEST]);

/*
 * Copies the value for digest into *out (caller frees). On a miss, exactly
 * one caller runs fill while concurrent callers for the same digest wait
 * and share its result, success or error; an error is never cached, so the
 * next call (not a waiter) tries again. *hit tells which happened.
 * CMK_E_KEY_DISABLED / CMK_E_ACCESS_DENIED from fill flush the whole cache.
 */
cmk_err cmk_cache_get(struct cmk_cache *c,
                      const uint8_t digest[CMK_CACHE_DIGEST],
                      cmk_cache_fill fill, void *arg, struct cmk_secret *out,
                      bool *hit) CMK_WUR;

/* cmk_cache_get that also hands out the keyed context kept with a hit's
 * entry (cmk_cache_keep_ctx): *kc is a new reference to it, or NULL (a
 * miss, or none kept yet). */
struct cmk_keyctx;
cmk_err cmk_cache_get_ctx(struct cmk_cache *c,
                          const uint8_t digest[CMK_CACHE_DIGEST],
                          cmk_cache_fill fill, void *arg,
                          struct cmk_secret *out, bool *hit,
                          struct cmk_keyctx **kc) CMK_WUR;
/* Keeps a reference to kc with digest's entry, if the entry has none and
 * holds the very value kc was made from, so every later hit's key object
 * shares one key schedule. It goes with the entry (eviction, expiry, use
 * limit, refresh, flush, free) and is wiped once no op holds it. */
void cmk_cache_keep_ctx(struct cmk_cache *c,
                        const uint8_t digest[CMK_CACHE_DIGEST],
                        struct cmk_keyctx *kc);
/* Wipes every entry (C_Logout, refusal from the KMS, explicit flush). */
void cmk_cache_flush(struct cmk_cache *c);

/* Statistics for tests and cmk-tool. */
struct cmk_cache_stats {
    size_t entries;
    unsigned long hits, misses, fills, evictions, expiries;
};
void cmk_cache_stats(struct cmk_cache *c, struct cmk_cache_stats *st);

#endif /* CMK_CACHE_H */
