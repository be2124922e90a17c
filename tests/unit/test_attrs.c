/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: core/attrs, the attribute list of an object (set, replace,
 * typed getters, remove, deep copy, clear, CKA_VALUE in secure memory,
 * filling from a table).
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "util/attrs.h"
#include "util/secpool.h"

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 || cmk_secpool_init() != CMK_OK ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    cmk_secpool_fini();
    return 0;
}

static void test_set_get_replace(void **state)
{
    struct cmk_attrs a = {0};
    const struct cmk_attr *at;

    (void)state;
    assert_null(cmk_attrs_get(&a, CKA_LABEL));
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "one", 3), CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_ID, "\x01\x02", 2), CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "second", 6), CMK_OK);
    assert_int_equal(a.n, 2);
    at = cmk_attrs_get(&a, CKA_LABEL);
    assert_non_null(at);
    assert_int_equal(at->len, 6);
    assert_memory_equal(at->val, "second", 6);
    at = cmk_attrs_get(&a, CKA_ID);
    assert_non_null(at);
    assert_memory_equal(at->val, "\x01\x02", 2);
    /* Empty value: val is NULL iff len == 0. */
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, NULL, 0), CMK_OK);
    at = cmk_attrs_get(&a, CKA_LABEL);
    assert_non_null(at);
    assert_int_equal(at->len, 0);
    assert_null(at->val);
    cmk_attrs_clear(&a);
}

static void test_set_refuses_bad_args(void **state)
{
    struct cmk_attrs a = {0};

    (void)state;
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, NULL, 3), CMK_E_ARGS);
    assert_int_equal(cmk_attrs_set(NULL, CKA_LABEL, "x", 1), CMK_E_ARGS);
    assert_int_equal(a.n, 0);
    assert_null(cmk_attrs_get(NULL, CKA_LABEL));
    assert_int_equal(cmk_attrs_copy(NULL, &a), CMK_E_ARGS);
    assert_int_equal(cmk_attrs_copy(&a, NULL), CMK_E_ARGS);
    cmk_attrs_remove(NULL, CKA_LABEL);
    cmk_attrs_clear(NULL);
}

static void test_typed(void **state)
{
    struct cmk_attrs a = {0};
    const struct cmk_attr *at;

    (void)state;
    assert_int_equal(cmk_attrs_set_bool(&a, CKA_TOKEN, true), CMK_OK);
    assert_int_equal(cmk_attrs_set_bool(&a, CKA_PRIVATE, false), CMK_OK);
    assert_int_equal(cmk_attrs_set_ulong(&a, CKA_CLASS, CKO_SECRET_KEY),
                     CMK_OK);
    at = cmk_attrs_get(&a, CKA_TOKEN);
    assert_int_equal(at->len, sizeof(CK_BBOOL));
    assert_int_equal(at->val[0], CK_TRUE);
    assert_true(cmk_attrs_bool(&a, CKA_TOKEN, false));
    assert_false(cmk_attrs_bool(&a, CKA_PRIVATE, true));
    assert_int_equal(cmk_attrs_ulong(&a, CKA_CLASS, 99), CKO_SECRET_KEY);
    /* Absent: the default. */
    assert_true(cmk_attrs_bool(&a, CKA_SENSITIVE, true));
    assert_false(cmk_attrs_bool(&a, CKA_SENSITIVE, false));
    assert_int_equal(cmk_attrs_ulong(&a, CKA_KEY_TYPE, 7), 7);
    /* Wrong length: the default, never a partial read. */
    assert_int_equal(cmk_attrs_set(&a, CKA_SENSITIVE, "\x01\x01", 2), CMK_OK);
    assert_false(cmk_attrs_bool(&a, CKA_SENSITIVE, false));
    assert_int_equal(cmk_attrs_ulong(&a, CKA_TOKEN, 5), 5);
    assert_false(cmk_attrs_bool(&a, CKA_CLASS, false));
    cmk_attrs_clear(&a);
}

