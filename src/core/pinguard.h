/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: limits on PIN guessing (DESIGN.md, "Security rules"). A per-token
 * count of consecutive failed logins kept in the tenant's store directory,
 * so every process using the token shares it:
 *
 *   <store_dir>/pin-state       "cmk-pin-state 1 failures=N not_before=T\n"
 *                               (T: Unix seconds), mode 0600, replaced
 *                               atomically (temp file, fsync, rename)
 *   <store_dir>/pin-state.lock  empty; flock(2) on it orders updates
 *
 * An attempt is counted before the PIN is checked (as smart cards do), so
 * killing the process during the slow Argon2id check does not erase it,
 * and parallel callers cannot all slip in before the first failure is
 * written. After f consecutive failures the next attempt may start
 * cmk_pin_delay(f) seconds later; after max_pin_failures the PIN is
 * locked until cmk-tool pin-reset. A successful login resets the count.
 * The store directory is created (0700) when missing and must pass the
 * util/trust.h checks; the files are opened with O_NOFOLLOW.
 */
#ifndef CMK_PINGUARD_H
#define CMK_PINGUARD_H

#include <stdbool.h>
#include <stdint.h>
#include "util/err.h"

#define CMK_PIN_STATE_FILE "pin-state"
#define CMK_PIN_DELAY_MAX 60 /* seconds */

struct cmk_pin_state {
    unsigned failures;  /* consecutive failed attempts */
    int64_t not_before; /* Unix seconds; 0: no wait */
};

enum cmk_pin_verdict {
    CMK_PIN_GO,     /* counted; check the PIN now */
    CMK_PIN_WAIT,   /* *wait_s seconds to go before the next attempt */
    CMK_PIN_LOCKED, /* max failures reached: do not check the PIN */
};

/* Seconds the next attempt waits after `failures` consecutive failures:
 * 0, 0, 1, 2, 4, 8, 16, 32, then 60 (CMK_PIN_DELAY_MAX) each. */
unsigned cmk_pin_delay(unsigned failures);

/* The current state (all zero when the file does not exist yet). No lock:
 * the file is only ever replaced whole. CMK_E_BAD_BLOB when it is
 * damaged, CMK_E_CONFIG when untrusted (logged). */
cmk_err cmk_pin_read(const char *dir, struct cmk_pin_state *st) CMK_WUR;

/*
 * Under the lock: LOCKED when failures >= max; WAIT (with *wait_s, at most
 * CMK_PIN_DELAY_MAX) before not_before; otherwise counts one more failure,
 * sets not_before = now + cmk_pin_delay(failures) and returns GO with the
 * new state in *st. A not_before further ahead than CMK_PIN_DELAY_MAX (the
 * clock went back) is pulled in. Errors: CMK_E_IO, CMK_E_CONFIG,
 * CMK_E_BAD_BLOB (each logged naming the file).
 */
cmk_err cmk_pin_attempt(const char *dir, unsigned max,
                        enum cmk_pin_verdict *verdict, unsigned *wait_s,
                        struct cmk_pin_state *st) CMK_WUR;

/* Zero failures (a good PIN, or cmk-tool pin-reset); *before gets the
 * state it replaced when not NULL. */
cmk_err cmk_pin_reset(const char *dir, struct cmk_pin_state *before) CMK_WUR;

/* Tests: the clock (Unix seconds) and the sleep the login waits with;
 * NULL restores the real ones. Set before starting threads. */
void cmk_pin_set_clock(int64_t (*now_s)(void), void (*sleep_s)(unsigned));
int64_t cmk_pin_now(void);
void cmk_pin_sleep(unsigned seconds);

#endif /* CMK_PINGUARD_H */
