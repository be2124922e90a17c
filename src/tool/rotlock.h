/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the one key change at a time of a tenant. CMK rotation, KEK
 * (data-key) rotation, rewrap and key import each hold it for their whole
 * run: a flock on <tenant store_dir>/key-change.lock, whose content names
 * the holder (command, pid, host, start time) for the refusal message of
 * the next one. The lock goes with the process, however it ends.
 *
 * Key changes (every command but rewrap, which only moves blobs to the
 * current key) are also kept apart in time: one within the tenant's
 * key_change_interval_seconds (default 600, 0: no limit) of the last
 * completed one (rotlast.h) is refused unless forced, and a forced one is
 * recorded in the config's audit file as key_change_forced before it
 * starts. The config is the one tool_on_tenant loaded for t.
 */
#ifndef CMK_TOOL_ROTLOCK_H
#define CMK_TOOL_ROTLOCK_H

#include "core/settings.h"

struct tool_rotlock;

/* Takes the tenant's lock for command what ("rotate-cmk"; [a-z-], at
 * most 32 characters); never waits. 0, or -1 with a message printed: held
 * by another (the message names it: "tenant acme: a key change is
 * running: rotate-kek, pid 4242 on host h since 2026-12-05T03:00:00Z"),
 * the store directory is not usable, the last key change was less than
 * the interval ago or its record is refused (both unless forced), or a
 * forced change could not be recorded. flags: TOOL_ROTLOCK_FORCE. */
#define TOOL_ROTLOCK_FORCE 0x1u /* a key change before the minimum interval */
/* Work that finishes a key change begun earlier (an interrupted run
 * resumed from its journal) or tidies after one (expired entries
 * dropped), not a new change: the lock without the interval. */
#define TOOL_ROTLOCK_CONTINUE 0x2u
int tool_rotlock_take(const struct cmk_tenant_cfg *t, const char *what,
                      unsigned flags, struct tool_rotlock **out);
/* Called under the lock once a key change is complete (the config or the
 * KMS now holds the new key): the time the next change is measured from,
 * written durably. 0, or -1 with a message printed. */
int tool_rotlock_changed(struct tool_rotlock *l);
/* Releases it (the file stays; NULL-safe). */
void tool_rotlock_release(struct tool_rotlock *l);

#endif /* CMK_TOOL_ROTLOCK_H */
