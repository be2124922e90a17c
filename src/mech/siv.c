/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: the AES-256-GCM-SIV tag (RFC 8452) for a fixed nonce: key
 * derivation, and POLYVAL in portable C where the CPU has no PCLMULQDQ
 * (aes_ni_siv.c otherwise). The portable multiply has no branch or
 * table index that depends on its operands.
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/aes.h"
#include "mech/aes_ni.h"
#include "mech/siv.h"

/* ---- portable POLYVAL ---- */

struct u128 {
    uint64_t lo, hi;
};

static uint64_t ld64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static struct u128 ld128(const uint8_t *p)
{
    return (struct u128){ld64(p), ld64(p + 8)};
}

/* Carry-less a * b: one masked XOR per bit of b. */
static struct u128 clmul64(uint64_t a, uint64_t b)
{
    struct u128 r = {0, 0};

    for (unsigned i = 0; i < 64; i++) {
        uint64_t m = (uint64_t)0 - ((b >> i) & 1);

        r.lo ^= (a << i) & m;
        r.hi ^= (i == 0 ? 0 : a >> (64 - i)) & m;
    }
    return r;
}

/* dot(a, b) = a * b * x^-128 (RFC 8452 section 3), the same folds as
 * aes_ni_siv.c's pv_reduce. */
static struct u128 dot(struct u128 a, struct u128 b)
{
    const uint64_t c = 0xc200000000000000ULL;
    struct u128 lo = clmul64(a.lo, b.lo), hi = clmul64(a.hi, b.hi);
    struct u128 m1 = clmul64(a.lo, b.hi), m2 = clmul64(a.hi, b.lo), t;

    lo.hi ^= m1.lo ^ m2.lo;
    hi.lo ^= m1.hi ^ m2.hi;
    for (int i = 0; i < 2; i++) {
        t = clmul64(lo.lo, c);
        lo = (struct u128){lo.hi ^ t.lo, lo.lo ^ t.hi};
    }
    return (struct u128){hi.lo ^ lo.lo, hi.hi ^ lo.hi};
}

static struct u128 pv_block(struct u128 s, struct u128 h, const uint8_t *p)
{
    struct u128 x = ld128(p);

    return dot((struct u128){s.lo ^ x.lo, s.hi ^ x.hi}, h);
}

static struct u128 pv_segment(struct u128 s, struct u128 h, const uint8_t *p,
                              size_t len)
{
    uint8_t last[16] = {0};

    for (; len >= 16; p += 16, len -= 16)
        s = pv_block(s, h, p);
    if (len > 0) {
        memcpy(last, p, len);
        s = pv_block(s, h, last);
    }
    return s;
}

static bool soft_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                     const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                     size_t msg_len, uint8_t tag[16])
{
    struct u128 h = ld128(sk->h), s = {0, 0};
    uint8_t b[16];

    if (head != NULL)
        s = pv_block(s, h, head);
    s = pv_segment(s, h, ad, ad_len);
    s = pv_segment(s, h, msg, msg_len);
    st64(b, 8 * (uint64_t)(ad_len + (head != NULL ? 16 : 0)));
    st64(b + 8, 8 * (uint64_t)msg_len);
    s = pv_block(s, h, b);
    st64(b, s.lo);
    st64(b + 8, s.hi);
    for (size_t i = 0; i < CMK_SIV_NONCE_LEN; i++)
        b[i] ^= sk->nonce[i];
    b[15] &= 0x7f;
    cmk_aes_ecb(&sk->enc, true, b, tag, 1);
    sodium_memzero(b, sizeof(b));
    sodium_memzero(&s, sizeof(s));
    sodium_memzero(&h, sizeof(h));
    return !cmk_aes_failed();
}

/* ---- keys and tags ---- */

/* RFC 8452 section 4: six blocks AES_K(LE32(i) || nonce); the first
 * eight bytes of blocks 0-1 are H, of blocks 2-5 the encryption key. */
bool cmk_siv_key_init(struct cmk_siv_key *sk, const uint8_t key[32],
                      const uint8_t nonce[12])
{
    struct cmk_aes_key kgk;
    uint8_t in[6][16], out[6][16], ek[32];
    bool ok;

    sodium_memzero(sk, sizeof(*sk));
    memcpy(sk->nonce, nonce, CMK_SIV_NONCE_LEN);
    for (uint8_t i = 0; i < 6; i++) {
        memset(in[i], 0, 4);
        in[i][0] = i;
        memcpy(in[i] + 4, nonce, CMK_SIV_NONCE_LEN);
    }
    cmk_aes_key_set(&kgk, key, CMK_SIV_KEY_LEN);
    cmk_aes_ecb(&kgk, true, &in[0][0], &out[0][0], 6);
    ok = !cmk_aes_failed();
    cmk_aes_key_wipe(&kgk);
    memcpy(sk->h, out[0], 8);
    memcpy(sk->h + 8, out[1], 8);
    for (size_t i = 0; i < 4; i++)
        memcpy(ek + 8 * i, out[2 + i], 8);
    cmk_aes_key_set(&sk->enc, ek, sizeof(ek));
    sodium_memzero(out, sizeof(out));
    sodium_memzero(ek, sizeof(ek));
#ifdef CMK_AES_NI
    if (ok && cmk_aes_cpu())
        cmk_aes_ni_siv_key(sk);
#endif
    if (!ok)
        cmk_siv_key_wipe(sk);
    return ok;
}

void cmk_siv_key_wipe(struct cmk_siv_key *sk)
{
    sodium_memzero(sk, sizeof(*sk));
}

bool cmk_siv_tag(const struct cmk_siv_key *sk, const uint8_t *head,
                 const uint8_t *ad, size_t ad_len, const uint8_t *msg,
                 size_t msg_len, uint8_t tag[16])
{
#ifdef CMK_AES_NI
    if (cmk_aes_hw()) {
        cmk_aes_ni_siv_tag(sk, head, ad, ad_len, msg, msg_len, tag);
        return true;
    }
#endif
    if (soft_tag(sk, head, ad, ad_len, msg, msg_len, tag))
        return true;
    sodium_memzero(tag, CMK_SIV_TAG_LEN);
    return false;
}
