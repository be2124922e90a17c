/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: where the next record of PATH goes, shared by every process that
 * writes PATH: a small side file (DIR/.BASENAME.pos, 0600) mapped
 * MAP_SHARED, holding the file's identity and two counters, each packed
 * with a generation: the end of the space handed out and the end of the
 * space allocated (fallocate). Each rebinding to another file (rotation,
 * logrotate) bumps the generation, so a writer still on the old file can
 * no longer take space in the new one. Rebinding is done under the
 * directory lock (afile.h); taking space is one compare-and-swap.
 * Internal to audit. Thread and process safe.
 */
#ifndef CMK_AUDIT_SHM_H
#define CMK_AUDIT_SHM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "util/err.h"

struct cmk_ashm;

/* Opens (creates) the side file of path and maps it. CMK_E_CONFIG if it
 * is not trusted (util/trust.h), CMK_E_IO otherwise; both logged. */
cmk_err cmk_ashm_open(const char *path, struct cmk_ashm **out) CMK_WUR;
void cmk_ashm_close(struct cmk_ashm *s);

/* Under the directory lock: the counters describe the file (dev, ino,
 * birth time: an inode number is reused once its file is deleted) from
 * now on; if they described another one (or none), they start at size.
 * Returns the generation to take space with. */
uint32_t cmk_ashm_bind(struct cmk_ashm *s, dev_t dev, ino_t ino, uint64_t born,
                       off_t size);

/* Under the directory lock, when no other process has the file open:
 * the counters describe it from now on, a new generation, handing out
 * space from next (its data end), allocated up to alloc. */
uint32_t cmk_ashm_reset(struct cmk_ashm *s, dev_t dev, ino_t ino, uint64_t born,
                        uint64_t next, uint64_t alloc);

/* Takes len bytes: their offset, or -1 when gen is no longer the
 * generation (the path names another file now). */
int64_t cmk_ashm_reserve(struct cmk_ashm *s, uint32_t gen, uint64_t len);
/* The end of the handed-out space of gen, or -1 if gen is stale. */
int64_t cmk_ashm_end(const struct cmk_ashm *s, uint32_t gen);

/* Allocated space: known end (0 if gen is stale), and raising it after a
 * successful fallocate (never lowering; ignored if gen is stale). */
uint64_t cmk_ashm_alloc(const struct cmk_ashm *s, uint32_t gen);
void cmk_ashm_raise_alloc(struct cmk_ashm *s, uint32_t gen, uint64_t end);
/* After a trim by the last closer: both counters set to end. */
void cmk_ashm_set(struct cmk_ashm *s, uint32_t gen, uint64_t end);

#endif /* CMK_AUDIT_SHM_H */
