/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: audit writer and verifier (exact line, escaping and caps,
 * hash chain recomputed with OpenSSL, several writers, threads, fork,
 * write failures, and every kind of tampering caught at the right line).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "audit/verify.h"
#include "mech/mech.h"

#define MAX_LINES 4096
#define ZERO64                                                                 \
    "0000000000000000000000000000000000000000000000000000000000000000"
/* 2026-11-23T13:05:54Z */
#define FIXED_SEC 1795439154

struct fx {
    char dir[64];
    char path[96];
    char path2[96];
    size_t n;
    char *lines[MAX_LINES]; /* without the newline */
};

static void fixed_clock(struct timespec *ts)
{
    ts->tv_sec = FIXED_SEC;
    ts->tv_nsec = 123456789;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/cmk-audit-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
    snprintf(f->path2, sizeof(f->path2), "%s/tampered.jsonl", f->dir);
    *state = f;
    return 0;
}

static void free_lines(struct fx *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        free(f->lines[i]);
    f->n = 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    free_lines(f);
    unlink(f->path);
    unlink(f->path2);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Whole file into a NUL-terminated heap buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Splits the file into f->lines; every line must end in '\n'. */
static void load_lines(struct fx *f)
{
    size_t len, i, start = 0;
    char *buf = slurp(f->path, &len);

    free_lines(f);
    for (i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        assert_true(f->n < MAX_LINES);
        f->lines[f->n] = strndup(buf + start, i - start);
        assert_non_null(f->lines[f->n]);
        f->n++;
        start = i + 1;
    }
    assert_int_equal(start, len);
    free(buf);
}

static void put_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Writes f->lines (optionally without the last newline) to path2. */
static void put_lines(struct fx *f, bool last_newline)
{
    FILE *fp = fopen(f->path2, "wb");
    size_t i;

    assert_non_null(fp);
    for (i = 0; i < f->n; i++)
        fprintf(fp, "%s%s", f->lines[i],
                i + 1 < f->n || last_newline ? "\n" : "");
    assert_int_equal(fclose(fp), 0);
}

static void sha_hex(const char *line, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t i;

    SHA256((const unsigned char *)line, strlen(line), md);
    for (i = 0; i < sizeof(md); i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void writer_of(const char *line, char out[17])
{
    const char *p = strstr(line, "\"writer\":\"");

    assert_non_null(p);
    memcpy(out, p + 10, 16);
    out[16] = '\0';
}

static struct cmk_audit *open_ok(const char *path, bool required)
{
    struct cmk_audit *a = NULL;

    assert_int_equal(cmk_audit_open(path, CMK_FSYNC_NONE, required, &a),
                     CMK_OK);
    assert_non_null(a);
    return a;
}

static void write_event(struct cmk_audit *a, const char *event,
                        const char *detail)
{
    struct cmk_audit_rec r;

    cmk_audit_rec_init(&r);
    r.event = event;
    r.op = "C_Encrypt";
    r.detail = detail;
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
}

static void write_n(const char *path, size_t n)
{
    struct cmk_audit *a = open_ok(path, true);
    char d[32];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(d, sizeof(d), "record %zu", i + 1);
        write_event(a, "mechanism", d);
    }
    cmk_audit_close(a);
}

/* The verifier with format-1 records checked as before (allow_unkeyed):
 * the counts, and the first problem as "line N: REASON". */
struct vrep {
    size_t records;
    size_t writers;
    size_t open_chains;
    size_t bad_line;
    char why[512];
};

static void first_problem(void *arg, const struct cmk_audit_finding *fd)
{
    struct vrep *rep = arg;

    if (fd->kind == CMK_AUDIT_NOTE || rep->why[0] != '\0')
        return;
    rep->bad_line = (size_t)fd->line;
    snprintf(rep->why, sizeof(rep->why), "line %zu: %s", (size_t)fd->line,
             fd->why);
}

static cmk_err verify_report(const char *path, struct vrep *rep)
{
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v = NULL;
    struct cmk_audit_summary sum = {0};
    cmk_err err;

    memset(rep, 0, sizeof(*rep));
    o.report = first_problem;
    o.report_arg = rep;
    o.allow_unkeyed = true;
    err = cmk_audit_verify_new(&o, &v);
    if (err == CMK_OK)
        err = cmk_audit_verify_file(v, path);
    cmk_audit_verify_end(v, &sum);
    cmk_audit_verify_free(v);
    rep->records = (size_t)sum.records;
    rep->writers = sum.writers;
    rep->open_chains = sum.open_chains;
    return err == CMK_OK && sum.problems != 0 ? CMK_E_BAD_BLOB : err;
}

/* Verifies path; expects bad_line (0 = ok) and a substring of why. */
static void expect_verify(const char *path, size_t bad_line, const char *why)
{
    struct vrep rep;
    cmk_err err;

    err = verify_report(path, &rep);
    if (bad_line == 0) {
        if (err != CMK_OK)
            fail_msg("unexpected: %s", rep.why);
        assert_int_equal(rep.bad_line, 0);
        return;
    }
    assert_int_equal(err, CMK_E_BAD_BLOB);
    if (rep.bad_line != bad_line || strstr(rep.why, why) == NULL)
        fail_msg("expected line %zu (%s), got line %zu: %s", bad_line, why,
                 rep.bad_line, rep.why);
}

static void full_rec(struct cmk_audit_rec *r)
{
    cmk_audit_rec_init(r);
    r->event = "mechanism";
    r->op = "C_Encrypt";
    r->tenant = "acme";
    r->session = 7;
    r->mech_name = "CKM_AES_GCM";
    r->mech = 4231;
    r->key_label = "acme-cmk";
    r->key_id = "0a0b";
    r->result = "CKR_OK";
    r->bytes_in = 100;
    r->bytes_out = 116;
    r->cache = 1;
    r->provider = "local";
    r->request_id = "req-1";
    r->http_status = 200;
    r->latency_us = 1234;
    r->provider_code = "DisabledException";
    r->detail = "key health: enabled";
}

static void test_exact_line(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct cmk_audit_rec r;
    char w[17], exp[2048], h[65];

    cmk_audit_set_clock(a, fixed_clock);
    full_rec(&r);
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_rec_init(&r);
    r.event = "finalize";
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 2);
    writer_of(f->lines[0], w);
    snprintf(exp, sizeof(exp),
             "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"writer\":\"%s\","
             "\"seq\":1,\"pid\":%ld,\"event\":\"mechanism\",\"op\":"
             "\"C_Encrypt\",\"tenant\":\"acme\",\"session\":7,\"mech\":"
             "\"CKM_AES_GCM\",\"mech_num\":4231,\"key_label\":\"acme-cmk\","
             "\"key_id\":\"0a0b\",\"result\":\"CKR_OK\",\"bytes_in\":100,"
             "\"bytes_out\":116,\"cache\":\"hit\",\"provider\":\"local\","
             "\"request_id\":\"req-1\",\"http_status\":200,\"latency_us\":"
             "1234,\"provider_code\":\"DisabledException\",\"detail\":"
             "\"key health: enabled\",\"prev\":\"" ZERO64 "\"}",
             w, (long)getpid());
    assert_string_equal(f->lines[0], exp);
    sha_hex(f->lines[0], h);
    snprintf(exp, sizeof(exp),
             "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"writer\":\"%s\","
             "\"seq\":2,\"pid\":%ld,\"event\":\"finalize\",\"prev\":\"%s\"}",
             w, (long)getpid(), h);
    assert_string_equal(f->lines[1], exp);
    expect_verify(f->path, 0, NULL);
}

static void clock_at(struct timespec *ts)
{
    ts->tv_sec = 1795478399; /* 2026-11-23T23:59:59Z */
    ts->tv_nsec = 999999999;
}

/* The per-second date cache follows the clock; microseconds keep zeros. */
static void test_time_format(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);

    cmk_audit_set_clock(a, fixed_clock);
    write_event(a, "session", NULL);
    cmk_audit_set_clock(a, clock_at);
    write_event(a, "session", NULL);
    cmk_audit_set_clock(a, NULL);
    write_event(a, "session", NULL);
    cmk_audit_close(a);
    load_lines(f);
    assert_non_null(strstr(f->lines[0], "\"2026-11-23T13:05:54.123456Z\""));
    assert_non_null(strstr(f->lines[1], "\"2026-11-23T23:59:59.999999Z\""));
    assert_null(strstr(f->lines[2], "2026-11-23T23:59:59"));
    assert_int_equal(strncmp(f->lines[2], "{\"time\":\"20", 11), 0);
    assert_int_equal(f->lines[2][9 + 26], 'Z');
}

