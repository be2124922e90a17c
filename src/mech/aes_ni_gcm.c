/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: GCM (SP 800-38D) with AES-NI and PCLMULQDQ on GHASH keys
 * held in the caller's struct, with a VAES/VPCLMULQDQ path for bulk data.
 */
#include <config.h>

#include "mech/aes_ni.h"

#ifdef CMK_AES_NI

#include <sodium.h>
#include <string.h>

#include "mech/aes_ni_int.h"

/* ---- GHASH ---- */

/* The 256-bit product lo ^ hi << 128 of two reflected operands, shifted
 * left by one bit and reduced modulo x^128 + x^7 + x^2 + x + 1
 * (Gueron/Kounavis, Algorithm 5, steps 2-5). */
NI_INLINE __m128i gf_reduce(__m128i lo, __m128i hi)
{
    __m128i t7, t8, t9, t2, t4, t5;

    t7 = _mm_srli_epi32(lo, 31);
    t8 = _mm_srli_epi32(hi, 31);
    lo = _mm_slli_epi32(lo, 1);
    hi = _mm_slli_epi32(hi, 1);
    t9 = _mm_srli_si128(t7, 12);
    t8 = _mm_slli_si128(t8, 4);
    t7 = _mm_slli_si128(t7, 4);
    lo = _mm_or_si128(lo, t7);
    hi = _mm_or_si128(hi, t8);
    hi = _mm_or_si128(hi, t9);

    t7 = _mm_slli_epi32(lo, 31);
    t8 = _mm_slli_epi32(lo, 30);
    t9 = _mm_slli_epi32(lo, 25);
    t7 = _mm_xor_si128(t7, t8);
    t7 = _mm_xor_si128(t7, t9);
    t8 = _mm_srli_si128(t7, 4);
    t7 = _mm_slli_si128(t7, 12);
    lo = _mm_xor_si128(lo, t7);

    t2 = _mm_srli_epi32(lo, 1);
    t4 = _mm_srli_epi32(lo, 2);
    t5 = _mm_srli_epi32(lo, 7);
    t2 = _mm_xor_si128(t2, t4);
    t2 = _mm_xor_si128(t2, t5);
    t2 = _mm_xor_si128(t2, t8);
    lo = _mm_xor_si128(lo, t2);
    return _mm_xor_si128(hi, lo);
}

/* lo ^ cross << 64 ^ hi << 128 reduced, cross the sum of the two cross
 * products x0 h1 ^ x1 h0. */
NI_INLINE __m128i gf_fin(__m128i lo, __m128i hi, __m128i cross)
{
    return gf_reduce(_mm_xor_si128(lo, _mm_slli_si128(cross, 8)),
                     _mm_xor_si128(hi, _mm_srli_si128(cross, 8)));
}

/* Karatsuba's middle product less lo and hi is the cross sum. */
NI_INLINE __m128i gf_acc_fin(const struct gf_acc *a)
{
    return gf_fin(a->lo, a->hi,
                  _mm_xor_si128(a->mid, _mm_xor_si128(a->lo, a->hi)));
}

NI_INLINE __m128i gf_mul(__m128i x, __m128i h)
{
    struct gf_acc a;

    gf_acc_init(&a);
    gf_mul_acc(&a, x, h);
    return gf_acc_fin(&a);
}

/* y = (y ^ b[0]) H^n ^ b[1] H^(n-1) ^ ... ^ b[n-1] H, b in GCM byte
 * order, n <= 16; htab[16 - i] holds H^i reflected, highest power first,
 * so that pairs for the wide path are adjacent. */
NI_INLINE __m128i ghash_regs(const struct cmk_gcm *g, __m128i y,
                             const __m128i *b, size_t n)
{
    struct gf_acc a;

    gf_acc_init(&a);
    for (size_t i = 0; i < n; i++) {
        __m128i x = bswap(b[i]);

        if (i == 0)
            x = _mm_xor_si128(x, y);
        gf_mul_acc(&a, x, ld(g->k->htab[16 - n + i]));
    }
    return gf_acc_fin(&a);
}

static NI __m128i ghash_mem(const struct cmk_gcm *g, __m128i y,
                            const uint8_t *p, size_t nblocks)
{
    __m128i b[8];

    while (nblocks > 0) {
        size_t n = nblocks < 8 ? nblocks : 8;

        for (size_t i = 0; i < n; i++)
            b[i] = ld(p + 16 * i);
        y = ghash_regs(g, y, b, n);
        p += 16 * n;
        nblocks -= n;
    }
    return y;
}

NI_INLINE __m128i ghash1(const struct cmk_gcm *g, __m128i y, __m128i b)
{
    return ghash_regs(g, y, &b, 1);
}

