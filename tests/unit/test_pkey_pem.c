/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): private keys read from PEM by the module itself
 * (mech/pkey_pem.c): every form OpenSSL writes (PKCS#8, PKCS#1, SEC 1
 * with and without its public point, after other blocks) gives back the
 * same key, private numbers included; encrypted, damaged, multi-prime,
 * RSA-PSS-only, other-curve and inconsistent keys are refused.
 */
#include <config.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mech/mech.h"
#include "mech/pkey.h"

#define PEM_CAP 16384

struct pem {
    char s[PEM_CAP];
    size_t n;
};

static void take_bio(BIO *b, struct pem *out)
{
    int n = BIO_read(b, out->s, PEM_CAP - 1);

    assert_true(n > 0 && n < PEM_CAP - 1);
    out->n = (size_t)n;
    out->s[n] = '\0';
    BIO_free(b);
}

/* pk in PKCS#8 (traditional false) or its own form: PKCS#1, SEC 1. */
static void pem_of(EVP_PKEY *pk, bool traditional, struct pem *out)
{
    BIO *b = BIO_new(BIO_s_mem());

    assert_non_null(b);
    if (traditional)
        assert_int_equal(PEM_write_bio_PrivateKey_traditional(b, pk, NULL, NULL,
                                                              0, NULL, NULL),
                         1);
    else
        assert_int_equal(
            PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL), 1);
    take_bio(b, out);
}

/* der as one PEM block named label. */
static void pem_block(const char *label, const uint8_t *der, size_t len,
                      struct pem *out)
{
    BIO *b = BIO_new(BIO_s_mem());

    assert_non_null(b);
    assert_true(PEM_write_bio(b, label, "", der, (long)len) > 0);
    take_bio(b, out);
}

/* The DER of pk's traditional form. */
static size_t der_of(EVP_PKEY *pk, uint8_t *der, size_t cap)
{
    unsigned char *p = NULL;
    int n = i2d_PrivateKey(pk, &p);

    assert_true(n > 0 && (size_t)n <= cap);
    memcpy(der, p, (size_t)n);
    OPENSSL_clear_free(p, (size_t)n);
    return (size_t)n;
}

static void same_bn(EVP_PKEY *a, EVP_PKEY *b, const char *name)
{
    BIGNUM *x = NULL, *y = NULL;

    assert_int_equal(EVP_PKEY_get_bn_param(a, name, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(b, name, &y), 1);
    assert_int_equal(BN_cmp(x, y), 0);
    BN_clear_free(x);
    BN_clear_free(y);
}

/* pem reads back as pk: public half, private numbers, and a signature
 * the original verifies. */
static void reads_as(const struct pem *pem, EVP_PKEY *pk)
{
    static const uint8_t digest[32] = {1, 2, 3};
    struct cmk_buf sig = {0};
    EVP_PKEY *got = NULL;
    bool rsa = EVP_PKEY_is_a(pk, "RSA");

    assert_int_equal(cmk_pkey_from_pem((const uint8_t *)pem->s, pem->n, &got),
                     CMK_OK);
    assert_int_equal(EVP_PKEY_eq(got, pk), 1);
    if (rsa) {
        same_bn(got, pk, OSSL_PKEY_PARAM_RSA_D);
        same_bn(got, pk, OSSL_PKEY_PARAM_RSA_FACTOR1);
        same_bn(got, pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    } else {
        same_bn(got, pk, OSSL_PKEY_PARAM_PRIV_KEY);
    }
    assert_int_equal(cmk_pkey_sign(got, rsa ? CMK_PK_RSA_PSS : CMK_PK_ECDSA,
                                   CMK_MD_SHA256, digest, 32, &sig),
                     CMK_OK);
    if (rsa) {
        assert_int_equal(cmk_pkey_verify(pk, CMK_PK_RSA_PSS, CMK_MD_SHA256,
                                         digest, 32, sig.p, sig.len),
                         CKR_OK);
    } else { /* cmk_pkey_verify takes ECDSA's r || s */
        uint8_t raw[132];
        size_t half = cmk_ecdsa_half((unsigned)EVP_PKEY_get_bits(pk));

        assert_int_equal(cmk_ecdsa_der_to_raw(sig.p, sig.len, half, raw),
                         CMK_OK);
        assert_int_equal(cmk_pkey_verify(pk, CMK_PK_ECDSA, CMK_MD_SHA256,
                                         digest, 32, raw, 2 * half),
                         CKR_OK);
    }
    cmk_buf_free(&sig);
    EVP_PKEY_free(got);
}

static void refused(const struct pem *pem)
{
    EVP_PKEY *got = NULL;

    assert_int_equal(cmk_pkey_from_pem((const uint8_t *)pem->s, pem->n, &got),
                     CMK_E_CONFIG);
    assert_null(got);
}

static void test_rsa_forms(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    struct pem pem, with_cert;

    (void)state;
    assert_non_null(pk);
    pem_of(pk, false, &pem);
    assert_non_null(strstr(pem.s, "BEGIN PRIVATE KEY"));
    reads_as(&pem, pk);
    pem_of(pk, true, &pem);
    assert_non_null(strstr(pem.s, "BEGIN RSA PRIVATE KEY"));
    reads_as(&pem, pk);
    /* after a certificate block, as a client certificate file holds it */
    with_cert.n = (size_t)snprintf(with_cert.s, PEM_CAP,
                                   "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                   "-----END CERTIFICATE-----\n%s",
                                   pem.s);
    reads_as(&with_cert, pk);
    EVP_PKEY_free(pk);
}

static void test_ec_forms(void **state)
{
    static const char *const curves[] = {"P-256", "P-384", "P-521"};
    struct pem pem, two;
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i]);

        assert_non_null(pk);
        pem_of(pk, false, &pem);
        reads_as(&pem, pk);
        pem_of(pk, true, &pem);
        assert_non_null(strstr(pem.s, "BEGIN EC PRIVATE KEY"));
        reads_as(&pem, pk);
        /* "openssl ecparam -genkey" writes the parameters first */
        two.n =
            (size_t)snprintf(two.s, PEM_CAP,
                             "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw=="
                             "\n-----END EC PARAMETERS-----\n%s",
                             pem.s);
        reads_as(&two, pk);
        /* without its public point: computed from the scalar */
        assert_int_equal(
            EVP_PKEY_set_int_param(pk, OSSL_PKEY_PARAM_EC_INCLUDE_PUBLIC, 0),
            1);
        pem_of(pk, true, &pem);
        reads_as(&pem, pk);
        EVP_PKEY_free(pk);
    }
}

