/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-curve's command line, blob files and commands. Each
 * command prints one JSON line; miss and flight also write a log of every
 * operation (blob index, start and end in CLOCK_REALTIME ns, the thread's
 * CPU time in ns) that
 * curve_data.py matches to the KMS emulator's call log.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmk-pkcs11.h"
#include "curve.h"

static const char usage[] =
    "usage: cmk-curve COMMAND --module PATH --token-label L --pin PIN "
    "[options]\n"
    "  gen    --count N --blobs FILE      N envelope blobs of one DEK\n"
    "  hit    --blobs FILE [--threads T] [--seconds S]\n"
    "         unwrap every blob once (cache fill, RSS before and after),\n"
    "         then unwrap them in a random order for S seconds\n"
    "  miss   --blobs FILE --threads T --seconds S [--op-log FILE]\n"
    "         each thread cycles through its own slice of the blobs\n"
    "         (cache off: each unwrap a KMS call)\n"
    "  flight --blobs FILE --threads N --count I [--op-log FILE]\n"
    "         N threads unwrap blob I at once after a barrier\n"
    "  wrap   --mech direct|kwp --threads T --seconds S\n";

/* A fixed scratch DEK (not a secret: the curves only need every blob to
 * wrap the same known key so an unwrap can be checked). */
static CK_BYTE ref_value[BENCH_KEY_LEN] = {
    0x63, 0x75, 0x72, 0x76, 0x65, 0x2d, 0x72, 0x65, 0x66, 0x2d, 0x64,
    0x65, 0x6b, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};

static int make_ref(struct curve *c, struct bench_err *e)
{
    static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    static CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    static CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_VALUE, ref_value, sizeof(ref_value)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };

    P11_CALL(e, c->g, C_CreateObject, c->g->main, t, 7, &c->ref);
    return 0;
}

/* ---- blob files ---- */

static int fail(struct bench_err *e, const char *fn, const char *what)
{
    bench_err_set(e, fn, BENCH_RV_NONE, what);
    return -1;
}

static int load_blobs(struct curve *c, struct bench_err *e)
{
    FILE *f = fopen(c->o->blob_file, "rb");
    long size;
    size_t pos = 0, n = 0;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        return f ? fclose(f), fail(e, "fopen", "empty blob file")
                 : fail(e, "fopen", strerror(errno));
    c->bl.data = malloc((size_t)size);
    c->bl.off = malloc(((size_t)size / 3 + 1) * sizeof(size_t));
    if (c->bl.data == NULL || c->bl.off == NULL ||
        fread(c->bl.data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return fail(e, "fread", "cannot read the blob file");
    }
    fclose(f);
    while (pos + 2 < (size_t)size) {
        c->bl.off[n++] = pos;
        pos += 2 + ((size_t)c->bl.data[pos] << 8 | c->bl.data[pos + 1]);
    }
    if (pos != (size_t)size || n == 0)
        return fail(e, "load_blobs", "truncated blob file");
    c->bl.n = n;
    return 0;
}

static CK_BYTE *blob_at(const struct curve *c, size_t i, CK_ULONG *len)
{
    CK_BYTE *p = c->bl.data + c->bl.off[i];

    *len = (CK_ULONG)p[0] << 8 | p[1];
    return p + 2;
}

int curve_unwrap(struct curve *c, CK_SESSION_HANDLE h, size_t i,
                 struct bench_err *e)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_HANDLE k;
    CK_ATTRIBUTE *t;
    CK_ULONG n, len;
    CK_BYTE *b = blob_at(c, i, &len);

    t = p11_unwrap_tmpl(&n);
    P11_CALL(e, c->g, C_UnwrapKey, h, &m, c->g->cmk, b, len, t, n, &k);
    P11_CALL(e, c->g, C_DestroyObject, h, k);
    return 0;
}

int curve_check_blob(struct curve *c, size_t i, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_HANDLE k, dek = c->g->dek;
    CK_ATTRIBUTE *t;
    CK_ULONG n, len;
    CK_BYTE *b = blob_at(c, i, &len);
    int rc;

    t = p11_unwrap_tmpl(&n);
    P11_CALL(e, c->g, C_UnwrapKey, c->g->main, &m, c->g->cmk, b, len, t, n, &k);
    c->g->dek = c->ref; /* p11_same_key compares with g->dek */
    rc = p11_same_key(c->g, c->g->main, k, e);
    c->g->dek = dek;
    (void)c->g->f->C_DestroyObject(c->g->main, k);
    return rc;
}

