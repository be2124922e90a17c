/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a tenant's CMK versions (one provider instance each), the direct
 * path (seal/unseal into envelope blobs) and the cached tenant KEK.
 *
 * KEK cache: kek_lock (rwlock, writer-preferring so a purge is not starved
 * by hits) guards kek, kek_expiry_us and kek_gen; hits run fn under the
 * read lock. fill_lock makes concurrent misses share one provider call;
 * it is taken before kek_lock, never after. kek_gen is bumped by every
 * purge so a fill that raced with a purge (C_Logout, a refusal seen on
 * another path) does not publish its key afterwards.
 */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit.h"
#include "keys/cmk.h"
#include "mech/envelope.h"
#include "util/clock.h"

#define KEK_LEN 32u
#define US_PER_S INT64_C(1000000)

typedef cmk_err (*kek_fn)(void *arg, const uint8_t *kek, size_t kek_len);

struct cmk_version {
    const struct cmk_provider_ops *ops;
    void *st;            /* ops->state_size bytes */
    const char *key_ref; /* borrowed from the config */
    char key_id[256];
};

struct cmk_cmk {
    const struct cmk_kms_cfg *cfg;
    struct cmk_version *v; /* v[0]: current; then previous, newest first */
    size_t n_v;
    /* One context per purpose; strings borrowed; built once at open. */
    struct cmk_ctx_pair *ctx[CMK_PURPOSE__COUNT];
    size_t n_ctx;
    char tenant_key[sizeof("tenant")];
    char purpose_key[sizeof(CMK_PURPOSE_KEY_NAME)];
    char purpose_val[CMK_PURPOSE__COUNT][8];
    unsigned kek_ttl_s;
    int64_t (*now_us)(void *arg);
    void *now_arg;
    pthread_rwlock_t kek_lock;
    pthread_mutex_t fill_lock;
    bool kek_lock_ready, fill_lock_ready;
    struct cmk_audit *audit; /* KMS-call records; NULL: none */
    void (*on_refusal)(void *arg);
    void *on_refusal_arg;
    struct cmk_secret kek; /* p == NULL: nothing cached */
    int64_t kek_expiry_us;
    uint64_t kek_gen;
};

static int64_t monotonic_us(void *arg)
{
    (void)arg;
    return cmk_clock_now_us(); /* the module clock, which tests can move */
}

static int pair_cmp(const void *a, const void *b)
{
    const struct cmk_ctx_pair *x = a, *y = b;
    int r = strcmp(x->key, y->key);

    return r != 0 ? r : strcmp(x->value, y->value);
}

static const char *const purpose_names[CMK_PURPOSE__COUNT] = {
    [CMK_PURPOSE_KEY] = "key",
    [CMK_PURPOSE_DATA] = "data",
    [CMK_PURPOSE_KEK] = "kek",
};

/* ("tenant", label) first, then the configured pairs sorted by key, then
 * (CMK_PURPOSE_KEY_NAME, purpose): the order every provider binds as AAD,
 * so it must never change. The purpose keeps blobs of one kind from
 * opening as another: the KEK blob in the config cannot be C_Decrypted,
 * nor a wrapped DEK read back as data. */
static cmk_err build_context(struct cmk_cmk *c, enum cmk_purpose p)
{
    const struct cmk_kms_cfg *cfg = c->cfg;
    struct cmk_ctx_pair *x;
    size_t i;

    x = calloc(cfg->n_context + 2, sizeof(*x));
    if (x == NULL)
        return CMK_E_NOMEM;
    c->ctx[p] = x;
    memcpy(c->tenant_key, "tenant", sizeof(c->tenant_key));
    x[0].key = c->tenant_key;
    x[0].value = cfg->label;
    for (i = 0; i < cfg->n_context; i++) {
        if (cfg->context[i].key == NULL || cfg->context[i].value == NULL ||
            strcmp(cfg->context[i].key, CMK_PURPOSE_KEY_NAME) == 0)
            return CMK_E_CONFIG;
        x[i + 1] = cfg->context[i];
    }
    qsort(x + 1, cfg->n_context, sizeof(*x), pair_cmp);
    memcpy(c->purpose_key, CMK_PURPOSE_KEY_NAME, sizeof(c->purpose_key));
    snprintf(c->purpose_val[p], sizeof(c->purpose_val[p]), "%s",
             purpose_names[p]);
    x[cfg->n_context + 1].key = c->purpose_key;
    x[cfg->n_context + 1].value = c->purpose_val[p];
    c->n_ctx = cfg->n_context + 2;
    return CMK_OK;
}

