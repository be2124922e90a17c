/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: object management. Attribute rules live in policy.c; this file
 * does handle lookups for a session, locking, the store and the
 * session/token checks, and the audit record of each call (attribute
 * types, never values): a change is recorded before it takes effect, a
 * new object is taken back when its record cannot be written.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/handles.h"
#include "core/object.h"
#include "core/objops.h"
#include "core/keyrules.h"
#include "core/kpobj.h"
#include "core/policy.h"
#include "core/record.h"
#include "store/store.h"
#include "core/token.h"
#include "core/token_store.h"
#include "mech/mech.h"
#include "util/log.h"

void cmk_object_new_key(struct cmk_session *s, enum cmk_origin origin,
                        struct cmk_new_key *nk)
{
    memset(nk, 0, sizeof(*nk));
    nk->origin = origin;
    nk->mech_key_type = (CK_KEY_TYPE)-1;
    nk->gen_mech = CK_UNAVAILABLE_INFORMATION;
    nk->logged_in = cmk_token_is_logged_in(s->token);
    nk->rw_session = cmk_session_is_rw(s);
    nk->mixed_roles_ok = s->token->cfg->mixed_roles;
}

static bool attr_is(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type,
                    const void *val, size_t len)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);

    return len != 0 && at != NULL && at->len == len &&
           memcmp(at->val, val, len) == 0;
}

/* The CMK's label and CKA_ID name the CMK alone: an application that
 * selects the CMK by either must never get another key (a public key of
 * the attacker's making, say). */
