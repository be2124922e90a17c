/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key generation, wrapping and unwrapping. Key bytes move only
 * between secure-memory buffers; a failed unwrap creates no object.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/keyops.h"
#include "core/keyrules.h"
#include "core/keyuse.h"
#include "core/kpcrypt.h"
#include "core/object.h"
#include "core/objops.h"
#include "core/policy.h"
#include "core/record.h"
#include "core/token.h"
#include "core/token_store.h"
#include "keys/cache.h"

/* The new key's label and id, for its audit record. */
static void note_attrs(struct cmk_note *note, const struct cmk_attrs *a)
{
    const struct cmk_attr *l, *id;
    size_t i;

    if (!cmk_record_on())
        return;
    l = cmk_attrs_get(a, CKA_LABEL);
    id = cmk_attrs_get(a, CKA_ID);
    if (l != NULL)
        snprintf(note->key_label, sizeof(note->key_label), "%.*s",
                 (int)(l->len < 64 ? l->len : 64), (const char *)l->val);
    for (i = 0; id != NULL && i < id->len && i < 32; i++)
        snprintf(note->key_id + 2 * i, 3, "%02x", id->val[i]);
}

static CK_RV generate(struct cmk_session *s, const CK_MECHANISM *m,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      CK_OBJECT_HANDLE *out, struct cmk_note *note,
                      struct cmk_obj_note *on)
{
    struct cmk_attrs attrs = {0};
    struct cmk_new_key nk;
    CK_RV rv;

    if (m->mechanism != CKM_AES_KEY_GEN && m->mechanism != CKM_CHACHA20_KEY_GEN)
        return CKR_MECHANISM_INVALID;
    if (m->pParameter != NULL || m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    cmk_object_new_key(s, CMK_ORIGIN_GENERATE, &nk);
    nk.mech_key_type = m->mechanism == CKM_AES_KEY_GEN ? CKK_AES : CKK_CHACHA20;
    nk.gen_mech = m->mechanism;
    rv = cmk_policy_new_secret(&nk, tmpl, n, &attrs);
    if (rv == CKR_OK) {
        note_attrs(note, &attrs);
        cmk_obj_note_attrs(on, &attrs);
        rv = cmk_object_publish(s, &attrs, out);
    }
    if (rv == CKR_OK)
        on->handle = *out;
    cmk_attrs_clear(&attrs);
    return rv;
}

/* A new key whose audit record cannot be written is destroyed again. */
static CK_RV keep_if_recorded(struct cmk_session *s, const char *op,
                              const struct cmk_note *note, CK_RV rv)
{
    CK_RV rec = cmk_record_mech(s, op, note, rv);

    if (rv == CKR_OK && rec != CKR_OK &&
        cmk_object_take_back(s, note->obj->handle) != CKR_OK)
        rec = CKR_DEVICE_ERROR;
    return rec;
}

CK_RV cmk_key_generate(struct cmk_session *s, const CK_MECHANISM *m,
                       const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                       CK_OBJECT_HANDLE *out)
{
    struct cmk_obj_note on;
    struct cmk_note note;
    CK_RV rv;

    cmk_note_init(&note, m);
    cmk_obj_note_init(&on);
    note.obj = &on;
    rv = generate(s, m, tmpl, n, out, &note, &on);
    note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    return keep_if_recorded(s, "C_GenerateKey", &note, rv);
}

/* Copies the value of the key to be wrapped, after the wrap checks. */
static CK_RV wrap_source(struct cmk_object *wk, struct cmk_object *k,
                         struct cmk_secret *val)
{
    const struct cmk_attr *v;
    CK_RV rv;

