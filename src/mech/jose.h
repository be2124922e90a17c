/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the JOSE forms a KMS answers in (RFC 7517 JWK public keys, RFC
 * 7518 3.4 raw ECDSA signatures) turned into the DER forms the module
 * works with, on the module's private
 * OpenSSL context (cmk_mech_init first). Azure Key Vault gives its public
 * keys as JWK and its ECDSA signatures as r || s. Errors: CMK_E_ARGS,
 * CMK_E_BAD_RESPONSE (parts that make no key of the kind asked for: a
 * point off the curve, a size not taken), CMK_E_NOMEM, CMK_E_CRYPTO.
 * Stateless, thread safe.
 */
#ifndef CMK_MECH_JOSE_H
#define CMK_MECH_JOSE_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

/* The DER SubjectPublicKeyInfo of the RSA key (n, e), big-endian
 * unsigned; *bits the modulus' bit length, which must be 2048, 3072 or
 * 4096. */
cmk_err cmk_jose_rsa_spki(const uint8_t *n, size_t n_len, const uint8_t *e,
                          size_t e_len, struct cmk_buf *spki,
                          unsigned *bits) CMK_WUR;
/* The DER SubjectPublicKeyInfo (id-ecPublicKey, the named curve) of the
 * point (x, y), each coord_len bytes (32, 48, 66) on curve nid
 * (NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1), checked to be
 * on the curve. */
cmk_err cmk_jose_ec_spki(int nid, const uint8_t *x, const uint8_t *y,
                         size_t coord_len, struct cmk_buf *spki) CMK_WUR;
/* The DER ECDSA-Sig-Value of a raw signature r || s (len even, each half
 * at most 66 bytes, neither zero). */
cmk_err cmk_jose_ecdsa_der(const uint8_t *rs, size_t len,
                           struct cmk_buf *der) CMK_WUR;

#endif /* CMK_MECH_JOSE_H */
