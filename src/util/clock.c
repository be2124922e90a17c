/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: CLOCK_MONOTONIC in microseconds, replaceable for tests.
 */
#include <config.h>

#include <time.h>

#include "util/clock.h"

static int64_t monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t (*source)(void) = monotonic;

int64_t cmk_clock_now_us(void)
{
    return source();
}

void cmk_clock_set_source(int64_t (*now_us)(void))
{
    source = now_us != NULL ? now_us : monotonic;
}