/* The "detail" value of a one-record file. */
static char *detail_of(struct fx *f, const char *detail)
{
    struct cmk_audit *a;
    char *p, *q;

    unlink(f->path);
    a = open_ok(f->path, true);
    write_event(a, "session", detail);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 1);
    expect_verify(f->path, 0, NULL);
    p = strstr(f->lines[0], ",\"detail\":\"");
    assert_non_null(p);
    p += 11;
    q = strstr(p, "\",\"prev\":");
    assert_non_null(q);
    return strndup(p, (size_t)(q - p));
}

static void expect_detail(struct fx *f, const char *in, const char *out)
{
    char *got = detail_of(f, in);

    assert_string_equal(got, out);
    free(got);
}

static void test_escaping(void **state)
{
    struct fx *f = *state;

    expect_detail(f, "plain text, exactly", "plain text, exactly");
    expect_detail(f,
                  "q\"b\\n\nc\x01"
                  "d\x1f\x7f", /* split: \x01d */
                  "q\\\"b\\\\n\\u000ac\\u0001d\\u001f\\u007f");
    expect_detail(f, "tab\tcr\r", "tab\\u0009cr\\u000d");
    /* well-formed UTF-8 is kept, 2 to 4 bytes */
    expect_detail(f, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    /* ill-formed: stray bytes, overlong, surrogate, > U+10FFFF, cut */
    expect_detail(f,
                  "a\xff"
                  "b\x80",
                  "a\\u00ffb\\u0080");
    expect_detail(f, "\xc0\x80", "\\u00c0\\u0080");
    expect_detail(f, "\xe0\x80\xaf", "\\u00e0\\u0080\\u00af");
    expect_detail(f, "\xf0\x80\x80\xaf", "\\u00f0\\u0080\\u0080\\u00af");
    expect_detail(f, "\xed\xa0\x80", "\\u00ed\\u00a0\\u0080");
    expect_detail(f, "\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080");
    expect_detail(f, "x\xe2\x82", "x\\u00e2\\u0082");
    expect_detail(f, "", "");
}

/* jansson reads back exactly what was passed (well-formed input). */
static void test_escaping_roundtrip(void **state)
{
    struct fx *f = *state;
    const char *in = "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80";
    json_error_t jerr;
    json_t *o;

    free(detail_of(f, in));
    o = json_loads(f->lines[0], 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), in);
    json_decref(o);
}

