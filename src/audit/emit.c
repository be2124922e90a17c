/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: one record line around its body: the prefix (time, writer,
 * chain, seq, pid), the mac over the line up to the mac key, then one
 * write. Runs on the writing thread's own chain, without a shared lock.
 * Also what every part of the writer asks before or after a record:
 * whether this process is the writer's, the clock, a failure reported.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit_int.h"
#include "util/log.h"

#define NS_PER_S 1000000000LL

/* Forks seen by this process: a child's handler bumps it, so a writer
 * notices a fork without a getpid() system call per record. */
static unsigned long fork_count;

static void count_fork(void)
{
    __atomic_add_fetch(&fork_count, 1, __ATOMIC_RELAXED);
}

void cmk_audit_watch_forks(void)
{
    (void)pthread_atfork(NULL, NULL, count_fork);
}

unsigned long cmk_audit_forks(void)
{
    return __atomic_load_n(&fork_count, __ATOMIC_RELAXED);
}

bool cmk_audit_is_forked(const struct cmk_audit *a)
{
    return cmk_audit_forks() != a->forks;
}

/* The clock of the writer's intervals (the path check every 100 ms, the
 * fsync about once a second): the coarse clock (a few ms) is enough for
 * them and costs a load, where the fine one reads the time stamp
 * counter, a tenth of a record's time outside the mac on a virtual
 * machine. */
int64_t cmk_audit_mono_ns(void)
{
    struct timespec ts = {0, 0};

#ifdef CLOCK_MONOTONIC_COARSE
    (void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

cmk_err cmk_audit_failed(struct cmk_audit *a, int e)
{
    char msg[128];

    __atomic_add_fetch(&a->lost, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&a->fail_errno, e, __ATOMIC_RELAXED) != e)
        cmk_log_error("audit: cannot write %s: %s; %s", a->path,
                      e == ECHILD ? "the writer belongs to the parent process"
                                  : strerror_r(e, msg, sizeof(msg)),
                      a->opts.required ? "audited calls fail"
                                       : "calls go on without audit records");
    return a->opts.required ? CMK_E_IO : CMK_OK;
}

/* "2026-11-23T13:05:54.123456Z" (RFC 3339, UTC). The date part is
 * formatted once per second per chain. */
static void put_time(struct cmk_audit *a, struct cmk_chain *c,
                     struct cmk_line *b)
{
    struct timespec ts = {0, 0};
    struct tm tm;
    char us[8];
    long frac;
    int i, n;

    a->now(&ts);
    if (ts.tv_sec != c->tsec) {
        if (gmtime_r(&ts.tv_sec, &tm) == NULL)
            memset(&tm, 0, sizeof(tm));
        n = snprintf(c->tstr, sizeof(c->tstr), "%04d-%02d-%02dT%02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
        c->tlen = n > 0 && (size_t)n < sizeof(c->tstr) ? (size_t)n : 0;
        c->tsec = ts.tv_sec;
    }
    frac = ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L ? ts.tv_nsec / 1000 : 0;
    us[0] = '.';
    for (i = 6; i >= 1; i--, frac /= 10)
        us[i] = (char)('0' + frac % 10);
    us[7] = 'Z';
    cmk_line_raw(b, c->tstr, c->tlen);
    cmk_line_raw(b, us, sizeof(us));
}

/* {"time":"...","writer":"...","chain":N,"seq":N,"pid":P */
static size_t make_prefix(struct cmk_audit *a, struct cmk_chain *c, char *out,
                          size_t cap)
{
    struct cmk_line b;
    char d[24];

    cmk_line_init(&b, out, cap);
    cmk_line_raw(&b, "{\"time\":\"", 9);
    put_time(a, c, &b);
    cmk_line_raw(&b, "\",\"writer\":\"", 12);
    cmk_line_raw(&b, a->writer, CMK_AUDIT_WRITER_HEX);
    cmk_line_raw(&b, "\",\"chain\":", 10);
    cmk_line_raw(&b, d, cmk_line_u64(d, c->no));
    cmk_line_raw(&b, ",\"seq\":", 7);
    cmk_line_raw(&b, d, cmk_line_u64(d, c->seq + 1));
    cmk_line_raw(&b, ",\"pid\":", 7);
    cmk_line_raw(&b, d, cmk_line_u64(d, (uint64_t)a->pid));
    return b.overflow ? 0 : b.len;
}

int cmk_audit_emit(struct cmk_audit *a, struct cmk_chain *c,
                   struct cmk_afile *f, char *line, size_t blen,
                   struct cmk_emitted *out)
{
    char pre[CMK_AUDIT_PREFIX_ROOM];
    char *start, *end;
    size_t plen;
    int e;

    plen = make_prefix(a, c, pre, sizeof(pre) - 1);
    if (plen == 0)
        return EOVERFLOW;
    start = line + CMK_AUDIT_PREFIX_ROOM - plen;
    memcpy(start, pre, plen);
    end = line + CMK_AUDIT_PREFIX_ROOM + blen;
    /* The mac covers the line up to, not including, ,"mac":" */
    if (cmk_vmac_key_line(c->mc, a->mac, c->prev, start, (size_t)(end - start),
                          out->mac) != CMK_OK)
        return EKEYREJECTED;
    memcpy(end, CMK_AUDIT_MAC_KEY, 8);
    cmk_line_hex(end + 8, out->mac, a->mac_len);
    memcpy(end + 8 + 2 * a->mac_len, "\"}\n", 3);
    end += CMK_AUDIT_SUFFIX(a->mac_len);
    e = cmk_afile_append(f, start, (size_t)(end - start), &out->end);
    if (e != 0)
        return e;
    c->seq++;
    memcpy(c->prev, out->mac, a->mac_len);
    out->line = start;
    out->len = (size_t)(end - start) - 1;
    return 0;
}
