/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: audit write failures injected under the module (auditfd.h).
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/auditfd.h"

static int find_fd(const char *path)
{
    char link[64], target[512];
    ssize_t n;
    int fd;

    for (fd = 3; fd < 1024; fd++) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0)
            return fd;
    }
    return -1;
}

static void point(int fd, const char *to, int flags)
{
    int other = open(to, flags | O_CLOEXEC);

    assert_true(other >= 0);
    assert_int_equal(dup3(other, fd, O_CLOEXEC), fd);
    close(other);
}

int taudit_break(const char *path)
{
    int fd = find_fd(path);

    assert_true(fd >= 0);
    point(fd, "/dev/full", O_WRONLY);
    return fd;
}

void taudit_mend(const char *path, int fd)
{
    point(fd, path, O_WRONLY | O_APPEND);
}
