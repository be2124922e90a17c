/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: sealing under a 32-byte key, the form the object store and the
 * local provider keep data in: XChaCha20-Poly1305 (libsodium, IETF
 * construction) with a fresh random 24-byte nonce and the caller's AAD.
 *
 *   sealed = nonce (24) | ciphertext (as long as the plaintext) | tag (16)
 *
 * Keys stay where the caller keeps them (the secure pool); the cipher's
 * state is wiped from the vector registers after every call. Errors:
 * CMK_E_ARGS, CMK_E_BAD_CIPHERTEXT (too short, or the tag does not
 * verify: other key, other AAD, or damaged), CMK_E_CRYPTO. Thread safe.
 */
#ifndef CMK_MECH_SEAL_H
#define CMK_MECH_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

#define CMK_SEAL_KEY_LEN 32
#define CMK_SEAL_NONCE_LEN 24
#define CMK_SEAL_TAG_LEN 16
#define CMK_SEAL_OVERHEAD (CMK_SEAL_NONCE_LEN + CMK_SEAL_TAG_LEN)

/* Size of the sealed form of pt_len bytes (pt_len + CMK_SEAL_OVERHEAD);
 * SIZE_MAX when that does not fit a size_t. */
size_t cmk_seal_size(size_t pt_len);
/* Plaintext length inside a sealed form of sealed_len bytes; false when
 * sealed_len is too short to be one. */
bool cmk_seal_plain_len(size_t sealed_len, size_t *pt_len);

/* Seals pt_len bytes of pt (pt may be NULL when pt_len is 0) into out,
 * which holds cmk_seal_size(pt_len) bytes and must not overlap pt. */
cmk_err cmk_seal(const uint8_t key[CMK_SEAL_KEY_LEN], const uint8_t *aad,
                 size_t aad_len, const uint8_t *pt, size_t pt_len,
                 uint8_t *out) CMK_WUR;

/* Opens a sealed form of in_len bytes into out, which holds the
 * plaintext length (cmk_seal_plain_len). On failure out is zeroed: no
 * unauthenticated plaintext is released. */
cmk_err cmk_seal_open(const uint8_t key[CMK_SEAL_KEY_LEN], const uint8_t *aad,
                      size_t aad_len, const uint8_t *in, size_t in_len,
                      uint8_t *out) CMK_WUR;

#endif /* CMK_MECH_SEAL_H */