static cmk_err build_contexts(struct cmk_cmk *c)
{
    cmk_err err = CMK_OK;
    int p;

    for (p = 0; p < CMK_PURPOSE__COUNT && err == CMK_OK; p++)
        err = build_context(c, (enum cmk_purpose)p);
    return err;
}

/* On failure the version holds nothing: init cleans up after itself. */
static cmk_err open_version(const struct cmk_provider_ops *ops,
                            const struct cmk_kms_cfg *cfg, const char *ref,
                            struct cmk_version *v)
{
    cmk_err err;

    if (ref == NULL)
        return CMK_E_CONFIG;
    v->ops = ops;
    v->key_ref = ref;
    v->st = calloc(1, ops->state_size ? ops->state_size : 1);
    if (v->st == NULL)
        return CMK_E_NOMEM;
    err = ops->init(v->st, cfg, ref);
    if (err != CMK_OK)
        goto out;
    err = ops->key_id(v->st, v->key_id);
    if (err == CMK_OK && v->key_id[0] == '\0')
        err = CMK_E_INTERNAL;
    if (err != CMK_OK)
        ops->fini(v->st);
out:
    if (err != CMK_OK) {
        free(v->st);
        v->st = NULL;
    }
    return err;
}

static cmk_err open_versions(struct cmk_cmk *c)
{
    const struct cmk_kms_cfg *cfg = c->cfg;
    const struct cmk_provider_ops *ops = cmk_provider_find(cfg->provider);
    size_t i;
    cmk_err err;

    if (ops == NULL)
        return CMK_E_CONFIG;
    c->v = calloc(cfg->n_previous + 1, sizeof(*c->v));
    if (c->v == NULL)
        return CMK_E_NOMEM;
    for (i = 0; i <= cfg->n_previous; i++) {
        err = open_version(
            ops, cfg, i == 0 ? cfg->key_ref : cfg->previous_key_refs[i - 1],
            &c->v[i]);
        if (err != CMK_OK)
            return err;
        c->n_v = i + 1;
    }
    return CMK_OK;
}

static cmk_err init_locks(struct cmk_cmk *c)
{
    pthread_rwlockattr_t ra;
    pthread_mutexattr_t ma;
    int rc;

    if (pthread_rwlockattr_init(&ra) != 0)
        return CMK_E_NOMEM;
    pthread_rwlockattr_setkind_np(&ra,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&c->kek_lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    if (rc != 0)
        return CMK_E_NOMEM;
    c->kek_lock_ready = true;
    if (pthread_mutexattr_init(&ma) != 0)
        return CMK_E_NOMEM;
#ifdef CMK_DEBUG
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
#endif
    rc = pthread_mutex_init(&c->fill_lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc != 0)
        return CMK_E_NOMEM;
    c->fill_lock_ready = true;
    return CMK_OK;
}

cmk_err cmk_cmk_open(const struct cmk_kms_cfg *cfg, unsigned kek_ttl_s,
                     struct cmk_cmk **out)
{
    struct cmk_cmk *c = NULL;
    cmk_err err;

    if (cfg == NULL || out == NULL || cfg->label == NULL ||
        (cfg->n_previous != 0 && cfg->previous_key_refs == NULL) ||
        (cfg->n_context != 0 && cfg->context == NULL))
        return CMK_E_ARGS;
    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return CMK_E_NOMEM;
    c->cfg = cfg;
    c->kek_ttl_s = kek_ttl_s;
    c->now_us = monotonic_us;
    err = init_locks(c);
    if (err == CMK_OK)
        err = build_contexts(c);
    if (err == CMK_OK)
        err = open_versions(c);
    if (err != CMK_OK)
        goto out;
    *out = c;
    c = NULL; /* caller owns it */
out:
    cmk_cmk_close(c);
    return err;
}

void cmk_cmk_close(struct cmk_cmk *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n_v; i++) {
        c->v[i].ops->fini(c->v[i].st);
        free(c->v[i].st);
    }
    free(c->v);
    for (i = 0; i < CMK_PURPOSE__COUNT; i++)
        free(c->ctx[i]);
    cmk_secret_free(&c->kek);
    if (c->kek_lock_ready)
        pthread_rwlock_destroy(&c->kek_lock);
    if (c->fill_lock_ready)
        pthread_mutex_destroy(&c->fill_lock);
    free(c);
}

