/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: ownership, mode and symlink checks on the files and directories
 * the module trusts; one line "PATH: problem" when one is refused.
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

#include "util/log.h"
#include "util/trust.h"

static cmk_err __attribute__((format(printf, 5, 6)))
say(char *why, size_t len, cmk_err err, const char *path, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    int n;

    if (why == NULL || len == 0)
        return err;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof(msg), fmt, ap); /* messages are short */
    va_end(ap);
    n = snprintf(why, len, "%s: %s", path, msg);
    if (n >= 0 && (size_t)n >= len && len >= 4)
        memcpy(why + len - 4, "...", 4);
    return err;
}

static cmk_err sys_fail(char *why, size_t len, const char *path,
                        const char *what, int e)
{
    char eb[128];

    return say(why, len, e == ENOENT ? CMK_E_KEY_NOT_FOUND : CMK_E_IO, path,
               "%s: %s", what, strerror_r(e, eb, sizeof(eb)));
}

static unsigned perm(const struct stat *st)
{
    return (unsigned)(st->st_mode & 07777);
}

static cmk_err check_owner(const struct stat *st, const char *path, char *why,
                           size_t len)
{
    uid_t me = geteuid();

    if (st->st_uid == 0 || st->st_uid == me)
        return CMK_OK;
    if (me == 0)
        return say(why, len, CMK_E_CONFIG, path,
                   "owned by uid %u, must be owned by root",
                   (unsigned)st->st_uid);
    return say(why, len, CMK_E_CONFIG, path,
               "owned by uid %u, must be owned by uid %u or root",
               (unsigned)st->st_uid, (unsigned)me);
}

/* One directory above a trusted object: owned by us or root; if group or
 * others may write it, only the sticky bit stops them renaming our entry. */
static cmk_err check_above(const char *dir, char *why, size_t len)
{
    struct stat st;
    cmk_err err;

    if (stat(dir, &st) != 0)
        return sys_fail(why, len, dir, "cannot stat", errno);
    if (!S_ISDIR(st.st_mode))
        return say(why, len, CMK_E_CONFIG, dir, "not a directory");
    err = check_owner(&st, dir, why, len);
    if (err != CMK_OK)
        return err;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
        return say(why, len, CMK_E_CONFIG, dir,
                   "writable by group or others without the sticky bit "
                   "(mode %04o)",
                   perm(&st));
    return CMK_OK;
}

/* Checks "/", "/a", "/a/b" ... up to the absolute directory dir. */
static cmk_err walk(const char *dir, char *why, size_t len)
{
    char p[PATH_MAX];
    size_t n = strlen(dir), i;
    cmk_err err;

    if (n == 0 || n >= sizeof(p) || dir[0] != '/')
        return say(why, len, CMK_E_CONFIG, dir, "not an absolute path");
    memcpy(p, dir, n + 1);
    err = check_above("/", why, len);
    for (i = 1; err == CMK_OK && i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        if (p[i - 1] == '/')
            continue; /* "//" or a trailing '/' */
        p[i] = '\0';
        err = check_above(p, why, len);
        p[i] = dir[i];
    }
    return err;
}

/* The directory part of path into out ("." or "/" when it has none). */
static bool parent_of(const char *path, char *out, size_t size)
{
    size_t n = strlen(path);

    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    while (n > 1 && path[n - 1] == '/')
        n--;
    if (n == 0)
        return snprintf(out, size, ".") < (int)size;
    if (n >= size)
        return false;
    memcpy(out, path, n);
    out[n] = '\0';
    return true;
}

cmk_err cmk_trust_parents(const char *path, char *why, size_t why_len)
{
    char dir[PATH_MAX], *real;
    cmk_err err = CMK_OK;

    if (path == NULL)
        return CMK_E_ARGS;
    if (!parent_of(path, dir, sizeof(dir)))
        return say(why, why_len, CMK_E_CONFIG, path, "path too long");
    if (dir[0] == '/')
        err = walk(dir, why, why_len);
    if (err != CMK_OK)
        return err;
    /* The directories the written path really leads through. */
    real = realpath(dir, NULL);
    if (real == NULL)
        return sys_fail(why, why_len, dir, "cannot resolve", errno);
    if (strcmp(real, dir) != 0)
        err = walk(real, why, why_len);
    free(real);
    return err;
}

