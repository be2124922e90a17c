/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: when a tenant's key last changed: <store_dir>/key-change.last,
 * one line "SECONDS COMMAND\n" (Unix time, the command that made the
 * change), mode 0600, replaced atomically by the key-change lock's
 * holder (rotlock.c) and checked like every file the module trusts.
 */
#ifndef CMK_TOOL_ROTLAST_H
#define CMK_TOOL_ROTLAST_H

#include <stddef.h>
#include <stdint.h>

#define TOOL_ROTLAST_NAME "key-change.last"
#define TOOL_ROTLAST_WHAT_MAX 32 /* [a-z-], 1..32 characters */

struct tool_rotlast {
    int64_t when; /* Unix seconds */
    char what[TOOL_ROTLAST_WHAT_MAX + 1];
};

/* Reads dir's file. 0: *out filled; 1: there is none (no change yet);
 * -1: the file is refused, why says how ("PATH: is a symbolic link",
 * "PATH: expected \"SECONDS COMMAND\" ...", "PATH: names a time in the
 * future ..."). now: the current time, for the last check. */
int tool_rotlast_read(const char *dir, int64_t now, struct tool_rotlast *out,
                      char *why, size_t why_len);

/* Replaces dir's file with (when, what): temp file, fsync, rename, fsync
 * of dir. 0, or -1 with a message printed. */
int tool_rotlast_write(const char *dir, int64_t when, const char *what);

/* Whether what may be written into the file. */
int tool_rotlast_what_ok(const char *what);

#endif /* CMK_TOOL_ROTLAST_H */
