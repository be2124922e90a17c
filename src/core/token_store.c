/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a token's objects on disk. Every store access needs the tenant
 * KEK, which comes through the KMS, so a revoked CMK makes the store
 * unreadable once the KEK's cache TTL has passed; and nothing is read
 * before login on a login-required token.
 *
 * A full rescan when the manifest changed, one object when its file
 * changed under a use. Objects are updated in place, so their handles
 * survive a rescan. No lock is held across the store's I/O or the KEK
 * call: one load per token at a time is in flight (loading, under the
 * store lock, which guards the sync state only); the token lock is taken
 * to publish what was read or written. Writers of one token object take
 * turns (store_writing, under the token lock), so each bases its
 * compare-and-swap on what the one before it published.
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/object.h"
#include "store/store.h"
#include "core/token.h"
#include "core/seen_gen.h"
#include "core/token_store.h"
#include "keys/cmk.h"
#include "mech/hash.h"
#include "util/clock.h"
#include "util/log.h"

struct cmk_tstore {
    struct cmk_mutex lock;   /* guards loading and the sync state; a leaf */
    struct cmk_cond loaded;  /* a load ended (with lock) */
    struct cmk_cond written; /* a writer's turn ended (with the token lock) */
    uint64_t *max_gen;       /* highest manifest generation seen (atomic) */
    uint64_t own_gen;        /* max_gen without memory for the process's
                              * own (core/seen_gen.h) */
    bool loading;            /* a full load is in flight */
    /* What the last full load saw. */
    bool synced;
    bool synced_login;
    struct cmk_store_stamp synced_manifest;
    /* Loaded objects are used until then (monotonic microseconds, atomic):
     * the KEK that opened them confirmed within cache.ttl_seconds. */
    int64_t kek_until_us;
};

CK_RV cmk_token_store_init(struct cmk_token *t)
{
    CK_RV rv;

    t->store = calloc(1, sizeof(*t->store));
    if (t->store == NULL)
        return CKR_HOST_MEMORY;
    t->store->max_gen = cmk_seen_gen(t->cfg->store_dir, t->cfg->kms.label);
    if (t->store->max_gen == NULL)
        t->store->max_gen = &t->store->own_gen;
    rv = cmk_mutex_init(&t->store->lock);
    if (rv == CKR_OK)
        rv = cmk_cond_init(&t->store->loaded);
    if (rv == CKR_OK)
        rv = cmk_cond_init(&t->store->written);
    if (rv != CKR_OK)
        cmk_token_store_fini(t);
    return rv;
}

void cmk_token_store_fini(struct cmk_token *t)
{
    if (t->store == NULL)
        return;
    cmk_cond_fini(&t->store->written);
    cmk_cond_fini(&t->store->loaded);
    cmk_mutex_fini(&t->store->lock);
    free(t->store);
    t->store = NULL;
}

/* A write of this process to o in flight publishes first (token lock):
 * what it wrote is no change made elsewhere. */
static void wait_writes_locked(struct cmk_object *o)
{
    while (o->store_writing)
        cmk_cond_wait(&o->token->store->written, &o->token->lock);
}

void cmk_token_write_begin_locked(struct cmk_object *o)
{
    wait_writes_locked(o);
    o->store_writing = true;
}

void cmk_token_write_end_locked(struct cmk_object *o)
{
    o->store_writing = false;
    cmk_cond_broadcast(&o->token->store->written);
}

/* What a store operation's error is to the PKCS#11 call that made it: a
 * code every object-management call and every call taking a handle may
 * return (PKCS#11 3.0 section 5), the KMS's own answer in ulDeviceError.
 * A disabled key is CKR_FUNCTION_FAILED here, never the Init calls'
 * CKR_KEY_FUNCTION_NOT_PERMITTED, which C_CreateObject, C_GenerateKey or
 * C_SetAttributeValue may not return. */
static CK_RV store_rv(cmk_err err)
{
    switch (err) {
    case CMK_OK:
        return CKR_OK;
    case CMK_E_NOMEM:
        return CKR_HOST_MEMORY;
    case CMK_E_KEY_DISABLED:
    case CMK_E_ACCESS_DENIED:
    case CMK_E_THROTTLED:
    case CMK_E_CONFLICT:
        return CKR_FUNCTION_FAILED;
    case CMK_E_ARGS:
    case CMK_E_CONFIG:
    case CMK_E_CRYPTO:
    case CMK_E_INTERNAL:
        return CKR_GENERAL_ERROR;
    default:
        return CKR_DEVICE_ERROR;
    }
}

static bool has_kek(const struct cmk_token *t)
{
    return t->cfg->kms.kek_blob_len != 0;
}

