/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the module's monotonic clock in microseconds. Cache expiries are
 * measured on it; tests replace its source to move time without waiting.
 */
#ifndef CMK_CLOCK_H
#define CMK_CLOCK_H

#include <stdint.h>

int64_t cmk_clock_now_us(void);
/* Tests: NULL restores CLOCK_MONOTONIC. Not thread safe against readers:
 * set it before starting threads. */
void cmk_clock_set_source(int64_t (*now_us)(void));

#endif /* CMK_CLOCK_H */
