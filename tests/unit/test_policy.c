/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: core/policy.c, the secret-key attribute rules of PKCS#11 3.0
 * (creation defaults and checks, set/copy, get, find matching, key use).
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "core/policy.h"
#include "mech/mech.h"

#define N(t) ((CK_ULONG)(sizeof(t) / sizeof((t)[0])))
/* clang-format off */
#define BOOLA(type, v) {(type), &(v), sizeof(CK_BBOOL)}
#define ULONGA(type, v) {(type), &(v), sizeof(CK_ULONG)}
/* clang-format on */

static CK_BBOOL yes = CK_TRUE, no = CK_FALSE, two = 2, ff = 0xFF;
static CK_ULONG len16 = 16, len17 = 17, len24 = 24, len32 = 32;
static CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY, data_class = CKO_DATA;
static CK_KEY_TYPE aes = CKK_AES, chacha = CKK_CHACHA20,
                   generic = CKK_GENERIC_SECRET;
static CK_ULONG any_ulong = 1;

/* AES-ECB of a zero block under the all-zero AES-256 key and under the
 * AES-128 key 000102..0f, first 3 bytes (openssl enc -aes-*-ecb -nopad). */
static uint8_t zero_key[32];
static uint8_t kcv_zero256[3] = {0xdc, 0x95, 0xc0};
static uint8_t key128[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                             8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t kcv_key128[3] = {0xc6, 0xa1, 0x3b};

/* Every standard attribute of a secret key, as pkcs11-dump asks. */
static const CK_ATTRIBUTE_TYPE all_std[] = {
    CKA_CLASS,
    CKA_TOKEN,
    CKA_PRIVATE,
    CKA_MODIFIABLE,
    CKA_LABEL,
    CKA_COPYABLE,
    CKA_DESTROYABLE,
    CKA_UNIQUE_ID,
    CKA_KEY_TYPE,
    CKA_ID,
    CKA_START_DATE,
    CKA_END_DATE,
    CKA_DERIVE,
    CKA_LOCAL,
    CKA_KEY_GEN_MECHANISM,
    CKA_ALLOWED_MECHANISMS,
    CKA_SENSITIVE,
    CKA_ENCRYPT,
    CKA_DECRYPT,
    CKA_SIGN,
    CKA_VERIFY,
    CKA_WRAP,
    CKA_UNWRAP,
    CKA_EXTRACTABLE,
    CKA_ALWAYS_SENSITIVE,
    CKA_NEVER_EXTRACTABLE,
    CKA_CHECK_VALUE,
    CKA_WRAP_WITH_TRUSTED,
    CKA_TRUSTED,
    CKA_WRAP_TEMPLATE,
    CKA_UNWRAP_TEMPLATE,
    CKA_VALUE,
    CKA_VALUE_LEN,
};
#define N_STD (sizeof(all_std) / sizeof(all_std[0]))

static int group_setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

/* ---- helpers ---- */

static struct cmk_new_key nk_of(enum cmk_origin origin)
{
    struct cmk_new_key nk = {
        .origin = origin,
        .mech_key_type = (CK_ULONG)-1,
        .gen_mech = CK_UNAVAILABLE_INFORMATION,
        .logged_in = true,
        .rw_session = true,
    };

    if (origin == CMK_ORIGIN_GENERATE) {
        nk.mech_key_type = CKK_AES;
        nk.gen_mech = CKM_AES_KEY_GEN;
    }
    return nk;
}

static CK_RV gen_aes(CK_ATTRIBUTE *t, CK_ULONG n, struct cmk_attrs *out)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_GENERATE);

    return cmk_policy_new_secret(&nk, t, n, out);
}

static CK_RV create(CK_ATTRIBUTE *t, CK_ULONG n, struct cmk_attrs *out)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_CREATE);

    return cmk_policy_new_secret(&nk, t, n, out);
}

static CK_RV unwrap(const uint8_t *v, size_t len, CK_ATTRIBUTE *t, CK_ULONG n,
                    struct cmk_attrs *out)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_UNWRAP);

    nk.value = v;
    nk.value_len = len;
    return cmk_policy_new_secret(&nk, t, n, out);
}

static bool abool(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);

    assert_non_null(at);
    assert_int_equal(at->len, sizeof(CK_BBOOL));
    assert_true(at->val[0] == CK_TRUE || at->val[0] == CK_FALSE);
    return at->val[0] == CK_TRUE;
}

static CK_ULONG aulong(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);
    CK_ULONG v;

    assert_non_null(at);
    assert_int_equal(at->len, sizeof(CK_ULONG));
    memcpy(&v, at->val, sizeof(v));
    return v;
}

static size_t alen(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE type)
{
    const struct cmk_attr *at = cmk_attrs_get(a, type);

    assert_non_null(at);
    return at->len;
}

static void assert_empty(const struct cmk_attrs *a)
{
    assert_int_equal(a->n, 0);
    assert_null(a->v);
}

/* A non-sensitive, extractable AES-256 key with the all-zero value. */
static void make_plain(struct cmk_attrs *a)
{
    CK_ATTRIBUTE t[] = {
        ULONGA(CKA_KEY_TYPE, aes),
        {CKA_VALUE, zero_key, sizeof(zero_key)},
        BOOLA(CKA_SENSITIVE, no),
    };

    assert_int_equal(create(t, N(t), a), CKR_OK);
}

static void make_cmk(struct cmk_attrs *a)
{
    static const uint8_t id[] = {0xc0, 0xfe};

    assert_int_equal(cmk_policy_cmk_object("tenant-a", id, sizeof(id), "local",
                                           "keys/tenant-a", a),
                     CKR_OK);
}

/* ---- C_GenerateKey ---- */

static void test_generate_aes256_defaults(void **state)
{
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32)};
    struct cmk_attrs a = {0};
    const struct cmk_attr *v;
    (void)state;

    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_CLASS), CKO_SECRET_KEY);
    assert_int_equal(aulong(&a, CKA_KEY_TYPE), CKK_AES);
    assert_false(abool(&a, CKA_TOKEN));
    assert_true(abool(&a, CKA_PRIVATE));
    assert_true(abool(&a, CKA_MODIFIABLE));
    assert_true(abool(&a, CKA_COPYABLE));
    assert_true(abool(&a, CKA_DESTROYABLE));
    assert_int_equal(alen(&a, CKA_LABEL), 0);
    assert_int_equal(alen(&a, CKA_ID), 0);
    assert_int_equal(alen(&a, CKA_START_DATE), 0);
    assert_int_equal(alen(&a, CKA_END_DATE), 0);
    assert_int_equal(alen(&a, CKA_ALLOWED_MECHANISMS), 0);
    assert_false(abool(&a, CKA_DERIVE));
    assert_true(abool(&a, CKA_SENSITIVE));
    assert_true(abool(&a, CKA_ENCRYPT));
    assert_true(abool(&a, CKA_DECRYPT));
    assert_false(abool(&a, CKA_SIGN));
    assert_false(abool(&a, CKA_VERIFY));
    /* Key separation: a key that names no role is a data key. */
    assert_false(abool(&a, CKA_WRAP));
    assert_false(abool(&a, CKA_UNWRAP));
    assert_true(abool(&a, CKA_EXTRACTABLE));
    assert_false(abool(&a, CKA_WRAP_WITH_TRUSTED));
    assert_false(abool(&a, CKA_TRUSTED));
    assert_true(abool(&a, CKA_LOCAL));
    assert_int_equal(aulong(&a, CKA_KEY_GEN_MECHANISM), CKM_AES_KEY_GEN);
    assert_true(abool(&a, CKA_ALWAYS_SENSITIVE));
    assert_false(abool(&a, CKA_NEVER_EXTRACTABLE)); /* = !EXTRACTABLE */
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 32);
    assert_int_equal(alen(&a, CKA_CHECK_VALUE), 3);
    v = cmk_attrs_get(&a, CKA_VALUE);
    assert_non_null(v);
    assert_int_equal(v->len, 32);
    assert_memory_not_equal(v->val, zero_key, 32); /* random */
    assert_null(cmk_attrs_get(&a, CKA_UNIQUE_ID)); /* the caller's */
    cmk_attrs_clear(&a);
}

