/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: growing the audit file (audit/agrow.h). The new space reads as
 * 0x00 and the file is at least that long (no longer than that when it
 * was shorter, as it was when it was longer); bytes already in it are
 * never overwritten, even when the caller's idea of the allocated end is
 * behind what other processes have grown and written meanwhile (a write
 * of 0x00 at that end would wipe their records); a file cut short under
 * its writers still ends past the space asked for (a copy into the
 * mapping there would otherwise be a SIGBUS); a file size limit is an
 * EFBIG that leaves the file as it was.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/agrow.h"

#define KIB ((uint64_t)1024)

struct fx {
    char path[64];
    int fd;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->path, sizeof(f->path), "/tmp/cmk-agrow-XXXXXX");
    f->fd = mkstemp(f->path);
    assert_true(f->fd >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    close(f->fd);
    unlink(f->path);
    free(f);
    return 0;
}

static uint64_t size_of(int fd)
{
    struct stat st;

    assert_int_equal(fstat(fd, &st), 0);
    return (uint64_t)st.st_size;
}

static void put(int fd, char c, uint64_t off, uint64_t n)
{
    char buf[4096];

    memset(buf, c, sizeof(buf));
    for (uint64_t i = 0; i < n; i += sizeof(buf)) {
        size_t k = n - i < sizeof(buf) ? (size_t)(n - i) : sizeof(buf);

        assert_int_equal(pwrite(fd, buf, k, (off_t)(off + i)), (ssize_t)k);
    }
}

/* Every byte of [off, off + n) is c. */
static void expect(int fd, char c, uint64_t off, uint64_t n)
{
    char buf[4096];

    for (uint64_t i = 0; i < n; i += sizeof(buf)) {
        size_t k = n - i < sizeof(buf) ? (size_t)(n - i) : sizeof(buf);

        assert_int_equal(pread(fd, buf, k, (off_t)(off + i)), (ssize_t)k);
        for (size_t j = 0; j < k; j++) {
            if (buf[j] != c)
                fail_msg("byte %llu is 0x%02x, not 0x%02x",
                         (unsigned long long)(off + i + j),
                         (unsigned char)buf[j], (unsigned char)c);
        }
    }
}

static void test_grows_with_zeros(void **state)
{
    struct fx *f = *state;

    put(f->fd, 'a', 0, 4 * KIB);
    assert_int_equal(cmk_agrow(f->fd, 4 * KIB, 1024 * KIB), 0);
    assert_int_equal(size_of(f->fd), 1028 * KIB);
    expect(f->fd, 'a', 0, 4 * KIB);
    expect(f->fd, '\0', 4 * KIB, 1024 * KIB);
    /* not a whole number of pages or of the write's pieces */
    assert_int_equal(cmk_agrow(f->fd, 1028 * KIB, 100001), 0);
    assert_int_equal(size_of(f->fd), 1028 * KIB + 100001);
    expect(f->fd, '\0', 1028 * KIB, 100001);
}

/* The caller knows the space allocated up to 4 KiB; another process has
 * grown the file to 12 KiB since and written records up to there. */
static void test_never_overwrites(void **state)
{
    struct fx *f = *state;

    put(f->fd, 'r', 0, 12 * KIB);
    assert_int_equal(cmk_agrow(f->fd, 4 * KIB, 64 * KIB), 0);
    expect(f->fd, 'r', 0, 12 * KIB);
    assert_int_equal(size_of(f->fd), 68 * KIB); /* only what was short */
    expect(f->fd, '\0', 12 * KIB, 56 * KIB);
}

/* Grown past the space asked for already: nothing appended. */
static void test_long_enough(void **state)
{
    struct fx *f = *state;

    put(f->fd, 'r', 0, 96 * KIB);
    assert_int_equal(cmk_agrow(f->fd, 4 * KIB, 64 * KIB), 0);
    assert_int_equal(size_of(f->fd), 96 * KIB);
    expect(f->fd, 'r', 0, 96 * KIB);
}

/* The file was cut to 1 KiB under writers who know 64 KiB allocated. */
static void test_cut_short(void **state)
{
    struct fx *f = *state;

    put(f->fd, 'c', 0, 1 * KIB);
    assert_int_equal(cmk_agrow(f->fd, 64 * KIB, 8 * KIB), 0);
    assert_true(size_of(f->fd) >= 72 * KIB);
    expect(f->fd, 'c', 0, 1 * KIB);
    expect(f->fd, '\0', 1 * KIB, 71 * KIB);
}

/* In a child: the file may not grow (RLIMIT_FSIZE at its size). Exit
 * codes name the step that went wrong. */
static int limited_child(int fd)
{
    struct rlimit rl;
    uint64_t size = size_of(fd);
    int e;

    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 2;
    rl.rlim_cur = (rlim_t)size;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3;
    e = cmk_agrow(fd, size, 64 * KIB);
    if (e != EFBIG)
        return 4;
    return size_of(fd) == size ? 0 : 5;
}

static void test_file_too_large(void **state)
{
    struct fx *f = *state;
    int status;
    pid_t child;

    put(f->fd, 'a', 0, 8 * KIB);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(limited_child(f->fd));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(size_of(f->fd), 8 * KIB);
    expect(f->fd, 'a', 0, 8 * KIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grows_with_zeros, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_enough, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_too_large, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
