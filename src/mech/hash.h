/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: hashes and MACs for the layers above (audit chain, SigV4, store,
 * cache and token ids). SHA-256 and HMAC-SHA-256 run on the algorithms
 * cmk_mech_init fetched once from the module's private OSSL_LIB_CTX
 * (SHA-NI where the CPU has it); BLAKE2b is libsodium's generichash.
 *
 * Errors: CMK_E_ARGS, CMK_E_NOMEM, CMK_E_CRYPTO (also when cmk_mech_init
 * has not run). Keys: an HMAC key is copied into OpenSSL's context only
 * for the call and cleansed when it is freed; nothing here allocates in
 * the secure pool (mech/kdf.c does, for HKDF). Thread safety: the
 * one-shot functions may run on any thread; a struct cmk_sha256 is used
 * by one thread at a time.
 */
#ifndef CMK_MECH_HASH_H
#define CMK_MECH_HASH_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

#define CMK_SHA256_LEN 32

/* One-shot SHA-256 of n bytes at p (p may be NULL when n is 0). */
cmk_err cmk_sha256(const void *p, size_t n,
                   uint8_t out[CMK_SHA256_LEN]) CMK_WUR;

/* Incremental SHA-256 on a context kept for reuse (the audit writer hashes
 * every line on one). init starts a new digest at any time. */
struct cmk_sha256;
cmk_err cmk_sha256_new(struct cmk_sha256 **out) CMK_WUR;
void cmk_sha256_free(struct cmk_sha256 *h);
cmk_err cmk_sha256_init(struct cmk_sha256 *h) CMK_WUR;
cmk_err cmk_sha256_update(struct cmk_sha256 *h, const void *p,
                          size_t n) CMK_WUR;
cmk_err cmk_sha256_final(struct cmk_sha256 *h,
                         uint8_t out[CMK_SHA256_LEN]) CMK_WUR;

/* One-shot HMAC-SHA-256 (RFC 2104). out may be the key buffer: SigV4
 * derives its signing key in place. */
cmk_err cmk_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t msg_len, uint8_t out[CMK_SHA256_LEN]) CMK_WUR;

/* BLAKE2b of out_len (1..64) bytes, unkeyed (key NULL) or keyed (key_len
 * 1..64). For ids and table keys, not for secrets: callers wipe what the
 * key was. CMK_E_ARGS for a length out of range. */
cmk_err cmk_blake2b(uint8_t *out, size_t out_len, const void *in, size_t in_len,
                    const void *key, size_t key_len) CMK_WUR;

/* Incremental unkeyed BLAKE2b: the caller holds the state (on its stack;
 * no allocation, no failure). out_len is 1..64, callers pass constants;
 * one out of range gives no output at all. */
struct cmk_blake2b {
    crypto_generichash_state st;
    size_t out_len;
};
void cmk_blake2b_init(struct cmk_blake2b *b, size_t out_len);
void cmk_blake2b_update(struct cmk_blake2b *b, const void *p, size_t n);
/* Writes b->out_len bytes. The state is not wiped: nothing hashed this
 * way is secret. */
void cmk_blake2b_final(struct cmk_blake2b *b, uint8_t *out);

#endif /* CMK_MECH_HASH_H */
