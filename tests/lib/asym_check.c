/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: OpenSSL's view of key pairs' answers (asym_check.h).
 */
#include <config.h>

#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/asym_check.h"

EVP_PKEY *tasym_spki_key(const struct cmk_buf *spki)
{
    const unsigned char *p = spki->p;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki->len);

    assert_non_null(pk);
    assert_ptr_equal(p, spki->p + spki->len); /* nothing after it */
    return pk;
}

const EVP_MD *tasym_md(enum cmk_hash h)
{
    switch (h) {
    case CMK_HASH_SHA1:
        return EVP_sha1();
    case CMK_HASH_SHA256:
        return EVP_sha256();
    case CMK_HASH_SHA384:
        return EVP_sha384();
    default:
        return EVP_sha512();
    }
}

size_t tasym_digest(enum cmk_hash h, const void *msg, size_t len,
                    uint8_t out[64])
{
    unsigned n = 0;

    assert_int_equal(EVP_Digest(msg, len, out, &n, tasym_md(h), NULL), 1);
    return n;
}

int tasym_verify(EVP_PKEY *pk, enum cmk_sig_scheme s, enum cmk_hash h,
                 const uint8_t *d, size_t dlen, const struct cmk_buf *sig)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    const EVP_MD *md = tasym_md(h);
    int ok;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, md), 1);
    if (s == CMK_SIG_RSA_PKCS1) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    } else if (s == CMK_SIG_RSA_PSS) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING),
                         1);
        assert_int_equal(
            EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md), 1);
    }
    ok = EVP_PKEY_verify(c, sig->p, sig->len, d, dlen);
    EVP_PKEY_CTX_free(c);
    return ok == 1;
}

int tasym_verify_msg(EVP_PKEY *pk, enum cmk_sig_scheme s, enum cmk_hash h,
                     const void *msg, size_t len, const struct cmk_buf *sig)
{
    uint8_t d[64];
    size_t n = tasym_digest(h, msg, len, d);

    return tasym_verify(pk, s, h, d, n, sig);
}

size_t tasym_oaep(EVP_PKEY *pk, enum cmk_hash h, const void *pt, size_t n,
                  uint8_t *ct, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
    const EVP_MD *md = tasym_md(h);
    size_t len = cap;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING),
                     1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(c, md), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, ct, &len, pt, n), 1);
    EVP_PKEY_CTX_free(c);
    return len;
}

int tasym_verify_spki(const struct cmk_buf *spki, enum cmk_sig_scheme s,
                      enum cmk_hash h, const uint8_t *d, size_t dlen,
                      const struct cmk_buf *sig)
{
    EVP_PKEY *pk = tasym_spki_key(spki);
    int ok = tasym_verify(pk, s, h, d, dlen, sig);

    EVP_PKEY_free(pk);
    return ok;
}

size_t tasym_oaep_text(const struct cmk_buf *spki, enum cmk_hash h,
                       const char *pt, uint8_t *ct, size_t cap)
{
    EVP_PKEY *pk = tasym_spki_key(spki);
    size_t n = tasym_oaep(pk, h, pt, strlen(pt), ct, cap);

    EVP_PKEY_free(pk);
    return n;
}
