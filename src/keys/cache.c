/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the DEK cache. A hash table of entries with an LRU list, and a
 * short list of fills in flight so that concurrent misses for the same
 * blob make one KMS call. Entry values are secrets in locked memory.
 *
 * lock (a cmk_mutex) guards everything in struct cmk_cache, the entries
 * and flights included (the *_locked functions and the table helpers
 * slot_of and lru_* run under it). It is a leaf and is never held while a
 * fill (a KMS call) runs: the leader of a flight unlocks, fills, relocks
 * and publishes; waiters sleep on done.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "keys/cache.h"
#include "mech/mech.h"
#include "mech/hash.h"
#include "util/clock.h"
#include "util/lock.h"

#define GRACE_MAX_US INT64_C(30000000) /* refresh at most 30 s early */

struct entry {
    uint8_t digest[CMK_CACHE_DIGEST];
    struct cmk_secret val;
    int64_t expiry_us;
    int64_t refresh_us; /* from then on, one caller refreshes it */
    unsigned uses;
    bool refreshing;
    /* The value's keyed context (mech.h), once an unwrap made one
     * (cmk_cache_keep_ctx); dropped with the entry. */
    struct cmk_keyctx *kctx;
    struct entry *prev, *next; /* LRU, most recent first */
    struct entry *hnext;
};

struct flight {
    uint8_t digest[CMK_CACHE_DIGEST];
    struct cmk_secret val;
    cmk_err err;
    bool done;
    unsigned refs;
    struct flight *next;
};

struct cmk_cache {
    struct cmk_cache_cfg cfg;
    struct cmk_mutex lock;
    struct cmk_cond done; /* a flight ended */
    struct entry **buckets;
    size_t n_buckets;   /* power of two, grown with the entries */
    size_t max_buckets; /* for max_entries: twice it, at most 2^20 */
    struct entry lru;   /* sentinel */
    size_t n;
    struct flight *flights;
    struct cmk_cache_stats st;
};

cmk_err cmk_cache_new(const struct cmk_cache_cfg *cfg, struct cmk_cache **out)
{
    struct cmk_cache *c;

    if (cfg == NULL || out == NULL || cfg->max_entries == 0)
        return CMK_E_ARGS;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return CMK_E_NOMEM;
    c->cfg = *cfg;
    for (c->max_buckets = 16; c->max_buckets < 2 * (size_t)cfg->max_entries &&
                              c->max_buckets < ((size_t)1 << 20);)
        c->max_buckets *= 2;
    c->n_buckets = 16; /* a token that caches little pays little */
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return CMK_E_NOMEM;
    }
    c->lru.next = c->lru.prev = &c->lru;
    if (cmk_mutex_init(&c->lock) != CKR_OK ||
        cmk_cond_init(&c->done) != CKR_OK) {
        cmk_cond_fini(&c->done);
        cmk_mutex_fini(&c->lock);
        free(c->buckets);
        free(c);
        return CMK_E_NOMEM;
    }
    *out = c;
    return CMK_OK;
}

void cmk_cache_digest(const char *tenant, const uint8_t *blob, size_t len,
                      uint8_t digest[CMK_CACHE_DIGEST])
{
    struct cmk_blake2b b;

    cmk_blake2b_init(&b, CMK_CACHE_DIGEST);
    cmk_blake2b_update(&b, tenant, strlen(tenant) + 1); /* with its NUL */
    cmk_blake2b_update(&b, blob, len);
    cmk_blake2b_final(&b, digest);
}

static size_t hash_of(const uint8_t *d)
{
    size_t h;

    memcpy(&h, d, sizeof(h)); /* the digest is already uniform */
    return h;
}

static size_t bucket_of(const struct cmk_cache *c, const uint8_t *d)
{
    return hash_of(d) & (c->n_buckets - 1);
}

static struct entry **slot_of(struct cmk_cache *c, const uint8_t *d)
{
    struct entry **pe = &c->buckets[bucket_of(c, d)];

    while (*pe != NULL && sodium_memcmp((*pe)->digest, d, CMK_CACHE_DIGEST))
        pe = &(*pe)->hnext;
    return pe;
}

