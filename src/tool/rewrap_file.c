/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: blob files of "cmk-tool rewrap": read without following a link,
 * replaced atomically (temp file, fsync, rename, fsync of the directory)
 * with their mode kept, and only while still the file that was read.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/rewrap_int.h"
#include "tool/tool.h"

#define TEMP_TAG ".rewrap-"
#define TEMP_X "XXXXXX"

static int why(char *buf, size_t n, const char *what, int errnum)
{
    if (errnum != 0)
        snprintf(buf, n, "%s: %s", what, strerror(errnum));
    else
        snprintf(buf, n, "%s", what);
    return -1;
}

static int read_fd(int fd, const struct stat *st, struct cmk_buf *out, char *w,
                   size_t n)
{
    ssize_t got;
    size_t len = (size_t)st->st_size;

    if (!S_ISREG(st->st_mode))
        return why(w, n, "not a regular file", 0);
    if (st->st_size <= 0 || len > RW_MAX_BLOB)
        return why(w, n, st->st_size <= 0 ? "empty" : "too large for a blob",
                   0);
    if (cmk_buf_alloc(out, len) != CMK_OK)
        return why(w, n, "out of memory", 0);
    /* One read; a file that grew or shrank since fstat is refused. */
    do {
        got = pread(fd, out->p, len, 0);
    } while (got < 0 && errno == EINTR);
    if (got == (ssize_t)len)
        return 0;
    cmk_buf_free(out);
    return why(w, n, got < 0 ? "cannot read" : "changed while read",
               got < 0 ? errno : 0);
}

int rw_file_read(const char *path, struct cmk_buf *out, struct stat *st,
                 char *w, size_t n)
{
    int fd, rc;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return why(w, n,
                   errno == ELOOP ? "symbolic link, not followed"
                                  : "cannot open",
                   errno == ELOOP ? 0 : errno);
    if (fstat(fd, st) != 0)
        rc = why(w, n, "cannot stat", errno);
    else
        rc = read_fd(fd, st, out, w, n);
    close(fd);
    return rc;
}

bool rw_file_is_temp(const char *name)
{
    const char *tag = strstr(name, TEMP_TAG);

    return name[0] == '.' && tag != NULL &&
           strlen(tag) == sizeof(TEMP_TAG) - 1 + sizeof(TEMP_X) - 1;
}

/* DIR/.NAME.rewrap-XXXXXX for path DIR/NAME. */
static int temp_name(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    int dir = slash != NULL ? (int)(slash - path + 1) : 0;

    return snprintf(out, n, "%.*s.%s" TEMP_TAG TEMP_X, dir, path, path + dir) <
                   (int)n
               ? 0
               : -1;
}

/* Still the file read: same inode, size and modification time. */
static bool unchanged(const char *path, const struct stat *was)
{
    struct stat now;

    return lstat(path, &now) == 0 && now.st_dev == was->st_dev &&
           now.st_ino == was->st_ino && now.st_size == was->st_size &&
           now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

static int write_temp(int fd, mode_t mode, const uint8_t *p, size_t len)
{
    if (fchmod(fd, mode) != 0 || tool_write_all(fd, p, len) != 0 ||
        fsync(fd) != 0)
        return -1;
    return 0;
}

int rw_file_replace(const char *path, const struct stat *was, const uint8_t *p,
                    size_t len, char *w, size_t n)
{
    char tmp[PATH_MAX];
    int fd, rc = -1;

    if (temp_name(path, tmp, sizeof(tmp)) != 0)
        return why(w, n, "path too long", 0);
    fd = mkstemp(tmp);
    if (fd < 0)
        return why(w, n, "cannot create a temporary file beside it", errno);
    if (write_temp(fd, was->st_mode & 07777, p, len) != 0) {
        why(w, n, "cannot write the temporary file", errno);
        close(fd);
        goto out;
    }
    if (close(fd) != 0) {
        why(w, n, "cannot write the temporary file", errno);
        goto out;
    }
    /* A writer that replaced the file since it was read wins: its blob
     * is not overwritten by the old one's rewrap. */
    if (!unchanged(path, was)) {
        why(w, n, "changed while it was rewrapped: left as it is", 0);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        why(w, n, "cannot replace it", errno);
        goto out;
    }
    rc = 0;
    if (tool_fsync_parent(path) != 0) /* in place even so */
        tool_err("rewrap: %s: replaced, but syncing its directory failed: %s",
                 path, strerror(errno));
out:
    if (rc != 0)
        unlink(tmp);
    return rc;
}
