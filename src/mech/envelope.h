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
 * Version 2 adds, after the key id, the exact key that sealed it as the
 * provider named it in its answer (aws: the key ARN), so that a blob made
 * through an alias opens with the key it was made with after the alias
 * moves on:
 *
 *   8+K    2  sealed-by length S (1..255)
 *  10+K    S  sealed-by: printable ASCII (0x21..0x7e)
 *  10+K+S  4  ciphertext length C (1..65536)
 *  14+K+S  C  provider ciphertext
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
#define CMK_ENVELOPE_MAX_SEALED_BY 255

struct cmk_envelope_view {
    uint8_t version;
    uint8_t provider_id;
    const char *key_id; /* points into the blob, not NUL-terminated */
    size_t key_id_len;
    const char *sealed_by; /* version 2: into the blob, not NUL-terminated;
                            * version 1: NULL */
    size_t sealed_by_len;  /* 0 in version 1 */
    const uint8_t *ct;     /* points into the blob */
    size_t ct_len;
};

/* Size of the blob for a key id of key_id_len bytes and ct_len bytes of
 * provider ciphertext (what encode writes; parse accepts nothing else). */
size_t cmk_envelope_size(size_t key_id_len, size_t ct_len);

/* The same for a version-2 blob with a sealed-by name of sealed_by_len
 * bytes (0: version 1, as cmk_envelope_size). */
size_t cmk_envelope_size_sealed(size_t key_id_len, size_t sealed_by_len,
                                size_t ct_len);

/* Version 1. CMK_E_ARGS if key_id or ct is out of range. */
cmk_err cmk_envelope_encode(uint8_t provider_id, const char *key_id,
                            const uint8_t *ct, size_t ct_len,
                            struct cmk_buf *out) CMK_WUR;
/* Version 2 naming sealed_by; version 1 when sealed_by is NULL or "".
 * CMK_E_ARGS if key_id, sealed_by (length, a byte outside 0x21..0x7e) or
 * ct is out of range. */
cmk_err cmk_envelope_encode_sealed(uint8_t provider_id, const char *key_id,
                                   const char *sealed_by, const uint8_t *ct,
                                   size_t ct_len, struct cmk_buf *out) CMK_WUR;
/* Versions 1 and 2. CMK_E_BAD_BLOB for anything malformed (magic,
 * version, lengths, a sealed-by byte outside 0x21..0x7e, truncation,
 * trailing bytes). */
cmk_err cmk_envelope_parse(const uint8_t *blob, size_t len,
                           struct cmk_envelope_view *v) CMK_WUR;

#endif /* CMK_ENVELOPE_H */
