/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the tenant's key-change lock (rotlock.h): an flock never waited
 * for, the holder's description written into the locked file, and the
 * minimum interval between key changes, checked under the lock against
 * the time the last one completed (rotlast.h).
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

#include "tool/event.h"
#include "tool/rotlast.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/trust.h"
#include "util/utc.h"

#define LOCK_NAME "key-change.lock"
#define HOLDER_MAX 256
#define WHY_MAX 640

struct tool_rotlock {
    int fd;
    char *dir; /* the tenant's store directory */
    char what[TOOL_ROTLAST_WHAT_MAX + 1];
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
    char host[HOST_NAME_MAX + 1] = "unknown", when[32], line[HOLDER_MAX];
    int n;

    (void)gethostname(host, sizeof(host) - 1);
    (void)cmk_utc_format((int64_t)time(NULL), when);
    n = snprintf(line, sizeof(line), "%s, pid %ld on host %s since %s\n", what,
                 (long)getpid(), host, when);
    if (n > 0 && ftruncate(fd, 0) == 0)
        (void)tool_write_all(fd, (const uint8_t *)line,
                             (size_t)n < sizeof(line) ? (size_t)n
                                                      : sizeof(line) - 1);
}

/* rewrap moves blobs to the key of the moment: it changes no key. */
static bool is_key_change(const char *what)
{
    return strncmp(what, "rewrap", 6) != 0;
}

/* key_change_forced, before the forced change starts. */
static int record_forced(const struct cmk_tenant_cfg *t, const char *what,
                         const char *detail)
{
    const struct cmk_config *cfg = tool_tenant_config(t);
    struct tool_event ev;
    char op[64];

    if (cfg == NULL) {
        tool_err("tenant \"%s\": --force: no configuration to record the "
                 "override in",
                 t->kms.label);
        return -1;
    }
    snprintf(op, sizeof(op), "cmk-tool %s", what);
    tool_event_init(&ev);
    ev.event = "key_change_forced";
    ev.op = op;
    ev.tenant = t->kms.label;
    ev.result = "ok";
    ev.detail = detail;
    if (tool_audit_one(cfg, &ev) != 0)
        return -1;
    tool_err("tenant \"%s\": %s (recorded as key_change_forced)", t->kms.label,
             detail);
    return 0;
}

/* A change last.when + interval or later is allowed; one before is
 * refused, or forced and recorded. */
static int check_time(const struct cmk_tenant_cfg *t, const char *what,
                      unsigned flags, const struct tool_rotlast *last,
                      int64_t now)
{
    int64_t next = last->when + (int64_t)t->key_change_interval_s;
    char at[32], from[32], detail[WHY_MAX];

    if (now >= next)
        return 0;
    (void)cmk_utc_format(last->when, at);
    (void)cmk_utc_format(next, from);
    if ((flags & TOOL_ROTLOCK_FORCE) != 0) {
        snprintf(detail, sizeof(detail),
                 "%s forced %lld s after the last key change (%s at %s); "
                 "key_change_interval_seconds is %u",
                 what, (long long)(now - last->when), last->what, at,
                 t->key_change_interval_s);
        return record_forced(t, what, detail);
    }
    tool_err("tenant \"%s\": the last key change (%s) was at %s and "
             "key_change_interval_seconds is %u: the next is allowed from %s "
             "(in %lld s); --force overrides this (recorded in the audit "
             "file)",
             t->kms.label, last->what, at, t->key_change_interval_s, from,
             (long long)(next - now));
    return -1;
}

static int check_interval(const struct cmk_tenant_cfg *t, const char *what,
                          unsigned flags)
{
    char why[WHY_MAX / 2], detail[WHY_MAX];
    struct tool_rotlast last;
    int64_t now = (int64_t)time(NULL);
    int rc;

    if (!is_key_change(what) || t->key_change_interval_s == 0 ||
        (flags & TOOL_ROTLOCK_CONTINUE) != 0)
        return 0;
    rc = tool_rotlast_read(t->store_dir, now, &last, why, sizeof(why));
    if (rc == 1)
        return 0;
    if (rc == 0)
        return check_time(t, what, flags, &last, now);
    if ((flags & TOOL_ROTLOCK_FORCE) == 0) {
        tool_err("tenant \"%s\": the time of the last key change is unknown: "
                 "%s; --force overrides this (recorded in the audit file)",
                 t->kms.label, why);
        return -1;
    }
    snprintf(detail, sizeof(detail),
             "%s forced with the time of the last key change unknown: %s", what,
             why);
    return record_forced(t, what, detail);
}

static int open_lock(const struct cmk_tenant_cfg *t, int *out)
{
    char path[PATH_MAX], holder[HOLDER_MAX], why[WHY_MAX / 2];
    int fd;

    /* As C_Initialize does: made 0700 when missing, refused when another
     * user could change it. */
    if (cmk_trust_dir(t->store_dir, true, why, sizeof(why)) != CMK_OK) {
        tool_err("tenant \"%s\": store directory: %s", t->kms.label, why);
        return -1;
    }
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
    *out = fd;
    return 0;
}

int tool_rotlock_take(const struct cmk_tenant_cfg *t, const char *what,
                      unsigned flags, struct tool_rotlock **out)
{
    struct tool_rotlock *l;
    int fd;

    *out = NULL;
    if (!tool_rotlast_what_ok(what)) {
        tool_err("tenant \"%s\": bad key change name", t->kms.label);
        return -1;
    }
    if (open_lock(t, &fd) != 0)
        return -1;
    l = calloc(1, sizeof(*l));
    if (l == NULL || (l->dir = strdup(t->store_dir)) == NULL) {
        free(l);
        close(fd);
        tool_err("out of memory");
        return -1;
    }
    l->fd = fd;
    snprintf(l->what, sizeof(l->what), "%s", what);
    /* Under the lock: no other change can complete meanwhile, but one may
     * have completed between reading the config and taking the lock, and
     * this change would then start from keys that are no longer current
     * (a rewrap to a KEK past rotation, a rotation that undoes another). */
    if (tool_config_changed(t)) {
        tool_err("tenant \"%s\": %s changed since it was read (a key change "
                 "may have completed meanwhile): nothing done; run the "
                 "command again",
                 t->kms.label, tool_tenant_config(t)->path);
        tool_rotlock_release(l);
        return -1;
    }
    if (check_interval(t, what, flags) != 0) {
        tool_rotlock_release(l);
        return -1;
    }
    write_holder(fd, what);
    *out = l;
    return 0;
}

int tool_rotlock_changed(struct tool_rotlock *l)
{
    if (l == NULL)
        return -1;
    return tool_rotlast_write(l->dir, (int64_t)time(NULL), l->what);
}

void tool_rotlock_release(struct tool_rotlock *l)
{
    if (l == NULL)
        return;
    if (ftruncate(l->fd, 0) != 0) /* the holder line would only mislead */
        tool_err("cannot clear the key-change lock file: %s", strerror(errno));
    close(l->fd); /* releases the flock */
    free(l->dir);
    free(l);
}
