/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: public keys as a KMS gives them (a DER SubjectPublicKeyInfo, or a
 * PEM "PUBLIC KEY" around one), checked to parse on the module's private
 * OpenSSL context and described (kind, size, curve), and the SHA-2
 * digests a key pair signs. Nothing here is secret. Errors: CMK_E_ARGS,
 * CMK_E_BAD_RESPONSE (not one well-formed public key of a kind listed
 * below), CMK_E_NOMEM, CMK_E_CRYPTO. Thread safe.
 */
#ifndef CMK_MECH_SPKI_H
#define CMK_MECH_SPKI_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

/* The kinds, with the values of providers/asym.h's enum cmk_asym_kind. */
#define CMK_SPKI_RSA 1
#define CMK_SPKI_EC 2

/* Most bytes of a SubjectPublicKeyInfo taken (RSA 4096 is 550). */
#define CMK_SPKI_MAX 4096

struct cmk_spki_info {
    int kind;      /* CMK_SPKI_RSA or CMK_SPKI_EC */
    unsigned bits; /* RSA: the modulus' bits; EC: the order's bits */
    int curve_nid; /* EC: NID_X9_62_prime256v1, NID_secp384r1 or
                    * NID_secp521r1 (any other curve is refused); 0 RSA */
};

/* What the DER SubjectPublicKeyInfo der[0..len) holds: exactly one RSA
 * or EC public key (on a named curve above), nothing after it. */
cmk_err cmk_spki_describe(const uint8_t *der, size_t len,
                          struct cmk_spki_info *info) CMK_WUR;

/* The DER inside the PEM text pem[0..len): exactly one "PUBLIC KEY"
 * block (no headers), only whitespace around it, its content as it is
 * (not re-encoded) and described as cmk_spki_describe does. *der is
 * allocated (the caller frees); empty on failure. */
cmk_err cmk_spki_from_pem(const char *pem, size_t len, struct cmk_buf *der,
                          struct cmk_spki_info *info) CMK_WUR;

/* SHA-256, SHA-384 or SHA-512 (out_len 32, 48 or 64) of p[0..n). */
cmk_err cmk_sha2_digest(size_t out_len, const void *p, size_t n,
                        uint8_t *out) CMK_WUR;

#endif /* CMK_MECH_SPKI_H */
