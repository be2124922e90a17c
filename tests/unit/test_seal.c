/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: mech/seal.c: the sealed form is exactly libsodium's
 * XChaCha20-Poly1305 with the nonce in front (what store files and local
 * provider ciphertexts already hold), sizes, round trips, and every
 * change (nonce, ciphertext, tag, AAD, key, length) refused with the
 * output zeroed.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>

#include "mech/mech.h"
#include "mech/seal.h"

static const uint8_t key[CMK_SEAL_KEY_LEN] = {
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
    0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
};
static const uint8_t aad[] = "tenant\0file";
static const uint8_t msg[] = "Ladies and Gentlemen of the class of '99";

static void test_sizes(void **state)
{
    size_t n = 7;

    (void)state;
    assert_int_equal(CMK_SEAL_OVERHEAD, 40);
    assert_int_equal(cmk_seal_size(0), 40);
    assert_int_equal(cmk_seal_size(100), 140);
    assert_int_equal(cmk_seal_size(SIZE_MAX - 40), SIZE_MAX);
    assert_int_equal(cmk_seal_size(SIZE_MAX - 39), SIZE_MAX);
    assert_false(cmk_seal_plain_len(39, &n));
    assert_int_equal(n, 7);
    assert_true(cmk_seal_plain_len(40, &n));
    assert_int_equal(n, 0);
    assert_true(cmk_seal_plain_len(140, &n));
    assert_int_equal(n, 100);
}

/* A form made by libsodium directly (a stored file) opens, and ours
 * opens with libsodium directly: the layout is nonce | ct | tag. */
static void test_layout_is_libsodium(void **state)
{
    uint8_t sealed[sizeof(msg) + CMK_SEAL_OVERHEAD], out[sizeof(msg)];
    size_t n = sizeof(msg);

    (void)state;
    memset(sealed, 0x24, CMK_SEAL_NONCE_LEN);
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
                         sealed + CMK_SEAL_NONCE_LEN, NULL, msg, n, aad,
                         sizeof(aad), NULL, sealed, key),
                     0);
    assert_int_equal(
        cmk_seal_open(key, aad, sizeof(aad), sealed, sizeof(sealed), out),
        CMK_OK);
    assert_memory_equal(out, msg, n);
    assert_int_equal(cmk_seal(key, aad, sizeof(aad), msg, n, sealed), CMK_OK);
    memset(out, 0, sizeof(out));
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
                         out, NULL, NULL, sealed + CMK_SEAL_NONCE_LEN,
                         sizeof(sealed) - CMK_SEAL_NONCE_LEN, aad, sizeof(aad),
                         sealed, key),
                     0);
    assert_memory_equal(out, msg, n);
}

static void test_round_trip_and_fresh_nonce(void **state)
{
    uint8_t a[sizeof(msg) + CMK_SEAL_OVERHEAD];
    uint8_t b[sizeof(msg) + CMK_SEAL_OVERHEAD];
    uint8_t out[sizeof(msg)], empty[CMK_SEAL_OVERHEAD], one[1];

    (void)state;
    assert_int_equal(cmk_seal(key, aad, sizeof(aad), msg, sizeof(msg), a),
                     CMK_OK);
    assert_int_equal(cmk_seal(key, aad, sizeof(aad), msg, sizeof(msg), b),
                     CMK_OK);
    assert_memory_not_equal(a, b, CMK_SEAL_NONCE_LEN);
    assert_memory_not_equal(a + CMK_SEAL_NONCE_LEN, msg, sizeof(msg));
    assert_int_equal(cmk_seal_open(key, aad, sizeof(aad), b, sizeof(b), out),
                     CMK_OK);
    assert_memory_equal(out, msg, sizeof(msg));
    /* empty plaintext, empty AAD */
    assert_int_equal(cmk_seal(key, NULL, 0, NULL, 0, empty), CMK_OK);
    assert_int_equal(cmk_seal_open(key, NULL, 0, empty, sizeof(empty), one),
                     CMK_OK);
    assert_int_equal(
        cmk_seal_open(key, aad, sizeof(aad), empty, sizeof(empty), one),
        CMK_E_BAD_CIPHERTEXT);
}

