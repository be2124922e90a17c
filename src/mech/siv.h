/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): the tag of AES-256-GCM-SIV (RFC 8452) for one fixed
 * nonce, the audit line's format-3 mac (line_mac.c). The per-nonce keys
 * are derived once (section 4): the message-encryption key's schedule and
 * the message-authentication key, with its powers for POLYVAL where the
 * CPU has PCLMULQDQ, are kept, so a tag costs POLYVAL over its bytes and
 * one block encryption. The caller places the struct (the writer's in the
 * secure pool). Not for use outside src/mech.
 */
#ifndef CMK_MECH_SIV_H
#define CMK_MECH_SIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mech/aes.h"

#define CMK_SIV_KEY_LEN 32
#define CMK_SIV_NONCE_LEN 12
#define CMK_SIV_TAG_LEN 16
#define CMK_SIV_POWERS 8

struct cmk_siv_key {
    struct cmk_aes_key enc; /* message-encryption key (AES-256) */
    /* H^8 .. H^1: htab[CMK_SIV_POWERS - i] = H^i (hardware path only) */
    uint8_t htab[CMK_SIV_POWERS][16] __attribute__((aligned(16)));
    uint8_t h[16]; /* message-authentication key H */
    uint8_t nonce[CMK_SIV_NONCE_LEN];
};

/* Derives sk from the key-generating key and nonce. False when the
 * OpenSSL fallback failed (sk is then wiped). */
bool cmk_siv_key_init(struct cmk_siv_key *sk, const uint8_t key[32],
                      const uint8_t nonce[12]);
void cmk_siv_key_wipe(struct cmk_siv_key *sk);

/* The 16-byte tag for the additional data head || ad (head: NULL, or
 * one whole 16-byte block) and the plaintext msg. False when the
 * fallback failed (tag is then zeros). */
bool cmk_siv_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                 const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                 size_t msg_len, uint8_t tag[16]);

#endif /* CMK_MECH_SIV_H */
