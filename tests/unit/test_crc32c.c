/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: CRC32C (util/crc32c.h). The table and the SSE4.2 paths each give
 * the check value and the RFC 3720 B.4 vectors, agree with each other on
 * pseudo-random buffers of every length 0..300 at every start offset
 * 0..7, and continue a CRC across any split. The hardware cases skip on a
 * CPU without SSE4.2.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc32c.h"

typedef uint32_t (*crc_fn)(uint32_t crc, const void *p, size_t n);

static void vectors(crc_fn f)
{
    uint8_t buf[32];
    size_t i;

    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, NULL, 0), 0);
    memset(buf, 0x00, sizeof(buf));
    assert_int_equal(f(0, buf, sizeof(buf)), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(f(0, buf, sizeof(buf)), 0x62A8AB43u);
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, sizeof(buf)), 0x46DD794Eu);
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, sizeof(buf)), 0x113FDB5Cu);
}

/* Every split point of "123456789" continues to the same value. */
static void splits(crc_fn f)
{
    size_t i;

    for (i = 0; i <= 9; i++)
        assert_int_equal(f(f(0, "123456789", i), "123456789" + i, 9 - i),
                         0xE3069283u);
}

static void test_table(void **state)
{
    (void)state;
    vectors(cmk_crc32c_sw);
    splits(cmk_crc32c_sw);
}

static void test_hardware(void **state)
{
    (void)state;
    if (!cmk_crc32c_has_hw())
        skip();
    vectors(cmk_crc32c_hw);
    splits(cmk_crc32c_hw);
}

static void test_dispatch(void **state)
{
    (void)state;
    assert_int_equal(cmk_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(cmk_crc32c_update(0x12345678u, NULL, 0), 0x12345678u);
    splits(cmk_crc32c_update);
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Lengths 0..300 at offsets 0..7: the aligned middle and both unaligned
 * ends of the hardware loop. */
static void test_hw_matches_table(void **state)
{
    static uint8_t buf[300 + 8];
    uint32_t x = 0x9E3779B9u, sw, hwv;
    size_t len, off, i;

    (void)state;
    if (!cmk_crc32c_has_hw())
        skip();
    for (len = 0; len <= 300; len++) {
        for (off = 0; off < 8; off++) {
            for (i = 0; i < len; i++)
                buf[off + i] = (uint8_t)next(&x);
            sw = cmk_crc32c_sw(0, buf + off, len);
            hwv = cmk_crc32c_hw(0, buf + off, len);
            if (sw != hwv)
                fail_msg("length %zu offset %zu: table %08x, sse4.2 %08x", len,
                         off, sw, hwv);
            assert_int_equal(cmk_crc32c_hw(sw, buf, off),
                             cmk_crc32c_sw(sw, buf, off));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_hardware),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_hw_matches_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
