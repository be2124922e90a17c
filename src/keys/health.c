/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: a tenant's CMK health from the KMS answers about its current
 * key, the cmk_health_changed record of each change, and the circuit
 * breaker in front of the KMS calls (README, "Health").
 *
 * The breaker: while the reason is one that does not go away within a
 * call (cmk_health_is_breaker_reason) and the provider is remote, calls
 * fail fast until retry_at_us on the module clock; the first caller at
 * or after it claims the probe by moving retry_at_us one wait on (a
 * compare-and-swap), so one call per wait reaches the KMS. A failed
 * probe doubles the wait (probe_min_ms up to probe_max_ms); a healthy
 * answer resets it.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cmk-pkcs11.h"
#include "audit/audit.h"
#include "keys/health.h"
#include "util/clock.h"

#define US_PER_MS INT64_C(1000)

struct cmk_health {
    const char *tenant;
    const char *kind, *name; /* what it is about, when not the CMK */
    const struct cmk_provider_ops *ops;
    struct cmk_audit *audit;
    bool breaker; /* opts.breaker and a remote provider */
    int64_t min_us, max_us;
    /* Atomics: */
    unsigned long reason;
    int64_t checked_s;
    int64_t retry_at_us; /* module clock: the next probe may go then */
    int64_t wait_us;     /* the wait after the next failed probe / 2 */
};

/* The health whose probe this thread's current call is (enter claimed
 * it, answer ends it): the call and its answer run on one thread. */
static __thread const struct cmk_health *probe_of;

static const char *const names[] = {
    [CMK_HEALTH_HEALTHY] = "healthy",
    [CMK_HEALTH_DISABLED] = "disabled",
    [CMK_HEALTH_PENDING_DELETION] = "pending_deletion",
    [CMK_HEALTH_ACCESS_DENIED] = "access_denied",
    [CMK_HEALTH_NOT_FOUND] = "not_found",
    [CMK_HEALTH_UNREACHABLE] = "unreachable",
    [CMK_HEALTH_WRONG_KEY_SPEC] = "wrong_key_spec",
    [CMK_HEALTH_KEK_COMMITMENT_MISMATCH] = "kek_commitment_mismatch",
    [CMK_HEALTH_KEY_UNAVAILABLE] = "key_unavailable",
};