    if (k->is_cmk)
        return CKR_KEY_UNEXTRACTABLE;
    cmk_mutex_lock(&k->token->lock);
    rv = cmk_policy_can_wrap(&wk->attrs, &k->attrs);
    v = cmk_attrs_get(&k->attrs, CKA_VALUE);
    if (rv == CKR_OK && v == NULL)
        rv = CKR_KEY_NOT_WRAPPABLE;
    if (rv == CKR_OK && cmk_secret_dup(val, v->val, v->len) != CMK_OK)
        rv = CKR_HOST_MEMORY;
    cmk_mutex_unlock(&k->token->lock);
    return rv;
}

static CK_RV wrap_envelope(struct cmk_token *t, const struct cmk_secret *val,
                           uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_req rq = {0};
    struct cmk_buf blob = {0};
    size_t have = (size_t)*out_len;
    cmk_err err;
    CK_RV rv = CKR_OK;

    /* A length query gets an upper bound (PKCS#11 3.0 section 5.2 allows
     * it) and costs no KMS call. */
    if (out == NULL) {
        *out_len = cmk_cmk_seal_bound(t->cmk, val->len);
        return CKR_OK;
    }
    err = cmk_cmk_seal(t->cmk, &rq, val->p, val->len, &blob);
    if (err != CMK_OK)
        return cmk_err_rv_in(err, CMK_CALL_WRAP);
    *out_len = blob.len;
    if (out != NULL && have < blob.len)
        rv = CKR_BUFFER_TOO_SMALL;
    else if (out != NULL)
        memcpy(out, blob.p, blob.len);
    cmk_buf_free(&blob);
    return rv;
}

static CK_RV wrap_rv(CK_RV rv)
{
    /* The wrapped key's length does not suit the mechanism. */
    return rv == CKR_DATA_LEN_RANGE ? CKR_KEY_SIZE_RANGE : rv;
}

static CK_RV wrap_with(struct cmk_object *wk, const CK_MECHANISM *m,
                       const struct cmk_secret *val, uint8_t *out,
                       CK_ULONG *out_len, struct cmk_note *note)
{
    struct cmk_op *op = NULL;
    size_t n = (size_t)*out_len;
    CK_RV rv;

    rv = cmk_keyuse_op(wk, m, CKA_WRAP, true, note, &op);
    if (rv == CKR_KEY_TYPE_INCONSISTENT)
        return CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_KEY_SIZE_RANGE) /* the wrapping key's, not the key's */
        return CKR_WRAPPING_KEY_SIZE_RANGE;
    if (rv != CKR_OK)
        return rv;
    if (cmk_keyuse_is_envelope(m))
        return wrap_envelope(wk->token, val, out, out_len);
    rv = cmk_op_oneshot(op, val->p, val->len, out, &n);
    *out_len = n;
    cmk_op_free(op);
    return wrap_rv(rv);
}

CK_RV cmk_key_wrap(struct cmk_session *s, const CK_MECHANISM *m,
                   CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key,
                   uint8_t *out, CK_ULONG *out_len)
{
    struct cmk_object *wk = NULL, *k = NULL;
    struct cmk_secret val = {0};
    struct cmk_note note;
    CK_RV rv, rec;

    cmk_note_init(&note, m);
    rv = cmk_object_get(s, wrapping, CKR_WRAPPING_KEY_HANDLE_INVALID, &wk);
    if (rv == CKR_OK)
        rv = cmk_object_get(s, key, CKR_KEY_HANDLE_INVALID, &k);
    if (rv == CKR_OK)
        rv = wrap_source(wk, k, &val);
    if (rv == CKR_OK)
        rv = wrap_with(wk, m, &val, out, out_len, &note);
    note.bytes_in = (long long)val.len;
    note.bytes_out = rv == CKR_OK ? (long long)*out_len : -1;
    if (!note.keyed) /* refused before the key was used */
        cmk_note_key(&note, wk);
    cmk_secret_free(&val);
    cmk_object_unref(k);
    cmk_object_unref(wk);
    /* A length query is not a use of the key yet. */
    if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && out == NULL))
        return rv;
    note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    rec = cmk_record_mech(s, "C_WrapKey", &note, rv);
    if (rec != rv && rv == CKR_OK) { /* no wrapped key leaves unrecorded */
        sodium_memzero(out, (size_t)*out_len);
        *out_len = 0;
    }
    return rec;
}

