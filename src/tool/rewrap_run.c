/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the driver of "cmk-tool rewrap" (rewrap.h): inputs, the tenant's
 * key-change lock, the journal, --jobs worker threads taking inputs in
 * order, the audit records, progress, stdout in input order, the
 * summary and the exit code. SIGINT and SIGTERM stop the taking of new
 * inputs: the blobs in flight finish, the journal and the records are
 * written, and the run ends with 130. Workers block both signals; the
 * main thread notices them within 50 ms.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mech/hash.h"
#include "tool/event.h"
#include "tool/rewrap.h"
#include "tool/rewrap_int.h"
#include "tool/rotlock.h"
#include "tool/tool.h"

#define MAX_JOBS 64
#define ROUNDS 4          /* calls per blob when the KMS stays transient */
#define PAUSE_MS 250      /* before the second call; doubles, jittered */
#define TICK_NS 50000000L /* the main thread's poll: 50 ms */

enum { GO = 0, INTERRUPTED, STOPPED };

struct run {
    const struct tool_rewrap_opts *o;
    const struct tool_rewrap_ops *ops;
    void *ctx;
    const char *tenant;
    struct rw_list list;
    struct rw_journal *j;     /* NULL: none */
    struct tool_audit *audit; /* NULL: none */
    size_t next;              /* atomic: the next input to take */
    size_t done;              /* atomic: inputs with a final state */
    size_t count[RW__STATES]; /* atomic */
    int stop;                 /* atomic: GO, INTERRUPTED, STOPPED */
    unsigned running;         /* atomic: workers not yet ended */
};

/* What one input needs while a worker handles it. */
struct step {
    struct cmk_buf in, out;
    struct stat st; /* files: as read */
    uint8_t digest[RW_DIGEST_LEN];
    char key_old[256];
    char why[256];
    bool already;
    bool cr; /* stdin: the line ended with "\r\n" */
};

static volatile sig_atomic_t signalled;

