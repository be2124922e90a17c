/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a tenant's CMK versions (one provider instance each), the direct
 * path (seal/unseal into envelope blobs) and the cached tenant KEK.
 *
 * KEK cache: kek_lock (a cmk_mutex, a leaf) guards kek, kek_expiry_us,
 * kek_gen and filling, and is never held across a provider call or while
 * a caller uses the key. The cached KEK is an immutable reference-counted
 * object: a hit takes a reference under the lock and uses the key after
 * unlocking; a purge or a refill only drops the cache's reference, and
 * the key is wiped when its last user lets go. One caller at a time fills
 * (filling set): the others wait on kek_filled and then take its result,
 * or fill in turn when it failed. kek_gen is bumped by every purge so a
 * fill that raced with a purge (C_Logout, a refusal seen on another path)
 * does not publish its key afterwards.
 *
 * Every Decrypt answer is checked before it leaves this file (so before
 * the KEK cache or the DEK cache can keep it): its length must fit the
 * blob's purpose, and a KEK must match the tenant's commitment. A refused
 * answer is wiped and recorded, never kept.
 */
#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cmk-pkcs11.h"
#include "audit/audit.h"
#include "keys/cmk.h"
#include "keys/cmk_int.h"
#include "mech/dual_kek.h"
#include "keys/health.h"
#include "mech/envelope.h"
#include "mech/mech.h"
#include "util/clock.h"
#include "util/lock.h"
#include "util/log.h"

#define US_PER_S INT64_C(1000000)

typedef cmk_err (*kek_fn)(void *arg, const uint8_t *kek, size_t kek_len);

/* Never changes once made; freed (wiped) by its last kek_unref. */
struct kek {
    unsigned refs; /* atomic */
    struct cmk_secret key;
    /* Keyed contexts made from it on first use (cmk_cmk_kek_ctx), set
     * once by compare and swap, dropped with it. */
    struct cmk_keyctx *ctx[CMK_KEK_CTX__N];
};

static cmk_err open_prev(struct cmk_cmk *c);

static int64_t monotonic_us(void *arg)
{
    (void)arg;
    return cmk_clock_now_us(); /* the module clock, which tests can move */
}

