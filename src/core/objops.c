/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: object management. Attribute rules live in policy.c; this file
 * does handles, locking, the store and the session/token checks.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "core/object.h"
#include "core/objops.h"
#include "cmk-pkcs11.h"
#include "core/keyrules.h"
#include "core/policy.h"
#include "core/record.h"
#include "core/store.h"
#include "core/token.h"
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

/* A session object's CKA_UNIQUE_ID: a random 64-bit base drawn once per
 * process plus a counter, so a session key costs no getrandom() call.
 * Token objects keep random store names (their file names). */
static void session_unique_id(char name[CMK_STORE_NAME_LEN + 1])
{
    static uint64_t base, next;
    uint64_t b = __atomic_load_n(&base, __ATOMIC_ACQUIRE);
    uint64_t want, v;
    uint8_t r[8];
    int i;

    while (b == 0) { /* first use: racing threads agree on one base */
        randombytes_buf(&want, sizeof(want));
        want |= 1;
        v = 0;
        if (__atomic_compare_exchange_n(&base, &v, want, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            v = want;
        b = v;
    }
    v = b + __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
    for (i = 7; i >= 0; i--, v >>= 8)
        r[i] = (uint8_t)v;
    sodium_bin2hex(name, CMK_STORE_NAME_LEN + 1, r, sizeof(r));
}

CK_RV cmk_object_publish(struct cmk_session *s, struct cmk_attrs *attrs,
                         CK_OBJECT_HANDLE *out)
{
    struct cmk_token *t = s->token;
    bool tok = cmk_attrs_bool(attrs, CKA_TOKEN, false);
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_object *o = NULL;
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
    rv = cmk_object_add(t, tok ? 0 : s->handle, tok ? name : NULL, attrs, &o);
    if (rv != CKR_OK) {
        /* Best effort: the next store sync drops an orphan file too. */
        if (tok && cmk_token_remove_name(t, name) != CKR_OK)
            cmk_log_debug("tenant %s: could not remove %s", t->cfg->label,
                          name);
        return rv;
    }
    *out = o->handle;
    return CKR_OK;
}

CK_RV cmk_object_create(struct cmk_session *s, const CK_ATTRIBUTE *tmpl,
                        CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    struct cmk_attrs attrs = {0};
    struct cmk_new_key nk;
    CK_RV rv;

    cmk_object_new_key(s, CMK_ORIGIN_CREATE, &nk);
    rv = cmk_policy_new_secret(&nk, tmpl, n, &attrs);
    if (rv == CKR_OK)
        rv = cmk_object_publish(s, &attrs, out);
    cmk_attrs_clear(&attrs);
    return rv;
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

CK_RV cmk_object_copy(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out)
{
    struct cmk_attrs attrs = {0};
    struct cmk_object *o;
    CK_RV rv;

    rv = cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    cmk_mutex_lock(&o->token->lock);
    rv = cmk_policy_apply(&o->attrs, tmpl, n, true, &attrs);
    if (rv == CKR_OK && !o->token->cfg->mixed_roles)
        rv = cmk_keyrules_change_roles(&o->attrs, &attrs, true);
    cmk_mutex_unlock(&o->token->lock);
    if (rv == CKR_OK)
        rv = check_write(s, &attrs, cmk_token_is_logged_in(s->token));
    if (rv == CKR_OK)
        rv = cmk_object_publish(s, &attrs, out);
    cmk_attrs_clear(&attrs);
    cmk_object_unref(o);
    return rv;
}

CK_RV cmk_object_destroy(struct cmk_session *s, CK_OBJECT_HANDLE h)
{
    struct cmk_object *o;
    bool destroyable, in;
    CK_RV rv;

    rv = cmk_object_get_for_write(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    in = cmk_token_is_logged_in(o->token);
    cmk_mutex_lock(&o->token->lock);
    destroyable = cmk_attrs_bool(&o->attrs, CKA_DESTROYABLE, true);
    rv = destroyable ? check_write(s, &o->attrs, in) : CKR_ACTION_PROHIBITED;
    cmk_mutex_unlock(&o->token->lock);
    if (rv == CKR_OK && o->is_token)
        rv = cmk_token_delete_object(o->token, o);
    if (rv == CKR_OK)
        cmk_object_remove(o);
    cmk_object_unref(o);
    return rv;
}

CK_RV cmk_object_get_attrs(struct cmk_session *s, CK_OBJECT_HANDLE h,
                           CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    struct cmk_object *o;
    CK_RV rv;

    rv = cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    cmk_mutex_lock(&o->token->lock);
    rv = cmk_policy_get(&o->attrs, tmpl, n);
    cmk_mutex_unlock(&o->token->lock);
    cmk_object_unref(o);
    return rv;
}

/* Under the token lock: the attributes o would have after the change. */
static CK_RV next_attrs_locked(struct cmk_session *s, struct cmk_object *o,
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

/* A session object: apply and swap in under the token lock. */
static CK_RV set_locked(struct cmk_session *s, struct cmk_object *o,
                        const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool in)
{
    struct cmk_attrs next = {0};
    CK_RV rv;

    rv = next_attrs_locked(s, o, tmpl, n, in, &next);
    if (rv == CKR_OK) {
        struct cmk_attrs old = o->attrs;

        o->attrs = next;
        next = old;
    }
    cmk_attrs_clear(&next);
    return rv;
}

/* A token object: the new attributes are made under the token lock, then
 * written to the store (three fsyncs) without it, in o's writer turn, and
 * swapped in once written. */
static CK_RV set_stored(struct cmk_session *s, struct cmk_object *o,
                        const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool in)
{
    struct cmk_token *t = o->token;
    struct cmk_attrs next = {0};
    uint64_t base;
    CK_RV rv;

    cmk_mutex_lock(&t->lock);
    cmk_token_write_begin_locked(o);
    rv = next_attrs_locked(s, o, tmpl, n, in, &next);
    base = o->store_version;
    cmk_mutex_unlock(&t->lock);
    if (rv == CKR_OK)
        rv = cmk_token_update_object(o, base, &next);
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
    struct cmk_object *o;
    bool in;
    CK_RV rv;

    rv = cmk_object_get_for_write(s, h, CKR_OBJECT_HANDLE_INVALID, &o);
    if (rv != CKR_OK)
        return rv;
    if (is_flush(o, tmpl, n)) {
        cmk_token_flush(o->token);
        cmk_object_unref(o);
        return cmk_record_event("cache_flush", "C_SetAttributeValue",
                                s->token, (long)s->handle, CKR_OK, NULL);
    }
    in = cmk_token_is_logged_in(o->token);
    if (o->is_token) {
        rv = set_stored(s, o, tmpl, n, in);
    } else {
        cmk_mutex_lock(&o->token->lock);
        rv = set_locked(s, o, tmpl, n, in);
        cmk_mutex_unlock(&o->token->lock);
    }
    cmk_object_unref(o);
    return rv;
}

CK_RV cmk_object_size(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      CK_ULONG *size)
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