/* Values up to CMK_SECPOOL_MAX live in the locked pool; larger ones in
 * sodium_malloc memory, which ends at a guard page. */
static bool ends_at_page(const struct cmk_attr *at)
{
    uintptr_t end = (uintptr_t)(at->val + at->len);
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

    if (at->len <= CMK_SECPOOL_MAX)
        return cmk_secpool_owns(at->val);
    return (page - end % page) % page < 16;
}

static void test_value_in_secure_memory(void **state)
{
    static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t big[100] = {7};
    struct cmk_attrs a = {0}, b = {0};
    const struct cmk_attr *at;

    (void)state;
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, key, sizeof(key)), CMK_OK);
    at = cmk_attrs_get(&a, CKA_VALUE);
    assert_non_null(at);
    assert_memory_equal(at->val, key, sizeof(key));
    assert_true(ends_at_page(at));
    /* Replace and copy keep it there. */
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, big, sizeof(big)), CMK_OK);
    assert_true(ends_at_page(cmk_attrs_get(&a, CKA_VALUE)));
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, key, 17), CMK_OK);
    assert_true(ends_at_page(cmk_attrs_get(&a, CKA_VALUE)));
    assert_int_equal(cmk_attrs_copy(&b, &a), CMK_OK);
    at = cmk_attrs_get(&b, CKA_VALUE);
    assert_int_equal(at->len, 17);
    assert_memory_equal(at->val, key, 17);
    assert_true(ends_at_page(at));
    cmk_attrs_clear(&a);
    cmk_attrs_clear(&b);
}

static void test_remove_keeps_order(void **state)
{
    struct cmk_attrs a = {0};
    CK_ATTRIBUTE_TYPE t;

    (void)state;
    for (t = 0; t < 40; t++) /* also grows past the first capacity */
        assert_int_equal(cmk_attrs_set_ulong(&a, 0x1000 + t, t), CMK_OK);
    assert_int_equal(a.n, 40);
    cmk_attrs_remove(&a, 0x1000 + 5);
    cmk_attrs_remove(&a, 0x1000 + 39);
    cmk_attrs_remove(&a, 0x1000 + 0);
    cmk_attrs_remove(&a, 0x9999); /* absent: no-op */
    assert_int_equal(a.n, 37);
    assert_null(cmk_attrs_get(&a, 0x1000 + 5));
    assert_int_equal(a.v[0].type, 0x1001);
    assert_int_equal(a.v[3].type, 0x1004);
    assert_int_equal(a.v[4].type, 0x1006);
    assert_int_equal(a.v[36].type, 0x1000 + 38);
    assert_int_equal(cmk_attrs_ulong(&a, 0x1000 + 20, 0), 20);
    cmk_attrs_clear(&a);
}

static void test_copy_is_deep(void **state)
{
    struct cmk_attrs a = {0}, b = {0};

    (void)state;
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "src", 3), CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, "0123456789abcdef", 16),
                     CMK_OK);
    assert_int_equal(cmk_attrs_set(&b, CKA_ID, "old", 3), CMK_OK);
    assert_int_equal(cmk_attrs_copy(&b, &a), CMK_OK);
    assert_null(cmk_attrs_get(&b, CKA_ID)); /* dst replaced, not merged */
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "changed", 7), CMK_OK);
    assert_ptr_not_equal(cmk_attrs_get(&a, CKA_VALUE)->val,
                         cmk_attrs_get(&b, CKA_VALUE)->val);
    assert_int_equal(cmk_attrs_get(&b, CKA_LABEL)->len, 3);
    assert_memory_equal(cmk_attrs_get(&b, CKA_LABEL)->val, "src", 3);
    /* Copy onto itself keeps the content. */
    assert_int_equal(cmk_attrs_copy(&b, &b), CMK_OK);
    assert_int_equal(b.n, 2);
    assert_memory_equal(cmk_attrs_get(&b, CKA_VALUE)->val, "0123456789abcdef",
                        16);
    cmk_attrs_clear(&a);
    cmk_attrs_clear(&b);
}

