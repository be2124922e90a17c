/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech (internal): what the AES-NI back end's two files share: the
 * per-function targets, 128-bit loads, block encryption one and eight at
 * a time, the VAES forms for sixteen, and the scrub every exported
 * function ends with. Only aes_ni.c and aes_ni_gcm.c include it.
 */
#ifndef CMK_MECH_AES_NI_INT_H
#define CMK_MECH_AES_NI_INT_H

#include "mech/aes_ni.h"

#ifdef CMK_AES_NI

#include <immintrin.h>
#include <stdint.h>
#include <wmmintrin.h>

/* Per-function targets: the rest of the module builds for baseline
 * x86-64 and aes.c calls in here only after cpuid said yes. */
#define NI __attribute__((target("aes,pclmul,sse4.1,ssse3")))
#define NI_INLINE static inline __attribute__((always_inline)) NI

/* Wipes the stack below the caller's frame and the vector registers
 * (aes_ni.c): every exported function ends with it, or with the _wide
 * form, deeper, after GCM's wide path (its frame is the largest). */
void cmk_aes_ni_scrub(void);
void cmk_aes_ni_scrub_wide(void);

NI_INLINE __m128i ld(const void *p)
{
    return _mm_loadu_si128((const __m128i *)p);
}

NI_INLINE void st(void *p, __m128i v)
{
    _mm_storeu_si128((__m128i *)p, v);
}

/* GHASH works on byte-reflected blocks (Gueron/Kounavis, "Intel
 * Carry-Less Multiplication Instruction and its Usage for Computing the
 * GCM Mode", rev. 2.02, 2014, section 4). */
NI_INLINE __m128i bswap(__m128i v)
{
    return _mm_shuffle_epi8(
        v, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

NI_INLINE __m128i enc1(const struct cmk_aes_key *k, __m128i b)
{
    b = _mm_xor_si128(b, ld(k->enc[0]));
    for (unsigned r = 1; r < k->rounds; r++)
        b = _mm_aesenc_si128(b, ld(k->enc[r]));
    return _mm_aesenclast_si128(b, ld(k->enc[k->rounds]));
}

/* Eight independent blocks per round key hide the AESENC latency. */
NI_INLINE void enc8(const struct cmk_aes_key *k, __m128i b[8])
{
    __m128i t = ld(k->enc[0]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm_xor_si128(b[i], t);
    for (unsigned r = 1; r < k->rounds; r++) {
        t = ld(k->enc[r]);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = _mm_aesenc_si128(b[i], t);
    }
    t = ld(k->enc[k->rounds]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm_aesenclast_si128(b[i], t);
}

/* Partial products of one block x and one power h, Karatsuba style: three
 * carry-less multiplications; the sums of many blocks share one
 * reduction (aggregated reduction, Gueron/Kounavis section 5). The
 * products know no field: GHASH (aes_ni_gcm.c) and POLYVAL
 * (aes_ni_siv.c) reduce them each in their own way. */
struct gf_acc {
    __m128i lo, hi, mid;
};

NI_INLINE void gf_acc_init(struct gf_acc *a)
{
    a->lo = _mm_setzero_si128();
    a->hi = _mm_setzero_si128();
    a->mid = _mm_setzero_si128();
}

NI_INLINE void gf_mul_acc(struct gf_acc *a, __m128i x, __m128i h)
{
    __m128i xm = _mm_xor_si128(x, _mm_shuffle_epi32(x, 0x4e));
    __m128i hm = _mm_xor_si128(h, _mm_shuffle_epi32(h, 0x4e));

    a->lo = _mm_xor_si128(a->lo, _mm_clmulepi64_si128(x, h, 0x00));
    a->hi = _mm_xor_si128(a->hi, _mm_clmulepi64_si128(x, h, 0x11));
    a->mid = _mm_xor_si128(a->mid, _mm_clmulepi64_si128(xm, hm, 0x00));
}

/* Two blocks per ymm register. AVX2-class VAES, not AVX-512: AMD Zen 3
 * and Intel client cores have it too. With only ymm0-15 the compiler
 * spills a few blocks (wiped by scrub); AVX-512VL's ymm16-31 were about
 * 5% faster on Zen 4, not worth a second copy of these loops. */
#define WIDE                                                                   \
    __attribute__((target("aes,pclmul,sse4.1,ssse3,avx,avx2,vaes,"             \
                          "vpclmulqdq")))
#define WIDE_INLINE static inline __attribute__((always_inline)) WIDE

WIDE_INLINE __m256i bswap2(__m256i v)
{
    return _mm256_shuffle_epi8(
        v, _mm256_broadcastsi128_si256(_mm_set_epi8(
               0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
}

WIDE_INLINE __m256i rk2(const uint8_t rk[16])
{
    return _mm256_broadcastsi128_si256(ld(rk));
}

/* Sixteen blocks in eight registers: the key whitening, one middle
 * round, the last round; enc16 is the three in order, and GCM puts its
 * GHASH steps between the middle rounds. */
WIDE_INLINE void enc16_first(const struct cmk_aes_key *k, __m256i b[8])
{
    __m256i t = rk2(k->enc[0]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_xor_si256(b[i], t);
}

WIDE_INLINE void enc16_round(const struct cmk_aes_key *k, unsigned r,
                             __m256i b[8])
{
    __m256i t = rk2(k->enc[r]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_aesenc_epi128(b[i], t);
}

WIDE_INLINE void enc16_last(const struct cmk_aes_key *k, __m256i b[8])
{
    __m256i t = rk2(k->enc[k->rounds]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_aesenclast_epi128(b[i], t);
}

WIDE_INLINE void enc16(const struct cmk_aes_key *k, __m256i b[8])
{
    enc16_first(k, b);
    for (unsigned r = 1; r < k->rounds; r++)
        enc16_round(k, r, b);
    enc16_last(k, b);
}

#endif /* CMK_AES_NI */

#endif /* CMK_MECH_AES_NI_INT_H */
