/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: envelope blob encoder and parser (mech/envelope.c): exact bytes
 * of a known blob of each version, round trips, and every malformation
 * refused.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mech/envelope.h"

static const uint8_t known[] = {
    'C', 'M',  'K',  'E',  0x01, 0x01, 0x00, 0x03, 'k',  'i',
    'd', 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
};

/* Version 2: the same, naming the key that sealed it ("arn"). */
static const uint8_t known2[] = {
    'C',  'M', 'K', 'E', 0x02, 0x01, 0x00, 0x03, 'k',  'i',  'd',  0x00,
    0x03, 'a', 'r', 'n', 0x00, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
};

static void test_encode_known_bytes(void **state)
{
    static const uint8_t ct[] = {0xde, 0xad, 0xbe, 0xef};
    struct cmk_buf b = {0};

    (void)state;
    assert_int_equal(cmk_envelope_encode(1, "kid", ct, sizeof(ct), &b), CMK_OK);
    assert_int_equal(b.len, sizeof(known));
    assert_memory_equal(b.p, known, sizeof(known));
    cmk_buf_free(&b);
}

static void test_round_trip(void **state)
{
    uint8_t ct[CMK_ENVELOPE_MAX_CT];
    char kid[CMK_ENVELOPE_MAX_KEY_ID + 1];
    struct cmk_envelope_view v;
    struct cmk_buf b = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ct); i++)
        ct[i] = (uint8_t)(i * 7);
    memset(kid, 'x', CMK_ENVELOPE_MAX_KEY_ID);
    kid[CMK_ENVELOPE_MAX_KEY_ID] = '\0';
    assert_int_equal(cmk_envelope_encode(5, kid, ct, sizeof(ct), &b), CMK_OK);
    assert_int_equal(b.len, 8 + 255 + 4 + 65536);
    assert_int_equal(cmk_envelope_parse(b.p, b.len, &v), CMK_OK);
    assert_int_equal(v.version, 1);
    assert_int_equal(v.provider_id, 5);
    assert_int_equal(v.key_id_len, 255);
    assert_memory_equal(v.key_id, kid, 255);
    assert_int_equal(v.ct_len, sizeof(ct));
    assert_memory_equal(v.ct, ct, sizeof(ct));
    assert_ptr_equal(v.ct, b.p + 8 + 255 + 4);
    cmk_buf_free(&b);
}

/* The one size function: what encode writes and parse accepts. */
static void test_size(void **state)
{
    (void)state;
    assert_int_equal(cmk_envelope_size(3, 4), sizeof(known));
    assert_int_equal(
        cmk_envelope_size(CMK_ENVELOPE_MAX_KEY_ID, CMK_ENVELOPE_MAX_CT),
        8 + 255 + 4 + 65536);
}

static void test_parse_known(void **state)
{
    struct cmk_envelope_view v;

    (void)state;
    assert_int_equal(cmk_envelope_parse(known, sizeof(known), &v), CMK_OK);
    assert_int_equal(v.provider_id, 1);
    assert_int_equal(v.key_id_len, 3);
    assert_memory_equal(v.key_id, "kid", 3);
    assert_int_equal(v.ct_len, 4);
    assert_ptr_equal(v.ct, known + 15);
}

static void test_encode_refuses(void **state)
{
    char kid[CMK_ENVELOPE_MAX_KEY_ID + 2];
    uint8_t ct[1] = {0};
    struct cmk_buf b = {0};

    (void)state;
    memset(kid, 'k', sizeof(kid) - 1);
    kid[sizeof(kid) - 1] = '\0'; /* 256 bytes */
    assert_int_equal(cmk_envelope_encode(1, kid, ct, 1, &b), CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode(1, "", ct, 1, &b), CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode(1, NULL, ct, 1, &b), CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode(1, "k", ct, 0, &b), CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode(1, "k", NULL, 1, &b), CMK_E_ARGS);
    assert_int_equal(
        cmk_envelope_encode(1, "k", ct, CMK_ENVELOPE_MAX_CT + 1, &b),
        CMK_E_ARGS);
    assert_null(b.p);
}

static cmk_err parse_copy(const uint8_t *p, size_t len)
{
    struct cmk_envelope_view v;

    return cmk_envelope_parse(p, len, &v);
}