/* A list filled from a table in one go: its own copies of the values,
 * usable as any list; refusals leave it empty. */
static void test_init_inline(void **state)
{
    struct cmk_attr tbl[3];
    struct cmk_attrs a = {0};
    CK_ULONG ul = 0x1234;
    const struct cmk_attr *at;

    (void)state;
    memset(tbl, 0, sizeof(tbl));
    tbl[0].type = CKA_TOKEN;
    tbl[0].len = 1;
    tbl[0].inl[0] = CK_TRUE;
    tbl[1].type = CKA_KEY_TYPE;
    tbl[1].len = sizeof(ul);
    memcpy(tbl[1].inl, &ul, sizeof(ul));
    tbl[2].type = CKA_VALUE; /* empty: nothing secret */
    assert_int_equal(cmk_attrs_init_inline(&a, tbl, 3), CMK_OK);
    assert_int_equal(a.n, 3);
    tbl[0].inl[0] = CK_FALSE; /* the list holds its own copy */
    assert_true(cmk_attrs_bool(&a, CKA_TOKEN, false));
    assert_int_equal(cmk_attrs_ulong(&a, CKA_KEY_TYPE, 0), 0x1234);
    at = cmk_attrs_get(&a, CKA_VALUE);
    assert_non_null(at);
    assert_int_equal(at->len, 0);
    assert_null(at->val);
    at = cmk_attrs_get(&a, CKA_KEY_TYPE);
    assert_ptr_equal(at->val, at->inl);
    assert_int_equal(cmk_attrs_set_bool(&a, CKA_TOKEN, false), CMK_OK);
    assert_false(cmk_attrs_bool(&a, CKA_TOKEN, true));
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "x", 1), CMK_OK);
    assert_int_equal(a.n, 4);
    /* Not empty: refused, unchanged. */
    assert_int_equal(cmk_attrs_init_inline(&a, tbl, 1), CMK_E_ARGS);
    assert_int_equal(a.n, 4);
    cmk_attrs_clear(&a);
    /* A non-empty CKA_VALUE, or a value too long to be inline. */
    tbl[2].len = 1;
    assert_int_equal(cmk_attrs_init_inline(&a, tbl, 3), CMK_E_ARGS);
    assert_int_equal(a.n, 0);
    tbl[2].len = 0;
    tbl[1].len = 17;
    assert_int_equal(cmk_attrs_init_inline(&a, tbl, 3), CMK_E_ARGS);
    assert_int_equal(a.n, 0);
    assert_int_equal(cmk_attrs_init_inline(&a, NULL, 0), CMK_OK);
    assert_int_equal(a.n, 0);
    cmk_attrs_clear(&a);
}

static void test_clear_leaves_empty(void **state)
{
    struct cmk_attrs a = {0};

    (void)state;
    cmk_attrs_clear(&a); /* empty: fine */
    assert_int_equal(cmk_attrs_set(&a, CKA_VALUE, "k", 1), CMK_OK);
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "l", 1), CMK_OK);
    cmk_attrs_clear(&a);
    assert_null(a.v);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.cap, 0);
    assert_null(cmk_attrs_get(&a, CKA_VALUE));
    /* Usable again after clear. */
    assert_int_equal(cmk_attrs_set(&a, CKA_LABEL, "again", 5), CMK_OK);
    assert_int_equal(a.n, 1);
    cmk_attrs_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_replace),
        cmocka_unit_test(test_set_refuses_bad_args),
        cmocka_unit_test(test_typed),
        cmocka_unit_test(test_value_in_secure_memory),
        cmocka_unit_test(test_remove_keeps_order),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_init_inline),
        cmocka_unit_test(test_clear_leaves_empty),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}
