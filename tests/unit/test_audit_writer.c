/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the audit writer, formats 3 and 2 (docs/audit-format.md;
 * built twice, test_audit_writer for format 3 and test_audit_writer2 with
 * CMK_TEST_WRITER_FORMAT2 for format 2, every test in each): exact lines and
 * macs for a fixed clock and key (known answers computed with Python), the
 * object and attribute fields, escaping and caps, per-thread chains, fork,
 * write failures, torn lines, rotation with keep, several processes rotating
 * one file, an external rename, the syslog copy, and kill -9 mid-run. Every
 * file is checked with the module's verifier (tests/lib/audit_check.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit/afile.h"
#include "audit/audit.h"
#include "audit/audit_int.h" /* the writer's K, to see it wiped */
#include "audit/shm.h"
#include "mech/aes.h"
#include "mech/line_mac.h"
#include "mech/mech.h"
#include "tests/lib/audit_check.h"
#include "tests/lib/audit_fmt2.h"
#include "tests/lib/pool_fx.h"
#include "tests/lib/scratch.h"
#include "tests/lib/tasks.h"

#define MAX_LINES 8192
/* 2026-11-23T13:05:54Z */
#define FIXED_SEC 1795439154
#define T0                                                                     \
    "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"writer\":"                    \
    "\"0123456789abcdef\","
#define WID "0123456789abcdef"
#define SEALED "sealed-key-bytes"
#define SEALED_B64 "c2VhbGVkLWtleS1ieXRlcw=="
/* what a second writer's key (KEY2) is "sealed" as */
#define SEALED2 "sealed-key-two"
/* HMAC-SHA256 under KEY of the three lines of test_kat, from Python:
 * hmac.new(bytes(range(32)), prev + line, hashlib.sha256). */
#define KAT_MAC1                                                               \
    "0d1cb14cbb30b84c7f650a40ba7b30129c1bfbdbca20d49a5fa7dc814bfd6345"
#define KAT_MAC2                                                               \
    "2d29a4453c4212a38e5149613dc2bd282d1c0005e43ba955f7fb13fa1a52e06d"
#define KAT_MAC3                                                               \
    "a770cde3dc3a75c6b91aa283c144d1bd531645c3aa5ed12676c1c9362a2ff690"
/* The same lines in format 3 (AES-256-GCM-SIV, nonce "cmk-audit-v3"),
 * from a separate Python implementation of RFC 8452 that gives the RFC's
 * vectors; KAT3O_* for test_kat_object. */
#define KAT3_MAC1 "78324bb16fa1613f812fce63d1edc093"
#define KAT3_MAC2 "0ddbac014768b367f38b99949fda72dd"
#define KAT3_MAC3 "e73e30ae645564704c78d8e006fc004d"
#define KAT3O_MAC2 "0270774282136c402864c45c8b1012d9"
#define KAT3O_MAC3 "c134b4abd361913c441ed632f0bb4b66"

/* Which format the writer makes in this group of tests: 3 where AES-NI
 * is, 2 with the AES fallback forced (cmk_vmac_writer_alg). */
static bool g_f3;
#define MAC_HEX (g_f3 ? 32 : 64)
#define KAT_M(f2, f3) (g_f3 ? (f3) : (f2))

static uint8_t KEY[32];
static uint8_t KEY2[32];
/* The verifier's keys: each writer's K by the sealed bytes it was given. */
static struct test_audit_key keys[] = {
    {SEALED, KEY}, {SEALED2, KEY2}, {NULL, NULL}};
/* The same lines under the wrong key. */
static struct test_audit_key wrong_keys[] = {{SEALED, KEY2}, {NULL, NULL}};

struct fx {
    char dir[64];
    char path[96];
    char tmp[96];
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
    size_t i;

    if (f == NULL)
        return -1;
    for (i = 0; i < sizeof(KEY); i++) {
        KEY[i] = (uint8_t)i;
        KEY2[i] = (uint8_t)(0xa0 + i);
    }
    if (test_scratch_make("cmk-awriter", f->dir, sizeof(f->dir)) != 0)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/audit.jsonl", f->dir);
    snprintf(f->tmp, sizeof(f->tmp), "%s/other", f->dir);
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
    int rc;

    free_lines(f);
    rc = test_scratch_remove(f->dir);
    free(f);
    return rc;
}

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

/* Splits path into f->lines; every line must end in '\n'. */
static void load_file(struct fx *f, const char *path)
{
    size_t len, i, start = 0;
    char *buf = slurp(path, &len);

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

static void load_lines(struct fx *f)
{
    load_file(f, f->path);
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

/* Occurrences in the whole file, 0x00 runs included. */
static size_t count_in(const char *path, const char *needle)
{
    size_t len, n = 0, k = strlen(needle);
    char *buf = slurp(path, &len), *at = buf;

    while ((at = memmem(at, len - (size_t)(at - buf), needle, k)) != NULL) {
        n++;
        at++;
    }
    free(buf);
    return n;
}

/* The series files[0..n), oldest first, must verify with its keys. */
static void expect_ok(const char *const *files, size_t n,
                      struct test_audit_rep *rep)
{
    if (test_audit_check_files(files, n, test_audit_unseal_known, keys, rep) !=
        0)
        fail_msg("%llu problems, first: %s",
                 (unsigned long long)rep->sum.problems, rep->first);
}

static void expect_ok_key(const char *path, struct test_audit_rep *rep)
{
    expect_ok(&path, 1, rep);
}

/* line starts with want and ends in the format's mac and "} after it. */
static void expect_prefix(const char *line, const char *want)
{
    size_t n = strlen(want);

    if (strncmp(line, want, n) != 0)
        fail_msg("got  %s\nwant %s...", line, want);
    assert_int_equal(strlen(line), n + MAC_HEX + 2);
    assert_int_equal(strspn(line + n, "0123456789abcdef"), MAC_HEX);
    assert_string_equal(line + n + MAC_HEX, "\"}");
}

static void key_of(struct cmk_audit_key *k)
{
    memset(k, 0, sizeof(*k));
    k->key = KEY;
    k->sealed = (const uint8_t *)SEALED;
    k->sealed_len = strlen(SEALED);
    k->tenant = "acme";
    k->provider = "local";
}

static struct cmk_audit *open_opts(const char *path,
                                   const struct cmk_audit_opts *o)
{
    struct cmk_audit_key k;
    struct cmk_audit *a = NULL;

    key_of(&k);
    assert_int_equal(cmk_audit_open(path, o, &k, &a), CMK_OK);
    assert_non_null(a);
    return a;
}

static struct cmk_audit *open_ok(const char *path, bool required)
{
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    o.required = required;
    return open_opts(path, &o);
}

/* Fixed clock, writer id and pid: every byte known. */
static struct cmk_audit *open_fixed(const char *path, const char *slog)
{
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    o.now = fixed_clock;
    o.writer_id = WID;
    o.pid = 4242;
    o.syslog = slog != NULL;
    o.syslog_path = slog;
    return open_opts(path, &o);
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

/* rotate_in and reopen begin so: the key again, then "file":N */
#define SWITCH_HEAD(ev)                                                        \
    "\"event\":\"" ev "\",\"tenant\":\"acme\",\"provider\":\"local\","         \
    "\"sealed_key\":\"" SEALED_B64 "\",\"file\":"

#define KAT_LINE1_M(m1)                                                        \
    T0 "\"chain\":0,\"seq\":1,\"pid\":4242,\"event\":\"audit_open\","          \
       "\"tenant\":\"acme\",\"provider\":\"local\",\"sealed_key\":"            \
       "\"" SEALED_B64 "\",\"file\":1,\"mac\":\"" m1 "\"}"
#define KAT_LINE2_M(m2)                                                        \
    T0 "\"chain\":1,\"seq\":1,\"pid\":4242,\"event\":\"mechanism\",\"op\":"    \
       "\"C_Encrypt\",\"tenant\":\"acme\",\"session\":7,\"mech\":"             \
       "\"CKM_AES_GCM\",\"mech_num\":4231,\"key_label\":\"acme-cmk\","         \
       "\"key_id\":\"0a0b\",\"result\":\"CKR_OK\",\"bytes_in\":100,"           \
       "\"bytes_out\":116,\"cache\":\"hit\",\"provider\":\"local\","           \
       "\"request_id\":\"req-1\",\"http_status\":200,\"latency_us\":1234,"     \
       "\"provider_code\":\"DisabledException\",\"detail\":"                   \
       "\"key health: enabled\",\"mac\":\"" m2 "\"}"
#define KAT_LINE3_M(m2, m3)                                                    \
    T0 "\"chain\":0,\"seq\":2,\"pid\":4242,\"event\":\"finalize\","            \
       "\"chains\":[[1,1,\"" m2 "\"]],\"mac\":\"" m3 "\"}"
#define KAT_LINE1 KAT_M(KAT_LINE1_M(KAT_MAC1), KAT_LINE1_M(KAT3_MAC1))
#define KAT_LINE2 KAT_M(KAT_LINE2_M(KAT_MAC2), KAT_LINE2_M(KAT3_MAC2))
#define KAT_LINE3                                                              \
    KAT_M(KAT_LINE3_M(KAT_MAC2, KAT_MAC3), KAT_LINE3_M(KAT3_MAC2, KAT3_MAC3))

/* Known answers: a fixed clock, writer, pid and key give these exact
 * bytes, macs computed outside this code base. */
static void test_kat(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_fixed(f->path, NULL);
    const char *files[1] = {f->path};
    struct test_audit_rep rep;
    struct cmk_audit_rec r;

    full_rec(&r);
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    assert_string_equal(cmk_audit_writer_id(a), WID);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->lines[0], KAT_LINE1);
    assert_string_equal(f->lines[1], KAT_LINE2);
    assert_string_equal(f->lines[2], KAT_LINE3);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, 3);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
    /* The same lines fail under any other key. */
    assert_int_not_equal(test_audit_check_files(files, 1,
                                                test_audit_unseal_known,
                                                wrong_keys, &rep),
                         0);
    assert_int_equal(rep.sum.problems, 3); /* each chain, once per run */
    assert_non_null(strstr(rep.first, ": line 1: writer " WID " chain 0 seq "
                                      "1: mac does not match"));
}

/* The fields of how an operation ended and which object it made, in
 * their place after "detail" (docs/audit-format.md), with a known mac
 * from Python's hmac as in test_kat. */
#define KATO_MAC2                                                              \
    "527631ceec98e17eef2b38b9d798841b0654fadf047a00a31e974c6131492a30"
#define KATO_MAC3                                                              \
    "3b164bb600a45f0ac7d2565e3379ab83999a82c9ed0f4177842d21b1316912bf"
#define KATO_LINE2_M(m2)                                                       \
    T0 "\"chain\":1,\"seq\":1,\"pid\":4242,\"event\":\"mechanism\",\"op\":"    \
       "\"C_UnwrapKey\",\"tenant\":\"acme\",\"session\":7,\"mech\":"           \
       "\"CKM_AES_KEY_WRAP_KWP\",\"mech_num\":8459,\"key_label\":"             \
       "\"acme-cmk\",\"key_id\":\"01\",\"result\":\"CKR_OK\",\"bytes_in\":40," \
       "\"cache\":\"miss\",\"end\":\"final\",\"object\":12,\"object_label\":"  \
       "\"dek \\\"1\\\"\",\"object_id\":\"0a0b\",\"object_class\":"            \
       "\"CKO_SECRET_KEY\",\"object_token\":false,\"attrs\":[\"CKA_CLASS\","   \
       "\"CKA_KEY_TYPE\",\"CKA_SENSITIVE\"],\"mac\":\"" m2 "\"}"
#define KATO_LINE3_M(m2, m3)                                                   \
    T0 "\"chain\":0,\"seq\":2,\"pid\":4242,\"event\":\"finalize\","            \
       "\"chains\":[[1,1,\"" m2 "\"]],\"mac\":\"" m3 "\"}"
#define KATO_LINE2 KAT_M(KATO_LINE2_M(KATO_MAC2), KATO_LINE2_M(KAT3O_MAC2))
#define KATO_LINE3                                                             \
    KAT_M(KATO_LINE3_M(KATO_MAC2, KATO_MAC3),                                  \
          KATO_LINE3_M(KAT3O_MAC2, KAT3O_MAC3))

static void test_kat_object(void **state)
{
    static const char *const attrs[] = {"CKA_CLASS", "CKA_KEY_TYPE",
                                        "CKA_SENSITIVE"};
    struct fx *f = *state;
    struct cmk_audit *a = open_fixed(f->path, NULL);
    struct test_audit_rep rep;
    struct cmk_audit_rec r;

    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.op = "C_UnwrapKey";
    r.tenant = "acme";
    r.session = 7;
    r.mech_name = "CKM_AES_KEY_WRAP_KWP";
    r.mech = 0x210B;
    r.key_label = "acme-cmk";
    r.key_id = "01";
    r.result = "CKR_OK";
    r.bytes_in = 40;
    r.cache = 0;
    r.end = "final";
    r.object = 12;
    r.object_label = "dek \"1\"";
    r.object_id = "0a0b";
    r.object_class = "CKO_SECRET_KEY";
    r.object_token = 0;
    r.attrs = attrs;
    r.n_attrs = 3;
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 3);
    assert_string_equal(f->lines[0], KAT_LINE1);
    assert_string_equal(f->lines[1], KATO_LINE2);
    assert_string_equal(f->lines[2], KATO_LINE3);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, 3);
}