static cmk_err fill_req(const struct cmk_cmk *c, const struct cmk_version *v,
                        enum cmk_purpose purpose, struct cmk_req *rq)
{
    if (rq == NULL || (unsigned)purpose >= CMK_PURPOSE__COUNT)
        return CMK_E_ARGS;
    rq->tenant = c->cfg;
    rq->key_ref = v->key_ref;
    rq->ctx = c->ctx[purpose];
    rq->n_ctx = c->n_ctx;
    rq->request_id[0] = '\0';
    rq->http_status = 0;
    rq->provider_code[0] = '\0';
    return CMK_OK;
}

/* The KMS said no to the key itself: revocation must take effect now. */
static bool is_refusal(cmk_err err)
{
    return err == CMK_E_KEY_DISABLED || err == CMK_E_ACCESS_DENIED;
}

static void purge(struct cmk_cmk *c)
{
    pthread_rwlock_wrlock(&c->kek_lock);
    cmk_secret_free(&c->kek);
    c->kek_expiry_us = 0;
    c->kek_gen++;
    pthread_rwlock_unlock(&c->kek_lock);
}

static cmk_err note(struct cmk_cmk *c, cmk_err err)
{
    if (is_refusal(err)) {
        purge(c);
        if (c->on_refusal != NULL)
            c->on_refusal(c->on_refusal_arg);
    }
    return err;
}

/* One audit record per provider call: who, what, how it went, how long.
 * A failed record fails the call only when the audit is required. */
static cmk_err record(struct cmk_cmk *c, const struct cmk_version *v,
                      const char *op, const struct cmk_req *rq,
                      int64_t start_us, cmk_err err)
{
    struct cmk_audit_rec r;
    cmk_err aerr;

    if (c->audit == NULL)
        return err;
    cmk_audit_rec_init(&r);
    r.event = "kms_call";
    r.op = op;
    r.tenant = c->cfg->label;
    r.provider = v->ops->name;
    r.result = cmk_rv_name(cmk_err_rv(err));
    r.detail = err == CMK_OK ? NULL : cmk_err_name(err);
    r.request_id = rq->request_id[0] ? rq->request_id : NULL;
    r.http_status = rq->http_status ? rq->http_status : -1;
    r.provider_code = rq->provider_code[0] ? rq->provider_code : NULL;
    r.latency_us = monotonic_us(NULL) - start_us;
    aerr = cmk_audit_write(c->audit, &r);
    return err != CMK_OK ? err : aerr;
}

cmk_err cmk_cmk_seal(struct cmk_cmk *c, struct cmk_req *rq, const uint8_t *in,
                     size_t in_len, struct cmk_buf *blob)
{
    return cmk_cmk_seal_for(c, rq, CMK_PURPOSE_KEY, in, in_len, blob);
}