/* ---- commands ---- */

static int cmd_gen(struct curve *c, struct bench_err *e)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_BYTE buf[P11_BLOB_MAX];
    CK_ULONG len;
    uint64_t t = curve_now_ns();
    unsigned long i;
    FILE *f = fopen(c->o->blob_file, "wb");

    if (f == NULL)
        return fail(e, "fopen", strerror(errno));
    for (i = 0; i < c->o->count; i++) {
        len = sizeof(buf);
        if (c->g->f->C_WrapKey(c->g->main, &m, c->g->cmk, c->ref, buf, &len) !=
                CKR_OK ||
            len > 0xffff) {
            fclose(f);
            return fail(e, "C_WrapKey", "CKM_CMK_ENVELOPE failed");
        }
        putc((int)(len >> 8), f);
        putc((int)(len & 0xff), f);
        fwrite(buf, 1, len, f);
    }
    if (fclose(f) != 0)
        return fail(e, "fclose", strerror(errno));
    printf("{\"cmd\":\"gen\",\"blobs\":%lu,\"seconds\":%.3f}\n", c->o->count,
           (double)(curve_now_ns() - t) / 1e9);
    return 0;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int make_order(struct curve *c, struct bench_err *e)
{
    uint64_t s = 0x2545f4914f6cdd1dULL;
    size_t i, j, tmp, n = c->bl.n;

    c->order = malloc(n * sizeof(*c->order));
    if (c->order == NULL)
        return fail(e, "malloc", "out of memory");
    for (i = 0; i < n; i++)
        c->order[i] = i;
    for (i = n - 1; i > 0; i--) { /* Fisher-Yates */
        j = (size_t)(xorshift(&s) % (i + 1));
        tmp = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = tmp;
    }
    return 0;
}

static int hit_op(struct curve_thr *t)
{
    struct curve *c = t->c;

    if (t->ops == 0)
        t->next = (size_t)t->idx * c->bl.n / c->o->threads;
    return curve_unwrap(c, t->h, c->order[t->next++ % c->bl.n], &t->err);
}

static int cmd_hit(struct curve *c, struct bench_err *e)
{
    struct curve_thr *thr = NULL;
    uint64_t t0, t1, ops = 0, t = curve_now_ns();
    long rss0 = bench_rss_kb(), rss1;
    double fill_s, wall;
    size_t i;
    unsigned k;
    int rc = 0;

    for (i = 0; i < c->bl.n && rc == 0; i++)
        rc = curve_unwrap(c, c->g->main, i, e);
    fill_s = (double)(curve_now_ns() - t) / 1e9;
    rss1 = bench_rss_kb();
    if (rc == 0)
        rc = curve_check_blob(c, 0, e);
    if (rc == 0)
        rc = curve_check_blob(c, c->bl.n - 1, e);
    if (rc == 0)
        rc = make_order(c, e);
    if (rc == 0)
        rc = curve_run(c, hit_op, &thr, &t0, &t1, &wall, e);
    for (k = 0; rc == 0 && k < c->o->threads; k++)
        ops += thr[k].ops;
    if (rc == 0)
        printf("{\"cmd\":\"hit\",\"n\":%zu,\"threads\":%u,\"fill_s\":%.3f,"
               "\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,\"ops\":%llu,"
               "\"seconds\":%.3f,\"ops_per_s\":%.1f}\n",
               c->bl.n, c->o->threads, fill_s, rss0, rss1,
               (unsigned long long)ops, wall, (double)ops / wall);
    curve_free_threads(c, thr);
    return rc;
}

/* One unwrap with its log entry: blob index, start and end (realtime),
 * and the thread's CPU time in it (what the module itself spent). */
static int log_op(struct curve_thr *t, size_t i)
{
    uint64_t *l = t->log ? t->log + CURVE_LOG_N * (t->ops % t->log_cap) : NULL;
    uint64_t cpu = curve_cpu_ns(), start = curve_realtime_ns();
    int rc = curve_unwrap(t->c, t->h, i, &t->err);

    if (l != NULL && t->ops < t->log_cap) {
        l[0] = i;
        l[1] = start;
        l[2] = curve_realtime_ns();
        l[3] = curve_cpu_ns() - cpu;
    }
    return rc;
}