static void lru_unlink(struct entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void lru_front(struct cmk_cache *c, struct entry *e)
{
    e->next = c->lru.next;
    e->prev = &c->lru;
    c->lru.next->prev = e;
    c->lru.next = e;
}

/* Unlinks and wipes e. */
static void drop_locked(struct cmk_cache *c, struct entry *e)
{
    struct entry **pe = slot_of(c, e->digest);

    if (*pe == e)
        *pe = e->hnext;
    lru_unlink(e);
    cmk_keyctx_unref(e->kctx); /* wiped now, or by the last op on it */
    cmk_secret_free(&e->val);
    free(e);
    c->n--;
}

/* Doubles the bucket table once the entries outnumber the buckets (up to
 * max_buckets); without the memory the old table stays, only slower. */
static void grow_locked(struct cmk_cache *c)
{
    size_t n = c->n_buckets * 2, i;
    struct entry **b, *e, *next;

    if (c->n < c->n_buckets || c->n_buckets >= c->max_buckets)
        return;
    b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (i = 0; i < c->n_buckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = b[hash_of(e->digest) & (n - 1)];
            b[hash_of(e->digest) & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

static cmk_err insert_locked(struct cmk_cache *c, const uint8_t *d,
                             const struct cmk_secret *val, int64_t now)
{
    int64_t ttl = (int64_t)c->cfg.ttl_s * 1000000;
    int64_t grace = ttl / 10 < GRACE_MAX_US ? ttl / 10 : GRACE_MAX_US;
    struct entry **pe, *e;

    grow_locked(c);
    pe = slot_of(c, d);

    if (*pe != NULL)
        drop_locked(c, *pe); /* a refresh replaces the old value */
    if (c->n >= c->cfg.max_entries) {
        drop_locked(c, c->lru.prev);
        c->st.evictions++;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return CMK_E_NOMEM;
    if (cmk_secret_dup(&e->val, val->p, val->len) != CMK_OK) {
        free(e);
        return CMK_E_NOMEM;
    }
    memcpy(e->digest, d, CMK_CACHE_DIGEST);
    e->expiry_us = now + ttl;
    e->refresh_us = e->expiry_us - grace;
    pe = slot_of(c, d);
    *pe = e;
    lru_front(c, e);
    c->n++;
    return CMK_OK;
}

static void flush_locked(struct cmk_cache *c)
{
    while (c->lru.next != &c->lru)
        drop_locked(c, c->lru.next);
}

void cmk_cache_flush(struct cmk_cache *c)
{
    if (c == NULL)
        return;
    cmk_mutex_lock(&c->lock);
    flush_locked(c);
    cmk_mutex_unlock(&c->lock);
}

void cmk_cache_free(struct cmk_cache *c)
{
    if (c == NULL)
        return;
    cmk_cache_flush(c);
    cmk_cond_fini(&c->done);
    cmk_mutex_fini(&c->lock);
    free(c->buckets);
    free(c);
}

void cmk_cache_stats(struct cmk_cache *c, struct cmk_cache_stats *st)
{
    cmk_mutex_lock(&c->lock);
    *st = c->st;
    st->entries = c->n;
    cmk_mutex_unlock(&c->lock);
}

/* Hit path, under the lock: copies a live value, counts the use, and says
 * whether this caller should refresh the entry ahead of its expiry. */
static bool take_hit_locked(struct cmk_cache *c, struct entry *e, int64_t now,
                            struct cmk_secret *out, struct cmk_keyctx **kc,
                            cmk_err *err, bool *refresh)
{
    if (now >= e->expiry_us) {
        drop_locked(c, e);
        c->st.expiries++;
        return false;
    }
    *err = cmk_secret_dup(out, e->val.p, e->val.len);
    if (*err == CMK_OK && kc != NULL)
        *kc = cmk_keyctx_ref(e->kctx);
    c->st.hits++;
    if (++e->uses >= c->cfg.max_uses && c->cfg.max_uses != 0) {
        drop_locked(c, e); /* used up: the next caller goes to the KMS */
        return true;
    }
    lru_unlink(e);
    lru_front(c, e);
    *refresh = now >= e->refresh_us && !e->refreshing;
    if (*refresh)
        e->refreshing = true;
    return true;
}

/* One caller renews an entry before it expires, so a TTL boundary under
 * load does not send a burst of identical KMS calls. */
static void refresh(struct cmk_cache *c, const uint8_t *d, cmk_cache_fill fill,
                    void *arg)
{
    struct cmk_secret val = {0};
    cmk_err err = fill(arg, &val);
    struct entry *e;

    cmk_mutex_lock(&c->lock);
    c->st.fills++;
    e = *slot_of(c, d);
    if (e != NULL)
        e->refreshing = false;
    if (cmk_err_is_key_refusal(err))
        flush_locked(c);
    else if (err == CMK_OK && e != NULL)
        (void)insert_locked(c, d, &val, cmk_clock_now_us()); /* best effort */
    cmk_mutex_unlock(&c->lock);
    cmk_secret_free(&val);
}

static struct flight *find_flight_locked(struct cmk_cache *c, const uint8_t *d)
{
    struct flight *f;

    for (f = c->flights; f != NULL; f = f->next) {
        if (sodium_memcmp(f->digest, d, CMK_CACHE_DIGEST) == 0)
            return f;
    }
    return NULL;
}

static void unref_flight_locked(struct cmk_cache *c, struct flight *f)
{
    struct flight **pf;

    if (--f->refs != 0)
        return;
    for (pf = &c->flights; *pf != NULL; pf = &(*pf)->next) {
        if (*pf == f) {
            *pf = f->next;
            break;
        }
    }
    cmk_secret_free(&f->val);
    free(f);
}

/* Waits for another caller's fill and shares its result (lock held). */
static cmk_err join_locked(struct cmk_cache *c, struct flight *f,
                           struct cmk_secret *out)
{
    cmk_err err;

    f->refs++;
    while (!f->done)
        cmk_cond_wait(&c->done, &c->lock);
    err = f->err;
    if (err == CMK_OK)
        err = cmk_secret_dup(out, f->val.p, f->val.len);
    unref_flight_locked(c, f);
    return err;
}

/* Runs the fill for a miss; called and returns with the lock held, which
 * it lets go of while the fill runs. */
static cmk_err lead_locked(struct cmk_cache *c, const uint8_t *d,
                           cmk_cache_fill fill, void *arg,
                           struct cmk_secret *out)
{
    struct flight *f = calloc(1, sizeof(*f));
    cmk_err err;

    if (f == NULL)
        return CMK_E_NOMEM;
    memcpy(f->digest, d, CMK_CACHE_DIGEST);
    f->refs = 1;
    f->next = c->flights;
    c->flights = f;
    cmk_mutex_unlock(&c->lock);
    err = fill(arg, &f->val);
    cmk_mutex_lock(&c->lock);
    c->st.fills++;
    if (cmk_err_is_key_refusal(err))
        flush_locked(c);
    if (err == CMK_OK && c->cfg.ttl_s != 0)
        err = insert_locked(c, d, &f->val, cmk_clock_now_us());
    if (err == CMK_OK)
        err = cmk_secret_dup(out, f->val.p, f->val.len);
    f->err = err;
    f->done = true;
    cmk_cond_broadcast(&c->done);
    unref_flight_locked(c, f);
    return err;
}

static cmk_err get(struct cmk_cache *c, const uint8_t digest[CMK_CACHE_DIGEST],
                   cmk_cache_fill fill, void *arg, struct cmk_secret *out,
                   bool *hit, struct cmk_keyctx **kc)
{
    struct entry *e;
    struct flight *f;
    bool renew = false;
    cmk_err err = CMK_OK;

    if (c == NULL || fill == NULL || out == NULL || hit == NULL)
        return CMK_E_ARGS;
    cmk_mutex_lock_hot(&c->lock);
    e = *slot_of(c, digest);
    *hit = e != NULL &&
           take_hit_locked(c, e, cmk_clock_now_us(), out, kc, &err, &renew);
    if (!*hit) {
        c->st.misses++;
        f = find_flight_locked(c, digest);
        err = f != NULL ? join_locked(c, f, out)
                        : lead_locked(c, digest, fill, arg, out);
    }
    cmk_mutex_unlock(&c->lock);
    if (renew)
        refresh(c, digest, fill, arg);
    return err;
}

cmk_err cmk_cache_get(struct cmk_cache *c,
                      const uint8_t digest[CMK_CACHE_DIGEST],
                      cmk_cache_fill fill, void *arg, struct cmk_secret *out,
                      bool *hit)
{
    return get(c, digest, fill, arg, out, hit, NULL);
}

cmk_err cmk_cache_get_ctx(struct cmk_cache *c,
                          const uint8_t digest[CMK_CACHE_DIGEST],
                          cmk_cache_fill fill, void *arg,
                          struct cmk_secret *out, bool *hit,
                          struct cmk_keyctx **kc)
{
    if (kc == NULL)
        return CMK_E_ARGS;
    *kc = NULL;
    return get(c, digest, fill, arg, out, hit, kc);
}

void cmk_cache_keep_ctx(struct cmk_cache *c,
                        const uint8_t digest[CMK_CACHE_DIGEST],
                        struct cmk_keyctx *kc)
{
    struct entry *e;

    if (c == NULL || kc == NULL)
        return;
    cmk_mutex_lock_hot(&c->lock);
    e = *slot_of(c, digest);
    /* Only for the value it was made from (a refresh may have come). */
    if (e != NULL && e->kctx == NULL &&
        cmk_keyctx_matches(kc, cmk_keyctx_type(kc), e->val.p, e->val.len))
        e->kctx = cmk_keyctx_ref(kc);
    cmk_mutex_unlock(&c->lock);
}
