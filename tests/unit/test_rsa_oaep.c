/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: mech/rsa_oaep.h, the wrap of imported key material. What it
 * encrypts decrypts with OpenSSL's own RSA-OAEP with SHA-256 for OAEP
 * and MGF1 (as AWS KMS's RSAES_OAEP_SHA_256) and with no other hash, for
 * 2048-, 3072- and 4096-bit keys; the key must be an RSA public key of
 * exactly the size asked for, whole; inputs over the OAEP limit, sizes
 * AWS does not offer and a call before cmk_mech_init are refused.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mech/mech.h"
#include "mech/rsa_oaep.h"

static EVP_PKEY *rsa[3]; /* 2048, 3072, 4096 */
static const unsigned bits[3] = {2048, 3072, 4096};

/* The public half as DER SubjectPublicKeyInfo (caller frees). */
static size_t spki(EVP_PKEY *k, uint8_t **out)
{
    int n;

    *out = NULL;
    n = i2d_PUBKEY(k, out);
    assert_true(n > 0);
    return (size_t)n;
}

/* OpenSSL's own OAEP decryption with md for OAEP and MGF1; -1 when it
 * refuses. */
static long decrypt(EVP_PKEY *k, const char *md, const struct cmk_buf *ct,
                    uint8_t *out, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    size_t len = cap;
    long rc = -1;

    assert_non_null(c);
    assert_true(EVP_PKEY_decrypt_init(c) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(c, md, NULL) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(c, md, NULL) > 0);
    if (EVP_PKEY_decrypt(c, out, &len, ct->p, ct->len) > 0)
        rc = (long)len;
    EVP_PKEY_CTX_free(c);
    return rc;
}

static void test_before_init(void **state)
{
    struct cmk_buf ct = {0};
    uint8_t key[32] = {1}, der[8] = {0};

    (void)state;
    assert_int_equal(
        cmk_rsa_oaep256_encrypt(der, sizeof(der), 2048, key, 32, &ct),
        CMK_E_CRYPTO);
    assert_null(ct.p);
}

static void test_round_trip_each_size(void **state)
{
    uint8_t key[32], back[600], *der;
    struct cmk_buf ct = {0}, ct2 = {0};
    size_t i, n;

    (void)state;
    cmk_random(key, sizeof(key));
    for (i = 0; i < 3; i++) {
        n = spki(rsa[i], &der);
        assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, bits[i], key, 32, &ct),
                         CMK_OK);
        assert_int_equal(ct.len, bits[i] / 8);
        assert_int_equal(decrypt(rsa[i], "SHA2-256", &ct, back, sizeof(back)),
                         32);
        assert_memory_equal(back, key, 32);
        /* SHA-256 for both: SHA-1 OAEP (AWS's RSAES_OAEP_SHA_1) refuses. */
        assert_int_equal(decrypt(rsa[i], "SHA1", &ct, back, sizeof(back)), -1);
        /* Randomised: two wraps of one key differ. */
        assert_int_equal(
            cmk_rsa_oaep256_encrypt(der, n, bits[i], key, 32, &ct2), CMK_OK);
        assert_memory_not_equal(ct.p, ct2.p, ct.len);
        cmk_buf_free(&ct);
        cmk_buf_free(&ct2);
        OPENSSL_free(der);
    }
}

static void test_oaep_limit(void **state)
{
    uint8_t in[512], back[512], *der;
    struct cmk_buf ct = {0};
    size_t n = spki(rsa[0], &der);

    (void)state;
    cmk_random(in, sizeof(in));
    /* RFC 8017 7.1.1: k - 2 hLen - 2 = 256 - 66 = 190 bytes. */
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 2048, in, 190, &ct),
                     CMK_OK);
    assert_int_equal(decrypt(rsa[0], "SHA2-256", &ct, back, sizeof(back)), 190);
    assert_memory_equal(back, in, 190);
    cmk_buf_free(&ct);
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 2048, in, 191, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_null(ct.p);
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 2048, in, 0, &ct),
                     CMK_E_ARGS);
    OPENSSL_free(der);
}

/* SHA-1 for the hash and MGF1 (Azure's RSA-OAEP): only a SHA-1
 * decryption opens it; k - 2 * 20 - 2 = 214 bytes for 2048 bits. */
static void test_sha1(void **state)
{
    uint8_t in[512], back[512], *der;
    struct cmk_buf ct = {0};
    size_t n = spki(rsa[0], &der);

    (void)state;
    cmk_random(in, sizeof(in));
    assert_int_equal(cmk_rsa_oaep_sha1_encrypt(der, n, 2048, in, 214, &ct),
                     CMK_OK);
    assert_int_equal(decrypt(rsa[0], "SHA1", &ct, back, sizeof(back)), 214);
    assert_memory_equal(back, in, 214);
    assert_int_equal(decrypt(rsa[0], "SHA2-256", &ct, back, sizeof(back)), -1);
    cmk_buf_free(&ct);
    assert_int_equal(cmk_rsa_oaep_sha1_encrypt(der, n, 2048, in, 215, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_null(ct.p);
    assert_int_equal(cmk_rsa_oaep_sha1_encrypt(der, n, 4096, in, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    OPENSSL_free(der);
}

static void test_wrong_keys(void **state)
{
    uint8_t key[32] = {7}, *der, *longer;
    struct cmk_buf ct = {0};
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    size_t n;

    (void)state;
    n = spki(rsa[1], &der);
    /* Not the size asked for, either way. */
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 2048, key, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 4096, key, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    /* Cut short, or with bytes after it. */
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n - 1, 3072, key, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    longer = malloc(n + 1);
    assert_non_null(longer);
    memcpy(longer, der, n);
    longer[n] = 0;
    assert_int_equal(cmk_rsa_oaep256_encrypt(longer, n + 1, 3072, key, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    free(longer);
    OPENSSL_free(der);
    /* Not RSA at all. */
    assert_non_null(ec);
    n = spki(ec, &der);
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 2048, key, 32, &ct),
                     CMK_E_BAD_RESPONSE);
    OPENSSL_free(der);
    EVP_PKEY_free(ec);
    /* Sizes AWS does not offer. */
    n = spki(rsa[0], &der);
    assert_int_equal(cmk_rsa_oaep256_encrypt(der, n, 1024, key, 32, &ct),
                     CMK_E_ARGS);
    assert_int_equal(cmk_rsa_oaep256_encrypt(NULL, n, 2048, key, 32, &ct),
                     CMK_E_ARGS);
    assert_null(ct.p);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest first[] = {
        cmocka_unit_test(test_before_init),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_each_size),
        cmocka_unit_test(test_oaep_limit),
        cmocka_unit_test(test_sha1),
        cmocka_unit_test(test_wrong_keys),
    };
    size_t i;
    int rc;

    rc = cmocka_run_group_tests(first, NULL, NULL);
    if (cmk_mech_init() != CKR_OK)
        return 99;
    for (i = 0; i < 3; i++) {
        rsa[i] = EVP_RSA_gen(bits[i]);
        if (rsa[i] == NULL)
            return 99;
    }
    rc |= cmocka_run_group_tests(tests, NULL, NULL);
    for (i = 0; i < 3; i++)
        EVP_PKEY_free(rsa[i]);
    cmk_mech_fini();
    return rc != 0;
}
