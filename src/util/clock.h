/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the module's clocks. Cache expiries are measured on the monotonic
 * one (microseconds); dates written in the config (a previous KEK's
 * "expires") on the wall clock (Unix seconds, UTC). Tests replace either
 * source to move time without waiting.
 */
#ifndef CMK_CLOCK_H
#define CMK_CLOCK_H

#include <stdint.h>

int64_t cmk_clock_now_us(void);
/* Tests: NULL restores CLOCK_MONOTONIC. Not thread safe against readers:
 * set it before starting threads. */
void cmk_clock_set_source(int64_t (*now_us)(void));

/* CLOCK_REALTIME in whole seconds since the Unix epoch. */
int64_t cmk_clock_wall_s(void);
/* Tests: NULL restores CLOCK_REALTIME. Same rules as above. */
void cmk_clock_set_wall_source(int64_t (*now_s)(void));

#endif /* CMK_CLOCK_H */
