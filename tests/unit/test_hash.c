/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: mech/hash.c: SHA-256 (FIPS 180-2 examples), HMAC-SHA-256
 * (RFC 4231), BLAKE2b (RFC 7693 and the BLAKE2 keyed KAT), one-shot and
 * incremental forms agreeing, bad arguments, and nothing before
 * cmk_mech_init.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "mech/hash.h"
#include "mech/mech.h"

static void unhex(const char *hex, uint8_t *out, size_t len)
{
    size_t got = 0;

    assert_int_equal(
        sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL), 0);
    assert_int_equal(got, len);
}

static void expect_sha256(const char *msg, const char *hex)
{
    uint8_t want[CMK_SHA256_LEN], got[CMK_SHA256_LEN];

    unhex(hex, want, sizeof(want));
    assert_int_equal(cmk_sha256(msg, strlen(msg), got), CMK_OK);
    assert_memory_equal(got, want, sizeof(want));
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    expect_sha256("", "e3b0c44298fc1c149afbf4c8996fb924"
                      "27ae41e4649b934ca495991b7852b855");
    expect_sha256("abc", "ba7816bf8f01cfea414140de5dae2223"
                         "b00361a396177a9cb410ff61f20015ad");
    expect_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039"
                  "a33ce45964ff2167f6ecedd419db06c1");
}

/* The audit writer's use: one context, many digests, pieces of any size. */
static void test_sha256_incremental(void **state)
{
    static const char msg[] =
        "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    uint8_t one[CMK_SHA256_LEN], inc[CMK_SHA256_LEN];
    struct cmk_sha256 *h = NULL;
    size_t cut, len = sizeof(msg) - 1;

    (void)state;
    assert_int_equal(cmk_sha256(msg, len, one), CMK_OK);
    assert_int_equal(cmk_sha256_new(&h), CMK_OK);
    for (cut = 0; cut <= len; cut++) {
        memset(inc, 0, sizeof(inc));
        assert_int_equal(cmk_sha256_init(h), CMK_OK);
        assert_int_equal(cmk_sha256_update(h, msg, cut), CMK_OK);
        assert_int_equal(cmk_sha256_update(h, NULL, 0), CMK_OK);
        assert_int_equal(cmk_sha256_update(h, msg + cut, len - cut), CMK_OK);
        assert_int_equal(cmk_sha256_final(h, inc), CMK_OK);
        assert_memory_equal(inc, one, sizeof(one));
    }
    cmk_sha256_free(h);
    cmk_sha256_free(NULL);
}

static void expect_hmac(const uint8_t *key, size_t key_len, const char *msg,
                        const char *hex)
{
    uint8_t want[CMK_SHA256_LEN], got[CMK_SHA256_LEN];

    unhex(hex, want, sizeof(want));
    assert_int_equal(cmk_hmac_sha256(key, key_len, msg, strlen(msg), got),
                     CMK_OK);
    assert_memory_equal(got, want, sizeof(want));
}

/* RFC 4231 4.2, 4.3 and 4.7 (a key longer than the block), and the
 * empty key and message. */
static void test_hmac_vectors(void **state)
{
    uint8_t k[131];

    (void)state;
    memset(k, 0x0b, 20);
    expect_hmac(k, 20, "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b"
                "881dc200c9833da726e9376c2e32cff7");
    expect_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c7"
                "5a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, sizeof(k));
    expect_hmac(k, sizeof(k),
                "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f"
                "8e0bc6213728c5140546040f0ee37f54");
    expect_hmac(NULL, 0, "",
                "b613679a0814d9ec772f95d778c35fc5"
                "ff1697c493715653c6c712144292c5ad");
}

/* SigV4 derives its signing key in place: out is the key buffer. */
static void test_hmac_in_place(void **state)
{
    uint8_t k[CMK_SHA256_LEN], want[CMK_SHA256_LEN];

    (void)state;
    memset(k, 0x0b, sizeof(k));
    assert_int_equal(cmk_hmac_sha256(k, sizeof(k), "x", 1, want), CMK_OK);
    assert_int_equal(cmk_hmac_sha256(k, sizeof(k), "x", 1, k), CMK_OK);
    assert_memory_equal(k, want, sizeof(k));
}

