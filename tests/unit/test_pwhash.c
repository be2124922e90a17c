/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: mech/pwhash.c: a verifier made here is an Argon2id string that
 * verifies its PIN and nothing else; libsodium's own verifiers (what
 * configs hold today) verify too; malformed verifiers and bad arguments.
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
#include "mech/pwhash.h"

#define MIN CMK_PWHASH_MIN

static void test_make_and_verify(void **state)
{
    char v[CMK_PWHASH_STR_MAX], w[CMK_PWHASH_STR_MAX];

    (void)state;
    assert_int_equal(cmk_pwhash_str(v, "1234", 4, MIN), CMK_OK);
    assert_memory_equal(v, "$argon2id$", 10);
    assert_true(cmk_pwhash_verify(v, "1234", 4));
    assert_false(cmk_pwhash_verify(v, "1235", 4));
    assert_false(cmk_pwhash_verify(v, "1234", 3));
    assert_false(cmk_pwhash_verify(v, "12345", 5));
    /* a fresh salt every time */
    assert_int_equal(cmk_pwhash_str(w, "1234", 4, MIN), CMK_OK);
    assert_string_not_equal(v, w);
    /* the length counts, not a NUL */
    assert_int_equal(cmk_pwhash_str(v,
                                    "12\0"
                                    "34",
                                    5, MIN),
                     CMK_OK);
    assert_true(cmk_pwhash_verify(v,
                                  "12\0"
                                  "34",
                                  5));
    assert_false(cmk_pwhash_verify(v, "12", 2));
}

static void test_libsodium_verifier(void **state)
{
    char v[crypto_pwhash_STRBYTES];

    (void)state;
    assert_int_equal(crypto_pwhash_str(v, "pin", 3, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    assert_true(cmk_pwhash_verify(v, "pin", 3));
    assert_false(cmk_pwhash_verify(v, "pim", 3));
}

static void test_refused(void **state)
{
    char v[CMK_PWHASH_STR_MAX];

    (void)state;
    assert_false(cmk_pwhash_verify("", "1234", 4));
    assert_false(
        cmk_pwhash_verify("$argon2id$v=19$m=8,t=1,p=1$garbage", "1234", 4));
    assert_false(cmk_pwhash_verify(NULL, "1234", 4));
    assert_false(cmk_pwhash_verify("x", NULL, 4));
    assert_int_equal(cmk_pwhash_str(v, "1234", 4, (enum cmk_pwhash_cost)3),
                     CMK_E_ARGS);
    assert_int_equal(cmk_pwhash_str(v, "1234", 4, (enum cmk_pwhash_cost) - 1),
                     CMK_E_ARGS);
    assert_int_equal(cmk_pwhash_str(NULL, "1234", 4, MIN), CMK_E_ARGS);
    assert_int_equal(cmk_pwhash_str(v, NULL, 4, MIN), CMK_E_ARGS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_and_verify),
        cmocka_unit_test(test_libsodium_verifier),
        cmocka_unit_test(test_refused),
    };
    int failed;

    if (cmk_mech_init() != CKR_OK) /* as C_Initialize does */
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    cmk_mech_fini();
    return failed != 0;
}
