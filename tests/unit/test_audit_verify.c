/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the audit verifier (format 2) against files made by the
 * test generator (tests/lib/audit_fmt2.c): a known-answer line, clean
 * files, and each attack of a file writer without the chain key, which
 * verify must catch at the exact line with the exact reason.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/verify.h"
#include "core/settings.h"
#include "keys/audit_unseal.h"
#include "mech/line_mac.h"
#include "mech/mech.h"
#include "tests/lib/audit_fmt2.h"
#include "tests/lib/scratch.h"
#include "tests/lib/tenant.h"

#define MAXL 512
#define MAXF 64
#define KEY_TENANT "alpha"

/* Lines computed outside C (python3: hmac.new(key, prev + L, sha256))
 * for key 00 01 .. 1f, writer 0123456789abcdef, pid 4242. */
static const char *const kat[] = {
    "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":\"0123456789abcdef\","
    "\"chain\":0,\"seq\":1,\"pid\":4242,\"event\":\"audit_open\",\"tenant\":"
    "\"alpha\",\"provider\":\"local\",\"sealed_key\":\"c2VhbGVkLWtleQ==\","
    "\"file\":1,\"mac\":\"e3391988d3999509b0a90d590805eb70d2d9a4e90f5e008f6e"
    "c16834456e1264\"}",
    "{\"time\":\"2026-11-23T13:22:10.000002Z\",\"writer\":\"0123456789abcdef\","
    "\"chain\":1,\"seq\":1,\"pid\":4242,\"event\":\"mechanism\",\"op\":"
    "\"C_UnwrapKey\",\"tenant\":\"alpha\",\"session\":1,\"mech\":"
    "\"CKM_AES_GCM\",\"mech_num\":4231,\"key_label\":\"dek\",\"key_id\":"
    "\"01\",\"result\":\"CKR_OK\",\"bytes_in\":100,\"bytes_out\":116,"
    "\"cache\":\"hit\",\"mac\":\"7cf29dc8417c4f1b5c6c588e16bc295324281131505a"
    "2f3015898fe1173c14f7\"}",
    "{\"time\":\"2026-11-23T13:22:10.000003Z\",\"writer\":\"0123456789abcdef\","
    "\"chain\":1,\"seq\":2,\"pid\":4242,\"event\":\"mechanism\",\"op\":"
    "\"C_Login\",\"tenant\":\"alpha\",\"session\":1,\"mech\":\"CKM_AES_GCM\","
    "\"mech_num\":4231,\"key_label\":\"dek\",\"key_id\":\"01\",\"result\":"
    "\"CKR_PIN_INCORRECT\",\"bytes_in\":100,\"bytes_out\":116,\"cache\":"
    "\"hit\",\"mac\":\"d2f9d2867ad1ec0e298503c5db067298ac6c72174b1427e0883d3"
    "6f573524842\"}",
};

struct finding {
    enum cmk_audit_kind kind;
    char file[128];
    uint64_t line, off;
    char why[512];
};

struct res {
    struct cmk_audit_summary sum;
    size_t n;
    struct finding f[MAXF];
    int unseal_calls;
    char anchor[4096];
};

/* The fake KMS: sealed blobs it knows, each with its key. */
struct kms {
    size_t n;
    char blob[8][64];
    uint8_t key[8][32];
};

struct fx {
    char dir[96];
    char path[8][128];
    struct kms kms;
    char *l[MAXL]; /* lines without newline */
    size_t n;
    struct res r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    int i;

    if (f == NULL || sodium_init() < 0)
        return -1;
    if (test_scratch_make("cmk-averify", f->dir, sizeof(f->dir)) != 0)
        return -1;
    for (i = 0; i < 8; i++)
        snprintf(f->path[i], sizeof(f->path[i]), "%s/audit%d.jsonl", f->dir, i);
    *state = f;
    return 0;
}

static void clear(struct fx *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        free(f->l[i]);
    f->n = 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    clear(f);
    (void)test_scratch_remove(f->dir);
    free(f);
    return 0;
}

/* Appends a generated line (its newline dropped). */
static void add(struct fx *f, const char *line, size_t len)
{
    assert_true(len > 1 && f->n < MAXL);
    f->l[f->n] = strndup(line, len - 1);
    assert_non_null(f->l[f->n]);
    f->n++;
}

static void del(struct fx *f, size_t i)
{
    free(f->l[i]);
    memmove(&f->l[i], &f->l[i + 1], (f->n - i - 1) * sizeof(char *));
    f->n--;
}

static void put(const char *path, char *const *l, size_t n)
{
    FILE *fp = fopen(path, "wb");
    size_t i;

    assert_non_null(fp);
    for (i = 0; i < n; i++)
        fprintf(fp, "%s\n", l[i]);
    assert_int_equal(fclose(fp), 0);
}

