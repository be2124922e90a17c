/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: key checks and keyed operations for encrypt, decrypt, wrap and
 * unwrap. Each key's keyed context (mech.h) is made on its first use and
 * kept with the object (the CMK's with its cached KEK, keys/cmk.h); every
 * operation holds a reference to it, so destroying the object later does
 * not disturb an active operation.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "core/keyrules.h"
#include "core/keyuse.h"
#include "core/policy.h"
#include "core/token.h"
#include "util/log.h"

bool cmk_keyuse_is_envelope(const CK_MECHANISM *m)
{
    return m->mechanism == CKM_CMK_ENVELOPE;
}

static bool is_kek_path(CK_MECHANISM_TYPE t)
{
    return t == CKM_AES_KEY_WRAP || t == CKM_AES_KEY_WRAP_PAD ||
           t == CKM_AES_KEY_WRAP_KWP || t == CKM_AES_GCM;
}

static CK_RV check_allowed(const struct cmk_attrs *a, CK_MECHANISM_TYPE t)
{
    const struct cmk_attr *am = cmk_attrs_get(a, CKA_ALLOWED_MECHANISMS);
    CK_MECHANISM_TYPE one;
    size_t i;

    if (am == NULL || am->len == 0)
        return CKR_OK;
    for (i = 0; i + sizeof(one) <= am->len; i += sizeof(one)) {
        memcpy(&one, am->val + i, sizeof(one));
        if (one == t)
            return CKR_OK;
    }
    return CKR_MECHANISM_INVALID;
}

/* Checks that need the token lock (attributes may change). */
static CK_RV check_key(struct cmk_object *o, const CK_MECHANISM *m,
                       CK_ATTRIBUTE_TYPE usage)
{
    const struct cmk_attrs *a = &o->attrs;
    CK_RV rv;

    if (cmk_attrs_ulong(a, CKA_CLASS, CKO_DATA) != CKO_SECRET_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    rv = cmk_policy_allows(a, usage);
    if (rv == CKR_OK)
        rv = check_allowed(a, m->mechanism);
    if (rv != CKR_OK)
        return rv;
    if (o->is_cmk)
        return cmk_keyuse_is_envelope(m) || is_kek_path(m->mechanism)
                   ? CKR_OK
                   : CKR_MECHANISM_INVALID;
    /* A key of both role families made before the policy (keyrules.h). */
    if (!o->token->cfg->mixed_roles && cmk_keyrules_mixed(a))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    return cmk_keyuse_is_envelope(m) ? CKR_KEY_TYPE_INCONSISTENT : CKR_OK;
}

/* A DEK's value and type, copied under the token lock so that its keyed
 * context is built after it is released. */
struct dek_copy {
    uint8_t key[64];
    size_t len;
    CK_KEY_TYPE kt;
};

static CK_RV copy_dek(const struct cmk_object *o, struct dek_copy *d)
{
    const struct cmk_attr *v = cmk_attrs_get(&o->attrs, CKA_VALUE);

    d->kt =
        cmk_attrs_ulong(&o->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    if (v == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (v->len > sizeof(d->key))
        return CKR_KEY_SIZE_RANGE;
    memcpy(d->key, v->val, v->len);
    d->len = v->len;
    return CKR_OK;
}

/* Whether kc was made from the value o has now. The value cannot change
 * (CKA_VALUE is not modifiable), but a token object's attributes may be
 * swapped in from the store: never use a schedule of another key. */
static bool kctx_fits_locked(const struct cmk_object *o,
                             const struct cmk_keyctx *kc)
{
    const struct cmk_attr *v;
    CK_KEY_TYPE kt;

    if (kc == NULL)
        return false;
    v = cmk_attrs_get(&o->attrs, CKA_VALUE);
    kt = cmk_attrs_ulong(&o->attrs, CKA_KEY_TYPE, CK_UNAVAILABLE_INFORMATION);
    return v != NULL && cmk_keyctx_matches(kc, kt, v->val, v->len);
}

/* A reference to o's keyed context when it has a current one; a stale
 * one is dropped (its ops keep their references). */
static struct cmk_keyctx *kctx_get_locked(struct cmk_object *o,
                                          struct cmk_keyctx **stale)
{
    if (o->kctx == NULL)
        return NULL;
    if (kctx_fits_locked(o, o->kctx))
        return cmk_keyctx_ref(o->kctx);
    *stale = o->kctx;
    o->kctx = NULL;
    return NULL;
}

/* o keeps kc unless it has a context that fits already, or kc does not
 * fit; returns a new reference to the context o has then, or NULL. A
 * replaced stale one goes to *drop, to be let go after the lock. */
static struct cmk_keyctx *adopt_locked(struct cmk_object *o,
                                       struct cmk_keyctx *kc,
                                       struct cmk_keyctx **drop)
{
    if (!kctx_fits_locked(o, o->kctx)) {
        if (!kctx_fits_locked(o, kc))
            return NULL;
        *drop = o->kctx;
        o->kctx = cmk_keyctx_ref(kc);
    }
    return cmk_keyctx_ref(o->kctx);
}

static struct cmk_keyctx *adopt(struct cmk_object *o, struct cmk_keyctx *kc)
{
    struct cmk_keyctx *got, *drop = NULL;

    cmk_mutex_lock_hot(&o->token->lock);
    got = adopt_locked(o, kc, &drop);
    cmk_mutex_unlock(&o->token->lock);
    cmk_keyctx_unref(drop);
    return got;
}

/* First use of a DEK: builds its context from the copy without the lock,
 * then publishes it unless another first use did meanwhile (that one is
 * kept and ours wiped) or the value changed (ours then serves this op
 * only). The mechanism is checked first: a refused key costs nothing. */
static CK_RV kctx_make(struct cmk_object *o, const CK_MECHANISM *m,
                       const struct dek_copy *d, struct cmk_keyctx **out)
{
    struct cmk_keyctx *kc = NULL, *got;
    CK_RV rv;

    rv = cmk_op_check(m, d->kt, d->len);
    if (rv == CKR_OK)
        rv = cmk_keyctx_new(d->kt, d->key, d->len, &kc);
    if (rv != CKR_OK)
        return rv;
    got = adopt(o, kc);
    if (got != NULL) {
        cmk_keyctx_unref(kc);
        kc = got;
    }
    *out = kc;
    return CKR_OK;
}

void cmk_keyuse_share(struct cmk_object *o, struct cmk_keyctx *kc)
{
    if (o != NULL && !o->is_cmk && kc != NULL)
        cmk_keyctx_unref(adopt(o, kc));
}

void cmk_keyuse_mark_cached(struct cmk_object *o,
                            const uint8_t digest[CMK_CACHE_DIGEST])
{
    cmk_mutex_lock_hot(&o->token->lock);
    memcpy(o->cache_digest, digest, CMK_CACHE_DIGEST);
    __atomic_store_n(&o->cache_pending, true, __ATOMIC_RELEASE);
    cmk_mutex_unlock(&o->token->lock);
}

void cmk_keyuse_offer(struct cmk_object *o, struct cmk_cache *cache)
{
    uint8_t digest[CMK_CACHE_DIGEST];
    struct cmk_keyctx *kc = NULL;

    if (!__atomic_load_n(&o->cache_pending, __ATOMIC_ACQUIRE))
        return; /* the usual case: one load, no lock */
    cmk_mutex_lock_hot(&o->token->lock);
    if (o->kctx != NULL &&
        __atomic_exchange_n(&o->cache_pending, false, __ATOMIC_ACQ_REL)) {
        memcpy(digest, o->cache_digest, sizeof(digest));
        kc = cmk_keyctx_ref(o->kctx);
    }
    cmk_mutex_unlock(&o->token->lock);
    if (kc != NULL) /* the entry checks that kc is of its value */
        cmk_cache_keep_ctx(cache, digest, kc);
    cmk_keyctx_unref(kc);
}

struct kek_op_ctx {
    bool data; /* C_Encrypt/C_Decrypt: the data key, not the KEK */
    CK_RV rv;
};

/* The CMK's data key: HKDF-SHA256(IKM KEK, no salt, this info), 32
 * bytes, computed in the secure pool (mech/kdf.c). */
#define DATA_KEY_INFO "cmk-pkcs11 cmk data key v1"

/* Builds the KEK's context for its slot (keys/cmk.h): the KEK itself
 * for wrapping, the data key derived from it for C_Encrypt/C_Decrypt. */
static cmk_err make_kek_ctx(void *arg, const uint8_t *kek, size_t kek_len,
                            struct cmk_keyctx **out)
{
    struct kek_op_ctx *c = arg;
    struct cmk_secret dk = {0};

    if (!c->data) {
        c->rv = cmk_keyctx_new(CKK_AES, kek, kek_len, out);
        return CMK_OK;
    }
    /* The CMK's wrap and data roles never share a key: what it wraps
     * under the KEK cannot be C_Decrypted by it (DESIGN.md). */
    c->rv =
        cmk_hkdf_sha256(NULL, 0, kek, kek_len, (const uint8_t *)DATA_KEY_INFO,
                        sizeof(DATA_KEY_INFO) - 1, 32, &dk);
    if (c->rv == CKR_OK)
        c->rv = cmk_keyctx_new(CKK_AES, dk.p, dk.len, out);
    cmk_secret_free(&dk);
    return CMK_OK;
}

static enum cmk_err_call call_of(CK_ATTRIBUTE_TYPE usage)
{
    if (usage == CKA_WRAP)
        return CMK_CALL_WRAP;
    return usage == CKA_UNWRAP ? CMK_CALL_UNWRAP : CMK_CALL_INIT;
}

/* Why the KEK could not be had, as call may say it. The KEK is the
 * token's own: its sealed copy refused, or a KMS answer that is no KEK,
 * is a device problem, never the caller's data; the CMK refused or gone
 * answers as for the direct path (util/err.c). */
static CK_RV kek_rv(cmk_err err, CK_ATTRIBUTE_TYPE usage)
{
    if (err == CMK_E_BAD_BLOB || err == CMK_E_BAD_CIPHERTEXT ||
        err == CMK_E_TOO_LARGE || err == CMK_E_BAD_RESPONSE)
        return CKR_DEVICE_ERROR;
    return cmk_err_rv_in(err, call_of(usage));
}

static CK_RV kek_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt, struct cmk_op **out)
{
    struct kek_op_ctx c = {usage == CKA_ENCRYPT || usage == CKA_DECRYPT,
                           CKR_OK};
    struct cmk_keyctx *kc = NULL;
    CK_RV rv;
    cmk_err err;

    /* Not provisioned: the CMK can do the direct path only. C_WrapKey and
     * C_UnwrapKey cannot say CKR_KEY_FUNCTION_NOT_PERMITTED (PKCS#11 3.0
     * section 5.14): for them the mechanism is not one this CMK has. */
    if (o->token->cfg->kms.kek_blob_len == 0) {
        cmk_log_debug("tenant %s has no KEK (cmk-tool provision): KEK-path "
                      "mechanisms refused",
                      o->token->cfg->kms.label);
        return call_of(usage) == CMK_CALL_INIT ? CKR_KEY_FUNCTION_NOT_PERMITTED
                                               : CKR_MECHANISM_INVALID;
    }
    /* Built once per cached KEK and wiped with it (a purge, the TTL). */
    err = cmk_cmk_kek_ctx(o->token->cmk,
                          c.data ? CMK_KEK_CTX_DATA : CMK_KEK_CTX_WRAP,
                          make_kek_ctx, &c, &kc);
    if (err != CMK_OK)
        return kek_rv(err, usage);
    rv = c.rv;
    if (rv == CKR_OK && kc == NULL)
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = cmk_op_new_keyed(m, kc, encrypt, out);
    cmk_keyctx_unref(kc);
    return rv;
}

CK_RV cmk_keyuse_op(struct cmk_object *o, const CK_MECHANISM *m,
                    CK_ATTRIBUTE_TYPE usage, bool encrypt,
                    struct cmk_note *note, struct cmk_op **out)
{
    struct cmk_token *t = o->token;
    struct dek_copy d = {.len = 0};
    struct cmk_keyctx *kc = NULL, *stale = NULL;
    CK_MECHANISM_INFO info;
    CK_RV rv;

    *out = NULL;
    if (cmk_mech_info(m->mechanism, &info) != CKR_OK)
        return CKR_MECHANISM_INVALID;
    /* One short hold of the token lock per operation: checks, audit
     * fields and a reference to the key's context (or, on its first use,
     * the key copy it is built from outside the lock). */
    cmk_mutex_lock_hot(&t->lock);
    if (note != NULL)
        cmk_note_key_locked(note, o);
    rv = check_key(o, m, usage);
    if (rv == CKR_OK && !o->is_cmk) {
        kc = kctx_get_locked(o, &stale);
        if (kc == NULL)
            rv = copy_dek(o, &d);
    }
    cmk_mutex_unlock(&t->lock);
    cmk_keyctx_unref(stale);
    if (rv == CKR_OK && !o->is_cmk && kc == NULL)
        rv = kctx_make(o, m, &d, &kc);
    sodium_memzero(&d, sizeof(d));
    if (rv == CKR_OK && !o->is_cmk)
        rv = cmk_op_new_keyed(m, kc, encrypt, out);
    cmk_keyctx_unref(kc); /* the op holds its own reference */
    if (rv != CKR_OK || !o->is_cmk || cmk_keyuse_is_envelope(m))
        return rv;
    return kek_op(o, m, usage, encrypt, out); /* KMS call without locks */
}

/* ---- KEK-path unwrap in a data-key rotation's overlap window ---- */

struct prev_ctx {
    const CK_MECHANISM *m;
    const uint8_t *in;
    size_t in_len;
    struct cmk_secret *val;
    CK_RV rv;
};

static cmk_err unwrap_prev(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct prev_ctx *c = arg;
    struct cmk_op *op = NULL;
    size_t n = c->val->len;

    c->rv = cmk_op_new(c->m, CKK_AES, kek, kek_len, false, &op);
    if (c->rv == CKR_OK)
        c->rv = cmk_op_oneshot(op, c->in, c->in_len, c->val->p, &n);
    cmk_op_free(op);
    if (c->rv == CKR_OK)
        c->val->len = n;
    return CMK_OK;
}

CK_RV cmk_keyuse_unwrap_prev(struct cmk_object *o, const CK_MECHANISM *m,
                             const uint8_t *in, size_t in_len,
                             struct cmk_secret *val)
{
    struct prev_ctx c = {m, in, in_len, val, CKR_ENCRYPTED_DATA_INVALID};
    size_t i, cap = val->len, count = cmk_cmk_kek_count(o->token->cmk);
    CK_RV first = CKR_OK;
    cmk_err err;

    for (i = 1; i < count; i++) {
        val->len = cap;
        err = cmk_cmk_with_kek_at(o->token->cmk, i, unwrap_prev, &c);
        if (err == CMK_OK && c.rv == CKR_OK)
            return CKR_OK;
        /* Expired (or past the end): not tried. A KEK in its window that
         * cannot be had (refused, wrong commitment) is the answer unless
         * another one opens the blob. */
        if (err != CMK_OK && err != CMK_E_KEY_NOT_FOUND && first == CKR_OK)
            first = kek_rv(err, CKA_UNWRAP);
    }
    val->len = cap;
    return first != CKR_OK ? first : CKR_ENCRYPTED_DATA_INVALID;
}
