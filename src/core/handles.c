/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the session and object handle tables, each a map, a counter and
 * a lock. Calls nothing in core above it: the entries' lives (free,
 * close) stay with session.c and object.c.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "core/handles.h"
#include "core/object.h"
#include "core/session.h"
#include "util/hmap.h"
#include "util/lock.h"

struct table {
    struct cmk_mutex lock; /* map and next */
    struct cmk_hmap map;
    unsigned long next;
};

static struct table sessions;
static struct table objects;

/* Held briefly by every entry point's lookup: the hot lock. */
static void table_lock(struct table *tb)
{
    cmk_mutex_lock_hot(&tb->lock);
}

static void table_unlock(struct table *tb)
{
    cmk_mutex_unlock(&tb->lock);
}

CK_RV cmk_handles_init(void)
{
    CK_RV rv;

    sessions.next = 1;
    objects.next = 1;
    rv = cmk_mutex_init(&sessions.lock);
    if (rv == CKR_OK)
        rv = cmk_mutex_init(&objects.lock);
    return rv;
}

void cmk_handles_fini(void)
{
    cmk_hmap_free(&sessions.map);
    cmk_hmap_free(&objects.map);
    cmk_mutex_fini(&sessions.lock);
    cmk_mutex_fini(&objects.lock);
    memset(&sessions, 0, sizeof(sessions));
    memset(&objects, 0, sizeof(objects));
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

    cmk_hmap_each(&objects.map, wipe_one, &c);
    memset(&sessions, 0, sizeof(sessions));
    memset(&objects, 0, sizeof(objects));
}

/* ---- Sessions ---- */

CK_RV cmk_handles_add_session(struct cmk_session *s)
{
    cmk_err err;

    table_lock(&sessions);
    s->handle = sessions.next++;
    err = cmk_hmap_put(&sessions.map, s->handle, s);
    table_unlock(&sessions);
    return err == CMK_OK ? CKR_OK : CKR_HOST_MEMORY;
}

struct cmk_session *cmk_handles_ref_session(CK_SESSION_HANDLE h)
{
    struct cmk_session *s;

    table_lock(&sessions);
    s = cmk_hmap_get(&sessions.map, h);
    if (s != NULL)
        __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
    table_unlock(&sessions);
    return s;
}

struct cmk_session *cmk_handles_del_session(CK_SESSION_HANDLE h)
{
    struct cmk_session *s;

    table_lock(&sessions);
    s = cmk_hmap_del(&sessions.map, h);
    table_unlock(&sessions);
    return s;
}

struct of_token {
    const struct cmk_token *t;
    CK_SESSION_HANDLE *h;
    size_t n;
};

static void collect_session(void *arg, unsigned long key, void *val)
{
    struct of_token *c = arg;
    struct cmk_session *s = val;

    if (c->t == NULL || s->token == c->t)
        c->h[c->n++] = key;
}

CK_RV cmk_handles_sessions_of(const struct cmk_token *t,
                              CK_SESSION_HANDLE **out, size_t *n)
{
    struct of_token c = {t, NULL, 0};

    table_lock(&sessions);
    c.h = calloc(sessions.map.live + 1, sizeof(*c.h));
    if (c.h != NULL)
        cmk_hmap_each(&sessions.map, collect_session, &c);
    table_unlock(&sessions);
    *out = c.h;
    *n = c.n;
    return c.h == NULL ? CKR_HOST_MEMORY : CKR_OK;
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

    table_lock(&sessions);
    cmk_hmap_each(&sessions.map, each_session_one, &c);
    table_unlock(&sessions);
}

/* ---- Objects ---- */

struct dup_ctx {
    const struct cmk_token *t;
    const char *name;
    struct cmk_object *found;
};

static void find_dup(void *arg, unsigned long key, void *val)
{
    struct dup_ctx *c = arg;
    struct cmk_object *o = val;

    (void)key;
    if (c->found == NULL && o->token == c->t && o->is_token &&
        strcmp(o->store_name, c->name) == 0)
        c->found = o;
}

CK_RV cmk_handles_add_object(struct cmk_object *o, struct cmk_object **dup)
{
    struct dup_ctx c = {o->token, o->store_name, NULL};
    cmk_err err = CMK_OK;

    table_lock(&objects);
    if (o->is_token && o->store_name[0] != '\0')
        cmk_hmap_each(&objects.map, find_dup, &c);
    if (c.found == NULL) {
        o->handle = objects.next++;
        err = cmk_hmap_put(&objects.map, o->handle, o);
    }
    table_unlock(&objects);
    *dup = c.found;
    return err == CMK_OK ? CKR_OK : CKR_HOST_MEMORY;
}

struct cmk_object *cmk_handles_ref_object(CK_OBJECT_HANDLE h,
                                          const struct cmk_token *t)
{
    struct cmk_object *o;

    table_lock(&objects);
    o = cmk_hmap_get(&objects.map, h);
    if (o != NULL && o->token != t)
        o = NULL;
    if (o != NULL)
        __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    table_unlock(&objects);
    return o;
}

bool cmk_handles_del_object(struct cmk_object *o)
{
    struct cmk_object *found;

    table_lock(&objects);
    found = cmk_hmap_del(&objects.map, o->handle);
    table_unlock(&objects);
    return found == o;
}

struct each_object {
    const struct cmk_token *t;
    void (*fn)(void *arg, struct cmk_object *o);
    void *arg;
};

static void each_object_one(void *arg, unsigned long key, void *val)
{
    struct each_object *c = arg;
    struct cmk_object *o = val;

    (void)key;
    if (c->t == NULL || o->token == c->t)
        c->fn(c->arg, o);
}

void cmk_handles_each_object(const struct cmk_token *t,
                             void (*fn)(void *arg, struct cmk_object *o),
                             void *arg)
{
    struct each_object c = {t, fn, arg};

    table_lock(&objects);
    cmk_hmap_each(&objects.map, each_object_one, &c);
    table_unlock(&objects);
}

struct take_ctx {
    const struct cmk_token *t;
    bool (*pred)(void *arg, struct cmk_object *o);
    void *arg;
    struct cmk_object **hit;
    size_t n;
    size_t cap;
};

static void collect_object(void *arg, unsigned long key, void *val)
{
    struct take_ctx *c = arg;
    struct cmk_object *o = val;
    struct cmk_object **grown;

    (void)key;
    if ((c->t != NULL && o->token != c->t) || !c->pred(c->arg, o))
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;

        grown = realloc(c->hit, cap * sizeof(*grown));
        if (grown == NULL)
            return; /* left for a later removal; never freed early */
        c->hit = grown;
        c->cap = cap;
    }
    c->hit[c->n++] = o;
}

size_t cmk_handles_take_objects(const struct cmk_token *t,
                                bool (*pred)(void *arg, struct cmk_object *o),
                                void *arg, struct cmk_object ***out)
{
    struct take_ctx c = {t, pred, arg, NULL, 0, 0};
    size_t i;

    table_lock(&objects);
    cmk_hmap_each(&objects.map, collect_object, &c);
    for (i = 0; i < c.n; i++)
        (void)cmk_hmap_del(&objects.map, c.hit[i]->handle);
    table_unlock(&objects);
    *out = c.hit;
    return c.n;
}
