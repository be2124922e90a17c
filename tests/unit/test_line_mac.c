/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: mech/line_mac.c, the audit record MAC (HMAC-SHA256 and
 * AES-256-GCM-SIV, on AES-NI and portable) in its two forms: a known
 * answer (Python's hmac), both forms and OpenSSL's one-shot HMAC agreeing
 * over line lengths around the block size, the writer's key in the secure
 * pool, an all-zero key refused, the key wiped in a forked child, bad
 * arguments, and nothing before cmk_mech_init.
 */
#include <config.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>

#include "mech/aes.h"
#include "mech/line_mac.h"
#include "mech/mech.h"
#include "tests/lib/pool_fx.h"
#include "util/secpool.h"

/* hmac.new(bytes(range(32)), bytes(32) + LINE, hashlib.sha256) */
#define LINE "{\"time\":\"2026-11-23T13:05:54.123456Z\",\"event\":\"x\"}"
#define LINE_MAC                                                               \
    "a4e37fc4e08b3badf06833680c8e02fd18985c6977a93104a3f8b1ffe491e2dd"
/* the same key, prev all 0xff, an empty line */
#define EMPTY_MAC                                                              \
    "b78488ef9b4f59c7b4c68ac737b4c992f5a22576aa2cb222024388a3245be467"
/* AES-256-GCM-SIV, nonce "cmk-audit-v3", the same key and lines, prev 16
 * bytes; from a separate implementation of RFC 8452 (Python, AES from
 * python3-cryptography, POLYVAL by the RFC's definition) that gives the
 * RFC's own vectors */
#define LINE_MAC3 "2be2244d793cf63b0591c7effc7faff8"
#define EMPTY_MAC3 "64cb699f6a283a6deaf3805d56835543"

/* an algorithm, and whether on the portable path (no AES-NI) */
struct param {
    enum cmk_vmac_alg alg;
    bool soft;
};

static struct param g_params[] = {{CMK_VMAC_HMAC_SHA256, false},
                                  {CMK_VMAC_AES_GCM_SIV, false},
                                  {CMK_VMAC_AES_GCM_SIV, true}};

static enum cmk_vmac_alg param(void **state)
{
    const struct param *p = *state;

    cmk_aes_force_fallback(p->soft);
    return p->alg;
}

static uint8_t key[CMK_VMAC_KEY_LEN];

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    size_t got = 0;

    assert_int_equal(
        sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
    assert_int_equal(got, len);
}

struct both {
    struct cmk_vmac_lib *l;
    struct cmk_vmac *m;
    struct cmk_vmac_key *k;
};

static void both_new_alg(struct both *b, enum cmk_vmac_alg alg)
{
    assert_int_equal(cmk_vmac_lib_new(&b->l), CMK_OK);
    assert_int_equal(cmk_vmac_new(b->l, alg, key, &b->m), CMK_OK);
    assert_int_equal(cmk_vmac_key_new(alg, key, &b->k), CMK_OK);
    assert_int_equal(cmk_vmac_len(b->m), cmk_vmac_alg_len(alg));
    assert_int_equal(cmk_vmac_key_len(b->k), cmk_vmac_alg_len(alg));
}

static void both_new(struct both *b)
{
    both_new_alg(b, CMK_VMAC_HMAC_SHA256);
}

static void both_free(struct both *b)
{
    cmk_vmac_key_free(b->k);
    cmk_vmac_free(b->m);
    cmk_vmac_lib_free(b->l);
}

/* Both forms give want. */
static void expect_mac(struct both *b, const uint8_t *prev, const char *line,
                       size_t n, const uint8_t *want)
{
    uint8_t got[CMK_VMAC_MAX_LEN];
    size_t len = cmk_vmac_len(b->m);

    assert_int_equal(cmk_vmac_line(b->l, b->m, prev, line, n, got), CMK_OK);
    assert_memory_equal(got, want, len);
    memset(got, 0, sizeof(got));
    assert_int_equal(cmk_vmac_key_line(b->l, b->k, prev, line, n, got), CMK_OK);
    assert_memory_equal(got, want, len);
}

static void test_known_answers(void **state)
{
    enum cmk_vmac_alg alg = param(state);
    bool siv = alg == CMK_VMAC_AES_GCM_SIV;
    uint8_t prev[32] = {0}, want[32];
    size_t len = cmk_vmac_alg_len(alg);
    struct both b;

    both_new_alg(&b, alg);
    unhex(siv ? LINE_MAC3 : LINE_MAC, want, len);
    expect_mac(&b, prev, LINE, strlen(LINE), want);
    memset(prev, 0xff, sizeof(prev));
    unhex(siv ? EMPTY_MAC3 : EMPTY_MAC, want, len);
    expect_mac(&b, prev, "", 0, want);
    both_free(&b);
}

/* The algorithms and their lengths; the writer's is GCM-SIV where AES-NI
 * is, else HMAC. */
static void test_algorithms(void **state)
{
    struct cmk_vmac_lib *l = NULL;
    struct cmk_vmac *m = NULL;
    struct cmk_vmac_key *k = NULL;

    (void)state;
    assert_int_equal(cmk_vmac_alg_len(CMK_VMAC_HMAC_SHA256), 32);
    assert_int_equal(cmk_vmac_alg_len(CMK_VMAC_AES_GCM_SIV), 16);
    assert_int_equal(cmk_vmac_alg_len((enum cmk_vmac_alg)0), 0);
    assert_int_equal(cmk_vmac_alg_of_len(32), CMK_VMAC_HMAC_SHA256);
    assert_int_equal(cmk_vmac_alg_of_len(16), CMK_VMAC_AES_GCM_SIV);
    assert_int_equal(cmk_vmac_alg_of_len(20), 0);
    assert_int_equal(cmk_vmac_writer_alg(), cmk_aes_hw()
                                                ? CMK_VMAC_AES_GCM_SIV
                                                : CMK_VMAC_HMAC_SHA256);
    cmk_aes_force_fallback(true);
    assert_int_equal(cmk_vmac_writer_alg(), CMK_VMAC_HMAC_SHA256);
    cmk_aes_force_fallback(false);
    assert_int_equal(cmk_vmac_lib_new(&l), CMK_OK);
    assert_int_equal(cmk_vmac_new(l, (enum cmk_vmac_alg)3, key, &m),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_new((enum cmk_vmac_alg)0, key, &k),
                     CMK_E_ARGS);
    assert_null(m);
    assert_null(k);
    cmk_vmac_lib_free(l);
}

/* Against OpenSSL's one-shot HMAC, for lines that end anywhere in a
 * block, reusing one work context for both forms in turn. */
static void test_agrees_with_openssl(void **state)
{
    uint8_t prev[32], in[32 + 300], want[32];
    char line[300];
    unsigned len = 0;
    struct both b;
    size_t n;

    (void)state;
    both_new(&b);
    randombytes_buf(line, sizeof(line));
    for (n = 0; n < sizeof(line); n += 7) {
        randombytes_buf(prev, sizeof(prev));
        memcpy(in, prev, 32);
        memcpy(in + 32, line, n);
        assert_non_null(HMAC(EVP_sha256(), key, 32, in, 32 + n, want, &len));
        assert_int_equal(len, 32);
        expect_mac(&b, prev, line, n, want);
    }
    both_free(&b);
}

/* The writer's keyed states live in the secure pool and an all-zero key
 * is refused (a forked child's wiped states: test_key_wiped_in_child). */
static void test_key_protected(void **state)
{
    enum cmk_vmac_alg alg = param(state);
    static const uint8_t zero[CMK_VMAC_KEY_LEN];
    uint8_t prev[32] = {0}, out[32];
    struct cmk_vmac_lib *l = NULL;
    struct cmk_vmac_key *k = NULL;

    assert_int_equal(cmk_vmac_lib_new(&l), CMK_OK);
    assert_int_equal(cmk_vmac_key_new(alg, key, &k), CMK_OK);
    assert_true(cmk_secpool_owns(k));
    assert_int_equal(cmk_vmac_key_line(l, k, prev, "x", 1, out), CMK_OK);
    cmk_vmac_key_free(k);
    k = NULL;
    assert_int_equal(cmk_vmac_key_new(alg, zero, &k), CMK_E_ARGS);
    assert_null(k);
    cmk_vmac_lib_free(l);
}

/* In a forked child the pool's pages are wiped (MADV_WIPEONFORK): the
 * inherited key makes no mac there, and still does in the parent. */
static void test_key_wiped_in_child(void **state)
{
    enum cmk_vmac_alg alg = param(state);
    uint8_t prev[32] = {0}, out[32], want[32];
    struct both b;
    int status;
    pid_t child;

    both_new_alg(&b, alg);
    unhex(alg == CMK_VMAC_AES_GCM_SIV ? LINE_MAC3 : LINE_MAC, want,
          cmk_vmac_alg_len(alg));
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(cmk_vmac_key_line(b.l, b.k, prev, LINE, strlen(LINE), out) ==
                      CMK_E_CRYPTO
                  ? 0
                  : 1);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    expect_mac(&b, prev, LINE, strlen(LINE), want);
    both_free(&b);
}

static void test_bad_arguments(void **state)
{
    uint8_t prev[32] = {0}, out[32];
    struct cmk_vmac_key *k = NULL;
    struct both b;

    (void)state;
    both_new(&b);
    assert_int_equal(cmk_vmac_key_new(CMK_VMAC_HMAC_SHA256, NULL, &k),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_new(CMK_VMAC_AES_GCM_SIV, key, NULL),
                     CMK_E_ARGS);
    assert_null(k);
    assert_int_equal(cmk_vmac_key_line(NULL, b.k, prev, "x", 1, out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_line(b.l, NULL, prev, "x", 1, out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_line(b.l, b.k, NULL, "x", 1, out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_line(b.l, b.k, prev, NULL, 1, out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_vmac_key_line(b.l, b.k, prev, "x", 1, NULL),
                     CMK_E_ARGS);
    cmk_vmac_key_free(NULL);
    cmk_vmac_free(NULL);
    cmk_vmac_lib_free(NULL);
    both_free(&b);
}

/* The work context takes mech's SHA-256: none before cmk_mech_init. */
static void test_needs_mech_init(void **state)
{
    struct cmk_vmac_lib *l = NULL;

    (void)state;
    cmk_mech_fini();
    assert_int_equal(cmk_vmac_lib_new(&l), CMK_E_CRYPTO);
    assert_null(l);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(cmk_vmac_lib_new(&l), CMK_OK);
    cmk_vmac_lib_free(l);
}

static int group_setup(void **state)
{
    size_t i;

    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_known_answers, &g_params[0]),
        cmocka_unit_test_prestate(test_known_answers, &g_params[1]),
        cmocka_unit_test_prestate(test_known_answers, &g_params[2]),
        cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_agrees_with_openssl),
        cmocka_unit_test_prestate(test_key_protected, &g_params[0]),
        cmocka_unit_test_prestate(test_key_protected, &g_params[1]),
        cmocka_unit_test_prestate(test_key_wiped_in_child, &g_params[0]),
        cmocka_unit_test_prestate(test_key_wiped_in_child, &g_params[1]),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_needs_mech_init),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
