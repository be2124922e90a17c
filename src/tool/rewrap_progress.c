/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the progress of "cmk-tool rewrap" on stderr: on a terminal one
 * line redrawn in place (bar, done/total, rate, ETA); otherwise a plain
 * line every 5 seconds or 10 000 blobs, for logs.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool/rewrap_int.h"

#define BAR 30
#define TTY_EVERY 0.2
#define LOG_EVERY 5.0
#define LOG_BLOBS 10000u

double rw_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rw_progress_start(struct rw_progress *p, size_t total)
{
    memset(p, 0, sizeof(*p));
    p->total = total;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->start = p->last = rw_now();
}

double rw_progress_elapsed(const struct rw_progress *p)
{
    return rw_now() - p->start;
}

/* "1h02m", "3m07s", "12s" */
static void span(double s, char *out, size_t n)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);

    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

static void print(const struct rw_progress *p, size_t done, double now,
                  bool final)
{
    double el = now - p->start, rate = el > 0 ? (double)done / el : 0;
    char eta[64] = "-", bar[BAR + 1];
    size_t fill = p->total != 0 ? done * BAR / p->total : BAR;

    if (rate > 0 && done < p->total)
        span((double)(p->total - done) / rate, eta, sizeof(eta));
    if (!p->tty) {
        fprintf(stderr, "cmk-tool: rewrap: %zu/%zu done, %.0f/s, ETA %s\n",
                done, p->total, rate, eta);
        return;
    }
    memset(bar, '#', fill);
    memset(bar + fill, '.', BAR - fill);
    bar[BAR] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu %.0f/s ETA %s\033[K%s", bar, done, p->total,
            rate, eta, final ? "\n" : "");
}

void rw_progress_tick(struct rw_progress *p, size_t done, bool final)
{
    double now = rw_now();

    if (!final &&
        (p->tty ? now - p->last < TTY_EVERY
                : now - p->last < LOG_EVERY && done - p->last_done < LOG_BLOBS))
        return;
    if (final && !p->tty)
        return; /* the summary follows */
    print(p, done, now, final);
    p->last = now;
    p->last_done = done;
}
