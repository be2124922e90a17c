/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the tenant's key-change lock of cmk-tool (tool/rotlock.h): a
 * second taker is refused at once with a message naming the holder, the
 * lock is free again after a release and after the holder process dies,
 * and the lock file is never followed through a symlink. The minimum
 * interval between key changes: refused within it with the exact times,
 * allowed after it (times written into key-change.last here, in the
 * past), recorded by tool_rotlock_changed, not applied to rewrap or with
 * interval 0, a damaged or untrusted record refused, and --force passing
 * only when the config can record key_change_forced, which it then holds.
 */
#include <config.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
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

#include "mech/mech.h"
#include "tests/lib/scratch.h"
#include "tool/rotlock.h"
#include "tool/tool.h"
#include "util/secpool.h"

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
static int take_flags(const struct cmk_tenant_cfg *t, const char *what,
                      unsigned flags, struct tool_rotlock **l, char *err,
                      size_t len)
{
    char path[300];
    int saved = dup(2), fd, rc;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    rc = tool_rotlock_take(t, what, flags, l);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, err, len - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static int take_quiet(const char *what, struct tool_rotlock **l, char *err,
                      size_t len)
{
    return take_flags(&tenant, what, 0, l, err, len);
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

/* ---- the minimum interval ---- */

static void last_path(const char *d, char *path, size_t len)
{
    snprintf(path, len, "%s/key-change.last", d);
}

/* d/key-change.last holds content, with mode. */
static void write_last(const char *d, const char *content, mode_t mode)
{
    char path[300];
    int fd;

    last_path(d, path, sizeof(path));
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)),
                     (ssize_t)strlen(content));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void unlink_last(void)
{
    char path[300];

    last_path(dir, path, sizeof(path));
    unlink(path);
}

static void write_time(const char *d, long long when, const char *what)
{
    char line[64];

    snprintf(line, sizeof(line), "%lld %s\n", when, what);
    write_last(d, line, 0600);
}

