/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the append-only writer. The record body is built without the
 * lock; under it the writer adds time, seq, pid and prev, hashes the line
 * for the next record and appends it with one O_APPEND write.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/line.h"
#include "mech/hash.h"
#include "mech/mech.h"
#include "util/lock.h"
#include "util/log.h"
#include "util/secmem.h"
#include "util/trust.h"

#define WRITER_ID_BYTES 8
#define HASH_HEX (2 * CMK_SHA256_LEN)
/* Room before the body for an optional '\n' and
 * {"time":"...","writer":"...","seq":N,"pid":P (under 130 bytes). */
#define PREFIX_ROOM 192
/* ,"prev":"<64 hex>"}\n */
#define SUFFIX_LEN (9 + HASH_HEX + 3)
#define BODY_CAP (CMK_LINE_MAX - PREFIX_ROOM - SUFFIX_LEN)
#define SYNC_INTERVAL_NS 1000000000LL
/* Under the interval policy, writeback of this much new data is started
 * early, so the once-a-second fdatasync finds little left to write. */
#define KICK_BYTES (1024 * 1024)

struct cmk_audit {
    struct cmk_mutex mx;
    struct cmk_sha256 *md; /* mech's SHA-256, reused for every line, under mx */
    int fd;
    char *path;
    enum cmk_fsync_policy fsync;
    bool required;
    void (*now)(struct timespec *);
    /* Below: guarded by mx. */
    pid_t pid;
    unsigned long forks; /* fork_count when this chain began */
    char writer[2 * WRITER_ID_BYTES + 1];
    uint64_t seq;        /* last record written */
    char prev[HASH_HEX]; /* hex SHA-256 of the last line, no newline */
    bool torn;           /* a partial line is in the file */
    time_t tsec;         /* tstr formats this second */
    char tstr[32];
    size_t tlen;
    struct timespec last_sync; /* CLOCK_MONOTONIC */
    size_t unkicked;           /* bytes written since writeback was started */
    int fail_errno;     /* errno of the current failure burst, 0 if none */
    unsigned long lost; /* records not written in this burst */
};

/* Forks seen by this process: a child's handler bumps it, so a chain
 * notices a fork without a getpid() system call per record. */
static unsigned long fork_count;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    __atomic_add_fetch(&fork_count, 1, __ATOMIC_RELAXED);
}

static void watch_forks(void)
{
    (void)pthread_atfork(NULL, NULL, count_fork);
}

static bool forked_since(const struct cmk_audit *a)
{
    return __atomic_load_n(&fork_count, __ATOMIC_RELAXED) != a->forks;
}

static void realtime_now(struct timespec *ts)
{
    (void)clock_gettime(CLOCK_REALTIME, ts);
}

void cmk_audit_rec_init(struct cmk_audit_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->session = -1;
    r->mech = -1;
    r->bytes_in = -1;
    r->bytes_out = -1;
    r->cache = -1;
    r->http_status = -1;
    r->latency_us = -1;
    r->object = -1;
    r->object_token = -1;
}

/* A fresh chain: new random writer id, seq from 1, prev all zeros. */
static void new_chain_locked(struct cmk_audit *a)
{
    uint8_t id[WRITER_ID_BYTES];

    cmk_random(id, sizeof(id));
    cmk_line_hex(a->writer, id, sizeof(id));
    a->writer[sizeof(a->writer) - 1] = '\0';
    a->pid = getpid();
    a->forks = __atomic_load_n(&fork_count, __ATOMIC_RELAXED);
    a->seq = 0;
    memset(a->prev, '0', sizeof(a->prev));
    a->torn = false;
}

cmk_err cmk_audit_open(const char *path, enum cmk_fsync_policy fsync,
                       bool required, struct cmk_audit **out)
{
    struct cmk_audit *a = NULL;
    char msg[128];
    cmk_err err = CMK_E_NOMEM;

    if (path == NULL || out == NULL || fsync < CMK_FSYNC_NONE ||
        fsync > CMK_FSYNC_ALWAYS)
        return CMK_E_ARGS;
    (void)pthread_once(&fork_once, watch_forks);
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        goto out;
    a->fd = -1;
    a->path = cmk_strdup(path);
    if (a->path == NULL || cmk_mutex_init(&a->mx) != CKR_OK)
        goto out;
    err = cmk_sha256_new(&a->md); /* CMK_E_CRYPTO before cmk_mech_init */
    if (err != CMK_OK)
        goto out;
    /* O_NOFOLLOW: a symlinked audit path must not make us append to
     * whatever it points at; then owner and mode (util/trust.h). */
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                 0600);
    if (a->fd >= 0 && cmk_trust_fd_log("audit:", a->fd, path, 0) != CMK_OK) {
        err = CMK_E_CONFIG;
        goto out;
    }
    if (a->fd < 0) {
        cmk_log_error("audit: cannot open %s: %s", path,
                      strerror_r(errno, msg, sizeof(msg)));
        err = CMK_E_IO;
        goto out;
    }
    a->fsync = fsync;
    a->required = required;
    a->now = realtime_now;
    (void)clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
    a->tsec = (time_t)-1;
    new_chain_locked(a);
    *out = a;
    a = NULL;
    err = CMK_OK;