static void test_caps(void **state)
{
    struct fx *f = *state;
    char in[1100], out[1100];
    struct cmk_audit_rec r;
    struct cmk_audit *a;

    memset(in, 'a', 256);
    in[256] = '\0';
    expect_detail(f, in, in); /* exactly 256: no marker */
    memset(in, 'a', 300);
    in[300] = '\0';
    memset(out, 'a', 256);
    memcpy(out + 256, "...", 4);
    expect_detail(f, in, out);
    /* 255 + a 2-byte character does not fit: cut before it */
    memset(in, 'a', 255);
    memcpy(in + 255, "\xc3\xa9", 3);
    memset(out, 'a', 255);
    memcpy(out + 255, "...", 4);
    expect_detail(f, in, out);
    /* an escape is never split: 42 * 6 = 252, the 43rd does not fit */
    memset(in, 1, 300);
    in[300] = '\0';
    out[0] = '\0';
    for (int i = 0; i < 42; i++)
        strcat(out, "\\u0001");
    strcat(out, "...");
    expect_detail(f, in, out);
    /* every string at its worst still makes one line under 4 KiB */
    memset(in, 0x01, 1000);
    in[1000] = '\0';
    full_rec(&r);
    r.event = r.op = r.tenant = r.mech_name = r.key_label = r.key_id = in;
    r.result = r.provider = r.request_id = r.provider_code = r.detail = in;
    r.bytes_in = r.bytes_out = r.latency_us = 9223372036854775807LL;
    unlink(f->path);
    a = open_ok(f->path, true);
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 1);
    assert_true(strlen(f->lines[0]) + 1 <= 4096);
    assert_non_null(strstr(f->lines[0], "\"bytes_in\":9223372036854775807,"));
    expect_verify(f->path, 0, NULL);
}