static void put_raw(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* A writer whose sealed blob the fake KMS opens (known) or not. */
static void writer(struct fx *f, struct tgen_writer *w, uint64_t id, bool known)
{
    uint8_t key[32];
    char blob[64], b64[128];
    size_t i;

    randombytes_buf(key, sizeof(key));
    snprintf(blob, sizeof(blob), "%s-%016llx", known ? "sealed" : "bogus",
             (unsigned long long)id);
    sodium_bin2base64(b64, sizeof(b64), (const uint8_t *)blob, strlen(blob),
                      sodium_base64_VARIANT_ORIGINAL);
    tgen_init(w, id, key, 1000 + (long)(id & 0xfff), KEY_TENANT, "local", b64);
    if (!known)
        return;
    for (i = 0; i < f->kms.n && strcmp(f->kms.blob[i], blob) != 0; i++)
        ;
    assert_true(i < 8);
    snprintf(f->kms.blob[i], sizeof(f->kms.blob[0]), "%s", blob);
    memcpy(f->kms.key[i], key, sizeof(key));
    f->kms.n += i == f->kms.n;
}

struct ctx {
    struct fx *f;
    struct res *r;
};

static cmk_err fake_unseal(void *arg, const char *tenant, const char *provider,
                           const uint8_t *sealed, size_t len, uint8_t *key,
                           char *why, size_t why_len)
{
    struct ctx *c = arg;
    size_t i;

    c->r->unseal_calls++;
    assert_string_equal(tenant, KEY_TENANT);
    assert_string_equal(provider, "local");
    for (i = 0; i < c->f->kms.n; i++) {
        if (strlen(c->f->kms.blob[i]) == len &&
            memcmp(c->f->kms.blob[i], sealed, len) == 0) {
            memcpy(key, c->f->kms.key[i], 32);
            return CMK_OK;
        }
    }
    snprintf(why, why_len, "the KMS refuses it");
    return CMK_E_BAD_CIPHERTEXT;
}

static void collect(void *arg, const struct cmk_audit_finding *fd)
{
    struct ctx *c = arg;
    struct finding *g;

    assert_true(c->r->n < MAXF);
    g = &c->r->f[c->r->n++];
    g->kind = fd->kind;
    snprintf(g->file, sizeof(g->file), "%s",
             fd->file != NULL ? strrchr(fd->file, '/') + 1 : "-");
    g->line = fd->line;
    g->off = fd->offset;
    snprintf(g->why, sizeof(g->why), "%s", fd->why);
}

/* Verifies files[0..n) (oldest first) with an optional anchor line. */
static void run(struct fx *f, const char *const *files, size_t n,
                const char *anchor, bool allow_unkeyed)
{
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v = NULL;
    struct ctx c = {f, &f->r};
    struct timespec ts = {1795440200, 5000};
    char why[256], *line = NULL;
    size_t i;

    memset(&f->r, 0, sizeof(f->r));
    o.unseal = fake_unseal;
    o.unseal_arg = o.report_arg = &c;
    o.report = collect;
    o.allow_unkeyed = allow_unkeyed;
    assert_int_equal(cmk_audit_verify_new(&o, &v), CMK_OK);
    if (anchor != NULL)
        assert_int_equal(cmk_audit_verify_anchor(v, anchor, strlen(anchor), why,
                                                 sizeof(why)),
                         CMK_OK);
    for (i = 0; i < n; i++)
        assert_int_equal(cmk_audit_verify_file(v, files[i]), CMK_OK);
    cmk_audit_verify_end(v, &f->r.sum);
    assert_int_equal(cmk_audit_verify_anchor_line(v, &ts, &line), CMK_OK);
    snprintf(f->r.anchor, sizeof(f->r.anchor), "%s", line);
    free(line);
    cmk_audit_verify_free(v);
}

static void run1(struct fx *f, const char *path)
{
    const char *files[1] = {path};

    run(f, files, 1, NULL, false);
}

static void dump(const struct res *r)
{
    size_t i;

    for (i = 0; i < r->n; i++)
        print_message("  [%d] %s:%llu (byte %llu): %s\n", r->f[i].kind,
                      r->f[i].file, (unsigned long long)r->f[i].line,
                      (unsigned long long)r->f[i].off, r->f[i].why);
}

/* Finding i is exactly (kind, line, why). */
static void expect(const struct res *r, size_t i, enum cmk_audit_kind kind,
                   uint64_t line, const char *why)
{
    if (i >= r->n || r->f[i].kind != kind || r->f[i].line != line ||
        strcmp(r->f[i].why, why) != 0) {
        dump(r);
        fail_msg("finding %zu: want [%d] line %llu: %s", i, kind,
                 (unsigned long long)line, why);
    }
}

static void expect_n(const struct res *r, size_t n, uint64_t problems)
{
    if (r->n != n || r->sum.problems != problems) {
        dump(r);
        fail_msg("want %zu findings (%llu problems), got %zu (%llu)", n,
                 (unsigned long long)problems, r->n,
                 (unsigned long long)r->sum.problems);
    }
}

static size_t offset_of(const struct fx *f, size_t line_index)
{
    size_t i, off = 0;

    for (i = 0; i < line_index; i++)
        off += strlen(f->l[i]) + 1;
    return off;
}

#define W_A 0x1111111111111111ULL
#define W_B 0x2222222222222222ULL
#define W_C 0x3333333333333333ULL
#define A "1111111111111111"
#define B "2222222222222222"
#define C "3333333333333333"

/* Writer A: audit_open, chain 1 and 2 records (op names show which),
 * finalize. Lines: 1 open, 2..7 chain 1 (C_Login fails at line 4, the
 * unwrap is line 5), 8..9 chain 2, 10 finalize. */
static void base(struct fx *f, struct tgen_writer *w, bool finalize)
{
    static const char *const ops[] = {"C_Encrypt",   "C_Decrypt", "C_Login",
                                      "C_UnwrapKey", "C_Encrypt", "C_Decrypt"};
    char buf[TGEN_LINE];
    size_t i;

    clear(f);
    writer(f, w, W_A, true);
    add(f, buf, tgen_open(w, buf, sizeof(buf), NULL));
    for (i = 0; i < 6; i++)
        add(f, buf,
            tgen_mech(w, buf, sizeof(buf), 1, ops[i],
                      i == 2 ? "CKR_PIN_INCORRECT" : "CKR_OK"));
    add(f, buf, tgen_mech(w, buf, sizeof(buf), 2, "C_Sign", "CKR_OK"));
    add(f, buf, tgen_mech(w, buf, sizeof(buf), 2, "C_Verify", "CKR_OK"));
    if (finalize)
        add(f, buf, tgen_finalize(w, buf, sizeof(buf)));
}

/* The three known-answer lines (key 00 01 .. 1f) in the generator's
 * format, into f. */
static void kat_lines(struct fx *f)
{
    struct tgen_writer w;
    uint8_t key[32];
    char buf[TGEN_LINE];
    size_t i;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    tgen_init(&w, 0x0123456789abcdefULL, key, 4242, "alpha", "local",
              "c2VhbGVkLWtleQ==");
    add(f, buf, tgen_open(&w, buf, sizeof(buf), NULL));
    add(f, buf, tgen_mech(&w, buf, sizeof(buf), 1, "C_UnwrapKey", "CKR_OK"));
    add(f, buf,
        tgen_mech(&w, buf, sizeof(buf), 1, "C_Login", "CKR_PIN_INCORRECT"));
}

/* f's lines verified with that key: no finding, three records. */
static void kat_verify(struct fx *f)
{
    size_t i;

    f->kms.n = 1;
    snprintf(f->kms.blob[0], sizeof(f->kms.blob[0]), "sealed-key");
    for (i = 0; i < sizeof(f->kms.key[0]); i++)
        f->kms.key[0][i] = (uint8_t)i;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect_n(&f->r, 0, 0);
    assert_int_equal(f->r.sum.records, 3);
}

static void test_known_answer(void **state)
{
    struct fx *f = *state;
    size_t i;

    kat_lines(f);
    for (i = 0; i < 3; i++)
        assert_string_equal(f->l[i], kat[i]);
    kat_verify(f);
    assert_int_equal(f->r.sum.writers, 1);
    assert_int_equal(f->r.sum.chains, 2);
    assert_int_equal(f->r.sum.open_chains, 2);
    assert_int_equal(f->r.sum.unverified, 0);
    assert_int_equal(f->r.unseal_calls, 1);
    assert_string_equal(
        f->r.anchor,
        "{\"anchor\":2,\"time\":\"2026-11-23T13:23:20.000005Z\",\"chains\":["
        "[\"0123456789abcdef\",0,1,\"e3391988d3999509b0a90d590805eb70d2d9a4"
        "e90f5e008f6ec16834456e1264\"],[\"0123456789abcdef\",1,2,\"d2f9d2867"
        "ad1ec0e298503c5db067298ac6c72174b1427e0883d36f573524842\"]]}");
}

/* Format 3: the same lines with the AES-256-GCM-SIV tag (RFC 8452, nonce
 * "cmk-audit-v3", additional data prev || L), computed outside C by a
 * separate Python implementation that gives the RFC's vectors. */
static const char *const kat3_macs[] = {
    "0bf9e1351172485162f3aa6c95ecd45a",
    "e9eff93ab8357ee978247d1f29b9e877",
    "59b3a538fb57eae3289f1349605c19b9",
};

static void test_known_answer3(void **state)
{
    struct fx *f = *state;
    char want[MAXL];
    size_t i, n;

    kat_lines(f);
    for (i = 0; i < 3; i++) { /* format 2's line, the mac swapped */
        n = strlen(kat[i]) - 66;
        snprintf(want, sizeof(want), "%.*s%s\"}", (int)n, kat[i], kat3_macs[i]);
        assert_string_equal(f->l[i], want);
    }
    kat_verify(f);
    assert_int_equal(f->r.sum.unverified, 0);
    assert_string_equal(
        f->r.anchor,
        "{\"anchor\":2,\"time\":\"2026-11-23T13:23:20.000005Z\",\"chains\":["
        "[\"0123456789abcdef\",0,1,\"0bf9e1351172485162f3aa6c95ecd45a\"],"
        "[\"0123456789abcdef\",1,2,\"59b3a538fb57eae3289f1349605c19b9\"]]}");
}

/* The verifier's HMAC (OpenSSL, precomputed pads) against libsodium's. */
static void test_mac_matches_sodium(void **state)
{
    struct cmk_vmac_lib *lib = NULL;
    struct cmk_vmac *m = NULL;
    uint8_t key[32], prev[32], a[32], b[32];
    char line[3000];
    size_t n;

    (void)state;
    assert_int_equal(cmk_vmac_lib_new(&lib), CMK_OK);
    for (n = 0; n < sizeof(line); n += 97) {
        randombytes_buf(key, sizeof(key));
        randombytes_buf(prev, sizeof(prev));
        randombytes_buf(line, n);
        assert_int_equal(cmk_vmac_new(lib, CMK_VMAC_HMAC_SHA256, key, &m),
                         CMK_OK);
        assert_int_equal(cmk_vmac_line(lib, m, prev, line, n, a), CMK_OK);
        tgen_mac(key, prev, line, n, b);
        assert_memory_equal(a, b, sizeof(a));
        cmk_vmac_free(m);
    }
    cmk_vmac_lib_free(lib);
}

static void test_clean_two_writers(void **state)
{
    struct fx *f = *state;
    struct tgen_writer a, b;
    char buf[TGEN_LINE];
    int i;

    writer(f, &a, W_A, true);
    writer(f, &b, W_B, true);
    add(f, buf, tgen_open(&a, buf, sizeof(buf), NULL));
    add(f, buf, tgen_open(&b, buf, sizeof(buf), NULL));
    for (i = 0; i < 20; i++) {
        add(f, buf,
            tgen_mech(&a, buf, sizeof(buf), 1 + i % 3, "C_Encrypt", "CKR_OK"));
        add(f, buf,
            tgen_mech(&b, buf, sizeof(buf), 1 + i % 2, "C_Decrypt", "CKR_OK"));
    }
    add(f, buf, tgen_finalize(&a, buf, sizeof(buf)));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect_n(&f->r, 0, 0);
    assert_int_equal(f->r.sum.records, 43);
    assert_int_equal(f->r.sum.writers, 2);
    assert_int_equal(f->r.sum.chains, 7);
    assert_int_equal(f->r.sum.open_chains, 3);
    assert_int_equal(f->r.sum.bad_regions, 0);
    assert_int_equal(f->r.unseal_calls, 2); /* one per writer */
}

/* The unwrap (line 5) deleted, every later mac of its chain recomputed
 * with a guessed key: the gap, then each forged mac (as one run). */
static void test_delete_recompute_guess(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    uint8_t guess[32];

    base(f, &w, true);
    del(f, 4);
    randombytes_buf(guess, sizeof(guess));
    tgen_rechain(f->l, f->n, 4, A, 1, guess);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1: seq 5 follows seq 3: 1 records missing");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 6,
           "writer " A " chain 1 seq 6: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 2, CMK_AUDIT_CHAIN, 9,
           "writer " A " chain 1: seq 6 is not the record its finalize names "
           "(mac differs)");
    expect_n(&f->r, 3, 3);
    /* The same with the later seqs renumbered to hide the gap. */
    base(f, &w, true);
    del(f, 4);
    f->l[4][strstr(f->l[4], "\"seq\":5") - f->l[4] + 6] = '4';
    f->l[5][strstr(f->l[5], "\"seq\":6") - f->l[5] + 6] = '5';
    tgen_rechain(f->l, f->n, 4, A, 1, guess);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1 seq 4: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 9,
           "writer " A " chain 1: ends at seq 5 but its finalize names seq 6: "
           "records missing (cut)");
    expect(&f->r, 2, CMK_AUDIT_CHAIN, 6,
           "writer " A " chain 1: the mac of 1 more records in a row does not "
           "match either, up to this one");
    expect_n(&f->r, 3, 3);
}

