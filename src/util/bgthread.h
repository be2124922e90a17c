/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: a background thread of the module's own that runs one piece of
 * work when asked, and also every period when one is given. Asking is
 * one atomic load while a run is pending, and a futex wake when it is
 * not: no lock is shared with the caller, so the thread adds no lock the
 * application's mutex callbacks would have to see (util/lock.h). The
 * thread has every signal blocked. Around each fork() every such thread
 * is stopped, and started again in the parent afterwards, so the
 * application's child is not the fork of a process running ours; in the
 * child the handles are halted, and stopping one there frees it.
 */
#ifndef CMK_BGTHREAD_H
#define CMK_BGTHREAD_H

#include <stdbool.h>
#include <stdint.h>
#include "util/err.h"

struct cmk_bgthread;

/* Starts a thread named name (at most 15 bytes, as ps and
 * /proc/PID/task/TID/comm show it) that calls work(arg) once started,
 * after each ask and, when period_ms is not 0, at least every period_ms. The
 * ask is cleared as a run starts: asks that come while work runs make one
 * more run after it (however many they are), so none is lost to a run that
 * looked before it came. CMK_E_NOMEM or CMK_E_IO (no thread could be
 * made). */
cmk_err cmk_bgthread_start(const char *name, void (*work)(void *), void *arg,
                           unsigned period_ms,
                           struct cmk_bgthread **out) CMK_WUR;
/* Whether t's thread runs (false if it could not be started again
 * after a fork, and in a forked child). NULL-safe. */
bool cmk_bgthread_alive(const struct cmk_bgthread *t);
/* Asks for a run of work. NULL-safe. */
void cmk_bgthread_ask(struct cmk_bgthread *t);
/* Stops the thread after its current run, waits for it and frees t.
 * NULL-safe. */
void cmk_bgthread_stop(struct cmk_bgthread *t);

#endif /* CMK_BGTHREAD_H */
