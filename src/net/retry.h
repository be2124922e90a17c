/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: retries in the AWS SDKs' "standard" mode: a bounded number of
 * attempts, exponential backoff with full jitter, and a client-side retry
 * quota (token bucket) so that an outage does not multiply the load.
 * Numbers from botocore 1.29 retries/standard.py and quota.py: 500
 * tokens, a retry costs 5 (10 after a timeout), a success returns 1 (or
 * what its retry cost). Backoff before retry i: random(0,1) *
 * min(base * 2^(i-1), max_backoff); after a throttling answer that asks
 * for the next second (CMK_RETRY_THROTTLE_SLOW: Cloud KMS
 * RESOURCE_EXHAUSTED, whose quotas are enforced per second), one second
 * more. A backoff that would end past the call's deadline is not slept:
 * the call fails at once with the last attempt's error.
 * Thread safety: the quota has its own lock; the driver holds no lock
 * while an attempt runs or while it sleeps.
 */
#ifndef CMK_NET_RETRY_H
#define CMK_NET_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include "util/err.h"
#include "util/lock.h"

#define CMK_RETRY_QUOTA_MAX 500u
#define CMK_RETRY_COST 5u
#define CMK_RETRY_TIMEOUT_COST 10u
/* The least wait after a CMK_RETRY_THROTTLE_SLOW failure ("retrying the
 * next second", Google Cloud KMS quotas). */
#define CMK_RETRY_SLOW_MS 1000u

struct cmk_retry_policy {
    unsigned max_attempts;   /* total, first try included; >= 1 */
    unsigned base_ms;        /* backoff base (100) */
    unsigned max_backoff_ms; /* cap of one backoff (20000) */
    unsigned budget_ms;      /* whole call incl. backoff; 0 = unbounded */
};

struct cmk_retry_quota {
    struct cmk_mutex lock; /* guards tokens; a leaf */
    unsigned tokens;
};

/* What an attempt's failure allows. */
enum cmk_retry_class {
    CMK_RETRY_NO = 0,    /* not retryable */
    CMK_RETRY_TRANSIENT, /* 5xx, connection reset, refused */
    CMK_RETRY_THROTTLE,  /* throttling codes */
    CMK_RETRY_TIMEOUT,   /* timed out: costs more quota */
    /* Throttled by a quota enforced per second: the backoff is
     * CMK_RETRY_SLOW_MS plus the usual one; costs what throttling does. */
    CMK_RETRY_THROTTLE_SLOW,
};

/* Clock, sleep and jitter, replaceable by tests (NULL: the real ones;
 * jitter NULL: uniform random in [0, 1]). */
struct cmk_retry_clock {
    int64_t (*now_us)(void *arg);
    void (*sleep_us)(void *arg, int64_t us);
    void *arg;
    double (*jitter)(void *arg); /* in [0, 1] */
};

cmk_err cmk_retry_quota_init(struct cmk_retry_quota *q) CMK_WUR;
void cmk_retry_quota_fini(struct cmk_retry_quota *q);
/* Takes cost tokens; false (nothing taken) when too few are left. */
bool cmk_retry_quota_take(struct cmk_retry_quota *q, unsigned cost);
void cmk_retry_quota_give(struct cmk_retry_quota *q, unsigned n);
unsigned cmk_retry_quota_left(struct cmk_retry_quota *q);

/* One attempt: returns its result and, on failure, its class. n counts
 * attempts from 1; deadline_us is the end of the whole call (0: none). */
typedef cmk_err (*cmk_retry_attempt_fn)(void *arg, unsigned n,
                                        int64_t deadline_us,
                                        enum cmk_retry_class *cls);

/* Runs attempt until it succeeds, fails without a retry class, runs out
 * of attempts, of quota or of budget. Returns the last attempt's result.
 * deadline_us (monotonic, 0 = from policy->budget_ms) bounds the call. */
cmk_err cmk_retry_run(const struct cmk_retry_policy *p,
                      struct cmk_retry_quota *q,
                      const struct cmk_retry_clock *clk, int64_t deadline_us,
                      cmk_retry_attempt_fn attempt, void *arg) CMK_WUR;

/* cmk_retry_run where a failed attempt may ask for a least wait before
 * the next try (a server's Retry-After): the driver sets *after_us to 0
 * before each attempt, the attempt (which reaches after_us through its
 * arg) sets it, and the wait is max(backoff, min(*after_us,
 * max_backoff)). A wait that does not fit before the deadline is not
 * slept: the call fails at once with that attempt's error. after_us NULL:
 * cmk_retry_run. */
cmk_err cmk_retry_run_hinted(const struct cmk_retry_policy *p,
                             struct cmk_retry_quota *q,
                             const struct cmk_retry_clock *clk,
                             int64_t deadline_us, cmk_retry_attempt_fn attempt,
                             void *arg, int64_t *after_us) CMK_WUR;

/* The backoff before retry number n (1 = the first retry), in
 * microseconds, with jitter fraction r in [0, 1]. */
int64_t cmk_retry_backoff_us(const struct cmk_retry_policy *p, unsigned n,
                             double r);
/* The wait before retry number n after a failure of class cls: the
 * backoff, plus CMK_RETRY_SLOW_MS for CMK_RETRY_THROTTLE_SLOW. */
int64_t cmk_retry_delay_us(const struct cmk_retry_policy *p,
                           enum cmk_retry_class cls, unsigned n, double r);

#endif /* CMK_NET_RETRY_H */
