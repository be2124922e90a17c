/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the tenant's key-change lock of cmk-tool (tool/rotlock.h): a
 * second taker is refused at once with a message naming the holder, the
 * lock is free again after a release and after the holder process dies,
 * and the lock file is never followed through a symlink.
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/scratch.h"
#include "tool/rotlock.h"

static char dir[256];
static char label[] = "acme";
static struct cmk_tenant_cfg tenant;

static int setup(void **state)
{
    (void)state;
    if (test_scratch_make("cmk-rotlock", dir, sizeof(dir)) != 0)
        return -1;
    memset(&tenant, 0, sizeof(tenant));
    tenant.kms.label = label;
    tenant.store_dir = dir;
    return 0;
}

/* Runs take() with stderr captured into err (NUL-terminated). */
static int take_quiet(const char *what, struct tool_rotlock **l, char *err,
                      size_t len)
{
    char path[300];
    int saved = dup(2), fd, rc;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    rc = tool_rotlock_take(&tenant, what, 0, l);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, err, len - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static void test_second_taker_refused_with_holder(void **state)
{
    struct tool_rotlock *a = NULL, *b = NULL;
    char err[512], want[128];

    (void)state;
    assert_int_equal(tool_rotlock_take(&tenant, "rotate-cmk", 0, &a), 0);
    assert_non_null(a);
    /* flock is per open file: a second open in the same process is a
     * second holder, as another process would be. */
    assert_int_equal(take_quiet("rotate-kek", &b, err, sizeof(err)), -1);
    assert_null(b);
    snprintf(want, sizeof(want),
             "cmk-tool: tenant \"acme\": a key change is running: "
             "rotate-cmk, pid %ld on host ",
             (long)getpid());
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, " since 20"));
    tool_rotlock_release(a);
    assert_int_equal(tool_rotlock_take(&tenant, "rotate-kek", 0, &b), 0);
    tool_rotlock_release(b);
    tool_rotlock_release(NULL);
}

static void test_lock_dies_with_its_process(void **state)
{
    struct tool_rotlock *l = NULL;
    int p[2], status;
    pid_t child;
    char c;

    (void)state;
    assert_int_equal(pipe(p), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct tool_rotlock *mine = NULL;

        close(p[0]);
        if (tool_rotlock_take(&tenant, "rewrap", 0, &mine) != 0)
            _exit(1);
        if (write(p[1], "x", 1) != 1)
            _exit(1);
        pause(); /* killed holding it */
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    {
        char err[512];

        assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "rewrap, pid "));
    }
    kill(child, SIGKILL);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(tool_rotlock_take(&tenant, "import-key", 0, &l), 0);
    tool_rotlock_release(l);
}

static void test_symlink_not_followed(void **state)
{
    char path[300], target[300], err[512];
    struct tool_rotlock *l = NULL;

    (void)state;
    snprintf(path, sizeof(path), "%s/key-change.lock", dir);
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(take_quiet("rotate-cmk", &l, err, sizeof(err)), -1);
    assert_null(l);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(access(target, F_OK), -1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_taker_refused_with_holder),
        cmocka_unit_test(test_lock_dies_with_its_process),
        cmocka_unit_test(test_symlink_not_followed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
