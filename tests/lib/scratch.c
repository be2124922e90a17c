/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: scratch directories under $TMPDIR, each removed by the process
 * that made it when it exits (tests/lib/scratch.h).
 */
#include <config.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tests/lib/scratch.h"

#define MAX_DIRS 64

/* Directories still to remove at exit, each with the process that made
 * it: a forked child inherits the list but must not remove its parent's
 * directories when it exits. */
static struct {
    pid_t owner;
    char path[PATH_MAX];
} made[MAX_DIRS];
static int at_exit_registered;

int test_scratch_base(char *base, size_t size)
{
    const char *env = getenv("TMPDIR");
    char real[PATH_MAX];
    const char *use = "/tmp";
    int n;

    if (env != NULL && env[0] == '/' && realpath(env, real) != NULL)
        use = real;
    n = snprintf(base, size, "%s", use);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Pre-order: a directory made read-only by a test is opened up first so
 * that its entries can be removed. */
static int open_up(const char *p, const struct stat *st, int flag,
                   struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_D || flag == FTW_DNR)
        (void)chmod(p, (st->st_mode & 07777) | S_IRWXU);
    return 0;
}

static int remove_one(const char *p, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(p);
    return 0;
}

static void forget(const char *dir)
{
    int i;

    for (i = 0; i < MAX_DIRS; i++) {
        if (made[i].path[0] != '\0' && strcmp(made[i].path, dir) == 0)
            made[i].path[0] = '\0';
    }
}

int test_scratch_remove(const char *dir)
{
    struct stat st;

    forget(dir);
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    (void)nftw(dir, open_up, 16, FTW_PHYS);
    (void)nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return lstat(dir, &st) != 0 && errno == ENOENT ? 0 : -1;
}

static void remove_all_at_exit(void)
{
    pid_t self = getpid();
    char path[PATH_MAX];
    int i;

    for (i = 0; i < MAX_DIRS; i++) {
        if (made[i].path[0] == '\0' || made[i].owner != self)
            continue;
        memcpy(path, made[i].path, sizeof(path));
        if (test_scratch_remove(path) != 0)
            fprintf(stderr, "scratch: could not remove %s\n", path);
    }
}

static int remember(const char *dir)
{
    int i;

    if (!at_exit_registered) {
        if (atexit(remove_all_at_exit) != 0)
            return -1;
        at_exit_registered = 1;
    }
    for (i = 0; i < MAX_DIRS; i++) {
        if (made[i].path[0] == '\0') {
            made[i].owner = getpid();
            snprintf(made[i].path, sizeof(made[i].path), "%s", dir);
            return 0;
        }
    }
    errno = ENOSPC;
    return -1;
}

int test_scratch_make(const char *prefix, char *dir, size_t size)
{
    char base[PATH_MAX];
    int n;

    if (test_scratch_base(base, sizeof(base)) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    n = snprintf(dir, size, "%s/%s-XXXXXX", base, prefix);
    if (n < 0 || (size_t)n >= size || (size_t)n >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdtemp(dir) == NULL)
        return -1;
    if (remember(dir) != 0) {
        (void)rmdir(dir);
        return -1;
    }
    return 0;
}