/* Thread i cycles through its own slice of the blobs, so no two threads
 * ever unwrap the same blob at once (that would be one shared KMS call). */
static int miss_op(struct curve_thr *t)
{
    size_t slice = t->c->bl.n / t->c->o->threads;

    if (slice == 0)
        return fail(&t->err, "miss", "fewer blobs than threads");
    return log_op(t, t->idx * slice + t->next++ % slice);
}

static int flight_op(struct curve_thr *t)
{
    return log_op(t, (size_t)t->c->o->count % t->c->bl.n);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Writes the op log and prints the command's line with p50/p99. */
static int report_ops(struct curve *c, struct curve_thr *thr, uint64_t t0,
                      uint64_t t1, double wall, struct bench_err *e)
{
    size_t n = 0, k, j, m;
    uint64_t *lat, ops = 0;
    FILE *f = c->o->op_log ? fopen(c->o->op_log, "w") : NULL;

    for (k = 0; k < c->o->threads; k++)
        ops += thr[k].ops;
    lat = malloc((ops + 1) * sizeof(*lat));
    if (lat == NULL || (c->o->op_log != NULL && f == NULL)) {
        free(lat);
        return fail(e, "report", "cannot write the op log");
    }
    for (k = 0; k < c->o->threads; k++) {
        m = thr[k].ops < thr[k].log_cap ? thr[k].ops : thr[k].log_cap;
        for (j = 0; j < m; j++) {
            uint64_t *l = thr[k].log + CURVE_LOG_N * j;

            lat[n++] = l[2] - l[1];
            if (f != NULL)
                fprintf(f, "%llu %llu %llu %llu\n", (unsigned long long)l[0],
                        (unsigned long long)l[1], (unsigned long long)l[2],
                        (unsigned long long)l[3]);
        }
    }
    qsort(lat, n, sizeof(*lat), cmp_u64);
    printf("{\"cmd\":\"%s\",\"threads\":%u,\"ops\":%llu,\"seconds\":%.3f,"
           "\"ops_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
           "\"t0\":%.6f,\"t1\":%.6f}\n",
           c->o->cmd, c->o->threads, (unsigned long long)ops, wall,
           wall > 0 ? (double)ops / wall : 0,
           n ? (double)lat[(n - 1) / 2] / 1e3 : 0,
           n ? (double)lat[(size_t)((double)(n - 1) * 0.99)] / 1e3 : 0,
           (double)t0 / 1e9, (double)t1 / 1e9);
    free(lat);
    if (f != NULL && fclose(f) != 0)
        return fail(e, "fclose", strerror(errno));
    return 0;
}

static int cmd_logged(struct curve *c, curve_op fn, struct bench_err *e)
{
    struct curve_thr *thr = NULL;
    uint64_t t0, t1;
    double wall;
    int rc;

    rc = curve_check_blob(c, c->bl.n - 1, e);
    if (rc == 0)
        rc = curve_run(c, fn, &thr, &t0, &t1, &wall, e);
    if (rc == 0)
        rc = report_ops(c, thr, t0, t1, wall, e);
    curve_free_threads(c, thr);
    return rc;
}

static int wrap_op(struct curve_thr *t)
{
    struct p11 *g = t->c->g;
    bool direct = strcmp(t->c->o->mech, "direct") == 0;
    CK_MECHANISM m = {direct ? CKM_CMK_ENVELOPE : g->kwp, NULL, 0};
    CK_BYTE buf[P11_BLOB_MAX];
    CK_ULONG len = sizeof(buf);

    P11_CALL(&t->err, g, C_WrapKey, t->h, &m, direct ? g->cmk : g->kek, g->dek,
             buf, &len);
    if (!direct && len != BENCH_KEY_LEN + 8)
        return fail(&t->err, "C_WrapKey", "RFC 5649 output is not 40 bytes");
    return 0;
}

static int cmd_wrap(struct curve *c, struct bench_err *e)
{
    struct curve_thr *thr = NULL;
    uint64_t t0, t1, ops = 0;
    double wall;
    unsigned k;
    int rc;

    rc = curve_run(c, wrap_op, &thr, &t0, &t1, &wall, e);
    for (k = 0; rc == 0 && k < c->o->threads; k++)
        ops += thr[k].ops;
    if (rc == 0)
        printf("{\"cmd\":\"wrap\",\"mech\":\"%s\",\"threads\":%u,"
               "\"ops\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.1f,"
               "\"t0\":%.6f,\"t1\":%.6f}\n",
               c->o->mech, c->o->threads, (unsigned long long)ops, wall,
               (double)ops / wall, (double)t0 / 1e9, (double)t1 / 1e9);
    curve_free_threads(c, thr);
    return rc;
}

/* ---- command line ---- */

static const struct option longopts[] = {
    {"module", required_argument, NULL, 'm'},
    {"token-label", required_argument, NULL, 'L'},
    {"pin", required_argument, NULL, 'p'},
    {"blobs", required_argument, NULL, 'b'},
    {"op-log", required_argument, NULL, 'l'},
    {"mech", required_argument, NULL, 'M'},
    {"count", required_argument, NULL, 'n'},
    {"threads", required_argument, NULL, 't'},
    {"seconds", required_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};

static int number(const char *s, double max, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && *out >= 0 && *out <= max
               ? 0
               : -1;
}

static int set_opt(struct curve_opts *o, int ch, const char *arg)
{
    double v = 0;

    switch (ch) {
    case 'm':
        o->b.module = arg;
        return 0;
    case 'L':
        o->b.token_label = arg;
        return 0;
    case 'p':
        o->b.pin = arg;
        return 0;
    case 'b':
        o->blob_file = arg;
        return 0;
    case 'l':
        o->op_log = arg;
        return 0;
    case 'M':
        o->mech = arg;
        return strcmp(arg, "direct") && strcmp(arg, "kwp") ? -1 : 0;
    case 'n':
        if (number(arg, 1e8, &v) != 0)
            return -1;
        o->count = (unsigned long)v;
        return 0;
    case 't':
        if (number(arg, BENCH_MAX_THREADS, &v) != 0 || v < 1)
            return -1;
        o->threads = (unsigned)v;
        return 0;
    case 's':
        return number(arg, 3600, &o->seconds);
    default:
        return -1;
    }
}

static int parse(int argc, char **argv, struct curve_opts *o)
{
    int ch;

    memset(o, 0, sizeof(*o));
    o->b.slot = -1;
    o->b.cache_ttl = -1;
    o->b.miss_blobs = 1;
    o->threads = 1;
    o->seconds = 1;
    o->mech = "direct";
    if (argc < 2)
        return -1;
    o->cmd = argv[1];
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (set_opt(o, ch, optarg) != 0)
            return -1;
    }
    if (optind != argc || o->b.module == NULL)
        return -1;
    if (strcmp(o->cmd, "wrap") != 0 && o->blob_file == NULL)
        return -1;
    if (strcmp(o->cmd, "flight") == 0)
        o->seconds = 0; /* one unwrap per thread */
    return 0;
}

static int run(struct curve *c, struct bench_err *e)
{
    const char *cmd = c->o->cmd;

    if (make_ref(c, e) != 0)
        return -1;
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(c, e);
    if (strcmp(cmd, "wrap") == 0)
        return cmd_wrap(c, e);
    if (load_blobs(c, e) != 0)
        return -1;
    if (strcmp(cmd, "hit") == 0)
        return cmd_hit(c, e);
    if (strcmp(cmd, "miss") == 0)
        return cmd_logged(c, miss_op, e);
    if (strcmp(cmd, "flight") == 0)
        return cmd_logged(c, flight_op, e);
    return fail(e, "cmk-curve", "unknown command");
}

int main(int argc, char **argv)
{
    struct curve_opts o;
    struct curve c = {0};
    struct bench_err e = {0};
    void *g = NULL;
    int rc;

    if (parse(argc, argv, &o) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    c.o = &o;
    rc = bench_p11_open(&o.b, &g, &e);
    c.g = g;
    if (rc == 0)
        rc = run(&c, &e);
    if (rc != 0)
        fprintf(stderr, "cmk-curve: %s failed: %s -> %s%s%s\n", o.cmd,
                e.fn ? e.fn : "?",
                e.rv == BENCH_RV_NONE ? "error" : bench_ckr_name(e.rv),
                e.what[0] ? ": " : "", e.what);
    fflush(stdout);
    bench_p11_close(g);
    free(c.bl.data);
    free(c.bl.off);
    free(c.order);
    return rc == 0 ? 0 : 1;
}
