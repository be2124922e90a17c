/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES (FIPS 197) with AES-NI on schedules held in the
 * caller's structs: the key schedule, ECB, CBC and CTR (with a VAES path
 * for CTR). GCM is in aes_ni_gcm.c.
 */
#include <config.h>

#include "mech/aes_ni.h"

#ifdef CMK_AES_NI

#include <sodium.h>
#include <string.h>

#include "mech/aes_ni_int.h"

/* Spills of round keys, keystream and H land in our stack frames; the
 * exported entry points wipe this much stack below their caller's frame
 * after the work. gcc 12 -fstack-usage, deepest chains: GCM's wide path
 * (gcm_crypt and gcm_bulk_wide) about 1.2 KiB at -O2 and 1.6 KiB at -O1,
 * every other path under 600 bytes at -O2 and under 700 at -O1, all
 * under 8 KiB unoptimized (debug builds). Sanitizer builds instrument
 * the frames and get the debug size (a ThreadSanitizer -O1 build left
 * round keys below the 1 KiB). */
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_THREAD__) &&                  \
    !defined(__SANITIZE_ADDRESS__)
#define BURN_BYTES 1024
#define BURN_WIDE_BYTES 2048
#else
#define BURN_BYTES 16384
#define BURN_WIDE_BYTES 16384
#endif

static __attribute__((noinline)) void burn_stack(void)
{
    uint8_t buf[BURN_BYTES];

    sodium_memzero(buf, sizeof(buf));
}

static __attribute__((noinline)) void burn_stack_wide(void)
{
    uint8_t buf[BURN_WIDE_BYTES];

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

void cmk_aes_ni_scrub(void)
{
    burn_stack();
    clear_regs();
}

void cmk_aes_ni_scrub_wide(void)
{
    burn_stack_wide();
    clear_regs();
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
    cmk_aes_ni_scrub();
}

/* ---- block functions ---- */

NI_INLINE __m128i dec1(const struct cmk_aes_key *k, __m128i b)
{
    b = _mm_xor_si128(b, ld(k->dec[0]));
    for (unsigned r = 1; r < k->rounds; r++)
        b = _mm_aesdec_si128(b, ld(k->dec[r]));
    return _mm_aesdeclast_si128(b, ld(k->dec[k->rounds]));
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
    cmk_aes_ni_scrub();
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
    cmk_aes_ni_scrub();
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
    cmk_aes_ni_scrub();
}

#endif /* CMK_AES_NI */
