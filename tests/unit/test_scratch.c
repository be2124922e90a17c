/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the scratch directories of the unit tests (tests/lib/scratch.c
 * and test_env_make): made under $TMPDIR, gone when the process that made
 * them exits even after a failed assertion, kept when a forked child exits.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/scratch.h"
#include "tests/lib/tenant.h"

static char base[PATH_MAX]; /* this run's stand-in for $TMPDIR */
static char *saved_tmpdir;

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int setup(void **state)
{
    const char *t = getenv("TMPDIR");

    (void)state;
    saved_tmpdir = t != NULL ? strdup(t) : NULL;
    if (test_scratch_make("cmk-scratch", base, sizeof(base)) != 0)
        return -1;
    return setenv("TMPDIR", base, 1);
}

static int teardown(void **state)
{
    (void)state;
    if (saved_tmpdir != NULL)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(saved_tmpdir);
    return test_scratch_remove(base);
}

/* test_env_make puts its tenants under $TMPDIR, not /tmp. */
static void test_env_under_tmpdir(void **state)
{
    struct test_env env;
    char want[PATH_MAX + 16], path[PATH_MAX + 32];

    (void)state;
    assert_int_equal(test_env_make(&env), 0);
    snprintf(want, sizeof(want), "%s/cmk-test-", base);
    assert_true(starts_with(env.dir, want));
    snprintf(path, sizeof(path), "%s/config.json", env.dir);
    assert_string_equal(env.config, path);
    assert_true(exists(env.config));
    test_env_remove(&env);
    assert_false(exists(env.dir));
}

/* A test that fails before test_env_remove (cmocka goes on, main returns)
 * leaves nothing: the directory goes when its process exits. */
static void test_env_gone_after_failed_test(void **state)
{
    char dir[sizeof(((struct test_env *)0)->dir)] = {0};
    int fd[2], status;
    pid_t kid;

    (void)state;
    assert_int_equal(pipe(fd), 0);
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        struct test_env env = {0};
        int ok =
            test_env_make(&env) == 0 &&
            write(fd[1], env.dir, sizeof(env.dir)) == (ssize_t)sizeof(env.dir);

        exit(ok ? 1 : 2); /* as after a failed assertion: no remove */
    }
    close(fd[1]);
    assert_int_equal(read(fd[0], dir, sizeof(dir)), (ssize_t)sizeof(dir));
    close(fd[0]);
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(starts_with(dir, base));
    assert_false(exists(dir));
}

/* A forked child's exit removes nothing its parent made. */
static void test_child_exit_keeps_parent_dirs(void **state)
{
    char dir[PATH_MAX];
    int status;
    pid_t kid;

    (void)state;
    assert_int_equal(test_scratch_make("cmk-parent", dir, sizeof(dir)), 0);
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        exit(0);
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(exists(dir));
    assert_int_equal(test_scratch_remove(dir), 0);
    assert_false(exists(dir));
}

/* Removal reaches into read-only directories and does not follow a
 * symbolic link out of the tree. */
static void test_remove_tree(void **state)
{
    char dir[PATH_MAX], out[PATH_MAX], p[PATH_MAX + 32], q[PATH_MAX + 32];
    int fd;

    (void)state;
    assert_int_equal(test_scratch_make("cmk-tree", dir, sizeof(dir)), 0);
    assert_int_equal(test_scratch_make("cmk-out", out, sizeof(out)), 0);
    snprintf(q, sizeof(q), "%s/keep", out);
    fd = open(q, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/link", dir);
    assert_int_equal(symlink(out, p), 0);
    snprintf(p, sizeof(p), "%s/ro", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof(p), "%s/ro/file", dir);
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p, sizeof(p), "%s/ro", dir);
    assert_int_equal(chmod(p, 0500), 0);
    assert_int_equal(test_scratch_remove(dir), 0);
    assert_false(exists(dir));
    assert_true(exists(q));
    assert_int_equal(test_scratch_remove(out), 0);
    assert_int_equal(test_scratch_remove(out), 0); /* gone already: fine */
}

/* $TMPDIR is used with its links resolved; unset, empty, relative or
 * missing, /tmp. */
static void test_base(void **state)
{
    char real[PATH_MAX + 16], link[PATH_MAX + 16], got[PATH_MAX];

    (void)state;
    snprintf(real, sizeof(real), "%s/real", base);
    snprintf(link, sizeof(link), "%s/link", base);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_int_equal(setenv("TMPDIR", link, 1), 0);
    assert_int_equal(test_scratch_base(got, sizeof(got)), 0);
    assert_string_equal(got, real);
    assert_int_equal(setenv("TMPDIR", "", 1), 0);
    assert_int_equal(test_scratch_base(got, sizeof(got)), 0);
    assert_string_equal(got, "/tmp");
    assert_int_equal(setenv("TMPDIR", "relative/dir", 1), 0);
    assert_int_equal(test_scratch_base(got, sizeof(got)), 0);
    assert_string_equal(got, "/tmp");
    assert_int_equal(setenv("TMPDIR", "/nonexistent/cmk", 1), 0);
    assert_int_equal(test_scratch_base(got, sizeof(got)), 0);
    assert_string_equal(got, "/tmp");
    assert_int_equal(unsetenv("TMPDIR"), 0);
    assert_int_equal(test_scratch_base(got, sizeof(got)), 0);
    assert_string_equal(got, "/tmp");
    assert_int_equal(test_scratch_base(got, 4), -1);
    assert_int_equal(setenv("TMPDIR", base, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_under_tmpdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_gone_after_failed_test, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_child_exit_keeps_parent_dirs,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