/* The same deletion with the chain recomputed as format 1 did (plain
 * SHA-256 of prev and line). */
static void test_delete_recompute_sha256(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;

    base(f, &w, false);
    del(f, 4);
    f->l[4][strstr(f->l[4], "\"seq\":5") - f->l[4] + 6] = '4';
    f->l[5][strstr(f->l[5], "\"seq\":6") - f->l[5] + 6] = '5';
    tgen_rechain(f->l, f->n, 4, A, 1, NULL);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1 seq 4: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 6,
           "writer " A " chain 1: the mac of 1 more records in a row does not "
           "match either, up to this one");
    expect_n(&f->r, 2, 2);
}

/* A failed login turned into CKR_OK: alone, then with the chain after it
 * recomputed under a guessed key. */
static void test_result_forged(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    uint8_t guess[32];
    char *p;

    base(f, &w, true);
    p = strstr(f->l[3], "CKR_PIN_INCORRECT");
    assert_non_null(p);
    memmove(p + 6, p + 17, strlen(p + 17) + 1);
    memcpy(p, "CKR_OK", 6);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 4,
           "writer " A " chain 1 seq 3: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect_n(&f->r, 1, 1); /* the next record still fits the true mac */
    randombytes_buf(guess, sizeof(guess));
    tgen_rechain(f->l, f->n, 3, A, 1, guess);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 4,
           "writer " A " chain 1 seq 3: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 10,
           "writer " A " chain 1: seq 6 is not the record its finalize names "
           "(mac differs)");
    expect(&f->r, 2, CMK_AUDIT_CHAIN, 7,
           "writer " A " chain 1: the mac of 3 more records in a row does not "
           "match either, up to this one");
    expect_n(&f->r, 3, 3);
}

