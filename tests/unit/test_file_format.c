/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the encrypted file format of cmk-tool (tool/file_format.h)
 * against the byte layout of docs/file-format.md: a header encoded and
 * parsed back, every refused header field, record headers with reserved
 * bits or a length over the chunk size, and the nonce and AAD of a chunk.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tool/file_format.h"

static void sample(struct tool_fhdr *h)
{
    memset(h, 0, sizeof(*h));
    h->version = TOOL_F_VERSION;
    h->path = TOOL_F_PATH_KEK;
    h->cipher = TOOL_F_AES_GCM;
    h->chunk = 65536;
    strcpy(h->label, "acme");
    h->wrapped_len = 3;
    memcpy(h->wrapped, "\xaa\xbb\xcc", 3);
    h->prefix_len = 4;
    memcpy(h->prefix, "\x01\x02\x03\x04", 4);
}

static const uint8_t sample_bytes[] = {
    'C', 'M', 'K', 'F', 1, 2, 1,    4,    0x00, 0x01, 0x00, 0x00, 4,
    'a', 'c', 'm', 'e', 0, 3, 0xaa, 0xbb, 0xcc, 1,    2,    3,    4,
};

/* The documented layout, and back. */
static void test_header_layout(void **state)
{
    struct tool_fhdr h, back;
    uint8_t buf[TOOL_F_HDR_MAX];
    char why[128];
    size_t n, rest;

    (void)state;
    sample(&h);
    n = tool_fhdr_encode(&h, buf);
    assert_int_equal(n, sizeof(sample_bytes));
    assert_memory_equal(buf, sample_bytes, n);
    assert_int_equal(tool_fhdr_fixed(buf, &back, &rest, why, sizeof(why)), 0);
    assert_int_equal(rest, 4 + 2);
    assert_int_equal(
        tool_fhdr_label(buf + TOOL_F_FIXED, &back, &rest, why, sizeof(why)), 0);
    assert_int_equal(rest, 3 + 4);
    tool_fhdr_tail(buf + TOOL_F_FIXED + 4 + 2, &back);
    assert_string_equal(back.label, "acme");
    assert_int_equal(back.path, TOOL_F_PATH_KEK);
    assert_int_equal(back.cipher, TOOL_F_AES_GCM);
    assert_int_equal(back.chunk, 65536);
    assert_int_equal(back.wrapped_len, 3);
    assert_memory_equal(back.wrapped, "\xaa\xbb\xcc", 3);
    assert_memory_equal(back.prefix, "\x01\x02\x03\x04", 4);
}

/* Headers encode refuses: the writer never makes a file a reader would
 * refuse. */
static void test_encode_refuses(void **state)
{
    struct tool_fhdr h;
    uint8_t buf[TOOL_F_HDR_MAX];

    (void)state;
    sample(&h);
    h.prefix_len = 16; /* AES-GCM takes 4 */
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
    sample(&h);
    h.chunk = TOOL_F_CHUNK_MIN - 1;
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
    sample(&h);
    h.chunk = TOOL_F_CHUNK_MAX + 1;
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
    sample(&h);
    h.label[0] = '\0';
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
    sample(&h);
    h.wrapped_len = 0;
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
    sample(&h);
    h.path = 3;
    assert_int_equal(tool_fhdr_encode(&h, buf), 0);
}

/* Byte i of the fixed part set to v must be refused with why. */
static void fixed_refused(size_t i, uint8_t v, const char *why_want)
{
    uint8_t buf[sizeof(sample_bytes)];
    struct tool_fhdr h;
    char why[128];
    size_t rest;

    memcpy(buf, sample_bytes, sizeof(buf));
    buf[i] = v;
    assert_int_equal(tool_fhdr_fixed(buf, &h, &rest, why, sizeof(why)), -1);
    assert_string_equal(why, why_want);
}

static void test_fixed_refused(void **state)
{
    const char *damaged = "damaged header (key path, cipher, nonce prefix, "
                          "chunk size or label length)";

    (void)state;
    fixed_refused(0, 'X', "not a cmk-tool encrypted file (bad magic)");
    fixed_refused(4, 2, "file format version 2 is not supported");
    fixed_refused(5, 0, damaged); /* path */
    fixed_refused(5, 3, damaged);
    fixed_refused(6, 0, damaged); /* cipher */
    fixed_refused(6, 3, damaged);
    fixed_refused(7, 16, damaged);   /* prefix length of another cipher */
    fixed_refused(9, 0x00, damaged); /* chunk 0 */
    fixed_refused(8, 0x02, damaged); /* chunk over 16 MiB */
    fixed_refused(12, 0, damaged);   /* label length */
    fixed_refused(12, 33, damaged);
}

