/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the object handle table. Handles are never reused, so a stale
 * handle is always invalid rather than naming another object.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/module.h"
#include "core/object.h"
#include "core/session.h"
#include "core/token.h"

struct dup_ctx {
    struct cmk_token *t;
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

static CK_RV add(struct cmk_token *t, CK_SESSION_HANDLE owner,
                 const char *store_name, const struct cmk_store_meta *meta,
                 struct cmk_attrs *attrs, struct cmk_object **out)
{
    struct cmk_object *o = calloc(1, sizeof(*o));
    struct dup_ctx dup = {t, NULL, NULL};
    cmk_err err = CMK_OK;

    if (o == NULL)
        return CKR_HOST_MEMORY;
    if (store_name != NULL)
        snprintf(o->store_name, sizeof(o->store_name), "%s", store_name);
    o->token = t;
    o->session = owner;
    o->attrs = *attrs;
    *attrs = (struct cmk_attrs){0}; /* the object owns them now */
    o->is_private = cmk_attrs_bool(&o->attrs, CKA_PRIVATE, true);
    o->is_token = cmk_attrs_bool(&o->attrs, CKA_TOKEN, false);
    /* A new token object is at version 1 (cmk_store_put); its stamp is
     * learnt on first use. */
    o->store_version = meta != NULL ? meta->version : 1;
    if (meta != NULL)
        o->stamp = meta->stamp;
    o->refs = 1;
    cmk_objects_lock();
    /* One object per store file, whoever (a store sync, the creating
     * call) registers it first. */
    if (o->is_token && store_name != NULL) {
        dup.name = o->store_name;
        cmk_hmap_each(&cmk_g.objects, find_dup, &dup);
    }
    if (dup.found == NULL) {
        o->handle = cmk_g.next_object++;
        err = cmk_hmap_put(&cmk_g.objects, o->handle, o);
    }
    cmk_objects_unlock();
    if (err != CMK_OK || dup.found != NULL) {
        cmk_attrs_clear(&o->attrs);
        free(o);
        if (err != CMK_OK)
            return CKR_HOST_MEMORY;
        o = dup.found; /* held by the table; its file is the same */
    }
    if (out != NULL)
        *out = o;
    return CKR_OK;
}

CK_RV cmk_object_add(struct cmk_token *t, CK_SESSION_HANDLE owner,
                     const char *store_name, struct cmk_attrs *attrs,
                     struct cmk_object **out)
{
    struct cmk_store_meta meta;

    /* A token object just written by this thread: its file is known. */
    if (store_name != NULL && cmk_token_created_meta(store_name, &meta))
        return add(t, owner, store_name, &meta, attrs, out);
    return add(t, owner, store_name, NULL, attrs, out);
}

CK_RV cmk_object_add_stored(struct cmk_token *t, const char *store_name,
                            const struct cmk_store_meta *meta,
                            struct cmk_attrs *attrs, struct cmk_object **out)
{
    return add(t, 0, store_name, meta, attrs, out);
}

static CK_RV get(struct cmk_session *s, CK_OBJECT_HANDLE h, CK_RV invalid_rv,
                 bool write, struct cmk_object **out)
{
    struct cmk_object *o;
    CK_RV rv = CKR_OK;

    cmk_objects_lock();
    o = cmk_hmap_get(&cmk_g.objects, h);
    if (o == NULL || o->token != s->token)
        rv = invalid_rv;
    else
        __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    cmk_objects_unlock();
    if (rv != CKR_OK)
        return rv;
    /* A private object's handle is known only to a logged-in user (or the
     * stable CMK handle); without login it may not be used, nor may any
     * token object (DESIGN.md: nothing of the token's before login). */
    if (!cmk_object_is_visible(o, cmk_token_is_logged_in(s->token))) {
        cmk_object_unref(o);
        return CKR_USER_NOT_LOGGED_IN;
    }
    /* Token objects: what is on disk now, not what was loaded once. */
    if (o->is_token && !o->is_cmk && o->store_name[0] != '\0') {
        rv = cmk_token_check_object(o, invalid_rv, write);
        if (rv != CKR_OK) {
            cmk_object_unref(o);
            return rv;
        }
    }
    *out = o;
    return CKR_OK;
}

bool cmk_object_is_visible(const struct cmk_object *o, bool logged_in)
{
    return logged_in || !(o->is_private || o->is_token);
}

CK_RV cmk_object_get(struct cmk_session *s, CK_OBJECT_HANDLE h,
                     CK_RV invalid_rv, struct cmk_object **out)
{
    return get(s, h, invalid_rv, false, out);
}

CK_RV cmk_object_get_for_write(struct cmk_session *s, CK_OBJECT_HANDLE h,
                               CK_RV invalid_rv, struct cmk_object **out)
{
    return get(s, h, invalid_rv, true, out);
}

void cmk_object_unref(struct cmk_object *o)
{
    unsigned refs;

    if (o == NULL)
        return;
    /* Atomic, no lock: a count reaches 0 only after the handle table let
     * go, so no lookup can take a new reference then. */
    refs = __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL);
    if (refs == 0) {
        cmk_attrs_clear(&o->attrs);
        free(o);
    }
}

void cmk_object_remove(struct cmk_object *o)
{
    struct cmk_object *found;

    cmk_objects_lock();
    found = cmk_hmap_del(&cmk_g.objects, o->handle);
    cmk_objects_unlock();
    if (found == o)
        cmk_object_unref(o);
}

struct each_ctx {
    struct cmk_token *t;
    void (*fn)(void *arg, struct cmk_object *o);
    void *arg;
};

static void each_one(void *arg, unsigned long key, void *val)
{
    struct each_ctx *c = arg;
    struct cmk_object *o = val;

    (void)key;
    if (c->t == NULL || o->token == c->t)
        c->fn(c->arg, o);
}

void cmk_object_each(struct cmk_token *t,
                     void (*fn)(void *arg, struct cmk_object *o), void *arg)
{
    struct each_ctx c = {t, fn, arg};

    cmk_objects_lock();
    cmk_hmap_each(&cmk_g.objects, each_one, &c);
    cmk_objects_unlock();
}

struct remove_ctx {
    struct cmk_token *t;
    bool (*pred)(void *arg, struct cmk_object *o);
    void *arg;
    struct cmk_object **hit;
    size_t n;
    size_t cap;
};

static void collect(void *arg, unsigned long key, void *val)
{
    struct remove_ctx *c = arg;
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

void cmk_object_remove_if(struct cmk_token *t,
                          bool (*pred)(void *arg, struct cmk_object *o),
                          void *arg)
{
    struct remove_ctx c = {t, pred, arg, NULL, 0, 0};
    size_t i;

    cmk_objects_lock();
    cmk_hmap_each(&cmk_g.objects, collect, &c);
    for (i = 0; i < c.n; i++)
        (void)cmk_hmap_del(&cmk_g.objects, c.hit[i]->handle);
    cmk_objects_unlock();
    for (i = 0; i < c.n; i++)
        cmk_object_unref(c.hit[i]);
    free(c.hit);
}