static CK_RV unwrap_rv(CK_RV rv)
{
    if (rv == CKR_ENCRYPTED_DATA_INVALID)
        return CKR_WRAPPED_KEY_INVALID;
    if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
        return CKR_WRAPPED_KEY_LEN_RANGE;
    return rv;
}

struct unseal_ctx {
    struct cmk_token *t;
    const uint8_t *in;
    size_t in_len;
};

static cmk_err unseal_fill(void *arg, struct cmk_secret *val)
{
    struct unseal_ctx *u = arg;
    struct cmk_req rq = {0};

    return cmk_cmk_unseal(u->t->cmk, &rq, u->in, u->in_len, val);
}

/* What a direct-path unwrap leaves for the new key object: the cache
 * and entry it came through and the entry's keyed context (a reference,
 * or NULL). */
struct via_cache {
    struct cmk_cache *cache; /* NULL: not through the cache */
    uint8_t digest[CMK_CACHE_DIGEST];
    struct cmk_keyctx *kc;
};

/* Direct path: through the DEK cache, so a repeated blob costs no KMS call
 * until its entry expires. */
static CK_RV unwrap_envelope(struct cmk_session *s, const uint8_t *in,
                             size_t in_len, struct cmk_secret *val,
                             struct cmk_note *note, struct via_cache *vc)
{
    struct unseal_ctx u = {s->token, in, in_len};
    struct cmk_cache *cache = cmk_session_cache(s);
    bool hit = false;
    cmk_err err;

    if (cache == NULL)
        return CKR_HOST_MEMORY;
    cmk_cache_digest(s->token->cfg->kms.label, in, in_len, vc->digest);
    err = cmk_cache_get_ctx(cache, vc->digest, unseal_fill, &u, val, &hit,
                            &vc->kc);
    note->cache = hit ? 1 : 0;
    if (err == CMK_OK)
        vc->cache = cache;
    /* A blob of no CMK version of ours is CMK_E_BAD_BLOB (keys/cmk.h);
     * CMK_E_KEY_NOT_FOUND is the KMS's NotFoundException: the CMK itself
     * is gone, CKR_UNWRAPPING_KEY_HANDLE_INVALID. */
    return cmk_err_rv_in(err, CMK_CALL_UNWRAP);
}

/* The new key object of a cached unwrap shares the entry's keyed
 * context, or notes the entry so that its first use leaves the context
 * it makes there (one schedule per blob and TTL, not per unwrap). */
static void share_ctx(struct cmk_session *s, CK_OBJECT_HANDLE h,
                      const struct via_cache *vc)
{
    struct cmk_object *o = NULL;

    if (vc->cache == NULL ||
        cmk_object_get(s, h, CKR_OBJECT_HANDLE_INVALID, &o) != CKR_OK)
        return;
    if (vc->kc != NULL)
        cmk_keyuse_share(o, vc->kc);
    else
        cmk_keyuse_mark_cached(o, vc->digest);
    cmk_object_unref(o);
}

static CK_RV unwrap_with(struct cmk_session *s, struct cmk_object *uk,
                         const CK_MECHANISM *m, const uint8_t *in,
                         size_t in_len, struct cmk_secret *val,
                         struct cmk_note *note, struct via_cache *vc)
{
    struct cmk_op *op = NULL;
    size_t n;
    CK_RV rv;