/* One context per purpose, built once (keys/purpose.h). */
static cmk_err build_contexts(struct cmk_cmk *c)
{
    cmk_err err = CMK_OK;
    int p;

    for (p = 0; p < CMK_PURPOSE__COUNT && err == CMK_OK; p++)
        err = cmk_purpose_context(c->cfg, (enum cmk_purpose)p, &c->ctx[p],
                                  &c->n_ctx);
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

/* Dual control: the provider key, with its own provider settings. */
static cmk_err open_half(struct cmk_cmk *c)
{
    const struct cmk_kms_cfg *d = c->cfg->dual;
    const struct cmk_provider_ops *ops = cmk_provider_find(d->provider);

    if (ops == NULL)
        return CMK_E_CONFIG;
    return open_version(ops, d, d->key_ref, &c->half);
}

static void close_version(struct cmk_version *v)
{
    if (v->st == NULL)
        return;
    v->ops->fini(v->st);
    free(v->st);
}

static cmk_err init_locks(struct cmk_cmk *c)
{
    if (cmk_mutex_init(&c->kek_lock) != CKR_OK ||
        cmk_cond_init(&c->kek_filled) != CKR_OK)
        return CMK_E_NOMEM;
    return CMK_OK;
}

static struct kek *kek_ref(struct kek *k)
{
    __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
    return k;
}

static void kek_unref(struct kek *k)
{
    if (k == NULL || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < CMK_KEK_CTX__N; i++)
        cmk_keyctx_unref(k->ctx[i]); /* wiped now, or by its last op */
    cmk_secret_free(&k->key);        /* wipes */
    free(k);
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
    if (err == CMK_OK && cfg->dual != NULL)
        err = open_half(c);
    if (err == CMK_OK)
        err = cmk_health_new(cfg->label, c->v[0].ops, &c->health);
    if (err == CMK_OK)
        err = open_prev(c);
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
    for (i = 0; i < c->n_v; i++)
        close_version(&c->v[i]);
    free(c->v);
    close_version(&c->half);
    for (i = 0; i < CMK_PURPOSE__COUNT; i++)
        free(c->ctx[i]);
    kek_unref(c->kek);
    cmk_health_free(c->health);
    cmk_kek_prev_free(c->prev);
    cmk_cond_fini(&c->kek_filled);
    cmk_mutex_fini(&c->kek_lock);
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
    rq->open_with = NULL;
    rq->sealed_by[0] = '\0';
    rq->request_id[0] = '\0';
    rq->http_status = 0;
    rq->provider_code[0] = '\0';
    return CMK_OK;
}

/* The cached KEK goes; a caller still using it holds its own reference,
 * and the key is wiped when that caller lets go. */
static void purge(struct cmk_cmk *c)
{
    struct kek *old;

    cmk_mutex_lock(&c->kek_lock);
    old = c->kek;
    c->kek = NULL;
    c->kek_expiry_us = 0;
    c->kek_gen++;
    cmk_mutex_unlock(&c->kek_lock);
    kek_unref(old);
    cmk_kek_prev_purge(c->prev);
}

static cmk_err note(struct cmk_cmk *c, cmk_err err)
{
    if (cmk_err_is_key_refusal(err)) {
        purge(c);
        if (c->on_refusal != NULL)
            c->on_refusal(c->on_refusal_arg);
    }
    return err;
}

/* What the provider said, for the session's ulDeviceError (util/err.h). */
static void note_device(const struct cmk_version *v, const struct cmk_req *rq,
                        cmk_err err)
{
    unsigned n = 0;

    if (err != CMK_OK)
        n = v->ops->code_number != NULL ? v->ops->code_number(rq->provider_code)
                                        : CMK_DEV_OTHER;
    cmk_err_device_note((unsigned)v->ops->id, n);
}

/* After the call's record: what its answer says of the current CMK's
 * health (health.c). A failed record fails the call only when the audit
 * is required. */
static cmk_err answered(struct cmk_cmk *c, const struct cmk_version *v,
                        const struct cmk_req *rq, cmk_err err, cmk_err aerr)
{
    cmk_err herr = CMK_OK;

    if (v == c->v)
        herr = cmk_health_answer(c->health, rq, err);
    return err != CMK_OK ? err : aerr != CMK_OK ? aerr : herr;
}

/* One audit record per provider call: who, what, how it went, how long. */
static cmk_err record_why(struct cmk_cmk *c, const struct cmk_version *v,
                          const char *op, const struct cmk_req *rq,
                          int64_t start_us, cmk_err err, const char *why)
{
    struct cmk_audit_rec r;
    cmk_err aerr;

    note_device(v, rq, err);
    if (c->audit == NULL)
        return answered(c, v, rq, err, CMK_OK);
    cmk_audit_rec_init(&r);
    r.event = "kms_call";
    r.op = op;
    r.tenant = c->cfg->label;
    r.provider = v->ops->name;
    r.result = cmk_rv_name(cmk_err_rv(err));
    r.detail = err == CMK_OK || why != NULL ? why : cmk_err_name(err);
    r.request_id = rq->request_id[0] ? rq->request_id : NULL;
    r.http_status = rq->http_status ? rq->http_status : -1;
    r.provider_code = rq->provider_code[0] ? rq->provider_code : NULL;
    r.latency_us = monotonic_us(NULL) - start_us;
    aerr = cmk_audit_write(c->audit, &r);
    return answered(c, v, rq, err, aerr);
}

static cmk_err record(struct cmk_cmk *c, const struct cmk_version *v,
                      const char *op, const struct cmk_req *rq,
                      int64_t start_us, cmk_err err)
{
    return record_why(c, v, op, rq, start_us, err, NULL);
}

static cmk_err kek_usable(void *arg, const uint8_t *kek, size_t kek_len)
{
    (void)arg;
    (void)kek;
    (void)kek_len;
    return CMK_OK;
}

/* Dual control: the direct path works only while both halves unseal (a
 * KEK cache hit mostly), so either key's owner stops it within the TTL. */
static cmk_err gate(struct cmk_cmk *c, enum cmk_purpose p)
{
    if (c->half.st == NULL || p == CMK_PURPOSE_KEK ||
        p == CMK_PURPOSE_PROVIDER_KEK)
        return CMK_OK;
    return cmk_cmk_with_kek(c, kek_usable, NULL);
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
    char d[64];
    int64_t start;
    cmk_err err;

    if (c == NULL || blob == NULL || (in == NULL && in_len != 0))
        return CMK_E_ARGS;
    v = purpose == CMK_PURPOSE_PROVIDER_KEK ? &c->half : &c->v[0];
    if (v->st == NULL)
        return CMK_E_ARGS; /* no dual control */
    err = gate(c, purpose);
    if (err == CMK_OK)
        err = fill_req(c, v, purpose, rq);
    if (err == CMK_OK && v == &c->v[0]) /* the circuit breaker may fail it */
        err = cmk_health_enter(c->health);
    if (err != CMK_OK)
        return err;
    start = monotonic_us(NULL);
    err = note(c, v->ops->encrypt(v->st, rq, in, in_len, &ct));
    err = record_why(c, v, "Encrypt", rq, start, err,
                     cmk_purpose_detail(purpose, c->half.st != NULL, err, NULL,
                                        d, sizeof(d)));
    if (err != CMK_OK)
        goto out;
    if (ct.len == 0 || ct.len > CMK_ENVELOPE_MAX_CT) {
        err = CMK_E_BAD_RESPONSE; /* the KMS's answer, not our input */
        goto out;
    }
    /* The exact key that sealed, when the provider names it (an alias's
     * key of the moment): unseal asks for that key again. */
    err = cmk_envelope_encode_sealed((uint8_t)v->ops->id, v->key_id,
                                     rq->sealed_by, ct.p, ct.len, blob);
out:
    cmk_buf_free(&ct);
    return err;
}

static bool names(const char *s, const char *p, size_t len)
{
    return strlen(s) == len && memcmp(s, p, len) == 0;
}

/* The version whose key id the blob names; else, for a blob that names
 * the key that sealed it, the version configured with exactly that key
 * (a tenant that moved from an alias to key references). */
static const struct cmk_version *
find_version(const struct cmk_version *v, size_t n,
             const struct cmk_envelope_view *ev)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if ((unsigned)v[i].ops->id == ev->provider_id &&
            names(v[i].key_id, ev->key_id, ev->key_id_len))
            return &v[i];
    }
    for (i = 0; ev->sealed_by != NULL && i < n; i++) {
        if ((unsigned)v[i].ops->id == ev->provider_id &&
            names(v[i].key_ref, ev->sealed_by, ev->sealed_by_len))
            return &v[i];
    }
    return NULL;
}