/* At most CMK_AUDIT_MAX_ATTRS attribute names are written, in order. */
static void test_attrs_cap(void **state)
{
    struct fx *f = *state;
    const char *names[CMK_AUDIT_MAX_ATTRS + 8];
    char buf[CMK_AUDIT_MAX_ATTRS + 8][16], want[32];
    struct test_audit_rep rep;
    struct cmk_audit *a;
    struct cmk_audit_rec r;
    size_t i;

    for (i = 0; i < CMK_AUDIT_MAX_ATTRS + 8; i++) {
        snprintf(buf[i], sizeof(buf[i]), "CKA_X%zu", i);
        names[i] = buf[i];
    }
    a = open_ok(f->path, true);
    cmk_audit_rec_init(&r);
    r.event = "object";
    r.attrs = names;
    r.n_attrs = CMK_AUDIT_MAX_ATTRS + 8;
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    snprintf(want, sizeof(want), "\"CKA_X%d\"],", CMK_AUDIT_MAX_ATTRS - 1);
    assert_non_null(strstr(f->lines[1], "\"attrs\":[\"CKA_X0\",\"CKA_X1\","));
    assert_non_null(strstr(f->lines[1], want));
    assert_int_equal(count(f->lines[1], "\"CKA_X"), CMK_AUDIT_MAX_ATTRS);
    expect_ok_key(f->path, &rep);
}

/* Sealing failed and the audit is not required: null and the reason. */
static void test_unsealed_open(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct cmk_audit_key k;
    struct cmk_audit *a = NULL;

    cmk_audit_opts_init(&o);
    o.now = fixed_clock;
    o.writer_id = WID;
    o.pid = 4242;
    key_of(&k);
    k.sealed = NULL;
    k.sealed_len = 0;
    k.provider = "aws";
    k.detail = "chain key not sealed: network";
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &a), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 2);
    expect_prefix(f->lines[0],
                  T0 "\"chain\":0,\"seq\":1,\"pid\":4242,\"event\":"
                     "\"audit_open\",\"tenant\":\"acme\",\"provider\":\"aws\","
                     "\"sealed_key\":null,\"file\":1,\"detail\":"
                     "\"chain key not sealed: network\",\"mac\":\"");
    assert_non_null(
        strstr(f->lines[1], "\"event\":\"finalize\",\"chains\":[]"));
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
    assert_non_null(strstr(f->lines[1], "\"2026-11-23T13:05:54.123456Z\""));
    assert_non_null(strstr(f->lines[2], "\"2026-11-23T23:59:59.999999Z\""));
    assert_null(strstr(f->lines[3], "2026-11-23T23:59:59"));
    assert_int_equal(strncmp(f->lines[3], "{\"time\":\"20", 11), 0);
    assert_int_equal(f->lines[3][9 + 26], 'Z');
}

/* The "detail" value of a file with one record. */
static char *detail_of(struct fx *f, const char *detail)
{
    struct test_audit_rep rep;
    struct cmk_audit *a;
    char *p, *q;

    unlink(f->path);
    a = open_ok(f->path, true);
    write_event(a, "session", detail);
    cmk_audit_close(a);
    expect_ok_key(f->path, &rep);
    load_lines(f);
    assert_int_equal(f->n, 3);
    p = strstr(f->lines[1], ",\"detail\":\"");
    assert_non_null(p);
    p += 11;
    q = strstr(p, "\",\"mac\":");
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
                  "d\x1f\x7f",
                  "q\\\"b\\\\n\\u000ac\\u0001d\\u001f\\u007f");
    expect_detail(f, "tab\tcr\r", "tab\\u0009cr\\u000d");
    expect_detail(f, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
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

/* Each byte 1..255 alone, against the rule written out here: printable
 * ASCII as it is, '"' and '\\' with a backslash, anything else (controls,
 * DEL, a byte that is no whole UTF-8 sequence on its own) as \u00XX. */
static void test_escaping_every_byte(void **state)
{
    struct fx *f = *state;
    char in[4], want[16];
    int c;

    for (c = 1; c < 256; c++) {
        snprintf(in, sizeof(in), "%c", c);
        if (c == '"' || c == '\\')
            snprintf(want, sizeof(want), "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            snprintf(want, sizeof(want), "%c", c);
        else
            snprintf(want, sizeof(want), "\\u00%02x", c);
        expect_detail(f, in, want);
    }
}

/* jansson reads back exactly what was passed (well-formed input). */
static void test_escaping_roundtrip(void **state)
{
    struct fx *f = *state;
    const char *in = "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80";
    json_error_t jerr;
    json_t *o;

    free(detail_of(f, in));
    o = json_loads(f->lines[1], 0, &jerr);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "detail")), in);
    json_decref(o);
}

static void test_caps(void **state)
{
    struct fx *f = *state;
    char in[1100], out[1100];
    struct test_audit_rep rep;
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
    memset(in, 'a', 255); /* 255 + a 2-byte character: cut before it */
    memcpy(in + 255, "\xc3\xa9", 3);
    memset(out, 'a', 255);
    memcpy(out + 255, "...", 4);
    expect_detail(f, in, out);
    memset(in, 1, 300); /* an escape is never split: 42 * 6 = 252 */
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
    r.op = r.tenant = r.mech_name = r.key_label = r.key_id = in;
    r.result = r.provider = r.request_id = r.provider_code = r.detail = in;
    r.bytes_in = r.bytes_out = r.latency_us = 9223372036854775807LL;
    unlink(f->path);
    a = open_ok(f->path, true);
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 3);
    assert_true(strlen(f->lines[1]) + 1 <= 4096);
    assert_non_null(strstr(f->lines[1], "\"bytes_in\":9223372036854775807,"));
    expect_ok_key(f->path, &rep);
}

