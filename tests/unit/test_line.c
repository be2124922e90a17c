/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (audit): the record line's numbers and string escaping
 * (audit/line.h) against references written from the definitions:
 * decimal digits against printf's for every boundary and random values;
 * escaping against a byte-at-a-time escaper (RFC 8259 section 7, RFC
 * 3629 section 4, the 256-byte cap) for a special byte or sequence at
 * every position of strings up to 70 bytes and for random strings of
 * mixed bytes, past the cap.
 */
#include <config.h>

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/line.h"

static void expect_u64(uint64_t v)
{
    char want[32], got[32];
    size_t n;

    snprintf(want, sizeof(want), "%" PRIu64, v);
    memset(got, 'x', sizeof(got));
    n = cmk_line_u64(got, v);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(got, want, n);
    assert_int_equal(got[n], 'x'); /* nothing written past the digits */
}

static void test_u64(void **state)
{
    uint64_t p, v;
    int i;

    (void)state;
    for (v = 0; v < 100000; v++)
        expect_u64(v);
    for (p = 1, i = 0; i < 20; i++, p *= 10) { /* 10^i - 1, 10^i, +1 */
        expect_u64(p - 1);
        expect_u64(p);
        expect_u64(p + 1);
    }
    expect_u64(UINT64_MAX);
    expect_u64(UINT64_MAX - 1);
    expect_u64((uint64_t)INT64_MAX);
    for (i = 0; i < 100000; i++) {
        randombytes_buf(&v, sizeof(v));
        expect_u64(v >> (v & 63)); /* every magnitude */
    }
}

/* Length of the well-formed UTF-8 sequence at s[0..n), 0 if none (RFC
 * 3629 section 4, decoded: no overlong form, no surrogate, at most
 * U+10FFFF). */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] >= 0xc0 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf7) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* The escaped, capped text of s[0..n) (no NUL inside) into out; its
 * length. Each character is written whole or, when it would pass the
 * cap, replaced by the cut mark and the rest dropped. */
static size_t ref_escape(const unsigned char *s, size_t n, char *out)
{
    size_t i = 0, o = 0, len, k;
    char piece[8];

    while (i < n) {
        if (s[i] == '"' || s[i] == '\\') {
            piece[0] = '\\';
            piece[1] = (char)s[i];
            len = 2;
            k = 1;
        } else if (s[i] >= 0x20 && s[i] < 0x7f) {
            piece[0] = (char)s[i];
            len = k = 1;
        } else if ((k = s[i] >= 0x80 ? ref_utf8(s + i, n - i) : 0) != 0) {
            memcpy(piece, s + i, k);
            len = k;
        } else {
            snprintf(piece, sizeof(piece), "\\u%04x", s[i]);
            len = 6;
            k = 1;
        }
        if (o + len > CMK_LINE_STR_MAX) {
            memcpy(out + o, CMK_LINE_CUT_MARK, strlen(CMK_LINE_CUT_MARK));
            return o + strlen(CMK_LINE_CUT_MARK);
        }
        memcpy(out + o, piece, len);
        o += len;
        i += k;
    }
    return o;
}

/* s (NUL-terminated) escaped by the line builder and by the reference. */
static void expect_escape(const char *s)
{
    char want[CMK_LINE_STR_MAX + 16], buf[2048];
    struct cmk_line b;
    size_t n = ref_escape((const unsigned char *)s, strlen(s), want);

    cmk_line_init(&b, buf, sizeof(buf));
    cmk_line_escape(&b, s);
    assert_false(b.overflow);
    if (b.len != n || memcmp(buf, want, n) != 0)
        fail_msg("escaping %zu bytes: got %.*s, want %.*s", strlen(s),
                 (int)b.len, buf, (int)n, want);
}

/* One special byte or sequence at each position of a run of 'a's, for
 * every length to 70. */
static void test_escape_positions(void **state)
{
    static const char *const special[] = {
        "\"",
        "\\",
        "\x01",
        "\x1f",
        "\x7f",
        "\x80",
        "\xff",
        "\xc3\xa9",         /* U+00E9, well formed */
        "\xe2\x82\xac",     /* U+20AC */
        "\xf0\x9f\x94\x91", /* U+1F511 */
        "\xc0\xaf",         /* overlong */
        "\xed\xa0\x80",     /* a surrogate */
        " ",
        "~",
    };
    char s[96];
    size_t len, pos, i, k;

    (void)state;
    for (i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
        k = strlen(special[i]);
        for (len = 0; len <= 70; len++) {
            memset(s, 'a', len);
            s[len] = '\0';
            expect_escape(s);
            for (pos = 0; pos + k <= len; pos++) {
                memset(s, 'a', len);
                memcpy(s + pos, special[i], k);
                s[len] = '\0';
                expect_escape(s);
            }
        }
    }
}

/* Random strings of up to 400 bytes (past the cap) of mostly printable
 * ASCII, some escapes, and UTF-8 sequences whole or broken. */
static void test_escape_random(void **state)
{
    static const char *const parts[] = {
        "\"",
        "\\",
        "\n",
        "\x7f",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x94\x91",
        "\xc3",
        "\xe2\x82",
        "\xf4\x90\x80\x80",
        "\xff",
    };
    char s[512];
    size_t len, want, i, k;
    uint32_t r;
    int t;

    (void)state;
    for (t = 0; t < 20000; t++) {
        want = randombytes_uniform(400);
        for (len = 0; len < want;) {
            r = randombytes_random();
            if (r % 8 != 0) { /* a printable run */
                k = 1 + (r >> 8) % 24;
                for (i = 0; i < k && len < want; i++)
                    s[len++] = (char)(0x20 + randombytes_uniform(0x5f));
            } else {
                const char *p =
                    parts[(r >> 8) % (sizeof(parts) / sizeof(parts[0]))];

                k = strlen(p);
                if (len + k > want)
                    break;
                memcpy(s + len, p, k);
                len += k;
            }
        }
        s[len] = '\0';
        expect_escape(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_escape_positions),
        cmocka_unit_test(test_escape_random),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
