/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: helpers shared by the commands: messages, config loading, and
 * durable file writes (temp file, fsync, rename, fsync of the directory).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/tool.h"

void tool_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("cmk-tool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

struct cmk_config *tool_load_config(const char *path)
{
    struct cmk_config *cfg = NULL;
    char msg[1024];

    msg[0] = '\0';
    if (cmk_config_load(path, &cfg, msg, sizeof(msg)) != CMK_OK) {
        tool_err("%s", msg[0] ? msg : "configuration refused");
        return NULL;
    }
    return cfg;
}

struct cmk_tenant_cfg *tool_find_tenant(struct cmk_config *cfg,
                                        const char *label)
{
    size_t i;

    for (i = 0; i < cfg->n_tenants; i++) {
        if (strcmp(cfg->tenants[i].kms.label, label) == 0)
            return &cfg->tenants[i];
    }
    tool_err("%s: no tenant labelled \"%s\"", cfg->path, label);
    return NULL;
}

/* The config tool_on_tenant is running a command on (cmk-tool runs one
 * command per process), for helpers given only the tenant (rotlock.c
 * records a forced key change in its audit file). */
static const struct cmk_config *g_running;
/* The config file as it was just before it was read (stat first: a file
 * replaced between the two then looks changed, never unchanged). */
static struct stat g_running_st;
static bool g_running_st_ok;

int tool_on_tenant(const char *config, const char *label, tool_tenant_fn fn,
                   void *arg)
{
    struct cmk_config *cfg;
    const struct cmk_tenant_cfg *t;
    int rc;

    g_running_st_ok = stat(config, &g_running_st) == 0;
    cfg = tool_load_config(config);
    if (cfg == NULL)
        return TOOL_USAGE;
    t = tool_find_tenant(cfg, label);
    g_running = cfg;
    rc = t != NULL ? fn(arg, cfg, t) : TOOL_USAGE;
    g_running = NULL;
    cmk_config_free(cfg);
    return rc;
}

const struct cmk_config *tool_tenant_config(const struct cmk_tenant_cfg *t)
{
    size_t i;

    for (i = 0; g_running != NULL && i < g_running->n_tenants; i++) {
        if (&g_running->tenants[i] == t)
            return g_running;
    }
    return NULL;
}

/* Same file, same bytes as far as the inode tells: an atomic replace
 * (rename) gives another inode, an edit in place another mtime or size. */
static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

bool tool_config_changed(const struct cmk_tenant_cfg *t)
{
    const struct cmk_config *cfg = tool_tenant_config(t);
    struct stat now;

    if (cfg == NULL)
        return false; /* not loaded by tool_on_tenant: nothing to compare */
    return !g_running_st_ok || stat(cfg->path, &now) != 0 ||
           !same_file(&g_running_st, &now);
}

int tool_write_all(int fd, const uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tool_fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_temp(int fd, const char *data, size_t len, mode_t mode)
{
    if (fchmod(fd, mode) != 0 ||
        tool_write_all(fd, (const uint8_t *)data, len) != 0 || fsync(fd) != 0)
        return -1;
    return 0;
}

int tool_replace_file(const char *path, const char *data, size_t len,
                      mode_t mode)
{
    char tmp[PATH_MAX];
    int fd, rc = -1;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp)) {
        tool_err("%s: path too long", path);
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        tool_err("cannot create a temporary file next to %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (write_temp(fd, data, len, mode) != 0) {
        tool_err("%s: write failed: %s", tmp, strerror(errno));
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc != 0 || rename(tmp, path) != 0) {
        tool_err("cannot replace %s: %s", path, strerror(errno));
        rc = -1;
        goto out;
    }
    /* Renamed: the new content is in place even if this fails. */
    if (tool_fsync_parent(path) != 0)
        tool_err("warning: %s replaced, but syncing its directory failed: %s",
                 path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}