/* The closing block len(A) || len(C) in bits (SP 800-38D 7.1 step 5),
 * already reflected. */
NI_INLINE __m128i len_block(uint64_t a_bits, uint64_t c_bits)
{
    return _mm_set_epi64x((long long)a_bits, (long long)c_bits);
}

/* ---- GCM ---- */

static NI void gcm_key(struct cmk_gcm_key *gk)
{
    __m128i h = bswap(enc1(&gk->key, _mm_setzero_si128())), p = h;

    st(gk->htab[15], h);
    for (size_t i = 1; i < 16; i++) {
        p = gf_mul(p, h);
        st(gk->htab[15 - i], p);
    }
}

void cmk_aes_ni_gcm_key(struct cmk_gcm_key *gk)
{
    gcm_key(gk);
    cmk_aes_ni_scrub();
}

/* inc32 (SP 800-38D 6.2): only the last 32 bits count, modulo 2^32. */
static void inc32(uint8_t b[16])
{
    uint32_t c = ((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
                  (uint32_t)b[14] << 8 | b[15]) +
                 1;

    b[12] = (uint8_t)(c >> 24);
    b[13] = (uint8_t)(c >> 16);
    b[14] = (uint8_t)(c >> 8);
    b[15] = (uint8_t)c;
}

/* J0 = GHASH(IV || 0^s || 0^64 || [len(IV)]_64) for IVs other than 96
 * bits (SP 800-38D 7.1 step 2). */
static NI void j0_hash(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len)
{
    uint8_t last[16] = {0};
    __m128i y = ghash_mem(g, _mm_setzero_si128(), iv, iv_len / 16);

    if (iv_len % 16 != 0) {
        memcpy(last, iv + iv_len / 16 * 16, iv_len % 16);
        y = ghash1(g, y, ld(last));
    }
    y = ghash_regs(g, y, (const __m128i[]){bswap(len_block(0, iv_len * 8))}, 1);
    st(g->j0, bswap(y));
    sodium_memzero(last, sizeof(last));
}

void cmk_aes_ni_gcm_start(struct cmk_gcm *g, const uint8_t *iv, size_t iv_len)
{
    if (iv_len == 12) {
        memcpy(g->j0, iv, 12);
        memset(g->j0 + 12, 0, 3);
        g->j0[15] = 1;
    } else {
        j0_hash(g, iv, iv_len);
    }
    memcpy(g->ctr, g->j0, 16);
    inc32(g->ctr);
    sodium_memzero(g->x, sizeof(g->x));
    sodium_memzero(g->ks, sizeof(g->ks));
    sodium_memzero(g->part, sizeof(g->part));
    g->ks_used = 0;
    g->part_len = 0;
    g->aad_len = 0;
    g->data_len = 0;
    cmk_aes_ni_scrub();
}

/* Moves up to 16 - part_len bytes into g->part; true when it is full. */
static size_t part_fill(struct cmk_gcm *g, const uint8_t *p, size_t len)
{
    size_t n = 16 - g->part_len;

    if (n > len)
        n = len;
    memcpy(g->part + g->part_len, p, n);
    g->part_len += n;
    return n;
}

/* Hashes g->part zero-padded (SP 800-38D 7.1 step 5: A and C are padded
 * to whole blocks) and empties it. */
static NI void part_hash(struct cmk_gcm *g)
{
    memset(g->part + g->part_len, 0, 16 - g->part_len);
    st(g->x, ghash1(g, ld(g->x), ld(g->part)));
    g->part_len = 0;
    g->ks_used = 0;
    sodium_memzero(g->ks, sizeof(g->ks));
}

static NI void gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len)
{
    size_t n;

    /* PKCS#11 callers pass NULL for no AAD; memcpy must not see it. */
    if (len == 0)
        return;
    g->aad_len += len;
    if (g->part_len > 0) {
        n = part_fill(g, aad, len);
        aad += n;
        len -= n;
        if (g->part_len < 16)
            return;
        part_hash(g);
    }
    st(g->x, ghash_mem(g, ld(g->x), aad, len / 16));
    part_fill(g, aad + len / 16 * 16, len % 16);
}

void cmk_aes_ni_gcm_aad(struct cmk_gcm *g, const uint8_t *aad, size_t len)
{
    gcm_aad(g, aad, len);
    cmk_aes_ni_scrub();
}

/* While AAD is being taken, ks_used stays 0; a partial data block always
 * has ks_used == part_len > 0. So a non-empty part with no keystream in
 * use is the AAD's last partial block, closed by the first data byte. */
static NI void aad_close(struct cmk_gcm *g)
{
    if (g->ks_used == 0 && g->part_len > 0)
        part_hash(g);
}

