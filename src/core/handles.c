/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the session and object handle tables, each a set of locked maps
 * (shards) and a counter. Calls nothing in core above it: the entries'
 * lives (free, close) stay with session.c and object.c.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "core/handles.h"
#include "core/object.h"
#include "core/session.h"
#include "core/token.h"
#include "util/hmap.h"
#include "util/lock.h"

/* A table is SHARDS maps, each under its own lock on cache lines of its
 * own, and a handle names its shard in its low bits, from that shard's
 * counter. A thread registers in a shard of its own (threads take first
 * shards in turn) while that shard is empty, and in the next one
 * otherwise (table_add): threads working on their own sessions and
 * objects share no lock and no cache line, and neither do the sessions
 * of a pool one thread opens and hands to others; only lookups of one
 * shared object (a tenant's CMK) meet on one. */
#define SHARD_BITS 4
#define SHARDS (1 << SHARD_BITS)

struct shard {
    struct cmk_mutex lock; /* map and next */
    struct cmk_hmap map;
    unsigned long next; /* the next handle is next << SHARD_BITS | index */
} __attribute__((aligned(64)));

struct table {
    struct shard shard[SHARDS];
    /* Atomic: bit i set while shard i holds entries, and maybe after
     * (changed under its lock), so walks visit only those. */
    unsigned long used __attribute__((aligned(64)));
};

static struct table sessions;
static struct table objects;
/* Orders the registrations of token objects, so that two threads cannot
 * both register an object for one store file (cmk_handles_add_object):
 * taken before a shard lock, never while holding one. */
static struct cmk_mutex token_adds;
/* Registered token objects with a store file by their name's 64 bits (16
 * hex digits), under token_adds, so that registering one finds a twin
 * without walking every object: a store load of n objects made n^2/2
 * visits (50 million for 10 000). A name another token already has in
 * the index (or the name 0) is left out and counted in unindexed; while
 * any is, a miss in the index walks the table as before. */
static struct cmk_hmap by_name;
static size_t unindexed;

static struct shard *shard_of(struct table *tb, unsigned long h)
{
    return &tb->shard[h & (SHARDS - 1)];
}

/* ---- Masks of the shards (or roster parts) that hold something ----
 *
 * Bit i is set, under the lock of shard (part) i, when it gains an
 * entry, and cleared, under the same lock, only by a walk that finds it
 * empty: a thread that registers and removes entries in its own shard,
 * one an operation, writes no cache line another thread writes. A walk
 * visits the shards whose bit is set when it looks: an entry added
 * meanwhile is one it may or may not see (handles.h). */