static void test_omitted_fields(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_fixed(f->path, NULL);
    struct cmk_audit_rec r;

    cmk_audit_rec_init(&r);
    r.event = "login";
    r.session = 0; /* zero is a value, not "absent" */
    r.cache = 0;
    r.result = "CKR_PIN_INCORRECT";
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    cmk_audit_close(a);
    load_lines(f);
    expect_prefix(f->lines[1],
                  T0 "\"chain\":1,\"seq\":1,\"pid\":4242,\"event\":\"login\","
                     "\"session\":0,\"result\":\"CKR_PIN_INCORRECT\","
                     "\"cache\":\"miss\",\"mac\":\"");
    assert_int_equal(strlen(f->lines[1]),
                     strlen(T0) +
                         strlen("\"chain\":1,\"seq\":1,\"pid\":4242,"
                                "\"event\":\"login\",\"session\":0,"
                                "\"result\":\"CKR_PIN_INCORRECT\","
                                "\"cache\":\"miss\",\"mac\":\"") +
                         MAC_HEX + 2);
}

/* Records carry exactly what the caller passed, nothing more. */
static void test_only_given_text(void **state)
{
    struct fx *f = *state;
    const char *d = "key health changed: enabled -> disabled (acme)";
    json_error_t jerr;
    json_t *o, *v;
    const char *k;

    expect_detail(f, d, d);
    o = json_loads(f->lines[1], 0, &jerr);
    assert_non_null(o);
    json_object_foreach(o, k, v)
    {
        assert_true(strcmp(k, "time") == 0 || strcmp(k, "writer") == 0 ||
                    strcmp(k, "chain") == 0 || strcmp(k, "seq") == 0 ||
                    strcmp(k, "pid") == 0 || strcmp(k, "event") == 0 ||
                    strcmp(k, "op") == 0 || strcmp(k, "detail") == 0 ||
                    strcmp(k, "mac") == 0);
    }
    json_decref(o);
}

/* What a record's head must read, "pid" to "result" (the fields given,
 * none escaped); NULL string fields and negative numbers absent. */
static void head_of(char *out, size_t cap, const struct cmk_audit_rec *r)
{
    char num[48];
    size_t n;

    n = (size_t)snprintf(out, cap, "\"pid\":4242,\"event\":\"%s\"", r->event);
#define ADD_STR(k, v)                                                          \
    if ((v) != NULL)                                                           \
        n += (size_t)snprintf(out + n, cap - n, ",\"" k "\":\"%s\"", (v));
#define ADD_NUM(k, v)                                                          \
    if ((v) >= 0) {                                                            \
        snprintf(num, sizeof(num), "%lld", (long long)(v));                    \
        n += (size_t)snprintf(out + n, cap - n, ",\"" k "\":%s", num);         \
    }
    ADD_STR("op", r->op);
    ADD_STR("tenant", r->tenant);
    ADD_NUM("session", r->session);
    ADD_STR("mech", r->mech_name);
    ADD_NUM("mech_num", r->mech);
    ADD_STR("key_label", r->key_label);
    ADD_STR("key_id", r->key_id);
#undef ADD_STR
#undef ADD_NUM
    snprintf(out + n, cap - n, ",\"result\":\"%s\"", r->result);
}

/* A thread's records repeat their head and the writer keeps the last
 * few as written: a field changed in the same buffer (a label set in
 * place), a field dropped or given as "", a number changed, more heads
 * than are kept, and heads too long to keep all read as given. */
static void test_head_memo(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_fixed(f->path, NULL);
    struct cmk_audit_rec r[40];
    struct cmk_audit_rec shown;
    char label[16], id[8], want[40][768], longv[300], cut[260];
    const char *six[6] = {"k1", "k2", "k3", "k4", "k5", "k6"};
    size_t n = 0, i;

    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    memset(cut, 'x', 256);
    memcpy(cut + 256, "...", 4);
    strcpy(label, "label-a");
    strcpy(id, "0a0b");
#define REC(edit)                                                              \
    do {                                                                       \
        full_rec(&r[n]);                                                       \
        r[n].key_label = label;                                                \
        r[n].key_id = id;                                                      \
        edit;                                                                  \
        shown = r[n];                                                          \
        if (shown.key_label == longv) /* cut at 256 (test_caps) */             \
            shown.key_label = cut;                                             \
        head_of(want[n], sizeof(want[n]), &shown);                             \
        assert_int_equal(cmk_audit_write(a, &r[n]), CMK_OK);                   \
        n++;                                                                   \
    } while (0)
    REC((void)0);
    REC((void)0);
    strcpy(label, "label-b"); /* same buffer, same length */
    REC((void)0);
    strcpy(label, "label-bc"); /* same buffer, longer */
    REC((void)0);
    strcpy(id, "");
    REC((void)0);
    REC(r[n].key_id = NULL);
    strcpy(id, "0a0b");
    REC((void)0);
    REC(r[n].session = 8);
    REC(r[n].mech = 4232);
    REC(r[n].tenant = NULL);
    REC(r[n].op = "C_Decrypt");
    REC(r[n].event = "kms_call");
    for (i = 0; i < 12; i++) /* six heads, four kept */
        REC(r[n].key_label = six[i % 6]);
    REC(r[n].key_label = longv);
    REC(r[n].key_label = longv);
    REC((void)0);
#undef REC
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, n + 2);
    for (i = 0; i < n; i++) {
        if (strstr(f->lines[i + 1], want[i]) == NULL)
            fail_msg("record %zu: got  %s\nwant ...%s...", i, f->lines[i + 1],
                     want[i]);
    }
}

/* Every mac recomputed here over prev || line, outside the module. */
static void test_chain_macs(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    uint8_t prev[32] = {0}, md[32];
    char hex[65], d[32];
    struct test_audit_rep rep;
    size_t i, len;
    char *m;

    for (i = 0; i < 20; i++) {
        snprintf(d, sizeof(d), "record %zu", i + 1);
        write_event(a, "mechanism", d);
    }
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 22);
    for (i = 1; i <= 20; i++) {
        snprintf(d, sizeof(d), "\"chain\":1,\"seq\":%zu,", i);
        assert_non_null(strstr(f->lines[i], d));
        m = strstr(f->lines[i], ",\"mac\":\"");
        assert_non_null(m);
        len = (size_t)(m - f->lines[i]);
        /* tests/lib's HMAC (libsodium) or GCM-SIV (bit by bit) */
        tgen_mac_len = MAC_HEX / 2;
        tgen_mac(KEY, prev, f->lines[i], len, md);
        for (size_t j = 0; j < tgen_mac_len; j++)
            snprintf(hex + 2 * j, 3, "%02x", md[j]);
        assert_int_equal(strncmp(m + 8, hex, MAC_HEX), 0);
        assert_string_equal(m + 8 + MAC_HEX, "\"}");
        memcpy(prev, md, tgen_mac_len);
    }
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, 22);
}

static void test_args(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct cmk_audit_key k;
    struct cmk_audit *a = NULL;
    struct cmk_audit_rec r;
    struct test_audit_rep rep;
    char bad[128], long_event[258];
    struct stat st;

    cmk_audit_opts_init(&o);
    key_of(&k);
    assert_int_equal(cmk_audit_open(NULL, &o, &k, &a), CMK_E_ARGS);
    assert_int_equal(cmk_audit_open(f->path, NULL, &k, &a), CMK_E_ARGS);
    assert_int_equal(cmk_audit_open(f->path, &o, NULL, &a), CMK_E_ARGS);
    assert_int_equal(cmk_audit_open(f->path, &o, &k, NULL), CMK_E_ARGS);
    o.fsync = (enum cmk_fsync_policy)7;
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &a), CMK_E_ARGS);
    cmk_audit_opts_init(&o);
    o.max_bytes = 100000;
    o.keep = 0;
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &a), CMK_E_ARGS);
    cmk_audit_opts_init(&o);
    o.writer_id = "0123456789ABCDEF"; /* lowercase only */
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &a), CMK_E_ARGS);
    cmk_audit_opts_init(&o);
    k.key = NULL;
    assert_int_equal(cmk_audit_open(f->path, &o, &k, &a), CMK_E_ARGS);
    key_of(&k);
    assert_int_equal(stat(f->path, &st), -1); /* nothing made */
    snprintf(bad, sizeof(bad), "%s/no/such/dir/audit", f->dir);
    assert_int_equal(cmk_audit_open(bad, &o, &k, &a), CMK_E_IO);
    assert_null(a);
    a = open_ok(f->path, true);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    st.st_size = 0;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(cmk_audit_write(a, NULL), CMK_E_ARGS);
    cmk_audit_rec_init(&r);
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS); /* no event */
    /* an event the verifier would not read as one: refused, not cut */
    memset(bad, 'a', sizeof(bad));
    bad[sizeof(bad) - 1] = '\0';
    r.event = bad; /* 127 letters: fine */
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    r.event = "Login";
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS);
    r.event = "pin-reset";
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS);
    r.event = "";
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS);
    memset(long_event, 'a', 257);
    long_event[257] = '\0';
    r.event = long_event;
    assert_int_equal(cmk_audit_write(a, &r), CMK_E_ARGS);
    long_event[256] = '\0'; /* 256: the longest */
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    r.event = "initialize";
    assert_int_equal(cmk_audit_write(NULL, &r), CMK_OK); /* no audit */
    cmk_audit_close(a);
    cmk_audit_close(NULL);
    /* the refused calls wrote nothing: audit_open, the two good records
     * and finalize only */
    load_lines(f);
    assert_int_equal(f->n, 4);
    expect_ok_key(f->path, &rep);
}

static void test_fsync_policies(void **state)
{
    struct fx *f = *state;
    enum cmk_fsync_policy p[] = {CMK_FSYNC_ALWAYS, CMK_FSYNC_INTERVAL,
                                 CMK_FSYNC_NONE};
    struct cmk_audit_opts o;
    struct test_audit_rep rep;
    struct cmk_audit *a;
    size_t i, j;

    for (i = 0; i < 3; i++) {
        cmk_audit_opts_init(&o);
        o.fsync = p[i];
        a = open_opts(f->path, &o);
        for (j = 0; j < 5; j++)
            write_event(a, "mechanism", NULL);
        cmk_audit_close(a);
    }
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.writers, 3);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
}