const char *cmk_health_reason_name(unsigned long reason)
{
    if (reason >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[reason];
}

/* The reason an internal error gives before the provider refines it. */
static unsigned long by_err(cmk_err err)
{
    switch (err) {
    case CMK_OK:
        return CMK_HEALTH_HEALTHY;
    case CMK_E_KEY_DISABLED:
        return CMK_HEALTH_DISABLED;
    case CMK_E_ACCESS_DENIED:
        return CMK_HEALTH_ACCESS_DENIED;
    case CMK_E_KEY_NOT_FOUND:
        return CMK_HEALTH_NOT_FOUND;
    case CMK_E_NETWORK:
    case CMK_E_TIMEOUT:
    case CMK_E_KMS_INTERNAL:
        return CMK_HEALTH_UNREACHABLE; /* after the retries */
    case CMK_E_KEK_COMMITMENT:
        return CMK_HEALTH_KEK_COMMITMENT_MISMATCH;
    default:
        return CMK_HEALTH_NO_VERDICT;
    }
}

unsigned long cmk_health_verdict(const struct cmk_provider_ops *ops,
                                 cmk_err err, const char *code)
{
    unsigned long r = by_err(err), p;

    if (r == CMK_HEALTH_HEALTHY || r == CMK_HEALTH_NO_VERDICT ||
        r == CMK_HEALTH_KEK_COMMITMENT_MISMATCH)
        return r; /* the last: our check of an answer, not a KMS code */
    if (ops == NULL || ops->health_reason == NULL || code == NULL ||
        code[0] == '\0')
        return r;
    p = ops->health_reason(code);
    return p != 0 ? p : r;
}

bool cmk_health_is_breaker_reason(unsigned long reason)
{
    return reason == CMK_HEALTH_DISABLED ||
           reason == CMK_HEALTH_PENDING_DELETION ||
           reason == CMK_HEALTH_ACCESS_DENIED ||
           reason == CMK_HEALTH_NOT_FOUND || reason == CMK_HEALTH_UNREACHABLE ||
           reason == CMK_HEALTH_KEY_UNAVAILABLE;
}

cmk_err cmk_health_reason_err(unsigned long reason)
{
    switch (reason) {
    case CMK_HEALTH_DISABLED:
    case CMK_HEALTH_PENDING_DELETION:
    case CMK_HEALTH_KEY_UNAVAILABLE:
        return CMK_E_KEY_DISABLED;
    case CMK_HEALTH_ACCESS_DENIED:
    case CMK_HEALTH_WRONG_KEY_SPEC:
        return CMK_E_ACCESS_DENIED;
    case CMK_HEALTH_NOT_FOUND:
        return CMK_E_KEY_NOT_FOUND;
    case CMK_HEALTH_UNREACHABLE:
        return CMK_E_NETWORK;
    case CMK_HEALTH_KEK_COMMITMENT_MISMATCH:
        return CMK_E_KEK_COMMITMENT;
    default:
        return CMK_OK;
    }
}

cmk_err cmk_health_new(const char *tenant, const struct cmk_provider_ops *ops,
                       struct cmk_health **out)
{
    struct cmk_health *h;
    struct cmk_health_opts o = {true, 1000, 60000};

    if (tenant == NULL || ops == NULL || out == NULL)
        return CMK_E_ARGS;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return CMK_E_NOMEM;
    h->tenant = tenant;
    h->ops = ops;
    cmk_health_set_opts(h, &o);
    *out = h;
    return CMK_OK;
}

void cmk_health_free(struct cmk_health *h)
{
    free(h);
}

void cmk_health_set_opts(struct cmk_health *h, const struct cmk_health_opts *o)
{
    if (h == NULL || o == NULL)
        return;
    h->breaker = o->breaker && (h->ops->caps & CMK_CAP_REMOTE) != 0;
    h->min_us = (int64_t)o->probe_min_ms * US_PER_MS;
    h->max_us = (int64_t)o->probe_max_ms * US_PER_MS;
    if (h->max_us < h->min_us)
        h->max_us = h->min_us;
    __atomic_store_n(&h->wait_us, h->min_us, __ATOMIC_RELAXED);
}

void cmk_health_set_subject(struct cmk_health *h, const char *kind,
                            const char *name)
{
    h->kind = kind;
    h->name = name;
}

void cmk_health_set_audit(struct cmk_health *h, struct cmk_audit *a)
{
    if (h != NULL)
        h->audit = a;
}

/* Claims the probe when its time has come (one caller per wait). */
static bool claim_probe(struct cmk_health *h)
{
    int64_t now = cmk_clock_now_us();
    int64_t at = __atomic_load_n(&h->retry_at_us, __ATOMIC_ACQUIRE);

    while (now >= at) {
        if (__atomic_compare_exchange_n(
                &h->retry_at_us, &at,
                now + __atomic_load_n(&h->wait_us, __ATOMIC_RELAXED), false,
                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return true;
    }
    return false;
}

cmk_err cmk_health_enter(struct cmk_health *h)
{
    unsigned long r;

    if (h == NULL)
        return CMK_OK;
    r = __atomic_load_n(&h->reason, __ATOMIC_ACQUIRE);
    if (!h->breaker || !cmk_health_is_breaker_reason(r))
        return CMK_OK;
    if (claim_probe(h)) {
        probe_of = h;
        return CMK_OK;
    }
    cmk_err_device_note((unsigned)h->ops->id, CMK_DEV_BREAKER | (unsigned)r);
    return cmk_health_reason_err(r);
}

static int64_t wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

/* The breaker after a verdict v that replaced old; probe: the answer is
 * this interval's probe. */
static void rearm(struct cmk_health *h, unsigned long old, unsigned long v,
                  bool probe)
{
    int64_t wait = h->min_us;

    if (!cmk_health_is_breaker_reason(v)) {
        __atomic_store_n(&h->wait_us, h->min_us, __ATOMIC_RELAXED);
        __atomic_store_n(&h->retry_at_us, 0, __ATOMIC_RELEASE);
        return;
    }
    if (cmk_health_is_breaker_reason(old)) {
        if (!probe) /* a call that left before the breaker opened */
            return;
        wait = __atomic_load_n(&h->wait_us, __ATOMIC_RELAXED) * 2;
        if (wait > h->max_us)
            wait = h->max_us;
    }
    __atomic_store_n(&h->wait_us, wait, __ATOMIC_RELAXED);
    __atomic_store_n(&h->retry_at_us, cmk_clock_now_us() + wait,
                     __ATOMIC_RELEASE);
}

/* "healthy" or "unhealthy (REASON)" */
static void describe(unsigned long r, char *out, size_t n)
{
    if (r == CMK_HEALTH_HEALTHY)
        snprintf(out, n, "healthy");
    else
        snprintf(out, n, "unhealthy (%s)", cmk_health_reason_name(r));
}

/* The call's kms_call record names the operation; this one links to it
 * by request_id. */
static cmk_err record_change(const struct cmk_health *h,
                             const struct cmk_req *rq, cmk_err err,
                             unsigned long old, unsigned long v)
{
    char from[48], to[48], detail[256];
    struct cmk_audit_rec r;

    if (h->audit == NULL)
        return CMK_OK;
    describe(old, from, sizeof(from));
    describe(v, to, sizeof(to));
    if (h->name != NULL)
        snprintf(detail, sizeof(detail), "%s %s: %s -> %s", h->kind, h->name,
                 from, to);
    else
        snprintf(detail, sizeof(detail), "%s -> %s", from, to);
    cmk_audit_rec_init(&r);
    r.event = "cmk_health_changed";
    r.tenant = h->tenant;
    r.provider = h->ops->name;
    r.result = cmk_rv_name(cmk_err_rv(err));
    r.detail = detail;
    r.provider_code =
        rq != NULL && rq->provider_code[0] ? rq->provider_code : NULL;
    r.request_id = rq != NULL && rq->request_id[0] ? rq->request_id : NULL;
    return cmk_audit_write(h->audit, &r);
}

cmk_err cmk_health_answer(struct cmk_health *h, const struct cmk_req *rq,
                          cmk_err err)
{
    bool probe = h != NULL && probe_of == h;
    unsigned long v, old;

    if (h == NULL)
        return CMK_OK;
    if (probe)
        probe_of = NULL;
    v = cmk_health_verdict(h->ops, err, rq != NULL ? rq->provider_code : NULL);
    if (v == CMK_HEALTH_NO_VERDICT)
        return CMK_OK; /* a probe that told nothing: the next one waits */
    __atomic_store_n(&h->checked_s, wall_s(), __ATOMIC_RELAXED);
    old = __atomic_exchange_n(&h->reason, v, __ATOMIC_ACQ_REL);
    rearm(h, old, v, probe);
    if (old == v)
        return CMK_OK;
    return record_change(h, rq, err, old, v);
}

void cmk_health_get(const struct cmk_health *h, struct cmk_health_state *out)
{
    out->reason = h != NULL ? __atomic_load_n(&h->reason, __ATOMIC_ACQUIRE)
                            : CMK_HEALTH_HEALTHY;
    out->checked_s =
        h != NULL ? __atomic_load_n(&h->checked_s, __ATOMIC_RELAXED) : 0;
}