static void on_signal(int sig)
{
    if (signalled) { /* a second one: no more waiting */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    signalled = 1;
}

static bool stopping(struct run *r)
{
    return __atomic_load_n(&r->stop, __ATOMIC_RELAXED) != GO || signalled;
}

static void fail_why(struct step *s, const char *why)
{
    snprintf(s->why, sizeof(s->why), "%s", why);
}

/* The input's bytes into s->in and the digest the journal keys it by
 * (files: the file; lines: the line's text). -1 with s->why. */
static int load(const struct rw_item *it, struct step *s)
{
    const char *text = it->text;
    size_t len, got = 0;

    if (it->path != NULL) {
        if (rw_file_read(it->path, &s->in, &s->st, s->why, sizeof(s->why)) != 0)
            return -1;
        text = (const char *)s->in.p;
        len = s->in.len;
    } else {
        len = strlen(text);
    }
    if (cmk_sha256(text, len, s->digest) != CMK_OK) {
        fail_why(s, "cannot be hashed");
        return -1;
    }
    if (it->path != NULL)
        return 0;
    s->cr = len > 0 && text[len - 1] == '\r';
    len -= s->cr;
    if (len == 0 || len > RW_MAX_BLOB * 2 ||
        cmk_buf_alloc(&s->in, len / 4 * 3 + 3) != CMK_OK ||
        sodium_base642bin(s->in.p, s->in.len, text, len, NULL, &got, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        fail_why(s, "not a base64 line");
        return -1;
    }
    s->in.len = got;
    return 0;
}

/* Up to ROUNDS calls while the KMS answers as if it may work later,
 * pausing 125-375, 125-625 and 125-1125 ms in between. */
/* The pause before round + 1, cut short when the run stops. */
static void pause_before(struct run *r, int round)
{
    struct timespec ts;
    long ms = PAUSE_MS / 2 + (long)randombytes_uniform((PAUSE_MS << round));

    for (; ms > 0 && !stopping(r); ms -= 50) {
        ts.tv_sec = 0;
        ts.tv_nsec = (ms < 50 ? ms : 50) * 1000000L;
        nanosleep(&ts, NULL);
    }
}

static int attempt(struct run *r, struct step *s)
{
    int res, round;

    for (round = 0;; round++) {
        cmk_buf_free(&s->out);
        res = r->ops->one(r->ctx, s->in.p, s->in.len, &s->out, &s->already);
        if (res != TOOL_REWRAP_AGAIN || round + 1 >= ROUNDS || stopping(r))
            break;
        pause_before(r, round);
    }
    if (res != TOOL_REWRAP_OK)
        fail_why(s, r->ops->why(r->ctx));
    return res;
}

/* The new blob in place: the file replaced, or the line to print. */
static int commit(struct rw_item *it, struct step *s)
{
    size_t n =
        sodium_base64_ENCODED_LEN(s->out.len, sodium_base64_VARIANT_ORIGINAL);

    if (it->path != NULL)
        return rw_file_replace(it->path, &s->st, s->out.p, s->out.len, s->why,
                               sizeof(s->why));
    it->out = malloc(n + 1);
    if (it->out == NULL) {
        fail_why(s, "out of memory");
        return -1;
    }
    sodium_bin2base64(it->out, n, s->out.p, s->out.len,
                      sodium_base64_VARIANT_ORIGINAL);
    if (s->cr)
        strcat(it->out, "\r");
    return 0;
}

/* The entry of a blob done: the file's digest now, or the line's. */
static int journal(struct run *r, const struct rw_item *it, struct step *s)
{
    uint8_t d[RW_DIGEST_LEN];

    if (it->path == NULL)
        return rw_journal_add_line(r->j, it->line, s->digest,
                                   it->out != NULL ? it->out : it->text);
    if (s->out.len == 0)
        return rw_journal_add_file(r->j, it->path, s->digest);
    if (cmk_sha256(s->out.p, s->out.len, d) != CMK_OK)
        return -1;
    return rw_journal_add_file(r->j, it->path, d);
}

static int record(struct run *r, const struct rw_item *it, const struct step *s,
                  int state)
{
    struct tool_event ev;
    char detail[64];

    tool_event_init(&ev);
    ev.event = "blob_rewrapped";
    ev.op = "cmk-tool rewrap";
    ev.tenant = r->tenant;
    ev.result = state == RW_REWRAPPED ? "ok"
                : state == RW_CURRENT ? "skipped"
                                      : "failed";
    ev.key_old = s->key_old[0] != '\0' ? s->key_old : NULL;
    ev.key_new = r->ops->key_new(r->ctx);
    if (it->path == NULL)
        snprintf(detail, sizeof(detail), "stdin line %zu", it->line);
    ev.detail = it->path != NULL ? it->path : detail;
    return tool_audit_event(r->audit, &ev);
}

/* Publishes the input's final state (and says why it failed). */
static void finish(struct run *r, struct rw_item *it, const struct step *s,
                   int state)
{
    if (state == RW_FAILED) {
        flockfile(stderr); /* one whole line among the threads' */
        if (it->path != NULL)
            tool_err("rewrap: %s: %s", it->path, s->why);
        else
            tool_err("rewrap: stdin line %zu: %s", it->line, s->why);
        funlockfile(stderr);
    }
    if (!r->o->dry_run && state != RW_JOURNAL && r->audit != NULL &&
        record(r, it, s, state) != 0)
        __atomic_store_n(&r->stop, STOPPED, __ATOMIC_RELAXED);
    it->state = state;
    __atomic_store_n(&it->done, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&r->count[state], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&r->done, 1, __ATOMIC_RELAXED);
}

/* Done by an earlier run, as the journal says. */
static bool journaled(struct run *r, struct rw_item *it, const struct step *s)
{
    const char *out;

    if (r->j == NULL)
        return false;
    if (it->path != NULL)
        return rw_journal_has_file(r->j, it->path, s->digest);
    out = rw_journal_line_out(r->j, it->line, s->digest);
    if (out == NULL || strcmp(out, it->text) == 0)
        return out != NULL;
    it->out = strdup(out);
    return it->out != NULL;
}

/* After the step: the new blob in place and journaled; the final state. */
static int complete(struct run *r, struct rw_item *it, struct step *s, int res)
{
    if (res == TOOL_REWRAP_STOP)
        __atomic_store_n(&r->stop, STOPPED, __ATOMIC_RELAXED);
    if (res != TOOL_REWRAP_OK)
        return RW_FAILED;
    if (s->already) {
        cmk_buf_free(&s->out);
    } else if (commit(it, s) != 0) {
        return RW_FAILED;
    }
    if (journal(r, it, s) != 0)
        __atomic_store_n(&r->stop, STOPPED, __ATOMIC_RELAXED);
    return s->already ? RW_CURRENT : RW_REWRAPPED;
}

#define NEEDS_STEP (-1)

/* Everything before the KMS: the input read, the journal asked, the blob
 * checked. Its final state, or NEEDS_STEP. */
static int prepare_one(struct run *r, struct rw_item *it, struct step *s)
{
    if (load(it, s) != 0)
        return RW_FAILED;
    if (journaled(r, it, s))
        return RW_JOURNAL;
    if (r->ops->check(r->ctx, s->in.p, s->in.len, &s->already, s->key_old,
                      sizeof(s->key_old)) != TOOL_REWRAP_OK) {
        fail_why(s, r->ops->why(r->ctx));
        return RW_FAILED;
    }
    if (r->o->dry_run)
        return s->already ? RW_CURRENT : RW_REWRAPPED;
    if (s->already)
        return complete(r, it, s, TOOL_REWRAP_OK);
    return NEEDS_STEP;
}

static void done_with(struct run *r, struct rw_item *it, struct step *s,
                      int state)
{
    finish(r, it, s, state);
    cmk_buf_free(&s->in);
    cmk_buf_free(&s->out);
}

static void handle(struct run *r, struct rw_item *it)
{
    struct step s;
    int state;

    memset(&s, 0, sizeof(s));
    state = prepare_one(r, it, &s);
    if (state == NEEDS_STEP)
        state = complete(r, it, &s, attempt(r, &s));
    done_with(r, it, &s, state);
}

/* attempt for many: up to ROUNDS many calls, each with the items the
 * KMS answered as if they may work later. */
static void attempt_many(struct run *r, struct tool_rewrap_item **v, size_t n)
{
    size_t i, k = n;
    int round;

    for (round = 0;; round++) {
        for (i = 0; i < k; i++)
            cmk_buf_free(&v[i]->out);
        r->ops->many(r->ctx, v, k, r->o->batch);
        for (i = 0, n = k, k = 0; i < n; i++) {
            if (v[i]->res == TOOL_REWRAP_AGAIN)
                v[k++] = v[i]; /* v is the caller's scratch */
        }
        if (k == 0 || round + 1 >= ROUNDS || stopping(r))
            break;
        pause_before(r, round);
    }
}

/* One group's memory. */
struct group {
    struct step *s;
    struct tool_rewrap_item *items;
    struct tool_rewrap_item **v;
    size_t *at;
};

static void group_free(struct group *g)
{
    free(g->s);
    free(g->items);
    free(g->v);
    free(g->at);
}

static bool group_alloc(struct group *g, size_t n)
{
    g->s = calloc(n, sizeof(*g->s));
    g->items = calloc(n, sizeof(*g->items));
    g->v = calloc(n, sizeof(*g->v));
    g->at = calloc(n, sizeof(*g->at));
    if (g->s != NULL && g->items != NULL && g->v != NULL && g->at != NULL)
        return true;
    group_free(g);
    return false;
}

/* Each stepped item's answer into its step, then its final state. */
static void settle(struct run *r, struct rw_item *base, struct group *g,
                   size_t m)
{
    size_t i;

    for (i = 0; i < m; i++) {
        struct step *st = &g->s[g->at[i]];
        struct tool_rewrap_item *it = &g->items[i];

        st->out = it->out;
        st->already = it->already;
        if (it->res != TOOL_REWRAP_OK)
            fail_why(st, it->why);
        done_with(r, &base[g->at[i]], st,
                  complete(r, &base[g->at[i]], st, it->res));
    }
}

/* Inputs first..first+n in one group: each prepared, those that need the
 * KMS stepped together (ops->many), each finished. */
static void handle_group(struct run *r, size_t first, size_t n)
{
    struct rw_item *base = &r->list.v[first];
    struct group g;
    size_t i, m = 0;
    int state;

    if (!group_alloc(&g, n)) {
        for (i = 0; i < n; i++) /* one by one: needs no more memory */
            handle(r, &base[i]);
        return;
    }
    for (i = 0; i < n; i++) {
        state = prepare_one(r, &base[i], &g.s[i]);
        if (state != NEEDS_STEP) {
            done_with(r, &base[i], &g.s[i], state);
            continue;
        }
        g.items[m].in = g.s[i].in.p;
        g.items[m].len = g.s[i].in.len;
        g.v[m] = &g.items[m];
        g.at[m++] = i;
    }
    if (m > 0)
        attempt_many(r, g.v, m);
    settle(r, base, &g, m);
    group_free(&g);
}

/* How many inputs a worker takes at a time: --batch where the KMS takes
 * batches (at most what one call carries), else one. */
static size_t take(const struct run *r)
{
    size_t most;

    if (r->ops->many == NULL || r->ops->group == NULL || r->o->dry_run)
        return 1;
    most = r->ops->group(r->ctx);
    return r->o->batch < most ? r->o->batch : most;
}

static void *worker(void *arg)
{
    struct run *r = arg;
    size_t n = take(r), i;

    while (!stopping(r)) {
        i = __atomic_fetch_add(&r->next, n, __ATOMIC_RELAXED);
        if (i >= r->list.n)
            break;
        if (n == 1)
            handle(r, &r->list.v[i]);
        else
            handle_group(r, i, r->list.n - i < n ? r->list.n - i : n);
    }
    __atomic_sub_fetch(&r->running, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* stdin mode: prints the lines from *next on that are done (all of them
 * at the end, those not done unchanged), in input order, freeing each. */
static int flush_lines(struct run *r, size_t *next, bool end)
{
    struct rw_item *it;
    bool bad = false;

    for (; *next < r->list.n && !bad; (*next)++) {
        it = &r->list.v[*next];
        if (!end && !__atomic_load_n(&it->done, __ATOMIC_ACQUIRE))
            break;
        bad = fputs(it->out != NULL ? it->out : it->text, stdout) == EOF ||
              fputc('\n', stdout) == EOF;
        free(it->text);
        free(it->out);
        it->text = it->out = NULL;
    }
    if (fflush(stdout) != 0 || bad) {
        tool_err("rewrap: cannot write to stdout: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void on_tick(struct run *r, struct rw_progress *p)
{
    if (signalled && __atomic_load_n(&r->stop, __ATOMIC_RELAXED) == GO) {
        __atomic_store_n(&r->stop, INTERRUPTED, __ATOMIC_RELAXED);
        tool_err("rewrap: interrupted: finishing the blobs in flight");
    }
    rw_progress_tick(p, __atomic_load_n(&r->done, __ATOMIC_RELAXED), false);
}

/* Starts the workers with SIGINT and SIGTERM blocked in them. */
static unsigned start(struct run *r, pthread_t *th, unsigned n)
{
    sigset_t block, old;
    unsigned i;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    r->running = n;
    for (i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, worker, r) != 0) {
            tool_err("rewrap: cannot start a thread: %s", strerror(errno));
            __atomic_sub_fetch(&r->running, n - i, __ATOMIC_RELEASE);
            __atomic_store_n(&r->stop, STOPPED, __ATOMIC_RELAXED);
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return i;
}

/* Runs the workers to the end; the main thread keeps the progress and
 * stdout going. -1 when stdout cannot be written. */
static int drive(struct run *r, struct rw_progress *p)
{
    struct timespec tick = {0, TICK_NS};
    pthread_t th[MAX_JOBS];
    unsigned n = r->o->jobs, started, i;
    size_t out = 0;
    int rc = 0;

    if (n > r->list.n)
        n = r->list.n > 0 ? (unsigned)r->list.n : 1;
    started = start(r, th, n);
    while (__atomic_load_n(&r->running, __ATOMIC_ACQUIRE) > 0) {
        nanosleep(&tick, NULL); /* a signal ends it early */
        on_tick(r, p);
        if (r->list.from_stdin && !r->o->dry_run && rc == 0)
            rc = flush_lines(r, &out, false);
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    on_tick(r, p);
    rw_progress_tick(p, r->done, true);
    for (i = 0; i < r->list.n; i++) {
        if (!r->list.v[i].done) {
            r->list.v[i].state = RW_NOT_DONE;
            r->count[RW_NOT_DONE]++;
        }
    }
    if (r->list.from_stdin && !r->o->dry_run && rc == 0)
        rc = flush_lines(r, &out, true);
    return rc;
}

static void summary(const struct run *r, double elapsed)
{
    const size_t *c = r->count;

    if (r->o->dry_run) {
        tool_err("rewrap: dry run: would rewrap %zu, already current %zu, "
                 "unreadable %zu, ignored %zu",
                 c[RW_REWRAPPED], c[RW_CURRENT], c[RW_FAILED], r->list.ignored);
        return;
    }
    tool_err("rewrap: rewrapped %zu, skipped %zu (already current %zu, "
             "journal %zu), failed %zu, not processed %zu, ignored %zu, "
             "elapsed %.1f s (%.0f blobs/s)",
             c[RW_REWRAPPED], c[RW_CURRENT] + c[RW_JOURNAL], c[RW_CURRENT],
             c[RW_JOURNAL], c[RW_FAILED], c[RW_NOT_DONE], r->list.ignored,
             elapsed, elapsed > 0 ? (double)r->done / elapsed : 0.0);
}

static int exit_code(const struct run *r, int out_rc)
{
    if (r->o->dry_run)
        return r->count[RW_FAILED] != 0 ? TOOL_FAIL : TOOL_OK;
    if (r->stop == INTERRUPTED)
        return TOOL_REWRAP_INTERRUPTED;
    if (out_rc != 0 || r->stop != GO || r->count[RW_FAILED] != 0 ||
        r->count[RW_NOT_DONE] != 0)
        return TOOL_FAIL;
    return TOOL_OK;
}

/* rewrap_started / rewrap_completed. */
static int lifecycle(struct run *r, bool end, int code, double elapsed)
{
    struct tool_event ev;
    char detail[160];

    tool_event_init(&ev);
    ev.op = "cmk-tool rewrap";
    ev.tenant = r->tenant;
    ev.key_new = r->ops->key_new(r->ctx);
    if (!end) {
        ev.event = "rewrap_started";
        ev.result = "ok";
        ev.count = (long long)r->list.n;
        snprintf(detail, sizeof(detail), "%s blobs from %s, jobs %u",
                 r->ops->name, r->list.from_stdin ? "stdin" : "files",
                 r->o->jobs);
    } else {
        ev.event = "rewrap_completed";
        ev.result = code == TOOL_OK                   ? "ok"
                    : code == TOOL_REWRAP_INTERRUPTED ? "interrupted"
                                                      : "failed";
        ev.count = (long long)r->count[RW_REWRAPPED];
        snprintf(detail, sizeof(detail),
                 "rewrapped %zu, skipped %zu, failed %zu, not processed %zu, "
                 "elapsed %.1f s",
                 r->count[RW_REWRAPPED],
                 r->count[RW_CURRENT] + r->count[RW_JOURNAL],
                 r->count[RW_FAILED], r->count[RW_NOT_DONE], elapsed);
    }
    ev.detail = detail;
    return tool_audit_event(r->audit, &ev);
}

/* The lock and the journal, then rewrap_started. */
static int prepare(struct run *r, const struct cmk_tenant_cfg *t,
                   const char *journal, struct tool_rotlock **lock)
{
    const char *run[4] = {r->ops->name, r->tenant, r->ops->target(r->ctx),
                          r->list.from_stdin ? "stdin" : "files"};

    if (tool_rotlock_take(t, "rewrap", 0, lock) != 0)
        return TOOL_FAIL;
    if (journal != NULL && rw_journal_open(journal, run, &r->j) != 0)
        return TOOL_FAIL;
    if (lifecycle(r, false, 0, 0) != 0)
        return TOOL_FAIL;
    return TOOL_OK;
}

static int collect(struct run *r, const char *journal)
{
    if (r->o->from_stdin)
        return rw_collect_stdin(stdin, &r->list);
    return rw_collect_paths(r->o->paths, r->o->n_paths, journal, r->o->dry_run,
                            &r->list);
}

/* The workers, with SIGINT and SIGTERM caught around them. */
static int run_all(struct run *r, double *elapsed)
{
    struct sigaction sa, old_int, old_term;
    struct rw_progress p;
    int rc;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signalled = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    rw_progress_start(&p, r->list.n);
    rc = drive(r, &p);
    *elapsed = rw_progress_elapsed(&p);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

int tool_rewrap_run(const struct tool_rewrap_opts *o,
                    const struct tool_rewrap_ops *ops,
                    const struct cmk_config *cfg,
                    const struct cmk_tenant_cfg *t)
{
    struct tool_rotlock *lock = NULL;
    const char *journal = o->journal;
    char jpath[PATH_MAX];
    double elapsed = 0;
    struct run r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.o = o;
    r.ops = ops;
    r.tenant = t->kms.label;
    if (journal == NULL && !o->from_stdin && !o->dry_run) {
        if (rw_journal_default(o->paths[0], jpath, sizeof(jpath)) != 0)
            return TOOL_USAGE;
        journal = jpath;
    }
    rc = collect(&r, journal);
    /* The audit file first: the KMS calls of open (the KEK path's
     * unseals) are kms_call records, in a dry run too. */
    if (rc == TOOL_OK && tool_audit_open(cfg, &r.audit) != 0)
        rc = TOOL_FAIL;
    if (rc == TOOL_OK)
        rc = ops->open(o, cfg, t, &r.ctx);
    if (rc == TOOL_OK && !o->dry_run)
        rc = prepare(&r, t, o->dry_run ? NULL : journal, &lock);
    if (rc == TOOL_OK && ops->audit != NULL && r.audit != NULL)
        ops->audit(r.ctx, tool_audit_writer(r.audit));
    if (rc == TOOL_OK) {
        rc = exit_code(&r, run_all(&r, &elapsed));
        if (!o->dry_run && lifecycle(&r, true, rc, elapsed) != 0 &&
            rc == TOOL_OK)
            rc = TOOL_FAIL;
        summary(&r, elapsed);
    }
    /* Complete: nothing left to continue, so no journal to mislead. */
    rw_journal_close(r.j, rc == TOOL_OK);
    if (ops->audit != NULL && r.ctx != NULL)
        ops->audit(r.ctx, NULL);
    tool_audit_close(r.audit);
    tool_rotlock_release(lock);
    if (r.ctx != NULL)
        ops->close(r.ctx);
    rw_list_free(&r.list);
    return rc;
}
