/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the shared failed-login counter of a token, its delays and
 * lockout (pinguard.h has the file format and the rules).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/pinguard.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/trust.h"

#define STATE_MAX 128
#define WHAT "PIN counter"

static int64_t real_now(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void real_sleep(unsigned seconds)
{
    struct timespec ts = {(time_t)seconds, 0};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t (*now_fn)(void) = real_now;
static void (*sleep_fn)(unsigned) = real_sleep;

void cmk_pin_set_clock(int64_t (*now_s)(void), void (*sleep_s)(unsigned))
{
    now_fn = now_s != NULL ? now_s : real_now;
    sleep_fn = sleep_s != NULL ? sleep_s : real_sleep;
}

int64_t cmk_pin_now(void)
{
    return now_fn();
}

void cmk_pin_sleep(unsigned seconds)
{
    sleep_fn(seconds);
}

unsigned cmk_pin_delay(unsigned failures)
{
    if (failures < 3)
        return 0;
    if (failures - 3 >= 6)
        return CMK_PIN_DELAY_MAX;
    return 1u << (failures - 3); /* 1 .. 32 */
}

static bool file_in(const char *dir, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= size) {
        cmk_log_error(WHAT " in %s: path too long", dir);
        return false;
    }
    return true;
}

static cmk_err parse(const char *buf, const char *path,
                     struct cmk_pin_state *st)
{
    unsigned failures = 0;
    long long nb = 0;
    int used = 0;

    if (sscanf(buf, "cmk-pin-state 1 failures=%u not_before=%lld%n", &failures,
               &nb, &used) != 2 ||
        (buf[used] != '\0' && strcmp(buf + used, "\n") != 0) || nb < 0) {
        cmk_log_error(WHAT " %s: damaged; cmk-tool pin-reset rewrites it",
                      path);
        return CMK_E_BAD_BLOB;
    }
    st->failures = failures;
    st->not_before = (int64_t)nb;
    return CMK_OK;
}

static cmk_err read_state(const char *dir, struct cmk_pin_state *st)
{
    char path[PATH_MAX], buf[STATE_MAX + 1], eb[128];
    ssize_t n;
    cmk_err err;
    int fd;

    memset(st, 0, sizeof(*st));
    if (!file_in(dir, CMK_PIN_STATE_FILE, path, sizeof(path)))
        return CMK_E_CONFIG;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return CMK_OK; /* no failure recorded yet */
    if (fd < 0) {
        cmk_log_error(WHAT " %s: cannot open: %s", path,
                      errno == ELOOP ? "is a symbolic link"
                                     : strerror_r(errno, eb, sizeof(eb)));
        return errno == ELOOP ? CMK_E_CONFIG : CMK_E_IO;
    }
    err = cmk_trust_fd_log(WHAT, fd, path, 0);
    if (err == CMK_OK) {
        do {
            n = read(fd, buf, STATE_MAX);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            err = CMK_E_IO;
        buf[n > 0 ? n : 0] = '\0';
    }
    close(fd);
    if (err == CMK_OK)
        err = parse(buf, path, st);
    return err;
}

/* Temp file, fsync, rename over pin-state, fsync the directory: a reader
 * sees the old state or the new one. Called under the lock. */
static cmk_err write_state(const char *dir, const struct cmk_pin_state *st)
{
    char path[PATH_MAX], tmp[PATH_MAX], text[STATE_MAX];
    cmk_err err;
    int fd, n;

    if (!file_in(dir, CMK_PIN_STATE_FILE, path, sizeof(path)) ||
        !file_in(dir, CMK_PIN_STATE_FILE ".tmp", tmp, sizeof(tmp)))
        return CMK_E_CONFIG;
    n = snprintf(text, sizeof(text),
                 "cmk-pin-state 1 failures=%u "
                 "not_before=%lld\n",
                 st->failures, (long long)st->not_before);
    (void)unlink(tmp); /* left by a crash; we hold the lock */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return CMK_E_IO;
    err = cmk_fd_write_all(fd, text, (size_t)n);
    if (err == CMK_OK && fsync(fd) != 0)
        err = CMK_E_IO;
    if (close(fd) != 0 && err == CMK_OK)
        err = CMK_E_IO;
    if (err == CMK_OK && rename(tmp, path) != 0)
        err = CMK_E_IO;
    if (err != CMK_OK) {
        (void)unlink(tmp);
        return err;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return CMK_OK;
}

/* Creates and checks the store directory, then takes the lock. */
static cmk_err lock(const char *dir, int *out)
{
    char path[PATH_MAX], eb[128];
    cmk_err err;
    int fd;

    *out = -1;
    err = cmk_trust_dir_log(WHAT, dir, true);
    if (err != CMK_OK)
        return err == CMK_E_KEY_NOT_FOUND ? CMK_E_IO : err;
    if (!file_in(dir, CMK_PIN_STATE_FILE ".lock", path, sizeof(path)))
        return CMK_E_CONFIG;
    fd = open(path,
              O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
              0600);
    if (fd < 0) {
        cmk_log_error(WHAT " %s: cannot open: %s", path,
                      strerror_r(errno, eb, sizeof(eb)));
        return errno == ELOOP ? CMK_E_CONFIG : CMK_E_IO;
    }
    err = cmk_trust_fd_log(WHAT, fd, path, 0);
    while (err == CMK_OK && flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR)
            err = CMK_E_IO;
    }
    if (err != CMK_OK) {
        close(fd);
        return err;
    }
    *out = fd;
    return CMK_OK;
}

static void unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

cmk_err cmk_pin_read(const char *dir, struct cmk_pin_state *st)
{
    if (dir == NULL || st == NULL)
        return CMK_E_ARGS;
    return read_state(dir, st);
}

/* The verdict on the state read under the lock; *st may be updated. */
static enum cmk_pin_verdict judge(struct cmk_pin_state *st, unsigned max,
                                  int64_t now, unsigned *wait_s, bool *dirty)
{
    *dirty = false;
    if (st->failures >= max)
        return CMK_PIN_LOCKED;
    if (st->not_before > now + CMK_PIN_DELAY_MAX) {
        st->not_before = now + CMK_PIN_DELAY_MAX; /* the clock went back */
        *dirty = true;
    }
    if (now < st->not_before) {
        *wait_s = (unsigned)(st->not_before - now);
        return CMK_PIN_WAIT;
    }
    st->failures++;
    st->not_before = now + cmk_pin_delay(st->failures);
    *dirty = true;
    return CMK_PIN_GO;
}

cmk_err cmk_pin_attempt(const char *dir, unsigned max,
                        enum cmk_pin_verdict *verdict, unsigned *wait_s,
                        struct cmk_pin_state *st)
{
    bool dirty = false;
    cmk_err err;
    int fd;

    if (dir == NULL || verdict == NULL || wait_s == NULL || st == NULL ||
        max == 0)
        return CMK_E_ARGS;
    *wait_s = 0;
    err = lock(dir, &fd);
    if (err == CMK_OK)
        err = read_state(dir, st);
    if (err == CMK_OK)
        *verdict = judge(st, max, now_fn(), wait_s, &dirty);
    if (err == CMK_OK && dirty) {
        err = write_state(dir, st);
        if (err != CMK_OK)
            cmk_log_error(WHAT " in %s: cannot be written", dir);
    }
    unlock(fd);
    return err;
}

cmk_err cmk_pin_reset(const char *dir, struct cmk_pin_state *before)
{
    struct cmk_pin_state old, zero = {0, 0};
    cmk_err err;
    int fd;

    if (dir == NULL)
        return CMK_E_ARGS;
    err = lock(dir, &fd);
    if (err != CMK_OK)
        return err;
    /* A damaged file is replaced too: that is what a reset is for. */
    if (read_state(dir, &old) != CMK_OK)
        memset(&old, 0, sizeof(old));
    err = write_state(dir, &zero);
    if (err != CMK_OK)
        cmk_log_error(WHAT " in %s: cannot be written", dir);
    unlock(fd);
    if (err == CMK_OK && before != NULL)
        *before = old;
    return err;
}