cmk_err cmk_cmk_unseal(struct cmk_cmk *c, struct cmk_req *rq,
                       const uint8_t *blob, size_t blob_len,
                       struct cmk_secret *out)
{
    return cmk_cmk_unseal_for(c, rq, CMK_PURPOSE_KEY, blob, blob_len, out);
}

/* commit (NULL: none): the answer is a tenant KEK, checked against it. */
static cmk_err unseal(struct cmk_cmk *c, struct cmk_req *rq,
                      enum cmk_purpose purpose, const uint8_t *blob,
                      size_t blob_len, const uint8_t *commit,
                      struct cmk_secret *out)
{
    char sealed_by[CMK_ENVELOPE_MAX_SEALED_BY + 1], d[64];
    struct cmk_envelope_view ev;
    const struct cmk_version *v;
    const char *why = NULL;
    int64_t start;
    cmk_err err;

    if (c == NULL || out == NULL || rq == NULL)
        return CMK_E_ARGS;
    err = gate(c, purpose);
    if (err == CMK_OK)
        err = cmk_envelope_parse(blob, blob_len, &ev);
    if (err != CMK_OK)
        return err;
    v = purpose == CMK_PURPOSE_PROVIDER_KEK
            ? find_version(&c->half, c->half.st != NULL, &ev)
            : find_version(c->v, c->n_v, &ev);
    if (v == NULL) /* the blob's: CMK_E_KEY_NOT_FOUND is the KMS's */
        return CMK_E_BAD_BLOB;
    err = fill_req(c, v, purpose, rq);
    if (err == CMK_OK && v == c->v)
        err = cmk_health_enter(c->health);
    if (err != CMK_OK)
        return err;
    if (ev.sealed_by != NULL) {
        memcpy(sealed_by, ev.sealed_by, ev.sealed_by_len);
        sealed_by[ev.sealed_by_len] = '\0';
        rq->open_with = sealed_by; /* valid for this call only */
    }
    start = monotonic_us(NULL);
    err = note(c, v->ops->decrypt(v->st, rq, ev.ct, ev.ct_len, out));
    if (err == CMK_OK)
        err = cmk_cmk_check_answer(c->cfg->label, purpose, commit, out, &why);
    err = record_why(c, v, "Decrypt", rq, start, err,
                     cmk_purpose_detail(purpose, c->half.st != NULL, err, why,
                                        d, sizeof(d)));
    if (err == CMK_E_BAD_RESPONSE && why != NULL &&
        (purpose == CMK_PURPOSE_KEK || purpose == CMK_PURPOSE_PROVIDER_KEK))
        cmk_err_device_note((unsigned)v->ops->id, CMK_DEV_KEK_LENGTH);
    rq->open_with = NULL; /* sealed_by goes out of scope */
    if (err != CMK_OK)
        cmk_secret_free(out); /* nothing released without its record */
    return err;
}

