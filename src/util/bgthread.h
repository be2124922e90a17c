/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: a background thread of the module's own that runs one piece of
 * work when asked, and also every period when one is given. Asking is
 * one atomic load while a run is pending, and a futex wake when it is
 * not: no lock is shared with the caller, so the thread adds no lock the
 * application's mutex callbacks would have to see (util/lock.h). The
 * thread has every signal blocked. A forked child has no such thread:
 * stopping it there frees the handle only.
 */
#ifndef CMK_BGTHREAD_H
#define CMK_BGTHREAD_H

#include <stdint.h>
#include "util/err.h"

struct cmk_bgthread;

/* Starts a thread named name (at most 15 bytes, as ps and
 * /proc/PID/task/TID/comm show it) that calls work(arg) after each ask
 * and, when period_ms is not 0, at least every period_ms. Asks that come while
 * work runs are covered by that run only if work looks again: the ask
 * is cleared after each run, so a caller that still needs work asks
 * again. CMK_E_NOMEM or CMK_E_IO (no thread could be made). */
cmk_err cmk_bgthread_start(const char *name, void (*work)(void *), void *arg,
                           unsigned period_ms,
                           struct cmk_bgthread **out) CMK_WUR;
/* Asks for a run of work. NULL-safe. */
void cmk_bgthread_ask(struct cmk_bgthread *t);
/* Stops the thread after its current run and waits for it (in a forked
 * child: only frees). NULL-safe. */
void cmk_bgthread_stop(struct cmk_bgthread *t);

#endif /* CMK_BGTHREAD_H */
