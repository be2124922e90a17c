/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: a tenant's "previous_keks" in the config loader
 * (core/settings_keks.c): a good list is read exactly (blobs,
 * commitments, expiry in Unix seconds; under dual control the provider
 * halves too), and each bad one is refused with the exact message naming
 * the field ("provider_kek" missing under dual control, given without).
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/settings.h"
#include "tests/lib/scratch.h"

static char dir[256];

/* Base64 of 32 bytes 0x00.., 0x01.., 0x02.. (commitments). */
#define C0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define C1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
#define C2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI="
#define C3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM="
#define C4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ="
#define C5 "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU="
#define KEK "\"kek\": \"Q01LRQEBAAJrMQAAAARhYmNk\""
#define E(kek, c, exp)                                                         \
    "{\"kek\": \"" kek "\", \"kek_commitment\": \"" c                          \
    "\", \"expires\": \"" exp "\"}"

static int setup(void **state)
{
    char path[300];
    int fd;

    (void)state;
    if (test_scratch_make("cmk-config-keks", dir, sizeof(dir)) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/acme.key", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "0123456789abcdef0123456789abcdef", 32) != 32)
        return -1;
    if (close(fd) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/platform.key", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "fedcba9876543210fedcba9876543210", 32) != 32)
        return -1;
    return close(fd);
}

static int teardown(void **state)
{
    (void)state;
    return test_scratch_remove(dir);
}

/* Loads a config whose one tenant has members extra (after its label,
 * provider, key and test_mode); *msg gets the loader's message. */
static struct cmk_config *load(const char *extra, char *msg, size_t len)
{
    struct cmk_config *cfg = NULL;
    char path[300];
    FILE *f;

    snprintf(path, sizeof(path), "%s/config.json", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"store_dir\": \"%s/store\", \"tenants\": [{\"label\": "
            "\"acme\", \"provider\": \"local\", \"key\": \"%s/acme.key\", "
            "\"login_required\": false%s%s}]}\n",
            dir, dir, extra[0] ? ", " : "", extra);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0600), 0);
    msg[0] = '\0';
    if (cmk_config_load(path, &cfg, msg, len) != CMK_OK)
        return NULL;
    return cfg;
}

/* The tenant with members extra is refused with message want. */
static void expect_refused(const char *extra, const char *want)
{
    char msg[1024], full[1400];
    struct cmk_config *cfg;

    cfg = load(extra, msg, sizeof(msg));
    if (cfg != NULL) {
        cmk_config_free(cfg);
        fail_msg("accepted: %s", extra);
    }
    snprintf(full, sizeof(full), "%s/config.json: %s", dir, want);
    assert_string_equal(msg, full);
}

/* The tenant's members: a kek with commitment C0, then prev. */
static void expect_bad(const char *prev, const char *want)
{
    char extra[4096];

    snprintf(extra, sizeof(extra), KEK ", \"kek_commitment\": \"" C0 "\"%s%s",
             prev[0] ? ", " : "", prev);
    expect_refused(extra, want);
}

static void test_good(void **state)
{
    struct cmk_config *cfg;
    const struct cmk_kms_cfg *k;
    char msg[1024];
    size_t i;

    (void)state;
    cfg =
        load(KEK ", \"kek_commitment\": \"" C0 "\", \"previous_keks\": [" E(
                 "YWJj", C1, "2026-12-05T03:00:00Z") ", " E("ZGVmZw==", C2,
                                                            "1970-01-01T00:00:"
                                                            "01Z") "]",
             msg, sizeof(msg));
    if (cfg == NULL)
        fail_msg("%s", msg);
    k = &cfg->tenants[0].kms;
    assert_int_equal(k->n_previous_keks, 2);
    assert_int_equal(k->previous_keks[0].blob_len, 3);
    assert_memory_equal(k->previous_keks[0].blob, "abc", 3);
    assert_int_equal(k->previous_keks[1].blob_len, 4);
    assert_memory_equal(k->previous_keks[1].blob, "defg", 4);
    for (i = 0; i < CMK_KEK_COMMITMENT_LEN; i++) {
        assert_int_equal(k->previous_keks[0].commitment[i], 1);
        assert_int_equal(k->previous_keks[1].commitment[i], 2);
    }
    assert_int_equal(k->previous_keks[0].expires, INT64_C(1796439600));
    assert_int_equal(k->previous_keks[1].expires, 1);
    cmk_config_free(cfg);
}

