/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests (mech): the format conversions of key pairs (mech/pkey.h):
 * the DigestInfo parser, ECDSA DER to r || s (short r and s, P-521's
 * long form), the digest an ECDSA key of a fixed hash signs, and
 * cmk_pkey_verify against signatures OpenSSL's default context made.
 */
#include <config.h>

#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mech/mech.h"
#include "mech/pkey.h"

static const uint8_t sha256_prefix[19] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t sha512_prefix[19] = {
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
static const uint8_t sha1_prefix[15] = {0x30, 0x21, 0x30, 0x09, 0x06,
                                        0x05, 0x2b, 0x0e, 0x03, 0x02,
                                        0x1a, 0x05, 0x00, 0x04, 0x14};

static void test_digestinfo(void **state)
{
    uint8_t in[19 + 64];
    const uint8_t *d = NULL;
    int md = 0;

    (void)state;
    memcpy(in, sha256_prefix, 19);
    memset(in + 19, 0xab, 32);
    assert_int_equal(cmk_digestinfo_parse(in, 51, &md, &d), CKR_OK);
    assert_int_equal(md, CMK_MD_SHA256);
    assert_ptr_equal(d, in + 19);
    memcpy(in, sha512_prefix, 19);
    assert_int_equal(cmk_digestinfo_parse(in, 83, &md, &d), CKR_OK);
    assert_int_equal(md, CMK_MD_SHA512);
    /* SHA-1's DigestInfo: no KMS signs it */
    memcpy(in, sha1_prefix, 15);
    assert_int_equal(cmk_digestinfo_parse(in, 35, &md, &d), CKR_DATA_LEN_RANGE);
    /* a bare digest */
    assert_int_equal(cmk_digestinfo_parse(in, 32, &md, &d), CKR_DATA_LEN_RANGE);
    /* the right length, another prefix (SHA-256's length, SHA-512's
     * prefix; one byte off) */
    memcpy(in, sha512_prefix, 19);
    assert_int_equal(cmk_digestinfo_parse(in, 51, &md, &d), CKR_DATA_INVALID);
    memcpy(in, sha256_prefix, 19);
    in[10] ^= 1;
    assert_int_equal(cmk_digestinfo_parse(in, 51, &md, &d), CKR_DATA_INVALID);
}

/* DER of SEQUENCE { INTEGER r, INTEGER s } from the integers' contents
 * (already minimal, sign byte included). */
static size_t seq(uint8_t *out, const uint8_t *r, size_t rl, const uint8_t *s,
                  size_t sl)
{
    size_t body = 2 + rl + 2 + sl, o = 0;

    out[o++] = 0x30;
    if (body >= 128)
        out[o++] = 0x81;
    out[o++] = (uint8_t)body;
    out[o++] = 0x02;
    out[o++] = (uint8_t)rl;
    memcpy(out + o, r, rl);
    o += rl;
    out[o++] = 0x02;
    out[o++] = (uint8_t)sl;
    memcpy(out + o, s, sl);
    return o + sl;
}

static void test_der_to_raw(void **state)
{
    uint8_t r[67], s[67], der[160], raw[132], want[132];
    size_t n;

    (void)state;
    /* P-256: r with its high bit set (a 0x00 sign byte), s short (1
     * byte: 31 zero bytes in front) */
    r[0] = 0x00;
    memset(r + 1, 0x9a, 32);
    s[0] = 0x05;
    n = seq(der, r, 33, s, 1);
    assert_int_equal(cmk_ecdsa_der_to_raw(der, n, 32, raw), CMK_OK);
    memset(want, 0x9a, 32);
    memset(want + 32, 0, 31);
    want[63] = 0x05;
    assert_memory_equal(raw, want, 64);
    /* P-521: 66-byte halves, a DER length in long form; r 65 bytes */
    memset(r, 0x11, 65);
    s[0] = 0x01;
    memset(s + 1, 0x22, 65);
    n = seq(der, r, 65, s, 66);
    assert_true(der[1] == 0x81);
    assert_int_equal(cmk_ecdsa_der_to_raw(der, n, 66, raw), CMK_OK);
    want[0] = 0;
    memset(want + 1, 0x11, 65);
    want[66] = 0x01;
    memset(want + 67, 0x22, 65);
    assert_memory_equal(raw, want, 132);
    /* refused: an integer longer than the curve's, trailing bytes, a
     * negative integer, not DER */
    memset(r, 0x7f, 33);
    n = seq(der, r, 33, s, 1);
    assert_int_equal(cmk_ecdsa_der_to_raw(der, n, 32, raw), CMK_E_BAD_RESPONSE);
    n = seq(der, s, 1, s, 1);
    der[n] = 0;
    assert_int_equal(cmk_ecdsa_der_to_raw(der, n + 1, 32, raw),
                     CMK_E_BAD_RESPONSE);
    r[0] = 0x80;
    n = seq(der, r, 1, s, 1);
    assert_int_equal(cmk_ecdsa_der_to_raw(der, n, 32, raw), CMK_E_BAD_RESPONSE);
    assert_int_equal(cmk_ecdsa_der_to_raw((const uint8_t *)"xyz", 3, 32, raw),
                     CMK_E_BAD_RESPONSE);
}

static void test_adjust(void **state)
{
    uint8_t in[64], out[64], want[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i + 1);
    /* longer: the leftmost bytes (SHA-512 for P-256: 32) */
    cmk_ecdsa_adjust_digest(in, 64, 32, out);
    assert_memory_equal(out, in, 32);
    /* shorter: zero bytes in front (SHA-256 for P-521: 64) */
    cmk_ecdsa_adjust_digest(in, 32, 64, out);
    memset(want, 0, 32);
    memcpy(want + 32, in, 32);
    assert_memory_equal(out, want, 64);
    /* SHA-1 for P-384 */
    cmk_ecdsa_adjust_digest(in, 20, 48, out);
    memset(want, 0, 28);
    memcpy(want + 28, in, 20);
    assert_memory_equal(out, want, 48);
    /* equal */
    cmk_ecdsa_adjust_digest(in, 48, 48, out);
    assert_memory_equal(out, in, 48);
}

/* An adjusted digest verifies as the original: OpenSSL signs the
 * original (SHA-512 on P-256, SHA-256 on P-521), the module checks the
 * adjusted one with its curve's hash. */
static void ec_adjust_case(const char *curve, size_t dlen, size_t want)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    uint8_t d[64], adj[64], der[160], raw[132];
    size_t der_len = sizeof(der), half = want == 64 ? 66 : want;
    int md = want == 64 ? CMK_MD_SHA512 : CMK_MD_SHA256;

    memset(d, 0xc3, sizeof(d));
    assert_int_equal(EVP_PKEY_sign_init(c), 1);
    assert_int_equal(EVP_PKEY_sign(c, der, &der_len, d, dlen), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(cmk_ecdsa_der_to_raw(der, der_len, half, raw), CMK_OK);
    cmk_ecdsa_adjust_digest(d, dlen, want, adj);
    assert_int_equal(
        cmk_pkey_verify(pk, CMK_PK_ECDSA, md, adj, want, raw, 2 * half),
        CKR_OK);
    raw[3] ^= 1;
    assert_int_equal(
        cmk_pkey_verify(pk, CMK_PK_ECDSA, md, adj, want, raw, 2 * half),
        CKR_SIGNATURE_INVALID);
    assert_int_equal(
        cmk_pkey_verify(pk, CMK_PK_ECDSA, md, adj, want, raw, 2 * half - 1),
        CKR_SIGNATURE_LEN_RANGE);
    EVP_PKEY_free(pk);
}

static void test_adjust_verifies(void **state)
{
    (void)state;
    assert_int_equal(cmk_mech_init(), CKR_OK);
    ec_adjust_case("P-256", 64, 32);
    ec_adjust_case("P-521", 32, 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digestinfo),
        cmocka_unit_test(test_der_to_raw),
        cmocka_unit_test(test_adjust),
        cmocka_unit_test(test_adjust_verifies),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0 ? 1 : 0;
}