static void test_omitted_fields(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct cmk_audit_rec r;
    char w[17], exp[512];

    cmk_audit_set_clock(a, fixed_clock);
    cmk_audit_rec_init(&r);
    r.event = "login";
    r.session = 0; /* zero is a value, not "absent" */
    r.cache = 0;
    r.result = "CKR_PIN_INCORRECT";
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    writer_of(f->lines[0], w);
    snprintf(exp, sizeof(exp),
             "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"writer\":\"%s\","
             "\"seq\":1,\"pid\":%ld,\"event\":\"login\",\"session\":0,"
             "\"result\":\"CKR_PIN_INCORRECT\",\"cache\":\"miss\","
             "\"prev\":\"" ZERO64 "\"}",
             w, (long)getpid());
    assert_string_equal(f->lines[0], exp);
}

static void test_chain(void **state)
{
    struct fx *f = *state;
    char h[65], exp[96], w0[17], w[17];
    json_error_t jerr;
    json_t *o;
    size_t i;

    write_n(f->path, 20);
    load_lines(f);
    assert_int_equal(f->n, 20);
    writer_of(f->lines[0], w0);
    for (i = 0; i < f->n; i++) {
        o = json_loads(f->lines[i], 0, &jerr);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "seq")), i + 1);
        writer_of(f->lines[i], w);
        assert_string_equal(w, w0);
        if (i == 0) {
            snprintf(h, sizeof(h), "%s", ZERO64);
        } else {
            sha_hex(f->lines[i - 1], h);
        }
        snprintf(exp, sizeof(exp), ",\"prev\":\"%s\"}", h);
        assert_string_equal(f->lines[i] + strlen(f->lines[i]) - strlen(exp),
                            exp);
        json_decref(o);
    }
    expect_verify(f->path, 0, NULL);
}

