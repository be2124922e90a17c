/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: OpenSSL's own view of a key pair's answers, for the provider
 * tests of key pairs (tests/unit/test_*_asym.c): the public key of a
 * SubjectPublicKeyInfo, digests, OpenSSL's verdict on a signature, and
 * RSAES-OAEP ciphertexts for the provider to decrypt. Every step is
 * asserted (cmocka); OpenSSL's default context.
 */
#ifndef CMK_TEST_ASYM_CHECK_H
#define CMK_TEST_ASYM_CHECK_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/asym.h"
#include "util/secmem.h"

/* The key of the DER SubjectPublicKeyInfo spki, which it fills. */
EVP_PKEY *tasym_spki_key(const struct cmk_buf *spki);
const EVP_MD *tasym_md(enum cmk_hash h);
/* h(msg[0..len)) into out; its length. */
size_t tasym_digest(enum cmk_hash h, const void *msg, size_t len,
                    uint8_t out[64]);
/* OpenSSL's verdict, 1 good and 0 not, on sig over the digest d of hash
 * h with scheme s: RSA PKCS#1 v1.5, PSS (MGF1 of h, salt h's length) or
 * ECDSA (sig in DER). */
int tasym_verify(EVP_PKEY *pk, enum cmk_sig_scheme s, enum cmk_hash h,
                 const uint8_t *d, size_t dlen, const struct cmk_buf *sig);
/* The same over the message msg, hashed here. */
int tasym_verify_msg(EVP_PKEY *pk, enum cmk_sig_scheme s, enum cmk_hash h,
                     const void *msg, size_t len, const struct cmk_buf *sig);
/* tasym_verify with the key of the SubjectPublicKeyInfo spki. */
int tasym_verify_spki(const struct cmk_buf *spki, enum cmk_sig_scheme s,
                      enum cmk_hash h, const uint8_t *d, size_t dlen,
                      const struct cmk_buf *sig);
/* RSAES-OAEP of pt[0..n) to pk (h for OAEP and MGF1, no label) into
 * ct[0..cap); the ciphertext's length. */
size_t tasym_oaep(EVP_PKEY *pk, enum cmk_hash h, const void *pt, size_t n,
                  uint8_t *ct, size_t cap);
/* The same of the text pt to the key of spki. */
size_t tasym_oaep_text(const struct cmk_buf *spki, enum cmk_hash h,
                       const char *pt, uint8_t *ct, size_t cap);

#endif /* CMK_TEST_ASYM_CHECK_H */
