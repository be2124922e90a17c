/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: object search over one token's visible objects: private ones only
 * with a logged-in user.
 */
#include <config.h>

#include <stdlib.h>

#include "core/find.h"
#include "core/handles.h"
#include "core/keypair.h"
#include "core/kpobj.h"
#include "core/object.h"
#include "core/policy.h"
#include "core/token.h"
#include "core/token_store.h"

struct match_ctx {
    const CK_ATTRIBUTE *tmpl;
    CK_ULONG n;
    bool logged_in;
    bool cmk; /* this pass looks at the CMK object only, or at the rest */
    struct cmk_find *f;
    size_t cap;
    bool nomem;
};

static void match_one(void *arg, struct cmk_object *o)
{
    struct match_ctx *c = arg;
    CK_OBJECT_HANDLE *grown;

    if (!cmk_object_is_visible(o, c->logged_in) || o->is_cmk != c->cmk)
        return;
    if (o->kp != NULL ? !cmk_kpobj_match(&o->attrs, c->tmpl, c->n)
                      : !cmk_policy_match(&o->attrs, c->tmpl, c->n))
        return;
    if (c->f->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;

        grown = realloc(c->f->handles, cap * sizeof(*grown));
        if (grown == NULL) {
            c->nomem = true;
            return;
        }
        c->f->handles = grown;
        c->cap = cap;
    }
    c->f->handles[c->f->n++] = o->handle;
}

CK_RV cmk_find_init(struct cmk_session *s, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct match_ctx c = {tmpl, n, false, true, &s->find, 0, false};
    struct cmk_token *t = s->token;

    if (s->find.active)
        return CKR_OPERATION_ACTIVE;
    c.logged_in = cmk_token_is_logged_in(t);
    /* Pick up objects other processes added or removed; a KMS failure
     * leaves the objects already loaded. */
    (void)cmk_token_sync_store(t);
    cmk_keypair_retry(t); /* key pairs whose public key is still missing */
    /* The CMK first: a search by its label or id must give it before
     * anything else (pkcs11-tool and most URIs take the first match). */
    cmk_mutex_lock(&t->lock);
    if (t->cmk_obj != NULL && cmk_token_cmk_health_locked(t) != CKR_OK)
        c.nomem = true;
    if (t->cmk_obj != NULL)
        match_one(&c, t->cmk_obj);
    c.cmk = false;
    cmk_handles_each_object(t, match_one, &c);
    cmk_mutex_unlock(&t->lock);
    if (c.nomem) {
        cmk_find_reset(&s->find);
        return CKR_HOST_MEMORY;
    }
    s->find.active = true;
    return CKR_OK;
}

CK_RV cmk_find_next(struct cmk_session *s, CK_OBJECT_HANDLE *out, CK_ULONG max,
                    CK_ULONG *count)
{
    struct cmk_find *f = &s->find;
    CK_ULONG i = 0;

    if (!f->active)
        return CKR_OPERATION_NOT_INITIALIZED;
    while (i < max && f->pos < f->n)
        out[i++] = f->handles[f->pos++];
    *count = i;
    return CKR_OK;
}

CK_RV cmk_find_final(struct cmk_session *s)
{
    if (!s->find.active)
        return CKR_OPERATION_NOT_INITIALIZED;
    cmk_find_reset(&s->find);
    return CKR_OK;
}