static void mask_set(unsigned long *m, unsigned i)
{
    unsigned long bit = 1UL << i;

    if (!(__atomic_load_n(m, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_or(m, bit, __ATOMIC_RELEASE);
}

static void mask_settle(unsigned long *m, unsigned i, bool empty)
{
    unsigned long bit = 1UL << i;

    if (empty && (__atomic_load_n(m, __ATOMIC_RELAXED) & bit))
        __atomic_fetch_and(m, ~bit, __ATOMIC_RELEASE);
}

static unsigned long mask_read(const unsigned long *m)
{
    return __atomic_load_n(m, __ATOMIC_ACQUIRE);
}

static unsigned long used_shards(const struct table *tb)
{
    return mask_read(&tb->used);
}

/* The calling thread's shard in tb for its next registration: index + 1,
 * 0 until its first (then its first shard, given out in turn). */
static unsigned *cursor(const struct table *tb)
{
    static unsigned turn;
    static __thread unsigned last[2]; /* sessions, objects */
    unsigned *l = &last[tb != &sessions];

    if (*l == 0)
        *l = __atomic_fetch_add(&turn, 1, __ATOMIC_RELAXED) % SHARDS + 1;
    return l;
}

/* Held briefly by every entry point's lookup: the hot locks. */
static void shard_lock(struct shard *sh)
{
    cmk_mutex_lock_hot(&sh->lock);
}

static void shard_unlock(struct shard *sh)
{
    cmk_mutex_unlock(&sh->lock);
}

/* A walk's visit of shard i (its lock held). */
static void settle_live(struct table *tb, unsigned i)
{
    mask_settle(&tb->used, i, tb->shard[i].map.live == 0);
}

/* Registers val in tb under a fresh handle, written to *h before val is
 * visible. The calling thread stays in its shard while the shard is
 * empty when it registers, and moves on to the next otherwise: a thread
 * that opens and closes its own sessions (or makes and destroys its own
 * objects) keeps to one shard, whose cache lines stay its own, and the
 * sessions of a pool one thread opens for others land in different
 * shards, so their users' lookups meet on no lock. CKR_HOST_MEMORY. */
static CK_RV table_add(struct table *tb, void *val, unsigned long *h)
{
    unsigned *l = cursor(tb);
    struct shard *sh = &tb->shard[*l - 1];
    cmk_err err;

    shard_lock(sh);
    if (sh->map.live != 0) {
        shard_unlock(sh);
        *l = *l % SHARDS + 1;
        sh = &tb->shard[*l - 1];
        shard_lock(sh);
    }
    *h = sh->next++ << SHARD_BITS | (*l - 1);
    err = cmk_hmap_put(&sh->map, *h, val);
    mask_set(&tb->used, *l - 1);
    shard_unlock(sh);
    return err == CMK_OK ? CKR_OK : CKR_HOST_MEMORY;
}

static void table_fini(struct table *tb)
{
    int i;

    for (i = 0; i < SHARDS; i++) {
        cmk_hmap_free(&tb->shard[i].map);
        cmk_mutex_fini(&tb->shard[i].lock);
    }
    memset(tb, 0, sizeof(*tb));
}

static CK_RV table_init(struct table *tb)
{
    CK_RV rv = CKR_OK;
    int i;

    memset(tb, 0, sizeof(*tb));
    for (i = 0; i < SHARDS && rv == CKR_OK; i++) {
        tb->shard[i].next = 1; /* handles are never 0 */
        rv = cmk_mutex_init(&tb->shard[i].lock);
    }
    return rv;
}

/* Calls fn for every entry of tb, one shard at a time under its lock. */
static void table_each(struct table *tb,
                       void (*fn)(void *arg, unsigned long key, void *val),
                       void *arg)
{
    unsigned long used = used_shards(tb);
    int i;

    for (i = 0; i < SHARDS; i++) {
        if (!(used & (1UL << i)))
            continue;
        shard_lock(&tb->shard[i]);
        cmk_hmap_each(&tb->shard[i].map, fn, arg);
        settle_live(tb, (unsigned)i);
        shard_unlock(&tb->shard[i]);
    }
}

CK_RV cmk_handles_init(void)
{
    CK_RV rv = table_init(&sessions);

    if (rv == CKR_OK)
        rv = table_init(&objects);
    if (rv == CKR_OK)
        rv = cmk_mutex_init(&token_adds);
    return rv;
}

void cmk_handles_fini(void)
{
    table_fini(&sessions);
    table_fini(&objects);
    cmk_hmap_free(&by_name);
    unindexed = 0;
    cmk_mutex_fini(&token_adds);
}

struct wipe_ctx {
    void (*wipe)(struct cmk_object *o);
};

static void wipe_one(void *arg, unsigned long key, void *val)
{
    struct wipe_ctx *c = arg;

    (void)key;
    c->wipe(val);
}

void cmk_handles_forget_in_child(void (*wipe)(struct cmk_object *o))
{
    struct wipe_ctx c = {wipe};
    int i;

    for (i = 0; i < SHARDS; i++)
        cmk_hmap_each(&objects.shard[i].map, wipe_one, &c);
    memset(&sessions, 0, sizeof(sessions));
    memset(&objects, 0, sizeof(objects));
    memset(&by_name, 0, sizeof(by_name)); /* abandoned, as the tables */
    unindexed = 0;
    memset(&token_adds, 0, sizeof(token_adds));
}

/* ---- Sessions ---- */

CK_RV cmk_handles_add_session(struct cmk_session *s)
{
    return table_add(&sessions, s, &s->handle);
}

struct cmk_session *cmk_handles_ref_session(CK_SESSION_HANDLE h)
{
    struct shard *sh = shard_of(&sessions, h);
    struct cmk_session *s;

    shard_lock(sh);
    s = cmk_hmap_get(&sh->map, h);
    if (s != NULL)
        __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
    shard_unlock(sh);
    return s;
}

struct cmk_session *cmk_handles_del_session(CK_SESSION_HANDLE h)
{
    struct shard *sh = shard_of(&sessions, h);
    struct cmk_session *s;

    shard_lock(sh);
    s = cmk_hmap_del(&sh->map, h);
    shard_unlock(sh);
    return s;
}

struct of_token {
    const struct cmk_token *t;
    CK_SESSION_HANDLE *h;
    size_t n;
    size_t cap;
    bool nomem;
};

static void collect_session(void *arg, unsigned long key, void *val)
{
    struct of_token *c = arg;
    struct cmk_session *s = val;
    CK_SESSION_HANDLE *grown;

    if ((c->t != NULL && s->token != c->t) || c->nomem)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;

        grown = realloc(c->h, cap * sizeof(*grown));
        if (grown == NULL) {
            c->nomem = true;
            return;
        }
        c->h = grown;
        c->cap = cap;
    }
    c->h[c->n++] = key;
}

CK_RV cmk_handles_sessions_of(const struct cmk_token *t,
                              CK_SESSION_HANDLE **out, size_t *n)
{
    struct of_token c = {t, NULL, 0, 0, false};

    table_each(&sessions, collect_session, &c);
    if (!c.nomem && c.h == NULL)
        c.h = malloc(sizeof(*c.h)); /* none: still an array to free */
    if (c.nomem || c.h == NULL) {
        free(c.h);
        *out = NULL;
        *n = 0;
        return CKR_HOST_MEMORY;
    }
    *out = c.h;
    *n = c.n;
    return CKR_OK;
}

struct each_session {
    const struct cmk_token *t;
    void (*fn)(void *arg, struct cmk_session *s);
    void *arg;
};

static void each_session_one(void *arg, unsigned long key, void *val)
{
    struct each_session *c = arg;
    struct cmk_session *s = val;

    (void)key;
    if (c->t == NULL || s->token == c->t)
        c->fn(c->arg, s);
}

void cmk_handles_each_session(const struct cmk_token *t,
                              void (*fn)(void *arg, struct cmk_session *s),
                              void *arg)
{
    struct each_session c = {t, fn, arg};

    table_each(&sessions, each_session_one, &c);
}

/* ---- Rosters ---- */

CK_RV cmk_roster_init(struct cmk_roster *r)
{
    CK_RV rv;
    size_t i;

    memset(r, 0, sizeof(*r));
    for (i = 0; i < CMK_ROSTER_PARTS; i++) {
        rv = cmk_mutex_init(&r->part[i].lock);
        if (rv != CKR_OK) {
            while (i-- > 0)
                cmk_mutex_fini(&r->part[i].lock);
            return rv;
        }
    }
    return CKR_OK;
}

void cmk_roster_fini(struct cmk_roster *r)
{
    size_t i;

    for (i = 0; i < CMK_ROSTER_PARTS; i++) {
        free(r->part[i].v);
        cmk_mutex_fini(&r->part[i].lock);
    }
    memset(r, 0, sizeof(*r));
}

static void part_lock(struct cmk_roster_part *rp)
{
    cmk_mutex_lock_hot(&rp->lock);
}

static void part_unlock(struct cmk_roster_part *rp)
{
    cmk_mutex_unlock(&rp->lock);
}

size_t cmk_roster_count(struct cmk_roster *r)
{
    size_t i, n = 0;

    for (i = 0; i < CMK_ROSTER_PARTS; i++) {
        part_lock(&r->part[i]);
        n += r->part[i].n;
        part_unlock(&r->part[i]);
    }
    return n;
}

/* Under the part's lock: room for one more entry. CKR_HOST_MEMORY. */
static CK_RV part_room_locked(struct cmk_roster_part *rp)
{
    struct cmk_object **grown;
    size_t cap;

    if (rp->n < rp->cap)
        return CKR_OK;
    cap = rp->cap ? rp->cap * 2 : 16;
    grown = realloc(rp->v, cap * sizeof(*grown));
    if (grown == NULL)
        return CKR_HOST_MEMORY;
    rp->v = grown;
    rp->cap = cap;
    return CKR_OK;
}

/* Under the lock of o's part: o leaves it for good; the last entry takes
 * its slot. */
static void part_drop_locked(struct cmk_roster_part *rp, struct cmk_object *o)
{
    struct cmk_object *last;

    cmk_object_changed(o); /* memos of it are stale (keymemo.h) */
    if (!o->on_roster)
        return;
    last = rp->v[--rp->n];
    rp->v[o->ro_index] = last;
    last->ro_index = o->ro_index;
    o->on_roster = false;
}

/* A walk's visit of part i of r (its lock held). */
static void part_settle(struct cmk_roster *r, unsigned i)
{
    mask_settle(&r->used, i, r->part[i].n == 0);
}

static struct cmk_roster_part *part_of(const struct cmk_object *o)
{
    return &o->token->objects.part[o->ro_part];
}

/* o has left the table: off its roster before anyone may free it. */
static void roster_drop(struct cmk_object *o)
{
    struct cmk_roster_part *rp = part_of(o);

    part_lock(rp);
    part_drop_locked(rp, o);
    part_unlock(rp);
}

/* ---- Objects ---- */

struct dup_ctx {
    const struct cmk_token *t;
    const char *name;
    struct cmk_object *found;
};

static void find_dup_one(void *arg, struct cmk_object *o)
{
    struct dup_ctx *c = arg;

    if (c->found == NULL && o->token == c->t && o->is_token &&
        strcmp(o->store_name, c->name) == 0)
        c->found = o;
}

/* The calling thread's part of every roster, given out in turn on first
 * use: what one thread registers stays on one part in the order it was
 * made (a walk of a token's objects meets them in that order, as they
 * lie in memory), and threads that make objects at once take different
 * parts' locks. */
static unsigned home_part(void)
{
    static unsigned turn;
    static __thread unsigned home; /* index + 1; 0: none yet */

    if (home == 0)
        home =
            __atomic_fetch_add(&turn, 1, __ATOMIC_RELAXED) % CMK_ROSTER_PARTS +
            1;
    return home - 1;
}

static CK_RV put_object(struct cmk_object *o)
{
    unsigned i = home_part();
    struct cmk_roster_part *rp = &o->token->objects.part[i];
    CK_RV rv;

    /* Registered and on the roster in one hold of its part's lock (the
     * shard lock inside): a removal that finds o in the table meanwhile
     * drops it from the roster once the lock is free, after it was
     * linked. */
    part_lock(rp);
    rv = part_room_locked(rp);
    if (rv == CKR_OK)
        rv = table_add(&objects, o, &o->handle);
    if (rv == CKR_OK) {
        o->ro_part = i;
        o->ro_index = rp->n;
        rp->v[rp->n++] = o;
        o->on_roster = true;
        mask_set(&o->token->objects.used, i);
    }
    part_unlock(rp);
    return rv;
}

static bool has_store_name(const struct cmk_object *o)
{
    return o->is_token && o->store_name[0] != '\0';
}

/* The index key of o's store name; 0 (not indexed) when it is not 16
 * hex digits or all zero. */
static unsigned long name_key(const struct cmk_object *o)
{
    unsigned long k = 0;
    const char *p;
    int d;

    for (p = o->store_name; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else
            return 0;
        k = k << 4 | (unsigned long)d;
    }
    return p - o->store_name == 16 ? k : 0;
}

/* o's twin among the registered objects (token_adds held), or NULL. */
static struct cmk_object *find_twin(struct cmk_object *o, unsigned long key)
{
    struct dup_ctx c = {o->token, o->store_name, NULL};
    struct cmk_object *hit = key != 0 ? cmk_hmap_get(&by_name, key) : NULL;

    if (hit != NULL && hit->token == o->token &&
        strcmp(hit->store_name, o->store_name) == 0)
        return hit;
    if (hit == NULL && unindexed == 0 && key != 0)
        return NULL; /* every named object is in the index */
    cmk_handles_each_object(o->token, find_dup_one, &c);
    return c.found;
}

/* Puts o (no twin) into the table and the index (token_adds held). */
static CK_RV put_named(struct cmk_object *o, unsigned long key)
{
    CK_RV rv;

    if (key != 0 && cmk_hmap_get(&by_name, key) == NULL) {
        if (cmk_hmap_put(&by_name, key, o) != CMK_OK)
            return CKR_HOST_MEMORY;
        o->name_indexed = true;
    }
    rv = put_object(o);
    if (rv != CKR_OK && o->name_indexed)
        (void)cmk_hmap_del(&by_name, key);
    else if (rv == CKR_OK && !o->name_indexed)
        unindexed++;
    if (rv != CKR_OK)
        o->name_indexed = false;
    return rv;
}

/* o has left (or is leaving) the table: out of the index too, before
 * anyone may free it. */
static void unname(struct cmk_object *o)
{
    if (!has_store_name(o))
        return;
    cmk_mutex_lock(&token_adds);
    if (o->name_indexed)
        (void)cmk_hmap_del(&by_name, name_key(o));
    else if (unindexed > 0)
        unindexed--;
    o->name_indexed = false;
    cmk_mutex_unlock(&token_adds);
}

CK_RV cmk_handles_add_object(struct cmk_object *o, struct cmk_object **dup)
{
    unsigned long key;
    CK_RV rv = CKR_OK;

    *dup = NULL;
    if (!has_store_name(o))
        return put_object(o); /* no store file: nothing to share */
    key = name_key(o);
    cmk_mutex_lock(&token_adds);
    *dup = find_twin(o, key);
    if (*dup == NULL)
        rv = put_named(o, key);
    cmk_mutex_unlock(&token_adds);
    return rv;
}

struct cmk_object *cmk_handles_ref_object(CK_OBJECT_HANDLE h,
                                          const struct cmk_token *t)
{
    struct shard *sh = shard_of(&objects, h);
    struct cmk_object *o;

    shard_lock(sh);
    o = cmk_hmap_get(&sh->map, h);
    if (o != NULL && o->token != t)
        o = NULL;
    if (o != NULL)
        __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    shard_unlock(sh);
    return o;
}

bool cmk_handles_del_object(struct cmk_object *o)
{
    struct shard *sh = shard_of(&objects, o->handle);
    struct cmk_object *found;

    shard_lock(sh);
    found = cmk_hmap_del(&sh->map, o->handle);
    shard_unlock(sh);
    if (found == o) {
        unname(o);
        roster_drop(o);
    }
    return found == o;
}

struct each_object {
    void (*fn)(void *arg, struct cmk_object *o);
    void *arg;
};

static void each_object_one(void *arg, unsigned long key, void *val)
{
    struct each_object *c = arg;

    (void)key;
    c->fn(c->arg, val);
}

void cmk_handles_each_object(struct cmk_token *t,
                             void (*fn)(void *arg, struct cmk_object *o),
                             void *arg)
{
    struct each_object c = {fn, arg};
    struct cmk_roster_part *rp;
    unsigned long used;
    size_t i;
    unsigned k;

    if (t == NULL) {
        table_each(&objects, each_object_one, &c);
        return;
    }
    used = mask_read(&t->objects.used);
    for (k = 0; k < CMK_ROSTER_PARTS; k++) {
        if (!(used & (1UL << k)))
            continue;
        rp = &t->objects.part[k];
        part_lock(rp);
        for (i = 0; i < rp->n; i++)
            fn(arg, rp->v[i]);
        part_settle(&t->objects, k);
        part_unlock(rp);
    }
}

struct take_ctx {
    bool (*pred)(void *arg, struct cmk_object *o);
    void *arg;
    struct cmk_object **hit;
    size_t n;
    size_t cap;
};

/* Adds o to c's list; false when it does not fit for lack of memory. */
static bool take_one(struct take_ctx *c, struct cmk_object *o)
{
    struct cmk_object **grown;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;

        grown = realloc(c->hit, cap * sizeof(*grown));
        if (grown == NULL)
            return false; /* left for a later removal; never freed early */
        c->hit = grown;
        c->cap = cap;
    }
    c->hit[c->n++] = o;
    return true;
}

static void collect_object(void *arg, unsigned long key, void *val)
{
    struct take_ctx *c = arg;

    (void)key;
    if (c->pred(c->arg, val))
        (void)take_one(c, val);
}

/* Every token: the table walked, each shard under one hold of its lock. */
static void take_from_table(struct take_ctx *c)
{
    unsigned long used = used_shards(&objects);
    size_t i, from;
    int k;

    for (k = 0; k < SHARDS; k++) {
        struct shard *sh = &objects.shard[k];

        if (!(used & (1UL << k)))
            continue;
        shard_lock(sh);
        from = c->n;
        cmk_hmap_each(&sh->map, collect_object, c);
        for (i = from; i < c->n; i++)
            (void)cmk_hmap_del(&sh->map, c->hit[i]->handle);
        settle_live(&objects, (unsigned)k);
        shard_unlock(sh);
    }
    for (i = 0; i < c->n; i++)
        roster_drop(c->hit[i]);
}

/* Part k of roster r walked under its lock (before a shard lock, as
 * everywhere), each match removed from the table and the roster. One
 * another thread removed from the table first is left to that thread,
 * which drops it from the roster next. */
static void take_from_part(struct cmk_roster *r, unsigned k, struct take_ctx *c)
{
    struct cmk_roster_part *rp = &r->part[k];
    struct cmk_object *o;
    struct shard *sh;
    bool taken;
    size_t i = 0;

    part_lock(rp);
    while (i < rp->n) {
        o = rp->v[i];
        taken = false;
        if (c->pred(c->arg, o)) {
            sh = shard_of(&objects, o->handle);
            shard_lock(sh);
            taken = cmk_hmap_get(&sh->map, o->handle) == o && take_one(c, o);
            if (taken)
                (void)cmk_hmap_del(&sh->map, o->handle);
            shard_unlock(sh);
        }
        if (taken)
            part_drop_locked(rp, o); /* the last one moves to i */
        else
            i++;
    }
    part_settle(r, k);
    part_unlock(rp);
}

size_t cmk_handles_take_objects(struct cmk_token *t,
                                bool (*pred)(void *arg, struct cmk_object *o),
                                void *arg, struct cmk_object ***out)
{
    struct take_ctx c = {pred, arg, NULL, 0, 0};
    unsigned long used;
    size_t i;

    if (t == NULL) {
        take_from_table(&c);
    } else {
        used = mask_read(&t->objects.used);
        for (i = 0; i < CMK_ROSTER_PARTS; i++) {
            if (used & (1UL << i))
                take_from_part(&t->objects, (unsigned)i, &c);
        }
    }
    for (i = 0; i < c.n; i++)
        unname(c.hit[i]);
    *out = c.hit;
    return c.n;
}