static void test_v2_known_bytes(void **state)
{
    static const uint8_t ct[] = {0xde, 0xad, 0xbe, 0xef};
    struct cmk_envelope_view v;
    struct cmk_buf b = {0};

    (void)state;
    assert_int_equal(
        cmk_envelope_encode_sealed(1, "kid", "arn", ct, sizeof(ct), &b),
        CMK_OK);
    assert_int_equal(b.len, sizeof(known2));
    assert_memory_equal(b.p, known2, sizeof(known2));
    assert_int_equal(cmk_envelope_size_sealed(3, 3, 4), sizeof(known2));
    assert_int_equal(cmk_envelope_parse(b.p, b.len, &v), CMK_OK);
    assert_int_equal(v.version, 2);
    assert_int_equal(v.key_id_len, 3);
    assert_memory_equal(v.key_id, "kid", 3);
    assert_int_equal(v.sealed_by_len, 3);
    assert_ptr_equal(v.sealed_by, (const char *)b.p + 13);
    assert_int_equal(v.ct_len, 4);
    assert_ptr_equal(v.ct, b.p + 20);
    cmk_buf_free(&b);
    /* no sealed-by: version 1, byte for byte */
    assert_int_equal(cmk_envelope_encode_sealed(1, "kid", "", ct, 4, &b),
                     CMK_OK);
    assert_int_equal(b.len, sizeof(known));
    assert_memory_equal(b.p, known, sizeof(known));
    assert_int_equal(cmk_envelope_parse(b.p, b.len, &v), CMK_OK);
    assert_null(v.sealed_by);
    assert_int_equal(v.sealed_by_len, 0);
    cmk_buf_free(&b);
    assert_int_equal(cmk_envelope_encode_sealed(1, "kid", NULL, ct, 4, &b),
                     CMK_OK);
    assert_memory_equal(b.p, known, sizeof(known));
    cmk_buf_free(&b);
}

static void test_v2_round_trip_max(void **state)
{
    static uint8_t ct[CMK_ENVELOPE_MAX_CT];
    char kid[CMK_ENVELOPE_MAX_KEY_ID + 1], sb[CMK_ENVELOPE_MAX_SEALED_BY + 1];
    struct cmk_envelope_view v;
    struct cmk_buf b = {0};

    (void)state;
    memset(kid, 'k', sizeof(kid) - 1);
    kid[sizeof(kid) - 1] = '\0';
    memset(sb, '~', sizeof(sb) - 1); /* 0x7e: the last byte allowed */
    sb[0] = '!';                     /* 0x21: the first */
    sb[sizeof(sb) - 1] = '\0';
    assert_int_equal(cmk_envelope_encode_sealed(2, kid, sb, ct, sizeof(ct), &b),
                     CMK_OK);
    assert_int_equal(b.len, 8 + 255 + 2 + 255 + 4 + 65536);
    assert_int_equal(cmk_envelope_parse(b.p, b.len, &v), CMK_OK);
    assert_int_equal(v.sealed_by_len, 255);
    assert_memory_equal(v.sealed_by, sb, 255);
    assert_int_equal(v.ct_len, sizeof(ct));
    cmk_buf_free(&b);
}

static void test_v2_encode_refuses(void **state)
{
    char sb[CMK_ENVELOPE_MAX_SEALED_BY + 2];
    uint8_t ct[1] = {0};
    struct cmk_buf b = {0};

    (void)state;
    memset(sb, 'a', sizeof(sb) - 1);
    sb[sizeof(sb) - 1] = '\0'; /* 256 bytes */
    assert_int_equal(cmk_envelope_encode_sealed(1, "k", sb, ct, 1, &b),
                     CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode_sealed(1, "k", "a b", ct, 1, &b),
                     CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode_sealed(1, "k", "a\x7f", ct, 1, &b),
                     CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode_sealed(1, "k", "\xc3\xa9", ct, 1, &b),
                     CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode_sealed(1, "", "arn", ct, 1, &b),
                     CMK_E_ARGS);
    assert_int_equal(cmk_envelope_encode_sealed(1, "k", "arn", ct, 0, &b),
                     CMK_E_ARGS);
    assert_null(b.p);
}

static void test_v2_malformed(void **state)
{
    uint8_t b[sizeof(known2) + 1];
    size_t len;

    (void)state;
    memcpy(b, known2, sizeof(known2));
    b[4] = 3; /* no such version */
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    memcpy(b, known2, sizeof(known2));
    b[12] = 0; /* sealed-by length 0: a second encoding of version 1 */
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    b[12] = 0xff; /* more than remains */
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    b[11] = 0x01; /* 256 + 3: over the limit */
    b[12] = 0x03;
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    memcpy(b, known2, sizeof(known2));
    b[14] = ' '; /* a byte outside 0x21..0x7e */
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    b[14] = 0x80;
    assert_int_equal(parse_copy(b, sizeof(known2)), CMK_E_BAD_BLOB);
    memcpy(b, known2, sizeof(known2));
    b[sizeof(known2)] = 0; /* trailer */
    assert_int_equal(parse_copy(b, sizeof(known2) + 1), CMK_E_BAD_BLOB);
    for (len = 0; len < sizeof(known2); len++) {
        uint8_t *t = test_malloc(len ? len : 1);

        memcpy(t, known2, len);
        assert_int_equal(parse_copy(t, len), CMK_E_BAD_BLOB);
        test_free(t);
    }
    /* a version-1 blob read as version 2: its ct length becomes the
     * sealed-by length and nothing fits */
    memcpy(b, known, sizeof(known));
    b[4] = 2;
    assert_int_equal(parse_copy(b, sizeof(known)), CMK_E_BAD_BLOB);
}

