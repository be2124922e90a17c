/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the RFC 3339 reader and UTC writer (util/utc.h), as cmk-tool
 * import-key --valid-to uses them: every form RFC 3339 5.6 allows, the
 * offsets applied the right way round, and dates that do not exist,
 * out-of-range fields and stray characters refused.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/utc.h"

static void test_accepted(void **state)
{
    static const struct {
        const char *s;
        int64_t t;
    } ok[] = {
        {"2026-12-05T03:00:00Z", 1796439600},
        {"2026-12-05t03:00:00z", 1796439600},
        {"2026-12-05T03:00:00.999Z", 1796439600},
        {"2026-12-05T05:00:00+02:00", 1796439600},
        {"2026-12-04T21:30:00-05:30", 1796439600},
        {"2028-02-29T00:00:00Z", 1835395200},
        {"1970-01-01T00:00:00Z", 0},
    };
    int64_t t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        t = -1;
        assert_true(cmk_rfc3339_parse(ok[i].s, &t));
        assert_int_equal(t, ok[i].t);
    }
}

static void test_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "tomorrow",
        "2026-12-05",
        "2026-12-05T03:00:00",
        "2026-12-05 03:00:00Z",
        "2026-1-05T03:00:00Z",
        "2026-02-30T00:00:00Z",
        "2027-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-12-05T24:00:00Z",
        "2026-12-05T03:60:00Z",
        "2026-12-05T03:00:60Z",
        "2026-12-05T03:00:00.Z",
        "2026-12-05T03:00:00ZZ",
        "2026-12-05T03:00:00+2:00",
        "2026-12-05T03:00:00+24:00",
        "2026-12-05T03:00:00+02:60",
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:30:00+01:00",
        "2026-12-05T03:0a:00Z",
    };
    int64_t t = 42;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(cmk_rfc3339_parse(bad[i], &t));
    assert_false(cmk_rfc3339_parse(NULL, &t));
    assert_int_equal(t, 42);
}

static void test_format(void **state)
{
    char out[CMK_UTC_LEN + 1];

    (void)state;
    assert_true(cmk_utc_format(1796439600, out));
    assert_string_equal(out, "2026-12-05T03:00:00Z");
    assert_true(cmk_utc_format(0, out));
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    assert_false(cmk_utc_format(-1, out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