static off_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Waits up to 10 s for path's size (its allocated end while open) to
 * reach at least n; the size then. */
static off_t wait_size(const char *path, off_t n)
{
    struct timespec ms = {0, 1000000L};
    int i;

    for (i = 0; i < 10000 && file_size(path) < n; i++)
        nanosleep(&ms, NULL);
    return file_size(path);
}

/* Waits up to 10 s for path's size to reach at least n and then stay the
 * same for 100 ms (the helper has finished growing it); the size then. */
static off_t wait_settled(const char *path, off_t n)
{
    struct timespec ms = {0, 10000000L};
    off_t last = wait_size(path, n), now;
    int i, same = 0;

    for (i = 0; i < 1000 && same < 10; i++) {
        nanosleep(&ms, NULL);
        now = file_size(path);
        same = now == last ? same + 1 : 0;
        last = now;
    }
    return last;
}

/* The open file's helper thread ("cmk-audit") allocates 4 MiB past the
 * records, where the writers themselves keep 1 to 2 MiB; none is made
 * when the application forbids threads, none is left after close, and
 * the records verify either way. */
static void test_helper_thread(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct test_audit_rep rep;
    struct cmk_audit *a;
    int i;

    assert_int_equal(test_threads_named("cmk-audit"), 0);
    cmk_audit_opts_init(&o); /* fsync interval: the helper syncs too */
    a = open_opts(f->path, &o);
    assert_int_equal(test_threads_named("cmk-audit"), 1);
    for (i = 0; i < 10; i++)
        write_event(a, "mechanism", NULL);
    assert_true(wait_size(f->path, 4 << 20) >= 4 << 20);
    cmk_audit_close(a);
    assert_int_equal(test_threads_named("cmk-audit"), 0);
    assert_true(file_size(f->path) < 8192); /* the tail trimmed */

    o.no_threads = true;
    a = open_opts(f->path, &o);
    assert_int_equal(test_threads_named("cmk-audit"), 0);
    for (i = 0; i < 10; i++)
        write_event(a, "mechanism", NULL);
    assert_int_equal(file_size(f->path), 2 << 20); /* a chunk and one ahead */
    cmk_audit_close(a);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.writers, 2);
    assert_int_equal(rep.sum.records, 2 * (1 + 10 + 1));
}

/* The mappings of path in this process: their number, and the file
 * offset of the last one in *off. */
static int maps_of(const char *path, unsigned long long *off)
{
    char line[PATH_MAX + 256], name[PATH_MAX];
    unsigned long long o;
    FILE *m = fopen("/proc/self/maps", "r");
    int n = 0;

    assert_non_null(m);
    while (fgets(line, sizeof(line), m) != NULL) {
        if (sscanf(line, "%*s %*s %llx %*s %*s %4095s", &o, name) == 2 &&
            strcmp(name, path) == 0) {
            *off = o;
            n++;
        }
    }
    fclose(m);
    return n;
}

/* Records that reach the last quarter of the file's view move the view
 * on (one mapping, now further in the file) instead of falling back to
 * one pwrite each past its end; every record verifies. */
static void test_view_slides(void **state)
{
    struct fx *f = *state;
    struct test_audit_rep rep;
    unsigned long long off = 0;
    struct cmk_audit *a;
    char d[241];
    int i, n = 130000;

    memset(d, 'v', sizeof(d) - 1);
    d[sizeof(d) - 1] = '\0';
    cmk_afile_set_view(64 << 20);
    a = open_ok(f->path, true);
    assert_int_equal(maps_of(f->path, &off), 1);
    assert_int_equal(off, 0);
    for (i = 0; i < n; i++) /* about 62 MiB */
        write_event(a, "mechanism", d);
    assert_true(file_size(f->path) > 48 << 20);
    assert_int_equal(maps_of(f->path, &off), 1);
    assert_int_equal(off, 48 << 20); /* 3/4 of 64 MiB, 16 MiB aligned */
    cmk_audit_close(a);
    cmk_afile_set_view(0);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, n + 2);
    assert_int_equal(rep.sum.bad_regions, 0);
}

/* Pages of [from, from + n) of path in the page cache, by mincore on a
 * mapping of our own (which faults nothing in); *first: the first one. */
static size_t cached_pages(const char *path, size_t from, size_t n,
                           size_t *first)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), i, in = 0;
    unsigned char vec[1024];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *m;

    assert_true(fd >= 0);
    assert_true(n / pg <= sizeof(vec));
    m = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, (off_t)from);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mincore(m, n, vec), 0);
    for (i = 0; i < n / pg; i++) {
        if ((vec[i] & 1) && in++ == 0)
            *first = from + i * pg;
    }
    munmap(m, n);
    close(fd);
    return in;
}

/* True where a file's pages never leave memory (tmpfs, ramfs): there
 * the page cache is the file's only copy. */
static bool memory_is_storage(const char *dir)
{
    struct statfs fs;

    assert_int_equal(statfs(dir, &fs), 0);
    return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

/* Waits up to 10 s for no page of [1 MiB, 2 MiB) of path to be cached;
 * fails naming what is left. */
static void expect_dropped(const char *path)
{
    struct timespec ms = {0, 10000000L};
    size_t left = 0, first = 0;
    int i;

    for (i = 0; i < 1000; i++) {
        left = cached_pages(path, 1 << 20, 1 << 20, &first);
        if (left == 0)
            return;
        nanosleep(&ms, NULL);
    }
    fail_msg("%zu pages of [1 MiB, 2 MiB) still cached, the first at %zu", left,
             first);
}

/* Under the interval policy the records written back leave the page
 * cache: a long run does not fill memory with an audit file nothing
 * reads, and new pages come from memory just freed. The second MiB of 6
 * is out once the helper has synced (it syncs once a second); not the
 * first, whose head valgrind reads, readahead and all, when it sees the
 * file mapped. The records all verify. */
static void test_page_cache_dropped(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct test_audit_rep rep;
    struct cmk_audit *a;
    char d[241];
    int i, n = 13000; /* about 6 MiB */

    memset(d, 'p', sizeof(d) - 1);
    d[sizeof(d) - 1] = '\0';
    cmk_audit_opts_init(&o); /* fsync interval: the helper syncs */
    a = open_opts(f->path, &o);
    for (i = 0; i < n; i++)
        write_event(a, "mechanism", d);
    assert_true(file_size(f->path) > 5 << 20);
    if (memory_is_storage(f->dir))
        printf("SKIP (part): %s is on tmpfs or ramfs, where no page of a "
               "file leaves memory; the records are verified only\n",
               f->dir);
    else
        expect_dropped(f->path);
    cmk_audit_close(a);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, n + 2);
    assert_int_equal(rep.sum.bad_regions, 0);
}

struct thr {
    struct cmk_audit *a;
    int id;
    int n;
    pthread_barrier_t *bar; /* met after the first record, or NULL */
};

static void *thread_main(void *arg)
{
    struct thr *t = arg;
    struct cmk_audit_rec r;
    char d[48];
    int i;

    for (i = 0; i < t->n; i++) {
        cmk_audit_rec_init(&r);
        r.event = "mechanism";
        snprintf(d, sizeof(d), "thread %d record %d", t->id, i + 1);
        r.detail = d;
        if (cmk_audit_write(t->a, &r) != CMK_OK)
            return arg;
        if (i == 0 && t->bar != NULL)
            pthread_barrier_wait(t->bar);
    }
    return NULL;
}

/* n threads of per records each; all alive together (a barrier after
 * their first records), so each has a chain of its own. */
static void run_threads(struct cmk_audit *a, int n, int per, int first_id)
{
    pthread_barrier_t bar;
    struct thr t[8];
    pthread_t th[8];
    void *res;
    int i;

    assert_int_equal(pthread_barrier_init(&bar, NULL, (unsigned)n), 0);
    for (i = 0; i < n; i++) {
        t[i] = (struct thr){a, first_id + i, per, &bar};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
    }
    for (i = 0; i < n; i++) {
        assert_int_equal(pthread_join(th[i], &res), 0);
        assert_null(res);
    }
    pthread_barrier_destroy(&bar);
}

/* Four threads, four chains: each thread's records are one chain, seq 1
 * to 500, and finalize lists the four. */
static void test_threads(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct test_audit_rep rep;
    struct cmk_audit *a;
    char want[64], *p;
    int chain_of[4] = {0}, i;
    size_t k;

    cmk_audit_opts_init(&o);
    a = open_opts(f->path, &o);
    run_threads(a, 4, 500, 0);
    cmk_audit_close(a);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, 2002);
    assert_int_equal(rep.sum.chains, 5);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
    load_lines(f);
    for (k = 1; k + 1 < f->n; k++) { /* one chain per thread, and back */
        p = strstr(f->lines[k], "\"detail\":\"thread ");
        assert_non_null(p);
        i = p[17] - '0';
        p = strstr(f->lines[k], "\"chain\":");
        if (chain_of[i] == 0)
            chain_of[i] = p[8] - '0';
        assert_int_equal(p[8] - '0', chain_of[i]);
    }
    for (i = 0; i < 4; i++) {
        snprintf(want, sizeof(want), "[%d,500,\"", i + 1);
        assert_non_null(strstr(f->lines[f->n - 1], want));
    }
}