/* One record given a mac of the other format, made with the writer's own
 * key and the true previous mac: the writer's key record fixed its
 * algorithm, so neither it nor the next record (whose previous mac it
 * changed) matches. */
static void test_other_format_mac(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    unsigned own = tgen_mac_len;
    uint8_t prev[32] = {0}, mac[32];
    char hex[65], *l;
    size_t n, pn;

    base(f, &w, true);
    pn = strlen(f->l[2]) - 2 - 2 * own;
    assert_int_equal(
        sodium_hex2bin(prev, own, f->l[2] + pn, 2 * own, NULL, NULL, NULL), 0);
    l = f->l[3];
    n = strlen(l) - (8 + 2 * own + 2);
    tgen_mac_len = own == 32 ? 16 : 32;
    tgen_mac(w.key, prev, l, n, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, tgen_mac_len);
    f->l[3] = malloc(n + 8 + strlen(hex) + 3);
    assert_non_null(f->l[3]);
    sprintf(f->l[3], "%.*s,\"mac\":\"%s\"}", (int)n, l, hex);
    free(l);
    tgen_mac_len = own;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 4,
           "writer " A " chain 1 seq 3: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1: the mac of 1 more records in a row does not "
           "match either, up to this one");
    expect_n(&f->r, 2, 2);
}

/* Every record of writer B removed: each chain of B still verifies on its
 * own, so only the anchor shows the loss. */
static void test_delete_writer(void **state)
{
    struct fx *f = *state;
    struct tgen_writer a, b;
    char buf[TGEN_LINE], anchor[4096];
    size_t i;

    writer(f, &a, W_A, true);
    writer(f, &b, W_B, true);
    add(f, buf, tgen_open(&a, buf, sizeof(buf), NULL));
    add(f, buf, tgen_open(&b, buf, sizeof(buf), NULL));
    for (i = 0; i < 4; i++) {
        add(f, buf, tgen_mech(&a, buf, sizeof(buf), 1, "C_Encrypt", "CKR_OK"));
        add(f, buf,
            tgen_mech(&b, buf, sizeof(buf), 1, "C_Login", "CKR_PIN_INCORRECT"));
    }
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect_n(&f->r, 0, 0);
    snprintf(anchor, sizeof(anchor), "%s", f->r.anchor);
    for (i = f->n; i-- > 0;) {
        if (strstr(f->l[i], "\"writer\":\"" B "\"") != NULL)
            del(f, i);
    }
    assert_int_equal(f->n, 5);
    put(f->path[1], f->l, f->n);
    run1(f, f->path[1]);
    expect_n(&f->r, 0, 0); /* what a chain cannot see */
    {
        const char *files[1] = {f->path[1]};

        run(f, files, 1, anchor, false);
    }
    expect(&f->r, 0, CMK_AUDIT_ANCHOR, 0,
           "writer " B " chain 0: anchored seq 1 missing: no record of the "
           "chain was read");
    expect(&f->r, 1, CMK_AUDIT_ANCHOR, 0,
           "writer " B " chain 1: anchored seq 4 missing: no record of the "
           "chain was read");
    expect_n(&f->r, 2, 2);
}

/* A writer made up by the attacker: own random key, a sealed_key the KMS
 * does not know; and one that copies a real writer's sealed_key. */
static void test_fabricated_writer(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w, c;
    char buf[TGEN_LINE];

    base(f, &w, true);
    writer(f, &c, W_C, false);
    add(f, buf, tgen_open(&c, buf, sizeof(buf), NULL));
    add(f, buf, tgen_mech(&c, buf, sizeof(buf), 1, "C_Login", "CKR_OK"));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_KEY, 11,
           "writer " C ": not verifiable: chain key cannot be unsealed: the "
           "KMS refuses it");
    expect_n(&f->r, 1, 1);
    assert_int_equal(f->r.sum.unverified, 2);
    /* the real writer's blob: the key it opens is not the forger's */
    base(f, &w, true);
    writer(f, &c, W_C, false);
    snprintf(c.sealed, sizeof(c.sealed), "%s", w.sealed);
    add(f, buf, tgen_open(&c, buf, sizeof(buf), NULL));
    add(f, buf, tgen_mech(&c, buf, sizeof(buf), 1, "C_Login", "CKR_OK"));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 11,
           "writer " C " chain 0 seq 1: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 12,
           "writer " C " chain 1 seq 1: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect_n(&f->r, 2, 2);
}

/* The tail cut (chain 1 after seq 3, and the finalize), then a finalize
 * forged to fit what is left. */
static void test_cut_tail_forged_finalize(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w, forger;
    char buf[TGEN_LINE];
    uint8_t guess[32];

    base(f, &w, true);
    randombytes_buf(guess, sizeof(guess));
    while (f->n > 4)
        del(f, f->n - 1);
    /* the forger knows every seq and mac in the file, not the key */
    tgen_init(&forger, W_A, guess, w.pid, KEY_TENANT, "local", w.sealed);
    forger.seq[0] = 1;
    memcpy(forger.mac[0], w.mac[0], 32);
    forger.seq[1] = 3;
    sodium_hex2bin(forger.mac[1], 32, strstr(f->l[3], "\"mac\":\"") + 7, 64,
                   NULL, NULL, NULL);
    add(f, buf, tgen_finalize(&forger, buf, sizeof(buf)));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 0 seq 2: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect_n(&f->r, 1, 1);
    assert_int_equal(f->r.sum.open_chains, 2); /* not finalized */
}

/* A line torn in the middle of the file, then an edit further on: both
 * found, and the records between them verify. */