static void test_file_mode_and_args(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = NULL;
    struct cmk_audit_rec r;
    char bad[128];
    struct stat st;

    assert_int_equal(cmk_audit_open(NULL, CMK_FSYNC_NONE, true, &a),
                     CMK_E_ARGS);
    assert_int_equal(cmk_audit_open(f->path, CMK_FSYNC_NONE, true, NULL),
                     CMK_E_ARGS);
    assert_int_equal(
        cmk_audit_open(f->path, (enum cmk_fsync_policy)7, true, &a),
        CMK_E_ARGS);
    snprintf(bad, sizeof(bad), "%s/no/such/dir/audit", f->dir);
    assert_int_equal(cmk_audit_open(bad, CMK_FSYNC_NONE, true, &a), CMK_E_IO);
    assert_null(a);
    a = open_ok(f->path, true);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cmk_audit_write(a, NULL), CMK_E_ARGS);
    cmk_audit_rec_init(&r);
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS); /* no event */
    r.event = "initialize";
    assert_int_equal(cmk_audit_write(NULL, &r), CMK_OK); /* no audit */
    cmk_audit_close(a);
    cmk_audit_close(NULL);
    /* nothing was written by the refused calls */
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void test_fsync_policies(void **state)
{
    struct fx *f = *state;
    enum cmk_fsync_policy p[] = {CMK_FSYNC_ALWAYS, CMK_FSYNC_INTERVAL,
                                 CMK_FSYNC_NONE};
    struct cmk_audit *a;
    size_t i, j;

    for (i = 0; i < 3; i++) {
        a = NULL;
        assert_int_equal(cmk_audit_open(f->path, p[i], true, &a), CMK_OK);
        for (j = 0; j < 5; j++)
            write_event(a, "mechanism", NULL);
        write_event(a, "finalize", NULL);
        cmk_audit_close(a);
    }
    expect_verify(f->path, 0, NULL);
}

static void test_two_writers(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct cmk_audit *b = open_ok(f->path, true);
    struct vrep rep;
    size_t i;

    for (i = 0; i < 10; i++) {
        write_event(a, "mechanism", "a");
        write_event(b, "mechanism", "b");
        if (i % 3 == 0)
            write_event(b, "kms_call", "b");
    }
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.records, 24);
    assert_int_equal(rep.writers, 2);
    assert_int_equal(rep.open_chains, 2);
    write_event(a, "finalize", NULL);
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.open_chains, 1);
    cmk_audit_close(a);
    cmk_audit_close(b);
    /* deleting one of b's records is caught at b's next record */
    load_lines(f);
    free(f->lines[4]); /* b's seq 3 (lines: a1 b1 b2 a2 b3 a3 b4) */
    memmove(&f->lines[4], &f->lines[5], (f->n - 5) * sizeof(char *));
    f->n--;
    put_lines(f, true);
    expect_verify(f->path2, 6, "records missing");
}

struct thr {
    struct cmk_audit *a;
    int id;
};

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    struct cmk_audit_rec r;
    char d[32];
    int i;

    for (i = 0; i < 500; i++) {
        cmk_audit_rec_init(&r);
        r.event = "mechanism";
        snprintf(d, sizeof(d), "thread %d record %d", t->id, i);
        r.detail = d;
        if (cmk_audit_write(t->a, &r) != CMK_OK)
            return arg;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = NULL;
    struct vrep rep;
    struct thr t[4];
    pthread_t th[4];
    void *res;
    int i;

    assert_int_equal(cmk_audit_open(f->path, CMK_FSYNC_INTERVAL, true, &a),
                     CMK_OK);
    for (i = 0; i < 4; i++) {
        t[i].a = a;
        t[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], &res), 0);
        assert_null(res);
    }
    cmk_audit_close(a);
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.records, 2000);
    assert_int_equal(rep.writers, 1);
}

static void test_fork(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct vrep rep;
    char wp[17], wc[17], pid[32];
    int status, i;
    pid_t child;

    for (i = 0; i < 3; i++)
        write_event(a, "mechanism", "parent");
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct cmk_audit_rec r;
        cmk_err err = CMK_OK;

        cmk_audit_rec_init(&r);
        r.event = "mechanism";
        r.detail = "child";
        for (i = 0; i < 3 && err == CMK_OK; i++)
            err = cmk_audit_write(a, &r);
        _exit(err == CMK_OK ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (i = 0; i < 3; i++)
        write_event(a, "mechanism", "parent");
    cmk_audit_close(a);
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.records, 9);
    assert_int_equal(rep.writers, 2);
    load_lines(f);
    writer_of(f->lines[0], wp);
    writer_of(f->lines[3], wc);
    assert_string_not_equal(wp, wc);
    assert_non_null(strstr(f->lines[3], "\"seq\":1,"));
    assert_non_null(strstr(f->lines[3], "\"prev\":\"" ZERO64 "\""));
    snprintf(pid, sizeof(pid), "\"pid\":%ld,", (long)child);
    assert_non_null(strstr(f->lines[3], pid));
    assert_non_null(strstr(f->lines[6], "\"seq\":4,"));
}

