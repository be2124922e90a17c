/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: buffers. cmk_secret holds key material and plaintext in libsodium
 * guarded, locked memory; cmk_buf holds non-secret data on the heap (wiped
 * on free anyway, since KMS ciphertexts and blobs are cheap to wipe).
 * Both frees accept a zeroed struct and leave it zeroed.
 */
#ifndef CMK_SECMEM_H
#define CMK_SECMEM_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

struct cmk_secret {
    uint8_t *p;
    size_t len;
};

struct cmk_buf {
    uint8_t *p;
    size_t len;
};

/* Allocates len bytes (len may be 0: p is then a valid 1-byte area). */
cmk_err cmk_secret_alloc(struct cmk_secret *s, size_t len) CMK_WUR;
cmk_err cmk_secret_dup(struct cmk_secret *s, const uint8_t *p,
                       size_t len) CMK_WUR;
void cmk_secret_free(struct cmk_secret *s);

cmk_err cmk_buf_alloc(struct cmk_buf *b, size_t len) CMK_WUR;
cmk_err cmk_buf_dup(struct cmk_buf *b, const uint8_t *p, size_t len) CMK_WUR;
void cmk_buf_free(struct cmk_buf *b);

/* Heap string duplicate; NULL on NULL or no memory. */
char *cmk_strdup(const char *s);
/* Wipes and frees a NUL-terminated heap string. */
void cmk_str_free(char *s);

#endif /* CMK_SECMEM_H */