static void test_encrypted(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIO *b = BIO_new(BIO_s_mem());
    char pw[] = "pw";
    struct pem pem;

    (void)state;
    assert_non_null(pk);
    assert_int_equal(PEM_write_bio_PKCS8PrivateKey(b, pk, EVP_aes_256_cbc(), pw,
                                                   2, NULL, NULL),
                     1);
    take_bio(b, &pem);
    assert_non_null(strstr(pem.s, "ENCRYPTED PRIVATE KEY"));
    refused(&pem);
    b = BIO_new(BIO_s_mem());
    assert_int_equal(
        PEM_write_bio_PrivateKey_traditional(
            b, pk, EVP_aes_256_cbc(), (unsigned char *)pw, 2, NULL, NULL),
        1);
    take_bio(b, &pem);
    assert_non_null(strstr(pem.s, "Proc-Type: 4,ENCRYPTED"));
    refused(&pem);
    EVP_PKEY_free(pk);
}

static void test_damaged(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t der[4096];
    size_t n = der_of(pk, der, sizeof(der) - 1);
    struct pem pem;
    char *mid;

    (void)state;
    /* a public point that is not the scalar's */
    der[n - 1] ^= 1;
    pem_block("EC PRIVATE KEY", der, n, &pem);
    refused(&pem);
    der[n - 1] ^= 1;
    /* one byte after the key */
    der[n] = 0;
    pem_block("EC PRIVATE KEY", der, n + 1, &pem);
    refused(&pem);
    /* cut short */
    pem_block("EC PRIVATE KEY", der, n - 1, &pem);
    refused(&pem);
    /* the DER under the wrong label */
    pem_block("RSA PRIVATE KEY", der, n, &pem);
    refused(&pem);
    /* a character that is not base64 */
    pem_block("EC PRIVATE KEY", der, n, &pem);
    reads_as(&pem, pk);
    mid = strchr(pem.s, '\n') + 5;
    *mid = '!';
    refused(&pem);
    /* no block at all, and an unfinished one */
    pem.n = (size_t)snprintf(pem.s, PEM_CAP, "hello\n");
    refused(&pem);
    pem.n = (size_t)snprintf(pem.s, PEM_CAP,
                             "-----BEGIN PRIVATE KEY-----\n"
                             "MAA=\n");
    refused(&pem);
    EVP_PKEY_free(pk);
}

/* An RSA-2048 key of type (RSA, RSA-PSS) with primes primes. */
static EVP_PKEY *rsa_gen(const char *type, int primes)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pk = NULL;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_primes(c, primes), 1);
    assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
    EVP_PKEY_CTX_free(c);
    return pk;
}

static void test_other_keys(void **state)
{
    EVP_PKEY *pk;
    struct pem pem;

    (void)state;
    /* another curve */
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
    pem_of(pk, false, &pem);
    refused(&pem);
    pem_of(pk, true, &pem);
    refused(&pem);
    EVP_PKEY_free(pk);
    /* RSA-PSS's own key type (its OID in PKCS#8) */
    pk = rsa_gen("RSA-PSS", 2);
    pem_of(pk, false, &pem);
    refused(&pem);
    EVP_PKEY_free(pk);
    /* three primes (PKCS#1 version 1) */
    pk = rsa_gen("RSA", 3);
    pem_of(pk, true, &pem);
    refused(&pem);
    pem_of(pk, false, &pem);
    refused(&pem);
    EVP_PKEY_free(pk);
    /* Ed25519 */
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    pem_of(pk, false, &pem);
    refused(&pem);
    EVP_PKEY_free(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_forms),  cmocka_unit_test(test_ec_forms),
        cmocka_unit_test(test_encrypted),  cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_other_keys),
    };

    if (cmk_mech_init() != CKR_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
