/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the retry driver and the retry quota (token bucket) of the AWS
 * SDKs' standard mode. Sleeping happens in the calling thread with no
 * lock held; the module starts no thread for it.
 */
#include <config.h>

#include <errno.h>
#include <sodium.h>
#include <time.h>

#include "net/retry.h"

#define JITTER_STEPS 1000000u

cmk_err cmk_retry_quota_init(struct cmk_retry_quota *q)
{
    if (q == NULL)
        return CMK_E_ARGS;
    if (cmk_mutex_init(&q->lock) != CKR_OK)
        return CMK_E_NOMEM;
    q->tokens = CMK_RETRY_QUOTA_MAX;
    return CMK_OK;
}

void cmk_retry_quota_fini(struct cmk_retry_quota *q)
{
    if (q != NULL)
        cmk_mutex_fini(&q->lock);
}

bool cmk_retry_quota_take(struct cmk_retry_quota *q, unsigned cost)
{
    bool ok;

    cmk_mutex_lock(&q->lock);
    ok = q->tokens >= cost;
    if (ok)
        q->tokens -= cost;
    cmk_mutex_unlock(&q->lock);
    return ok;
}

void cmk_retry_quota_give(struct cmk_retry_quota *q, unsigned n)
{
    cmk_mutex_lock(&q->lock);
    q->tokens = q->tokens + n > CMK_RETRY_QUOTA_MAX ? CMK_RETRY_QUOTA_MAX
                                                    : q->tokens + n;
    cmk_mutex_unlock(&q->lock);
}

unsigned cmk_retry_quota_left(struct cmk_retry_quota *q)
{
    unsigned n;

    cmk_mutex_lock(&q->lock);
    n = q->tokens;
    cmk_mutex_unlock(&q->lock);
    return n;
}

int64_t cmk_retry_backoff_us(const struct cmk_retry_policy *p, unsigned n,
                             double r)
{
    int64_t cap = (int64_t)p->max_backoff_ms * 1000;
    int64_t d = (int64_t)p->base_ms * 1000;
    unsigned i;

    for (i = 1; i < n && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    if (r < 0)
        r = 0;
    if (r > 1)
        r = 1;
    return (int64_t)((double)d * r);
}

int64_t cmk_retry_delay_us(const struct cmk_retry_policy *p,
                           enum cmk_retry_class cls, unsigned n, double r)
{
    int64_t d = cmk_retry_backoff_us(p, n, r);

    if (cls == CMK_RETRY_THROTTLE_SLOW)
        d += (int64_t)CMK_RETRY_SLOW_MS * 1000;
    return d;
}

static int64_t real_now_us(void *arg)
{
    struct timespec ts;

    (void)arg;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void real_sleep_us(void *arg, int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

    (void)arg;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Full jitter: uniform in [0, 1] from libsodium's generator. */
static double real_jitter(void *arg)
{
    (void)arg;
    return (double)randombytes_uniform(JITTER_STEPS + 1) / JITTER_STEPS;
}

static const struct cmk_retry_clock real_clock = {real_now_us, real_sleep_us,
                                                  NULL, real_jitter};

static double jitter(const struct cmk_retry_clock *clk)
{
    return clk->jitter != NULL ? clk->jitter(clk->arg) : real_jitter(NULL);
}

/* Takes quota for a retry after a failure of class cls; 0 if refused. */
static unsigned take_retry_cost(struct cmk_retry_quota *q,
                                enum cmk_retry_class cls)
{
    unsigned cost =
        cls == CMK_RETRY_TIMEOUT ? CMK_RETRY_TIMEOUT_COST : CMK_RETRY_COST;

    if (q == NULL)
        return cost;
    return cmk_retry_quota_take(q, cost) ? cost : 0;
}

/* True if a backoff of d fits before the deadline. */
static bool fits(const struct cmk_retry_clock *clk, int64_t deadline_us,
                 int64_t d)
{
    return deadline_us == 0 || clk->now_us(clk->arg) + d < deadline_us;
}

/* The wait before retry n: the backoff, or the server's hint (capped at
 * max_backoff) when that is longer. */
static int64_t wait_us(const struct cmk_retry_policy *p,
                       const struct cmk_retry_clock *clk,
                       enum cmk_retry_class cls, unsigned n,
                       const int64_t *after_us)
{
    int64_t d = cmk_retry_delay_us(p, cls, n, jitter(clk));
    int64_t h = after_us != NULL ? *after_us : 0;
    int64_t cap = (int64_t)p->max_backoff_ms * 1000;

    if (h > cap)
        h = cap;
    return h > d ? h : d;
}

cmk_err cmk_retry_run_hinted(const struct cmk_retry_policy *p,
                             struct cmk_retry_quota *q,
                             const struct cmk_retry_clock *clk,
                             int64_t deadline_us, cmk_retry_attempt_fn attempt,
                             void *arg, int64_t *after_us)
{
    enum cmk_retry_class cls;
    unsigned n, paid = 0;
    int64_t d;
    cmk_err err = CMK_E_INTERNAL;

    if (p == NULL || attempt == NULL || p->max_attempts == 0)
        return CMK_E_ARGS;
    clk = clk != NULL ? clk : &real_clock;
    if (deadline_us == 0 && p->budget_ms != 0)
        deadline_us = clk->now_us(clk->arg) + (int64_t)p->budget_ms * 1000;
    for (n = 1; n <= p->max_attempts; n++) {
        cls = CMK_RETRY_NO;
        if (after_us != NULL)
            *after_us = 0;
        err = attempt(arg, n, deadline_us, &cls);
        if (err == CMK_OK) {
            if (q != NULL)
                cmk_retry_quota_give(q, paid != 0 ? paid : 1);
            return CMK_OK;
        }
        if (cls == CMK_RETRY_NO || n == p->max_attempts)
            break;
        d = wait_us(p, clk, cls, n, after_us);
        if (!fits(clk, deadline_us, d) || (paid = take_retry_cost(q, cls)) == 0)
            break;
        clk->sleep_us(clk->arg, d);
    }
    return err;
}

cmk_err cmk_retry_run(const struct cmk_retry_policy *p,
                      struct cmk_retry_quota *q,
                      const struct cmk_retry_clock *clk, int64_t deadline_us,
                      cmk_retry_attempt_fn attempt, void *arg)
{
    return cmk_retry_run_hinted(p, q, clk, deadline_us, attempt, arg, NULL);
}
