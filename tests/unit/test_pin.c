/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: PIN guessing limits through the function list (tenants
 * "alpha" and "beta" of tests/lib/tenant, default max_pin_failures 10):
 * CKR_PIN_INCORRECT then CKR_PIN_LOCKED even with the right PIN, the
 * CK_TOKEN_INFO PIN flags at each step, the delays (on a fake clock whose
 * sleep only moves it), the audit records, cmk-tool pin-reset, a count
 * shared by processes, and the counter file's own protections.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "core/pinguard.h"
#include "pkcs11/entry.h"
#include "tests/lib/tenant.h"

#define PIN_FLAGS                                                              \
    (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)

static struct test_env tenv;
static CK_UTF8CHAR pin_ok[] = TEST_PIN, pin_bad[] = "0000";
static CK_FUNCTION_LIST_PTR p;
static char state_dir[300]; /* alpha's store directory */

/* ---- Fake clock: sleeping moves time, nothing waits ---- */

static int64_t fake_now = 1700000000;
static unsigned long slept;

static int64_t now_fake(void)
{
    return fake_now;
}

static void sleep_fake(unsigned s)
{
    fake_now += s;
    slept += s;
}

static int setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0)
        return -1;
    snprintf(state_dir, sizeof(state_dir), "%s/store/alpha", tenv.dir);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    cmk_pin_set_clock(now_fake, sleep_fake);
    slept = 0;
    return p->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    (void)p->C_Finalize(NULL);
    test_env_remove(&tenv);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static CK_SESSION_HANDLE open_ro(CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;

    assert_int_equal(p->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_OK);
    return h;
}

static CK_FLAGS pin_flags(CK_SLOT_ID slot)
{
    CK_TOKEN_INFO info;

    assert_int_equal(p->C_GetTokenInfo(slot, &info), CKR_OK);
    return info.flags & PIN_FLAGS;
}

static CK_RV login(CK_SESSION_HANDLE h, CK_UTF8CHAR *pin)
{
    return p->C_Login(h, CKU_USER, pin, strlen((const char *)pin));
}

static unsigned failures(void)
{
    struct cmk_pin_state st;

    assert_int_equal(cmk_pin_read(state_dir, &st), CMK_OK);
    return st.failures;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    rewind(fp);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return buf;
}

static int count(const char *text, const char *a, const char *b)
{
    const char *line = text, *end;
    char one[4096];
    int hits = 0;
    size_t len;

    while ((end = strchr(line, '\n')) != NULL) {
        len = (size_t)(end - line) < sizeof(one) - 1 ? (size_t)(end - line)
                                                     : sizeof(one) - 1;
        memcpy(one, line, len);
        one[len] = '\0';
        if (strstr(one, a) != NULL && (b == NULL || strstr(one, b) != NULL))
            hits++;
        line = end + 1;
    }
    return hits;
}

/* Runs cmk-tool from the build tree; returns its exit status. */
static int tool(const char *args)
{
    const char *top = getenv("top_builddir");
    char cmd[1024];
    int rc;

    snprintf(cmd, sizeof(cmd), "'%s/cmk-tool' %s >/dev/null",
             top != NULL ? top : ".", args);
    rc = system(cmd);
    assert_true(rc != -1 && WIFEXITED(rc));
    return WEXITSTATUS(rc);
}

/* ---- Tests ---- */

static void test_delay_schedule(void **state)
{
    static const unsigned want[] = {0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60};
    unsigned i;

    (void)state;
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(cmk_pin_delay(i), want[i]);
    assert_int_equal(cmk_pin_delay(1000), CMK_PIN_DELAY_MAX);
}

/* Ten wrong PINs: each CKR_PIN_INCORRECT with the flags PKCS#11 defines,
 * then CKR_PIN_LOCKED for the right PIN too; the waits between attempts
 * add up to the schedule; pin-reset restores login. */
static void test_lockout_and_reset(void **state)
{
    CK_SESSION_HANDLE h = open_ro(0);
    char args[700], *text;
    unsigned i;

    (void)state;
    assert_int_equal(pin_flags(0), 0);
    for (i = 1; i <= 10; i++) {
        assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
        assert_int_equal(failures(), i);
        assert_int_equal(pin_flags(0),
                         CKF_USER_PIN_COUNT_LOW |
                             (i == 9 ? CKF_USER_PIN_FINAL_TRY : 0) |
                             (i == 10 ? CKF_USER_PIN_LOCKED : 0));
    }
    /* waits before attempts 2..10: delay(1) .. delay(9) */
    assert_int_equal(slept, 0 + 0 + 1 + 2 + 4 + 8 + 16 + 32 + 60);
    assert_int_equal(login(h, pin_ok), CKR_PIN_LOCKED);
    assert_int_equal(login(h, pin_bad), CKR_PIN_LOCKED);
    assert_int_equal(failures(), 10);  /* not counted, not checked */
    assert_int_equal(pin_flags(1), 0); /* beta is not affected */

    snprintf(args, sizeof(args), "pin-reset --config '%s' --tenant alpha",
             tenv.config);
    assert_int_equal(tool(args), 0);
    assert_int_equal(pin_flags(0), 0);
    assert_int_equal(login(h, pin_ok), CKR_OK);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);

    text = read_all(tenv.audit);
    assert_int_equal(
        count(text, "\"event\":\"login\"", "\"result\":\"CKR_PIN_INCORRECT\""),
        10);
    assert_int_equal(
        count(text, "\"event\":\"login\"", "\"result\":\"CKR_PIN_LOCKED\""), 2);
    assert_int_equal(count(text, "\"event\":\"pin_locked\"",
                           "\"detail\":\"user PIN locked after 10 failures\""),
                     1);
    assert_int_equal(count(text, "\"event\":\"pin_reset\"",
                           "\"detail\":\"cleared 10 failures\""),
                     1);
    free(text);
    /* every writer's chains verify, cmk-tool pin-reset's included */
    snprintf(args, sizeof(args), "audit verify --config '%s' '%s'", tenv.config,
             tenv.audit);
    assert_int_equal(tool(args), 0);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK); /* for teardown */
}

