/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: cmk-bench's command line, scenario table and output (a
 * table, and one JSON line per scenario and thread count).
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const struct bench_scn bench_scenarios[] = {
    {"gcm_encrypt_64", BK_GCM_ENC, 64},
    {"gcm_encrypt_4k", BK_GCM_ENC, 4096},
    {"gcm_encrypt_64k", BK_GCM_ENC, 65536},
    {"gcm_encrypt_1m", BK_GCM_ENC, 1048576},
    {"gcm_decrypt_64", BK_GCM_DEC, 64},
    {"gcm_decrypt_4k", BK_GCM_DEC, 4096},
    {"gcm_decrypt_64k", BK_GCM_DEC, 65536},
    {"gcm_decrypt_1m", BK_GCM_DEC, 1048576},
    {"generate_key", BK_GENERATE, 0},
    {"kwp_wrap", BK_KWP_WRAP, 0},
    {"kwp_unwrap", BK_KWP_UNWRAP, 0},
    {"direct_unwrap_hit", BK_DIRECT_HIT, 0},
    {"direct_unwrap_miss", BK_DIRECT_MISS, 0},
    {"envelope_direct", BK_ENV_DIRECT, BENCH_ENV_LEN},
    {"envelope_kwp", BK_ENV_KWP, BENCH_ENV_LEN},
    {"session", BK_SESSION, 0},
};
const size_t bench_n_scenarios =
    sizeof(bench_scenarios) / sizeof(bench_scenarios[0]);

static const char usage[] =
    "usage: cmk-bench (--module PATH | --openssl) [options]\n"
    "  --module PATH        PKCS#11 module to load\n"
    "  --openssl            raw OpenSSL EVP instead of a module (ceiling)\n"
    "  --slot N | --token-label L   token to use (default: first token)\n"
    "  --pin PIN            user PIN (logged in once)\n"
    "  --scenario NAME      repeatable or comma-separated; default: all\n"
    "                       the module supports (--list shows them)\n"
    "  --threads LIST       thread counts, e.g. 1,2,8 (default 1,2,8)\n"
    "  --seconds S          timed seconds per run (default 2)\n"
    "  --iterations N       ops per thread instead of a time budget\n"
    "  --miss-blobs N       blobs the cache-miss scenario rotates (5000)\n"
    "  --kek-label L        token AES key for KWP (made if missing;\n"
    "                       default: the CMK, or bench-kek elsewhere)\n"
    "  --label NAME         label in the output (cmk, softhsm, openssl)\n"
    "  --audit on|off       audit setting of the config, for the output\n"
    "  --cache-ttl N        cache TTL of the config, for the output\n"
    "  --json-only          only the JSON lines\n";

static const struct bench_scn *scn_find(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < bench_n_scenarios; i++) {
        if (strlen(bench_scenarios[i].name) == len &&
            strncmp(bench_scenarios[i].name, name, len) == 0)
            return &bench_scenarios[i];
    }
    return NULL;
}

static int add_scenarios(struct bench_opts *o, const char *list)
{
    const struct bench_scn *s;
    size_t len;

    while (*list != '\0') {
        len = strcspn(list, ",");
        s = scn_find(list, len);
        if (s == NULL) {
            fprintf(stderr, "cmk-bench: unknown scenario %.*s\n", (int)len,
                    list);
            return -1;
        }
        if (o->n_scn == sizeof(o->scn) / sizeof(o->scn[0]))
            return -1;
        o->scn[o->n_scn++] = s;
        list += len + (list[len] == ',');
    }
    return 0;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;

    errno = 0;
    *out = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *out > max || s[0] == '-') {
        fprintf(stderr, "cmk-bench: bad number \"%s\"\n", s);
        return -1;
    }
    return 0;
}

static int parse_threads(struct bench_opts *o, const char *list)
{
    char buf[16];
    unsigned long v;
    size_t len;

    o->n_threads = 0;
    while (*list != '\0') {
        len = strcspn(list, ",");
        if (len == 0 || len >= sizeof(buf) ||
            o->n_threads == sizeof(o->threads) / sizeof(o->threads[0]))
            return -1;
        memcpy(buf, list, len);
        buf[len] = '\0';
        if (parse_ulong(buf, BENCH_MAX_THREADS, &v) != 0 || v == 0)
            return -1;
        o->threads[o->n_threads++] = (unsigned)v;
        list += len + (list[len] == ',');
    }
    return o->n_threads > 0 ? 0 : -1;
}

static int parse_seconds(struct bench_opts *o, const char *s)
{
    char *end;

    errno = 0;
    o->seconds = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(o->seconds > 0) ||
        o->seconds > 3600) {
        fprintf(stderr, "cmk-bench: bad --seconds \"%s\"\n", s);
        return -1;
    }
    return 0;
}

