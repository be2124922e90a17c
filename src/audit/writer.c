/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the writer. Opening writes audit_open; each record is built and
 * MAC'd on the writing thread's own chain and appended with one write,
 * with no writer-wide lock: the thread marks the file it writes to in its
 * chain, so a reopen (control, under mx) knows when the old file is no
 * longer in use. Every 100 ms one writing thread looks at the path for
 * rotation and logrotate.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "mech/mech.h"
#include "util/log.h"
#include "util/secmem.h"

#define NS_PER_S 1000000000LL
#define SYNC_INTERVAL_NS NS_PER_S
#define CHECK_INTERVAL_NS (100 * 1000000LL)
/* Tries after another process replaced the file before the record is
 * written holding the directory lock, where nobody can replace it. */
#define STALE_TRIES 2
/* Under the interval policy, writeback of this much new data (per
 * thread) is started early, so the once-a-second fdatasync finds little
 * left to write. */
#define KICK_BYTES (1024 * 1024)

static uint64_t next_serial;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static void setup(void)
{
    cmk_audit_watch_forks();
    cmk_chain_setup();
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
    r->count = -1;
}

void cmk_audit_opts_init(struct cmk_audit_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->fsync = CMK_FSYNC_INTERVAL;
    o->required = true;
    o->keep = 5;
}

void cmk_audit_opts_from_cfg(struct cmk_audit_opts *o,
                             const struct cmk_audit_cfg *cfg)
{
    cmk_audit_opts_init(o);
    o->fsync = cfg->fsync;
    o->required = cfg->required;
    o->max_bytes = cfg->max_bytes;
    o->keep = cfg->keep;
    o->syslog = cfg->syslog;
    o->no_threads = cfg->no_threads;
}

