/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the verifier on format-1 files (an unkeyed SHA-256 chain
 * per writer, checked only with allow_unkeyed), written here by a small
 * generator since the writer now writes format 2 (its tests:
 * test_audit_writer.c): the chain, several writers, every kind of
 * tampering caught at the right line, what a hash chain cannot see, and
 * I/O errors.
 */
#include <config.h>

#include <jansson.h>
#include <openssl/sha.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/verify.h"
#include "mech/mech.h"
#include "tests/lib/scratch.h"

#define MAX_LINES 4096
#define ZERO64                                                                 \
    "0000000000000000000000000000000000000000000000000000000000000000"

struct fx {
    char dir[96];
    char path[128];
    char path2[128];
    size_t n;
    char *lines[MAX_LINES]; /* without the newline */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    if (test_scratch_make("cmk-audit", f->dir, sizeof(f->dir)) != 0)
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
    (void)test_scratch_remove(f->dir);
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

/* ---- A format-1 writer: {"time","writer","seq","pid",fields,"prev"} ---- */

struct v1w {
    char id[17];
    unsigned long seq;
    char prev[65];
};

static void v1_init(struct v1w *w, const char *id)
{
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->seq = 0;
    snprintf(w->prev, sizeof(w->prev), "%s", ZERO64);
}

static void v1_append(const char *path, struct v1w *w, const char *event,
                      const char *detail)
{
    char line[512];
    FILE *fp;

    snprintf(line, sizeof(line),
             "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"writer\":\"%s\","
             "\"seq\":%lu,\"pid\":%ld,\"event\":\"%s\",\"op\":\"C_Encrypt\""
             "%s%s%s,\"prev\":\"%s\"}",
             w->id, w->seq + 1, (long)getpid(), event,
             detail ? ",\"detail\":\"" : "", detail ? detail : "",
             detail ? "\"" : "", w->prev);
    fp = fopen(path, "ab");
    assert_non_null(fp);
    fprintf(fp, "%s\n", line);
    assert_int_equal(fclose(fp), 0);
    sha_hex(line, w->prev);
    w->seq++;
}

static void write_n(const char *path, size_t n)
{
    struct v1w w;
    char d[32];
    size_t i;

    v1_init(&w, "68972cbf9fb81dae");
    for (i = 0; i < n; i++) {
        snprintf(d, sizeof(d), "record %zu", i + 1);
        v1_append(path, &w, "mechanism", d);
    }
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

static void test_two_writers(void **state)
{
    struct fx *f = *state;
    struct vrep rep;
    struct v1w a, b;
    size_t i;

    v1_init(&a, "00000000000000aa");
    v1_init(&b, "00000000000000bb");
    for (i = 0; i < 10; i++) {
        v1_append(f->path, &a, "mechanism", "a");
        v1_append(f->path, &b, "mechanism", "b");
        if (i % 3 == 0)
            v1_append(f->path, &b, "kms_call", "b");
    }
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.records, 24);
    assert_int_equal(rep.writers, 2);
    assert_int_equal(rep.open_chains, 2);
    v1_append(f->path, &a, "finalize", NULL);
    assert_int_equal(verify_report(f->path, &rep), CMK_OK);
    assert_int_equal(rep.open_chains, 1);
    /* deleting one of b's records is caught at b's next record */
    load_lines(f);
    free(f->lines[4]); /* b's seq 3 (lines: a1 b1 b2 a2 b3 a3 b4) */
    memmove(&f->lines[4], &f->lines[5], (f->n - 5) * sizeof(char *));
    f->n--;
    put_lines(f, true);
    expect_verify(f->path2, 6, "records missing");
}

/* Without allow_unkeyed a format-1 file is not tamper-evident: every
 * record is a problem, even untouched. */
static void test_unkeyed_refused(void **state)
{
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v = NULL;
    struct cmk_audit_summary sum = {0};
    struct fx *f = *state;

    write_n(f->path, 3);
    assert_int_equal(cmk_audit_verify_new(&o, &v), CMK_OK);
    assert_int_equal(cmk_audit_verify_file(v, f->path), CMK_OK);
    cmk_audit_verify_end(v, &sum);
    cmk_audit_verify_free(v);
    assert_int_equal(sum.records, 3);
    assert_int_not_equal(sum.problems, 0);
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

/* The format-1 chain is hashed with mech's SHA-256: initialised as
 * C_Initialize and cmk-tool do. */
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
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unkeyed_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_insert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_io, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
