/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: input, output and progress of the file commands (file_io.h). The
 * output is a temporary file until it is complete, so no failure, however
 * it ends, leaves a half-written OUT.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/file_io.h"
#include "tool/tool.h"

int tool_fin_open(struct tool_fin *in, const char *path)
{
    struct stat st;

    in->done = 0;
    in->size = -1;
    if (strcmp(path, "-") == 0) {
        in->fd = STDIN_FILENO;
        in->name = "stdin";
    } else {
        in->name = path;
        in->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in->fd < 0) {
            tool_err("%s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode))
        in->size = (int64_t)st.st_size;
    return 0;
}

/* Waits until in->fd has data (or its end) or stop_fd becomes readable:
 * 1, 0 when stopped, -1 on a poll error (errno set). */
static int ready_or_stopped(int fd, int stop_fd)
{
    struct pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int r;

    do {
        r = poll(p, 2, -1);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    return (p[1].revents & (POLLIN | POLLHUP)) != 0 ? 0 : 1;
}

long long tool_fin_read(struct tool_fin *in, uint8_t *buf, size_t n)
{
    return tool_fin_read_or_stop(in, buf, n, -1);
}

long long tool_fin_read_or_stop(struct tool_fin *in, uint8_t *buf, size_t n,
                                int stop_fd)
{
    size_t got = 0;
    ssize_t r;
    int ready;

    while (got < n) {
        if (stop_fd >= 0) {
            ready = ready_or_stopped(in->fd, stop_fd);
            if (ready == 0)
                return -2;
            if (ready < 0) {
                tool_err("%s: poll failed: %s", in->name, strerror(errno));
                return -1;
            }
        }
        r = read(in->fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            tool_err("%s: read failed: %s", in->name, strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    in->done += got;
    return (long long)got;
}

void tool_fin_close(struct tool_fin *in)
{
    if (in->fd > STDIN_FILENO)
        close(in->fd);
    in->fd = -1;
}

/* The temporary file a signal must remove (one output at a time). */
static char g_tmp[PATH_MAX];
static volatile sig_atomic_t g_tmp_set;

static void on_signal(int sig)
{
    if (g_tmp_set)
        (void)unlink(g_tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void watch_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        (void)sigaction(sigs[i], &sa, NULL);
}

static void set_tmp(const char *tmp)
{
    sigset_t all, old;

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    g_tmp_set = 0;
    if (tmp != NULL) {
        snprintf(g_tmp, sizeof(g_tmp), "%s", tmp);
        g_tmp_set = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int tool_fout_open(struct tool_fout *out, const char *path)
{
    out->tmp[0] = '\0';
    if (strcmp(path, "-") == 0) {
        out->fd = STDOUT_FILENO;
        out->name = "stdout";
        out->path = NULL;
        return 0;
    }
    out->name = out->path = path;
    if (snprintf(out->tmp, sizeof(out->tmp), "%s.tmp-XXXXXX", path) >=
        (int)sizeof(out->tmp)) {
        tool_err("%s: path too long", path);
        out->tmp[0] = '\0';
        return -1;
    }
    watch_signals();
    out->fd = mkostemp(out->tmp, O_CLOEXEC); /* mode 0600 */
    if (out->fd < 0) {
        tool_err("cannot create a temporary file next to %s: %s", path,
                 strerror(errno));
        out->tmp[0] = '\0';
        return -1;
    }
    set_tmp(out->tmp);
    return 0;
}

int tool_fout_write(struct tool_fout *out, const uint8_t *p, size_t n)
{
    if (tool_write_all(out->fd, p, n) != 0) {
        tool_err("%s: write failed: %s", out->name, strerror(errno));
        return -1;
    }
    return 0;
}

int tool_fout_commit(struct tool_fout *out)
{
    if (out->path == NULL) {
        /* stdout: a pipe or terminal may refuse fsync; a file must not */
        if (fsync(out->fd) != 0 && errno != EINVAL && errno != EROFS) {
            tool_err("stdout: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (fsync(out->fd) != 0 || close(out->fd) != 0) {
        out->fd = -1;
        tool_err("%s: write failed: %s", out->tmp, strerror(errno));
        tool_fout_abort(out);
        return -1;
    }
    out->fd = -1;
    if (rename(out->tmp, out->path) != 0) {
        tool_err("cannot replace %s: %s", out->path, strerror(errno));
        tool_fout_abort(out);
        return -1;
    }
    set_tmp(NULL);
    out->tmp[0] = '\0';
    if (tool_fsync_parent(out->path) != 0)
        tool_err("warning: %s written, but syncing its directory failed: %s",
                 out->path, strerror(errno));
    return 0;
}

void tool_fout_abort(struct tool_fout *out)
{
    if (out->path != NULL && out->fd >= 0)
        close(out->fd);
    out->fd = -1;
    if (out->tmp[0] != '\0')
        (void)unlink(out->tmp);
    out->tmp[0] = '\0';
    set_tmp(NULL);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) +
           (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void tool_progress_start(struct tool_progress *pg, const char *what,
                         const struct tool_fin *in)
{
    pg->on = in->size > 0 && isatty(STDERR_FILENO);
    pg->what = what;
    pg->total = in->size > 0 ? (uint64_t)in->size : 0;
    clock_gettime(CLOCK_MONOTONIC, &pg->start);
    pg->last = pg->start;
}

static void show(const struct tool_progress *pg, uint64_t done,
                 const struct timespec *now)
{
    double t = secs(&pg->start, now), mb = (double)done / 1e6;

    fprintf(stderr, "\rcmk-tool %s: %3u%% %.1f of %.1f MB, %.0f MB/s ",
            pg->what, (unsigned)(done * 100 / pg->total), mb,
            (double)pg->total / 1e6, t > 0 ? mb / t : 0.0);
}

void tool_progress_update(struct tool_progress *pg, uint64_t done)
{
    struct timespec now;

    if (!pg->on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (secs(&pg->last, &now) < 0.2)
        return;
    pg->last = now;
    show(pg, done > pg->total ? pg->total : done, &now);
}

void tool_progress_end(struct tool_progress *pg, uint64_t done)
{
    struct timespec now;

    if (!pg->on)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    show(pg, done > pg->total ? pg->total : done, &now);
    fputc('\n', stderr);
}
