/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: audit records of KMS calls (kms_audit.h).
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/kms_audit.h"

struct cmk_audit *test_kms_audit_open(const char *path, const char *tenant,
                                      const char *provider)
{
    static const uint8_t chain_key[CMK_AUDIT_KEY_LEN] = {1, 2, 3};
    struct cmk_audit_opts o;
    struct cmk_audit_key k;
    struct cmk_audit *a = NULL;

    cmk_audit_opts_init(&o);
    o.fsync = CMK_FSYNC_NONE;
    memset(&k, 0, sizeof(k));
    k.key = chain_key;
    k.sealed = (const uint8_t *)"not-sealed";
    k.sealed_len = 10;
    k.tenant = tenant;
    k.provider = provider;
    assert_int_equal(cmk_audit_open(path, &o, &k, &a), CMK_OK);
    return a;
}

json_t *test_kms_audit_last(const char *path, const char *event)
{
    char line[4096], last[4096] = "", want[64];
    FILE *fp = fopen(path, "r");
    json_t *j;

    snprintf(want, sizeof(want), "\"event\":\"%s\"", event);
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strstr(line, want) != NULL)
            memcpy(last, line, sizeof(last));
    }
    fclose(fp);
    j = json_loads(last, 0, NULL);
    assert_non_null(j);
    return j;
}

void test_kms_audit_expect_str(json_t *rec, const char *name, const char *want)
{
    const char *got = json_string_value(json_object_get(rec, name));

    assert_non_null(got);
    assert_string_equal(got, want);
}