/* Before login on a login-required token the store is not touched. */
static bool may_open(struct cmk_token *t)
{
    return !t->cfg->login_required || cmk_token_is_logged_in(t);
}

static cmk_err copy_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    return cmk_secret_dup(arg, kek, kek_len);
}

/* The store's loc->old: previous KEK i of the tenant while it is in its
 * overlap window (keys/cmk.h), for files a data-key rotation has not
 * re-sealed yet. */
static cmk_err old_kek(void *arg, size_t i, struct cmk_secret *kek)
{
    struct cmk_token *t = arg;

    return cmk_cmk_with_kek_at(t->cmk, i + 1, copy_kek, kek);
}

static void loc_of(struct cmk_token *t, const uint8_t *kek, size_t kek_len,
                   struct cmk_store_loc *loc)
{
    loc->dir = t->cfg->store_dir;
    loc->tenant = t->cfg->kms.label;
    loc->kek = kek;
    loc->kek_len = kek_len;
    loc->max_gen = t->store->max_gen;
    loc->old = t->cfg->kms.n_previous_keks != 0 ? old_kek : NULL;
    loc->old_arg = t;
}

static bool is_store_object(const struct cmk_object *o)
{
    return o->is_token && !o->is_cmk && o->store_name[0] != '\0';
}

/* Swaps in what the store holds for o when it is newer (token lock). */
static bool apply_locked(struct cmk_object *o, const struct cmk_store_meta *m,
                         struct cmk_attrs *attrs)
{
    struct cmk_attrs old;

    if (m->version < o->store_version)
        return false; /* ours is newer: this process wrote it since */
    o->stamp = m->stamp;
    if (m->version == o->store_version)
        return false;
    old = o->attrs;
    o->attrs = *attrs;
    *attrs = old; /* the caller clears the old attributes */
    cmk_object_changed(o);
    o->store_version = m->version;
    return true;
}

/* ---- Full load ---- */

struct item {
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_store_meta meta;
    struct cmk_attrs attrs;
};

struct load_ctx {
    struct cmk_token *t;
    struct item *v;
    size_t n, cap;
    bool nomem;
    struct cmk_store_stamp manifest;
};

static void on_file(void *arg, const char *name,
                    const struct cmk_store_meta *meta, struct cmk_attrs *attrs)
{
    struct load_ctx *c = arg;
    struct item *grown;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;

        grown = realloc(c->v, cap * sizeof(*grown));
        if (grown == NULL) {
            c->nomem = true;
            cmk_attrs_clear(attrs);
            return;
        }
        c->v = grown;
        c->cap = cap;
    }
    memcpy(c->v[c->n].name, name, sizeof(c->v[0].name));
    c->v[c->n].meta = *meta;
    c->v[c->n].attrs = *attrs;
    *attrs = (struct cmk_attrs){0};
    c->n++;
}

static cmk_err load_with_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct load_ctx *c = arg;
    struct cmk_store_loc loc;

    loc_of(c->t, kek, kek_len, &loc);
    return cmk_store_load_all(&loc, on_file, c, &c->manifest);
}

struct refs {
    struct cmk_object **v;
    bool *matched;
    size_t n, cap;
    bool nomem;
};

static void take_ref(void *arg, struct cmk_object *o)
{
    struct refs *r = arg;
    void *grown;

    if (!is_store_object(o) || r->nomem)
        return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;

        grown = realloc(r->v, cap * sizeof(*r->v));
        if (grown == NULL) {
            r->nomem = true;
            return;
        }
        r->v = grown;
        r->cap = cap;
    }
    __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    r->v[r->n++] = o;
}

static void refs_drop(struct refs *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        cmk_object_unref(r->v[i]);
    free(r->v);
    free(r->matched);
}

static int cmp_ref(const void *a, const void *b)
{
    return strcmp((*(struct cmk_object *const *)a)->store_name,
                  (*(struct cmk_object *const *)b)->store_name);
}

/* The known objects sorted by store name, so that merging a load of n
 * files is n binary searches, not n^2/2 name comparisons. */
static void refs_sort(struct refs *r)
{
    if (r->n > 1)
        qsort(r->v, r->n, sizeof(r->v[0]), cmp_ref);
}