static void test_generate_flags_derived(void **state)
{
    CK_ATTRIBUTE locked[] = {ULONGA(CKA_VALUE_LEN, len16),
                             BOOLA(CKA_EXTRACTABLE, no)};
    CK_ATTRIBUTE open[] = {ULONGA(CKA_VALUE_LEN, len24),
                           BOOLA(CKA_SENSITIVE, no)};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(locked, N(locked), &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 16);
    assert_true(abool(&a, CKA_ALWAYS_SENSITIVE));
    assert_true(abool(&a, CKA_NEVER_EXTRACTABLE));
    cmk_attrs_clear(&a);

    assert_int_equal(gen_aes(open, N(open), &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 24);
    assert_int_equal(alen(&a, CKA_VALUE), 24);
    assert_false(abool(&a, CKA_ALWAYS_SENSITIVE));
    assert_false(abool(&a, CKA_NEVER_EXTRACTABLE));
    cmk_attrs_clear(&a);
}

static void test_generate_value_len(void **state)
{
    CK_ATTRIBUTE bad[] = {ULONGA(CKA_VALUE_LEN, len17)};
    CK_ATTRIBUTE none[] = {BOOLA(CKA_ENCRYPT, yes)};
    CK_ATTRIBUTE short_ulong[] = {{CKA_VALUE_LEN, &len32, 4}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(bad, N(bad), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
    assert_int_equal(gen_aes(none, N(none), &a), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(gen_aes(NULL, 0, &a), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(gen_aes(short_ulong, N(short_ulong), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
}

static void test_generate_chacha20(void **state)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_GENERATE);
    CK_ATTRIBUTE bad[] = {ULONGA(CKA_VALUE_LEN, len16)};
    CK_ATTRIBUTE good[] = {ULONGA(CKA_VALUE_LEN, len32),
                           ULONGA(CKA_KEY_TYPE, chacha)};
    struct cmk_attrs a = {0};
    (void)state;

    nk.mech_key_type = CKK_CHACHA20;
    nk.gen_mech = CKM_CHACHA20_KEY_GEN;
    assert_int_equal(cmk_policy_new_secret(&nk, NULL, 0, &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_KEY_TYPE), CKK_CHACHA20);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 32);
    assert_int_equal(alen(&a, CKA_VALUE), 32);
    assert_int_equal(alen(&a, CKA_CHECK_VALUE), 0); /* none defined */
    assert_int_equal(aulong(&a, CKA_KEY_GEN_MECHANISM), CKM_CHACHA20_KEY_GEN);
    cmk_attrs_clear(&a);
    assert_int_equal(cmk_policy_new_secret(&nk, good, N(good), &a), CKR_OK);
    cmk_attrs_clear(&a);
    assert_int_equal(cmk_policy_new_secret(&nk, bad, N(bad), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
}

static void test_generate_key_type(void **state)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_GENERATE);
    CK_ATTRIBUTE same[] = {ULONGA(CKA_VALUE_LEN, len32),
                           ULONGA(CKA_KEY_TYPE, aes)};
    CK_ATTRIBUTE other[] = {ULONGA(CKA_VALUE_LEN, len32),
                            ULONGA(CKA_KEY_TYPE, chacha)};
    CK_ATTRIBUTE value[] = {ULONGA(CKA_VALUE_LEN, len32),
                            {CKA_VALUE, zero_key, 32}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(same, N(same), &a), CKR_OK);
    cmk_attrs_clear(&a);
    assert_int_equal(gen_aes(other, N(other), &a), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(gen_aes(value, N(value), &a), CKR_ATTRIBUTE_READ_ONLY);
    nk.mech_key_type = CKK_GENERIC_SECRET;
    assert_int_equal(cmk_policy_new_secret(&nk, same, N(same), &a),
                     CKR_MECHANISM_INVALID);
    assert_empty(&a);
}

/* ---- C_CreateObject ---- */

static void test_create_check_value_known(void **state)
{
    CK_ATTRIBUTE t256[] = {ULONGA(CKA_CLASS, secret_class),
                           ULONGA(CKA_KEY_TYPE, aes),
                           {CKA_VALUE, zero_key, sizeof(zero_key)}};
    CK_ATTRIBUTE t128[] = {ULONGA(CKA_KEY_TYPE, aes),
                           {CKA_VALUE, key128, sizeof(key128)},
                           {CKA_CHECK_VALUE, kcv_key128, 3}};
    struct cmk_attrs a = {0};
    const struct cmk_attr *at;
    (void)state;

    assert_int_equal(create(t256, N(t256), &a), CKR_OK);
    at = cmk_attrs_get(&a, CKA_CHECK_VALUE);
    assert_non_null(at);
    assert_int_equal(at->len, 3);
    assert_memory_equal(at->val, kcv_zero256, 3);
    at = cmk_attrs_get(&a, CKA_VALUE);
    assert_int_equal(at->len, 32);
    assert_memory_equal(at->val, zero_key, 32);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 32);
    assert_false(abool(&a, CKA_LOCAL));
    assert_int_equal(aulong(&a, CKA_KEY_GEN_MECHANISM),
                     CK_UNAVAILABLE_INFORMATION);
    assert_false(abool(&a, CKA_ALWAYS_SENSITIVE)); /* SENSITIVE is TRUE */
    assert_false(abool(&a, CKA_NEVER_EXTRACTABLE));
    cmk_attrs_clear(&a);

    assert_int_equal(create(t128, N(t128), &a), CKR_OK); /* matches */
    at = cmk_attrs_get(&a, CKA_CHECK_VALUE);
    assert_memory_equal(at->val, kcv_key128, 3);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 16);
    cmk_attrs_clear(&a);
}

static void test_create_check_value_mismatch(void **state)
{
    uint8_t wrong[3] = {0xdc, 0x95, 0xc1};
    CK_ATTRIBUTE bad[] = {ULONGA(CKA_KEY_TYPE, aes),
                          {CKA_VALUE, zero_key, 32},
                          {CKA_CHECK_VALUE, wrong, 3}};
    CK_ATTRIBUTE longer[] = {ULONGA(CKA_KEY_TYPE, aes),
                             {CKA_VALUE, zero_key, 32},
                             {CKA_CHECK_VALUE, kcv_zero256, 2}};
    CK_ATTRIBUTE empty[] = {ULONGA(CKA_KEY_TYPE, aes),
                            {CKA_VALUE, zero_key, 32},
                            {CKA_CHECK_VALUE, NULL, 0}};
    CK_ATTRIBUTE chacha_cv[] = {ULONGA(CKA_KEY_TYPE, chacha),
                                {CKA_VALUE, zero_key, 32},
                                {CKA_CHECK_VALUE, kcv_zero256, 3}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(create(bad, N(bad), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
    assert_int_equal(create(longer, N(longer), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(create(chacha_cv, N(chacha_cv), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(create(empty, N(empty), &a), CKR_OK); /* none kept */
    assert_int_equal(alen(&a, CKA_CHECK_VALUE), 0);
    cmk_attrs_clear(&a);
}

static void test_create_required(void **state)
{
    CK_ATTRIBUTE no_value[] = {ULONGA(CKA_KEY_TYPE, aes)};
    CK_ATTRIBUTE no_type[] = {{CKA_VALUE, zero_key, 32}};
    CK_ATTRIBUTE with_len[] = {ULONGA(CKA_KEY_TYPE, aes),
                               {CKA_VALUE, zero_key, 32},
                               ULONGA(CKA_VALUE_LEN, len32)};
    CK_ATTRIBUTE bad_len[] = {ULONGA(CKA_KEY_TYPE, aes),
                              {CKA_VALUE, zero_key, 17}};
    CK_ATTRIBUTE bad_type[] = {ULONGA(CKA_KEY_TYPE, generic),
                               {CKA_VALUE, zero_key, 32}};
    CK_ATTRIBUTE bad_class[] = {ULONGA(CKA_CLASS, data_class),
                                ULONGA(CKA_KEY_TYPE, aes),
                                {CKA_VALUE, zero_key, 32}};
    CK_ATTRIBUTE chacha_ok[] = {ULONGA(CKA_KEY_TYPE, chacha),
                                {CKA_VALUE, zero_key, 32}};
    CK_ATTRIBUTE chacha_bad[] = {ULONGA(CKA_KEY_TYPE, chacha),
                                 {CKA_VALUE, zero_key, 16}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(create(no_value, N(no_value), &a),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(create(no_type, N(no_type), &a), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(create(with_len, N(with_len), &a),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(create(bad_len, N(bad_len), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(create(bad_type, N(bad_type), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(create(bad_class, N(bad_class), &a),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(create(chacha_bad, N(chacha_bad), &a),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
    assert_int_equal(create(chacha_ok, N(chacha_ok), &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_KEY_TYPE), CKK_CHACHA20);
    assert_int_equal(alen(&a, CKA_CHECK_VALUE), 0);
    cmk_attrs_clear(&a);
}

/* ---- C_UnwrapKey ---- */

static void test_unwrap(void **state)
{
    CK_ATTRIBUTE t[] = {ULONGA(CKA_CLASS, secret_class),
                        ULONGA(CKA_KEY_TYPE, aes), BOOLA(CKA_TOKEN, yes),
                        BOOLA(CKA_EXTRACTABLE, no)};
    CK_ATTRIBUTE with_len[] = {ULONGA(CKA_KEY_TYPE, aes),
                               ULONGA(CKA_VALUE_LEN, len32)};
    struct cmk_attrs a = {0};
    const struct cmk_attr *at;
    (void)state;

    assert_int_equal(unwrap(zero_key, 32, t, N(t), &a), CKR_OK);
    assert_true(abool(&a, CKA_TOKEN));
    assert_false(abool(&a, CKA_LOCAL));
    assert_int_equal(aulong(&a, CKA_KEY_GEN_MECHANISM),
                     CK_UNAVAILABLE_INFORMATION);
    assert_false(abool(&a, CKA_ALWAYS_SENSITIVE));
    assert_false(abool(&a, CKA_NEVER_EXTRACTABLE)); /* EXTRACTABLE FALSE */
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 32);
    at = cmk_attrs_get(&a, CKA_VALUE);
    assert_memory_equal(at->val, zero_key, 32);
    at = cmk_attrs_get(&a, CKA_CHECK_VALUE);
    assert_memory_equal(at->val, kcv_zero256, 3);
    cmk_attrs_clear(&a);
    assert_int_equal(unwrap(zero_key, 32, with_len, N(with_len), &a), CKR_OK);
    cmk_attrs_clear(&a);
}

static void test_unwrap_errors(void **state)
{
    CK_ATTRIBUTE short_len[] = {ULONGA(CKA_KEY_TYPE, aes),
                                ULONGA(CKA_VALUE_LEN, len16)};
    CK_ATTRIBUTE no_type[] = {ULONGA(CKA_CLASS, secret_class)};
    CK_ATTRIBUTE value[] = {ULONGA(CKA_KEY_TYPE, aes),
                            {CKA_VALUE, zero_key, 32}};
    CK_ATTRIBUTE aes_only[] = {ULONGA(CKA_KEY_TYPE, aes)};
    CK_ATTRIBUTE chacha_only[] = {ULONGA(CKA_KEY_TYPE, chacha)};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(unwrap(zero_key, 32, short_len, N(short_len), &a),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(unwrap(zero_key, 32, no_type, N(no_type), &a),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(unwrap(zero_key, 32, value, N(value), &a),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(unwrap(zero_key, 20, aes_only, N(aes_only), &a),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(unwrap(zero_key, 16, chacha_only, N(chacha_only), &a),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(unwrap(NULL, 32, aes_only, N(aes_only), &a),
                     CKR_ARGUMENTS_BAD);
    assert_empty(&a);
    assert_int_equal(unwrap(zero_key, 16, aes_only, N(aes_only), &a), CKR_OK);
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 16);
    cmk_attrs_clear(&a);
}

/* ---- Template checks common to every origin ---- */

static void test_template_read_only(void **state)
{
    static const CK_ATTRIBUTE_TYPE ro[] = {CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
                                           CKA_NEVER_EXTRACTABLE};
    static uint8_t uid[] = "abc";
    CK_ATTRIBUTE kgm[] = {ULONGA(CKA_VALUE_LEN, len32),
                          ULONGA(CKA_KEY_GEN_MECHANISM, any_ulong)};
    CK_ATTRIBUTE unique[] = {ULONGA(CKA_VALUE_LEN, len32),
                             {CKA_UNIQUE_ID, uid, 3}};
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32), BOOLA(0, no)};
    struct cmk_attrs a = {0};
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        t[1].type = ro[i];
        t[1].pValue = &no;
        assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_READ_ONLY);
        t[1].pValue = &yes;
        assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_READ_ONLY);
    }
    assert_int_equal(gen_aes(kgm, N(kgm), &a), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(gen_aes(unique, N(unique), &a), CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&a);
}

static void test_template_value_format(void **state)
{
    CK_ULONG wide = 1;
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32), BOOLA(CKA_ENCRYPT, yes)};
    struct cmk_attrs a = {0};
    (void)state;

    t[1].pValue = &two; /* not 0 or 1 */
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = &ff;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = &wide; /* CK_ULONG where a CK_BBOOL goes */
    t[1].ulValueLen = sizeof(wide);
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = NULL; /* NULL with a length */
    t[1].ulValueLen = 1;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].ulValueLen = 0; /* empty bool */
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
    t[1].pValue = &no;
    t[1].ulValueLen = 1;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_false(abool(&a, CKA_ENCRYPT));
    cmk_attrs_clear(&a);
}

static void test_template_types(void **state)
{
    uint8_t modulus[4] = {1, 2, 3, 4};
    CK_ATTRIBUTE unknown[] = {ULONGA(CKA_VALUE_LEN, len32),
                              {CKA_MODULUS, modulus, 4}};
    CK_ATTRIBUTE vendor[] = {ULONGA(CKA_VALUE_LEN, len32),
                             BOOLA(CKA_CMK_IS_CMK, yes)};
    CK_ATTRIBUTE vendor_ref[] = {ULONGA(CKA_VALUE_LEN, len32),
                                 {CKA_CMK_KEY_REF, modulus, 4}};
    CK_ATTRIBUTE dup[] = {ULONGA(CKA_VALUE_LEN, len32), BOOLA(CKA_ENCRYPT, yes),
                          BOOLA(CKA_ENCRYPT, yes)};
    CK_ATTRIBUTE dup2[] = {ULONGA(CKA_VALUE_LEN, len32), BOOLA(CKA_SIGN, yes),
                           BOOLA(CKA_SIGN, no)};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(unknown, N(unknown), &a),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(gen_aes(vendor, N(vendor), &a),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(gen_aes(vendor_ref, N(vendor_ref), &a),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(gen_aes(dup, N(dup), &a), CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(gen_aes(dup2, N(dup2), &a), CKR_TEMPLATE_INCONSISTENT);
    assert_empty(&a);
}

static void test_template_session_login(void **state)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_GENERATE);
    CK_ATTRIBUTE token[] = {ULONGA(CKA_VALUE_LEN, len32),
                            BOOLA(CKA_TOKEN, yes)};
    CK_ATTRIBUTE session_obj[] = {ULONGA(CKA_VALUE_LEN, len32),
                                  BOOLA(CKA_TOKEN, no)};
    CK_ATTRIBUTE public_obj[] = {ULONGA(CKA_VALUE_LEN, len32),
                                 BOOLA(CKA_PRIVATE, no)};
    struct cmk_attrs a = {0};
    (void)state;

    nk.rw_session = false;
    assert_int_equal(cmk_policy_new_secret(&nk, token, N(token), &a),
                     CKR_SESSION_READ_ONLY);
    assert_int_equal(
        cmk_policy_new_secret(&nk, session_obj, N(session_obj), &a), CKR_OK);
    cmk_attrs_clear(&a);
    nk.rw_session = true;
    assert_int_equal(cmk_policy_new_secret(&nk, token, N(token), &a), CKR_OK);
    assert_true(abool(&a, CKA_TOKEN));
    cmk_attrs_clear(&a);

    nk.logged_in = false; /* CKA_PRIVATE defaults to TRUE */
    assert_int_equal(
        cmk_policy_new_secret(&nk, session_obj, N(session_obj), &a),
        CKR_USER_NOT_LOGGED_IN);
    assert_empty(&a);
    assert_int_equal(cmk_policy_new_secret(&nk, public_obj, N(public_obj), &a),
                     CKR_OK);
    assert_false(abool(&a, CKA_PRIVATE));
    cmk_attrs_clear(&a);
}

static void test_template_trusted(void **state)
{
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32), BOOLA(CKA_TRUSTED, yes)};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&a);
    t[1].pValue = &no;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_false(abool(&a, CKA_TRUSTED));
    cmk_attrs_clear(&a);
}

static void test_template_label_id(void **state)
{
    static uint8_t buf[257];
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32),
                        {CKA_LABEL, buf, 256},
                        {CKA_ID, buf, 256}};
    struct cmk_attrs a = {0};
    (void)state;

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_int_equal(alen(&a, CKA_LABEL), 256);
    assert_int_equal(alen(&a, CKA_ID), 256);
    assert_memory_equal(cmk_attrs_get(&a, CKA_LABEL)->val, buf, 256);
    cmk_attrs_clear(&a);
    t[1].ulValueLen = 257;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].ulValueLen = 3;
    t[2].ulValueLen = 257;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
}

static void test_template_dates(void **state)
{
    static char good[] = "20240131", bad_digit[] = "2024013a",
                bad_month[] = "20241301", bad_day[] = "20240100",
                old[] = "18991231";
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32),
                        {CKA_START_DATE, good, 8},
                        {CKA_END_DATE, NULL, 0}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_int_equal(alen(&a, CKA_START_DATE), 8);
    assert_memory_equal(cmk_attrs_get(&a, CKA_START_DATE)->val, good, 8);
    assert_int_equal(alen(&a, CKA_END_DATE), 0);
    cmk_attrs_clear(&a);
    t[1].ulValueLen = 7;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].ulValueLen = 8;
    t[1].pValue = bad_digit;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = bad_month;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = bad_day;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].pValue = old;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
}

static void test_template_mechs_and_templates(void **state)
{
    CK_MECHANISM_TYPE mechs[2] = {CKM_AES_GCM, CKM_AES_KEY_WRAP_KWP};
    CK_ATTRIBUTE inner[1] = {BOOLA(CKA_SENSITIVE, yes)};
    CK_ATTRIBUTE t[] = {ULONGA(CKA_VALUE_LEN, len32),
                        {CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs)},
                        {CKA_WRAP_TEMPLATE, NULL, 0}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(t, N(t), &a), CKR_OK);
    assert_int_equal(alen(&a, CKA_ALLOWED_MECHANISMS), sizeof(mechs));
    assert_memory_equal(cmk_attrs_get(&a, CKA_ALLOWED_MECHANISMS)->val, mechs,
                        sizeof(mechs));
    cmk_attrs_clear(&a);
    t[1].ulValueLen = sizeof(mechs) - 3;
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    t[1].ulValueLen = sizeof(mechs);
    t[2].pValue = inner; /* nested templates are not supported */
    t[2].ulValueLen = sizeof(inner);
    assert_int_equal(gen_aes(t, N(t), &a), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_empty(&a);
}

static void test_new_secret_args(void **state)
{
    struct cmk_new_key nk = nk_of(CMK_ORIGIN_GENERATE);
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(cmk_policy_new_secret(NULL, NULL, 0, &a),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_new_secret(&nk, NULL, 1, &a),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_new_secret(&nk, NULL, 0, NULL),
                     CKR_ARGUMENTS_BAD);
    nk.origin = (enum cmk_origin)7;
    {
        CK_ATTRIBUTE t[] = {ULONGA(CKA_KEY_TYPE, aes)};
        assert_int_equal(cmk_policy_new_secret(&nk, t, N(t), &a),
                         CKR_ARGUMENTS_BAD);
    }
    assert_empty(&a);
}

/* ---- C_SetAttributeValue ---- */

static void test_set_label_and_usage(void **state)
{
    static char label[] = "dek-1";
    CK_ATTRIBUTE t[] = {
        {CKA_LABEL, label, 5}, BOOLA(CKA_ENCRYPT, no), {CKA_ID, label, 3}};
    struct cmk_attrs cur = {0}, out = {0};
    (void)state;

    make_plain(&cur);
    assert_int_equal(cmk_policy_apply(&cur, t, N(t), false, &out), CKR_OK);
    assert_int_equal(alen(&out, CKA_LABEL), 5);
    assert_memory_equal(cmk_attrs_get(&out, CKA_LABEL)->val, "dek-1", 5);
    assert_int_equal(alen(&out, CKA_ID), 3);
    assert_false(abool(&out, CKA_ENCRYPT));
    assert_int_equal(alen(&cur, CKA_LABEL), 0); /* cur untouched */
    assert_true(abool(&cur, CKA_ENCRYPT));
    assert_memory_equal(cmk_attrs_get(&out, CKA_VALUE)->val, zero_key, 32);
    cmk_attrs_clear(&out);
    cmk_attrs_clear(&cur);
}

static void test_set_not_modifiable(void **state)
{
    static char label[] = "x";
    CK_ATTRIBUTE mk[] = {ULONGA(CKA_VALUE_LEN, len32),
                         BOOLA(CKA_MODIFIABLE, no)};
    CK_ATTRIBUTE t[] = {{CKA_LABEL, label, 1}};
    struct cmk_attrs cur = {0}, out = {0};
    (void)state;

    assert_int_equal(gen_aes(mk, N(mk), &cur), CKR_OK);
    assert_int_equal(cmk_policy_apply(&cur, t, N(t), false, &out),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(cmk_policy_apply(&cur, NULL, 0, false, &out),
                     CKR_ACTION_PROHIBITED);
    assert_empty(&out);
    /* copy does not need CKA_MODIFIABLE, and may not turn it back on */
    assert_int_equal(cmk_policy_apply(&cur, t, N(t), true, &out), CKR_OK);
    assert_false(abool(&out, CKA_MODIFIABLE));
    cmk_attrs_clear(&out);
    mk[1].type = CKA_MODIFIABLE;
    mk[1].pValue = &yes;
    assert_int_equal(cmk_policy_apply(&cur, &mk[1], 1, true, &out),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&out);
    cmk_attrs_clear(&cur);
}

/* One-entry set or copy of a CK_BBOOL on a fresh default key. */
static CK_RV apply_bool(struct cmk_attrs *cur, CK_ATTRIBUTE_TYPE type,
                        CK_BBOOL *v, bool copy, struct cmk_attrs *out)
{
    CK_ATTRIBUTE t[] = {{type, v, sizeof(*v)}};

    return cmk_policy_apply(cur, t, 1, copy, out);
}

static void test_set_one_way_flags(void **state)
{
    CK_ATTRIBUTE mk[] = {ULONGA(CKA_VALUE_LEN, len32),
                         BOOLA(CKA_SENSITIVE, no)};
    struct cmk_attrs cur = {0}, out = {0}, out2 = {0};
    (void)state;

    assert_int_equal(gen_aes(mk, N(mk), &cur), CKR_OK);
    /* SENSITIVE FALSE->TRUE; ALWAYS_SENSITIVE stays FALSE */
    assert_int_equal(apply_bool(&cur, CKA_SENSITIVE, &yes, false, &out),
                     CKR_OK);
    assert_true(abool(&out, CKA_SENSITIVE));
    assert_false(abool(&out, CKA_ALWAYS_SENSITIVE));
    assert_int_equal(apply_bool(&out, CKA_SENSITIVE, &no, false, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&out2);
    assert_int_equal(apply_bool(&out, CKA_SENSITIVE, &yes, false, &out2),
                     CKR_OK); /* same value */
    cmk_attrs_clear(&out2);
    cmk_attrs_clear(&out);
    /* EXTRACTABLE TRUE->FALSE; NEVER_EXTRACTABLE stays FALSE */
    assert_int_equal(apply_bool(&cur, CKA_EXTRACTABLE, &no, false, &out),
                     CKR_OK);
    assert_false(abool(&out, CKA_EXTRACTABLE));
    assert_false(abool(&out, CKA_NEVER_EXTRACTABLE));
    assert_int_equal(apply_bool(&out, CKA_EXTRACTABLE, &yes, false, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    cmk_attrs_clear(&out);
    /* WRAP_WITH_TRUSTED FALSE->TRUE only */
    assert_int_equal(apply_bool(&cur, CKA_WRAP_WITH_TRUSTED, &yes, false, &out),
                     CKR_OK);
    assert_true(abool(&out, CKA_WRAP_WITH_TRUSTED));
    assert_int_equal(apply_bool(&out, CKA_WRAP_WITH_TRUSTED, &no, false, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    cmk_attrs_clear(&out);
    /* COPYABLE TRUE->FALSE only */
    assert_int_equal(apply_bool(&cur, CKA_COPYABLE, &no, false, &out), CKR_OK);
    assert_int_equal(apply_bool(&out, CKA_COPYABLE, &yes, false, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    cmk_attrs_clear(&out);
    /* TRUSTED only by the SO */
    assert_int_equal(apply_bool(&cur, CKA_TRUSTED, &yes, false, &out),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&out);
    assert_empty(&out2);
    cmk_attrs_clear(&cur);
}

static void test_set_storage_flags(void **state)
{
    struct cmk_attrs cur = {0}, out = {0};
    (void)state;

    make_plain(&cur);
    assert_int_equal(apply_bool(&cur, CKA_TOKEN, &yes, false, &out),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply_bool(&cur, CKA_PRIVATE, &no, false, &out),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply_bool(&cur, CKA_MODIFIABLE, &no, false, &out),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&out);
    assert_int_equal(apply_bool(&cur, CKA_TOKEN, &no, false, &out), CKR_OK);
    cmk_attrs_clear(&out);
    assert_int_equal(apply_bool(&cur, CKA_DESTROYABLE, &no, false, &out),
                     CKR_OK);
    assert_false(abool(&out, CKA_DESTROYABLE));
    cmk_attrs_clear(&out);
    cmk_attrs_clear(&cur);
}

static void test_set_read_only(void **state)
{
    static const CK_ATTRIBUTE_TYPE ro[] = {
        CKA_CLASS,        CKA_KEY_TYPE,           CKA_VALUE_LEN,
        CKA_LOCAL,        CKA_ALWAYS_SENSITIVE,   CKA_NEVER_EXTRACTABLE,
        CKA_VALUE,        CKA_CHECK_VALUE,        CKA_KEY_GEN_MECHANISM,
        CKA_UNIQUE_ID,    CKA_ALLOWED_MECHANISMS, CKA_CMK_IS_CMK,
        CKA_CMK_PROVIDER, CKA_CMK_KEY_REF};
    CK_ULONG v = 0;
    CK_ATTRIBUTE t[1];
    struct cmk_attrs cur = {0}, out = {0};
    size_t i;
    (void)state;

    make_plain(&cur);
    for (i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
        t[0].type = ro[i];
        t[0].pValue = &v;
        t[0].ulValueLen = ro[i] == CKA_LOCAL || ro[i] == CKA_ALWAYS_SENSITIVE ||
                                  ro[i] == CKA_NEVER_EXTRACTABLE ||
                                  ro[i] == CKA_CMK_IS_CMK
                              ? sizeof(CK_BBOOL)
                              : sizeof(CK_ULONG);
        assert_int_equal(cmk_policy_apply(&cur, t, 1, false, &out),
                         CKR_ATTRIBUTE_READ_ONLY);
        assert_int_equal(cmk_policy_apply(&cur, t, 1, true, &out),
                         CKR_ATTRIBUTE_READ_ONLY);
    }
    assert_empty(&out);
    cmk_attrs_clear(&cur);
}

static void test_set_template_errors(void **state)
{
    static char label[] = "ok";
    CK_ULONG mod = 0;
    CK_ATTRIBUTE unknown[] = {{CKA_MODULUS, &mod, sizeof(mod)}};
    CK_ATTRIBUTE badbool[] = {BOOLA(CKA_ENCRYPT, two)};
    CK_ATTRIBUTE dup[] = {{CKA_LABEL, label, 2}, {CKA_LABEL, label, 1}};
    CK_ATTRIBUTE late[] = {{CKA_LABEL, label, 2}, BOOLA(CKA_SENSITIVE, no)};
    struct cmk_attrs cur = {0}, out = {0};
    (void)state;

    make_plain(&cur);
    assert_int_equal(cmk_policy_apply(&cur, unknown, 1, false, &out),
                     CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(cmk_policy_apply(&cur, badbool, 1, false, &out),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(cmk_policy_apply(&cur, dup, 2, false, &out),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(apply_bool(&cur, CKA_SENSITIVE, &yes, false, &out),
                     CKR_OK);
    cmk_attrs_clear(&out);
    {
        struct cmk_attrs sens = {0};

        assert_int_equal(apply_bool(&cur, CKA_SENSITIVE, &yes, false, &sens),
                         CKR_OK);
        /* all or nothing: the label is not applied either */
        assert_int_equal(cmk_policy_apply(&sens, late, 2, false, &out),
                         CKR_ATTRIBUTE_READ_ONLY);
        assert_int_equal(alen(&sens, CKA_LABEL), 0);
        cmk_attrs_clear(&sens);
    }
    assert_int_equal(cmk_policy_apply(NULL, NULL, 0, false, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_apply(&cur, NULL, 1, false, &out),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_apply(&cur, NULL, 0, false, NULL),
                     CKR_ARGUMENTS_BAD);
    assert_empty(&out);
    cmk_attrs_clear(&cur);
}

/* ---- C_CopyObject ---- */

static void test_copy(void **state)
{
    static char label[] = "copy";
    CK_ATTRIBUTE t[] = {
        BOOLA(CKA_TOKEN, yes),      BOOLA(CKA_PRIVATE, no),
        BOOLA(CKA_MODIFIABLE, no),  BOOLA(CKA_COPYABLE, no),
        BOOLA(CKA_DESTROYABLE, no), {CKA_LABEL, label, 4},
        BOOLA(CKA_SENSITIVE, yes),  BOOLA(CKA_EXTRACTABLE, no),
        BOOLA(CKA_SIGN, yes),
    };
    struct cmk_attrs cur = {0}, out = {0}, out2 = {0};
    (void)state;

    make_plain(&cur);
    assert_int_equal(cmk_policy_apply(&cur, t, N(t), true, &out), CKR_OK);
    assert_true(abool(&out, CKA_TOKEN));
    assert_false(abool(&out, CKA_PRIVATE));
    assert_false(abool(&out, CKA_MODIFIABLE));
    assert_false(abool(&out, CKA_COPYABLE));
    assert_false(abool(&out, CKA_DESTROYABLE));
    assert_true(abool(&out, CKA_SENSITIVE));
    assert_false(abool(&out, CKA_ALWAYS_SENSITIVE)); /* stays */
    assert_false(abool(&out, CKA_EXTRACTABLE));
    assert_false(abool(&out, CKA_NEVER_EXTRACTABLE)); /* stays */
    assert_true(abool(&out, CKA_SIGN));
    assert_memory_equal(cmk_attrs_get(&out, CKA_VALUE)->val, zero_key, 32);
    assert_memory_equal(cmk_attrs_get(&out, CKA_CHECK_VALUE)->val, kcv_zero256,
                        3);
    /* the copy is not copyable */
    assert_int_equal(cmk_policy_apply(&out, NULL, 0, true, &out2),
                     CKR_ACTION_PROHIBITED);
    assert_empty(&out2);
    /* and the one-way attributes hold on copy too */
    assert_int_equal(apply_bool(&cur, CKA_DESTROYABLE, &no, true, &out2),
                     CKR_OK);
    cmk_attrs_clear(&out2);
    cmk_attrs_clear(&out);
    assert_int_equal(cmk_policy_apply(&cur, &t[6], 2, true, &out), CKR_OK);
    assert_int_equal(apply_bool(&out, CKA_EXTRACTABLE, &yes, true, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply_bool(&out, CKA_SENSITIVE, &no, true, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(apply_bool(&out, CKA_TRUSTED, &yes, true, &out2),
                     CKR_ATTRIBUTE_READ_ONLY);
    assert_empty(&out2);
    cmk_attrs_clear(&out);
    cmk_attrs_clear(&cur);
}

/* ---- C_GetAttributeValue ---- */

static void test_get_sensitive(void **state)
{
    CK_ATTRIBUTE mk[] = {ULONGA(CKA_VALUE_LEN, len32)};
    CK_ATTRIBUTE mk_ne[] = {ULONGA(CKA_VALUE_LEN, len32),
                            BOOLA(CKA_SENSITIVE, no),
                            BOOLA(CKA_EXTRACTABLE, no)};
    uint8_t buf[32];
    CK_ATTRIBUTE q[] = {{CKA_VALUE, buf, sizeof(buf)}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(mk, N(mk), &a), CKR_OK);
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    q[0].pValue = NULL;
    q[0].ulValueLen = 0;
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    cmk_attrs_clear(&a);
    /* not sensitive but not extractable: still hidden */
    assert_int_equal(gen_aes(mk_ne, N(mk_ne), &a), CKR_OK);
    q[0].pValue = buf;
    q[0].ulValueLen = sizeof(buf);
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    cmk_attrs_clear(&a);
    /* neither: revealed */
    make_plain(&a);
    q[0].ulValueLen = sizeof(buf);
    memset(buf, 0xAA, sizeof(buf));
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_OK);
    assert_int_equal(q[0].ulValueLen, 32);
    assert_memory_equal(buf, zero_key, 32);
    cmk_attrs_clear(&a);
}

static void test_get_multi_invalid(void **state)
{
    CK_OBJECT_CLASS cls = 0;
    CK_BBOOL enc = 0xEE;
    uint8_t mod[8], cv[8];
    CK_ATTRIBUTE q[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_MODULUS, mod, sizeof(mod)},
        {CKA_ENCRYPT, &enc, sizeof(enc)},
        {CKA_CMK_IS_CMK, mod, sizeof(mod)}, /* vendor, absent on a DEK */
        {CKA_CHECK_VALUE, cv, sizeof(cv)},
    };
    struct cmk_attrs a = {0};
    (void)state;

    make_plain(&a);
    assert_int_equal(cmk_policy_get(&a, q, N(q)), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(q[0].ulValueLen, sizeof(CK_ULONG));
    assert_int_equal(cls, CKO_SECRET_KEY);
    assert_int_equal(q[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(q[2].ulValueLen, 1);
    assert_int_equal(enc, CK_TRUE);
    assert_int_equal(q[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(q[4].ulValueLen, 3);
    assert_memory_equal(cv, kcv_zero256, 3);
    cmk_attrs_clear(&a);
}

static void test_get_buffer_sizes(void **state)
{
    static char label[] = "a-label";
    CK_ATTRIBUTE mk[] = {ULONGA(CKA_VALUE_LEN, len32), {CKA_LABEL, label, 7}};
    uint8_t small[6], big[64];
    CK_BBOOL tok = 0xEE;
    CK_ATTRIBUTE q[] = {{CKA_LABEL, small, sizeof(small)},
                        {CKA_TOKEN, &tok, 1},
                        {CKA_VALUE, big, sizeof(big)}};
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(gen_aes(mk, N(mk), &a), CKR_OK);
    /* too small, plus a sensitive one: any of the two may be returned;
     * we report the sensitive one; the small entry is still marked */
    assert_int_equal(cmk_policy_get(&a, q, N(q)), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(q[1].ulValueLen, 1);
    assert_int_equal(tok, CK_FALSE);
    assert_int_equal(q[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* too small alone */
    q[0].ulValueLen = sizeof(small);
    assert_int_equal(cmk_policy_get(&a, q, 2), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(q[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* length query, then an exact and a larger buffer */
    q[0].pValue = NULL;
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_OK);
    assert_int_equal(q[0].ulValueLen, 7);
    q[0].pValue = big;
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_OK);
    assert_int_equal(q[0].ulValueLen, 7);
    assert_memory_equal(big, "a-label", 7);
    q[0].ulValueLen = sizeof(big);
    assert_int_equal(cmk_policy_get(&a, q, 1), CKR_OK);
    assert_int_equal(q[0].ulValueLen, 7);
    assert_int_equal(cmk_policy_get(NULL, q, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_get(&a, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_get(&a, NULL, 0), CKR_OK);
    cmk_attrs_clear(&a);
}

/* Expected length of each all_std attribute on a default AES-256 DEK. */
static CK_ULONG dek_len(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_CLASS:
    case CKA_KEY_TYPE:
    case CKA_KEY_GEN_MECHANISM:
    case CKA_VALUE_LEN:
        return sizeof(CK_ULONG);
    case CKA_LABEL:
        return 3;
    case CKA_CHECK_VALUE:
        return 3;
    case CKA_UNIQUE_ID:
    case CKA_ID:
    case CKA_START_DATE:
    case CKA_END_DATE:
    case CKA_ALLOWED_MECHANISMS:
    case CKA_WRAP_TEMPLATE:
    case CKA_UNWRAP_TEMPLATE:
        return 0;
    case CKA_VALUE:
        return CK_UNAVAILABLE_INFORMATION;
    default:
        return 1;
    }
}

static void test_get_dump_dek(void **state)
{
    static char label[] = "dek";
    CK_ATTRIBUTE mk[] = {ULONGA(CKA_VALUE_LEN, len32), {CKA_LABEL, label, 3}};
    CK_ATTRIBUTE q[N_STD];
    uint8_t bufs[N_STD][16];
    struct cmk_attrs a = {0};
    size_t i;
    (void)state;

    assert_int_equal(gen_aes(mk, N(mk), &a), CKR_OK);
    for (i = 0; i < N_STD; i++) { /* sizes first */
        q[i].type = all_std[i];
        q[i].pValue = NULL;
        q[i].ulValueLen = 0;
    }
    assert_int_equal(cmk_policy_get(&a, q, N_STD), CKR_ATTRIBUTE_SENSITIVE);
    for (i = 0; i < N_STD; i++)
        assert_int_equal(q[i].ulValueLen, dek_len(all_std[i]));
    for (i = 0; i < N_STD; i++) { /* then values */
        q[i].pValue = bufs[i];
        q[i].ulValueLen = sizeof(bufs[i]);
    }
    assert_int_equal(cmk_policy_get(&a, q, N_STD), CKR_ATTRIBUTE_SENSITIVE);
    for (i = 0; i < N_STD; i++)
        assert_int_equal(q[i].ulValueLen, dek_len(all_std[i]));
    assert_int_equal(bufs[13][0], CK_TRUE);  /* CKA_LOCAL */
    assert_int_equal(bufs[24][0], CK_TRUE);  /* CKA_ALWAYS_SENSITIVE */
    assert_int_equal(bufs[25][0], CK_FALSE); /* CKA_NEVER_EXTRACTABLE */
    assert_memory_equal(bufs[4], "dek", 3);  /* CKA_LABEL */
    cmk_attrs_clear(&a);
}

static void test_get_dump_cmk(void **state)
{
    CK_ATTRIBUTE q[N_STD + 3];
    uint8_t bufs[N_STD + 3][64];
    struct cmk_attrs a = {0};
    CK_ULONG v;
    size_t i;
    (void)state;

    make_cmk(&a);
    for (i = 0; i < N_STD + 3; i++) {
        q[i].type = i < N_STD ? all_std[i] : CKA_CMK_PROVIDER + i - N_STD;
        q[i].pValue = bufs[i];
        q[i].ulValueLen = sizeof(bufs[i]);
    }
    assert_int_equal(cmk_policy_get(&a, q, N_STD + 3), CKR_ATTRIBUTE_SENSITIVE);
    for (i = 0; i < N_STD + 3; i++) {
        if (i < N_STD && all_std[i] == CKA_VALUE)
            assert_int_equal(q[i].ulValueLen, CK_UNAVAILABLE_INFORMATION);
        else
            assert_int_not_equal(q[i].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    }
    assert_int_equal(q[4].ulValueLen, 8);
    assert_memory_equal(bufs[4], "tenant-a", 8);
    assert_int_equal(q[9].ulValueLen, 2);  /* CKA_ID */
    assert_int_equal(q[26].ulValueLen, 0); /* CKA_CHECK_VALUE */
    memcpy(&v, bufs[32], sizeof(v));       /* CKA_VALUE_LEN */
    assert_int_equal(v, 32);
    memcpy(&v, bufs[14], sizeof(v)); /* CKA_KEY_GEN_MECHANISM */
    assert_int_equal(v, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(q[N_STD].ulValueLen, 5);
    assert_memory_equal(bufs[N_STD], "local", 5);
    assert_int_equal(q[N_STD + 1].ulValueLen, 13);
    assert_memory_equal(bufs[N_STD + 1], "keys/tenant-a", 13);
    assert_int_equal(q[N_STD + 2].ulValueLen, 1);
    assert_int_equal(bufs[N_STD + 2][0], CK_TRUE);
    cmk_attrs_clear(&a);
}

/* ---- The CMK object ---- */

static void test_cmk_object(void **state)
{
    static char label[] = "new";
    CK_ATTRIBUTE t[] = {{CKA_LABEL, label, 3}};
    struct cmk_attrs a = {0}, out = {0}, dek = {0};
    (void)state;

    make_cmk(&a);
    assert_int_equal(aulong(&a, CKA_CLASS), CKO_SECRET_KEY);
    assert_int_equal(aulong(&a, CKA_KEY_TYPE), CKK_AES);
    assert_true(abool(&a, CKA_TOKEN));
    assert_true(abool(&a, CKA_PRIVATE));
    assert_true(abool(&a, CKA_SENSITIVE));
    assert_false(abool(&a, CKA_EXTRACTABLE));
    assert_true(abool(&a, CKA_NEVER_EXTRACTABLE));
    assert_true(abool(&a, CKA_ALWAYS_SENSITIVE));
    assert_false(abool(&a, CKA_MODIFIABLE));
    assert_false(abool(&a, CKA_COPYABLE));
    assert_false(abool(&a, CKA_DESTROYABLE));
    assert_true(abool(&a, CKA_WRAP));
    assert_true(abool(&a, CKA_UNWRAP));
    assert_true(abool(&a, CKA_ENCRYPT));
    assert_true(abool(&a, CKA_DECRYPT));
    assert_false(abool(&a, CKA_SIGN));
    assert_false(abool(&a, CKA_VERIFY));
    assert_false(abool(&a, CKA_DERIVE));
    assert_true(abool(&a, CKA_TRUSTED));
    assert_false(abool(&a, CKA_LOCAL));
    assert_true(abool(&a, CKA_CMK_IS_CMK));
    assert_int_equal(aulong(&a, CKA_VALUE_LEN), 32);
    assert_int_equal(aulong(&a, CKA_KEY_GEN_MECHANISM),
                     CK_UNAVAILABLE_INFORMATION);
    assert_null(cmk_attrs_get(&a, CKA_VALUE));
    assert_int_equal(alen(&a, CKA_CHECK_VALUE), 0);
    /* set, copy and wrap are refused */
    assert_int_equal(cmk_policy_apply(&a, t, 1, false, &out),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(cmk_policy_apply(&a, t, 1, true, &out),
                     CKR_ACTION_PROHIBITED);
    assert_empty(&out);
    make_plain(&dek);
    assert_int_equal(cmk_policy_can_wrap(&dek, &a), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(cmk_policy_allows(&a, CKA_WRAP), CKR_OK);
    assert_int_equal(cmk_policy_allows(&a, CKA_SIGN),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_true(cmk_policy_size(&a) > 60);
    cmk_attrs_clear(&dek);
    cmk_attrs_clear(&a);
}

static void test_cmk_object_args(void **state)
{
    struct cmk_attrs a = {0};
    (void)state;

    assert_int_equal(cmk_policy_cmk_object("l", NULL, 0, NULL, "r", &a),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_cmk_object("l", NULL, 0, "p", NULL, &a),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_cmk_object("l", NULL, 2, "p", "r", &a),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_cmk_object("l", NULL, 0, "p", "r", NULL),
                     CKR_ARGUMENTS_BAD);
    assert_empty(&a);
    assert_int_equal(cmk_policy_cmk_object(NULL, NULL, 0, "p", "r", &a),
                     CKR_OK);
    assert_int_equal(alen(&a, CKA_LABEL), 0);
    assert_int_equal(alen(&a, CKA_ID), 0);
    cmk_attrs_clear(&a);
}

/* ---- C_FindObjects matching ---- */

static void test_match(void **state)
{
    static char label[] = "tenant-a", other[] = "tenant-b";
    CK_ATTRIBUTE by_class[] = {ULONGA(CKA_CLASS, secret_class),
                               ULONGA(CKA_KEY_TYPE, aes),
                               {CKA_LABEL, label, 8}};
    CK_ATTRIBUTE by_other[] = {{CKA_LABEL, other, 8}};
    CK_ATTRIBUTE by_prefix[] = {{CKA_LABEL, label, 7}};
    CK_ATTRIBUTE data[] = {ULONGA(CKA_CLASS, data_class)};
    CK_ATTRIBUTE is_cmk[] = {BOOLA(CKA_CMK_IS_CMK, yes)};
    CK_ATTRIBUTE tok_ff[] = {BOOLA(CKA_TOKEN, ff)};
    CK_ATTRIBUTE tok_wide[] = {ULONGA(CKA_TOKEN, any_ulong)};
    CK_ATTRIBUTE tok_no[] = {BOOLA(CKA_TOKEN, no)};
    CK_ATTRIBUTE modulus[] = {ULONGA(CKA_MODULUS, any_ulong)};
    CK_ATTRIBUTE empty_id[] = {{CKA_ID, NULL, 0}};
    CK_ATTRIBUTE value[] = {{CKA_VALUE, zero_key, 32}};
    struct cmk_attrs cmk = {0}, dek = {0};
    (void)state;

    make_cmk(&cmk);
    make_plain(&dek);
    assert_true(cmk_policy_match(&cmk, NULL, 0));
    assert_true(cmk_policy_match(&cmk, by_class, N(by_class)));
    assert_false(cmk_policy_match(&cmk, by_other, N(by_other)));
    assert_false(cmk_policy_match(&cmk, by_prefix, N(by_prefix)));
    assert_false(cmk_policy_match(&cmk, data, N(data)));
    assert_true(cmk_policy_match(&cmk, is_cmk, N(is_cmk)));
    assert_false(cmk_policy_match(&dek, is_cmk, N(is_cmk))); /* lacks it */
    assert_true(cmk_policy_match(&cmk, tok_ff, N(tok_ff)));  /* as booleans */
    assert_false(cmk_policy_match(&cmk, tok_wide, N(tok_wide)));
    assert_false(cmk_policy_match(&cmk, tok_no, N(tok_no)));
    assert_true(cmk_policy_match(&dek, tok_no, N(tok_no)));
    assert_false(cmk_policy_match(&dek, modulus, N(modulus)));
    assert_true(cmk_policy_match(&dek, empty_id, N(empty_id)));
    assert_true(cmk_policy_match(&dek, value, N(value))); /* not sensitive */
    assert_false(cmk_policy_match(&cmk, value, N(value)));
    assert_false(cmk_policy_match(&dek, NULL, 1));
    cmk_attrs_clear(&dek);
    /* a sensitive value is never matched: no key oracle */
    {
        CK_ATTRIBUTE mk[] = {ULONGA(CKA_KEY_TYPE, aes),
                             {CKA_VALUE, zero_key, 32}};

        assert_int_equal(create(mk, N(mk), &dek), CKR_OK);
        assert_false(cmk_policy_match(&dek, value, N(value)));
    }
    cmk_attrs_clear(&dek);
    cmk_attrs_clear(&cmk);
}

/* ---- Use checks ---- */

static void test_allows_and_can_wrap(void **state)
{
    CK_ATTRIBUTE no_enc[] = {ULONGA(CKA_VALUE_LEN, len32),
                             BOOLA(CKA_ENCRYPT, no),
                             BOOLA(CKA_WRAP_WITH_TRUSTED, yes)};
    CK_ATTRIBUTE locked[] = {ULONGA(CKA_VALUE_LEN, len32),
                             BOOLA(CKA_EXTRACTABLE, no)};
    struct cmk_attrs dek = {0}, wwt = {0}, nx = {0}, cmk = {0};
    (void)state;

    make_plain(&dek);
    make_cmk(&cmk);
    assert_int_equal(gen_aes(no_enc, N(no_enc), &wwt), CKR_OK);
    assert_int_equal(gen_aes(locked, N(locked), &nx), CKR_OK);

    assert_int_equal(cmk_policy_allows(&dek, CKA_ENCRYPT), CKR_OK);
    assert_int_equal(cmk_policy_allows(&dek, CKA_DECRYPT), CKR_OK);
    assert_int_equal(cmk_policy_allows(&dek, CKA_UNWRAP),
                     CKR_KEY_FUNCTION_NOT_PERMITTED); /* a data key */
    assert_int_equal(cmk_policy_allows(&wwt, CKA_ENCRYPT),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(cmk_policy_allows(&dek, CKA_SIGN),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(cmk_policy_allows(&dek, CKA_LABEL), CKR_ARGUMENTS_BAD);
    assert_int_equal(cmk_policy_allows(NULL, CKA_WRAP), CKR_ARGUMENTS_BAD);

    assert_int_equal(cmk_policy_can_wrap(&cmk, &dek), CKR_OK);
    assert_int_equal(cmk_policy_can_wrap(&cmk, &nx), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(cmk_policy_can_wrap(&dek, &wwt), CKR_KEY_NOT_WRAPPABLE);
    assert_int_equal(cmk_policy_can_wrap(&cmk, &wwt), CKR_OK); /* trusted */
    assert_int_equal(cmk_policy_can_wrap(NULL, &dek), CKR_ARGUMENTS_BAD);
    cmk_attrs_clear(&dek);
    cmk_attrs_clear(&wwt);
    cmk_attrs_clear(&nx);
    cmk_attrs_clear(&cmk);
}

static void test_size(void **state)
{
    struct cmk_attrs a = {0};
    CK_ULONG sum = 0;
    size_t i;
    (void)state;

    assert_int_equal(cmk_policy_size(NULL), 0);
    make_plain(&a);
    for (i = 0; i < a.n; i++)
        sum += a.v[i].len;
    assert_int_equal(cmk_policy_size(&a), sum);
    assert_true(sum >= 32 + 3 + 4 * sizeof(CK_ULONG));
    cmk_attrs_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_aes256_defaults),
        cmocka_unit_test(test_generate_flags_derived),
        cmocka_unit_test(test_generate_value_len),
        cmocka_unit_test(test_generate_chacha20),
        cmocka_unit_test(test_generate_key_type),
        cmocka_unit_test(test_create_check_value_known),
        cmocka_unit_test(test_create_check_value_mismatch),
        cmocka_unit_test(test_create_required),
        cmocka_unit_test(test_unwrap),
        cmocka_unit_test(test_unwrap_errors),
        cmocka_unit_test(test_template_read_only),
        cmocka_unit_test(test_template_value_format),
        cmocka_unit_test(test_template_types),
        cmocka_unit_test(test_template_session_login),
        cmocka_unit_test(test_template_trusted),
        cmocka_unit_test(test_template_label_id),
        cmocka_unit_test(test_template_dates),
        cmocka_unit_test(test_template_mechs_and_templates),
        cmocka_unit_test(test_new_secret_args),
        cmocka_unit_test(test_set_label_and_usage),
        cmocka_unit_test(test_set_not_modifiable),
        cmocka_unit_test(test_set_one_way_flags),
        cmocka_unit_test(test_set_storage_flags),
        cmocka_unit_test(test_set_read_only),
        cmocka_unit_test(test_set_template_errors),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_get_sensitive),
        cmocka_unit_test(test_get_multi_invalid),
        cmocka_unit_test(test_get_buffer_sizes),
        cmocka_unit_test(test_get_dump_dek),
        cmocka_unit_test(test_get_dump_cmk),
        cmocka_unit_test(test_cmk_object),
        cmocka_unit_test(test_cmk_object_args),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_allows_and_can_wrap),
        cmocka_unit_test(test_size),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
