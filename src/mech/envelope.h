/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the envelope blob, the self-describing output of the direct path
 * (and the form of the tenant KEK in config). Big-endian layout, version 1:
 *
 *   0   4  magic "CMKE"
 *   4   1  format version (1)
 *   5   1  provider id (enum cmk_provider_id)
 *   6   2  key id length K (1..255)
 *   8   K  key id: which CMK version sealed it (provider key_id)
 *   8+K 4  ciphertext length C (1..65536)
 *  12+K C  provider ciphertext
 *
 * Nothing may follow. The encryption context is not stored: it is bound
 * by the provider as AAD and rebuilt from config on unwrap.
 */
#ifndef CMK_ENVELOPE_H
#define CMK_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"
#include "util/secmem.h"

#define CMK_ENVELOPE_MAX_KEY_ID 255
#define CMK_ENVELOPE_MAX_CT 65536

struct cmk_envelope_view {
    uint8_t version;
    uint8_t provider_id;
    const char *key_id; /* points into the blob, not NUL-terminated */
    size_t key_id_len;
    const uint8_t *ct; /* points into the blob */
    size_t ct_len;
};

/* Size of the blob for a key id of key_id_len bytes and ct_len bytes of
 * provider ciphertext (what encode writes; parse accepts nothing else). */
size_t cmk_envelope_size(size_t key_id_len, size_t ct_len);

/* CMK_E_ARGS if key_id or ct is out of range. */
cmk_err cmk_envelope_encode(uint8_t provider_id, const char *key_id,
                            const uint8_t *ct, size_t ct_len,
                            struct cmk_buf *out) CMK_WUR;
/* CMK_E_BAD_BLOB for anything malformed (magic, version, lengths,
 * truncation, trailing bytes). */
cmk_err cmk_envelope_parse(const uint8_t *blob, size_t len,
                           struct cmk_envelope_view *v) CMK_WUR;

#endif /* CMK_ENVELOPE_H */