/* Continues a partial data block with keystream left in g->ks. */
static NI size_t data_partial(struct cmk_gcm *g, bool encrypt,
                              const uint8_t *in, uint8_t *out, size_t len)
{
    size_t n = 16 - g->ks_used;

    if (n > len)
        n = len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i], p = (uint8_t)(c ^ g->ks[g->ks_used + i]);

        out[i] = p;
        g->part[g->part_len + i] = encrypt ? p : c;
    }
    g->ks_used += n;
    g->part_len += n;
    if (g->ks_used == 16)
        part_hash(g);
    return n;
}

/* Starts a partial data block of len < 16 bytes: one keystream block,
 * kept in g->ks for the next call. */
static NI void data_tail(struct cmk_gcm *g, bool encrypt, const uint8_t *in,
                         uint8_t *out, size_t len)
{
    st(g->ks, enc1(&g->k->key, ld(g->ctr)));
    inc32(g->ctr);
    g->ks_used = 0;
    g->part_len = 0;
    (void)data_partial(g, encrypt, in, out, len);
}

NI_INLINE __m128i ctr32_add(__m128i cs, int n)
{
    return _mm_add_epi32(cs, _mm_set_epi32(0, 0, 0, n));
}

/* Whole blocks: CTR eight at a time, then GHASH of the eight ciphertext
 * blocks with one reduction. cs is the counter block reflected, so its
 * inc32 field is dword 0 and _mm_add_epi32 wraps it modulo 2^32. */
static NI void gcm_bulk(struct cmk_gcm *g, bool encrypt, const uint8_t *in,
                        uint8_t *out, size_t nb)
{
    __m128i y = ld(g->x), cs = bswap(ld(g->ctr)), b[8], d;

    for (; nb >= 8; nb -= 8, in += 128, out += 128) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = bswap(ctr32_add(cs, i));
        cs = ctr32_add(cs, 8);
        enc8(&g->k->key, b);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            d = ld(in + 16 * i);
            b[i] = _mm_xor_si128(b[i], d);
            st(out + 16 * i, b[i]);
            if (!encrypt)
                b[i] = d;
        }
        y = ghash_regs(g, y, b, 8);
    }
    for (; nb > 0; nb--, in += 16, out += 16) {
        d = ld(in);
        b[0] = _mm_xor_si128(enc1(&g->k->key, bswap(cs)), d);
        cs = ctr32_add(cs, 1);
        st(out, b[0]);
        y = ghash1(g, y, encrypt ? b[0] : d);
    }
    st(g->x, y);
    st(g->ctr, bswap(cs));
}

/* ---- GCM bulk with VAES and VPCLMULQDQ ---- */

WIDE_INLINE __m128i fold2(__m256i v)
{
    return _mm_xor_si128(_mm256_castsi256_si128(v),
                         _mm256_extracti128_si256(v, 1));
}

/* GHASH of sixteen blocks against H^16..H^1 (htab in that order, two
 * per load), in eight steps of two blocks each, so that the steps can go
 * between the AES rounds of the next sixteen blocks; the two lanes'
 * partial products are added before the one reduction. */
struct wide_acc {
    __m256i lo, hi, cross;
};

WIDE_INLINE void wide_acc_init(struct wide_acc *a)
{
    a->lo = _mm256_setzero_si256();
    a->hi = a->lo;
    a->cross = a->lo;
}

/* Blocks 2j and 2j + 1 of c (y added to the first of all): four
 * products, not Karatsuba's three, whose two shuffles compete with the
 * multiplies for one port. */
WIDE_INLINE void wide_step(struct wide_acc *a, const struct cmk_gcm *g,
                           __m128i y, __m256i c, int j)
{
    __m256i x = bswap2(c);
    __m256i h = _mm256_loadu_si256((const __m256i *)g->k->htab[2 * j]);

    if (j == 0)
        x = _mm256_xor_si256(x, _mm256_zextsi128_si256(y));
    a->lo = _mm256_xor_si256(a->lo, _mm256_clmulepi64_epi128(x, h, 0x00));
    a->hi = _mm256_xor_si256(a->hi, _mm256_clmulepi64_epi128(x, h, 0x11));
    a->cross = _mm256_xor_si256(
        a->cross, _mm256_xor_si256(_mm256_clmulepi64_epi128(x, h, 0x01),
                                   _mm256_clmulepi64_epi128(x, h, 0x10)));
}

WIDE_INLINE __m128i wide_fin(const struct wide_acc *a)
{
    return gf_fin(fold2(a->lo), fold2(a->hi), fold2(a->cross));
}

/* y after the sixteen blocks c. */
WIDE_INLINE __m128i ghash16(const struct cmk_gcm *g, __m128i y,
                            const __m256i c[8])
{
    struct wide_acc a;

    wide_acc_init(&a);
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        wide_step(&a, g, y, c[j], j);
    return wide_fin(&a);
}