out:
    cmk_audit_close(a);
    return err;
}

void cmk_audit_close(struct cmk_audit *a)
{
    char msg[128];

    if (a == NULL)
        return;
    if (a->fd >= 0) {
        if (a->fsync != CMK_FSYNC_NONE && fdatasync(a->fd) != 0)
            cmk_log_error("audit: cannot sync %s: %s", a->path,
                          strerror_r(errno, msg, sizeof(msg)));
        (void)close(a->fd);
    }
    cmk_mutex_fini(&a->mx);
    cmk_sha256_free(a->md);
    free(a->path);
    free(a);
}

void cmk_audit_set_clock(struct cmk_audit *a, void (*now)(struct timespec *))
{
    if (a != NULL)
        a->now = now != NULL ? now : realtime_now;
}

/* Everything after "pid", before "prev", in the fixed key order. */
static void build_body(struct cmk_line *b, const struct cmk_audit_rec *r)
{
    cmk_line_str(b, "event", r->event);
    cmk_line_str(b, "op", r->op);
    cmk_line_str(b, "tenant", r->tenant);
    cmk_line_num(b, "session", r->session);
    cmk_line_str(b, "mech", r->mech_name);
    cmk_line_num(b, "mech_num", r->mech);
    cmk_line_str(b, "key_label", r->key_label);
    cmk_line_str(b, "key_id", r->key_id);
    cmk_line_str(b, "result", r->result);
    cmk_line_num(b, "bytes_in", r->bytes_in);
    cmk_line_num(b, "bytes_out", r->bytes_out);
    if (r->cache == 0 || r->cache == 1)
        cmk_line_str(b, "cache", r->cache == 1 ? "hit" : "miss");
    cmk_line_str(b, "provider", r->provider);
    cmk_line_str(b, "request_id", r->request_id);
    cmk_line_num(b, "http_status", r->http_status);
    cmk_line_num(b, "latency_us", r->latency_us);
    cmk_line_str(b, "provider_code", r->provider_code);
    cmk_line_str(b, "detail", r->detail);
    cmk_line_str(b, "end", r->end);
    cmk_line_num(b, "object", r->object);
    cmk_line_str(b, "object_label", r->object_label);
    cmk_line_str(b, "object_id", r->object_id);
    cmk_line_str(b, "object_class", r->object_class);
    cmk_line_bool(b, "object_token", r->object_token);
    cmk_line_strs(b, "attrs", r->attrs,
                  r->n_attrs < CMK_AUDIT_MAX_ATTRS ? r->n_attrs
                                                   : CMK_AUDIT_MAX_ATTRS);
}

/* "2026-11-23T13:05:54.123456Z" (RFC 3339, UTC). The date part is
 * formatted once per second. */
