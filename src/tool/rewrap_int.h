/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the pieces of the rewrap driver (rewrap.h): the list of inputs,
 * blob files, the journal and the progress line. Used by rewrap_run.c.
 */
#ifndef CMK_TOOL_REWRAP_INT_H
#define CMK_TOOL_REWRAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util/secmem.h"

/* Largest blob file read: an envelope's own limit (key id, sealed-by
 * and a 64 KiB ciphertext) with room to spare. */
#define RW_MAX_BLOB (70u * 1024u)
#define RW_DIGEST_LEN 32 /* SHA-256 */

/* Where an input ended. The first three are dry-run outcomes too. */
enum rw_state {
    RW_PENDING = 0,
    RW_REWRAPPED, /* moved to the current key (dry run: would be) */
    RW_CURRENT,   /* already under the current key: skipped */
    RW_JOURNAL,   /* done by an earlier run (journal): skipped */
    RW_FAILED,    /* dry run: unreadable */
    RW_NOT_DONE,  /* the run stopped or was interrupted first */
    RW__STATES
};

/* One input: a blob file, or one line of stdin. */
struct rw_item {
    char *path;  /* files; NULL for a line */
    size_t line; /* stdin: 1-based */
    char *text;  /* stdin: the line without its newline */
    char *out;   /* stdin: the line to print instead of text, or NULL */
    int state;   /* enum rw_state; final once done is set */
    int done;    /* atomic, release: state and out are final */
};

struct rw_list {
    struct rw_item *v;
    size_t n, cap;
    size_t ignored; /* symbolic links, special files, leftovers: reported */
    bool from_stdin;
};

/* rewrap_input.c. The regular files of paths (directories walked, never
 * through a symbolic link; each link and special file reported and
 * counted in ignored; leftover temporary files of an interrupted run
 * removed unless dry_run), sorted by path; skip (the journal) left out.
 * TOOL_OK, TOOL_USAGE when a path is missing, TOOL_FAIL. */
int rw_collect_paths(char *const *paths, size_t n, const char *skip,
                     bool dry_run, struct rw_list *l);
/* Every line of in. TOOL_OK or TOOL_FAIL (message printed). */
int rw_collect_stdin(FILE *in, struct rw_list *l);
void rw_list_free(struct rw_list *l);

/* rewrap_file.c. A blob file's bytes and what fstat said of it; 0, or -1
 * with why set (never secret). */
int rw_file_read(const char *path, struct cmk_buf *out, struct stat *st,
                 char *why, size_t n);
/* Replaces path with p (temp file beside it with path's mode, fsync,
 * rename, fsync of the directory) unless path is no longer the file
 * read as was (replaced or changed meanwhile). 0, or -1 with why. */
int rw_file_replace(const char *path, const struct stat *was, const uint8_t *p,
                    size_t len, char *why, size_t n);
/* The temporary names rw_file_replace uses: ".NAME.rewrap-XXXXXX". */
bool rw_file_is_temp(const char *name);

/* rewrap_journal.c (format in README, "Rewrapping stored blobs"). */
struct rw_journal;
/* Whether a directory entry's name is a rewrap journal's
 * (.NAME.cmk-rewrap-journal): never a blob. */
bool rw_journal_is_name(const char *name);
/* The journal beside the first path: DIR/.NAME.cmk-rewrap-journal. */
int rw_journal_default(const char *first, char *out, size_t n);
/* Opens (creates 0600, never through a symbolic link) path for the run
 * run[] = {kind, tenant, target, mode}; the entries of a journal of
 * another run (another header) are dropped, as said on stderr. 0, or -1
 * with a message printed. */
int rw_journal_open(const char *path, const char *const run[4],
                    struct rw_journal **out);
/* Done by an earlier run: the file path, whose content now has digest d. */
bool rw_journal_has_file(const struct rw_journal *j, const char *path,
                         const uint8_t d[RW_DIGEST_LEN]);
/* Done by an earlier run: stdin line number line whose text has digest
 * d; what it printed (borrowed), or NULL. */
const char *rw_journal_line_out(const struct rw_journal *j, size_t line,
                                const uint8_t d[RW_DIGEST_LEN]);
/* Appends one entry (thread safe; in the kernel on return, fsynced at
 * most once a second and at close). 0, or -1 with a message. */
int rw_journal_add_file(struct rw_journal *j, const char *path,
                        const uint8_t d[RW_DIGEST_LEN]);
int rw_journal_add_line(struct rw_journal *j, size_t line,
                        const uint8_t d[RW_DIGEST_LEN], const char *out);
/* Syncs and closes; with drop the file is removed (the run is complete).
 * NULL-safe. */
void rw_journal_close(struct rw_journal *j, bool drop);
/* Percent-encodes s (bytes outside 0x21..0x7e, and '%') into out[n]. */
void rw_journal_enc(const char *s, char *out, size_t n);

/* rewrap_progress.c: done/total on stderr, a bar on a TTY. */
struct rw_progress {
    size_t total;
    bool tty;
    double start, last; /* seconds, monotonic */
    size_t last_done;
};
void rw_progress_start(struct rw_progress *p, size_t total);
/* Called often; prints when it is time (TTY: 5 times a second; else
 * every 5 s or 10 000 blobs). final: the last one. */
void rw_progress_tick(struct rw_progress *p, size_t done, bool final);
double rw_progress_elapsed(const struct rw_progress *p);
double rw_now(void);

#endif /* CMK_TOOL_REWRAP_INT_H */