enum {
    OPT_MODULE = 256,
    OPT_OPENSSL,
    OPT_SLOT,
    OPT_TOKEN,
    OPT_PIN,
    OPT_SCN,
    OPT_THREADS,
    OPT_SECONDS,
    OPT_ITER,
    OPT_MISS,
    OPT_KEK,
    OPT_LABEL,
    OPT_AUDIT,
    OPT_TTL,
    OPT_JSON,
    OPT_LIST,
    OPT_HELP,
};

static const struct option longopts[] = {
    {"module", required_argument, NULL, OPT_MODULE},
    {"openssl", no_argument, NULL, OPT_OPENSSL},
    {"slot", required_argument, NULL, OPT_SLOT},
    {"token-label", required_argument, NULL, OPT_TOKEN},
    {"pin", required_argument, NULL, OPT_PIN},
    {"scenario", required_argument, NULL, OPT_SCN},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"seconds", required_argument, NULL, OPT_SECONDS},
    {"iterations", required_argument, NULL, OPT_ITER},
    {"miss-blobs", required_argument, NULL, OPT_MISS},
    {"kek-label", required_argument, NULL, OPT_KEK},
    {"label", required_argument, NULL, OPT_LABEL},
    {"audit", required_argument, NULL, OPT_AUDIT},
    {"cache-ttl", required_argument, NULL, OPT_TTL},
    {"json-only", no_argument, NULL, OPT_JSON},
    {"list", no_argument, NULL, OPT_LIST},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Options that take a number. */
static int set_number(struct bench_opts *o, int c, const char *arg)
{
    unsigned long v;

    if (parse_ulong(arg, 1000000000ul, &v) != 0)
        return -1;
    switch (c) {
    case OPT_SLOT:
        o->slot = (long)v;
        break;
    case OPT_ITER:
        o->iterations = v;
        break;
    case OPT_MISS:
        o->miss_blobs = v > 0 ? v : 1;
        break;
    default:
        o->cache_ttl = (long)v;
        break;
    }
    return 0;
}

static void list_scenarios(void)
{
    size_t i;

    for (i = 0; i < bench_n_scenarios; i++)
        printf("%s\n", bench_scenarios[i].name);
}

/* 1: handled, 0: not a string option, -1: error. */
static int set_string(struct bench_opts *o, int c, const char *arg)
{
    switch (c) {
    case OPT_MODULE:
        o->module = arg;
        return 1;
    case OPT_TOKEN:
        o->token_label = arg;
        return 1;
    case OPT_PIN:
        o->pin = arg;
        return 1;
    case OPT_KEK:
        o->kek_label = arg;
        return 1;
    case OPT_LABEL:
        o->label = arg;
        return 1;
    case OPT_AUDIT:
        o->audit = arg;
        return 1;
    case OPT_SCN:
        return add_scenarios(o, arg) == 0 ? 1 : -1;
    case OPT_THREADS:
        return parse_threads(o, arg) == 0 ? 1 : -1;
    case OPT_SECONDS:
        return parse_seconds(o, arg) == 0 ? 1 : -1;
    default:
        return 0;
    }
}

/* 0: run, 1: done (help or list), -1: usage error. */
static int parse_opts(int argc, char **argv, struct bench_opts *o)
{
    int c, rc;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        rc = set_string(o, c, optarg);
        if (rc < 0)
            return -1;
        if (rc > 0)
            continue;
        if (c == OPT_OPENSSL)
            o->openssl = true;
        else if (c == OPT_JSON)
            o->json_only = true;
        else if (c == OPT_LIST || c == OPT_HELP) {
            c == OPT_LIST ? list_scenarios() : (void)fputs(usage, stdout);
            return 1;
        } else if (c == '?' || set_number(o, c, optarg) != 0)
            return -1;
    }
    if (optind != argc || (o->module == NULL) == !o->openssl)
        return -1;
    return 0;
}

static void print_header(const struct bench_opts *o)
{
    if (o->json_only)
        return;
    printf("%-20s %3s %-8s %12s %10s %10s %10s\n", "scenario", "thr", "label",
           "ops/s", "MB/s", "p50 us", "p99 us");
}

/* JSON lines, printed after the table (or alone with --json-only). */
static char **json_lines;
static size_t n_json;

static void keep_json(const char *line)
{
    char **p = realloc(json_lines, (n_json + 1) * sizeof(*p));
    size_t n = strlen(line) + 1;

    if (p == NULL)
        return;
    json_lines = p;
    p[n_json] = malloc(n);
    if (p[n_json] != NULL)
        memcpy(p[n_json++], line, n);
}

static void flush_json(void)
{
    size_t i;

    for (i = 0; i < n_json; i++) {
        puts(json_lines[i]);
        free(json_lines[i]);
    }
    free(json_lines);
    json_lines = NULL;
    n_json = 0;
    fflush(stdout);
}

