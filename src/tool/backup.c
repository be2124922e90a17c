/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: a dated copy of a file about to be replaced (rotate-cmk keeps the
 * config it rewrites), never overwriting an earlier copy.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool/tool.h"

#define MAX_TRIES 100

/* Creates name exclusively; the next free "-N" when it exists. */
static int create_new(const char *path, const char *stamp, char *name,
                      size_t name_len)
{
    int i, n, fd;

    for (i = 1; i <= MAX_TRIES; i++) {
        if (i == 1)
            n = snprintf(name, name_len, "%s.bak.%s", path, stamp);
        else
            n = snprintf(name, name_len, "%s.bak.%s-%d", path, stamp, i);
        if (n < 0 || (size_t)n >= name_len) {
            tool_err("%s: path too long for a backup", path);
            return -1;
        }
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0)
        tool_err("cannot create a backup of %s (%s): %s", path, name,
                 strerror(errno));
    return fd;
}

int tool_backup_file(const char *path, const char *data, size_t len,
                     mode_t mode, char *name, size_t name_len)
{
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    int fd, rc = -1;

    if (gmtime_r(&now, &tm) == NULL ||
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0) {
        tool_err("cannot read the clock for a backup name");
        return -1;
    }
    fd = create_new(path, stamp, name, name_len);
    if (fd < 0)
        return -1;
    /* The config's mode without any access for others. */
    if (fchmod(fd, mode & 0770) != 0 ||
        tool_write_all(fd, (const uint8_t *)data, len) != 0 || fsync(fd) != 0)
        tool_err("%s: write failed: %s", name, strerror(errno));
    else
        rc = 0;
    if (close(fd) != 0 && rc == 0) {
        tool_err("%s: write failed: %s", name, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(name);
    else if (tool_fsync_parent(name) != 0)
        tool_err("warning: backup %s written, but syncing its directory "
                 "failed: %s",
                 name, strerror(errno));
    return rc;
}