static bool is_writer_id(const char *s)
{
    size_t i;

    for (i = 0; i < CMK_AUDIT_WRITER_HEX; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return s[i] == '\0';
}

static bool opts_ok(const char *path, const struct cmk_audit_opts *o,
                    const struct cmk_audit_key *k)
{
    const char *base = strrchr(path, '/');

    if (o->fsync < CMK_FSYNC_NONE || o->fsync > CMK_FSYNC_ALWAYS ||
        (o->max_bytes != 0 && o->keep == 0) || o->pid < 0 ||
        (o->writer_id != NULL && !is_writer_id(o->writer_id)))
        return false;
    /* "next" names PATH.N in one string value of at most 256 bytes. */
    if (o->max_bytes != 0 && strlen(base != NULL ? base + 1 : path) > 200)
        return false;
    return k->key != NULL && (k->sealed != NULL || k->sealed_len == 0);
}

/* Identity and state that need no system resource. */
static void init_ids(struct cmk_audit *a, const struct cmk_audit_opts *o)
{
    uint8_t id[CMK_AUDIT_WRITER_HEX / 2];

    a->opts = *o;
    a->opts.syslog_path = NULL; /* borrowed: used at open only */
    a->opts.writer_id = NULL;
    a->now = o->now != NULL ? o->now : realtime_now;
    a->help = o->no_threads                    ? CMK_AFILE_INLINE
              : o->fsync == CMK_FSYNC_INTERVAL ? CMK_AFILE_AHEAD_SYNC
                                               : CMK_AFILE_AHEAD;
    a->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    a->pid = o->pid != 0 ? o->pid : (long)getpid();
    a->forks = cmk_audit_forks();
    if (o->writer_id != NULL) {
        memcpy(a->writer, o->writer_id, CMK_AUDIT_WRITER_HEX);
    } else {
        cmk_random(id, sizeof(id));
        cmk_line_hex(a->writer, id, sizeof(id));
    }
    a->writer[CMK_AUDIT_WRITER_HEX] = '\0';
    a->c0.tsec = (time_t)-1;
    a->tail = &a->chains;
    a->last_sync_ns = cmk_audit_mono_ns();
    a->next_check_ns = a->last_sync_ns + CHECK_INTERVAL_NS;
}

static void destroy(struct cmk_audit *a)
{
    bool forked = cmk_audit_is_forked(a);
    /* The trim's look for other opens (a flock conversion) under the
     * directory lock, like every other process's (afile bind): two such
     * looks at once could each miss the other's lock and the tail of
     * records still being written be cut. */
    int dfd = forked || a->cur == NULL ? -1 : cmk_afile_lock_dir(a->path);

    cmk_afile_close(a->cur, a->opts.fsync != CMK_FSYNC_NONE && !forked,
                    dfd >= 0, a->path);
    cmk_afile_unlock_dir(dfd);
    cmk_ashm_close(a->shm);
    cmk_chain_release_all(a);
    cmk_vmac_lib_free(a->c0.mc);
    cmk_vmac_key_free(a->mac);
    cmk_slog_close(a->slog);
    cmk_mutex_fini(&a->mx);
    free(a->key_tenant);
    free(a->key_provider);
    free(a->sealed_b64);
    free(a->seal_detail);
    free(a->path);
    free(a);
}

/* What audit_open, rotate_in and reopen say about K. */
static cmk_err keep_key_info(struct cmk_audit *a, const struct cmk_audit_key *k)
{
    size_t n = sodium_base64_ENCODED_LEN(k->sealed_len,
                                         sodium_base64_VARIANT_ORIGINAL);
    const char *detail = k->detail;

    if (k->sealed != NULL && k->sealed_len > 0 &&
        n <= CMK_AUDIT_SEALED_B64_MAX) {
        a->sealed_b64 = malloc(n);
        if (a->sealed_b64 == NULL)
            return CMK_E_NOMEM;
        sodium_bin2base64(a->sealed_b64, n, k->sealed, k->sealed_len,
                          sodium_base64_VARIANT_ORIGINAL);
    } else if (k->sealed != NULL) {
        detail = "sealed key too large to record";
    }
    if (a->sealed_b64 == NULL && detail == NULL)
        detail = "chain key not sealed";
    a->key_tenant = k->tenant != NULL ? cmk_strdup(k->tenant) : NULL;
    a->key_provider = k->provider != NULL ? cmk_strdup(k->provider) : NULL;
    a->seal_detail = a->sealed_b64 == NULL ? cmk_strdup(detail) : NULL;
    if ((k->tenant != NULL && a->key_tenant == NULL) ||
        (k->provider != NULL && a->key_provider == NULL) ||
        (a->sealed_b64 == NULL && a->seal_detail == NULL))
        return CMK_E_NOMEM;
    return CMK_OK;
}

/* audit_open or finalize into the current file, under mx: if another
 * process rotated it meanwhile, into the new file after a look at the
 * path. 0 or the errno (counted). */
static int control_locked(struct cmk_audit *a, int (*write)(struct cmk_audit *))
{
    int e = write(a), tries;

    for (tries = 0; e == ESTALE && tries < STALE_TRIES; tries++) {
        cmk_audit_check_path_locked(a);
        e = write(a);
    }
    if (e == ESTALE) { /* the others keep rotating: hold them off */
        int dfd = cmk_audit_hold_path_locked(a);

        e = write(a);
        cmk_afile_unlock_dir(dfd);
    }
    if (e == ESTALE)
        (void)cmk_audit_failed(a, e);
    return e;
}

/* Under the directory lock: never into a rotation half done. */
static cmk_err open_first(struct cmk_audit *a, const char *path)
{
    char msg[128];
    int dfd = cmk_afile_lock_dir(path);
    cmk_err err;

    if (dfd < 0) {
        cmk_log_error("audit: cannot lock the directory of %s: %s", path,
                      strerror_r(errno, msg, sizeof(msg)));
        return CMK_E_IO;
    }
    err = cmk_ashm_open(path, &a->shm);
    if (err == CMK_OK)
        err = cmk_audit_open_path_dirlocked(a, false, &a->cur);
    cmk_afile_unlock_dir(dfd);
    return err;
}

static cmk_err open_parts(struct cmk_audit *a, const char *path,
                          const struct cmk_audit_opts *o,
                          const struct cmk_audit_key *k)
{
    cmk_err err;
    int e;

    a->path = cmk_strdup(path);
    if (a->path == NULL || cmk_mutex_init(&a->mx) != CKR_OK)
        return CMK_E_NOMEM;
    err = cmk_vmac_key_new(cmk_vmac_writer_alg(), k->key, &a->mac);
    if (err == CMK_OK) { /* CMK_E_CRYPTO before cmk_mech_init */
        a->mac_len = cmk_vmac_key_len(a->mac);
        err = cmk_vmac_lib_new(&a->c0.mc);
    }
    if (err == CMK_OK && o->syslog)
        err = cmk_slog_open(o->syslog_path, a->pid, &a->slog);
    if (err == CMK_OK)
        err = open_first(a, path);
    if (err != CMK_OK)
        return err;
    a->files = 1;
    err = keep_key_info(a, k);
    if (err != CMK_OK)
        return err;
    cmk_mutex_lock(&a->mx);
    e = control_locked(a, cmk_audit_write_open);
    cmk_mutex_unlock(&a->mx);
    return e == 0 || !a->opts.required ? CMK_OK : CMK_E_IO;
}

cmk_err cmk_audit_open(const char *path, const struct cmk_audit_opts *opts,
                       const struct cmk_audit_key *key, struct cmk_audit **out)
{
    struct cmk_audit *a;
    cmk_err err;

    if (path == NULL || opts == NULL || key == NULL || out == NULL ||
        !opts_ok(path, opts, key))
        return CMK_E_ARGS;
    *out = NULL;
    (void)pthread_once(&setup_once, setup);
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return CMK_E_NOMEM;
    init_ids(a, opts);
    err = open_parts(a, path, opts, key);
    if (err != CMK_OK) {
        destroy(a);
        return err;
    }
    *out = a;
    return CMK_OK;
}

void cmk_audit_close(struct cmk_audit *a)
{
    int e;

    if (a == NULL)
        return;
    /* A forked child has no key and writes nothing for its parent. */
    if (!cmk_audit_is_forked(a)) {
        cmk_mutex_lock(&a->mx);
        e = control_locked(a, cmk_audit_write_finalize);
        cmk_mutex_unlock(&a->mx);
        if (e != 0)
            cmk_log_error("audit: %s: no finalize record", a->path);
    }
    destroy(a);
}

void cmk_audit_set_clock(struct cmk_audit *a, void (*now)(struct timespec *))
{
    if (a != NULL)
        a->now = now != NULL ? now : realtime_now;
}

const char *cmk_audit_writer_id(const struct cmk_audit *a)
{
    return a != NULL ? a->writer : NULL;
}

unsigned long cmk_audit_syslog_lost(const struct cmk_audit *a)
{
    return a != NULL ? cmk_slog_lost(a->slog) : 0;
}

static void succeeded(struct cmk_audit *a)
{
    unsigned long lost;

    if (__atomic_load_n(&a->fail_errno, __ATOMIC_RELAXED) == 0 ||
        __atomic_exchange_n(&a->fail_errno, 0, __ATOMIC_RELAXED) == 0)
        return;
    lost = __atomic_exchange_n(&a->lost, 0, __ATOMIC_RELAXED);
    cmk_log_error("audit: writing %s again; %lu records were lost", a->path,
                  lost);
}

/* 1..CMK_LINE_STR_MAX of [a-z_]: what the verifier reads as an event
 * (written whole, never cut). */
static bool is_event_name(const char *e)
{
    size_t n = 0;

    if (e == NULL)
        return false;
    for (; e[n] != '\0'; n++) {
        if (n >= CMK_LINE_STR_MAX ||
            !((e[n] >= 'a' && e[n] <= 'z') || e[n] == '_'))
            return false;
    }
    return n > 0;
}

/* Everything after "pid", before "mac", in the fixed key order: the head
 * (event to key_id, head.h) from the chain's memo when it holds the same
 * fields, then the rest. */
static void build_body(struct cmk_line *b, struct cmk_chain *c,
                       const struct cmk_audit_rec *r)
{
    cmk_head_put(&c->heads, b, r);
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
    cmk_line_str(b, "key_old", r->key_old);
    cmk_line_str(b, "key_new", r->key_new);
    cmk_line_num(b, "count", r->count);
}

/* One thread in 100 ms looks at the path (rotation, logrotate); so does
 * a thread whose record filled the file or found it replaced (force). */
static void maybe_check(struct cmk_audit *a, int64_t now, bool force)
{
    int64_t due = __atomic_load_n(&a->next_check_ns, __ATOMIC_RELAXED);

    if (force) {
        __atomic_store_n(&a->next_check_ns, now + CHECK_INTERVAL_NS,
                         __ATOMIC_RELAXED);
    } else if (now < due ||
               !__atomic_compare_exchange_n(
                   &a->next_check_ns, &due, now + CHECK_INTERVAL_NS, false,
                   __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        return;
    }
    cmk_mutex_lock(&a->mx);
    cmk_audit_check_path_locked(a);
    cmk_mutex_unlock(&a->mx);
}

/* Marks the current file as in use by c (see pause_locked in rotate.c):
 * the store to c->using and the load of cur are sequentially consistent
 * on both sides, so either the switcher sees the mark or this thread sees
 * the new file. */
static struct cmk_afile *enter(struct cmk_audit *a, struct cmk_chain *c)
{
    struct cmk_afile *f;

    for (;;) {
        f = __atomic_load_n(&a->cur, __ATOMIC_ACQUIRE);
        if (f == NULL) { /* the file is changing: wait for it (mx) */
            cmk_mutex_lock(&a->mx);
            cmk_mutex_unlock(&a->mx);
            continue;
        }
        __atomic_store_n(&c->using, f, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&a->cur, __ATOMIC_SEQ_CST) == f)
            return f;
        __atomic_store_n(&c->using, NULL, __ATOMIC_RELEASE);
    }
}

static void leave(struct cmk_chain *c)
{
    __atomic_store_n(&c->using, NULL, __ATOMIC_RELEASE);
}

/* The policy's sync, on the file still marked in use. */
static int sync_due(struct cmk_audit *a, struct cmk_chain *c,
                    struct cmk_afile *f, size_t len, uint64_t end, int64_t now)
{
    int64_t last;

    if (a->opts.fsync == CMK_FSYNC_NONE)
        return 0;
    if (a->opts.fsync == CMK_FSYNC_INTERVAL && cmk_afile_helper_syncs(f))
        return cmk_afile_take_sync_error(f); /* the helper syncs */
    if (a->opts.fsync == CMK_FSYNC_INTERVAL) {
        last = __atomic_load_n(&a->last_sync_ns, __ATOMIC_RELAXED);
        c->unkicked += len;
        if (now - last < SYNC_INTERVAL_NS ||
            !__atomic_compare_exchange_n(&a->last_sync_ns, &last, now, false,
                                         __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
#ifdef SYNC_FILE_RANGE_WRITE
            /* Starts writeback without waiting for it; durability still
             * comes from the policy's fdatasync alone. */
            if (c->unkicked >= KICK_BYTES) {
                c->unkicked = 0;
                (void)sync_file_range(f->fd, 0, (off_t)(end & ~(uint64_t)4095),
                                      SYNC_FILE_RANGE_WRITE);
            }
#endif
            return 0;
        }
        c->unkicked = 0;
    }
    return fdatasync(f->fd) == 0 ? 0 : errno;
}

static void copy_to_syslog(struct cmk_audit *a, struct cmk_chain *c,
                           const struct cmk_audit_rec *r,
                           const struct cmk_emitted *em)
{
    char hex[2 * CMK_AUDIT_MAC_LEN + 1];
    struct cmk_slog_rec s;

    cmk_line_hex(hex, em->mac, a->mac_len);
    hex[2 * a->mac_len] = '\0';
    s.writer = a->writer;
    s.chain = c->no;
    s.seq = c->seq;
    s.mac_hex = hex;
    s.event = r->event;
    s.result = r->result;
    s.line = em->line;
    s.len = em->len;
    cmk_slog_send(a->slog, &s);
}

/* One try on the current file; ESTALE when it was replaced. */
static int emit_once(struct cmk_audit *a, struct cmk_chain *c, char *line,
                     size_t blen, int64_t now, struct cmk_emitted *em)
{
    struct cmk_afile *f = enter(a, c);
    int e;

    e = cmk_audit_emit(a, c, f, line, blen, em);
    if (e == 0) {
        em->slide = cmk_afile_view_low(f, em->end);
        e = sync_due(a, c, f, em->len + 1, em->end, now);
    }
    leave(c);
    return e;
}

/* The last try, holding mx and the directory lock: other processes
 * cannot rotate or rebind between the look at the path and the record,
 * so a writer starved by busier ones still gets its record out. */
static int emit_held(struct cmk_audit *a, struct cmk_chain *c, char *line,
                     size_t blen, int64_t now, struct cmk_emitted *em)
{
    int dfd, e;

    cmk_mutex_lock(&a->mx);
    __atomic_store_n(&a->next_check_ns, now + CHECK_INTERVAL_NS,
                     __ATOMIC_RELAXED);
    dfd = cmk_audit_hold_path_locked(a);
    e = emit_once(a, c, line, blen, now, em);
    cmk_afile_unlock_dir(dfd);
    cmk_mutex_unlock(&a->mx);
    return e;
}

static cmk_err emit_on_chain(struct cmk_audit *a, struct cmk_chain *c,
                             const struct cmk_audit_rec *r, char *line,
                             size_t blen)
{
    struct cmk_emitted em;
    int64_t now = cmk_audit_mono_ns();
    int e, tries;

    maybe_check(a, now, false);
    e = emit_once(a, c, line, blen, now, &em);
    /* Another process rotated (maybe more than once meanwhile): reopen
     * and try again. */
    for (tries = 0; e == ESTALE && tries < STALE_TRIES; tries++) {
        maybe_check(a, now, true);
        e = emit_once(a, c, line, blen, now, &em);
    }
    if (e == ESTALE)
        e = emit_held(a, c, line, blen, now, &em);
    if (e != 0)
        return cmk_audit_failed(a, e);
    succeeded(a);
    if (a->opts.max_bytes != 0 && em.end >= a->opts.max_bytes)
        maybe_check(a, now, true); /* full: rotate now */
    if (em.slide) {
        cmk_mutex_lock(&a->mx);
        cmk_audit_slide_locked(a, em.end);
        cmk_mutex_unlock(&a->mx);
    }
    if (a->slog != NULL)
        copy_to_syslog(a, c, r, &em);
    return CMK_OK;
}

cmk_err cmk_audit_write(struct cmk_audit *a, const struct cmk_audit_rec *r)
{
    char line[CMK_LINE_MAX];
    struct cmk_line body;
    struct cmk_chain *c;

    if (a == NULL)
        return CMK_OK;
    if (r == NULL || !is_event_name(r->event))
        return CMK_E_ARGS;
    if (cmk_audit_is_forked(a)) /* never continue the parent's chains */
        return cmk_audit_failed(a, ECHILD);
    c = cmk_chain_get(a);
    if (c == NULL)
        return cmk_audit_failed(a, ENOMEM);
    cmk_line_init(&body, line + CMK_AUDIT_PREFIX_ROOM, CMK_AUDIT_BODY_CAP);
    build_body(&body, c, r);
    if (body.overflow) /* cannot happen: strings are capped (line.h) */
        return CMK_E_INTERNAL;
    return emit_on_chain(a, c, r, line, body.len);
}