/* A thread that ends hands its chain to the next thread: seq goes on. */
static void test_chain_takeover(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct test_audit_rep rep;

    run_threads(a, 1, 3, 0);
    run_threads(a, 1, 2, 1);
    cmk_audit_close(a);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.chains, 2);
    load_lines(f);
    assert_int_equal(f->n, 7);
    assert_non_null(strstr(f->lines[4], "\"chain\":1,\"seq\":4,"));
    assert_non_null(strstr(f->lines[4], "thread 1 record 1"));
    assert_non_null(strstr(f->lines[6], "\"chains\":[[1,5,\""));
}

/* One thread, two writers on one file: one chain in each. */
static void test_two_writers(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct cmk_audit *b = open_ok(f->path, true);
    struct test_audit_rep rep;
    size_t i;

    for (i = 0; i < 10; i++) {
        write_event(a, "mechanism", "a");
        write_event(b, "mechanism", "b");
        if (i % 3 == 0)
            write_event(b, "kms_call", "b");
    }
    cmk_audit_close(a);
    cmk_audit_close(b);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.writers, 2);
    assert_int_equal(rep.sum.chains, 4);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
}

/* Child of test_fork: the parent's writer's K is wiped, the writer
 * refuses and writes nothing, even at close; a writer of its own works. Exit
 * codes name the step that went wrong. */
/* Bytes of records in path: up to the first 0x00 (space allocated ahead
 * and not yet written), or -1. The parent's helper thread may allocate
 * more space meanwhile: the size alone says nothing about records. */
static long long records_len(const char *path)
{
    FILE *fp = fopen(path, "rb");
    long long n = 0;
    int c;

    if (fp == NULL)
        return -1;
    while ((c = getc(fp)) != EOF && c != 0)
        n++;
    fclose(fp);
    return n;
}

/* The syncer held in its fdatasync (a hook standing for a slow disk). */
static pthread_mutex_t held_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;
static int held_in, held_release;

static void hold_sync(void)
{
    pthread_mutex_lock(&held_mx);
    held_in++;
    pthread_cond_broadcast(&held_cv);
    while (!held_release)
        pthread_cond_wait(&held_cv, &held_mx);
    pthread_mutex_unlock(&held_mx);
}

/* Waits up to 10 s for the syncer to be in the hook. */
static bool sync_held(void)
{
    struct timespec until;
    int e = 0;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&held_mx);
    while (held_in == 0 && e == 0)
        e = pthread_cond_timedwait(&held_cv, &held_mx, &until);
    pthread_mutex_unlock(&held_mx);
    return held_in > 0;
}

static void release_sync(void)
{
    pthread_mutex_lock(&held_mx);
    held_release = 1;
    pthread_cond_broadcast(&held_cv);
    pthread_mutex_unlock(&held_mx);
}

/* Under the interval policy the fdatasync runs on a thread of its own
 * ("cmk-audit-sync"): while it waits for the disk, the helper still
 * allocates and maps 2 to 4 MiB past the records, so the writers never
 * catch up with it and make the file's pages in their own calls (where
 * the helper itself ran the fdatasync, a slow disk held the allocation
 * ahead up: the writers then allocated just what their records
 * needed). Every record verifies. */
static void test_sync_apart(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_opts o;
    struct test_audit_rep rep;
    struct cmk_audit *a;
    char d[241];
    long long len;
    bool ahead;
    int i, n = 25000; /* about 9 MiB */

    memset(d, 's', sizeof(d) - 1);
    d[sizeof(d) - 1] = '\0';
    held_in = held_release = 0;
    cmk_afile_set_sync_hook(hold_sync);
    cmk_audit_opts_init(&o); /* fsync interval */
    a = open_opts(f->path, &o);
    assert_int_equal(test_threads_named("cmk-audit"), 1);
    assert_int_equal(test_threads_named("cmk-audit-sync"), 1);
    write_event(a, "mechanism", d);
    if (!sync_held()) { /* about a second after open */
        release_sync();
        cmk_audit_close(a);
        fail_msg("the syncer did not sync within 10 s");
    }
    for (i = 0; i < n; i++)
        write_event(a, "mechanism", d);
    len = records_len(f->path);
    ahead =
        wait_size(f->path, (off_t)len + (2 << 20)) >= (off_t)len + (2 << 20);
    release_sync(); /* before any assert: close waits for the syncer */
    cmk_audit_close(a);
    cmk_afile_set_sync_hook(NULL);
    assert_true(len > 8 << 20);
    assert_true(ahead);
    assert_int_equal(test_threads_named("cmk-audit-sync"), 0);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.records, n + 3);
    assert_int_equal(rep.sum.bad_regions, 0);

    o.fsync = CMK_FSYNC_NONE; /* nothing to sync: no syncer */
    a = open_opts(f->path, &o);
    assert_int_equal(test_threads_named("cmk-audit"), 1);
    assert_int_equal(test_threads_named("cmk-audit-sync"), 0);
    cmk_audit_close(a);
}

static int fork_child(const char *path, struct cmk_audit *inherited,
                      int pipe_fd)
{
    struct cmk_audit_key k;
    struct cmk_audit_opts o;
    struct cmk_audit *mine = NULL;
    struct cmk_audit_rec r;
    long long before, after;
    struct cmk_vmac_lib *mc = NULL;
    uint8_t prev[32] = {0}, mac[32];
    int i;

    /* K itself is gone in the child (wiped on fork), not only refused */
    if (cmk_vmac_lib_new(&mc) != CMK_OK ||
        cmk_vmac_key_line(mc, inherited->mac, prev, "{}", 2, mac) !=
            CMK_E_CRYPTO)
        return 8;
    cmk_vmac_lib_free(mc);
    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.detail = "child";
    before = records_len(path);
    if (before <= 0 || cmk_audit_write(inherited, &r) != CMK_E_IO)
        return 2;
    cmk_audit_close(inherited);
    after = records_len(path);
    if (after != before)
        return 3;
    cmk_audit_opts_init(&o);
    key_of(&k);
    k.key = KEY2;
    k.sealed = (const uint8_t *)SEALED2;
    k.sealed_len = strlen(SEALED2);
    if (cmk_audit_open(path, &o, &k, &mine) != CMK_OK)
        return 4;
    for (i = 0; i < 3; i++) {
        if (cmk_audit_write(mine, &r) != CMK_OK)
            return 5;
    }
    if (write(pipe_fd, cmk_audit_writer_id(mine), 16) != 16)
        return 6;
    cmk_audit_close(mine);
    return 0;
}