static void print_row(const struct bench_opts *o, const struct bench_scn *s,
                      unsigned n, const struct bench_result *r)
{
    double ops = r->wall_s > 0 ? (double)r->ops / r->wall_s : 0;
    char mb[32] = "-", ttl[32] = "null", steal[32] = "null", line[512];

    if (s->len > 0)
        snprintf(mb, sizeof(mb), "%.1f", ops * (double)s->len / 1e6);
    if (o->cache_ttl >= 0)
        snprintf(ttl, sizeof(ttl), "%ld", o->cache_ttl);
    if (r->steal >= 0)
        snprintf(steal, sizeof(steal), "%.4f", r->steal);
    if (!o->json_only) {
        printf("%-20s %3u %-8s %12.0f %10s %10.2f %10.2f\n", s->name, n,
               o->label, ops, mb, r->p50_us, r->p99_us);
        fflush(stdout);
    }
    snprintf(line, sizeof(line),
             "{\"scenario\":\"%s\",\"threads\":%u,\"label\":\"%s\","
             "\"ops_per_s\":%.1f,\"mb_per_s\":%s,\"p50_us\":%.3f,"
             "\"p99_us\":%.3f,\"audit\":\"%s\",\"cache_ttl\":%s,"
             "\"ops\":%llu,\"seconds\":%.3f,\"bytes_per_op\":%zu,"
             "\"steal\":%s}",
             s->name, n, o->label, ops, s->len > 0 ? mb : "null", r->p50_us,
             r->p99_us, o->audit, ttl, (unsigned long long)r->ops, r->wall_s,
             s->len, steal);
    keep_json(line);
}

static void report(const struct bench_scn *s, const struct bench_err *e)
{
    fprintf(stderr, "cmk-bench: FAIL scenario %s: %s -> %s (0x%lx)%s%s\n",
            s ? s->name : "(setup)", e->fn ? e->fn : "?",
            e->rv == BENCH_RV_NONE ? "error" : bench_ckr_name(e->rv), e->rv,
            e->what[0] ? ": " : "", e->what);
}

/* One checked op of s on its own context, before any timing. */
static int check_once(const struct bench_backend *b, void *g,
                      const struct bench_scn *s, struct bench_err *e)
{
    void *t = NULL;
    int rc;

    rc = b->thread_new(g, s, 0, &t, e);
    if (rc == 0)
        rc = b->op(t, true, e);
    if (rc == 0)
        rc = b->check(t, e);
    if (t != NULL)
        b->thread_free(t);
    return rc;
}

static int run_scenario(const struct bench_backend *b, void *g,
                        const struct bench_scn *s, const struct bench_opts *o)
{
    struct bench_result r;
    struct bench_err e = {0};
    size_t i;
    int rc;

    rc = b->prepare(g, s, &e);
    if (rc == 0)
        rc = check_once(b, g, s, &e);
    for (i = 0; rc == 0 && i < o->n_threads; i++) {
        rc = bench_run(b, g, s, o, o->threads[i], &r, &e);
        if (rc == 0)
            print_row(o, s, o->threads[i], &r);
    }
    b->unprepare(g, s);
    if (rc != 0)
        report(s, &e);
    return rc;
}

static int run_all(const struct bench_backend *b, void *g, struct bench_opts *o)
{
    bool all = o->n_scn == 0;
    size_t i;

    if (all) {
        for (i = 0; i < bench_n_scenarios; i++)
            o->scn[o->n_scn++] = &bench_scenarios[i];
    }
    print_header(o);
    for (i = 0; i < o->n_scn; i++) {
        if (!b->supports(g, o->scn[i])) {
            if (!all)
                fprintf(stderr,
                        "cmk-bench: %s: not supported here, "
                        "skipped\n",
                        o->scn[i]->name);
            continue;
        }
        if (run_scenario(b, g, o->scn[i], o) != 0)
            return -1;
    }
    return 0;
}

static void set_defaults(struct bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->slot = -1;
    o->cache_ttl = -1;
    o->seconds = 2;
    o->miss_blobs = 5000;
    o->threads[0] = 1;
    o->threads[1] = 2;
    o->threads[2] = 8;
    o->n_threads = 3;
    o->audit = "n/a";
}

int main(int argc, char **argv)
{
    const struct bench_backend *b;
    struct bench_opts o;
    struct bench_err e = {0};
    void *g = NULL;
    int rc;

    set_defaults(&o);
    rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        if (rc < 0)
            fputs(usage, stderr);
        return rc < 0 ? 2 : 0;
    }
    if (o.label == NULL)
        o.label = o.openssl ? "openssl" : "module";
    b = o.openssl ? &bench_ossl_backend : &bench_p11_backend;
    rc = o.openssl ? bench_ossl_open(&o, &g, &e) : bench_p11_open(&o, &g, &e);
    if (rc == 0)
        rc = run_all(b, g, &o);
    else
        report(NULL, &e);
    flush_json();
    o.openssl ? bench_ossl_close(g) : bench_p11_close(g);
    return rc == 0 ? 0 : 1;
}