    if (cmk_kpcrypt_claims(uk, m))
        return cmk_kpcrypt_unwrap(uk, m, in, in_len, val, note);
    rv = cmk_keyuse_op(uk, m, CKA_UNWRAP, false, note, &op);
    if (rv == CKR_KEY_TYPE_INCONSISTENT)
        return CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_KEY_SIZE_RANGE)
        return CKR_UNWRAPPING_KEY_SIZE_RANGE;
    if (rv != CKR_OK)
        return rv;
    if (cmk_keyuse_is_envelope(m))
        return unwrap_envelope(s, in, in_len, val, note, vc);
    if (cmk_secret_alloc(val, in_len) != CMK_OK) {
        cmk_op_free(op);
        return CKR_HOST_MEMORY;
    }
    n = val->len;
    rv = cmk_op_oneshot(op, in, in_len, val->p, &n);
    cmk_op_free(op);
    if (rv == CKR_ENCRYPTED_DATA_INVALID && uk->is_cmk) /* an older KEK's? */
        rv = cmk_keyuse_unwrap_prev(uk, m, in, in_len, val);
    else
        val->len = n; /* the unused tail stays zeroed in secure memory */
    return unwrap_rv(rv);
}

/* The key policy's template checks, before any KMS call (keyrules.h). */
static CK_RV precheck_unwrap(const struct cmk_object *uk,
                             struct cmk_new_key *nk, const CK_ATTRIBUTE *tmpl,
                             CK_ULONG n)
{
    const struct cmk_tenant_cfg *cfg = uk->token->cfg;
    CK_RV rv = CKR_OK;

    if (tmpl == NULL && n != 0)
        return CKR_ARGUMENTS_BAD;
    nk->by_trusted = uk->is_cmk && !cfg->unprotected_unwrap;
    if (nk->by_trusted)
        rv = cmk_keyrules_unwrap_template(tmpl, n);
    if (rv == CKR_OK && !nk->mixed_roles_ok)
        rv = cmk_keyrules_template_roles(tmpl, n);
    return rv;
}

CK_RV cmk_key_unwrap(struct cmk_session *s, const CK_MECHANISM *m,
                     CK_OBJECT_HANDLE unwrapping, const uint8_t *in,
                     size_t in_len, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     CK_OBJECT_HANDLE *out)
{
    struct cmk_attrs attrs = {0};
    struct cmk_object *uk = NULL;
    struct cmk_secret val = {0};
    struct via_cache vc = {NULL, {0}, NULL};
    struct cmk_obj_note on;
    struct cmk_new_key nk;
    struct cmk_note note;
    CK_RV rv;

    cmk_note_init(&note, m);
    cmk_obj_note_init(&on);
    note.obj = &on;
    note.bytes_in = (long long)in_len;
    rv = cmk_object_get(s, unwrapping, CKR_UNWRAPPING_KEY_HANDLE_INVALID, &uk);
    cmk_object_new_key(s, CMK_ORIGIN_UNWRAP, &nk);
    if (rv == CKR_OK)
        rv = precheck_unwrap(uk, &nk, tmpl, n);
    if (rv == CKR_OK)
        rv = unwrap_with(s, uk, m, in, in_len, &val, &note, &vc);
    if (rv == CKR_OK) {
        nk.value = val.p;
        nk.value_len = val.len;
        nk.kctx = vc.kc;
        rv = cmk_policy_new_secret(&nk, tmpl, n, &attrs);
    }
    if (rv == CKR_OK) {
        cmk_obj_note_attrs(&on, &attrs);
        rv = cmk_object_publish(s, &attrs, out);
    }
    if (rv == CKR_OK)
        on.handle = *out;
    note.bytes_out = rv == CKR_OK ? (long long)val.len : -1;
    note.end = rv == CKR_OK ? CMK_END_FINAL : CMK_END_ERROR;
    if (!note.keyed) /* refused before the key was used */
        cmk_note_key(&note, uk);
    cmk_attrs_clear(&attrs);
    cmk_secret_free(&val);
    cmk_object_unref(uk);
    rv = keep_if_recorded(s, "C_UnwrapKey", &note, rv);
    if (rv == CKR_OK)
        share_ctx(s, *out, &vc);
    cmk_keyctx_unref(vc.kc);
    return rv;
}