/* Each tamper case starts from ten records of one writer. */
static void base10(struct fx *f)
{
    unlink(f->path);
    write_n(f->path, 10);
    load_lines(f);
    assert_int_equal(f->n, 10);
    expect_verify(f->path, 0, NULL);
}

static void test_tamper_edit(void **state)
{
    struct fx *f = *state;
    char *p;

    base10(f);
    p = strstr(f->lines[3], "record 4");
    assert_non_null(p);
    p[7] = '9';
    put_lines(f, true);
    expect_verify(f->path2, 5, "line 5: prev does not match line 4");
    /* the seq itself edited */
    base10(f);
    p = strstr(f->lines[3], "\"seq\":4");
    p[6] = '5';
    put_lines(f, true);
    expect_verify(f->path2, 4, "line 4: seq 5 follows 3 in writer");
}

static void test_tamper_delete(void **state)
{
    struct fx *f = *state;

    base10(f);
    free(f->lines[3]);
    memmove(&f->lines[3], &f->lines[4], 6 * sizeof(char *));
    f->n--;
    put_lines(f, true);
    expect_verify(f->path2, 4, "line 4: seq 5 follows 3 in writer");
    expect_verify(f->path2, 4, "records missing");
    /* the head of the chain */
    base10(f);
    free(f->lines[0]);
    memmove(&f->lines[0], &f->lines[1], 9 * sizeof(char *));
    f->n--;
    put_lines(f, true);
    expect_verify(f->path2, 1, "starts at seq 2: records missing");
}

static void test_tamper_swap(void **state)
{
    struct fx *f = *state;
    char *t;

    base10(f);
    t = f->lines[4];
    f->lines[4] = f->lines[5];
    f->lines[5] = t;
    put_lines(f, true);
    expect_verify(f->path2, 5, "line 5: seq 6 follows 4");
}

static void test_tamper_duplicate(void **state)
{
    struct fx *f = *state;

    base10(f);
    memmove(&f->lines[5], &f->lines[4], 6 * sizeof(char *));
    f->lines[4] = strdup(f->lines[5]);
    f->n++;
    put_lines(f, true);
    expect_verify(f->path2, 6, "line 6: seq 5 follows 5");
    expect_verify(f->path2, 6, "repeated or out of order");
}

static void test_tamper_truncate(void **state)
{
    struct fx *f = *state;

    base10(f);
    put_lines(f, false); /* newline of the last line removed */
    expect_verify(f->path2, 10, "line 10: truncated (no newline)");
    f->lines[9][strlen(f->lines[9]) / 2] = '\0'; /* cut in the middle */
    put_lines(f, false);
    expect_verify(f->path2, 10, "line 10: truncated (no newline)");
    put_lines(f, true); /* a cut line followed by a newline */
    expect_verify(f->path2, 10, "line 10: not JSON");
}

static void test_tamper_insert(void **state)
{
    struct fx *f = *state;
    static const char *const junk[] = {"not json at all",
                                       "",
                                       "[1,2]",
                                       "{\"time\":\"x\"",
                                       "{\"time\":\"x\",\"time\":\"y\"}",
                                       "{\"a\":1}"};
    static const char *const why[] = {"not JSON", "not JSON",
                                      "not JSON", "not JSON",
                                      "not JSON", "no string \"time\""};
    size_t i;

    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        base10(f);
        memmove(&f->lines[4], &f->lines[3], 7 * sizeof(char *));
        f->lines[3] = strdup(junk[i]);
        f->n++;
        put_lines(f, true);
        expect_verify(f->path2, 4, why[i]);
    }
}