cmk_err cmk_cmk_unseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                           enum cmk_purpose purpose, const uint8_t *blob,
                           size_t blob_len, struct cmk_secret *out)
{
    return unseal(c, rq, purpose, blob, blob_len, NULL, out);
}

/* Dual control (README, "Dual control"): the customer half cust through
 * the CMK, the provider half prov through the provider key, each recorded
 * with the key it used; the KEK derived from both must match commit (the
 * tenant's, or a previous KEK's own). Either refusal fails the whole KEK. */
static cmk_err dual_fetch(struct cmk_cmk *c, const uint8_t *cust,
                          size_t cust_len, const uint8_t *prov, size_t prov_len,
                          const uint8_t *commit, struct cmk_secret *kek)
{
    struct cmk_secret half[2] = {{0}, {0}};
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = unseal(c, &rq, CMK_PURPOSE_KEK, cust, cust_len, NULL, &half[0]);
    if (err == CMK_OK)
        err = unseal(c, &rq, CMK_PURPOSE_PROVIDER_KEK, prov, prov_len, NULL,
                     &half[1]);
    if (err == CMK_OK)
        err = cmk_dual_kek_derive(c->cfg->label, half[0].p, half[0].len,
                                  half[1].p, half[1].len, kek);
    if (err == CMK_OK)
        err = cmk_cmk_check_commitment(c->cfg->label, commit, kek);
    cmk_secret_free(&half[0]);
    cmk_secret_free(&half[1]);
    if (err != CMK_OK)
        cmk_secret_free(kek);
    return err;
}

/* The previous-KEK cache's io (cmk_int.h): an entry of a dual-control
 * tenant is a pair of halves, as the current KEK is. */
static cmk_err prev_unseal(void *arg, const struct cmk_prev_kek *e,
                           struct cmk_secret *out)
{
    struct cmk_cmk *c = arg;
    struct cmk_req rq;

    if (c->half.st != NULL)
        return dual_fetch(c, e->blob, e->blob_len, e->provider_blob,
                          e->provider_blob_len, e->commitment, out);
    memset(&rq, 0, sizeof(rq));
    return unseal(c, &rq, CMK_PURPOSE_KEK, e->blob, e->blob_len, e->commitment,
                  out);
}

static int64_t prev_now(void *arg)
{
    const struct cmk_cmk *c = arg;

    return c->now_us(c->now_arg);
}

static cmk_err open_prev(struct cmk_cmk *c)
{
    const struct cmk_kek_prev_io io = {prev_unseal, prev_now, c};

    return cmk_kek_prev_new(c->cfg, c->kek_ttl_s, &io, &c->prev);
}

/* Unwraps the configured KEK blob into a new object holding one
 * reference (the caller's); anything but 32 bytes is not a KEK, and a
 * KEK that fails the commitment is not the tenant's. */
static cmk_err kek_fetch(struct cmk_cmk *c, struct kek **out)
{
    struct kek *k = NULL;
    struct cmk_req rq;
    cmk_err err;

    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return CMK_E_NOMEM;
    k->refs = 1;
    memset(&rq, 0, sizeof(rq));
    if (c->half.st != NULL)
        err = dual_fetch(c, c->cfg->kek_blob, c->cfg->kek_blob_len,
                         c->cfg->dual->kek_blob, c->cfg->dual->kek_blob_len,
                         c->cfg->kek_commitment, &k->key);
    else
        err = unseal(c, &rq, CMK_PURPOSE_KEK, c->cfg->kek_blob,
                     c->cfg->kek_blob_len, c->cfg->kek_commitment, &k->key);
    if (err != CMK_OK) {
        kek_unref(k);
        return err;
    }
    *out = k;
    return CMK_OK;
}

