/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: XChaCha20-Poly1305 sealing with a random nonce in front
 * (layout in seal.h), for the object store and the local provider.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>

#include "mech/mech.h"
#include "mech/seal.h"
#include "util/regs.h"

_Static_assert(CMK_SEAL_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "seal key length");
_Static_assert(CMK_SEAL_NONCE_LEN ==
                   crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
               "seal nonce length");
_Static_assert(CMK_SEAL_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "seal tag length");

/* libsodium reads no byte of an empty message or AAD, but gets a valid
 * pointer all the same. */
static const uint8_t empty[1];

size_t cmk_seal_size(size_t pt_len)
{
    return pt_len > SIZE_MAX - CMK_SEAL_OVERHEAD ? SIZE_MAX
                                                 : pt_len + CMK_SEAL_OVERHEAD;
}

bool cmk_seal_plain_len(size_t sealed_len, size_t *pt_len)
{
    if (sealed_len < CMK_SEAL_OVERHEAD)
        return false;
    *pt_len = sealed_len - CMK_SEAL_OVERHEAD;
    return true;
}

cmk_err cmk_seal(const uint8_t key[CMK_SEAL_KEY_LEN], const uint8_t *aad,
                 size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *out)
{
    int rc;

    if (key == NULL || out == NULL || (aad == NULL && aad_len != 0) ||
        (pt == NULL && pt_len != 0) || pt_len > SIZE_MAX - CMK_SEAL_OVERHEAD)
        return CMK_E_ARGS;
    cmk_random(out, CMK_SEAL_NONCE_LEN);
    rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + CMK_SEAL_NONCE_LEN, NULL, pt_len != 0 ? pt : empty, pt_len,
        aad_len != 0 ? aad : empty, aad_len, NULL, out, key);
    cmk_regs_wipe(); /* the ChaCha20 state held the key */
    return rc == 0 ? CMK_OK : CMK_E_CRYPTO;
}

cmk_err cmk_seal_open(const uint8_t key[CMK_SEAL_KEY_LEN], const uint8_t *aad,
                      size_t aad_len, const uint8_t *in, size_t in_len,
                      uint8_t *out)
{
    size_t pt_len;
    int rc;

    if (key == NULL || in == NULL || out == NULL ||
        (aad == NULL && aad_len != 0))
        return CMK_E_ARGS;
    if (!cmk_seal_plain_len(in_len, &pt_len))
        return CMK_E_BAD_CIPHERTEXT;
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        out, NULL, NULL, in + CMK_SEAL_NONCE_LEN, in_len - CMK_SEAL_NONCE_LEN,
        aad_len != 0 ? aad : empty, aad_len, in, key);
    /* The ChaCha20 state held the key, and the plaintext. */
    cmk_regs_wipe();
    if (rc != 0) {
        sodium_memzero(out, pt_len);
        return CMK_E_BAD_CIPHERTEXT;
    }
    return CMK_OK;
}