static void utc(long long t, char *out, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    assert_non_null(gmtime_r(&tt, &tm));
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void test_interval_refused_with_times(void **state)
{
    long long now = (long long)time(NULL), left;
    struct tool_rotlock *l = NULL;
    char err[1024], want[512], at[32], from[32];
    char *p;

    (void)state;
    tenant.key_change_interval_s = 600;
    write_time(dir, now - 10, "rotate-cmk");
    assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
    assert_null(l);
    utc(now - 10, at, sizeof(at));
    utc(now + 590, from, sizeof(from));
    snprintf(want, sizeof(want),
             "cmk-tool: tenant \"acme\": the last key change (rotate-cmk) "
             "was at %s and key_change_interval_seconds is 600: the next is "
             "allowed from %s (in ",
             at, from);
    assert_memory_equal(err, want, strlen(want));
    p = err + strlen(want);
    left = strtoll(p, &p, 10);
    assert_true(left >= 570 && left <= 590); /* a loaded machine */
    assert_string_equal(p, " s); --force overrides this (recorded in the "
                           "audit file)\n");
    /* The refusal released the lock; rewrap changes no key. */
    assert_int_equal(tool_rotlock_take(&tenant, "rewrap", 0, &l), 0);
    tool_rotlock_release(l);
    tenant.key_change_interval_s = 0; /* 0: no minimum */
    assert_int_equal(tool_rotlock_take(&tenant, "rotate-kek", 0, &l), 0);
    tool_rotlock_release(l);
}

static void test_interval_passed_and_recorded(void **state)
{
    char path[300], buf[64], err[1024], want[64];
    struct tool_rotlock *l = NULL;
    long long before, after, t;
    struct stat st;
    int fd;
    ssize_t n;

    (void)state;
    tenant.key_change_interval_s = 600;
    before = (long long)time(NULL);
    write_time(dir, before - 600, "rotate-cmk"); /* exactly the interval */
    assert_int_equal(tool_rotlock_take(&tenant, "import-key", 0, &l), 0);
    assert_int_equal(tool_rotlock_changed(l), 0);
    after = (long long)time(NULL);
    tool_rotlock_release(l);
    last_path(dir, path, sizeof(path));
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    t = strtoll(buf, NULL, 10);
    assert_true(t >= before && t <= after);
    snprintf(want, sizeof(want), "%lld import-key\n", t);
    assert_string_equal(buf, want);
    /* The next change is measured from it. */
    assert_int_equal(take_quiet("rotate-kek", &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the last key change (import-key) was at "));
    tenant.key_change_interval_s = 0;
    unlink(path);
}

/* err is the refusal of the record at path, for the reason why. */
static void assert_refusal(const char *err, const char *path, const char *why)
{
    char want[700];

    snprintf(want, sizeof(want),
             "cmk-tool: tenant \"acme\": the time of the last key change is "
             "unknown: %s: %s; --force overrides this (recorded in the audit "
             "file)\n",
             path, why);
    assert_string_equal(err, want);
}

/* A record that cannot be believed is refused, with the reason. */
static void refused_record(const char *content, mode_t mode, const char *why)
{
    struct tool_rotlock *l = NULL;
    char err[1024], path[300];

    last_path(dir, path, sizeof(path));
    write_last(dir, content, mode);
    assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
    assert_null(l);
    assert_refusal(err, path, why);
}

/* A record ahead seconds in the future: refused, with exactly that
 * many seconds when the check ran within the second the record was
 * made (tried again when a second ended in between). */
static void refused_future(long long ahead)
{
    struct tool_rotlock *l = NULL;
    char line[64], why[128], err[1024], path[300];
    long long t0;
    int tries;

    last_path(dir, path, sizeof(path));
    for (tries = 0;; tries++) {
        t0 = (long long)time(NULL);
        snprintf(line, sizeof(line), "%lld import-key\n", t0 + ahead);
        write_last(dir, line, 0600);
        assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
        assert_null(l);
        if ((long long)time(NULL) == t0 || tries == 10)
            break;
    }
    snprintf(why, sizeof(why), "names a time %lld s in the future (%lld)",
             ahead, t0 + ahead);
    assert_refusal(err, path, why);
}

static void test_record_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "yesterday\n",
        "0123 import-key\n",
        "123 Import-key\n",
        "123 import-key",
        "123  import-key\n",
        "123 import-key\n456 rotate-cmk\n",
        "-5 import-key\n",
        "99999999999999999999 import-key\n",
        "123 an-overly-long-command-name-of-33-x\n",
    };
    static const char parse[] =
        "expected one line \"SECONDS COMMAND\" (the Unix time and the "
        "command of the last key change)";
    long long now = (long long)time(NULL);
    char line[64], path[300], target[300], err[1024];
    struct tool_rotlock *l = NULL;
    size_t i;

    (void)state;
    tenant.key_change_interval_s = 600;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused_record(bad[i], 0600, parse);
    refused_future(3600);
    snprintf(line, sizeof(line), "%lld import-key\n", now - 700);
    refused_record(line, 0640,
                   "accessible by group or others (mode 0640); it must be "
                   "0600 or stricter");
    refused_record(line, 0602, "writable by group or others (mode 0602)");
    /* Never followed through a symlink, even to a good record. */
    last_path(dir, path, sizeof(path));
    snprintf(target, sizeof(target), "%s/good-record", dir);
    write_last(dir, line, 0600);
    assert_int_equal(rename(path, target), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key-change.last: is a symbolic link"));
    unlink(path);
    unlink(target);
    /* Clock skew between hosts: up to 300 s ahead is a time, not damage. */
    snprintf(line, sizeof(line), "%lld import-key\n", now + 300);
    write_last(dir, line, 0600);
    assert_int_equal(take_quiet("import-key", &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the last key change (import-key) was at"));
    unlink(path);
    tenant.key_change_interval_s = 0;
}

static void test_force_needs_a_config(void **state)
{
    struct tool_rotlock *l = NULL;
    char err[1024];

    (void)state;
    tenant.key_change_interval_s = 600;
    write_time(dir, (long long)time(NULL) - 10, "rotate-cmk");
    assert_int_equal(take_flags(&tenant, "import-key", TOOL_ROTLOCK_FORCE, &l,
                                err, sizeof(err)),
                     -1);
    assert_null(l);
    assert_string_equal(err, "cmk-tool: tenant \"acme\": --force: no "
                             "configuration to record the override in\n");
    tenant.key_change_interval_s = 0;
    unlink_last();
}

/* A config with a local tenant and an audit file, in d. */
static void make_config(const char *d, char *cfg, size_t len)
{
    char path[300], body[2048];
    uint8_t key[32];
    int fd;

    snprintf(path, sizeof(path), "%s/acme.key", d);
    cmk_random(key, sizeof(key));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
    close(fd);
    snprintf(path, sizeof(path), "%s/acme-store", d);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(body, sizeof(body),
             "{\"version\": 1, \"store_dir\": \"%s/store\", \"audit\": "
             "{\"file\": \"%s/audit.jsonl\"}, \"tenants\": [{\"label\": "
             "\"acme\", \"provider\": \"local\", \"key\": \"%s/acme.key\", "
             "\"login_required\": false, \"store_dir\": \"%s\"}]}\n",
             d, d, d, path);
    snprintf(cfg, len, "%s/config.json", d);
    fd = open(cfg, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
}

struct forced {
    unsigned flags;
    int rc;
    char err[1024];
};

static int take_forced(void *arg, const struct cmk_config *cfg,
                       const struct cmk_tenant_cfg *t)
{
    struct forced *f = arg;
    struct tool_rotlock *l = NULL;

    (void)cfg;
    f->rc = take_flags(t, "import-key", f->flags, &l, f->err, sizeof(f->err));
    tool_rotlock_release(l);
    return TOOL_OK;
}

/* The audit file's record of event ev, or NULL. */
static char *find_record(const char *file, const char *ev, char *buf,
                         size_t len)
{
    char key[64];
    FILE *f = fopen(file, "r");

    assert_non_null(f);
    snprintf(key, sizeof(key), "\"event\":\"%s\"", ev);
    while (fgets(buf, (int)len, f) != NULL) {
        if (strstr(buf, key) != NULL) {
            fclose(f);
            return buf;
        }
    }
    fclose(f);
    return NULL;
}

static void test_force_recorded(void **state)
{
    char d[256], cfg[300], store[300], audit[300], rec[4096], want[512];
    char at[32];
    long long now = (long long)time(NULL), ago;
    struct forced f;
    char *p;

    (void)state;
    assert_int_equal(test_scratch_make("cmk-rotlock-cfg", d, sizeof(d)), 0);
    make_config(d, cfg, sizeof(cfg));
    snprintf(store, sizeof(store), "%s/acme-store", d);
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", d);
    write_time(store, now - 10, "rotate-cmk");
    /* Without --force: refused, nothing recorded (default interval 600). */
    memset(&f, 0, sizeof(f));
    assert_int_equal(tool_on_tenant(cfg, "acme", take_forced, &f), TOOL_OK);
    assert_int_equal(f.rc, -1);
    assert_non_null(strstr(f.err, "key_change_interval_seconds is 600"));
    assert_int_equal(access(audit, F_OK), -1);
    f.flags = TOOL_ROTLOCK_FORCE;
    assert_int_equal(tool_on_tenant(cfg, "acme", take_forced, &f), TOOL_OK);
    assert_int_equal(f.rc, 0);
    assert_non_null(strstr(f.err, "(recorded as key_change_forced)\n"));
    assert_non_null(find_record(audit, "key_change_forced", rec, sizeof(rec)));
    utc(now - 10, at, sizeof(at));
    p = strstr(rec, "\"event\":\"key_change_forced\",\"op\":\"cmk-tool "
                    "import-key\",\"tenant\":\"acme\",\"result\":\"ok\","
                    "\"detail\":\"import-key forced ");
    assert_non_null(p);
    p = strstr(p, "forced ") + strlen("forced ");
    ago = strtoll(p, &p, 10);
    assert_true(ago >= 10 && ago <= 30);
    snprintf(want, sizeof(want),
             " s after the last key change (rotate-cmk at %s); "
             "key_change_interval_seconds is 600\",",
             at);
    assert_memory_equal(p, want, strlen(want));
    /* A record it cannot believe: forced too, and the reason recorded. */
    write_last(store, "garbage\n", 0600);
    assert_int_equal(tool_on_tenant(cfg, "acme", take_forced, &f), TOOL_OK);
    assert_int_equal(f.rc, 0);
    assert_non_null(strstr(f.err, "import-key forced with the time of the "
                                  "last key change unknown: "));
}

/* What another key change finishing between the config's read and the
 * lock looks like: the config replaced atomically with the same bytes. */
static int replace_then_take(void *arg, const struct cmk_config *cfg,
                             const struct cmk_tenant_cfg *t)
{
    struct forced *f = arg;
    struct tool_rotlock *l = NULL;
    char tmp[400], buf[4096];
    FILE *in, *out;
    size_t n;

    snprintf(tmp, sizeof(tmp), "%s.new", cfg->path);
    in = fopen(cfg->path, "r");
    out = fopen(tmp, "w");
    assert_non_null(in);
    assert_non_null(out);
    n = fread(buf, 1, sizeof(buf), in);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(rename(tmp, cfg->path), 0);
    f->rc = take_flags(t, "rotate-kek", f->flags, &l, f->err, sizeof(f->err));
    assert_true(f->rc == 0 || l == NULL);
    tool_rotlock_release(l);
    return TOOL_OK;
}

static void test_config_changed_refused(void **state)
{
    char d[256], cfg[300], store[300], want[600];
    struct forced f;

    (void)state;
    assert_int_equal(test_scratch_make("cmk-rotlock-chg", d, sizeof(d)), 0);
    make_config(d, cfg, sizeof(cfg));
    snprintf(store, sizeof(store), "%s/acme-store", d);
    memset(&f, 0, sizeof(f));
    f.flags = TOOL_ROTLOCK_FORCE; /* not the interval: the config */
    assert_int_equal(tool_on_tenant(cfg, "acme", replace_then_take, &f),
                     TOOL_OK);
    assert_int_equal(f.rc, -1);
    snprintf(want, sizeof(want),
             "cmk-tool: tenant \"acme\": %s changed since it was read (a "
             "key change may have completed meanwhile): nothing done; run "
             "the command again\n",
             cfg);
    assert_string_equal(f.err, want);
    /* read again: the same config is now the one on disk, and taken */
    assert_int_equal(tool_on_tenant(cfg, "acme", take_forced, &f), TOOL_OK);
    assert_int_equal(f.rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_taker_refused_with_holder),
        cmocka_unit_test(test_lock_dies_with_its_process),
        cmocka_unit_test(test_symlink_not_followed),
        cmocka_unit_test(test_interval_refused_with_times),
        cmocka_unit_test(test_interval_passed_and_recorded),
        cmocka_unit_test(test_record_refused),
        cmocka_unit_test(test_force_needs_a_config),
        cmocka_unit_test(test_force_recorded),
        cmocka_unit_test(test_config_changed_refused),
    };
    int rc;

    /* As cmk-tool's main: the audit writer seals its key through mech. */
    if (cmk_mech_init() != CKR_OK || cmk_secpool_init() != CMK_OK)
        return 99;
    rc = cmocka_run_group_tests(tests, setup, NULL);
    cmk_secpool_fini();
    cmk_mech_fini();
    return rc;
}
