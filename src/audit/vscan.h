/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the line scanner. Reads one file through a fixed buffer
 * and hands out its lines, runs of 0x00 and torn lines, each with its line
 * number and byte offset. Nothing is kept per line. Not thread safe.
 */
#ifndef CMK_AUDIT_VSCAN_H
#define CMK_AUDIT_VSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Longest line (newline included) a reader takes; longer ones are skipped
 * as one bad item. The read buffer holds at least two of them. */
#define CMK_VSCAN_LINE_MAX (1024u * 1024u)
#define CMK_VSCAN_BUF (4u * 1024u * 1024u)

enum cmk_vscan_kind {
    CMK_VSCAN_LINE,     /* p/len: a line, without its newline */
    CMK_VSCAN_TORN_NUL, /* p/len: bytes ended by 0x00, not by a newline */
    CMK_VSCAN_TORN_EOF, /* p/len: bytes at the end without a newline */
    CMK_VSCAN_LONG,     /* len bytes up to the next newline, over the max */
    CMK_VSCAN_ZEROS,    /* len bytes of 0x00 (between lines) */
    CMK_VSCAN_EOF,
};

struct cmk_vscan_item {
    enum cmk_vscan_kind kind;
    const char *p; /* valid until the next call; NULL for LONG, ZEROS */
    size_t len;    /* bytes of the item, terminator excluded */
    uint64_t line; /* 1-based number of the line the item starts */
    uint64_t off;  /* byte offset of its first byte in the file */
};

struct cmk_vscan {
    int fd;
    char *buf;
    size_t start, end; /* unread bytes: buf[start..end) */
    bool eof;
    uint64_t line; /* number of the line starting at buf[start] */
    uint64_t off;  /* file offset of buf[start] */
    uint64_t size; /* file size when opened (for progress) */
    int err;       /* errno of a failed read */
};

/* Opens path (read-only, no symlink check: the caller names the file).
 * CMK_E_IO with errno kept in s->err when it cannot be opened or is not a
 * regular file; CMK_E_NOMEM. */
cmk_err cmk_vscan_open(struct cmk_vscan *s, const char *path) CMK_WUR;
void cmk_vscan_close(struct cmk_vscan *s);

/* The next item. CMK_E_IO on a read error (s->err). */
cmk_err cmk_vscan_next(struct cmk_vscan *s, struct cmk_vscan_item *it) CMK_WUR;

#endif /* CMK_AUDIT_VSCAN_H */