static void test_bad_magic_version(void **state)
{
    uint8_t b[sizeof(known)];

    (void)state;
    memcpy(b, known, sizeof(b));
    b[0] = 'X';
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    memcpy(b, known, sizeof(b));
    b[3] = 'e';
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    memcpy(b, known, sizeof(b));
    b[4] = 2;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[4] = 0;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
}

static void test_bad_key_id_len(void **state)
{
    uint8_t b[sizeof(known)];

    (void)state;
    memcpy(b, known, sizeof(b));
    b[7] = 0; /* key id length 0 */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[7] = 12; /* more than remains */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[6] = 0x01; /* 256 + 3: over the 255 limit */
    b[7] = 0x03;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[6] = 0xff;
    b[7] = 0xff;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[6] = 0;
    b[7] = 4; /* swallows a ct length byte: lengths no longer fit */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
}

/* A key id of 256 bytes is refused even when the rest is well formed. */
static void test_key_id_over_max_with_data(void **state)
{
    uint8_t b[8 + 256 + 4 + 1];

    (void)state;
    memcpy(b, known, 6);
    b[6] = 0x01;
    b[7] = 0x00;
    memset(b + 8, 'k', 256);
    b[8 + 256] = 0;
    b[8 + 257] = 0;
    b[8 + 258] = 0;
    b[8 + 259] = 1;
    b[8 + 260] = 0xaa;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    /* the same bytes with a 255-byte key id parse */
    b[6] = 0x00;
    b[7] = 0xff;
    memmove(b + 8 + 255, b + 8 + 256, 5);
    assert_int_equal(parse_copy(b, sizeof(b) - 1), CMK_OK);
}

static void test_bad_ct_len(void **state)
{
    uint8_t b[sizeof(known)];

    (void)state;
    memcpy(b, known, sizeof(b));
    b[14] = 0; /* ct length 0 */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[14] = 5; /* more than remains */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[14] = 3; /* fewer than remain: trailing byte */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[11] = 0x00; /* 65537 */
    b[12] = 0x01;
    b[13] = 0x00;
    b[14] = 0x01;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[11] = 0xff; /* 2^32 - 1 */
    b[12] = 0xff;
    b[13] = 0xff;
    b[14] = 0xff;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
}

/* A ct length over 65536 is refused even when that many bytes follow. */
static void test_ct_over_max_with_data(void **state)
{
    static uint8_t b[15 + CMK_ENVELOPE_MAX_CT + 1];

    (void)state;
    memcpy(b, known, 11);
    b[11] = 0x00;
    b[12] = 0x01;
    b[13] = 0x00;
    b[14] = 0x01;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    b[14] = 0x00; /* exactly 65536 with one extra byte: trailer */
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
    assert_int_equal(parse_copy(b, sizeof(b) - 1), CMK_OK);
}

static void test_every_truncation(void **state)
{
    uint8_t b[sizeof(known)];
    size_t len;

    (void)state;
    for (len = 0; len < sizeof(known); len++) {
        /* a fresh copy of exactly len bytes so ASan sees any over-read */
        uint8_t *t = test_malloc(len ? len : 1);

        memcpy(t, known, len);
        assert_int_equal(parse_copy(t, len), CMK_E_BAD_BLOB);
        test_free(t);
    }
    memcpy(b, known, sizeof(b));
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_OK);
    assert_int_equal(parse_copy(NULL, 0), CMK_E_BAD_BLOB);
}

static void test_trailing_byte(void **state)
{
    uint8_t b[sizeof(known) + 1];

    (void)state;
    memcpy(b, known, sizeof(known));
    b[sizeof(known)] = 0;
    assert_int_equal(parse_copy(b, sizeof(b)), CMK_E_BAD_BLOB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_known_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_parse_known),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_v2_known_bytes),
        cmocka_unit_test(test_v2_round_trip_max),
        cmocka_unit_test(test_v2_encode_refuses),
        cmocka_unit_test(test_v2_malformed),
        cmocka_unit_test(test_bad_magic_version),
        cmocka_unit_test(test_bad_key_id_len),
        cmocka_unit_test(test_key_id_over_max_with_data),
        cmocka_unit_test(test_bad_ct_len),
        cmocka_unit_test(test_ct_over_max_with_data),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
