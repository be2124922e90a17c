/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: input, output and progress of cmk-tool encrypt / decrypt / rekey.
 * Output goes to a temporary file next to OUT (mode 0600) that replaces
 * OUT only on success (fsync, rename, fsync of the directory); a failure,
 * SIGINT, SIGTERM or SIGHUP removes it. "-" is stdin / stdout.
 */
#ifndef CMK_TOOL_FILE_IO_H
#define CMK_TOOL_FILE_IO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct tool_fin {
    int fd;
    const char *name; /* for messages: the path, or "stdin" */
    int64_t size;     /* -1 when unknown (not a regular file) */
    uint64_t done;    /* bytes read so far */
};

/* Opens path ("-": stdin). 0, or -1 with a message printed. */
int tool_fin_open(struct tool_fin *in, const char *path);
/* Reads up to n bytes, stopping early only at end of file: the count, or
 * -1 on a read error (message printed). */
long long tool_fin_read(struct tool_fin *in, uint8_t *buf, size_t n);
/* The same, but before each read() it also waits on stop_fd (-1: none):
 * once that is readable it returns -2 at once, whatever was read. */
long long tool_fin_read_or_stop(struct tool_fin *in, uint8_t *buf, size_t n,
                                int stop_fd);
void tool_fin_close(struct tool_fin *in);

struct tool_fout {
    int fd;
    const char *name; /* the path, or "stdout" */
    const char *path; /* NULL for stdout */
    char tmp[PATH_MAX];
};

/* Creates the temporary file for path ("-": stdout). 0, or -1 with a
 * message printed. */
int tool_fout_open(struct tool_fout *out, const char *path);
/* 0, or -1 with a message printed. */
int tool_fout_write(struct tool_fout *out, const uint8_t *p, size_t n);
/* Makes the output final: fsync and rename over the path (stdout: a
 * flush). 0, or -1 with a message printed and the temporary removed. */
int tool_fout_commit(struct tool_fout *out);
/* Removes the temporary file (if any); safe after commit. */
void tool_fout_abort(struct tool_fout *out);

/* A progress line on stderr when it is a terminal and the input size is
 * known, at most five times a second. */
struct tool_progress {
    bool on;
    const char *what; /* "encrypt" */
    uint64_t total;
    struct timespec start, last;
};
void tool_progress_start(struct tool_progress *pg, const char *what,
                         const struct tool_fin *in);
void tool_progress_update(struct tool_progress *pg, uint64_t done);
/* The last line, ended by a newline (only if one was shown). */
void tool_progress_end(struct tool_progress *pg, uint64_t done);

#endif /* CMK_TOOL_FILE_IO_H */