static void test_torn_line_then_more(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    char *torn, *p;
    size_t off;

    base(f, &w, true);
    torn = strndup(f->l[4], 100); /* a first, partial write of line 5 */
    assert_non_null(torn);
    memmove(&f->l[5], &f->l[4], (f->n - 4) * sizeof(char *));
    f->l[4] = torn;
    f->n++;
    p = strstr(f->l[8], "C_Sign");
    p[2] = 'X';
    put(f->path[0], f->l, f->n);
    off = offset_of(f, 4);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_BAD_REGION, 5,
           "does not end in the \"mac\" field (a torn or cut line)");
    assert_int_equal(f->r.f[0].off, off);
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 9,
           "writer " A " chain 2 seq 1: mac does not match (record altered, "
           "or not written with the writer's key)");
    expect_n(&f->r, 2, 2);
    assert_int_equal(f->r.sum.bad_regions, 1);
    assert_int_equal(f->r.sum.records, 10);
}

/* 0x00 between lines and at the end (space reserved, never written) is a
 * note; bytes then 0x00 (reserved, partly written) a bad region. */
static void test_zero_padding(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    char *data;
    size_t len = 0, i, l4 = 0;

    base(f, &w, true);
    data = calloc(1, 64 * 1024);
    assert_non_null(data);
    for (i = 0; i < f->n; i++) {
        memcpy(data + len, f->l[i], strlen(f->l[i]));
        len += strlen(f->l[i]);
        data[len++] = '\n';
        if (i == 2)
            len += 300; /* zeros */
        if (i == 3)
            l4 = len;
    }
    put_raw(f->path[0], data, len + 4096);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_NOTE, 4,
           "300 bytes of 0x00 skipped (space reserved, never written)");
    expect(&f->r, 1, CMK_AUDIT_NOTE, 11,
           "4096 bytes of 0x00 skipped (space reserved, never written)");
    expect_n(&f->r, 2, 0);
    /* a reservation written in part: 40 bytes, then its zeros */
    memmove(data + l4 + 240, data + l4, len - l4);
    memcpy(data + l4, f->l[4], 40);
    memset(data + l4 + 40, 0, 200);
    put_raw(f->path[0], data, len + 240);
    run1(f, f->path[0]);
    expect(&f->r, 1, CMK_AUDIT_BAD_REGION, 5,
           "torn line: ends in 0x00 (space reserved, partly written)");
    assert_int_equal(f->r.f[1].off, l4);
    expect(&f->r, 2, CMK_AUDIT_NOTE, 5,
           "200 bytes of 0x00 skipped (space reserved, never written)");
    expect_n(&f->r, 3, 1);
    assert_int_equal(f->r.sum.records, 10);
    free(data);
}

/* Writer A rotates twice; writer B shares the file and reopens. Files:
 * 0 (oldest) .. 2 (current). */
static void series(struct fx *f, struct tgen_writer *a, struct tgen_writer *b,
                   size_t cut_end_of_1)
{
    char buf[TGEN_LINE];
    size_t k, i;

    writer(f, a, W_A, true);
    writer(f, b, W_B, true);
    for (k = 0; k < 3; k++) {
        clear(f);
        if (k == 0) {
            add(f, buf, tgen_open(a, buf, sizeof(buf), NULL));
            add(f, buf, tgen_open(b, buf, sizeof(buf), NULL));
        } else {
            add(f, buf, tgen_rotate_in(a, buf, sizeof(buf)));
            add(f, buf, tgen_reopen(b, buf, sizeof(buf)));
        }
        for (i = 0; i < 3; i++) {
            add(f, buf,
                tgen_mech(a, buf, sizeof(buf), 1, "C_Encrypt", "CKR_OK"));
            add(f, buf,
                tgen_mech(b, buf, sizeof(buf), 1 + i % 2, "C_Decrypt",
                          "CKR_OK"));
        }
        if (k < 2)
            add(f, buf, tgen_rotate_out(a, buf, sizeof(buf), "audit.1"));
        else
            add(f, buf, tgen_finalize(a, buf, sizeof(buf)));
        if (k == 1)
            for (i = 0; i < cut_end_of_1; i++)
                del(f, f->n - 1);
        put(f->path[k], f->l, f->n);
    }
}

static void test_rotation_series(void **state)
{
    struct fx *f = *state;
    struct tgen_writer a, b;
    const char *all[3] = {f->path[0], f->path[1], f->path[2]};
    const char *gap[2] = {f->path[0], f->path[2]};
    char why[512];

    series(f, &a, &b, 0);
    run(f, all, 3, NULL, false);
    expect_n(&f->r, 0, 0);
    assert_int_equal(f->r.sum.records, 27);
    assert_int_equal(f->r.sum.files, 3);
    /* the oldest file deleted by "keep": the rest verifies on its own */
    run(f, all + 1, 2, NULL, false);
    expect(&f->r, 0, CMK_AUDIT_NOTE, 1,
           "writer " A ": picked up at its rotate_in (its earlier files are "
           "not given)");
    expect(&f->r, 1, CMK_AUDIT_NOTE, 2,
           "writer " B ": picked up at its reopen (its earlier files are not "
           "given)");
    expect_n(&f->r, 2, 0);
    /* the middle file deleted */
    run(f, gap, 2, NULL, false);
    snprintf(why, sizeof(why),
             "writer " A ": prev_file_mac is not the mac of its rotate_out in "
             "%s: a file is missing between them",
             f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 1,
           "writer " A " chain 0: seq 5 follows seq 2: 2 records missing");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 1, why);
    expect(&f->r, 2, CMK_AUDIT_CHAIN, 1,
           "writer " A " chain 1: ends at seq 3 but its rotate_in names seq 6: "
           "records missing (cut)");
    expect(&f->r, 3, CMK_AUDIT_CHAIN, 2,
           "writer " B " chain 0: seq 3 follows seq 1: 1 records missing");
    expect(&f->r, 4, CMK_AUDIT_CHAIN, 2,
           "writer " B " chain 1: ends at seq 2 but its reopen names seq 4: "
           "records missing (cut)");
    expect(&f->r, 5, CMK_AUDIT_CHAIN, 2,
           "writer " B " chain 2: ends at seq 1 but its reopen names seq 2: "
           "records missing (cut)");
    expect(&f->r, 6, CMK_AUDIT_CHAIN, 3,
           "writer " A " chain 1: seq 7 follows seq 3: 3 records missing");
    expect(&f->r, 7, CMK_AUDIT_CHAIN, 4,
           "writer " B " chain 1: seq 5 follows seq 2: 2 records missing");
    expect(&f->r, 8, CMK_AUDIT_CHAIN, 6,
           "writer " B " chain 2: seq 3 follows seq 1: 1 records missing");
    expect_n(&f->r, 9, 9);
}

