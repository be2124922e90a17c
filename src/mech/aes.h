/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): AES block modes and GCM on key schedules the caller
 * places in memory the module controls (the locked, MADV_DONTDUMP,
 * MADV_WIPEONFORK pool), so no key schedule or GHASH key sits in the
 * ordinary heap, a core dump or a forked child (DESIGN.md, "Security
 * rules"). With AES-NI and PCLMULQDQ (cmk_aes_hw) everything is computed
 * on these structs; without them the functions fall back to OpenSSL EVP
 * contexts created per call and freed at once (slower, and the schedule
 * then briefly lives in OpenSSL's heap).
 * Not for use outside src/mech. No function here allocates, except the
 * fallback; none can fail on valid arguments (lengths are the caller's
 * checks) except the fallback, when OpenSSL cannot get memory: see
 * cmk_aes_failed.
 */
#ifndef CMK_MECH_AES_H
#define CMK_MECH_AES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMK_AES_MAX_ROUNDS 14

/* An expanded AES key (FIPS 197 5.2) for both directions. raw keeps the
 * key itself for the fallback. Wipe with cmk_aes_key_wipe. */
struct cmk_aes_key {
    uint8_t enc[CMK_AES_MAX_ROUNDS + 1][16] __attribute__((aligned(16)));
    uint8_t dec[CMK_AES_MAX_ROUNDS + 1][16] __attribute__((aligned(16)));
    uint8_t raw[32];
    unsigned rounds;  /* 10, 12, 14 */
    unsigned key_len; /* 16, 24, 32 */
};

/* True when the CPU has AES-NI and PCLMULQDQ (checked once). */
bool cmk_aes_hw(void);
/* The same, whatever cmk_aes_force_fallback says: keys are expanded for
 * the hardware whenever it is there. */
bool cmk_aes_cpu(void);

/* Whether the last call of this file on this thread failed in the
 * fallback (EVP context allocation or an OpenSSL error). Its output is
 * then zeros (a tag: random bytes, so no supplied tag matches) and must
 * not be used; a failed GCM message needs a new cmk_gcm_start. Always
 * false with cmk_aes_hw. Every mode and GCM call except keying and
 * wiping resets it. */
bool cmk_aes_failed(void);

/* Tests only: force the EVP fallback (on) or, with cmk_aes_hw, the
 * 128-bit AES-NI path instead of VAES (narrow), so that every path runs
 * on one machine. Process-wide; not for use while other threads run. */
void cmk_aes_force_fallback(bool on);
void cmk_aes_force_narrow(bool on);

/* len 16, 24 or 32 (checked by the caller; any other leaves k zeroed,
 * and what it computes is then meaningless). */
void cmk_aes_key_set(struct cmk_aes_key *k, const uint8_t *key, size_t len);
void cmk_aes_key_wipe(struct cmk_aes_key *k);

/* nblocks whole 16-byte blocks; in == out allowed, other overlap not. */
void cmk_aes_ecb(const struct cmk_aes_key *k, bool encrypt, const uint8_t *in,
                 uint8_t *out, size_t nblocks);
/* iv is updated to the last ciphertext block (chaining continues). */
void cmk_aes_cbc(const struct cmk_aes_key *k, bool encrypt, uint8_t iv[16],
                 const uint8_t *in, uint8_t *out, size_t nblocks);
/* CTR with ctr a 128-bit big-endian counter block, incremented once per
 * block (the caller makes sure its counter field does not wrap); ctr is
 * updated to the next unused counter block. */
void cmk_aes_ctr(const struct cmk_aes_key *k, uint8_t ctr[16],
                 const uint8_t *in, uint8_t *out, size_t nblocks);

/* GCM (SP 800-38D) keyed part: the key schedule and the powers of H.
 * Made once (cmk_gcm_key_init) and then only read, so several messages
 * (struct cmk_gcm, one per thread at a time) may run on one at once. */
struct cmk_gcm_key {
    struct cmk_aes_key key;
    uint8_t htab[16][16] __attribute__((aligned(16))); /* impl-defined */
};

/* GCM: the state of one message on a keyed part: k points at a shared
 * struct cmk_gcm_key (cmk_gcm_bind) or at own (cmk_gcm_key_set). Then
 * any number of messages: start, aad*, encrypt* or decrypt*, tag.
 * Streaming with any lengths; AAD only before the first data byte.
 * in == out allowed. */
struct cmk_gcm {
    const struct cmk_gcm_key *k;
    uint8_t j0[16];
    uint8_t ctr[16];
    uint8_t x[16];    /* running GHASH */
    uint8_t ks[16];   /* keystream of the current partial block */
    uint8_t part[16]; /* AAD or ciphertext bytes of a partial block */
    size_t ks_used;   /* keystream bytes of ks already used (0..16) */
    size_t part_len;
    uint64_t aad_len;
    uint64_t data_len;
    void *fallback;         /* EVP_CIPHER_CTX without cmk_aes_hw; else NULL */
    struct cmk_gcm_key own; /* unused when bound to a shared key */
};

/* Expands key (len 16, 24 or 32) into gk: the AES schedule and, where
 * the CPU can, H and its powers. gk is then read-only. */
void cmk_gcm_key_init(struct cmk_gcm_key *gk, const uint8_t *key, size_t len);
void cmk_gcm_key_wipe(struct cmk_gcm_key *gk);
/* Points g at gk, which must outlive g's use; the message state is
 * reset (an earlier fallback context is freed). Nothing is copied. */
void cmk_gcm_bind(struct cmk_gcm *g, const struct cmk_gcm_key *gk);

/* Keys g with its own copy (g->own): g is zeroed memory
 * (cmk_secmem_alloc gives it) or was used before: an earlier fallback
 * context is freed. The test hooks may switch paths between messages,
 * not within one. */
void cmk_gcm_key_set(struct cmk_gcm *g, const uint8_t *key, size_t len);
/* iv_len >= 1 (12 is the fast case); the fallback takes at most 128
 * (OpenSSL 3.0's limit), longer ones fail there (cmk_aes_failed). */
void cmk_gcm_start(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len);
void cmk_gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len);
void cmk_gcm_encrypt(struct cmk_gcm *g, const uint8_t *in, uint8_t *out,
                     size_t len);
void cmk_gcm_decrypt(struct cmk_gcm *g, const uint8_t *in, uint8_t *out,
                     size_t len);
/* The full 16-byte tag of the message; the caller truncates, and compares
 * with sodium_memcmp. The next message needs cmk_gcm_start. */
void cmk_gcm_tag(struct cmk_gcm *g, uint8_t tag[16]);
/* Wipes everything (also frees the fallback context). */
void cmk_gcm_wipe(struct cmk_gcm *g);

#endif /* CMK_MECH_AES_H */