static void expect_refused(const uint8_t *k, const uint8_t *ad, size_t ad_len,
                           const uint8_t *in, size_t in_len)
{
    size_t pt = in_len >= CMK_SEAL_OVERHEAD ? in_len - CMK_SEAL_OVERHEAD : 0;
    uint8_t out[sizeof(msg)];
    size_t i;

    assert_true(pt <= sizeof(out));
    memset(out, 0xee, sizeof(out));
    assert_int_equal(cmk_seal_open(k, ad, ad_len, in, in_len, out),
                     CMK_E_BAD_CIPHERTEXT);
    for (i = 0; i < pt; i++)
        assert_int_equal(out[i], 0); /* no unauthenticated plaintext */
}

static void test_every_change_refused(void **state)
{
    uint8_t s[sizeof(msg) + CMK_SEAL_OVERHEAD], other[CMK_SEAL_KEY_LEN];
    uint8_t bad_aad[sizeof(aad)];
    size_t i;

    (void)state;
    assert_int_equal(cmk_seal(key, aad, sizeof(aad), msg, sizeof(msg), s),
                     CMK_OK);
    for (i = 0; i < sizeof(s); i++) { /* nonce, ciphertext and tag */
        s[i] ^= 0x01;
        expect_refused(key, aad, sizeof(aad), s, sizeof(s));
        s[i] ^= 0x01;
    }
    memcpy(bad_aad, aad, sizeof(aad));
    bad_aad[0] ^= 0x20;
    expect_refused(key, bad_aad, sizeof(bad_aad), s, sizeof(s));
    expect_refused(key, aad, sizeof(aad) - 1, s, sizeof(s));
    memcpy(other, key, sizeof(other));
    other[31] ^= 0x80;
    expect_refused(other, aad, sizeof(aad), s, sizeof(s));
    expect_refused(key, aad, sizeof(aad), s, sizeof(s) - 1);
    expect_refused(key, aad, sizeof(aad), s, CMK_SEAL_OVERHEAD - 1);
    expect_refused(key, aad, sizeof(aad), s, 0);
}

static void test_bad_arguments(void **state)
{
    uint8_t s[CMK_SEAL_OVERHEAD + 1], out[1];

    (void)state;
    assert_int_equal(cmk_seal(NULL, NULL, 0, msg, 1, s), CMK_E_ARGS);
    assert_int_equal(cmk_seal(key, NULL, 1, msg, 1, s), CMK_E_ARGS);
    assert_int_equal(cmk_seal(key, NULL, 0, NULL, 1, s), CMK_E_ARGS);
    assert_int_equal(cmk_seal(key, NULL, 0, msg, 1, NULL), CMK_E_ARGS);
    assert_int_equal(cmk_seal(key, NULL, 0, msg, 1, s), CMK_OK);
    assert_int_equal(cmk_seal_open(NULL, NULL, 0, s, sizeof(s), out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_seal_open(key, NULL, 1, s, sizeof(s), out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_seal_open(key, NULL, 0, NULL, sizeof(s), out),
                     CMK_E_ARGS);
    assert_int_equal(cmk_seal_open(key, NULL, 0, s, sizeof(s), NULL),
                     CMK_E_ARGS);
    assert_int_equal(cmk_seal_open(key, NULL, 0, s, sizeof(s), out), CMK_OK);
    assert_int_equal(out[0], msg[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_layout_is_libsodium),
        cmocka_unit_test(test_round_trip_and_fresh_nonce),
        cmocka_unit_test(test_every_change_refused),
        cmocka_unit_test(test_bad_arguments),
    };

    int failed;

    if (cmk_mech_init() != CKR_OK) /* as C_Initialize does */
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    cmk_mech_fini();
    return failed != 0;
}
