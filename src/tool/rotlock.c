/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the tenant's key-change lock (rotlock.h): an flock never waited
 * for, and the holder's description written into the locked file.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "tool/rotlock.h"
#include "tool/tool.h"

#define LOCK_NAME "key-change.lock"
#define HOLDER_MAX 256

struct tool_rotlock {
    int fd;
};

/* What the file says about its holder, trimmed to one line. */
static void read_holder(int fd, char *out, size_t len)
{
    ssize_t n = pread(fd, out, len - 1, 0);
    size_t i;

    if (n <= 0) {
        snprintf(out, len, "another process");
        return;
    }
    out[n] = '\0';
    for (i = 0; out[i] != '\0'; i++) {
        if (out[i] == '\n' || (unsigned char)out[i] < 0x20) {
            out[i] = '\0';
            break;
        }
    }
}

static void write_holder(int fd, const char *what)
{
    char host[HOST_NAME_MAX + 1] = "unknown", when[32] = "", line[HOLDER_MAX];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    (void)gethostname(host, sizeof(host) - 1);
    if (gmtime_r(&now, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    n = snprintf(line, sizeof(line), "%s, pid %ld on host %s since %s\n", what,
                 (long)getpid(), host, when);
    if (n > 0 && ftruncate(fd, 0) == 0)
        (void)tool_write_all(fd, (const uint8_t *)line,
                             (size_t)n < sizeof(line) ? (size_t)n
                                                      : sizeof(line) - 1);
}

int tool_rotlock_take(const struct cmk_tenant_cfg *t, const char *what,
                      unsigned flags, struct tool_rotlock **out)
{
    char path[PATH_MAX], holder[HOLDER_MAX];
    struct tool_rotlock *l;
    int fd;

    (void)flags; /* no minimum interval between key changes yet */
    *out = NULL;
    if (snprintf(path, sizeof(path), "%s/%s", t->store_dir, LOCK_NAME) >=
        (int)sizeof(path)) {
        tool_err("tenant \"%s\": store directory path too long", t->kms.label);
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        tool_err("tenant \"%s\": cannot open %s: %s", t->kms.label, path,
                 strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        read_holder(fd, holder, sizeof(holder));
        tool_err("tenant \"%s\": a key change is running: %s", t->kms.label,
                 holder);
        close(fd);
        return -1;
    }
    l = malloc(sizeof(*l));
    if (l == NULL) {
        close(fd);
        tool_err("out of memory");
        return -1;
    }
    write_holder(fd, what);
    l->fd = fd;
    *out = l;
    return 0;
}

int tool_rotlock_changed(struct tool_rotlock *l)
{
    (void)l; /* no minimum interval between key changes yet */
    return 0;
}

void tool_rotlock_release(struct tool_rotlock *l)
{
    if (l == NULL)
        return;
    if (ftruncate(l->fd, 0) != 0) /* the holder line would only mislead */
        tool_err("cannot clear the key-change lock file: %s", strerror(errno));
    close(l->fd); /* releases the flock */
    free(l);
}