/* A reference to the live KEK (live at now, read just before the lock:
 * the hold stays a few instructions long); or NULL with *fill set when
 * this caller must fill, after taking out an expired entry (*stale,
 * dropped by the caller once unlocked). Waits while another caller
 * fills. */
static struct kek *take_locked(struct cmk_cmk *c, int64_t now, bool *fill,
                               struct kek **stale)
{
    for (;;) {
        if (c->kek != NULL && now < c->kek_expiry_us)
            return kek_ref(c->kek);
        if (!c->filling)
            break;
        cmk_cond_wait(&c->kek_filled, &c->kek_lock);
        now = c->now_us(c->now_arg);
    }
    *stale = c->kek;
    c->kek = NULL;
    c->filling = true;
    *fill = true;
    return NULL;
}

/* Ends a fill: publishes k unless a purge came since it began (gen), and
 * wakes the waiters. Returns the entry the cache let go of. */
static struct kek *end_fill_locked(struct cmk_cmk *c, struct kek *k,
                                   uint64_t gen)
{
    struct kek *old = NULL;

    if (k != NULL && gen == c->kek_gen) {
        old = c->kek;
        c->kek = kek_ref(k);
        c->kek_expiry_us =
            c->now_us(c->now_arg) + (int64_t)c->kek_ttl_s * US_PER_S;
    }
    c->filling = false;
    cmk_cond_broadcast(&c->kek_filled);
    return old;
}

/* A reference to the cached KEK, unwrapping it first when there is none
 * live. Single flight: the provider call runs without the lock. */
static cmk_err kek_get(struct cmk_cmk *c, struct kek **out)
{
    int64_t now = c->now_us(c->now_arg);
    struct kek *k, *stale = NULL;
    bool fill = false;
    uint64_t gen;
    cmk_err err;

    cmk_mutex_lock_hot(&c->kek_lock);
    k = take_locked(c, now, &fill, &stale);
    gen = c->kek_gen;
    cmk_mutex_unlock(&c->kek_lock);
    kek_unref(stale);
    if (!fill) {
        *out = k;
        return CMK_OK;
    }
    err = kek_fetch(c, &k);
    cmk_mutex_lock(&c->kek_lock);
    stale = end_fill_locked(c, err == CMK_OK ? k : NULL, gen);
    cmk_mutex_unlock(&c->kek_lock);
    kek_unref(stale);
    if (err == CMK_OK)
        *out = k;
    return err;
}

/* A KEK without a commitment could be any 32 bytes the KMS answers:
 * refused before any KMS call (accepting it would be a downgrade), said
 * once per CMK so a busy process does not flood the log. */
static cmk_err uncommitted(struct cmk_cmk *c)
{
    if (!__atomic_exchange_n(&c->told_uncommitted, true, __ATOMIC_RELAXED))
        cmk_log_error("tenant \"%s\": its \"kek\" has no "
                      "\"kek_commitment\": the KEK path and token objects "
                      "are refused until `cmk-tool kek-commit --config FILE "
                      "--tenant %s --write` adds one (README, \"Key "
                      "commitment\")",
                      c->cfg->label, c->cfg->label);
    return CMK_E_KEK_COMMITMENT;
}

/* A reference to the tenant KEK: from the cache, or unwrapped (ttl 0:
 * unwrapped and never cached, so the caller's reference is the only one). */
static cmk_err kek_ref_for_use(struct cmk_cmk *c, struct kek **k)
{
    if (c->cfg->kek_blob == NULL || c->cfg->kek_blob_len == 0)
        return CMK_E_KEY_NOT_FOUND;
    if (!c->cfg->has_kek_commitment)
        return uncommitted(c);
    return c->kek_ttl_s != 0 ? kek_get(c, k) : kek_fetch(c, k);
}

cmk_err cmk_cmk_with_kek(struct cmk_cmk *c, kek_fn fn, void *arg)
{
    struct kek *k = NULL;
    cmk_err err;

    if (c == NULL || fn == NULL)
        return CMK_E_ARGS;
    err = kek_ref_for_use(c, &k);
    if (err == CMK_OK)
        err = fn(arg, k->key.p, k->key.len); /* no lock held */
    kek_unref(k);
    return err;
}

/* The context in k's slot, made now if it is not yet. */
static cmk_err kek_ctx_of(struct kek *k, enum cmk_kek_ctx slot,
                          cmk_kek_ctx_fn make, void *arg,
                          struct cmk_keyctx **out)
{
    struct cmk_keyctx *kc, *mine = NULL;
    cmk_err err;

