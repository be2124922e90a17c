/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: public keys from a KMS (mech/spki.h): RSA and EC keys of the
 * sizes and curves a key pair may have described, other curves and key
 * types refused, a PEM with text around its block, two blocks, another
 * block type or headers refused, its DER returned as it was, a DER with
 * bytes after the key refused; SHA-2 digests against FIPS 180 vectors.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "mech/mech.h"
#include "mech/spki.h"

/* The PEM (heap, NUL-terminated) and DER of pk's public key. */
static char *pem_of(EVP_PKEY *pk, struct cmk_buf *der)
{
    BIO *b = BIO_new(BIO_s_mem());
    unsigned char *d = NULL;
    char *p = NULL, *out;
    long n;
    int dn;

    assert_non_null(b);
    assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
    n = BIO_get_mem_data(b, &p);
    out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    memcpy(out, p, (size_t)n);
    BIO_free(b);
    dn = i2d_PUBKEY(pk, &d);
    assert_true(dn > 0);
    assert_int_equal(cmk_buf_dup(der, d, (size_t)dn), CMK_OK);
    OPENSSL_free(d);
    return out;
}

static void described(EVP_PKEY *pk, int kind, unsigned bits, int nid)
{
    struct cmk_buf der = {0}, got = {0};
    struct cmk_spki_info info;
    char *pem = pem_of(pk, &der);

    assert_int_equal(cmk_spki_from_pem(pem, strlen(pem), &got, &info), CMK_OK);
    assert_int_equal(info.kind, kind);
    assert_int_equal(info.bits, bits);
    assert_int_equal(info.curve_nid, nid);
    assert_int_equal(got.len, der.len);
    assert_memory_equal(got.p, der.p, der.len);
    assert_int_equal(cmk_spki_describe(der.p, der.len, &info), CMK_OK);
    assert_int_equal(info.bits, bits);
    cmk_buf_free(&got);
    cmk_buf_free(&der);
    free(pem);
}

static void test_kinds(void **state)
{
    EVP_PKEY *pk;

    (void)state;
    pk = EVP_RSA_gen(2048);
    described(pk, CMK_SPKI_RSA, 2048, 0);
    EVP_PKEY_free(pk);
    pk = EVP_EC_gen("P-256");
    described(pk, CMK_SPKI_EC, 256, NID_X9_62_prime256v1);
    EVP_PKEY_free(pk);
    pk = EVP_EC_gen("P-384");
    described(pk, CMK_SPKI_EC, 384, NID_secp384r1);
    EVP_PKEY_free(pk);
    pk = EVP_EC_gen("P-521");
    described(pk, CMK_SPKI_EC, 521, NID_secp521r1);
    EVP_PKEY_free(pk);
}

static void refused_key(EVP_PKEY *pk)
{
    struct cmk_buf der = {0}, got = {0};
    struct cmk_spki_info info;
    char *pem = pem_of(pk, &der);

    assert_int_equal(cmk_spki_from_pem(pem, strlen(pem), &got, &info),
                     CMK_E_BAD_RESPONSE);
    assert_null(got.p);
    assert_int_equal(cmk_spki_describe(der.p, der.len, &info),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(info.kind, 0);
    cmk_buf_free(&der);
    free(pem);
    EVP_PKEY_free(pk);
}

static void test_other_keys(void **state)
{
    (void)state;
    refused_key(EVP_EC_gen("secp256k1"));
    refused_key(EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
}

static cmk_err from_text(const char *text)
{
    struct cmk_buf got = {0};
    struct cmk_spki_info info;
    cmk_err err = cmk_spki_from_pem(text, strlen(text), &got, &info);

    if (err != CMK_OK)
        assert_null(got.p);
    cmk_buf_free(&got);
    return err;
}

static void test_pem_shape(void **state)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    struct cmk_buf der = {0}, got = {0};
    struct cmk_spki_info info;
    char *pem = pem_of(pk, &der), text[2048];
    const char *body = strchr(pem, '\n') + 1;
    size_t blen = strlen(body) - strlen("-----END PUBLIC KEY-----\n");

    (void)state;
    snprintf(text, sizeof(text), "\n\n%s\n\n", pem);
    assert_int_equal(from_text(text), CMK_OK); /* whitespace around */
    snprintf(text, sizeof(text), "x%s", pem);
    assert_int_equal(from_text(text), CMK_E_BAD_RESPONSE);
    snprintf(text, sizeof(text), "%sx", pem);
    assert_int_equal(from_text(text), CMK_E_BAD_RESPONSE);
    snprintf(text, sizeof(text), "%s%s", pem, pem);
    assert_int_equal(from_text(text), CMK_E_BAD_RESPONSE);
    snprintf(text, sizeof(text),
             "-----BEGIN RSA PUBLIC KEY-----\n%.*s-----END RSA PUBLIC "
             "KEY-----\n",
             (int)blen, body);
    assert_int_equal(from_text(text), CMK_E_BAD_RESPONSE);
    snprintf(text, sizeof(text),
             "-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n%s", body);
    assert_int_equal(from_text(text), CMK_E_BAD_RESPONSE);
    assert_int_equal(from_text(""), CMK_E_BAD_RESPONSE);
    /* a NUL inside the length given */
    assert_int_equal(cmk_spki_from_pem(pem, strlen(pem) + 1, &got, &info),
                     CMK_E_BAD_RESPONSE);
    /* DER with a byte after the key */
    assert_int_equal(cmk_buf_dup(&got, der.p, der.len), CMK_OK);
    der.p = realloc(der.p, der.len + 1);
    assert_non_null(der.p);
    der.p[der.len] = 0;
    assert_int_equal(cmk_spki_describe(der.p, der.len + 1, &info),
                     CMK_E_BAD_RESPONSE);
    cmk_buf_free(&got);
    cmk_buf_free(&der);
    free(pem);
    EVP_PKEY_free(pk);
}

static void test_sha2(void **state)
{
    static const uint8_t sha256_abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t sha384_abc_head[8] = {0xcb, 0x00, 0x75, 0x3f,
                                               0x45, 0xa3, 0x5e, 0x8b};
    static const uint8_t sha512_abc_head[8] = {0xdd, 0xaf, 0x35, 0xa1,
                                               0x93, 0x61, 0x7a, 0xba};
    uint8_t out[64];

    (void)state;
    assert_int_equal(cmk_sha2_digest(32, "abc", 3, out), CMK_OK);
    assert_memory_equal(out, sha256_abc, 32);
    assert_int_equal(cmk_sha2_digest(48, "abc", 3, out), CMK_OK);
    assert_memory_equal(out, sha384_abc_head, 8);
    assert_int_equal(cmk_sha2_digest(64, "abc", 3, out), CMK_OK);
    assert_memory_equal(out, sha512_abc_head, 8);
    assert_int_equal(cmk_sha2_digest(20, "abc", 3, out), CMK_E_ARGS);
    assert_int_equal(cmk_sha2_digest(32, NULL, 0, out), CMK_OK);
}

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_other_keys),
        cmocka_unit_test(test_pem_shape),
        cmocka_unit_test(test_sha2),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