static void test_blake2b_vectors(void **state)
{
    uint8_t want[64], got[64], key[64];
    struct cmk_blake2b b;
    size_t i;

    (void)state;
    /* RFC 7693 appendix A: BLAKE2b-512("abc") */
    unhex("ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
          "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
          want, 64);
    assert_int_equal(cmk_blake2b(got, 64, "abc", 3, NULL, 0), CMK_OK);
    assert_memory_equal(got, want, 64);
    cmk_blake2b_init(&b, 64);
    cmk_blake2b_update(&b, "a", 1);
    cmk_blake2b_update(&b, "bc", 2);
    cmk_blake2b_final(&b, got);
    assert_memory_equal(got, want, 64);
    /* The length is a parameter, not a truncation (ids use 8 bytes). */
    unhex("d8bb14d833d59559", want, 8);
    memset(got, 0, sizeof(got));
    assert_int_equal(cmk_blake2b(got, 8, "abc", 3, NULL, 0), CMK_OK);
    assert_memory_equal(got, want, 8);
    cmk_blake2b_init(&b, 8);
    cmk_blake2b_update(&b, "abc", 3);
    cmk_blake2b_final(&b, got);
    assert_memory_equal(got, want, 8);
    /* BLAKE2 keyed KAT, first entry: empty input, key 00..3f */
    for (i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)i;
    unhex("10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
          "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568",
          want, 64);
    assert_int_equal(cmk_blake2b(got, 64, NULL, 0, key, sizeof(key)), CMK_OK);
    assert_memory_equal(got, want, 64);
}

static void test_bad_arguments(void **state)
{
    uint8_t out[65], k[65] = {0}, keep[65];
    struct cmk_sha256 *h = NULL;
    struct cmk_blake2b b;

    (void)state;
    assert_int_equal(cmk_sha256("x", 1, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_sha256(NULL, 1, out), CMK_E_ARGS);
    assert_int_equal(cmk_sha256(NULL, 0, out), CMK_OK);
    assert_int_equal(cmk_sha256_new(NULL), CMK_E_ARGS);
    assert_int_equal(cmk_sha256_init(NULL), CMK_E_ARGS);
    assert_int_equal(cmk_sha256_new(&h), CMK_OK);
    assert_int_equal(cmk_sha256_init(h), CMK_OK);
    assert_int_equal(cmk_sha256_update(h, NULL, 1), CMK_E_ARGS);
    assert_int_equal(cmk_sha256_update(NULL, "x", 1), CMK_E_ARGS);
    assert_int_equal(cmk_sha256_final(h, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_sha256_final(NULL, out), CMK_E_ARGS);
    cmk_sha256_free(h);
    assert_int_equal(cmk_hmac_sha256(NULL, 1, "x", 1, out), CMK_E_ARGS);
    assert_int_equal(cmk_hmac_sha256(k, 1, NULL, 1, out), CMK_E_ARGS);
    assert_int_equal(cmk_hmac_sha256(k, 1, "x", 1, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(out, 0, "x", 1, NULL, 0), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(out, 65, "x", 1, NULL, 0), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(NULL, 32, "x", 1, NULL, 0), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(out, 32, NULL, 1, NULL, 0), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(out, 32, "x", 1, NULL, 1), CMK_E_ARGS);
    assert_int_equal(cmk_blake2b(out, 32, "x", 1, k, 65), CMK_E_ARGS);
    /* An incremental length out of range writes nothing. */
    memset(out, 0x5a, sizeof(out));
    memcpy(keep, out, sizeof(out));
    cmk_blake2b_init(&b, 0);
    cmk_blake2b_update(&b, "x", 1);
    cmk_blake2b_final(&b, out);
    cmk_blake2b_init(&b, 65);
    cmk_blake2b_final(&b, out);
    assert_memory_equal(out, keep, sizeof(out));
}

/* Before cmk_mech_init (and after cmk_mech_fini) there is no context:
 * SHA-256 and HMAC refuse instead of reaching for OpenSSL's default. */
static void test_needs_mech_init(void **state)
{
    uint8_t out[CMK_SHA256_LEN];
    struct cmk_sha256 *h = NULL;

    (void)state;
    cmk_mech_fini();
    assert_int_equal(cmk_sha256("abc", 3, out), CMK_E_CRYPTO);
    assert_int_equal(cmk_sha256_new(&h), CMK_E_CRYPTO);
    assert_null(h);
    assert_int_equal(cmk_hmac_sha256("k", 1, "m", 1, out), CMK_E_CRYPTO);
    /* BLAKE2b is libsodium's and needs no context. */
    assert_int_equal(cmk_blake2b(out, 16, "abc", 3, NULL, 0), CMK_OK);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(cmk_sha256("abc", 3, out), CMK_OK);
}

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
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_sha256_incremental),
        cmocka_unit_test(test_hmac_vectors),
        cmocka_unit_test(test_hmac_in_place),
        cmocka_unit_test(test_blake2b_vectors),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_needs_mech_init),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
