/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key objects: made from attribute lists and registered in the
 * object handle table (handles.c), referenced, dropped. Lookups for a
 * session (login and store checks) are in objops.c, removal in
 * objremove.c.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/handles.h"
#include "core/object.h"
#include "mech/mech.h"

static CK_RV add(struct cmk_token *t, CK_SESSION_HANDLE owner,
                 const char *store_name, const struct cmk_store_meta *meta,
                 struct cmk_keypair *kp, struct cmk_attrs *attrs,
                 struct cmk_object **out)
{
    struct cmk_object *o = calloc(1, sizeof(*o));
    struct cmk_object *dup = NULL;
    CK_RV rv;

    if (o == NULL)
        return CKR_HOST_MEMORY;
    if (store_name != NULL)
        snprintf(o->store_name, sizeof(o->store_name), "%s", store_name);
    o->token = t;
    o->session = owner;
    o->kp = kp;
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
    /* One object per store file, whoever (a store sync, the creating
     * call) registers it first. */
    rv = cmk_handles_add_object(o, &dup);
    if (rv != CKR_OK || dup != NULL) {
        cmk_attrs_clear(&o->attrs);
        free(o);
        if (rv != CKR_OK)
            return rv;
        o = dup; /* held by the table; its file is the same */
    }
    if (out != NULL)
        *out = o;
    return CKR_OK;
}

CK_RV cmk_object_add(struct cmk_token *t, CK_SESSION_HANDLE owner,
                     const char *store_name, struct cmk_attrs *attrs,
                     struct cmk_object **out)
{
    return add(t, owner, store_name, NULL, NULL, attrs, out);
}

CK_RV cmk_object_add_kp(struct cmk_token *t, struct cmk_keypair *kp,
                        struct cmk_attrs *attrs, struct cmk_object **out)
{
    return add(t, 0, NULL, NULL, kp, attrs, out);
}

CK_RV cmk_object_add_stored(struct cmk_token *t, const char *store_name,
                            const struct cmk_store_meta *meta,
                            struct cmk_attrs *attrs, struct cmk_object **out)
{
    return add(t, 0, store_name, meta, NULL, attrs, out);
}

void cmk_object_each(struct cmk_token *t,
                     void (*fn)(void *arg, struct cmk_object *o), void *arg)
{
    cmk_handles_each_object(t, fn, arg);
}

bool cmk_object_is_visible(const struct cmk_object *o, bool logged_in)
{
    return logged_in || !(o->is_private || o->is_token);
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
        cmk_keyctx_unref(o->kctx); /* wiped now, or by its last op */
        cmk_attrs_clear(&o->attrs);
        free(o);
    }
}

struct cmk_object *cmk_object_ref(struct cmk_object *o)
{
    __atomic_fetch_add(&o->refs, 1, __ATOMIC_RELAXED);
    return o;
}
