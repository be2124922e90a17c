/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: the encrypted file format of cmk-tool encrypt / decrypt / rekey
 * (docs/file-format.md): header encoding and checks, header hash, chunk
 * record headers, per-chunk nonce and AAD. Pure functions, no I/O.
 */
#ifndef CMK_TOOL_FILE_FORMAT_H
#define CMK_TOOL_FILE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOOL_F_MAGIC "CMKF"
#define TOOL_F_VERSION 1u

/* Key paths: how the DEK is wrapped by the tenant's CMK. */
#define TOOL_F_PATH_DIRECT 1u /* CKM_CMK_ENVELOPE: one KMS call */
#define TOOL_F_PATH_KEK 2u    /* CKM_AES_KEY_WRAP_KWP under the KEK */

/* Data ciphers. */
#define TOOL_F_AES_GCM 1u /* AES-256-GCM, 12-byte nonce */
#define TOOL_F_XCHACHA 2u /* XChaCha20-Poly1305, 24-byte nonce */

#define TOOL_F_CHUNK_MIN 4096u
#define TOOL_F_CHUNK_MAX (16u * 1024u * 1024u)
#define TOOL_F_CHUNK_DEFAULT (64u * 1024u)
#define TOOL_F_LABEL_MAX 32u
#define TOOL_F_WRAPPED_MAX 4096u
#define TOOL_F_PREFIX_MAX 16u
#define TOOL_F_NONCE_MAX 24u
#define TOOL_F_TAG 16u
#define TOOL_F_HASH 32u
/* magic, version, path, cipher, prefix length, chunk size, label length */
#define TOOL_F_FIXED 13u
#define TOOL_F_HDR_MAX                                                         \
    (TOOL_F_FIXED + TOOL_F_LABEL_MAX + 2u + TOOL_F_WRAPPED_MAX +               \
     TOOL_F_PREFIX_MAX)
/* Record header: u32 BE, bit 31 the final flag, bits 0..24 the length. */
#define TOOL_F_REC 4u
#define TOOL_F_FINAL 0x80000000u
#define TOOL_F_LEN_MASK 0x01ffffffu
/* AAD: header hash || u64 BE chunk index || u8 final flag. */
#define TOOL_F_AAD (TOOL_F_HASH + 8u + 1u)

struct tool_fhdr {
    unsigned version, path, cipher;
    uint32_t chunk;
    char label[TOOL_F_LABEL_MAX + 1];
    uint8_t wrapped[TOOL_F_WRAPPED_MAX];
    size_t wrapped_len;
    uint8_t prefix[TOOL_F_PREFIX_MAX];
    size_t prefix_len;
};

/* The nonce prefix length of a cipher (4 or 16), 0 for an unknown one. */
size_t tool_fhdr_prefix_len(unsigned cipher);
/* "aes-256-gcm", "xchacha20-poly1305"; "direct", "kek"; NULL if unknown. */
const char *tool_fcipher_name(unsigned cipher);
const char *tool_fpath_name(unsigned path);
/* The number for a name, 0 for an unknown one. */
unsigned tool_fcipher_from(const char *name);
unsigned tool_fpath_from(const char *name);

/* Writes h into out[TOOL_F_HDR_MAX]; its length, 0 if h is invalid. */
size_t tool_fhdr_encode(const struct tool_fhdr *h, uint8_t *out);

/* Checks the TOOL_F_FIXED first bytes. 0, or -1 with why set ("bad
 * magic", "version 7 is not supported" ...). On success *rest is how
 * many bytes follow up to and including the wrapped-DEK length. */
int tool_fhdr_fixed(const uint8_t *p, struct tool_fhdr *h, size_t *rest,
                    char *why, size_t why_len);
/* With the fixed part parsed into h and p at its label: the label and
 * the wrapped-DEK length W. *rest: bytes left (W + prefix). */
int tool_fhdr_label(const uint8_t *p, struct tool_fhdr *h, size_t *rest,
                    char *why, size_t why_len);
/* Copies the wrapped DEK and the prefix (p at the wrapped DEK). */
void tool_fhdr_tail(const uint8_t *p, struct tool_fhdr *h);

/* Record header of chunk payload length n. */
void tool_frec_encode(uint8_t out[TOOL_F_REC], uint32_t n, bool final);
/* Parses one; -1 if reserved bits are set or the length exceeds chunk. */
int tool_frec_decode(const uint8_t in[TOOL_F_REC], uint32_t chunk, uint32_t *n,
                     bool *final);

/* prefix || u64 BE index; returns the nonce length (12 or 24). */
size_t tool_fnonce(const struct tool_fhdr *h, uint64_t index,
                   uint8_t out[TOOL_F_NONCE_MAX]);
/* hash || u64 BE index || final. */
void tool_faad(const uint8_t hash[TOOL_F_HASH], uint64_t index, bool final,
               uint8_t out[TOOL_F_AAD]);

#endif /* CMK_TOOL_FILE_FORMAT_H */
