/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: reading ahead of the encryptor. A thread reads the input into
 * two caller-owned buffers in turn while the caller seals the other, so
 * the copy out of the page cache (or the wait on a pipe) and the sealing
 * overlap on two cores. The buffers stay the caller's: it wipes and frees
 * them after tool_ra_stop.
 */
#ifndef CMK_TOOL_READAHEAD_H
#define CMK_TOOL_READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "tool/file_io.h"

struct tool_ra;

/* Starts reading in into buf[0], buf[1], buf[0] ... n bytes each. 0, or
 * -1 (nothing started: the caller reads by itself). */
int tool_ra_start(struct tool_ra **out, struct tool_fin *in, uint8_t *buf[2],
                  size_t n);
/* Waits for the next buffer in turn: its index into *which and how many
 * bytes it holds (n, or fewer at end of file: the last one), or -1 after
 * a read error (message printed). The buffer is the caller's until it
 * hands it back. */
long long tool_ra_next(struct tool_ra *ra, int *which);
/* Buffer which may be read into again. */
void tool_ra_done(struct tool_ra *ra, int which);
/* Stops the thread (at once, even in a read of a pipe: it waits on a
 * stop pipe beside the input) and frees ra. */
void tool_ra_stop(struct tool_ra *ra);

#endif /* CMK_TOOL_READAHEAD_H */