/* The middle file truncated: its rotate_out and last record cut. */
static void test_rotation_truncated_middle(void **state)
{
    struct fx *f = *state;
    struct tgen_writer a, b;
    const char *all[3] = {f->path[0], f->path[1], f->path[2]};

    series(f, &a, &b, 2);
    run(f, all, 3, NULL, false);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 1,
           "writer " A " chain 0: seq 5 follows seq 3: 1 records missing");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 1,
           "writer " A ": rotate_in without a rotate_out before it: the "
           "previous file is cut or missing");
    expect(&f->r, 2, CMK_AUDIT_CHAIN, 2,
           "writer " B " chain 1: ends at seq 3 but its reopen names seq 4: "
           "records missing (cut)");
    expect(&f->r, 3, CMK_AUDIT_CHAIN, 4,
           "writer " B " chain 1: seq 5 follows seq 3: 1 records missing");
    expect_n(&f->r, 4, 4);
}

static void test_series_find(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_series s;
    char base[160], p[200];
    int i;

    snprintf(base, sizeof(base), "%s/audit.jsonl", f->dir);
    for (i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), i ? "%s.%d" : "%s", base, i);
        put_raw(p, "", 0);
    }
    snprintf(p, sizeof(p), "%s.02", base); /* not a rotated name */
    put_raw(p, "", 0);
    snprintf(p, sizeof(p), "%s.2", base);
    unlink(p);
    assert_int_equal(cmk_audit_verify_series(base, &s), CMK_OK);
    assert_int_equal(s.n, 4);
    for (i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), i < 3 ? "%s.%d" : "%s", base, 3 - i);
        assert_string_equal(s.paths[i], p);
        assert_int_equal(s.present[i], i != 1);
        unlink(p);
    }
    cmk_audit_verify_series_free(&s);
    snprintf(p, sizeof(p), "%s.02", base);
    unlink(p);
    assert_int_equal(cmk_audit_verify_series(base, &s), CMK_OK);
    assert_int_equal(s.n, 1);
    assert_false(s.present[0]);
    cmk_audit_verify_series_free(&s);
}

/* Anchor taken, more records written, then the file cut after the anchor
 * point (not visible) or before it (reported). */
static void test_anchor_cut(void **state)
{
    struct fx *f = *state;
    const char *files[1] = {f->path[0]};
    struct tgen_writer w;
    char buf[TGEN_LINE], anchor[4096];
    int i;

    base(f, &w, false);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect_n(&f->r, 0, 0);
    snprintf(anchor, sizeof(anchor), "%s", f->r.anchor);
    for (i = 0; i < 4; i++)
        add(f, buf, tgen_mech(&w, buf, sizeof(buf), 1, "C_Encrypt", "CKR_OK"));
    add(f, buf, tgen_finalize(&w, buf, sizeof(buf)));
    put(f->path[0], f->l, f->n);
    run(f, files, 1, anchor, false);
    expect_n(&f->r, 0, 0);
    put(f->path[0], f->l, 12); /* cut after the anchor point */
    run(f, files, 1, anchor, false);
    expect_n(&f->r, 0, 0);
    put(f->path[0], f->l, 6); /* cut before it */
    run(f, files, 1, anchor, false);
    expect(&f->r, 0, CMK_AUDIT_ANCHOR, 0,
           "writer " A " chain 1: anchored seq 6 missing: the chain ends at "
           "seq 5 (cut before the anchor point)");
    expect(&f->r, 1, CMK_AUDIT_ANCHOR, 0,
           "writer " A " chain 2: anchored seq 2 missing: no record of the "
           "chain was read");
    expect_n(&f->r, 2, 2);
    /* the same writer id, records made again under another key */
    base(f, &w, false);
    put(f->path[0], f->l, f->n);
    run(f, files, 1, anchor, false);
    expect(&f->r, 0, CMK_AUDIT_ANCHOR, 1,
           "writer " A " chain 0 seq 1: not the anchored record (its mac "
           "differs)");
    expect(&f->r, 1, CMK_AUDIT_ANCHOR, 7,
           "writer " A " chain 1 seq 6: not the anchored record (its mac "
           "differs)");
    expect(&f->r, 2, CMK_AUDIT_ANCHOR, 9,
           "writer " A " chain 2 seq 2: not the anchored record (its mac "
           "differs)");
    expect_n(&f->r, 3, 3);
}

static void test_anchor_malformed(void **state)
{
    static const char *const bad[] = {
        "", "{}", "{\"anchor\":1,\"time\":\"t\",\"chains\":[]}",
        "{\"anchor\":2,\"time\":\"t\",\"chains\":[[\"zz\",0,1,\"00\"]]}",
        "{\"anchor\":2,\"time\":\"t\",\"chains\":[[\"" A "\",0,0,\"" A A A A
        "\"]]}"};
    static const char *const why[] = {
        "not an anchor line ({\"anchor\":2,\"time\":..,\"chains\":[..]})",
        "not an anchor line ({\"anchor\":2,\"time\":..,\"chains\":[..]})",
        "not an anchor line ({\"anchor\":2,\"time\":..,\"chains\":[..]})",
        "chains[0] is not [writer,chain,seq,mac]",
        "chains[0] is not [writer,chain,seq,mac]"};
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v;
    char w[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cmk_audit_verify_new(&o, &v), CMK_OK);
        assert_int_equal(
            cmk_audit_verify_anchor(v, bad[i], strlen(bad[i]), w, sizeof(w)),
            CMK_E_BAD_BLOB);
        assert_string_equal(w, why[i]);
        cmk_audit_verify_free(v);
    }
}

static void test_format1(void **state)
{
    struct fx *f = *state;
    const char *files[1] = {SRCDIR "/tests/fixtures/audit/format1.jsonl"};

    run(f, files, 1, NULL, false);
    expect(&f->r, 0, CMK_AUDIT_FORMAT1, 0,
           "format 1 (unkeyed): not tamper-evident (4 records)");
    expect_n(&f->r, 1, 1);
    run(f, files, 1, NULL, true);
    expect(&f->r, 0, CMK_AUDIT_NOTE, 0,
           "format 1 (unkeyed): not tamper-evident (4 records)");
    expect_n(&f->r, 1, 0);
    assert_int_equal(f->r.sum.records, 4);
    assert_int_equal(f->r.sum.open_chains, 0);
    assert_string_equal(f->r.anchor,
                        "{\"anchor\":2,\"time\":\"2026-11-23T13:23:20.000005Z"
                        "\",\"chains\":[]}");
}

