/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: the AES-GCM-SIV tag (RFC 8452) with PCLMULQDQ and AES-NI:
 * POLYVAL on the powers of H in the caller's struct, eight blocks to one
 * reduction, then one AES block.
 */
#include <config.h>

#include "mech/aes_ni.h"

#ifdef CMK_AES_NI

#include <string.h>

#include "mech/aes_ni_int.h"

/* The 256-bit product lo ^ hi << 128 times x^-128 modulo x^128 + x^127 +
 * x^126 + x^121 + 1: two Montgomery folds of the low half by the
 * constant 0xc2 << 56 (Gueron/Lindell, "GCM-SIV: full nonce
 * misuse-resistant authenticated encryption at under one cycle per
 * byte", 2015, and RFC 8452's dot()). POLYVAL's operands are not
 * reflected: no shift, unlike GHASH's gf_reduce. */
NI_INLINE __m128i pv_reduce(__m128i lo, __m128i hi)
{
    const __m128i poly = _mm_set_epi64x((long long)0xc200000000000000ULL, 1);
    __m128i t;

    t = _mm_clmulepi64_si128(lo, poly, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    t = _mm_clmulepi64_si128(lo, poly, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    return _mm_xor_si128(hi, lo);
}

NI_INLINE __m128i pv_fin(const struct gf_acc *a)
{
    __m128i cross = _mm_xor_si128(a->mid, _mm_xor_si128(a->lo, a->hi));

    return pv_reduce(_mm_xor_si128(a->lo, _mm_slli_si128(cross, 8)),
                     _mm_xor_si128(a->hi, _mm_srli_si128(cross, 8)));
}

NI_INLINE __m128i pv_mul(__m128i x, __m128i h)
{
    struct gf_acc a;

    gf_acc_init(&a);
    gf_mul_acc(&a, x, h);
    return pv_fin(&a);
}

/* s = (s ^ b[0]) H^n ^ b[1] H^(n-1) ^ ... ^ b[n-1] H, n <= 8. */
NI_INLINE __m128i pv_blocks(const struct cmk_siv_key *sk, __m128i s,
                            const uint8_t *p, size_t n)
{
    struct gf_acc a;

    gf_acc_init(&a);
    for (size_t i = 0; i < n; i++) {
        __m128i x = ld(p + 16 * i);

        if (i == 0)
            x = _mm_xor_si128(x, s);
        gf_mul_acc(&a, x, ld(sk->htab[CMK_SIV_POWERS - n + i]));
    }
    return pv_fin(&a);
}

/* Blocks wait in q until eight can share one reduction. */
struct pv {
    __m128i s;
    uint8_t q[CMK_SIV_POWERS * 16];
    size_t n;
};

NI_INLINE void pv_push(const struct cmk_siv_key *sk, struct pv *v,
                       const uint8_t *p, size_t nblocks)
{
    while (nblocks > 0) {
        if (v->n == 0 && nblocks >= CMK_SIV_POWERS) {
            v->s = pv_blocks(sk, v->s, p, CMK_SIV_POWERS);
            p += 16 * CMK_SIV_POWERS;
            nblocks -= CMK_SIV_POWERS;
            continue;
        }
        memcpy(v->q + 16 * v->n++, p, 16);
        p += 16;
        nblocks--;
        if (v->n == CMK_SIV_POWERS) {
            v->s = pv_blocks(sk, v->s, v->q, CMK_SIV_POWERS);
            v->n = 0;
        }
    }
}

/* p[0..len) zero-padded to whole blocks. */
NI_INLINE void pv_segment(const struct cmk_siv_key *sk, struct pv *v,
                          const uint8_t *p, size_t len)
{
    uint8_t last[16];

    pv_push(sk, v, p, len / 16);
    if (len % 16 != 0) {
        memset(last, 0, sizeof(last));
        memcpy(last, p + len - len % 16, len % 16);
        pv_push(sk, v, last, 1);
    }
}

static NI void siv_key(struct cmk_siv_key *sk)
{
    __m128i h = ld(sk->h), p = h;

    st(sk->htab[CMK_SIV_POWERS - 1], h);
    for (size_t i = 1; i < CMK_SIV_POWERS; i++) {
        p = pv_mul(p, h);
        st(sk->htab[CMK_SIV_POWERS - 1 - i], p);
    }
}

void cmk_aes_ni_siv_key(struct cmk_siv_key *sk)
{
    siv_key(sk);
    cmk_aes_ni_scrub();
}

/* RFC 8452 section 4: S_s = POLYVAL(H, AD, plaintext, lengths), its
 * first twelve bytes XORed with the nonce, the top bit of its last byte
 * cleared, encrypted with the message-encryption key. */
static NI void siv_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                       const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                       size_t msg_len, uint8_t tag[16])
{
    uint8_t n[16] = {0}, len[16];
    uint64_t ad_bits = 8 * (uint64_t)(ad_len + (head != NULL ? 16 : 0));
    uint64_t msg_bits = 8 * (uint64_t)msg_len;
    struct pv v;
    __m128i s;

    v.s = _mm_setzero_si128();
    v.n = 0;
    if (head != NULL)
        pv_push(sk, &v, head, 1);
    pv_segment(sk, &v, ad, ad_len);
    pv_segment(sk, &v, msg, msg_len);
    st(len, _mm_set_epi64x((long long)msg_bits, (long long)ad_bits));
    pv_push(sk, &v, len, 1);
    s = v.n > 0 ? pv_blocks(sk, v.s, v.q, v.n) : v.s;
    memcpy(n, sk->nonce, sizeof(sk->nonce));
    s = _mm_xor_si128(s, ld(n));
    s = _mm_and_si128(s, _mm_set_epi32(0x7fffffff, -1, -1, -1));
    st(tag, enc1(&sk->enc, s));
}

void cmk_aes_ni_siv_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                        const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                        size_t msg_len, uint8_t tag[16])
{
    siv_tag(sk, head, ad, ad_len, msg, msg_len, tag);
    cmk_aes_ni_scrub();
}

#endif /* CMK_AES_NI */