cmk_err cmk_cmk_seal_for(struct cmk_cmk *c, struct cmk_req *rq,
                         enum cmk_purpose purpose, const uint8_t *in,
                         size_t in_len, struct cmk_buf *blob)
{
    const struct cmk_version *v;
    struct cmk_buf ct = {0};
    int64_t start;
    cmk_err err;

    if (c == NULL || blob == NULL || (in == NULL && in_len != 0))
        return CMK_E_ARGS;
    v = &c->v[0];
    err = fill_req(c, v, purpose, rq);
    if (err != CMK_OK)
        return err;
    start = monotonic_us(NULL);
    err = note(c, v->ops->encrypt(v->st, rq, in, in_len, &ct));
    err = record(c, v, "Encrypt", rq, start, err);
    if (err != CMK_OK)
        goto out;
    if (ct.len == 0 || ct.len > CMK_ENVELOPE_MAX_CT) {
        err = ct.len == 0 ? CMK_E_BAD_RESPONSE : CMK_E_TOO_LARGE;
        goto out;
    }
    err =
        cmk_envelope_encode((uint8_t)v->ops->id, v->key_id, ct.p, ct.len, blob);
out:
    cmk_buf_free(&ct);
    return err;
}

static const struct cmk_version *
find_version(const struct cmk_cmk *c, const struct cmk_envelope_view *ev)
{
    size_t i;

    for (i = 0; i < c->n_v; i++) {
        const struct cmk_version *v = &c->v[i];

        if ((unsigned)v->ops->id == ev->provider_id &&
            strlen(v->key_id) == ev->key_id_len &&
            memcmp(v->key_id, ev->key_id, ev->key_id_len) == 0)
            return v;
    }
    return NULL;
}

cmk_err cmk_cmk_unseal(struct cmk_cmk *c, struct cmk_req *rq,
                       const uint8_t *blob, size_t blob_len,
                       struct cmk_secret *out)
{
    return cmk_cmk_unseal_for(c, rq, CMK_PURPOSE_KEY, blob, blob_len, out);
}

cmk_err cmk_cmk_unseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose, const uint8_t *blob,
                           size_t blob_len, struct cmk_secret *out)
{
    struct cmk_envelope_view ev;
    const struct cmk_version *v;
    int64_t start;
    cmk_err err;

    if (c == NULL || out == NULL || rq == NULL)
        return CMK_E_ARGS;
    err = cmk_envelope_parse(blob, blob_len, &ev);
    if (err != CMK_OK)
        return err;
    v = find_version(c, &ev);
    if (v == NULL)
        return CMK_E_KEY_NOT_FOUND;
    err = fill_req(c, v, purpose, rq);
    if (err != CMK_OK)
        return err;
    start = monotonic_us(NULL);
    err = note(c, v->ops->decrypt(v->st, rq, ev.ct, ev.ct_len, out));
    err = record(c, v, "Decrypt", rq, start, err);
    if (err != CMK_OK)
        cmk_secret_free(out); /* nothing released without its record */
    return err;
}

/* Unwraps the configured KEK blob; anything but 32 bytes is not a KEK. */
static cmk_err kek_unseal(struct cmk_cmk *c, struct cmk_secret *out)
{
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal_for(c, &rq, CMK_PURPOSE_KEK, c->cfg->kek_blob,
                             c->cfg->kek_blob_len, out);
    if (err == CMK_OK && out->len != KEK_LEN) {
        cmk_secret_free(out);
        err = CMK_E_BAD_BLOB;
    }
    return err;
}

/* Runs fn under the read lock when a live KEK is cached. */
static bool try_hit(struct cmk_cmk *c, kek_fn fn, void *arg, cmk_err *err)
{
    bool hit;

    pthread_rwlock_rdlock(&c->kek_lock);
    hit = c->kek.p != NULL && c->now_us(c->now_arg) < c->kek_expiry_us;
    if (hit)
        *err = fn(arg, c->kek.p, c->kek.len);
    pthread_rwlock_unlock(&c->kek_lock);
    return hit;
}

/* Wipes an expired entry before the refill and returns the generation the
 * fill must still match when it publishes. */
static uint64_t begin_fill(struct cmk_cmk *c)
{
    uint64_t gen;

    pthread_rwlock_wrlock(&c->kek_lock);
    cmk_secret_free(&c->kek);
    gen = c->kek_gen;
    pthread_rwlock_unlock(&c->kek_lock);
    return gen;
}