static void test_not_sealed(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    char buf[TGEN_LINE];

    writer(f, &w, W_A, false);
    w.sealed[0] = '\0';
    add(f, buf, tgen_open(&w, buf, sizeof(buf), "KMS unreachable"));
    add(f, buf, tgen_mech(&w, buf, sizeof(buf), 1, "C_Encrypt", "CKR_OK"));
    assert_non_null(strstr(f->l[0], "\"sealed_key\":null,\"file\":1,"
                                    "\"detail\":\"KMS unreachable\""));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_KEY, 1,
           "writer " A ": not verifiable: chain key not sealed (KMS "
           "unreachable)");
    expect_n(&f->r, 1, 1);
    assert_int_equal(f->r.unseal_calls, 0);
    assert_int_equal(f->r.sum.unverified, 2);
}

static void test_repeat_and_swap(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    char *t;

    base(f, &w, true);
    memmove(&f->l[4], &f->l[3], (f->n - 3) * sizeof(char *));
    f->l[3] = strdup(f->l[4]);
    f->n++;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1: seq 3 after seq 3: record repeated or out "
           "of order");
    expect_n(&f->r, 1, 1);
    base(f, &w, true);
    t = f->l[3];
    f->l[3] = f->l[4];
    f->l[4] = t;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 4,
           "writer " A " chain 1: seq 4 follows seq 2: 1 records missing");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 5,
           "writer " A " chain 1: seq 3 after seq 4: record repeated or out "
           "of order");
    expect_n(&f->r, 2, 2);
}

/* A finalize that leaves a chain out, and a writer whose first record is
 * not its audit_open. */
static void test_lists_and_first_record(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    char buf[TGEN_LINE];

    base(f, &w, false);
    w.seq[2] = 0; /* the writer "forgets" chain 2 in its list */
    add(f, buf, tgen_finalize(&w, buf, sizeof(buf)));
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_CHAIN, 10,
           "writer " A " chain 2: left out of its finalize list");
    expect_n(&f->r, 1, 1);
    base(f, &w, true);
    del(f, 0);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_KEY, 1,
           "writer " A ": not verifiable: its first record here is chain 1 "
           "seq 1, not audit_open, rotate_in or reopen (records missing "
           "before it, or a fabricated writer)");
    expect(&f->r, 1, CMK_AUDIT_CHAIN, 9,
           "writer " A " chain 0: first record read is seq 2: records missing "
           "before it");
    expect_n(&f->r, 2, 2);
}

/* Lines that are not records as the writer writes them. */
static void test_bad_lines(void **state)
{
    static const char *const junk[] = {
        "not json at all",
        "",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":4294967296,\"seq\":1,\"pid\":1,\"event\":\"x\",\"mac\":\""
        "0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":1,\"pid\":1,\"event\":\"x\",\"op\": \"y\",\"mac\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":1,\"pid\":1,\"event\":\"x\",\"seq\":2,\"mac\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":1,\"pid\":1,\"event\":\"x\",\"mac\":"
        "\"000000000000000000000000000000000000000000000000000000000000000G\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":0,\"pid\":1,\"event\":\"x\",\"mac\":"
        "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":1,\"pid\":1,\"event\":\"x\",\"mac\":"
        "\"0000000000000000000000000000000G\"}",
        "{\"time\":\"2026-11-23T13:22:10.000001Z\",\"writer\":"
        "\"1111111111111111\","
        "\"chain\":1,\"seq\":1,\"pid\":1,\"event\":\"x\",\"mac\":"
        "\"000000000000000000000000000000000000000000000000\"}",
    };
    static const char *const why[] = {
        "not a record: too short",
        "empty line",
        "not a record: \"chain\" is not a number up to 2^32-1",
        "a field value is not JSON as the writer writes it",
        "a header field appears twice",
        "mac is not 32 or 64 lowercase hex digits",
        "not a record: no positive \"seq\" fourth",
        "mac is not 32 or 64 lowercase hex digits",
        "does not end in the \"mac\" field (a torn or cut line)",
    };
    struct fx *f = *state;
    struct tgen_writer w;
    size_t i;

    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        base(f, &w, true);
        memmove(&f->l[4], &f->l[3], (f->n - 3) * sizeof(char *));
        f->l[3] = strdup(junk[i]);
        f->n++;
        put(f->path[0], f->l, f->n);
        run1(f, f->path[0]);
        expect(&f->r, 0, CMK_AUDIT_BAD_REGION, 4, why[i]);
        expect_n(&f->r, 1, 1);
        assert_int_equal(f->r.sum.records, 10);
    }
}

/* Several bad lines in a row are one region; a line over 1 MiB is one bad
 * item and what follows it is read. */
static void test_regions_and_long_line(void **state)
{
    struct fx *f = *state;
    struct tgen_writer w;
    size_t big = 1024 * 1024 + 10;
    char *l;

    base(f, &w, true);
    memmove(&f->l[6], &f->l[3], (f->n - 3) * sizeof(char *));
    f->l[3] = strdup("garbage 1");
    f->l[4] = strdup("garbage 22");
    f->l[5] = strdup("garbage 333");
    f->n += 3;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_BAD_REGION, 4,
           "3 lines (32 bytes) are not records; the first: not a record: too "
           "short");
    expect_n(&f->r, 1, 1);
    base(f, &w, true);
    l = malloc(big + 1);
    assert_non_null(l);
    memset(l, 'x', big);
    l[big] = '\0';
    memmove(&f->l[4], &f->l[3], (f->n - 3) * sizeof(char *));
    f->l[3] = l;
    f->n++;
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect(&f->r, 0, CMK_AUDIT_BAD_REGION, 4, "line longer than 1 MiB");
    expect_n(&f->r, 1, 1);
    assert_int_equal(f->r.sum.records, 10);
}

static void test_read_errors(void **state)
{
    struct fx *f = *state;
    struct cmk_audit_verify_opts o = {0};
    struct cmk_audit_verifier *v = NULL;
    struct ctx c = {f, &f->r};

    memset(&f->r, 0, sizeof(f->r));
    o.report = collect;
    o.report_arg = &c;
    assert_int_equal(cmk_audit_verify_new(&o, &v), CMK_OK);
    assert_int_equal(cmk_audit_verify_file(v, f->path[5]), CMK_E_IO);
    assert_int_equal(cmk_audit_verify_file(v, f->dir), CMK_E_IO);
    cmk_audit_verify_end(v, &f->r.sum);
    expect(&f->r, 0, CMK_AUDIT_IO, 0, "cannot read: No such file or directory");
    expect(&f->r, 1, CMK_AUDIT_IO, 0, "read error: Is a directory");
    assert_int_equal(cmk_audit_verify_file(v, f->path[0]), CMK_E_ARGS);
    cmk_audit_verify_free(v);
    assert_int_equal(cmk_audit_verify_new(NULL, &v), CMK_E_ARGS);
}