/* Fields present but wrong: each named. */
static void test_tamper_fields(void **state)
{
    struct fx *f = *state;
    static const char *const from[] = {"\"seq\":3", "\"pid\":", "\"writer\":\"",
                                       "\"prev\":\""};
    static const char *const to[] = {
        "\"seq\":-3", "\"pid\":\"x\",\"p\":", "\"writer\":\"X", "\"prev\":\"X"};
    static const char *const why[] = {
        "no positive integer \"seq\"", "no integer \"pid\"",
        "writer is not 16 hex digits", "prev is not 64 hex digits"};
    char buf[4096], *p;
    size_t i;

    for (i = 0; i < 4; i++) {
        base10(f);
        p = strstr(f->lines[2], from[i]);
        assert_non_null(p);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - f->lines[2]),
                 f->lines[2], to[i], p + strlen(from[i]) + (i >= 2));
        free(f->lines[2]);
        f->lines[2] = strdup(buf);
        put_lines(f, true);
        expect_verify(f->path2, 3, why[i]);
    }
}

/* What a hash chain cannot see: documented, and kept visible here. */
static void test_tamper_limits(void **state)
{
    struct fx *f = *state;
    struct vrep rep;
    char *p;

    base10(f);
    p = strstr(f->lines[9], "record 10");
    p[7] = '9';
    put_lines(f, true);
    expect_verify(f->path2, 0, NULL); /* the last record edited */
    base10(f);
    free(f->lines[9]);
    free(f->lines[8]);
    f->n = 8;
    put_lines(f, true);
    assert_int_equal(verify_report(f->path2, &rep), CMK_OK);
    assert_int_equal(rep.records, 8); /* a removed tail */
    assert_int_equal(rep.open_chains, 1);
}

static void test_verify_io(void **state)
{
    struct fx *f = *state;
    struct vrep rep;
    char big[5000];

    assert_int_equal(verify_report(f->path, &rep), CMK_E_IO);
    assert_int_equal(verify_report(NULL, &rep), CMK_E_ARGS);
    put_file(f->path, "", 0);
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.records + rep.writers + rep.bad_line, 0);
    memset(big, 'x', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    put_file(f->path, big, sizeof(big));
    assert_int_equal(verify_report(f->path, &rep), CMK_E_BAD_BLOB);
    assert_int_equal(rep.bad_line, 1);
    assert_string_equal(rep.why, "line 1: longer than 4096 bytes");
}

/* Runs fn with stderr sent to a file; returns what was printed. */
static char *capture_stderr(struct fx *f, void (*fn)(struct fx *))
{
    int saved = dup(2), fd;
    size_t len;

    fd = open(f->path2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    fn(f);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    return slurp(f->path2, &len);
}

/* An audit file on which every write fails with ENOSPC: a regular file
 * (the writer refuses anything else) whose descriptor is then pointed at
 * /dev/full behind the writer's back. */
static struct cmk_audit *open_full(struct fx *f, bool required)
{
    struct cmk_audit *a = open_ok(f->path, required);
    char link[64], target[128];
    ssize_t n;
    int fd, full, found = -1;

    for (fd = 3; fd < 1024 && found < 0; fd++) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = readlink(link, target, sizeof(target) - 1);
        if (n > 0 && (target[n] = '\0', strcmp(target, f->path) == 0))
            found = fd;
    }
    assert_true(found >= 0);
    full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    assert_true(full >= 0);
    assert_int_equal(dup3(full, found, O_CLOEXEC), found);
    close(full);
    return a;
}

static void full_required(struct fx *f)
{
    struct cmk_audit *a = open_full(f, true);
    struct cmk_audit_rec r;
    int i;

    full_rec(&r);
    for (i = 0; i < 3; i++)
        assert_int_equal(cmk_audit_write(a, &r), CMK_E_IO);
    cmk_audit_close(a);
}