    kc = __atomic_load_n(&k->ctx[slot], __ATOMIC_ACQUIRE);
    if (kc == NULL) {
        err = make(arg, k->key.p, k->key.len, &mine);
        if (err != CMK_OK || mine == NULL)
            return err;
        kc = NULL;
        if (__atomic_compare_exchange_n(&k->ctx[slot], &kc, mine, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            kc = mine; /* published: k holds this reference */
        else
            cmk_keyctx_unref(mine); /* another first use won: kc is it */
    }
    *out = cmk_keyctx_ref(kc); /* k, which we hold, keeps kc alive */
    return CMK_OK;
}

cmk_err cmk_cmk_kek_ctx(struct cmk_cmk *c, enum cmk_kek_ctx slot,
                        cmk_kek_ctx_fn make, void *arg, struct cmk_keyctx **out)
{
    struct kek *k = NULL;
    cmk_err err;

    if (c == NULL || make == NULL || out == NULL ||
        (unsigned)slot >= CMK_KEK_CTX__N)
        return CMK_E_ARGS;
    *out = NULL;
    err = kek_ref_for_use(c, &k);
    if (err == CMK_OK)
        err = kek_ctx_of(k, slot, make, arg, out); /* no lock held */
    kek_unref(k);
    return err;
}

cmk_err cmk_cmk_kek_live_until(struct cmk_cmk *c, int64_t *until)
{
    struct kek *k = NULL;
    cmk_err err;

    if (c == NULL || until == NULL)
        return CMK_E_ARGS;
    *until = 0;
    err = kek_ref_for_use(c, &k);
    if (err == CMK_OK && c->kek_ttl_s != 0) {
        cmk_mutex_lock_hot(&c->kek_lock);
        *until = c->kek == k ? c->kek_expiry_us : 0; /* 0: purged since */
        cmk_mutex_unlock(&c->kek_lock);
    }
    kek_unref(k);
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
    if (c != NULL && c->kek != NULL && c->kek->key.p != NULL)
        sodium_memzero(c->kek->key.p, c->kek->key.len);
    if (c != NULL)
        cmk_kek_prev_wipe_in_child(c->prev);
}

size_t cmk_cmk_kek_count(const struct cmk_cmk *c)
{
    return c != NULL ? 1 + c->cfg->n_previous_keks : 0;
}

cmk_err cmk_cmk_with_kek_at(struct cmk_cmk *c, size_t i, kek_fn fn, void *arg)
{
    if (i == 0)
        return cmk_cmk_with_kek(c, fn, arg);
    if (c == NULL || fn == NULL)
        return CMK_E_ARGS;
    return cmk_kek_prev_with(c->prev, i - 1, fn, arg);
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
    if (c == NULL)
        return;
    c->audit = a;
    cmk_health_set_audit(c->health, a);
}

struct cmk_health *cmk_cmk_health_of(struct cmk_cmk *c)
{
    return c != NULL ? c->health : NULL;
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
    size_t sb = (v->ops->caps & CMK_CAP_SEALED_BY) != 0
                    ? CMK_ENVELOPE_MAX_SEALED_BY
                    : 0;

    return cmk_envelope_size_sealed(strlen(v->key_id), sb, ct);
}

/* For the other files of this layer (cmk_int.h). */
cmk_err cmk_cmk_fill_req(const struct cmk_cmk *c, const struct cmk_version *v,
                         enum cmk_purpose purpose, struct cmk_req *rq)
{
    return fill_req(c, v, purpose, rq);
}

const struct cmk_version *
cmk_cmk_find_version(const struct cmk_cmk *c,
                     const struct cmk_envelope_view *ev)
{
    return find_version(c->v, c->n_v, ev);
}

cmk_err cmk_cmk_note_call(struct cmk_cmk *c, const struct cmk_version *v,
                          const char *op, const struct cmk_req *rq,
                          int64_t start_us, cmk_err err)
{
    return record(c, v, op, rq, start_us, note(c, err));
}

cmk_err cmk_cmk_note_call_why(struct cmk_cmk *c, const struct cmk_version *v,
                              const char *op, const struct cmk_req *rq,
                              int64_t start_us, cmk_err err, const char *why)
{
    return record_why(c, v, op, rq, start_us, note(c, err), why);
}

cmk_err cmk_cmk_note_refusal(struct cmk_cmk *c, cmk_err err)
{
    return note(c, err);
}