static void test_good_empty_and_absent(void **state)
{
    struct cmk_config *cfg;
    char msg[1024];

    (void)state;
    cfg = load(KEK ", \"kek_commitment\": \"" C0 "\", \"previous_keks\": []",
               msg, sizeof(msg));
    if (cfg == NULL)
        fail_msg("%s", msg);
    assert_int_equal(cfg->tenants[0].kms.n_previous_keks, 0);
    assert_null(cfg->tenants[0].kms.previous_keks);
    cmk_config_free(cfg);
    cfg = load(KEK ", \"kek_commitment\": \"" C0 "\"", msg, sizeof(msg));
    assert_non_null(cfg);
    assert_int_equal(cfg->tenants[0].kms.n_previous_keks, 0);
    cmk_config_free(cfg);
}

#define P "tenants[0].previous_keks"

static void test_bad_shapes(void **state)
{
    (void)state;
    expect_bad("\"previous_keks\": {}", P ": expected an array of objects");
    expect_bad("\"previous_keks\": \"x\"", P ": expected an array of objects");
    expect_bad("\"previous_keks\": [1]", P "[0]: expected an object");
    expect_bad("\"previous_keks\": [" E("YWJj", C1,
                                        "2026-12-05T03:00:00Z") ", {\"kek\": "
                                                                "\"YWJj\", "
                                                                "\"kek_"
                                                                "commitment\":"
                                                                " \"" C2 "\"}]",
               P "[1].expires: required field missing");
    expect_bad("\"previous_keks\": [{\"kek_commitment\": \"" C1
               "\", \"expires\": \"2026-12-05T03:00:00Z\"}]",
               P "[0].kek: required field missing");
    expect_bad("\"previous_keks\": [{\"kek\": \"YWJj\", \"kek_commitment\": "
               "\"" C1 "\", \"expires\": \"2026-12-05T03:00:00Z\", \"note\": "
               "\"x\"}]",
               P "[0].note: unknown field");
    expect_bad("\"previous_keks\": [{\"kek\": 5, \"kek_commitment\": \"" C1
               "\", \"expires\": \"2026-12-05T03:00:00Z\"}]",
               P "[0].kek: expected a string");
}

#define DATE_MSG ": expected a UTC date \"YYYY-MM-DDTHH:MM:SSZ\""

static void test_bad_values(void **state)
{
    static const char *const dates[] = {
        "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00",  "2026-01-01T00:00:00+00:00",
        "2026-01-01 00:00:00Z", "1969-12-31T23:59:59Z",
        "2026-1-01T00:00:00Z",  "",
    };
    char prev[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        snprintf(
            prev, sizeof(prev),
            "\"previous_keks\": [" E(
                "YWJj", C1, "2026-12-05T03:00:00Z") ", {\"kek\": \"YWJj\", "
                                                    "\"kek_commitment\": \"" C2
                                                    "\", \"expires\": \"%s\"}]",
            dates[i]);
        expect_bad(prev, P "[1].expires" DATE_MSG);
    }
    expect_bad("\"previous_keks\": [" E("YW*j", C1, "2026-12-05T03:00:00Z") "]",
               P "[0].kek: invalid base64");
    expect_bad("\"previous_keks\": [" E("", C1, "2026-12-05T03:00:00Z") "]",
               P "[0].kek: must not be empty");
    expect_bad(
        "\"previous_keks\": [" E("YWJj", "AAEC", "2026-12-05T03:00:00Z") "]",
        P "[0].kek_commitment: expected base64 of 32 bytes");
}

static void test_bad_set(void **state)
{
    (void)state;
    expect_bad("\"previous_keks\": [" E("YWJj", C0, "2026-12-05T03:00:00Z") "]",
               P "[0].kek_commitment: the same KEK as the tenant's "
                 "\"kek_commitment\"");
    expect_bad(
        "\"previous_keks\": [" E("YWJj", C1, "2026-12-05T03:00:00Z") ", " E(
            "YWJk", C1, "2026-12-04T03:00:00Z") "]",
        P "[1].kek_commitment: the same KEK as previous_keks[0]");
    expect_bad(
        "\"previous_keks\": [" E("YWJj", C1, "2026-12-05T03:00:00Z") ", " E(
            "YWJj", C2,
            "2026-12-05T03:00:00Z") ", " E("YWJj", C3,
                                           "2026-12-05T03:"
                                           "00:00Z") ", " E("YWJj", C4,
                                                            "2026-12-05T03:00:"
                                                            "00Z") ", " E("YWJ"
                                                                          "j",
                                                                          C5,
                                                                          "2026"
                                                                          "-12-"
                                                                          "05T0"
                                                                          "3:"
                                                                          "00:"
                                                                          "00Z") "]",
        P ": more than 4 entries");
}