static void full_optional(struct fx *f)
{
    struct cmk_audit *a = open_full(f, false);
    struct cmk_audit_rec r;
    int i;

    full_rec(&r);
    for (i = 0; i < 3; i++)
        assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

static void test_write_failure(void **state)
{
    struct fx *f = *state;
    char *err;
    char want[160];

    snprintf(want, sizeof(want), "audit: cannot write %s", f->path);
    err = capture_stderr(f, full_required);
    assert_int_equal(count(err, want), 1);
    assert_non_null(strstr(err, "audited calls fail"));
    free(err);
    err = capture_stderr(f, full_optional);
    assert_int_equal(count(err, want), 1);
    assert_non_null(strstr(err, "calls go on without audit records"));
    free(err);
}

/* Child: a file size limit cuts one record in the middle (a partial
 * write, then EFBIG); once the limit is lifted the next record starts on
 * a line of its own. Exit codes name the step that went wrong. */
static int torn_child(const char *path)
{
    struct cmk_audit *a = NULL;
    struct cmk_audit_rec r;
    struct rlimit rl;
    struct stat st;

    signal(SIGXFSZ, SIG_IGN);
    if (cmk_audit_open(path, CMK_FSYNC_NONE, true, &a) != CMK_OK)
        return 2;
    full_rec(&r);
    if (cmk_audit_write(a, &r) != CMK_OK || stat(path, &st) != 0 ||
        getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3;
    rl.rlim_cur = (rlim_t)st.st_size + 100;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 4;
    if (cmk_audit_write(a, &r) != CMK_E_IO)
        return 5;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 6;
    if (cmk_audit_write(a, &r) != CMK_OK || cmk_audit_write(a, &r) != CMK_OK)
        return 7;
    cmk_audit_close(a);
    return 0;
}

static void test_torn_line(void **state)
{
    struct fx *f = *state;
    struct rlimit rl;
    int status;
    pid_t child;

    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_max != RLIM_INFINITY)
        skip();
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(torn_child(f->path));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    load_lines(f);
    assert_int_equal(f->n, 4);
    assert_int_equal(strlen(f->lines[1]), 100);
    assert_non_null(strstr(f->lines[2], "\"seq\":2,"));
    assert_non_null(strstr(f->lines[3], "\"seq\":3,"));
    expect_verify(f->path, 2, "line 2: not JSON");
    /* without the fragment the chain is whole */
    free(f->lines[1]);
    memmove(&f->lines[1], &f->lines[2], 2 * sizeof(char *));
    f->n--;
    put_lines(f, true);
    expect_verify(f->path2, 0, NULL);
}

/* Records carry exactly what the caller passed, nothing more. */
static void test_only_given_text(void **state)
{
    struct fx *f = *state;
    const char *d = "key health changed: enabled -> disabled (acme)";
    json_error_t jerr;
    json_t *o;
    const char *k;
    json_t *v;

    expect_detail(f, d, d);
    o = json_loads(f->lines[0], 0, &jerr);
    assert_non_null(o);
    json_object_foreach(o, k, v)
    {
        assert_true(strcmp(k, "time") == 0 || strcmp(k, "writer") == 0 ||
                    strcmp(k, "seq") == 0 || strcmp(k, "pid") == 0 ||
                    strcmp(k, "event") == 0 || strcmp(k, "op") == 0 ||
                    strcmp(k, "detail") == 0 || strcmp(k, "prev") == 0);
    }
    json_decref(o);
}

/* Lines are hashed with mech's SHA-256: initialised as C_Initialize and
 * cmk-tool do. Forked children inherit it. */
static int group_setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exact_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping_roundtrip, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_omitted_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_mode_and_args, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fsync_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_io, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_given_text, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