/* Sixteen counter blocks b through AES and y after the sixteen blocks c,
 * the GHASH steps one after each of the first eight rounds (every AES
 * has ten rounds or more): written one after the other, the two left
 * each other's units idle (AES against carry-less multiply and
 * shuffles). */
WIDE_INLINE __m128i enc16_ghash(const struct cmk_gcm *g, __m256i b[8],
                                const __m256i c[8], __m128i y)
{
    const struct cmk_aes_key *k = &g->k->key;
    struct wide_acc a;

    wide_acc_init(&a);
    enc16_first(k, b);
#pragma GCC unroll 8
    for (int r = 1; r <= 8; r++) {
        enc16_round(k, (unsigned)r, b);
        wide_step(&a, g, y, c[r - 1], r - 1);
    }
    for (unsigned r = 9; r < k->rounds; r++)
        enc16_round(k, r, b);
    enc16_last(k, b);
    return wide_fin(&a);
}

/* Whole groups of sixteen blocks; returns how many blocks it did. The
 * counter pair c01 holds inc32 fields n and n + 1 in its two lanes. Each
 * group's ciphertext c is hashed while the next group goes through AES
 * (the first group alone, the last group's hash after the loop). */
static WIDE size_t gcm_bulk_wide(struct cmk_gcm *g, bool encrypt,
                                 const uint8_t *in, uint8_t *out, size_t nb)
{
    __m128i y = ld(g->x);
    __m256i c01 =
        _mm256_add_epi32(_mm256_broadcastsi128_si256(bswap(ld(g->ctr))),
                         _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
    __m256i b[8], c[8], d;
    size_t done = nb / 16 * 16;

    for (size_t n = 0; n < done; n += 16, in += 256, out += 256) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            b[j] = bswap2(_mm256_add_epi32(
                c01, _mm256_set_epi32(0, 0, 0, 2 * j, 0, 0, 0, 2 * j)));
        c01 = _mm256_add_epi32(c01, _mm256_set_epi32(0, 0, 0, 16, 0, 0, 0, 16));
        if (n == 0)
            enc16(&g->k->key, b);
        else
            y = enc16_ghash(g, b, c, y);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            d = _mm256_loadu_si256((const __m256i *)(in + 32 * j));
            b[j] = _mm256_xor_si256(b[j], d);
            _mm256_storeu_si256((__m256i *)(out + 32 * j), b[j]);
            c[j] = encrypt ? b[j] : d;
        }
    }
    if (done > 0)
        y = ghash16(g, y, c);
    st(g->x, y);
    st(g->ctr, bswap(_mm256_castsi256_si128(c01)));
    return done;
}

static NI void gcm_crypt(struct cmk_gcm *g, bool encrypt, bool wide,
                         const uint8_t *in, uint8_t *out, size_t len)
{
    size_t n;

    aad_close(g);
    g->data_len += len;
    if (g->ks_used > 0) {
        n = data_partial(g, encrypt, in, out, len);
        in += n;
        out += n;
        len -= n;
    }
    if (wide && len >= 256) {
        n = 16 * gcm_bulk_wide(g, encrypt, in, out, len / 16);
        in += n;
        out += n;
        len -= n;
    }
    if (len >= 16) {
        gcm_bulk(g, encrypt, in, out, len / 16);
        n = len / 16 * 16;
        in += n;
        out += n;
        len -= n;
    }
    if (len > 0)
        data_tail(g, encrypt, in, out, len);
}

void cmk_aes_ni_gcm_crypt(struct cmk_gcm *g, bool encrypt, bool wide,
                          const uint8_t *in, uint8_t *out, size_t len)
{
    gcm_crypt(g, encrypt, wide, in, out, len);
    if (wide && len >= 256) /* gcm_crypt may have run gcm_bulk_wide */
        cmk_aes_ni_scrub_wide();
    else
        cmk_aes_ni_scrub();
}

/* SP 800-38D 7.1 steps 5-6: S = GHASH(A || C || lengths), T = E(J0) ^ S. */
static NI void gcm_tag(struct cmk_gcm *g, uint8_t tag[16])
{
    __m128i y;

    aad_close(g);
    if (g->part_len > 0)
        part_hash(g);
    y = ghash_regs(
        g, ld(g->x),
        (const __m128i[]){bswap(len_block(g->aad_len * 8, g->data_len * 8))},
        1);
    st(tag, _mm_xor_si128(enc1(&g->k->key, ld(g->j0)), bswap(y)));
    sodium_memzero(g->x, sizeof(g->x));
}

void cmk_aes_ni_gcm_tag(struct cmk_gcm *g, uint8_t tag[16])
{
    gcm_tag(g, tag);
    cmk_aes_ni_scrub();
}

#endif /* CMK_AES_NI */
