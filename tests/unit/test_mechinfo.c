/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): the mechanism table (list, info, key types, key
 * lengths) and cmk_random.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "mech/mech.h"

#define CRYPT (CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)
#define SIG (CKF_SIGN | CKF_VERIFY)
#define ECSIG (SIG | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

static const struct {
    CK_MECHANISM_TYPE type;
    CK_ULONG min, max;
    CK_FLAGS flags;
    CK_KEY_TYPE kt;
} want[] = {
    {CKM_AES_KEY_GEN, 16, 32, CKF_GENERATE, CKK_AES},
    {CKM_CHACHA20_KEY_GEN, 32, 32, CKF_GENERATE, CKK_CHACHA20},
    {CKM_AES_GCM, 16, 32, CRYPT, CKK_AES},
    {CKM_AES_CBC, 16, 32, CRYPT, CKK_AES},
    {CKM_AES_CBC_PAD, 16, 32, CRYPT, CKK_AES},
    {CKM_AES_CTR, 16, 32, CRYPT, CKK_AES},
    {CKM_CHACHA20_POLY1305, 32, 32, CRYPT, CKK_CHACHA20},
    {CKM_AES_KEY_WRAP, 16, 32, CRYPT, CKK_AES},
    {CKM_AES_KEY_WRAP_PAD, 16, 32, CRYPT, CKK_AES},
    {CKM_AES_KEY_WRAP_KWP, 16, 32, CRYPT, CKK_AES},
    {CKM_CMK_ENVELOPE, 32, 32, CRYPT, CKK_AES},
    /* key pairs: key sizes in bits */
    {CKM_RSA_PKCS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA256_RSA_PKCS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA384_RSA_PKCS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA512_RSA_PKCS, 2048, 4096, SIG, CKK_RSA},
    {CKM_RSA_PKCS_PSS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA256_RSA_PKCS_PSS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA384_RSA_PKCS_PSS, 2048, 4096, SIG, CKK_RSA},
    {CKM_SHA512_RSA_PKCS_PSS, 2048, 4096, SIG, CKK_RSA},
    {CKM_ECDSA, 256, 521, ECSIG, CKK_EC},
    {CKM_ECDSA_SHA256, 256, 521, ECSIG, CKK_EC},
    {CKM_ECDSA_SHA384, 256, 521, ECSIG, CKK_EC},
    {CKM_ECDSA_SHA512, 256, 521, ECSIG, CKK_EC},
    {CKM_RSA_PKCS_OAEP, 2048, 4096, CKF_ENCRYPT | CKF_DECRYPT | CKF_UNWRAP,
     CKK_RSA},
    /* digests: no key */
    {CKM_SHA_1, 0, 0, CKF_DIGEST, CK_UNAVAILABLE_INFORMATION},
    {CKM_SHA256, 0, 0, CKF_DIGEST, CK_UNAVAILABLE_INFORMATION},
    {CKM_SHA384, 0, 0, CKF_DIGEST, CK_UNAVAILABLE_INFORMATION},
    {CKM_SHA512, 0, 0, CKF_DIGEST, CK_UNAVAILABLE_INFORMATION},
};

#define N_WANT (sizeof(want) / sizeof(want[0]))

static void test_list(void **state)
{
    size_t n = 0;
    const CK_MECHANISM_TYPE *list = cmk_mech_list(&n);

    (void)state;
    assert_non_null(list);
    assert_int_equal(n, N_WANT);
    for (size_t i = 0; i < N_WANT; i++) {
        CK_MECHANISM_INFO info;
        bool found = false;

        for (size_t k = 0; k < n; k++)
            found = found || list[k] == want[i].type;
        assert_true(found);
        /* every listed mechanism has info */
        assert_int_equal(cmk_mech_info(list[i], &info), CKR_OK);
    }
    for (size_t k = 0; k < n; k++)
        assert_true(list[k] != CKM_AES_ECB);
}

static void test_info(void **state)
{
    CK_MECHANISM_INFO info;

    (void)state;
    for (size_t i = 0; i < N_WANT; i++) {
        memset(&info, 0xee, sizeof(info));
        assert_int_equal(cmk_mech_info(want[i].type, &info), CKR_OK);
        assert_int_equal(info.ulMinKeySize, want[i].min);
        assert_int_equal(info.ulMaxKeySize, want[i].max);
        assert_int_equal(info.flags, want[i].flags);
    }
    /* usable by core for CKA_CHECK_VALUE, but not offered */
    assert_int_equal(cmk_mech_info(CKM_AES_ECB, &info), CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_mech_info(CKM_AES_CFB8, &info), CKR_MECHANISM_INVALID);
    /* no KMS signs with SHA-1; raw RSA is not offered */
    assert_int_equal(cmk_mech_info(CKM_SHA1_RSA_PKCS, &info),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_mech_info(CKM_ECDSA_SHA1, &info),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_mech_info(CKM_RSA_X_509, &info),
                     CKR_MECHANISM_INVALID);
    /* digests of the SHA-2 sizes a key pair uses, and SHA-1 */
    assert_int_equal(cmk_mech_info(CKM_MD5, &info), CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_mech_info(CKM_SHA224, &info), CKR_MECHANISM_INVALID);
    assert_int_equal(cmk_mech_info(CKM_AES_GCM, NULL), CKR_ARGUMENTS_BAD);
}

static void test_key_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_WANT; i++)
        assert_int_equal(cmk_mech_key_type(want[i].type), want[i].kt);
    assert_int_equal(cmk_mech_key_type(CKM_AES_ECB), CKK_AES);
    assert_int_equal(cmk_mech_key_type(CKM_MD5), (CK_KEY_TYPE)-1);
}

static void test_key_len(void **state)
{
    (void)state;
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 16), CKR_OK);
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 24), CKR_OK);
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 32), CKR_OK);
    assert_int_equal(cmk_mech_check_key_len(CKK_CHACHA20, 32), CKR_OK);
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 0), CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 20), CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_mech_check_key_len(CKK_AES, 64), CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_mech_check_key_len(CKK_CHACHA20, 16),
                     CKR_KEY_SIZE_RANGE);
    assert_int_equal(cmk_mech_check_key_len(CKK_GENERIC_SECRET, 32),
                     CKR_KEY_TYPE_INCONSISTENT);
}

static void test_random(void **state)
{
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};

    (void)state;
    cmk_random(a, sizeof(a));
    cmk_random(b, sizeof(b));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_memory_not_equal(a, b, sizeof(a));
    cmk_random(NULL, 0); /* harmless */
}

static void test_init_twice(void **state)
{
    (void)state;
    /* again after init is a no-op; fini then init works */
    assert_int_equal(cmk_mech_init(), CKR_OK);
    cmk_mech_fini();
    assert_int_equal(cmk_mech_init(), CKR_OK);
}

static void test_not_initialized(void **state)
{
    static const uint8_t kek[16] = {0}, key[16] = {0};
    uint8_t out[24];
    size_t n = sizeof(out);

    (void)state;
    cmk_mech_fini();
    assert_int_equal(cmk_aes_kw_wrap(kek, 16, key, 16, out, &n),
                     CKR_GENERAL_ERROR);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    assert_int_equal(cmk_aes_kw_wrap(kek, 16, key, 16, out, &n), CKR_OK);
}

static int setup(void **state)
{
    (void)state;
    return cmk_mech_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_key_type),
        cmocka_unit_test(test_key_len),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_init_twice),
        cmocka_unit_test(test_not_initialized),
    };

    return cmocka_run_group_tests(tests, setup, teardown) != 0 ? 1 : 0;
}
