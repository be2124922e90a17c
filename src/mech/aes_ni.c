/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES (FIPS 197) and GCM (SP 800-38D) with AES-NI and
 * PCLMULQDQ on schedules and GHASH keys held in the caller's structs.
 */
#include <config.h>

#include "mech/aes_ni.h"

#ifdef CMK_AES_NI

#include <immintrin.h>
#include <sodium.h>
#include <string.h>
#include <wmmintrin.h>

/* Per-function targets: the rest of the module builds for baseline
 * x86-64 and aes.c calls in here only after cpuid said yes. */
#define NI __attribute__((target("aes,pclmul,sse4.1,ssse3")))
#define NI_INLINE static inline __attribute__((always_inline)) NI

/* Spills of round keys, keystream and H land in our stack frames; the
 * exported entry points wipe this much stack below their caller's frame
 * after the work. gcc 12 -fstack-usage: the deepest chain takes under
 * 600 bytes at -O2, under 8 KiB unoptimized (debug builds). */
#ifdef __OPTIMIZE__
#define BURN_BYTES 1024
#else
#define BURN_BYTES 16384
#endif

static __attribute__((noinline)) void burn_stack(void)
{
    uint8_t buf[BURN_BYTES];

    sodium_memzero(buf, sizeof(buf));
}

/* Round keys, keystream and GHASH values also stay in vector registers
 * until other code reuses them, and a core dump records registers too
 * (NT_X86_XSTATE). The compiler's VZEROUPPER at the end of the wide
 * functions clears the upper halves of ymm0-15; no code here uses the
 * AVX-512 registers. */
static void clear_regs(void)
{
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\t"
                     "pxor %%xmm1, %%xmm1\n\t"
                     "pxor %%xmm2, %%xmm2\n\t"
                     "pxor %%xmm3, %%xmm3\n\t"
                     "pxor %%xmm4, %%xmm4\n\t"
                     "pxor %%xmm5, %%xmm5\n\t"
                     "pxor %%xmm6, %%xmm6\n\t"
                     "pxor %%xmm7, %%xmm7\n\t"
                     "pxor %%xmm8, %%xmm8\n\t"
                     "pxor %%xmm9, %%xmm9\n\t"
                     "pxor %%xmm10, %%xmm10\n\t"
                     "pxor %%xmm11, %%xmm11\n\t"
                     "pxor %%xmm12, %%xmm12\n\t"
                     "pxor %%xmm13, %%xmm13\n\t"
                     "pxor %%xmm14, %%xmm14\n\t"
                     "pxor %%xmm15, %%xmm15\n\t" ::
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                           "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
                           "xmm12", "xmm13", "xmm14", "xmm15");
}

/* Every exported function ends here. */
static void scrub(void)
{
    burn_stack();
    clear_regs();
}

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

/* ---- key schedule ---- */

/* SubWord(w), or SubWord(RotWord(w)) with rot (FIPS 197 5.2), from
 * AESKEYGENASSIST on w placed in dword 1. */
NI_INLINE uint32_t sub_word(uint32_t w, bool rot)
{
    __m128i t = _mm_aeskeygenassist_si128(_mm_set_epi32(0, 0, (int)w, 0), 0);

    return (uint32_t)(rot ? _mm_extract_epi32(t, 1) : _mm_extract_epi32(t, 0));
}

/* FIPS 197 5.2 word by word: one loop for all three key sizes; it runs
 * once per key, so clarity wins over the unrolled per-size forms. */
static NI void expand_enc(struct cmk_aes_key *k, const uint8_t *key, size_t len)
{
    uint32_t w[4 * (CMK_AES_MAX_ROUNDS + 1)];
    size_t nk = len / 4, total = 4 * (nk + 7);
    uint32_t rcon = 1;

    memcpy(w, key, len);
    for (size_t i = nk; i < total; i++) {
        uint32_t t = w[i - 1];

        if (i % nk == 0) {
            t = sub_word(t, true) ^ rcon;
            rcon = ((rcon << 1) ^ ((rcon >> 7) * 0x1b)) & 0xff;
        } else if (nk > 6 && i % nk == 4) {
            t = sub_word(t, false);
        }
        w[i] = w[i - nk] ^ t;
    }
    memcpy(k->enc, w, total * 4);
    k->rounds = (unsigned)(nk + 6);
    sodium_memzero(w, sizeof(w));
}