static void test_label_refused(void **state)
{
    uint8_t buf[sizeof(sample_bytes)];
    struct tool_fhdr h;
    char why[128];
    size_t rest;

    (void)state;
    memcpy(buf, sample_bytes, sizeof(buf));
    assert_int_equal(tool_fhdr_fixed(buf, &h, &rest, why, sizeof(why)), 0);
    buf[14] = '\n';
    assert_int_equal(
        tool_fhdr_label(buf + TOOL_F_FIXED, &h, &rest, why, sizeof(why)), -1);
    assert_string_equal(why, "damaged header (tenant label)");
    memcpy(buf, sample_bytes, sizeof(buf));
    buf[17] = 0x10; /* W = 0x1003 > 4096 */
    assert_int_equal(
        tool_fhdr_label(buf + TOOL_F_FIXED, &h, &rest, why, sizeof(why)), -1);
    assert_string_equal(why, "damaged header (wrapped data key length)");
    buf[17] = 0;
    buf[18] = 0; /* W = 0 */
    assert_int_equal(
        tool_fhdr_label(buf + TOOL_F_FIXED, &h, &rest, why, sizeof(why)), -1);
}

static void test_records(void **state)
{
    uint8_t r[TOOL_F_REC];
    uint32_t n;
    bool final;

    (void)state;
    tool_frec_encode(r, 4096, false);
    assert_memory_equal(r, "\x00\x00\x10\x00", 4);
    assert_int_equal(tool_frec_decode(r, 4096, &n, &final), 0);
    assert_int_equal(n, 4096);
    assert_false(final);
    tool_frec_encode(r, 5, true);
    assert_memory_equal(r, "\x80\x00\x00\x05", 4);
    assert_int_equal(tool_frec_decode(r, 4096, &n, &final), 0);
    assert_int_equal(n, 5);
    assert_true(final);
    /* reserved bits 25..30, and a length over the chunk size */
    assert_int_equal(
        tool_frec_decode((const uint8_t *)"\x02\x00\x00\x05", 4096, &n, &final),
        -1);
    assert_int_equal(
        tool_frec_decode((const uint8_t *)"\x40\x00\x00\x05", 4096, &n, &final),
        -1);
    assert_int_equal(
        tool_frec_decode((const uint8_t *)"\x00\x00\x10\x01", 4096, &n, &final),
        -1);
}

static void test_nonce_aad(void **state)
{
    struct tool_fhdr h;
    uint8_t nonce[TOOL_F_NONCE_MAX], aad[TOOL_F_AAD], hash[TOOL_F_HASH];

    (void)state;
    sample(&h);
    assert_int_equal(tool_fnonce(&h, 0x0102030405060708ull, nonce), 12);
    assert_memory_equal(nonce,
                        "\x01\x02\x03\x04\x01\x02\x03\x04\x05\x06\x07\x08", 12);
    h.cipher = TOOL_F_XCHACHA;
    h.prefix_len = 16;
    memset(h.prefix, 0xee, 16);
    assert_int_equal(tool_fnonce(&h, 3, nonce), 24);
    assert_memory_equal(nonce + 16, "\0\0\0\0\0\0\0\x03", 8);
    memset(hash, 0x5a, sizeof(hash));
    tool_faad(hash, 9, true, aad);
    assert_memory_equal(aad, hash, 32);
    assert_memory_equal(aad + 32, "\0\0\0\0\0\0\0\x09\x01", 9);
    tool_faad(hash, 9, false, aad);
    assert_int_equal(aad[40], 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(tool_fcipher_from("aes-256-gcm"), TOOL_F_AES_GCM);
    assert_int_equal(tool_fcipher_from("xchacha20-poly1305"), TOOL_F_XCHACHA);
    assert_int_equal(tool_fcipher_from("chacha20-poly1305"), 0);
    assert_int_equal(tool_fpath_from("direct"), TOOL_F_PATH_DIRECT);
    assert_int_equal(tool_fpath_from("kek"), TOOL_F_PATH_KEK);
    assert_int_equal(tool_fpath_from("cmk"), 0);
    assert_int_equal(tool_fhdr_prefix_len(TOOL_F_AES_GCM), 4);
    assert_int_equal(tool_fhdr_prefix_len(TOOL_F_XCHACHA), 16);
    assert_int_equal(tool_fhdr_prefix_len(7), 0);
    assert_null(tool_fcipher_name(7));
    assert_null(tool_fpath_name(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_fixed_refused),
        cmocka_unit_test(test_label_refused),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_nonce_aad),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