static void put_time_locked(struct cmk_audit *a, struct cmk_line *b)
{
    struct timespec ts = {0, 0};
    struct tm tm;
    char us[8];
    long frac;
    int i, n;

    a->now(&ts);
    if (ts.tv_sec != a->tsec) {
        if (gmtime_r(&ts.tv_sec, &tm) == NULL)
            memset(&tm, 0, sizeof(tm));
        n = snprintf(a->tstr, sizeof(a->tstr), "%04d-%02d-%02dT%02d:%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
        a->tlen = n > 0 && (size_t)n < sizeof(a->tstr) ? (size_t)n : 0;
        a->tsec = ts.tv_sec;
    }
    frac = ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L ? ts.tv_nsec / 1000 : 0;
    us[0] = '.';
    for (i = 6; i >= 1; i--, frac /= 10)
        us[i] = (char)('0' + frac % 10);
    us[7] = 'Z';
    cmk_line_raw(b, a->tstr, a->tlen);
    cmk_line_raw(b, us, sizeof(us));
}

/* {"time":"...","writer":"...","seq":N,"pid":P for the next record. */
static size_t make_prefix_locked(struct cmk_audit *a, char *out, size_t cap)
{
    struct cmk_line b;
    char d[24];

    cmk_line_init(&b, out, cap);
    cmk_line_raw(&b, "{\"time\":\"", 9);
    put_time_locked(a, &b);
    cmk_line_raw(&b, "\",\"writer\":\"", 12);
    cmk_line_raw(&b, a->writer, strlen(a->writer));
    cmk_line_raw(&b, "\",\"seq\":", 8);
    cmk_line_raw(&b, d, cmk_line_u64(d, a->seq + 1));
    cmk_line_raw(&b, ",\"pid\":", 7);
    cmk_line_raw(&b, d, cmk_line_u64(d, (uint64_t)a->pid));
    return b.overflow ? 0 : b.len;
}

/* One write() of the whole line. O_APPEND places it atomically at the end
 * of a regular file. If the kernel took only part of it (disk full), the
 * rest is tried once more; a line that stays partial cannot be taken back
 * and "audit verify" reports it (as truncation at the end of the file, or
 * as a line that is not JSON once another record follows). */
static int write_line(int fd, const char *p, size_t n, bool *partial)
{
    size_t done = 0;
    ssize_t w;

    *partial = false;
    while (done < n) {
        w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        done += (size_t)w;
        *partial = done < n;
    }
    return 0;
}

/* Whether this record is the one to sync the file (policy). */
static bool sync_due_locked(struct cmk_audit *a)
{
    struct timespec now;
    long long ns;

    if (a->fsync == CMK_FSYNC_NONE)
        return false;
    if (a->fsync == CMK_FSYNC_INTERVAL) {
        (void)clock_gettime(CLOCK_MONOTONIC, &now);
        ns = (long long)(now.tv_sec - a->last_sync.tv_sec) * 1000000000LL +
             (now.tv_nsec - a->last_sync.tv_nsec);
        if (ns < SYNC_INTERVAL_NS)
            return false;
        a->last_sync = now;
    }
    return true;
}

/* Logged once per burst of the same errno; required decides the result. */
static cmk_err failed_locked(struct cmk_audit *a, int e)
{
    char msg[128];

    a->lost++;
    if (e != a->fail_errno) {
        a->fail_errno = e;
        cmk_log_error("audit: cannot write %s: %s; %s", a->path,
                      strerror_r(e, msg, sizeof(msg)),
                      a->required ? "audited calls fail"
                                  : "calls go on without audit records");
    }
    return a->required ? CMK_E_IO : CMK_OK;
}

static void succeeded_locked(struct cmk_audit *a, const char *hash_hex)
{
    a->seq++;
    memcpy(a->prev, hash_hex, HASH_HEX);
    a->torn = false;
    if (a->fail_errno != 0)
        cmk_log_error("audit: writing %s again; %lu records were lost", a->path,
                      a->lost);
    a->fail_errno = 0;
    a->lost = 0;
}

/* line holds the body at line + PREFIX_ROOM (blen bytes) and room for the
 * suffix after it. */
static cmk_err emit_locked(struct cmk_audit *a, char *line, size_t blen,
                           bool *sync, bool *kick)
{
    uint8_t hash[CMK_SHA256_LEN];
    char pre[PREFIX_ROOM], hex[HASH_HEX];
    char *start, *end;
    size_t plen;
    bool partial;
    int e;

    if (forked_since(a)) /* forked child: never continue the parent's */
        new_chain_locked(a);
    plen = make_prefix_locked(a, pre, sizeof(pre) - 1);
    if (plen == 0)
        return CMK_E_INTERNAL;
    start = line + PREFIX_ROOM - plen;
    memcpy(start, pre, plen);
    end = line + PREFIX_ROOM + blen;
    memcpy(end, ",\"prev\":\"", 9);
    memcpy(end + 9, a->prev, HASH_HEX);
    memcpy(end + 9 + HASH_HEX, "\"}\n", 3);
    end += SUFFIX_LEN;
    if (cmk_sha256_init(a->md) != CMK_OK ||
        cmk_sha256_update(a->md, start, (size_t)(end - 1 - start)) != CMK_OK ||
        cmk_sha256_final(a->md, hash) != CMK_OK)
        return CMK_E_CRYPTO;
    cmk_line_hex(hex, hash, sizeof(hash));
    if (a->torn) /* end the partial line first so this record stays whole */
        *--start = '\n';
    e = write_line(a->fd, start, (size_t)(end - start), &partial);
    if (e != 0) {
        a->torn = a->torn || partial;
        return failed_locked(a, e);
    }
    succeeded_locked(a, hex);
    *sync = sync_due_locked(a);
    a->unkicked += (size_t)(end - start);
    if (*sync)
        a->unkicked = 0;
    *kick = a->unkicked >= KICK_BYTES && a->fsync == CMK_FSYNC_INTERVAL;
    if (*kick)
        a->unkicked = 0;
    return CMK_OK;
}

cmk_err cmk_audit_write(struct cmk_audit *a, const struct cmk_audit_rec *r)
{
    char line[CMK_LINE_MAX];
    struct cmk_line body;
    bool sync = false, kick = false;
    cmk_err err;

    if (a == NULL)
        return CMK_OK;
    if (r == NULL || r->event == NULL)
        return CMK_E_ARGS;
    cmk_line_init(&body, line + PREFIX_ROOM, BODY_CAP);
    build_body(&body, r);
    if (body.overflow) /* cannot happen: strings are capped (line.h) */
        return CMK_E_INTERNAL;
    cmk_mutex_lock_hot(&a->mx);
    err = emit_locked(a, line, body.len, &sync, &kick);
    cmk_mutex_unlock(&a->mx);
#ifdef SYNC_FILE_RANGE_WRITE
    /* Starts writeback without waiting for it; durability still comes
     * from the policy's fdatasync alone. */
    if (kick)
        (void)sync_file_range(a->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    /* The sync runs outside the lock: other threads keep appending while
     * this one waits for the disk. */
    if (err == CMK_OK && sync && fdatasync(a->fd) != 0) {
        int e = errno;

        cmk_mutex_lock(&a->mx);
        err = failed_locked(a, e);
        cmk_mutex_unlock(&a->mx);
    }
    return err;
}