/* Equivalent inverse cipher (FIPS 197 5.3.5): reversed, InvMixColumns on
 * the inner round keys, as AESDEC expects. */
static NI void expand_dec(struct cmk_aes_key *k)
{
    unsigned nr = k->rounds;

    st(k->dec[0], ld(k->enc[nr]));
    for (unsigned r = 1; r < nr; r++)
        st(k->dec[r], _mm_aesimc_si128(ld(k->enc[nr - r])));
    st(k->dec[nr], ld(k->enc[0]));
}

void cmk_aes_ni_key_set(struct cmk_aes_key *k, const uint8_t *key, size_t len)
{
    expand_enc(k, key, len);
    expand_dec(k);
    scrub();
}

/* ---- block functions ---- */

NI_INLINE __m128i enc1(const struct cmk_aes_key *k, __m128i b)
{
    b = _mm_xor_si128(b, ld(k->enc[0]));
    for (unsigned r = 1; r < k->rounds; r++)
        b = _mm_aesenc_si128(b, ld(k->enc[r]));
    return _mm_aesenclast_si128(b, ld(k->enc[k->rounds]));
}

NI_INLINE __m128i dec1(const struct cmk_aes_key *k, __m128i b)
{
    b = _mm_xor_si128(b, ld(k->dec[0]));
    for (unsigned r = 1; r < k->rounds; r++)
        b = _mm_aesdec_si128(b, ld(k->dec[r]));
    return _mm_aesdeclast_si128(b, ld(k->dec[k->rounds]));
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

NI_INLINE void dec8(const struct cmk_aes_key *k, __m128i b[8])
{
    __m128i t = ld(k->dec[0]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm_xor_si128(b[i], t);
    for (unsigned r = 1; r < k->rounds; r++) {
        t = ld(k->dec[r]);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = _mm_aesdec_si128(b[i], t);
    }
    t = ld(k->dec[k->rounds]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm_aesdeclast_si128(b[i], t);
}

/* ---- ECB, CBC, CTR ---- */

static NI void ecb_run(const struct cmk_aes_key *k, bool encrypt,
                       const uint8_t *in, uint8_t *out, size_t n)
{
    __m128i b[8];

    for (; n >= 8; n -= 8, in += 128, out += 128) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = ld(in + 16 * i);
        if (encrypt)
            enc8(k, b);
        else
            dec8(k, b);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            st(out + 16 * i, b[i]);
    }
    for (; n > 0; n--, in += 16, out += 16)
        st(out, encrypt ? enc1(k, ld(in)) : dec1(k, ld(in)));
}

void cmk_aes_ni_ecb(const struct cmk_aes_key *k, bool encrypt,
                    const uint8_t *in, uint8_t *out, size_t nblocks)
{
    ecb_run(k, encrypt, in, out, nblocks);
    scrub();
}

/* CBC encryption is serial by definition (SP 800-38A 6.2). */
static NI void cbc_enc(const struct cmk_aes_key *k, uint8_t iv[16],
                       const uint8_t *in, uint8_t *out, size_t n)
{
    __m128i c = ld(iv);

    for (; n > 0; n--, in += 16, out += 16) {
        c = enc1(k, _mm_xor_si128(c, ld(in)));
        st(out, c);
    }
    st(iv, c);
}

/* Eight blocks at a time. Outputs are stored last to first so that with
 * in == out each P[i] = D(C[i]) ^ C[i-1] still reads C[i-1] intact. */
static NI void cbc_dec(const struct cmk_aes_key *k, uint8_t iv[16],
                       const uint8_t *in, uint8_t *out, size_t n)
{
    __m128i b[8], prev = ld(iv), last;

    for (; n >= 8; n -= 8, in += 128, out += 128) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = ld(in + 16 * i);
        last = b[7];
        dec8(k, b);
#pragma GCC unroll 8
        for (int i = 7; i > 0; i--)
            st(out + 16 * i, _mm_xor_si128(b[i], ld(in + 16 * (i - 1))));
        st(out, _mm_xor_si128(b[0], prev));
        prev = last;
    }
    for (; n > 0; n--, in += 16, out += 16) {
        last = ld(in);
        st(out, _mm_xor_si128(dec1(k, last), prev));
        prev = last;
    }
    st(iv, prev);
}

void cmk_aes_ni_cbc(const struct cmk_aes_key *k, bool encrypt, uint8_t iv[16],
                    const uint8_t *in, uint8_t *out, size_t nblocks)
{
    if (encrypt)
        cbc_enc(k, iv, in, out, nblocks);
    else
        cbc_dec(k, iv, in, out, nblocks);
    scrub();
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static void store_be64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* Counter block (hi:lo) + add as a 128-bit big-endian integer (SP 800-38A
 * B.1 with m = 128, as OpenSSL's CTR mode does). */
NI_INLINE __m128i ctr_block(uint64_t hi, uint64_t lo, uint64_t add)
{
    uint64_t l = lo + add, h = hi + (l < lo ? 1 : 0);

    return _mm_set_epi64x((long long)__builtin_bswap64(l),
                          (long long)__builtin_bswap64(h));
}

static NI void ctr_run(const struct cmk_aes_key *k, uint64_t *hi_p,
                       uint64_t *lo_p, const uint8_t *in, uint8_t *out,
                       size_t n)
{
    uint64_t hi = *hi_p, lo = *lo_p;
    __m128i b[8];

    for (; n >= 8; n -= 8, in += 128, out += 128) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = ctr_block(hi, lo, (uint64_t)i);
        hi += (lo + 8 < lo) ? 1 : 0;
        lo += 8;
        enc8(k, b);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            st(out + 16 * i, _mm_xor_si128(b[i], ld(in + 16 * i)));
    }
    for (; n > 0; n--, in += 16, out += 16) {
        b[0] = enc1(k, ctr_block(hi, lo, 0));
        hi += (lo + 1 < lo) ? 1 : 0;
        lo += 1;
        st(out, _mm_xor_si128(b[0], ld(in)));
    }
    *hi_p = hi;
    *lo_p = lo;
}

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

/* Partial products of one block a and one power h, Karatsuba style: three
 * carry-less multiplications; the sums of many blocks share one
 * reduction (aggregated reduction, Gueron/Kounavis section 5). */
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

NI_INLINE __m128i gf_acc_fin(const struct gf_acc *a)
{
    __m128i mid = _mm_xor_si128(a->mid, _mm_xor_si128(a->lo, a->hi));
    __m128i lo = _mm_xor_si128(a->lo, _mm_slli_si128(mid, 8));
    __m128i hi = _mm_xor_si128(a->hi, _mm_srli_si128(mid, 8));

    return gf_reduce(lo, hi);
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
        gf_mul_acc(&a, x, ld(g->htab[16 - n + i]));
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

static NI void gcm_key(struct cmk_gcm *g)
{
    __m128i h = bswap(enc1(&g->key, _mm_setzero_si128())), p = h;

    st(g->htab[15], h);
    for (size_t i = 1; i < 16; i++) {
        p = gf_mul(p, h);
        st(g->htab[15 - i], p);
    }
}

void cmk_aes_ni_gcm_key(struct cmk_gcm *g)
{
    gcm_key(g);
    scrub();
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
    scrub();
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
    scrub();
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
    st(g->ks, enc1(&g->key, ld(g->ctr)));
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
        enc8(&g->key, b);
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
        b[0] = _mm_xor_si128(enc1(&g->key, bswap(cs)), d);
        cs = ctr32_add(cs, 1);
        st(out, b[0]);
        y = ghash1(g, y, encrypt ? b[0] : d);
    }
    st(g->x, y);
    st(g->ctr, bswap(cs));
}

/* ---- GCM bulk with VAES and VPCLMULQDQ ---- */

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

WIDE_INLINE void enc16(const struct cmk_aes_key *k, __m256i b[8])
{
    __m256i t = rk2(k->enc[0]);

#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_xor_si256(b[i], t);
    for (unsigned r = 1; r < k->rounds; r++) {
        t = rk2(k->enc[r]);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            b[i] = _mm256_aesenc_epi128(b[i], t);
    }
    t = rk2(k->enc[k->rounds]);
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_aesenclast_epi128(b[i], t);
}

WIDE_INLINE __m128i fold2(__m256i v)
{
    return _mm_xor_si128(_mm256_castsi256_si128(v),
                         _mm256_extracti128_si256(v, 1));
}

/* Sixteen blocks against H^16..H^1 (htab in that order, two per load);
 * the two lanes' partial products are added before the one reduction. */
WIDE_INLINE __m128i ghash16(const struct cmk_gcm *g, __m128i y,
                            const __m256i c[8])
{
    __m256i lo = _mm256_setzero_si256(), hi = lo, mid = lo;
    struct gf_acc a;

#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
        __m256i x = bswap2(c[j]), xm, hm;
        __m256i h = _mm256_loadu_si256((const __m256i *)g->htab[2 * j]);

        if (j == 0)
            x = _mm256_xor_si256(x, _mm256_zextsi128_si256(y));
        xm = _mm256_xor_si256(x, _mm256_shuffle_epi32(x, 0x4e));
        hm = _mm256_xor_si256(h, _mm256_shuffle_epi32(h, 0x4e));
        lo = _mm256_xor_si256(lo, _mm256_clmulepi64_epi128(x, h, 0x00));
        hi = _mm256_xor_si256(hi, _mm256_clmulepi64_epi128(x, h, 0x11));
        mid = _mm256_xor_si256(mid, _mm256_clmulepi64_epi128(xm, hm, 0x00));
    }
    a.lo = fold2(lo);
    a.hi = fold2(hi);
    a.mid = fold2(mid);
    return gf_acc_fin(&a);
}

/* Whole groups of sixteen blocks; returns how many blocks it did. The
 * counter pair c01 holds inc32 fields n and n + 1 in its two lanes. */
static WIDE size_t gcm_bulk_wide(struct cmk_gcm *g, bool encrypt,
                                 const uint8_t *in, uint8_t *out, size_t nb)
{
    __m128i y = ld(g->x);
    __m256i c01 =
        _mm256_add_epi32(_mm256_broadcastsi128_si256(bswap(ld(g->ctr))),
                         _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
    __m256i b[8], d;
    size_t done = nb / 16 * 16;

    for (; nb >= 16; nb -= 16, in += 256, out += 256) {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            b[j] = bswap2(_mm256_add_epi32(
                c01, _mm256_set_epi32(0, 0, 0, 2 * j, 0, 0, 0, 2 * j)));
        c01 = _mm256_add_epi32(c01, _mm256_set_epi32(0, 0, 0, 16, 0, 0, 0, 16));
        enc16(&g->key, b);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            d = _mm256_loadu_si256((const __m256i *)(in + 32 * j));
            b[j] = _mm256_xor_si256(b[j], d);
            _mm256_storeu_si256((__m256i *)(out + 32 * j), b[j]);
            if (!encrypt)
                b[j] = d;
        }
        y = ghash16(g, y, b);
    }
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
    scrub();
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
    st(tag, _mm_xor_si128(enc1(&g->key, ld(g->j0)), bswap(y)));
    sodium_memzero(g->x, sizeof(g->x));
}

void cmk_aes_ni_gcm_tag(struct cmk_gcm *g, uint8_t tag[16])
{
    gcm_tag(g, tag);
    scrub();
}

/* ---- CTR with VAES ---- */

/* Sixteen blocks at a time while the low 64 bits of the counter cannot
 * carry within a group; ctr_run takes the rest, carries included.
 * Returns how many blocks it did. */
static WIDE size_t ctr_wide(const struct cmk_aes_key *k, uint64_t hi,
                            uint64_t *lo, const uint8_t *in, uint8_t *out,
                            size_t n)
{
    __m256i b[8];
    size_t done = 0;

    for (; n >= 16 && *lo <= UINT64_MAX - 16; n -= 16, done += 16) {
        /* Each lane is the counter as (lo, hi) 64-bit integers. */
        __m256i base = _mm256_broadcastsi128_si256(
            _mm_set_epi64x((long long)hi, (long long)*lo));

#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            b[j] = bswap2(_mm256_add_epi64(
                base, _mm256_set_epi64x(0, 2 * j + 1, 0, 2 * j)));
        *lo += 16;
        enc16(k, b);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            __m256i d = _mm256_loadu_si256((const __m256i *)(in + 32 * j));

            _mm256_storeu_si256((__m256i *)(out + 32 * j),
                                _mm256_xor_si256(b[j], d));
        }
        in += 256;
        out += 256;
    }
    return done;
}

void cmk_aes_ni_ctr(const struct cmk_aes_key *k, bool wide, uint8_t ctr[16],
                    const uint8_t *in, uint8_t *out, size_t nblocks)
{
    uint64_t hi = load_be64(ctr), lo = load_be64(ctr + 8);
    size_t done = wide ? ctr_wide(k, hi, &lo, in, out, nblocks) : 0;

    ctr_run(k, &hi, &lo, in + 16 * done, out + 16 * done, nblocks - done);
    store_be64(ctr, hi);
    store_be64(ctr + 8, lo);
    scrub();
}

#endif /* CMK_AES_NI */
