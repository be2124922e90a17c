/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: CLOCK_MONOTONIC in microseconds and CLOCK_REALTIME in seconds,
 * each replaceable for tests.
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

static int64_t realtime(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static int64_t (*source)(void) = monotonic;
static int64_t (*wall_source)(void) = realtime;

int64_t cmk_clock_now_us(void)
{
    return source();
}

void cmk_clock_set_source(int64_t (*now_us)(void))
{
    source = now_us != NULL ? now_us : monotonic;
}

int64_t cmk_clock_wall_s(void)
{
    return wall_source();
}

void cmk_clock_set_wall_source(int64_t (*now_s)(void))
{
    wall_source = now_s != NULL ? now_s : realtime;
}