static CK_RV check_reserved(const struct cmk_token *t,
                            const struct cmk_attrs *a)
{
    const struct cmk_tenant_cfg *c = t->cfg;

    if (attr_is(a, CKA_LABEL, c->cmk_label, strlen(c->cmk_label)) ||
        attr_is(a, CKA_ID, c->cmk_id, c->cmk_id_len))
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

_Static_assert(CMK_STORE_NAME_LEN == 16, "session ids are 8 bytes in hex");

#define ID_BLOCK 256 /* counter values a thread takes at a time */

/* A session object's CKA_UNIQUE_ID: a random 64-bit base drawn once per
 * process plus a counter, so a session key costs no getrandom() call.
 * Each thread takes the counter in blocks, so threads making keys do not
 * share its cache line. Token objects keep random store names (their file
 * names). */
static void session_unique_id(char name[CMK_STORE_NAME_LEN + 1])
{
    static uint64_t base, next;
    static __thread uint64_t mine, mine_end;
    uint64_t b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
    uint64_t want, v;
    uint8_t r[8];
    int i;

    while (b == 0) { /* first use: racing threads agree on one base */
        cmk_random((uint8_t *)&want, sizeof(want));
        want |= 1;
        v = 0;
        if (__atomic_compare_exchange_n(&base, &v, want, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            v = want;
        b = v;
    }
    if (mine == mine_end) {
        mine = __atomic_fetch_add(&next, ID_BLOCK, __ATOMIC_RELAXED);
        mine_end = mine + ID_BLOCK;
    }
    v = b + mine++;
    for (i = 7; i >= 0; i--, v >>= 8)
        r[i] = (uint8_t)v;
    sodium_bin2hex(name, CMK_STORE_NAME_LEN + 1, r, sizeof(r));
}

static CK_RV lookup(struct cmk_session *s, CK_OBJECT_HANDLE h, CK_RV invalid_rv,
                    bool write, struct cmk_object **out)
{
    struct cmk_object *o = cmk_handles_ref_object(h, s->token);
    CK_RV rv;

    if (o == NULL)
        return invalid_rv;
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

CK_RV cmk_object_get(struct cmk_session *s, CK_OBJECT_HANDLE h,
                     CK_RV invalid_rv, struct cmk_object **out)
{
    return lookup(s, h, invalid_rv, false, out);
}

CK_RV cmk_object_get_for_write(struct cmk_session *s, CK_OBJECT_HANDLE h,
                               CK_RV invalid_rv, struct cmk_object **out)
{
    return lookup(s, h, invalid_rv, true, out);
}

CK_RV cmk_object_publish(struct cmk_session *s, struct cmk_attrs *attrs,
                         CK_OBJECT_HANDLE *out)
{
    struct cmk_token *t = s->token;
    bool tok = cmk_attrs_bool(attrs, CKA_TOKEN, false);
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_object *o = NULL;
    struct cmk_store_meta meta;
    CK_RV rv;

    /* No token object, public or not, before login (DESIGN.md). */
    if (tok && !cmk_token_is_logged_in(t))
        return CKR_USER_NOT_LOGGED_IN;
    rv = check_reserved(t, attrs);
    if (rv != CKR_OK)
        return rv;
    if (tok)
        cmk_store_new_name(name);
    else
        session_unique_id(name);
    if (cmk_attrs_set(attrs, CKA_UNIQUE_ID, name, strlen(name)) != CMK_OK)
        return CKR_HOST_MEMORY;
    if (tok) {
        rv = cmk_token_save_attrs(t, name, attrs);
        if (rv != CKR_OK)
            return rv;
    }
    /* A token object just written by this thread: its file is known. */
    if (tok && cmk_token_created_meta(name, &meta))
        rv = cmk_object_add_stored(t, name, &meta, attrs, &o);
    else
        rv = cmk_object_add(t, tok ? 0 : s->handle, tok ? name : NULL, attrs,
                            &o);
    if (rv != CKR_OK) {
        /* Best effort: the next store sync drops an orphan file too. */
        if (tok && cmk_token_remove_name(t, name) != CKR_OK)
            cmk_log_debug("tenant %s: could not remove %s", t->cfg->kms.label,
                          name);
        return rv;
    }
    *out = o->handle;
    return CKR_OK;
}

CK_RV cmk_object_take_back(struct cmk_session *s, CK_OBJECT_HANDLE h)
{
    struct cmk_object *o;
    CK_RV rv = CKR_OK;

    if (cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o) != CKR_OK)
        return CKR_OK; /* gone already */
    if (o->is_token && cmk_token_delete_object(o->token, o) != CKR_OK)
        rv = CKR_DEVICE_ERROR;
    cmk_object_remove(o);
    cmk_object_unref(o);
    return rv;
}

/* The record of a new object; one that cannot be written takes the
 * object back. */
static CK_RV record_new(struct cmk_session *s, const char *op,
                        const struct cmk_obj_note *on, CK_RV rv,
                        const char *detail)
{
    CK_RV rec = cmk_record_object(s, op, on, rv, detail);

    if (rv == CKR_OK && rec != CKR_OK)
        (void)cmk_object_take_back(s, on->handle);
    return rec;
}

CK_RV cmk_object_create(struct cmk_session *s, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct cmk_attrs attrs = {0};
    struct cmk_obj_note on;
    struct cmk_new_key nk;
    CK_RV rv;

    cmk_obj_note_init(&on);
    cmk_object_new_key(s, CMK_ORIGIN_CREATE, &nk);
    rv = cmk_policy_new_secret(&nk, tmpl, n, &attrs);
    if (rv == CKR_OK) {
        cmk_obj_note_attrs(&on, &attrs);
        rv = cmk_object_publish(s, &attrs, out);
    }
    cmk_attrs_clear(&attrs);
    if (rv == CKR_OK)
        on.handle = *out;
    cmk_obj_note_template(&on, tmpl, n, true);
    return record_new(s, "C_CreateObject", &on, rv, NULL);
}

/* Token objects may be created, changed or destroyed only in R/W
 * sessions; private ones only by a logged-in user. The caller reads the
 * login state before it takes the token lock (the lock is not
 * recursive). */
static CK_RV check_write(struct cmk_session *s, const struct cmk_attrs *a,
                         bool logged_in)
{
    if (cmk_attrs_bool(a, CKA_TOKEN, false) && !cmk_session_is_rw(s))
        return CKR_SESSION_READ_ONLY;
    if (cmk_attrs_bool(a, CKA_PRIVATE, true) && !logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

static CK_RV copy(struct cmk_session *s, struct cmk_object *o,
                  const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct cmk_obj_note *on,
                  CK_OBJECT_HANDLE *out)
{
    struct cmk_attrs attrs = {0};
    CK_RV rv;

    cmk_mutex_lock(&o->token->lock);
    rv = cmk_policy_apply(&o->attrs, tmpl, n, true, &attrs);
    if (rv == CKR_OK && !o->token->cfg->mixed_roles)
        rv = cmk_keyrules_change_roles(&o->attrs, &attrs, true);
    cmk_mutex_unlock(&o->token->lock);
    if (rv == CKR_OK)
        rv = check_write(s, &attrs, cmk_token_is_logged_in(s->token));
    if (rv == CKR_OK) {
        cmk_obj_note_attrs(on, &attrs);
        rv = cmk_object_publish(s, &attrs, out);
    }
    if (rv == CKR_OK)
        on->handle = *out;
    cmk_attrs_clear(&attrs);
    return rv;
}

CK_RV cmk_object_copy(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out)
{
    struct cmk_obj_note on;
    struct cmk_object *o;
    char from[48];
    CK_RV rv;

    cmk_obj_note_init(&on);
    snprintf(from, sizeof(from), "copy of object %lu", h);
    rv = cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv == CKR_OK) {
        rv = copy(s, o, tmpl, n, &on, out);
        cmk_object_unref(o);
    }
    cmk_obj_note_template(&on, tmpl, n, rv != CKR_OK);
    return record_new(s, "C_CopyObject", &on, rv, from);
}

/* Recorded before it happens: a destroyed object cannot be taken back,
 * so without a record nothing is destroyed. A token object whose file
 * then cannot be removed gets a second record with that failure. */
static CK_RV destroy(struct cmk_session *s, struct cmk_object *o,
                     struct cmk_obj_note *on)
{
    bool destroyable, in = cmk_token_is_logged_in(o->token);
    CK_RV rv;

    cmk_mutex_lock(&o->token->lock);
    cmk_obj_note_object_locked(on, o);
    destroyable = cmk_attrs_bool(&o->attrs, CKA_DESTROYABLE, true);
    rv = destroyable ? check_write(s, &o->attrs, in) : CKR_ACTION_PROHIBITED;
    cmk_mutex_unlock(&o->token->lock);
    rv = cmk_record_object(s, "C_DestroyObject", on, rv, NULL);
    if (rv == CKR_OK && o->is_token) {
        rv = cmk_token_delete_object(o->token, o);
        if (rv != CKR_OK)
            (void)cmk_record_object(s, "C_DestroyObject", on, rv,
                                    "not destroyed: store");
    }
    if (rv == CKR_OK)
        cmk_object_remove(o);
    return rv;
}

CK_RV cmk_object_destroy(struct cmk_session *s, CK_OBJECT_HANDLE h)
{
    struct cmk_obj_note on;
    struct cmk_object *o;
    CK_RV rv;

    cmk_obj_note_init(&on);
    on.handle = h;
    rv = cmk_object_get_for_write(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return cmk_record_object(s, "C_DestroyObject", &on, rv, NULL);
    rv = destroy(s, o, &on);
    cmk_object_unref(o);
    return rv;
}

/* The template entry through which a key value was handed out, or
 * NULL. */
static CK_ATTRIBUTE *value_read(CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ULONG i;

    for (i = 0; i < n; i++) {
        if (tmpl[i].type == CKA_VALUE && tmpl[i].pValue != NULL &&
            tmpl[i].ulValueLen != CK_UNAVAILABLE_INFORMATION)
            return &tmpl[i];
    }
    return NULL;
}

/* Reading a key's value hands out key material: recorded, and taken
 * back when the record cannot be written. */
static CK_RV record_value_read(struct cmk_session *s,
                               const struct cmk_obj_note *on, CK_RV rv,
                               CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ATTRIBUTE *v = value_read(tmpl, n);
    CK_RV rec;

    if (v == NULL)
        return rv;
    rec = cmk_record_object(s, "C_GetAttributeValue", on, rv, NULL);
    if (rec != rv) {
        sodium_memzero(v->pValue, v->ulValueLen);
        v->ulValueLen = CK_UNAVAILABLE_INFORMATION;
    }
    return rec;
}

CK_RV cmk_object_get_attrs(struct cmk_session *s, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct cmk_obj_note on;
    struct cmk_object *o;
    CK_RV rv;

    cmk_obj_note_init(&on);
    rv = cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    cmk_mutex_lock(&o->token->lock);
    if (o->is_cmk)
        rv = cmk_token_cmk_health_locked(o->token);
    if (rv == CKR_OK && o->kp != NULL)
        rv = cmk_kpobj_get(&o->attrs, tmpl, n);
    else if (rv == CKR_OK)
        rv = cmk_policy_get(&o->attrs, tmpl, n);
    if (value_read(tmpl, n) != NULL) {
        cmk_obj_note_object_locked(&on, o);
        cmk_obj_note_template(&on, tmpl, n, false);
    }
    cmk_mutex_unlock(&o->token->lock);
    cmk_object_unref(o);
    return record_value_read(s, &on, rv, tmpl, n);
}

/* Under the token lock: the object's new attribute list, checked. */
static CK_RV set_prepare(struct cmk_session *s, struct cmk_object *o,
                         const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool in,
                         struct cmk_attrs *next)
{
    CK_RV rv;

    rv = cmk_policy_apply(&o->attrs, tmpl, n, false, next);
    if (rv == CKR_OK && !o->token->cfg->mixed_roles)
        rv = cmk_keyrules_change_roles(&o->attrs, next, false);
    if (rv == CKR_OK && !o->is_cmk)
        rv = check_reserved(o->token, next);
    if (rv == CKR_OK)
        rv = check_write(s, &o->attrs, in);
    return rv;
}

/* Under the token lock: record, then swap in (a session object). The
 * record comes first, so a change nobody can read about never takes
 * effect. */
static CK_RV set_locked(struct cmk_session *s, struct cmk_object *o,
                        const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool in,
                        struct cmk_obj_note *on)
{
    static const char op[] = "C_SetAttributeValue";
    struct cmk_attrs next = {0}, old;
    CK_RV rv;

    cmk_obj_note_object_locked(on, o); /* as it was before the change */
    rv = set_prepare(s, o, tmpl, n, in, &next);
    rv = cmk_record_object(s, op, on, rv, NULL);
    if (rv == CKR_OK) {
        old = o->attrs;
        o->attrs = next;
        next = old;
        cmk_object_changed(o);
    }
    cmk_attrs_clear(&next);
    return rv;
}

/* A token object: the new attributes are made under the token lock, in
 * o's writer turn; the record is written, then the store (three fsyncs),
 * both without the lock, and the attributes are swapped in once written.
 * A token object the store then refuses gets a second record. */
static CK_RV set_stored(struct cmk_session *s, struct cmk_object *o,
                        const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool in,
                        struct cmk_obj_note *on)
{
    static const char op[] = "C_SetAttributeValue";
    struct cmk_token *t = o->token;
    struct cmk_attrs next = {0};
    uint64_t base;
    CK_RV rv;

    cmk_mutex_lock(&t->lock);
    cmk_token_write_begin_locked(o);
    cmk_obj_note_object_locked(on, o);
    rv = set_prepare(s, o, tmpl, n, in, &next);
    base = o->store_version;
    cmk_mutex_unlock(&t->lock);
    rv = cmk_record_object(s, op, on, rv, NULL);
    if (rv == CKR_OK) {
        rv = cmk_token_update_object(o, base, &next);
        if (rv != CKR_OK)
            (void)cmk_record_object(s, op, on, rv, "not changed: store");
    }
    cmk_mutex_lock(&t->lock);
    cmk_token_write_end_locked(o);
    cmk_mutex_unlock(&t->lock);
    cmk_attrs_clear(&next);
    return rv;
}

static bool is_flush(const struct cmk_object *o, const CK_ATTRIBUTE *tmpl,
                     CK_ULONG n)
{
    return o->is_cmk && n == 1 && tmpl[0].type == CKA_CMK_FLUSH_CACHE &&
           tmpl[0].ulValueLen == sizeof(CK_BBOOL) && tmpl[0].pValue != NULL &&
           *(const CK_BBOOL *)tmpl[0].pValue == CK_TRUE;
}

CK_RV cmk_object_set_attrs(struct cmk_session *s, CK_OBJECT_HANDLE h,
                           const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct cmk_obj_note on;
    struct cmk_object *o;
    bool in;
    CK_RV rv;

    cmk_obj_note_init(&on);
    on.handle = h;
    cmk_obj_note_template(&on, tmpl, n, false);
    rv = cmk_object_get_for_write(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return cmk_record_object(s, "C_SetAttributeValue", &on, rv, NULL);
    if (is_flush(o, tmpl, n)) {
        cmk_token_flush(o->token);
        cmk_object_unref(o);
        return cmk_record_event("cache_flush", "C_SetAttributeValue", s->token,
                                (long)s->handle, CKR_OK, NULL);
    }
    in = cmk_token_is_logged_in(o->token);
    if (o->is_token) {
        rv = set_stored(s, o, tmpl, n, in, &on);
    } else {
        cmk_mutex_lock(&o->token->lock);
        rv = set_locked(s, o, tmpl, n, in, &on);
        cmk_mutex_unlock(&o->token->lock);
    }
    cmk_object_unref(o);
    return rv;
}

CK_RV cmk_object_size(struct cmk_session *s, CK_OBJECT_HANDLE h, CK_ULONG *size)
{
    struct cmk_object *o;
    CK_RV rv;

    rv = cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    cmk_mutex_lock(&o->token->lock);
    *size = cmk_policy_size(&o->attrs);
    cmk_mutex_unlock(&o->token->lock);
    cmk_object_unref(o);
    return rv;
}