/* A good PIN resets the count; the flags go with it. */
static void test_success_resets(void **state)
{
    CK_SESSION_HANDLE h = open_ro(0);

    (void)state;
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(pin_flags(0), CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(login(h, pin_ok), CKR_OK);
    assert_int_equal(failures(), 0);
    assert_int_equal(pin_flags(0), 0);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    /* a fresh series starts without delays */
    slept = 0;
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(slept, 0);
}

/* Child: n wrong PINs on alpha through its own module instance. */
static int guesser(int n)
{
    CK_SESSION_HANDLE h;
    int i;

    if (p->C_Initialize(NULL) != CKR_OK ||
        p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
        return 2;
    for (i = 0; i < n; i++) {
        if (login(h, pin_bad) != CKR_PIN_INCORRECT)
            return 3;
    }
    (void)p->C_Finalize(NULL);
    return 0;
}

/* Two processes guessing at once share one count: 5 + 5 lock the PIN
 * for the parent, which never guessed. */
static void test_shared_by_processes(void **state)
{
    CK_SESSION_HANDLE h = open_ro(0);
    pid_t kids[2];
    int i, st;

    (void)state;
    for (i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(guesser(5));
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(failures(), 10);
    assert_int_equal(pin_flags(0),
                     CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED);
    assert_int_equal(login(h, pin_ok), CKR_PIN_LOCKED);
}

/* A delay set by another process holds here too: its not_before is in
 * the shared file, so a parallel process cannot skip it. */
static void test_delay_is_shared(void **state)
{
    CK_SESSION_HANDLE h = open_ro(0);
    struct cmk_pin_state st;
    pid_t kid;
    int ws;

    (void)state;
    kid = fork();
    assert_true(kid >= 0);
    if (kid == 0)
        _exit(guesser(4)); /* after 4 failures: wait 2 s */
    assert_int_equal(waitpid(kid, &ws, 0), kid);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_int_equal(cmk_pin_read(state_dir, &st), CMK_OK);
    assert_int_equal(st.failures, 4);
    /* the child's clock moved 1 s (its wait before attempt 4) */
    assert_int_equal(st.not_before, fake_now + 1 + 2);
    slept = 0;
    assert_int_equal(login(h, pin_ok), CKR_OK);
    assert_int_equal(slept, 3);
}

/* No store directory (C_Initialize made one for the store id; it is
 * taken away here, as by an administrator cleaning up a tenant without
 * token objects): the counter creates it again, owner-only. */
static void test_store_dir_created(void **state)
{
    CK_SESSION_HANDLE h = open_ro(1);
    char path[400];
    struct stat st;

    (void)state;
    snprintf(path, sizeof(path), "%s/store/beta/store-id", tenv.dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/store/beta", tenv.dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/store/beta/" CMK_PIN_STATE_FILE, tenv.dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(pin_flags(1), CKF_USER_PIN_COUNT_LOW);
}

/* The counter file is trusted like the store: a symlink or a damaged
 * file fails the login closed and changes nothing; pin-reset repairs a
 * damaged one. */
static void test_state_file_protected(void **state)
{
    CK_SESSION_HANDLE h = open_ro(0);
    char path[400], target[400], args[700];
    struct stat st;
    int fd;

    (void)state;
    assert_int_equal(login(h, pin_bad), CKR_PIN_INCORRECT);
    snprintf(path, sizeof(path), "%s/" CMK_PIN_STATE_FILE, state_dir);
    snprintf(target, sizeof(target), "%s/elsewhere", tenv.dir);
    fd = open(target, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(login(h, pin_ok), CKR_DEVICE_ERROR);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(unlink(path), 0);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "failures=0\n", 11), 11);
    close(fd);
    assert_int_equal(login(h, pin_ok), CKR_DEVICE_ERROR);
    snprintf(args, sizeof(args), "pin-reset --config '%s' --tenant alpha",
             tenv.config);
    assert_int_equal(tool(args), 0);
    assert_int_equal(login(h, pin_ok), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay_schedule),
        cmocka_unit_test_setup_teardown(test_lockout_and_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_success_resets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_by_processes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delay_is_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_dir_created, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_state_file_protected, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL) != 0;
}