static void publish(struct cmk_cmk *c, struct cmk_secret *kek, uint64_t gen)
{
    pthread_rwlock_wrlock(&c->kek_lock);
    if (gen == c->kek_gen) {
        cmk_secret_free(&c->kek);
        c->kek = *kek;
        kek->p = NULL; /* the cache owns it */
        kek->len = 0;
        c->kek_expiry_us =
            c->now_us(c->now_arg) + (int64_t)c->kek_ttl_s * US_PER_S;
    }
    pthread_rwlock_unlock(&c->kek_lock);
}

/* Single flight: whoever holds fill_lock makes the provider call; the
 * others wait for it and then find the fresh entry. */
static cmk_err kek_miss(struct cmk_cmk *c, kek_fn fn, void *arg)
{
    struct cmk_secret kek = {0};
    uint64_t gen;
    cmk_err err = CMK_OK;

    pthread_mutex_lock(&c->fill_lock);
    if (try_hit(c, fn, arg, &err))
        goto out;
    gen = begin_fill(c);
    err = kek_unseal(c, &kek);
    if (err != CMK_OK)
        goto out;
    err = fn(arg, kek.p, kek.len);
    publish(c, &kek, gen);
out:
    pthread_mutex_unlock(&c->fill_lock);
    cmk_secret_free(&kek);
    return err;
}

cmk_err cmk_cmk_with_kek(struct cmk_cmk *c, kek_fn fn, void *arg)
{
    struct cmk_secret kek = {0};
    cmk_err err = CMK_OK;

    if (c == NULL || fn == NULL)
        return CMK_E_ARGS;
    if (c->cfg->kek_blob == NULL || c->cfg->kek_blob_len == 0)
        return CMK_E_KEY_NOT_FOUND;
    if (c->kek_ttl_s != 0) {
        if (try_hit(c, fn, arg, &err))
            return err;
        return kek_miss(c, fn, arg);
    }
    err = kek_unseal(c, &kek);
    if (err == CMK_OK)
        err = fn(arg, kek.p, kek.len);
    cmk_secret_free(&kek);
    return err;
}

void cmk_cmk_forget(struct cmk_cmk *c)
{
    if (c != NULL)
        purge(c);
}

void cmk_cmk_forget_in_child(struct cmk_cmk *c)
{
    /* No lock: a thread of the parent may have held it at fork() and is
     * gone. The pool already gave the child zeroed pages; this is for a
     * KEK that lives elsewhere. */
    if (c != NULL && c->kek.p != NULL)
        sodium_memzero(c->kek.p, c->kek.len);
}

cmk_err cmk_cmk_health(struct cmk_cmk *c, struct cmk_req *rq)
{
    const struct cmk_version *v;
    int64_t start;
    cmk_err err;

    if (c == NULL)
        return CMK_E_ARGS;
    v = &c->v[0];
    err = fill_req(c, v, CMK_PURPOSE_KEY, rq);
    if (err != CMK_OK || v->ops->health == NULL)
        return err;
    start = monotonic_us(NULL);
    err = note(c, v->ops->health(v->st, rq));
    return record(c, v, "Health", rq, start, err);
}

const char *cmk_cmk_provider_name(const struct cmk_cmk *c)
{
    return c != NULL ? c->v[0].ops->name : NULL;
}

void cmk_cmk_set_clock(struct cmk_cmk *c, int64_t (*now_us)(void *arg),
                       void *arg)
{
    if (c == NULL)
        return;
    c->now_us = now_us != NULL ? now_us : monotonic_us;
    c->now_arg = now_us != NULL ? arg : NULL;
}

void cmk_cmk_set_audit(struct cmk_cmk *c, struct cmk_audit *a)
{
    if (c != NULL)
        c->audit = a;
}

void cmk_cmk_on_refusal(struct cmk_cmk *c, void (*fn)(void *arg), void *arg)
{
    if (c == NULL)
        return;
    c->on_refusal = fn;
    c->on_refusal_arg = arg;
}

size_t cmk_cmk_seal_bound(const struct cmk_cmk *c, size_t in_len)
{
    const struct cmk_version *v = &c->v[0];
    size_t ct = v->ops->ct_bound != NULL ? v->ops->ct_bound(in_len)
                                         : CMK_ENVELOPE_MAX_CT;

    return cmk_envelope_size(strlen(v->key_id), ct);
}
