/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): the x86-64 AES-NI/PCLMULQDQ back end of aes.h. Only
 * aes.c calls it, and only after cmk_aes_hw said yes; "wide" selects the
 * VAES/VPCLMULQDQ bulk loops for GCM and CTR, allowed only when cpuid and
 * XGETBV say the CPU and OS have AVX, AVX2, VAES and VPCLMULQDQ.
 */
#ifndef CMK_MECH_AES_NI_H
#define CMK_MECH_AES_NI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mech/aes.h"
#include "mech/siv.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define CMK_AES_NI 1

void cmk_aes_ni_key_set(struct cmk_aes_key *k, const uint8_t *key, size_t len);
void cmk_aes_ni_ecb(const struct cmk_aes_key *k, bool encrypt,
                    const uint8_t *in, uint8_t *out, size_t nblocks);
void cmk_aes_ni_cbc(const struct cmk_aes_key *k, bool encrypt, uint8_t iv[16],
                    const uint8_t *in, uint8_t *out, size_t nblocks);
void cmk_aes_ni_ctr(const struct cmk_aes_key *k, bool wide, uint8_t ctr[16],
                    const uint8_t *in, uint8_t *out, size_t nblocks);

/* gk->key is set; computes H and its powers into gk->htab. */
void cmk_aes_ni_gcm_key(struct cmk_gcm_key *gk);
void cmk_aes_ni_gcm_start(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len);
void cmk_aes_ni_gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len);
void cmk_aes_ni_gcm_crypt(struct cmk_gcm *g, bool encrypt, bool wide,
                          const uint8_t *in, uint8_t *out, size_t len);
void cmk_aes_ni_gcm_tag(struct cmk_gcm *g, uint8_t tag[16]);

/* sk->h is set; computes its powers into sk->htab (siv.h). */
void cmk_aes_ni_siv_key(struct cmk_siv_key *sk);
void cmk_aes_ni_siv_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                        const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                        size_t msg_len, uint8_t tag[16]);
#endif

#endif /* CMK_MECH_AES_NI_H */