/* The unsealer cmk-tool uses, on the local provider: only the key
 * tenant's CMK, only with the audit key context. */
static void test_real_unseal(void **state)
{
    struct cmk_audit_unsealer *u = NULL;
    struct cmk_config *cfg = NULL;
    struct test_env env;
    uint8_t k[32], out[32], blob[512];
    char b64[1024], why[256];
    size_t len;

    (void)state;
    assert_int_equal(test_env_make(&env), 0);
    assert_int_equal(cmk_config_load(env.config, &cfg, why, sizeof(why)),
                     CMK_OK);
    randombytes_buf(k, sizeof(k));
    assert_int_equal(cmk_audit_unsealer_new(&cfg->tenants[0].kms, &u), CMK_OK);
    assert_int_equal(tgen_seal(env.config, "alpha", k, NULL, b64, sizeof(b64)),
                     0);
    assert_int_equal(sodium_base642bin(blob, sizeof(blob), b64, strlen(b64),
                                       NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(
        cmk_audit_unseal(u, "alpha", "local", blob, len, out, why, sizeof(why)),
        CMK_OK);
    assert_memory_equal(out, k, sizeof(k));
    assert_int_equal(
        cmk_audit_unseal(u, "beta", "local", blob, len, out, why, sizeof(why)),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(why, "sealed by tenant \"beta\", not by the audit key "
                             "tenant \"alpha\"");
    assert_int_equal(
        cmk_audit_unseal(u, "alpha", "aws", blob, len, out, why, sizeof(why)),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(why, "provider \"aws\" is not the key tenant's "
                             "(\"local\")");
    /* beta's CMK, or alpha's under another purpose: refused by the KMS */
    assert_int_equal(tgen_seal(env.config, "beta", k, NULL, b64, sizeof(b64)),
                     0);
    assert_int_equal(sodium_base642bin(blob, sizeof(blob), b64, strlen(b64),
                                       NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(
        cmk_audit_unseal(u, "alpha", "local", blob, len, out, why, sizeof(why)),
        CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(why, "the CMK of tenant \"alpha\" refuses it "
                             "(bad_ciphertext, InvalidCiphertext)");
    assert_int_equal(tgen_seal(env.config, "alpha", k, "key", b64, sizeof(b64)),
                     0);
    assert_int_equal(sodium_base642bin(blob, sizeof(blob), b64, strlen(b64),
                                       NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(
        cmk_audit_unseal(u, "alpha", "local", blob, len, out, why, sizeof(why)),
        CMK_E_BAD_CIPHERTEXT);
    cmk_audit_unsealer_free(u);
    assert_int_equal(cmk_audit_unsealer_new(NULL, &u), CMK_E_ARGS);
    cmk_config_free(cfg);
    test_env_remove(&env);
}

/* Any one byte of a record changed (a bit, or a newline or 0x00 put in)
 * is found; the file as written verifies. */
static void test_every_byte(void **state)
{
    static const int change[] = {0x100 | 0x01, '\n', 0};
    struct fx *f = *state;
    struct tgen_writer w;
    char *orig;
    size_t i, k, n;

    base(f, &w, true);
    orig = strdup(f->l[4]);
    assert_non_null(orig);
    n = strlen(orig);
    for (i = 0; i < n; i++) {
        for (k = 0; k < sizeof(change) / sizeof(change[0]); k++) {
            memcpy(f->l[4], orig, n);
            f->l[4][i] =
                (char)(change[k] & 0x100 ? orig[i] ^ change[k] : change[k]);
            /* put() writes up to a NUL: write the line's bytes by hand */
            {
                FILE *fp = fopen(f->path[0], "wb");
                size_t j;

                assert_non_null(fp);
                for (j = 0; j < f->n; j++) {
                    assert_int_equal(
                        fwrite(f->l[j], 1, j == 4 ? n : strlen(f->l[j]), fp),
                        j == 4 ? n : strlen(f->l[j]));
                    fputc('\n', fp);
                }
                assert_int_equal(fclose(fp), 0);
            }
            run1(f, f->path[0]);
            if (f->r.sum.problems == 0)
                fail_msg("byte %zu changed to 0x%02x: not found", i,
                         (unsigned char)f->l[4][i]);
        }
    }
    memcpy(f->l[4], orig, n);
    put(f->path[0], f->l, f->n);
    run1(f, f->path[0]);
    expect_n(&f->r, 0, 0);
    free(orig);
}

/* Run for both formats (the generator's tgen_mac_len). */
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define SHARED_TESTS                                                           \
    T(test_clean_two_writers), T(test_delete_recompute_guess),                 \
        T(test_delete_recompute_sha256), T(test_result_forged),                \
        T(test_other_format_mac), T(test_delete_writer),                       \
        T(test_fabricated_writer), T(test_cut_tail_forged_finalize),           \
        T(test_torn_line_then_more), T(test_zero_padding),                     \
        T(test_rotation_series), T(test_rotation_truncated_middle),            \
        T(test_series_find), T(test_anchor_cut),                               \
        cmocka_unit_test(test_anchor_malformed), T(test_format1),              \
        T(test_not_sealed), T(test_repeat_and_swap),                           \
        T(test_lists_and_first_record), T(test_bad_lines),                     \
        T(test_regions_and_long_line), T(test_read_errors),                    \
        cmocka_unit_test(test_real_unseal), T(test_every_byte)

int main(void)
{
    const struct CMUnitTest fmt2[] = {
        T(test_known_answer),
        cmocka_unit_test(test_mac_matches_sodium),
        SHARED_TESTS,
    };
    const struct CMUnitTest fmt3[] = {
        T(test_known_answer3),
        SHARED_TESTS,
    };
    int failed;
#undef T

    if (cmk_mech_init() != CKR_OK) /* the verifier's HMAC, as cmk-tool */
        return 99;
    failed = cmocka_run_group_tests_name("format 2", fmt2, NULL, NULL);
    tgen_mac_len = 16;
    failed += cmocka_run_group_tests_name("format 3", fmt3, NULL, NULL);
    return failed != 0;
}