static void test_fork(void **state)
{
    struct fx *f = *state;
    struct cmk_audit *a = open_ok(f->path, true);
    struct test_audit_rep rep;
    const char *files[1] = {f->path};
    char child_id[17] = {0}, pid[32];
    int status, i, fds[2];
    pid_t child;

    for (i = 0; i < 3; i++)
        write_event(a, "mechanism", "parent");
    assert_int_equal(pipe(fds), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(fork_child(f->path, a, fds[1]));
    close(fds[1]);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(read(fds[0], child_id, 16), 16);
    close(fds[0]);
    for (i = 0; i < 3; i++)
        write_event(a, "mechanism", "parent");
    cmk_audit_close(a);
    expect_ok(files, 1, &rep);
    assert_int_equal(rep.sum.writers, 2);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
    assert_int_equal(rep.sum.records, 6 + 2 + 3 + 2);
    load_lines(f);
    assert_non_null(strstr(f->lines[4], child_id));
    assert_non_null(strstr(f->lines[4], "\"event\":\"audit_open\""));
    snprintf(pid, sizeof(pid), "\"pid\":%ld,", (long)child);
    assert_non_null(strstr(f->lines[4], pid));
    assert_string_not_equal(child_id, "");
}

/* Runs fn with stderr sent to a file; returns what was printed. */
static char *capture_stderr(struct fx *f, void (*fn)(struct fx *))
{
    int saved = dup(2), fd;
    size_t len;

    fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    fn(f);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    return slurp(f->tmp, &len);
}

#define LIMIT_WRITES 6000
#define HELPER_LIMIT (3 << 19) /* 1.5 MiB: within the helper's first space */

/* The file size limit of limit_child: with no helper thread, at the end
 * of the 1 MiB the writer allocates at open (a helper allocates ahead
 * from the open on, at its own pace, so its limit is set before the
 * open, at HELPER_LIMIT: where the helper's allocation ahead fails,
 * before any record needs the space). */
static int set_limit(const char *path, bool helper)
{
    struct rlimit rl;
    struct stat st;

    if ((!helper && stat(path, &st) != 0) || getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 3;
    rl.rlim_cur = helper ? (rlim_t)HELPER_LIMIT : (rlim_t)st.st_size;
    return setrlimit(RLIMIT_FSIZE, &rl) == 0 ? 0 : 4;
}

/* Child: a file size limit makes the next allocation fail (EFBIG; a full
 * disk gives ENOSPC the same way): records fail whole, none is half
 * written; once the limit is lifted they go on. LIMIT_WRITES records of
 * about 480 bytes pass the limit. Exit codes name the step that went
 * wrong. */
static int limit_child(const char *path, bool required, bool helper,
                       const char *errs)
{
    struct cmk_audit_opts o;
    struct cmk_audit *a;
    struct cmk_audit_rec r;
    struct rlimit rl;
    int i, failed = 0, fd, e;

    fd = open(errs, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) != 2)
        return 2;
    signal(SIGXFSZ, SIG_IGN);
    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    o.required = required;
    o.no_threads = !helper;
    if (helper && (e = set_limit(path, true)) != 0)
        return e;
    a = open_opts(path, &o);
    if (!helper && (e = set_limit(path, false)) != 0)
        return e;
    full_rec(&r);
    for (i = 0; i < LIMIT_WRITES; i++) { /* once failing, failing */
        if (cmk_audit_write(a, &r) != CMK_OK)
            failed++;
        else if (failed != 0)
            return 5;
    }
    if (required ? failed < 1000 : failed != 0)
        return 8;
    if (getrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 6;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        return 6;
    if (cmk_audit_write(a, &r) != CMK_OK || cmk_audit_write(a, &r) != CMK_OK)
        return 7;
    cmk_audit_close(a);
    return 0;
}

/* Allocation failing (a full disk): the calls fail when the audit is
 * required and go on when it is not; stderr says so once per burst and
 * counts the lost records when writing works again; no record is torn,
 * the file checks, and the lost records' space reads as one 0x00 run.
 * With the writers allocating (no helper thread) and with the helper
 * allocating ahead, which fails first: the records that fit within the
 * limit pass (2000 to 3000 in 1 MiB, 3000 to 4500 in 1.5 MiB). */
static void test_allocation_failure(void **state)
{
    struct fx *f = *state;
    struct test_audit_rep rep;
    char errs[128], want[200], *text;
    struct rlimit rl;
    size_t len;
    size_t lo, hi;
    int status, k;
    bool required, helper;
    pid_t child;

    if (getrlimit(RLIMIT_FSIZE, &rl) != 0 || rl.rlim_max != RLIM_INFINITY)
        skip();
    snprintf(errs, sizeof(errs), "%s/stderr", f->dir);
    for (k = 3; k >= 0; k--) {
        required = (k & 1) != 0;
        helper = (k & 2) != 0;
        lo = helper ? 3000 : 2000;
        hi = helper ? 4500 : 3000;
        unlink(f->path);
        child = fork();
        assert_true(child >= 0);
        if (child == 0)
            _exit(limit_child(f->path, required, helper, errs));
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        expect_ok_key(f->path, &rep);
        assert_int_equal(rep.zero_runs, 1);
        /* audit_open, the records before the limit, 2 after, finalize */
        text = slurp(errs, &len);
        snprintf(want, sizeof(want),
                 "audit: cannot write %s: File too large; %s", f->path,
                 required ? "audited calls fail"
                          : "calls go on without audit records");
        assert_int_equal(count(text, want), 1);
        snprintf(want, sizeof(want), "again; %zu records were lost",
                 LIMIT_WRITES - (rep.sum.records - 4));
        assert_int_equal(count(text, want), 1);
        assert_true(rep.sum.records - 4 > lo && rep.sum.records - 4 < hi);
        free(text);
        assert_int_equal(rep.torn, 0);
        assert_int_equal(rep.sum.bad_regions, 0);
        load_lines(f); /* and the tail was trimmed: it ends in a newline */
    }
}

/* ---- Rotation, reopen ---- */

static struct cmk_audit *open_rotating(const char *path, uint64_t max,
                                       unsigned keep)
{
    struct cmk_audit_opts o;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    o.max_bytes = max;
    o.keep = keep;
    return open_opts(path, &o);
}

/* n records of about 300 bytes (a 200-byte detail of c) by a writer
 * rotating PATH every 4 KiB and keeping keep old files. */
static void fill_rotating(const char *path, unsigned keep, char c, int n)
{
    struct cmk_audit *a = open_rotating(path, 4096, keep);
    char d[201];
    int i;

    memset(d, c, 200);
    d[200] = '\0';
    for (i = 0; i < n; i++)
        write_event(a, "mechanism", d);
    cmk_audit_close(a);
}

/* path, path.1 ... path.n as a series, oldest first, into names. */
static size_t series(const char *path, char names[][128], const char **out,
                     size_t max)
{
    size_t n = 0, i;
    struct stat st;

    while (n + 1 < max) {
        snprintf(names[n], 128, "%s.%zu", path, n + 1);
        if (stat(names[n], &st) != 0)
            break;
        n++;
    }
    for (i = 0; i < n; i++)
        out[i] = names[n - 1 - i];
    snprintf(names[n], 128, "%s", path);
    out[n] = names[n];
    return n + 1;
}

/* 100 records of about 300 bytes with max_bytes 4096: rotated about
 * every 4 KiB; with keep 3 only PATH.1 to PATH.3 stay. */
static void test_rotation_keep(void **state)
{
    struct fx *f = *state;
    char names[64][128];
    const char *files[64];
    struct test_audit_rep rep;
    struct stat st;
    size_t n, i;

    fill_rotating(f->path, 3, 'x', 100);
    n = series(f->path, names, files, 64);
    assert_int_equal(n, 4);
    snprintf(names[60], 128, "%s.4", f->path);
    assert_int_not_equal(stat(names[60], &st), 0);
    for (i = 0; i + 1 < n; i++) { /* each ends in its rotate_out */
        load_file(f, files[i]);
        assert_non_null(strstr(f->lines[f->n - 1],
                               "\"event\":\"rotate_out\",\"next\":"
                               "\"audit.jsonl.1\",\"mac\":"));
        load_file(f, files[i + 1]);
        assert_non_null(strstr(f->lines[0], SWITCH_HEAD("rotate_in")));
        assert_non_null(strstr(f->lines[0], "\"prev_file_mac\":\""));
        assert_non_null(strstr(f->lines[0], "\"chains\":[[1,"));
    }
    expect_ok(files, n, &rep);
    assert_int_equal(rep.picked_up, 1);       /* its audit_open was deleted */
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
}

/* With keep large enough every file stays: the whole series checks from
 * audit_open to finalize, and no record is lost or repeated. */
static void test_rotation_series(void **state)
{
    struct fx *f = *state;
    char names[64][128], d[32];
    const char *files[64];
    struct test_audit_rep rep;
    size_t n;

    fill_rotating(f->path, 50, 'y', 100);
    n = series(f->path, names, files, 64);
    assert_true(n >= 6 && n <= 12);
    expect_ok(files, n, &rep);
    /* audit_open, finalize, the records, and a rotate pair per rotation */
    assert_int_equal(rep.sum.records, 2 + 100 + 2 * (n - 1));
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
    load_file(f, files[n - 1]);
    assert_non_null(strstr(f->lines[0], SWITCH_HEAD("rotate_in")));
    snprintf(d, sizeof(d), "\"file\":%zu,", n);
    assert_non_null(strstr(f->lines[0], d));
}

static void put_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* A process killed in the middle of a rotation leaves a hole in the
 * numbers (PATH.3 gone, PATH.4 there) and its temporary file: the next
 * rotation closes the hole, keeping the order, and removes the file. */
static void test_rotation_repairs(void **state)
{
    struct fx *f = *state;
    char p[6][128];
    struct stat st;
    int i;

    for (i = 1; i <= 5; i++)
        snprintf(p[i], sizeof(p[i]), "%s.%d", f->path, i);
    snprintf(p[0], sizeof(p[0]), "%s.tmp-00000000deadbeef", f->path);
    put_text(p[1], "{\"old\":1}\n");
    put_text(p[2], "{\"old\":2}\n");
    put_text(p[4], "{\"old\":4}\n");
    put_text(p[0], "half a rotation\n");
    fill_rotating(f->path, 10, 'z', 12); /* a little over 4 KiB: one */
    assert_int_equal(count_in(p[1], "\"event\":\"rotate_out\""), 1);
    assert_int_equal(count_in(p[2], "{\"old\":1}"), 1);
    assert_int_equal(count_in(p[3], "{\"old\":2}"), 1);
    assert_int_equal(count_in(p[4], "{\"old\":4}"), 1);
    assert_int_not_equal(stat(p[5], &st), 0);
    assert_int_not_equal(stat(p[0], &st), 0);
}

/* In a child: n records r in a writer of its own with options o. Exit
 * codes name the step that went wrong. */
static int child_writes(const char *path, const struct cmk_audit_opts *o,
                        const struct cmk_audit_rec *r, int n)
{
    struct cmk_audit_key k;
    struct cmk_audit *a = NULL;
    int i;

    key_of(&k);
    if (cmk_audit_open(path, o, &k, &a) != CMK_OK)
        return 2;
    for (i = 0; i < n; i++) {
        if (cmk_audit_write(a, r) != CMK_OK)
            return 3;
    }
    cmk_audit_close(a);
    return 0;
}

/* n children child(path, 0 .. n - 1) at once, each exiting 0. */
static void run_kids(const char *path, int n,
                     int (*child)(const char *, uint8_t))
{
    pid_t kids[8];
    int status, k;

    assert_true(n <= 8);
    for (k = 0; k < n; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0)
            _exit(child(path, (uint8_t)k));
    }
    for (k = 0; k < n; k++) {
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* Child of test_rotation_processes: 300 records in its own writer. */
static int rotate_child(const char *path, uint8_t tag)
{
    struct cmk_audit_opts o;
    struct cmk_audit_rec r;
    char d[201];

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    o.max_bytes = 8192;
    o.keep = 200;
    memset(d, 'a' + tag, 200);
    d[200] = '\0';
    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.detail = d;
    return child_writes(path, &o, &r, 300);
}

/* Two processes fill one file: each full file is rotated once (one
 * rotate_out in it, one rotate_in in its successor); the other process
 * reopens; nothing is lost. */
static void test_rotation_processes(void **state)
{
    struct fx *f = *state;
    char names[256][128];
    const char *files[256];
    struct test_audit_rep rep;
    size_t n, i, outs = 0, ins = 0;

    run_kids(f->path, 2, rotate_child);
    n = series(f->path, names, files, 256);
    assert_true(n >= 10);
    for (i = 0; i < n; i++) {
        size_t o1 = count_in(files[i], "\"event\":\"rotate_out\"");
        size_t i1 = count_in(files[i], "\"event\":\"rotate_in\"");

        assert_int_equal(o1, i + 1 < n ? 1 : 0);
        assert_int_equal(i1, i > 0 ? 1 : 0);
        outs += o1;
        ins += i1;
    }
    assert_int_equal(outs, n - 1);
    assert_int_equal(ins, n - 1);
    expect_ok(files, n, &rep);
    assert_int_equal(rep.sum.writers, 2);
    assert_int_equal(rep.sum.open_chains, 0); /* every writer finalized */
}

/* Child of test_grow_processes: GROW_RECORDS records of about 1 KiB in
 * its own writer, fsync interval (the helper allocates ahead). */
#define GROW_KIDS 3
#define GROW_RECORDS 3000
static int grow_child(const char *path, uint8_t tag)
{
    struct cmk_audit_opts o;
    struct cmk_audit_rec r;
    char d[3][251];
    int i;

    cmk_audit_opts_init(&o);
    for (i = 0; i < 3; i++) {
        memset(d[i], 'a' + 3 * tag + i, 250);
        d[i][250] = '\0';
    }
    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.detail = d[0];
    r.object_label = d[1];
    r.request_id = d[2];
    return child_writes(path, &o, &r, GROW_RECORDS);
}

/* Several processes fill one file of many allocation chunks at once,
 * each allocating ahead of its own writers: no record is overwritten by
 * another process's new space (every record checks, none torn, no run of
 * 0x00 between them). */
static void test_grow_processes(void **state)
{
    struct fx *f = *state;
    struct test_audit_rep rep;

    run_kids(f->path, GROW_KIDS, grow_child);
    expect_ok_key(f->path, &rep);
    assert_int_equal(rep.sum.writers, GROW_KIDS);
    assert_int_equal(rep.sum.records, GROW_KIDS * (GROW_RECORDS + 2));
    assert_int_equal(rep.sum.open_chains, 0);
    assert_int_equal(rep.torn, 0);
    assert_int_equal(rep.zero_runs, 0);
    assert_int_equal(rep.sum.bad_regions, 0);
}

/* The stand-in for other processes rotating as fast as they can: each
 * time the directory lock is free and PATH holds something, it renames
 * PATH to PATH.N, makes a new PATH and binds the shared counters to it,
 * as every rotation does. */
struct churn {
    const char *path;
    struct cmk_ashm *shm;
    int stop;
    unsigned files;
};

static void churn_once(struct churn *ch, int dfd)
{
    char to[PATH_MAX];
    struct statx sx;
    struct stat st;
    uint64_t born = 0;
    int fd;

    if (flock(dfd, LOCK_EX | LOCK_NB) != 0)
        return;
    snprintf(to, sizeof(to), "%s.%u", ch->path, ch->files + 1);
    if (stat(ch->path, &st) == 0 && st.st_size > 0 &&
        rename(ch->path, to) == 0) {
        fd = open(ch->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 &&
            (sx.stx_mask & STATX_BTIME))
            born = (uint64_t)sx.stx_btime.tv_sec * 1000000000u +
                   sx.stx_btime.tv_nsec;
        (void)cmk_ashm_reset(ch->shm, st.st_dev, st.st_ino, born, 0, 0);
        close(fd);
        __atomic_add_fetch(&ch->files, 1, __ATOMIC_RELEASE);
    }
    (void)flock(dfd, LOCK_UN);
}

static void *churn_run(void *arg)
{
    struct churn *ch = arg;
    char dir[PATH_MAX];
    int dfd;

    snprintf(dir, sizeof(dir), "%s", ch->path);
    *strrchr(dir, '/') = '\0';
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (dfd >= 0 && !__atomic_load_n(&ch->stop, __ATOMIC_ACQUIRE))
        churn_once(ch, dfd);
    if (dfd >= 0)
        close(dfd);
    return NULL;
}

/* A writer whose file keeps being replaced under it, faster than it can
 * reopen and write (other processes rotating small files on a busy
 * machine): every record still goes out, none fails, none is lost. A
 * writer that gave up after a few reopens failed its calls here. */
static void test_rotation_starved(void **state)
{
    struct fx *f = *state;
    struct churn ch = {.path = f->path};
    struct cmk_audit *a = open_ok(f->path, true);
    char name[PATH_MAX];
    size_t found;
    pthread_t t;
    unsigned k;
    int i;

    assert_int_equal(cmk_ashm_open(f->path, &ch.shm), CMK_OK);
    assert_int_equal(pthread_create(&t, NULL, churn_run, &ch), 0);
    /* Records until the file was replaced 300 times under them. */
    for (i = 0; i < 300 || __atomic_load_n(&ch.files, __ATOMIC_ACQUIRE) < 300;
         i++)
        write_event(a, "mechanism", "starved");
    __atomic_store_n(&ch.stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(t, NULL), 0);
    cmk_audit_close(a);
    cmk_ashm_close(ch.shm);
    found = count_in(f->path, "\"starved\"");
    for (k = 1; k <= ch.files; k++) {
        snprintf(name, sizeof(name), "%s.%u", f->path, k);
        found += count_in(name, "\"starved\"");
    }
    assert_int_equal(found, (size_t)i);
}

/* logrotate: PATH renamed away and a new one made; within 100 ms the
 * writer reopens PATH, writes "reopen" (file 2) there and its thread
 * chain goes on with the next seq. */
static void test_external_rename(void **state)
{
    struct fx *f = *state;
    struct timespec pause = {0, 150 * 1000000L};
    struct cmk_audit *a = open_ok(f->path, true);
    const char *files[2] = {f->tmp, f->path};
    struct test_audit_rep rep;
    int i, fd;

    for (i = 0; i < 5; i++)
        write_event(a, "mechanism", "before");
    assert_int_equal(rename(f->path, f->tmp), 0);
    fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600); /* "create" */
    assert_true(fd >= 0);
    close(fd);
    nanosleep(&pause, NULL);
    for (i = 0; i < 5; i++)
        write_event(a, "mechanism", "after");
    cmk_audit_close(a);
    load_file(f, f->tmp);
    assert_int_equal(f->n, 6);
    load_lines(f);
    assert_int_equal(f->n, 7);
    assert_non_null(strstr(f->lines[0], "\"chain\":0,\"seq\":2,\"pid\":"));
    assert_non_null(strstr(f->lines[0], SWITCH_HEAD("reopen") "2,"));
    assert_non_null(strstr(f->lines[0], "\"chains\":[[1,5,\""));
    assert_non_null(strstr(f->lines[1], "\"chain\":1,\"seq\":6,"));
    expect_ok(files, 2, &rep);
    assert_int_equal(rep.sum.records, 13);
    /* without "create": the writer makes PATH itself */
    assert_int_equal(rename(f->path, f->tmp), 0);
    a = open_ok(f->path, true);
    assert_int_equal(rename(f->path, f->tmp), 0);
    nanosleep(&pause, NULL);
    write_event(a, "mechanism", "after");
    cmk_audit_close(a);
    load_lines(f);
    assert_int_equal(f->n, 3);
    assert_non_null(strstr(f->lines[0], SWITCH_HEAD("reopen") "2,"));
    assert_non_null(strstr(f->lines[0], "\"chains\":[]"));
}

static void cut_and_write(struct fx *f)
{
    struct timespec pause = {0, 150 * 1000000L};
    struct cmk_audit *a = open_ok(f->path, true);
    int i;

    for (i = 0; i < 5; i++)
        write_event(a, "mechanism", "before the cut");
    /* the helper's first space ahead (4 MiB past the records, whole
     * MiBs) is all in place: its growing would otherwise extend the file
     * again after the cut */
    assert_true(wait_settled(f->path, 4 << 20) >= 4 << 20);
    assert_int_equal(truncate(f->path, 0), 0); /* logrotate copytruncate */
    nanosleep(&pause, NULL);
    for (i = 0; i < 5; i++)
        write_event(a, "mechanism", "after the cut");
    cmk_audit_close(a);
}

/* The file truncated under the writer: within 100 ms the writer extends
 * it again, so its copies land in the file (a copy past the end of a
 * mapped file would be a SIGBUS); the records cut away are lost and
 * stderr says so. The cut shows: the writer's first record left is
 * neither its audit_open nor a rotate_in or reopen, so the key is gone
 * with it, and both chains start after seq 1. */
static void test_truncated_under_writer(void **state)
{
    struct fx *f = *state;
    const char *files[1] = {f->path};
    struct test_audit_rep rep;
    char *err;

    err = capture_stderr(f, cut_and_write);
    assert_int_equal(count(err, "was truncated under its writers"), 1);
    free(err);
    assert_int_equal(
        test_audit_check_files(files, 1, test_audit_unseal_known, keys, &rep),
        3);
    assert_non_null(strstr(rep.first, ": not verifiable: its first record "
                                      "here is chain 1 seq 6, not "
                                      "audit_open, rotate_in or reopen"));
    assert_int_equal(rep.sum.records, 6); /* 5 after the cut, finalize */
    assert_int_equal(rep.sum.unverified, 6);
    assert_int_equal(rep.zero_runs, 1);
    assert_int_equal(count_in(f->path, "after the cut"), 5);
}

/* ---- Syslog copy ---- */

static int dgram_server(const char *path, int rcvbuf)
{
    struct sockaddr_un sa = {0};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    if (rcvbuf > 0)
        assert_int_equal(
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static size_t recv_one(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);

    if (n < 0)
        return 0;
    buf[n] = '\0';
    return (size_t)n;
}

/* Every record, the writer's own included, is one RFC 5424 datagram with
 * its chain position as structured data and the line as message. */
static void test_syslog_datagrams(void **state)
{
    struct fx *f = *state;
    char sock[128], host[256], want[8192], got[8192];
    struct cmk_audit_rec r;
    struct cmk_audit *a;
    int fd;

    snprintf(sock, sizeof(sock), "%s/log.sock", f->dir);
    fd = dgram_server(sock, 0);
    assert_int_equal(gethostname(host, sizeof(host)), 0);
    a = open_fixed(f->path, sock);
    full_rec(&r);
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    r.result = "CKR_PIN_INCORRECT";
    r.event = "login";
    assert_int_equal(cmk_audit_write(a, &r), CMK_OK);
    assert_int_equal(cmk_audit_syslog_lost(a), 0);
    cmk_audit_close(a);
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    snprintf(want, sizeof(want),
             "<86>1 2026-11-23T13:05:54.123456Z %s cmk-pkcs11 4242 "
             "audit_open [cmk@32473 writer=\"" WID "\" chain=\"0\" "
             "seq=\"1\" mac=\"%s\" event=\"audit_open\"] %s",
             host, KAT_M(KAT_MAC1, KAT3_MAC1), KAT_LINE1);
    assert_string_equal(got, want);
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    snprintf(want, sizeof(want),
             "<86>1 2026-11-23T13:05:54.123456Z %s cmk-pkcs11 4242 "
             "mechanism [cmk@32473 writer=\"" WID "\" chain=\"1\" "
             "seq=\"1\" mac=\"%s\" event=\"mechanism\" "
             "result=\"CKR_OK\"] %s",
             host, KAT_M(KAT_MAC2, KAT3_MAC2), KAT_LINE2);
    assert_string_equal(got, want);
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    assert_int_equal(strncmp(got, "<85>1 ", 6), 0); /* notice: not CKR_OK */
    assert_non_null(strstr(got, " login [cmk@32473 "));
    assert_non_null(strstr(got, "chain=\"1\" seq=\"2\""));
    assert_non_null(strstr(got, "result=\"CKR_PIN_INCORRECT\"] {\"time\""));
    assert_true(recv_one(fd, got, sizeof(got)) > 0);
    assert_non_null(strstr(got, " finalize [cmk@32473 "));
    assert_int_equal(recv_one(fd, got, sizeof(got)), 0);
    close(fd);
}

static void no_daemon(struct fx *f)
{
    char sock[128];
    struct cmk_audit *a;
    int i;

    snprintf(sock, sizeof(sock), "%s/nobody.sock", f->dir);
    a = open_fixed(f->path, sock);
    for (i = 0; i < 3; i++)
        write_event(a, "mechanism", NULL);
    assert_int_equal(cmk_audit_syslog_lost(a), 4); /* audit_open too */
    cmk_audit_close(a);
}

/* Nobody listening: the calls go on, each lost copy is counted, stderr
 * says so once, and finalize reports the count. */
static void test_syslog_lost(void **state)
{
    struct fx *f = *state;
    char *err;

    unlink(f->path);
    err = capture_stderr(f, no_daemon);
    assert_int_equal(count(err, "audit: syslog copy not sent"), 1);
    free(err);
    load_lines(f);
    assert_int_equal(f->n, 5);
    assert_non_null(strstr(f->lines[4], "\"event\":\"finalize\",\"chains\":"));
    assert_non_null(strstr(f->lines[4], "\"detail\":\"syslog: 4 records not "
                                        "sent\",\"mac\":"));
}

/* A collector that does not read: the socket fills, copies are dropped
 * at once instead of blocking the calls, and every record is either
 * received or counted. */
static void test_syslog_full(void **state)
{
    struct fx *f = *state;
    char sock[128], buf[8192];
    struct cmk_audit *a;
    struct timespec t0, t1;
    size_t got = 0;
    unsigned long lost;
    int fd, i;

    snprintf(sock, sizeof(sock), "%s/slow.sock", f->dir);
    fd = dgram_server(sock, 4096);
    a = open_fixed(f->path, sock);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < 2000; i++)
        write_event(a, "mechanism", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    lost = cmk_audit_syslog_lost(a);
    assert_true(lost > 0);
    assert_true(t1.tv_sec - t0.tv_sec < 5);
    while (recv_one(fd, buf, sizeof(buf)) > 0)
        got++;
    assert_int_equal(got + lost, 2001);
    cmk_audit_close(a);
    close(fd);
}

/* ---- kill -9 ---- */

struct spinner {
    struct cmk_audit *a;
    int ready; /* a byte goes there after this thread's first record */
};

static void *spin(void *arg)
{
    struct spinner *sp = arg;
    struct cmk_audit_rec r;
    bool said = false;

    cmk_audit_rec_init(&r);
    r.event = "mechanism";
    r.op = "C_Decrypt";
    r.detail = "until killed";
    for (;;) {
        if (cmk_audit_write(sp->a, &r) != CMK_OK) {
            /* Said on ready so that the parent fails at once rather
             * than waiting for a byte that never comes. */
            if (write(sp->ready, "F", 1) != 1)
                _exit(5);
            _exit(6);
        }
        if (!said && write(sp->ready, "x", 1) != 1)
            _exit(3);
        said = true;
    }
}

/* Two threads writing until killed; each says on ready when it has
 * written (so its chain exists) before the parent starts the clock. */
static void killed_child(const char *path, int ready)
{
    struct cmk_audit_opts o;
    struct cmk_audit_key k;
    struct spinner sp = {NULL, ready};
    pthread_t th;

    cmk_audit_opts_init(&o); /* interval, the default */
    key_of(&k);
    if (cmk_audit_open(path, &o, &k, &sp.a) != CMK_OK ||
        pthread_create(&th, NULL, spin, &sp) != 0) {
        if (write(ready, "F", 1) != 1)
            _exit(2);
        _exit(3);
    }
    spin(&sp);
    _exit(4);
}

/* Killed in the middle of writing on two threads: every record in the
 * file verifies but at most one per thread, cut short while it was being
 * copied (a torn line, then 0x00: a bad region and nothing else); the
 * chains are open (no finalize). */
static void test_kill9(void **state)
{
    struct fx *f = *state;
    struct timespec pause = {0, 300 * 1000000L};
    const char *path = f->path;
    struct test_audit_rep rep;
    int status, fds[2];
    char c = 0;
    pid_t child;

    assert_int_equal(pipe(fds), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        killed_child(f->path, fds[1]);
    /* Only the child holds the write end: a child that dies early ends
     * the read instead of leaving it waiting. */
    close(fds[1]);
    /* Both threads have written (valgrind may run one alone for long). */
    for (int i = 0; i < 2; i++) {
        struct pollfd pf = {fds[0], POLLIN, 0};

        c = '?';
        if (poll(&pf, 1, 120 * 1000) != 1 || read(fds[0], &c, 1) != 1 ||
            c != 'x') {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            fail_msg("the writing child failed or did not write within "
                     "120 s (thread %d said '%c', status %#x)",
                     i, c, (unsigned)status);
        }
    }
    nanosleep(&pause, NULL);
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(fds[0]);
    (void)test_audit_check_files(&path, 1, test_audit_unseal_known, keys, &rep);
    if (rep.sum.problems != rep.torn || rep.torn > 2)
        fail_msg("%llu problems (%zu torn lines), first: %s",
                 (unsigned long long)rep.sum.problems, rep.torn, rep.first);
    assert_int_equal(rep.sum.bad_regions, rep.torn);
    assert_true(rep.sum.records > 1000);
    assert_int_equal(rep.sum.chains, 3);
    assert_int_equal(rep.sum.open_chains, 3); /* no finalize */
}

/* The writer's MAC uses mech's SHA-256 (cmk_mech_init, as C_Initialize
 * does) and keeps K in the secure pool, which a forked child finds wiped
 * only while the pool is open. */
static int group_setup(void **state)
{
    if (open_pool(state) != 0)
        return -1;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    cmk_aes_force_fallback(false);
    cmk_mech_fini();
    return close_pool(state);
}

#ifdef CMK_TEST_WRITER_FORMAT2
/* Format 2: the writer where the CPU has no AES-NI. */
static int group_setup2(void **state)
{
    g_f3 = false;
    cmk_aes_force_fallback(true);
    return group_setup(state);
}
#else
static int group_setup3(void **state)
{
    g_f3 = true;
    return group_setup(state);
}
#endif

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_kat),
        T(test_kat_object),
        T(test_attrs_cap),
        T(test_unsealed_open),
        T(test_time_format),
        T(test_escaping),
        T(test_escaping_every_byte),
        T(test_escaping_roundtrip),
        T(test_caps),
        T(test_omitted_fields),
        T(test_only_given_text),
        T(test_head_memo),
        T(test_chain_macs),
        T(test_args),
        T(test_fsync_policies),
        T(test_helper_thread),
        T(test_sync_apart),
        T(test_view_slides),
        T(test_page_cache_dropped),
        T(test_threads),
        T(test_chain_takeover),
        T(test_two_writers),
        T(test_fork),
        T(test_allocation_failure),
        T(test_rotation_keep),
        T(test_rotation_series),
        T(test_rotation_repairs),
        T(test_rotation_processes),
        T(test_grow_processes),
        T(test_rotation_starved),
        T(test_external_rename),
        T(test_truncated_under_writer),
        T(test_syslog_datagrams),
        T(test_syslog_lost),
        T(test_syslog_full),
        T(test_kill9),
    };
#undef T

    /* One format per program (test_audit_writer2 is this file built for
     * format 2): each stays within the per-test time under valgrind. */
#ifdef CMK_TEST_WRITER_FORMAT2
    return cmocka_run_group_tests_name("format 2", tests, group_setup2,
                                       group_teardown) != 0
               ? 1
               : 0;
#else
    /* format 3 needs AES-NI and PCLMULQDQ: test_siv.c and test_line_mac.c
     * cover the portable GCM-SIV a verifier uses without them */
    if (!cmk_aes_hw()) {
        printf("SKIP: format 3 is written only where the CPU has AES-NI and "
               "PCLMULQDQ, and this one has not\n");
        return 77;
    }
    return cmocka_run_group_tests_name("format 3", tests, group_setup3,
                                       group_teardown) != 0
               ? 1
               : 0;
#endif
}