static void test_bad_without_kek(void **state)
{
    char msg[1024], want[1400];
    struct cmk_config *cfg;

    (void)state;
    cfg = load("\"previous_keks\": [" E("YWJj", C1, "2026-12-05T03:00:00Z") "]",
               msg, sizeof(msg));
    assert_null(cfg);
    snprintf(want, sizeof(want),
             "%s/config.json: " P ": given without \"kek\" and "
             "\"kek_commitment\"",
             dir);
    assert_string_equal(msg, want);
    cfg = load(
        KEK ", \"previous_keks\": [" E("YWJj", C1, "2026-12-05T03:00:00Z") "]",
        msg, sizeof(msg));
    assert_null(cfg);
    assert_string_equal(msg, want);
}

/* A dual-control tenant's members before prev: its dual_control (the
 * platform key, both halves given) and a kek with commitment C0. */
static void dual_members(char *out, size_t len, const char *prev)
{
    snprintf(out, len,
             KEK ", \"kek_commitment\": \"" C0 "\", \"dual_control\": "
                 "{\"provider\": \"local\", \"key\": \"%s/platform.key\", "
                 "\"kek\": \"Q01LRQEBAAJrMQAAAARhYmNk\"}%s%s",
             dir, prev[0] ? ", " : "", prev);
}

#define ED(kek, pk, c, exp)                                                    \
    "{\"kek\": \"" kek "\", \"provider_kek\": \"" pk                           \
    "\", \"kek_commitment\": \"" c "\", \"expires\": \"" exp "\"}"

/* Under dual control each entry is a pair: "provider_kek" is read. */
static void test_good_dual(void **state)
{
    const struct cmk_kms_cfg *k;
    struct cmk_config *cfg;
    char extra[4096], msg[1024];

    (void)state;
    dual_members(extra, sizeof(extra),
                 "\"previous_keks\": [" ED("YWJj", "ZGVmZw==", C1,
                                           "2026-12-05T03:00:00Z") "]");
    cfg = load(extra, msg, sizeof(msg));
    if (cfg == NULL)
        fail_msg("%s", msg);
    k = &cfg->tenants[0].kms;
    assert_non_null(k->dual);
    assert_int_equal(k->n_previous_keks, 1);
    assert_int_equal(k->previous_keks[0].blob_len, 3);
    assert_memory_equal(k->previous_keks[0].blob, "abc", 3);
    assert_int_equal(k->previous_keks[0].provider_blob_len, 4);
    assert_memory_equal(k->previous_keks[0].provider_blob, "defg", 4);
    cmk_config_free(cfg);
}

static void expect_bad_dual(const char *prev, const char *want)
{
    char extra[4096];

    dual_members(extra, sizeof(extra), prev);
    expect_refused(extra, want);
}

static void test_bad_dual(void **state)
{
    (void)state;
    /* Required in every entry, the second one too. */
    expect_bad_dual(
        "\"previous_keks\": [" ED(
            "YWJj", "ZGVmZw==", C1,
            "2026-12-05T03:00:00Z") ", " E("YWJk", C2,
                                           "2026-12-04T03:00:00Z") "]",
        P "[1].provider_kek: required when the tenant has "
          "\"dual_control\" (the provider half of this KEK)");
    expect_bad_dual("\"previous_keks\": [" ED("YWJj", "ZG*mZw==", C1,
                                              "2026-12-05T03:00:00Z") "]",
                    P "[0].provider_kek: invalid base64");
    expect_bad_dual(
        "\"previous_keks\": [" ED("YWJj", "", C1, "2026-12-05T03:00:00Z") "]",
        P "[0].provider_kek: must not be empty");
    expect_bad_dual("\"previous_keks\": [{\"kek\": \"YWJj\", \"provider_kek\": "
                    "7, \"kek_commitment\": \"" C1 "\", \"expires\": "
                    "\"2026-12-05T03:00:00Z\"}]",
                    P "[0].provider_kek: expected a string");
}

/* Without dual control nothing would open a provider half. */
static void test_bad_provider_kek_without_dual(void **state)
{
    (void)state;
    expect_bad(
        "\"previous_keks\": [" E("YWJj", C1, "2026-12-05T03:00:00Z") ", " ED(
            "YWJk", "ZGVmZw==", C2, "2026-12-04T03:00:00Z") "]",
        P "[1].provider_kek: only for a tenant with \"dual_control\" "
          "(the provider half of a derived KEK)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_good_empty_and_absent),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_set),
        cmocka_unit_test(test_bad_without_kek),
        cmocka_unit_test(test_good_dual),
        cmocka_unit_test(test_bad_dual),
        cmocka_unit_test(test_bad_provider_kek_without_dual),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0;
}
