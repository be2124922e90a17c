/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: one open of the audit file. A record takes its place in the
 * file from the path's shared counters (shm.h) with one compare-and-swap,
 * the space is allocated ahead (fallocate, so a copy never meets a full
 * disk) and the record is copied into a MAP_SHARED view of the file: it
 * is in the page cache, i.e. in the kernel, once copied, and survives
 * kill -9 of the process. No lock and no system call per record, and
 * threads and processes do not serialise on the inode as write() would.
 * Beyond the view, or where the view or fallocate is not available, the
 * record is written with pwrite at its place. Each open holds a shared
 * flock on the file; the last one to close trims the unused tail.
 * Where the application allows threads, a helper thread of the file
 * (util/bgthread.h) allocates and maps the space ahead of the writers,
 * so no writer's call pays for the page cache's new pages, and under the
 * interval policy it also starts writeback, while a second one, the
 * syncer, runs the fdatasync (which waits for the disk; the helper does
 * not).
 * Internal to audit.
 */
#ifndef CMK_AUDIT_AFILE_H
#define CMK_AUDIT_AFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "audit/shm.h"
#include "util/bgthread.h"
#include "util/err.h"
#include "util/lock.h"

struct cmk_afile {
    int fd;
    dev_t dev;
    ino_t ino;
    uint64_t born;        /* birth time in ns (statx), 0 where unknown: tells a
                           * new file from a deleted one whose inode it reuses */
    struct cmk_ashm *shm; /* borrowed; NULL until bound (a new file not yet
                           * linked in: space from priv_next) */
    uint32_t gen;
    uint64_t priv_next; /* atomic */
    uint64_t alloc;     /* atomic: allocated end as this process knows it */
    char *base; /* MAP_SHARED view of [view_off, view_off + view), or NULL */
    size_t view;
    uint64_t view_off;
    bool no_falloc;           /* atomic: no fallocate here: pwrite only */
    bool extending;           /* atomic: a thread is allocating ahead */
    struct cmk_mutex grow_mx; /* one thread grows the file at a time */
    uint64_t ahead_failed;    /* atomic: alloc when allocating ahead failed */
    /* The helper (NULL: the writers allocate ahead themselves) and what
     * only it touches, but kicked, which the syncer reads. */
    struct cmk_bgthread *helper;
    bool helper_syncs; /* the interval policy's writeback and fdatasync */
    uint64_t kicked;   /* atomic: writeback started up to here */
    uint64_t dropped;  /* asked out of the page cache up to here */
    /* The syncer (the interval policy's fdatasync, on a thread of its own
     * so that the helper never waits for the disk) and what only it
     * touches, but sync_errno. */
    struct cmk_bgthread *syncer;
    uint64_t swept;    /* asked out of the page cache again after a sync */
    uint64_t synced;   /* the data end at the last fdatasync */
    int64_t synced_ns; /* when (CLOCK_MONOTONIC) */
    int sync_errno;    /* atomic: the syncer's failed fdatasync, not yet
                        * reported by a record */
};

/* Who allocates ahead and syncs (see above). */
enum cmk_afile_help {
    CMK_AFILE_INLINE,    /* the writers, no thread */
    CMK_AFILE_AHEAD,     /* the helper allocates, the writers sync */
    CMK_AFILE_AHEAD_SYNC /* the helper allocates and starts writeback, the
                          * syncer syncs (interval) */
};

/* Opens (creates 0600) path read-write with O_CLOEXEC | O_NOFOLLOW
 * (| O_EXCL with excl), checks owner, mode and directories
 * (util/trust.h) and takes the shared flock. CMK_E_CONFIG if refused,
 * CMK_E_IO otherwise (errno kept); logged unless quiet. */
cmk_err cmk_afile_open(const char *path, bool excl, bool quiet,
                       struct cmk_afile **out) CMK_WUR;
/* Under the directory lock: the shared counters describe f from now on
 * (starting at size if they described another file), and f is mapped;
 * with help other than INLINE, its helper starts (if no thread can be
 * made, the writers do the work as with INLINE). */
void cmk_afile_bind(struct cmk_afile *f, struct cmk_ashm *shm, uint64_t size,
                    enum cmk_afile_help help);
/* Whether a record ending at end has come near the end of f's view:
 * then the view is moved on (cmk_afile_slide), or records past it go
 * by pwrite, one system call each. */
bool cmk_afile_view_low(const struct cmk_afile *f, uint64_t end);
/* Maps the view from the records' end on, and restarts the helper. Only
 * while no thread writes to f (the writer's pause, rotate.c). */
void cmk_afile_slide(struct cmk_afile *f, enum cmk_afile_help help);
/* Tests: the size of views mapped from now on (4 GiB; at least 64 MiB,
 * rounded down to 16 MiB; 0 restores 4 GiB). */
void cmk_afile_set_view(size_t bytes);
/* Whether f's syncer runs the interval policy's syncs now (not while it
 * is stopped around a fork); the errno of a failed one not yet reported
 * (cleared), else 0. */
bool cmk_afile_helper_syncs(const struct cmk_afile *f);
int cmk_afile_take_sync_error(struct cmk_afile *f);
/* Tests: hook is called on the syncer's thread before each of its
 * fdatasyncs (NULL: none). */
void cmk_afile_set_sync_hook(void (*hook)(void));
/* Stops the helper, syncs (when sync) and closes; with trim, the last open of
 * the file (no other flock holder) first cuts the 0x00 tail (never in a forked
 * child: it shares its parent's flock). NULL-safe. */
void cmk_afile_close(struct cmk_afile *f, bool sync, bool trim,
                     const char *path);

/* Writes the n bytes at p (one line with its newline) at a place of their
 * own. Returns 0 and the end of that place in *end, ESTALE when the path
 * names another file (rebound: reopen and retry), or an errno. */
int cmk_afile_append(struct cmk_afile *f, const char *p, size_t n,
                     uint64_t *end);

/* A file cut shorter than the space this process allocated in it (it
 * was truncated under the writers, e.g. by logrotate's copytruncate) is
 * extended again at once, so a copy into the lost space lands in the
 * file instead of faulting (SIGBUS). true if it had been cut. */
bool cmk_afile_repair(struct cmk_afile *f);

/* Whether path now names f's file: 1 yes, 0 no (another file, or
 * nothing), -1 error (errno). */
int cmk_afile_is_at(const struct cmk_afile *f, const char *path);

/* The lock under which files appear under a path: flock on its
 * directory, held by a rotation from the rename of PATH to the link of
 * the new PATH, and by every open of PATH, so no process creates PATH in
 * between. Returns the directory's descriptor (unlock closes it) or -1
 * (errno). */
int cmk_afile_lock_dir(const char *path);
void cmk_afile_unlock_dir(int dfd);

#endif /* CMK_AUDIT_AFILE_H */
