/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit (verify): the line scanner over a fixed read buffer. A line ends
 * at a newline; a 0x00 ends it too (a reservation partly filled), and a
 * run of 0x00 is handed out as one item, so the caller can resynchronise
 * on whatever follows (docs/audit-format.md, "Lines").
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/vscan.h"

cmk_err cmk_vscan_open(struct cmk_vscan *s, const char *path)
{
    struct stat st;

    memset(s, 0, sizeof(*s));
    s->line = 1;
    s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (s->fd < 0) {
        s->err = errno;
        return CMK_E_IO;
    }
    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode))
        s->size = (uint64_t)st.st_size;
    (void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    s->buf = malloc(CMK_VSCAN_BUF);
    if (s->buf == NULL) {
        cmk_vscan_close(s);
        return CMK_E_NOMEM;
    }
    return CMK_OK;
}

void cmk_vscan_close(struct cmk_vscan *s)
{
    if (s->fd >= 0)
        (void)close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
}

/* Moves the unread bytes to the front and reads once more. */
static cmk_err fill(struct cmk_vscan *s)
{
    ssize_t n;

    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    do {
        n = read(s->fd, s->buf + s->end, CMK_VSCAN_BUF - s->end);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        s->err = errno;
        return CMK_E_IO;
    }
    s->eof = n == 0;
    s->end += (size_t)n;
    return CMK_OK;
}

static void advance(struct cmk_vscan *s, size_t n)
{
    s->start += n;
    s->off += n;
}

static void begin(const struct cmk_vscan *s, struct cmk_vscan_item *it,
                  enum cmk_vscan_kind kind)
{
    it->kind = kind;
    it->p = NULL;
    it->len = 0;
    it->line = s->line;
    it->off = s->off;
}

/* A run of 0x00, across refills. */
static cmk_err zeros(struct cmk_vscan *s, struct cmk_vscan_item *it)
{
    cmk_err err = CMK_OK;
    size_t n;

    begin(s, it, CMK_VSCAN_ZEROS);
    for (;;) {
        for (n = 0; s->start + n < s->end && s->buf[s->start + n] == '\0'; n++)
            ;
        advance(s, n);
        it->len += n;
        if (s->start < s->end || s->eof)
            return CMK_OK;
        err = fill(s);
        if (err != CMK_OK)
            return err;
    }
}

/* A line over the maximum: skipped up to and with its newline. */
static cmk_err skip_long(struct cmk_vscan *s, struct cmk_vscan_item *it)
{
    const char *nl;
    cmk_err err;
    size_t n;

    begin(s, it, CMK_VSCAN_LONG);
    for (;;) {
        n = s->end - s->start;
        nl = memchr(s->buf + s->start, '\n', n);
        if (nl != NULL) {
            n = (size_t)(nl - (s->buf + s->start));
            it->len += n;
            advance(s, n + 1);
            s->line++;
            return CMK_OK;
        }
        it->len += n;
        advance(s, n);
        if (s->eof)
            return CMK_OK;
        err = fill(s);
        if (err != CMK_OK)
            return err;
    }
}

static void take(struct cmk_vscan *s, struct cmk_vscan_item *it,
                 enum cmk_vscan_kind kind, size_t len, size_t skip)
{
    begin(s, it, kind);
    it->p = s->buf + s->start;
    it->len = len;
    advance(s, len + skip);
    if (skip != 0)
        s->line++;
}

cmk_err cmk_vscan_next(struct cmk_vscan *s, struct cmk_vscan_item *it)
{
    const char *p, *nl, *z;
    size_t avail, scan;
    cmk_err err;

    for (;;) {
        avail = s->end - s->start;
        p = s->buf + s->start;
        if (avail > 0 && p[0] == '\0')
            return zeros(s, it);
        scan = avail < CMK_VSCAN_LINE_MAX ? avail : CMK_VSCAN_LINE_MAX;
        nl = memchr(p, '\n', scan);
        if (nl != NULL)
            scan = (size_t)(nl - p);
        z = memchr(p, '\0', scan);
        if (z != NULL) {
            take(s, it, CMK_VSCAN_TORN_NUL, (size_t)(z - p), 0);
            return CMK_OK;
        }
        if (nl != NULL) {
            take(s, it, CMK_VSCAN_LINE, scan, 1);
            return CMK_OK;
        }
        if (avail >= CMK_VSCAN_LINE_MAX)
            return skip_long(s, it);
        if (s->eof) {
            if (avail == 0) {
                begin(s, it, CMK_VSCAN_EOF);
                return CMK_OK;
            }
            take(s, it, CMK_VSCAN_TORN_EOF, avail, 0);
            return CMK_OK;
        }
        err = fill(s);
        if (err != CMK_OK)
            return err;
    }
}