static struct cmk_object *ref_named(struct refs *r, const char *name,
                                    size_t *at)
{
    size_t lo = 0, hi = r->n, mid;
    int c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(r->v[mid]->store_name, name);
        if (c == 0) {
            *at = mid;
            return r->v[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Publishes a load: known objects updated in place (same handle), new
 * ones added, known ones the load did not vouch for dropped. */
static void merge(struct cmk_token *t, struct load_ctx *c, struct refs *r,
                  bool logged_in)
{
    struct cmk_object *o;
    struct item *it;
    size_t i, at;

    for (i = 0; i < c->n; i++) {
        it = &c->v[i];
        o = ref_named(r, it->name, &at);
        if (o != NULL) {
            r->matched[at] = true;
            cmk_mutex_lock(&t->lock);
            (void)apply_locked(o, &it->meta, &it->attrs);
            cmk_mutex_unlock(&t->lock);
            continue;
        }
        if ((cmk_attrs_bool(&it->attrs, CKA_PRIVATE, true) && !logged_in) ||
            !cmk_attrs_bool(&it->attrs, CKA_TOKEN, false))
            continue;
        if (cmk_object_add_stored(t, it->name, &it->meta, &it->attrs, NULL) !=
            CKR_OK)
            cmk_log_debug("tenant %s: object %s not loaded (memory)",
                          t->cfg->kms.label, it->name);
    }
    for (i = 0; i < r->n; i++) {
        if (!r->matched[i]) /* deleted elsewhere, or refused */
            cmk_object_remove(r->v[i]);
    }
}

/* Waits out a load in flight, then says whether what the last load saw
 * still holds (now: the manifest's stamp, taken before the lock). */
static bool is_synced_locked(struct cmk_tstore *ts, bool logged_in,
                             bool have_now, const struct cmk_store_stamp *now)
{
    while (ts->loading)
        cmk_cond_wait(&ts->loaded, &ts->lock);
    return ts->synced && ts->synced_login == logged_in && have_now &&
           cmk_store_stamp_equal(now, &ts->synced_manifest);
}

/* One full load and its merge (ts->loading set, no lock held). */
static cmk_err load(struct cmk_token *t, bool logged_in, struct load_ctx *c)
{
    struct refs r = {0};
    cmk_err err;

    /* What is known before the load: anything added later is either in
     * the load (then deduplicated) or not yet on disk. */
    cmk_object_each(t, take_ref, &r);
    refs_sort(&r);
    r.matched = calloc(r.n + 1, sizeof(*r.matched));
    if (r.nomem || r.matched == NULL)
        err = CMK_E_NOMEM;
    else
        err = cmk_cmk_with_kek(t->cmk, load_with_kek, c);
    if (err == CMK_OK && c->nomem)
        err = CMK_E_NOMEM;
    if (err == CMK_OK)
        merge(t, c, &r, logged_in);
    refs_drop(&r);
    return err;
}

/* ---- The KEK's TTL over loaded objects ---- */

void cmk_token_store_recheck(struct cmk_token *t)
{
    __atomic_store_n(&t->store->kek_until_us, 0, __ATOMIC_RELEASE);
}

/* A loaded token object is a key the KEK opened: it is used only while
 * that KEK is live in the cache, so disabling the CMK ends the use of
 * token objects within cache.ttl_seconds, as it ends new unwraps. Past
 * the entry's expiry the next use asks for the KEK again (one KMS call
 * for all); a refusal takes every token object away, as a logout does
 * (a later sync brings them back once the key is usable again), so the
 * handle is invalid_rv's; an unreachable KMS fails the call with
 * CKR_DEVICE_ERROR and keeps them. Either way ulDeviceError names the
 * KMS's answer. */
static CK_RV kek_still_usable(struct cmk_token *t, CK_RV invalid_rv)
{
    int64_t until = __atomic_load_n(&t->store->kek_until_us, __ATOMIC_ACQUIRE);
    cmk_err err;

    if (cmk_clock_now_us() < until)
        return CKR_OK;
    err = cmk_cmk_kek_live_until(t->cmk, &until);
    if (err == CMK_OK) {
        __atomic_store_n(&t->store->kek_until_us, until, __ATOMIC_RELEASE);
        return CKR_OK;
    }
    if (!cmk_err_is_key_refusal(err) && err != CMK_E_KEK_COMMITMENT)
        return CKR_DEVICE_ERROR;
    cmk_token_store_logout(t);
    return invalid_rv;
}

CK_RV cmk_token_sync_store(struct cmk_token *t)
{
    struct cmk_tstore *ts = t->store;
    struct load_ctx c = {.t = t};
    struct cmk_store_stamp now;
    bool logged_in, have_now, synced;
    cmk_err err;
    size_t i;

    if (!has_kek(t) || !may_open(t))
        return CKR_OK; /* no KEK, or not before login: no token objects */
    logged_in = cmk_token_is_logged_in(t);
    have_now = cmk_store_stat_manifest(t->cfg->store_dir, &now) == CMK_OK;
    cmk_mutex_lock(&ts->lock);
    synced = is_synced_locked(ts, logged_in, have_now, &now);
    ts->loading = !synced;
    cmk_mutex_unlock(&ts->lock);
    if (synced)
        return CKR_OK;
    err = load(t, logged_in, &c);
    cmk_mutex_lock(&ts->lock);
    if (err == CMK_OK) {
        ts->synced = true;
        ts->synced_login = logged_in;
        ts->synced_manifest = c.manifest;
    }
    ts->loading = false;
    cmk_cond_broadcast(&ts->loaded);
    cmk_mutex_unlock(&ts->lock);
    for (i = 0; i < c.n; i++)
        cmk_attrs_clear(&c.v[i].attrs);
    free(c.v);
    if (err != CMK_OK) {
        cmk_log_debug("tenant %s: object store not loaded: %s",
                      t->cfg->kms.label, cmk_err_name(err));
        return store_rv(err);
    }
    return CKR_OK;
}

CK_RV cmk_token_store_load_once(struct cmk_token *t)
{
    struct cmk_tstore *ts = t->store;
    bool loaded;

    cmk_mutex_lock(&ts->lock);
    loaded = !ts->loading && ts->synced &&
             ts->synced_login == cmk_token_is_logged_in(t);
    cmk_mutex_unlock(&ts->lock);
    return loaded ? CKR_OK : cmk_token_sync_store(t);
}

static bool store_object(void *arg, struct cmk_object *o)
{
    (void)arg;
    return is_store_object(o);
}

void cmk_token_store_logout(struct cmk_token *t)
{
    struct cmk_tstore *ts = t->store;

    /* A load in flight publishes first; then its objects go too. */
    cmk_mutex_lock(&ts->lock);
    while (ts->loading)
        cmk_cond_wait(&ts->loaded, &ts->lock);
    ts->synced = false;
    cmk_mutex_unlock(&ts->lock);
    cmk_object_remove_if(t, store_object, NULL);
}

/* ---- One object: the per-use check ---- */

struct get_ctx {
    struct cmk_token *t;
    const char *name;
    struct cmk_attrs attrs;
    struct cmk_store_meta meta;
    cmk_err err; /* the store's answer (the KMS's is returned) */
};

static cmk_err get_with_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct get_ctx *c = arg;
    struct cmk_store_loc loc;

    loc_of(c->t, kek, kek_len, &loc);
    c->err = cmk_store_get(&loc, c->name, &c->attrs, &c->meta);
    return CMK_OK;
}

static bool is_gone(cmk_err err)
{
    return err == CMK_E_KEY_NOT_FOUND || err == CMK_E_ROLLBACK ||
           err == CMK_E_BAD_CIPHERTEXT || err == CMK_E_BAD_BLOB;
}

static CK_RV refresh(struct cmk_object *o, CK_RV invalid_rv, bool write)
{
    struct cmk_token *t = o->token;
    struct get_ctx c = {.t = t, .name = o->store_name};
    bool changed = false;
    cmk_err err;

    err = cmk_cmk_with_kek(t->cmk, get_with_kek, &c); /* no lock held */
    if (err == CMK_OK && c.err == CMK_OK) {
        cmk_mutex_lock(&t->lock);
        wait_writes_locked(o);
        changed = apply_locked(o, &c.meta, &c.attrs);
        cmk_mutex_unlock(&t->lock);
    }
    cmk_attrs_clear(&c.attrs);
    if (err != CMK_OK)
        return store_rv(err);
    if (is_gone(c.err)) { /* deleted elsewhere, or its file refused */
        cmk_object_remove(o);
        return invalid_rv;
    }
    if (c.err != CMK_OK)
        return store_rv(c.err);
    if (changed && write) {
        cmk_log_debug("tenant %s: object %s changed in another process: "
                      "write refused (compare-and-swap)",
                      t->cfg->kms.label, o->store_name);
        return CKR_FUNCTION_FAILED;
    }
    return CKR_OK;
}

static bool is_zero(const struct cmk_store_stamp *s)
{
    static const struct cmk_store_stamp zero;

    return cmk_store_stamp_equal(s, &zero);
}

CK_RV cmk_token_check_object(struct cmk_object *o, CK_RV invalid_rv, bool write)
{
    struct cmk_token *t = o->token;
    struct cmk_store_stamp now, had;
    cmk_err err;
    CK_RV rv = kek_still_usable(t, invalid_rv);

    if (rv != CKR_OK)
        return rv;
    err = cmk_store_stat(t->cfg->store_dir, o->store_name, &now);
    cmk_mutex_lock_hot(&t->lock);
    wait_writes_locked(o); /* compare with what it publishes */
    had = o->stamp;
    cmk_mutex_unlock(&t->lock);
    if (err == CMK_OK && !is_zero(&had) && cmk_store_stamp_equal(&now, &had))
        return CKR_OK; /* the file this process read or wrote */
    if (err != CMK_OK && err != CMK_E_KEY_NOT_FOUND)
        return CKR_DEVICE_ERROR;
    return refresh(o, invalid_rv, write);
}

/* ---- Writes ---- */

struct put_ctx {
    struct cmk_token *t;
    const char *name;
    uint64_t base;
    const struct cmk_attrs *attrs;
    struct cmk_store_meta meta;
    bool del;
};

static cmk_err put_with_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct put_ctx *c = arg;
    struct cmk_store_loc loc;

    loc_of(c->t, kek, kek_len, &loc);
    if (c->del)
        return cmk_store_delete(&loc, c->name, c->base);
    return cmk_store_put(&loc, c->name, c->base, c->attrs, &c->meta);
}

/* What this thread's last cmk_token_save_attrs wrote, so the object the
 * caller registers next starts with the file's stamp instead of reading
 * the file again on first use. */
static __thread struct {
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_store_meta meta;
} created;

bool cmk_token_created_meta(const char *name, struct cmk_store_meta *meta)
{
    if (created.name[0] == '\0' || strcmp(created.name, name) != 0)
        return false;
    *meta = created.meta;
    created.name[0] = '\0';
    return true;
}

CK_RV cmk_token_save_attrs(struct cmk_token *t, char *name,
                           const struct cmk_attrs *attrs)
{
    struct put_ctx c = {t, name, CMK_STORE_NEW, attrs, {0}, false};
    cmk_err err;

    if (!has_kek(t)) {
        cmk_log_error("tenant %s has no KEK: token objects need one "
                      "(cmk-tool provision)",
                      t->cfg->kms.label);
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if (!may_open(t))
        return CKR_USER_NOT_LOGGED_IN;
    if (name[0] == '\0')
        cmk_store_new_name(name);
    err = cmk_cmk_with_kek(t->cmk, put_with_kek, &c);
    if (err != CMK_OK)
        return store_rv(err);
    memcpy(created.name, name, sizeof(created.name));
    created.meta = c.meta;
    return CKR_OK;
}

CK_RV cmk_token_update_object(struct cmk_object *o, uint64_t base,
                              struct cmk_attrs *next)
{
    struct put_ctx c = {o->token, o->store_name, base, next, {0}, false};
    struct cmk_token *t = o->token;
    cmk_err err;

    err = cmk_cmk_with_kek(t->cmk, put_with_kek, &c); /* no lock held */
    cmk_mutex_lock(&t->lock);
    if (err == CMK_OK)
        (void)apply_locked(o, &c.meta, next); /* unless newer was read */
    else if (err == CMK_E_CONFLICT)
        memset(&o->stamp, 0, sizeof(o->stamp)); /* next use reads it */
    cmk_mutex_unlock(&t->lock);
    return err == CMK_OK ? CKR_OK : store_rv(err);
}

CK_RV cmk_token_delete_object(struct cmk_token *t, struct cmk_object *o)
{
    struct put_ctx c = {t, o->store_name, 0, NULL, {0}, true};
    cmk_err err;

    cmk_mutex_lock(&t->lock);
    cmk_token_write_begin_locked(o);
    c.base = o->store_version;
    cmk_mutex_unlock(&t->lock);
    err = cmk_cmk_with_kek(t->cmk, put_with_kek, &c); /* no lock held */
    cmk_mutex_lock(&t->lock);
    if (err == CMK_E_CONFLICT)
        memset(&o->stamp, 0, sizeof(o->stamp));
    cmk_token_write_end_locked(o);
    cmk_mutex_unlock(&t->lock);
    if (err == CMK_E_KEY_NOT_FOUND) { /* another process deleted it */
        cmk_object_remove(o);
        return CKR_OBJECT_HANDLE_INVALID;
    }
    return err == CMK_OK ? CKR_OK : store_rv(err);
}

CK_RV cmk_token_remove_name(struct cmk_token *t, const char *name)
{
    struct put_ctx c = {t, name, CMK_STORE_ANY, NULL, {0}, true};
    cmk_err err = cmk_cmk_with_kek(t->cmk, put_with_kek, &c);

    return err == CMK_OK || err == CMK_E_KEY_NOT_FOUND ? CKR_OK : store_rv(err);
}
