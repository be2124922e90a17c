/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the retry driver's clock (net/retry.h) in a provider test: real
 * monotonic time plus the sleeps the driver asked for, which are
 * recorded and not slept; a fixed jitter. Not thread safe: one call at a
 * time through it.
 */
#ifndef CMK_TEST_RETRY_CLOCK_H
#define CMK_TEST_RETRY_CLOCK_H

#include <stdint.h>

#include "net/retry.h"

struct test_retry_clock {
    int64_t ahead;   /* added to the real time: the sleeps, and what the
                      * test adds to move time on */
    int64_t slept;   /* the sleeps together */
    int64_t first;   /* the first sleep */
    unsigned sleeps; /* how many */
    double jitter;
    struct cmk_retry_clock clk; /* give &clk to the provider */
};

/* CLOCK_MONOTONIC in microseconds. */
int64_t test_mono_us(void);
/* Zeroes fc, with jitter j, and points fc->clk at it. */
void test_retry_clock_init(struct test_retry_clock *fc, double j);

#endif /* CMK_TEST_RETRY_CLOCK_H */
