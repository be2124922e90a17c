/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: a recording retry clock (retry_clock.h).
 */
#include <config.h>

#include <string.h>
#include <time.h>

#include "tests/lib/retry_clock.h"

int64_t test_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t fake_now(void *arg)
{
    return test_mono_us() + ((struct test_retry_clock *)arg)->ahead;
}

static void fake_sleep(void *arg, int64_t us)
{
    struct test_retry_clock *fc = arg;

    fc->ahead += us;
    fc->slept += us;
    if (fc->sleeps++ == 0)
        fc->first = us;
}

static double fake_jitter(void *arg)
{
    return ((struct test_retry_clock *)arg)->jitter;
}

void test_retry_clock_init(struct test_retry_clock *fc, double j)
{
    memset(fc, 0, sizeof(*fc));
    fc->jitter = j;
    fc->clk = (struct cmk_retry_clock){fake_now, fake_sleep, fc, fake_jitter};
}