cmk_err cmk_trust_fd(int fd, const char *path, unsigned flags, char *why,
                     size_t why_len)
{
    struct stat st;
    cmk_err err;

    if (path == NULL)
        return CMK_E_ARGS;
    if (fstat(fd, &st) != 0)
        return sys_fail(why, why_len, path, "cannot stat", errno);
    if (!S_ISREG(st.st_mode))
        return say(why, why_len, CMK_E_CONFIG, path, "not a regular file");
    err = check_owner(&st, path, why, why_len);
    if (err != CMK_OK)
        return err;
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return say(why, why_len, CMK_E_CONFIG, path,
                   "writable by group or others (mode %04o)", perm(&st));
    if ((flags & CMK_TRUST_SECRET) != 0 && (st.st_mode & 077) != 0)
        return say(why, why_len, CMK_E_CONFIG, path,
                   "accessible by group or others (mode %04o); it must be "
                   "0600 or stricter",
                   perm(&st));
    return CMK_OK;
}

cmk_err cmk_trust_open(const char *path, int oflags, mode_t mode,
                       unsigned flags, int *fd, char *why, size_t why_len)
{
    int of = oflags | O_CLOEXEC | O_NOCTTY, f, e;
    cmk_err err;

    if (fd == NULL || path == NULL)
        return CMK_E_ARGS;
    *fd = -1;
    if ((flags & CMK_TRUST_FOLLOW) == 0)
        of |= O_NOFOLLOW;
    /* A FIFO would block the open: refuse special files before it. */
    f = open(path, of | O_NONBLOCK, mode);
    if (f < 0) {
        e = errno;
        if (e == ELOOP && (flags & CMK_TRUST_FOLLOW) == 0)
            return say(why, why_len, CMK_E_CONFIG, path, "is a symbolic link");
        return sys_fail(why, why_len, path, "cannot open", e);
    }
    err = cmk_trust_fd(f, path, flags, why, why_len);
    if (err == CMK_OK)
        err = cmk_trust_parents(path, why, why_len);
    if (err == CMK_OK && (of & O_NONBLOCK) == 0 &&
        fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK) != 0)
        err = sys_fail(why, why_len, path, "cannot use", errno);
    if (err != CMK_OK) {
        close(f);
        return err;
    }
    *fd = f;
    return CMK_OK;
}

static cmk_err check_dir_stat(const struct stat *st, const char *path,
                              char *why, size_t len)
{
    cmk_err err;

    if (S_ISLNK(st->st_mode))
        return say(why, len, CMK_E_CONFIG, path, "is a symbolic link");
    if (!S_ISDIR(st->st_mode))
        return say(why, len, CMK_E_CONFIG, path, "not a directory");
    err = check_owner(st, path, why, len);
    if (err != CMK_OK)
        return err;
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return say(why, len, CMK_E_CONFIG, path,
                   "writable by group or others (mode %04o)", perm(st));
    return CMK_OK;
}

/* mkdir -p, mode 0700 for what it creates; existing entries are left to
 * the checks that follow. */
static void make_dirs(const char *path)
{
    char p[PATH_MAX];
    size_t n = strlen(path), i;

    if (n == 0 || n >= sizeof(p))
        return;
    memcpy(p, path, n + 1);
    for (i = 1; i < n; i++) {
        if (p[i] != '/')
            continue;
        p[i] = '\0';
        (void)mkdir(p, 0700);
        p[i] = '/';
    }
    (void)mkdir(p, 0700);
}

cmk_err cmk_trust_dir(const char *path, bool create, char *why, size_t why_len)
{
    struct stat st;
    cmk_err err;

    if (path == NULL)
        return CMK_E_ARGS;
    if (create)
        make_dirs(path);
    if (lstat(path, &st) != 0)
        return sys_fail(why, why_len, path, "cannot use directory", errno);
    err = check_dir_stat(&st, path, why, why_len);
    if (err == CMK_OK)
        err = cmk_trust_parents(path, why, why_len);
    return err;
}

cmk_err cmk_trust_dir_fd(int fd, const char *path, char *why, size_t why_len)
{
    struct stat st;
    cmk_err err;

    if (path == NULL)
        return CMK_E_ARGS;
    if (fstat(fd, &st) != 0)
        return sys_fail(why, why_len, path, "cannot stat", errno);
    err = check_dir_stat(&st, path, why, why_len);
    if (err == CMK_OK)
        err = cmk_trust_parents(path, why, why_len);
    return err;
}

cmk_err cmk_trust_dir_log(const char *what, const char *path, bool create)
{
    char why[PATH_MAX + 128];
    cmk_err err = cmk_trust_dir(path, create, why, sizeof(why));

    if (err != CMK_OK && err != CMK_E_ARGS)
        cmk_log_error("%s %s", what, why);
    return err;
}

cmk_err cmk_trust_fd_log(const char *what, int fd, const char *path,
                         unsigned flags)
{
    char why[PATH_MAX + 128];
    cmk_err err = cmk_trust_fd(fd, path, flags, why, sizeof(why));

    if (err == CMK_OK)
        err = cmk_trust_parents(path, why, sizeof(why));
    if (err != CMK_OK && err != CMK_E_ARGS)
        cmk_log_error("%s %s", what, why);
    return err;
}
