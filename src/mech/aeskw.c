/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: AES Key Wrap (RFC 3394, SP 800-38F KW) and AES Key Wrap with
 * Padding (RFC 5649, KWP), written over the single-block AES of mech/aes.h
 * on a key schedule in the secure pool (AES-NI where the CPU has it).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/aes.h"
#include "mech/mech_int.h"
#include "util/regs.h"
#include "util/secpool.h"

#define SEMIBLOCK 8

/* RFC 3394 2.2.3.1 default IV and RFC 5649 3 alternative IV prefix. */
static const uint8_t kw_iv[SEMIBLOCK] = {0xA6, 0xA6, 0xA6, 0xA6,
                                         0xA6, 0xA6, 0xA6, 0xA6};
static const uint8_t kwp_aiv[4] = {0xA6, 0x59, 0x59, 0xA6};

static void xor_counter(uint8_t a[SEMIBLOCK], uint64_t t)
{
    for (int i = SEMIBLOCK - 1; i >= 0 && t != 0; i--) {
        a[i] ^= (uint8_t)(t & 0xff);
        t >>= 8;
    }
}

/* Wrap enciphers with the forward cipher, unwrap with the inverse. */
static CK_RV ecb_block(const struct cmk_aes_key *k, bool enc,
                       uint8_t b[CMK_AES_BLOCK])
{
    cmk_aes_ecb(k, enc, b, b, 1);
    return cmk_aes_failed() ? CKR_GENERAL_ERROR : CKR_OK;
}

/* W (RFC 3394 2.2.1, index form): a is the IV in and the check value out,
 * r holds n >= 2 semiblocks and is enciphered in place. */
static CK_RV w_encipher(const struct cmk_aes_key *k, uint8_t a[SEMIBLOCK],
                        uint8_t *r, size_t n)
{
    uint8_t b[CMK_AES_BLOCK];
    uint64_t t = 1;
    CK_RV rv = CKR_OK;

    for (int j = 0; j < 6 && rv == CKR_OK; j++) {
        for (size_t i = 0; i < n; i++, t++) {
            memcpy(b, a, SEMIBLOCK);
            memcpy(b + SEMIBLOCK, r + SEMIBLOCK * i, SEMIBLOCK);
            rv = ecb_block(k, true, b);
            if (rv != CKR_OK)
                break;
            xor_counter(b, t);
            memcpy(a, b, SEMIBLOCK);
            memcpy(r + SEMIBLOCK * i, b + SEMIBLOCK, SEMIBLOCK);
        }
    }
    sodium_memzero(b, sizeof(b));
    return rv;
}

/* W^-1 (RFC 3394 2.2.2, index form): inverse of w_encipher. */
static CK_RV w_decipher(const struct cmk_aes_key *k, uint8_t a[SEMIBLOCK],
                        uint8_t *r, size_t n)
{
    uint8_t b[CMK_AES_BLOCK];
    uint64_t t = 6 * (uint64_t)n;
    CK_RV rv = CKR_OK;

    for (int j = 5; j >= 0 && rv == CKR_OK; j--) {
        for (size_t i = n; i > 0; i--, t--) {
            memcpy(b, a, SEMIBLOCK);
            xor_counter(b, t);
            memcpy(b + SEMIBLOCK, r + SEMIBLOCK * (i - 1), SEMIBLOCK);
            rv = ecb_block(k, false, b);
            if (rv != CKR_OK)
                break;
            memcpy(a, b, SEMIBLOCK);
            memcpy(r + SEMIBLOCK * (i - 1), b + SEMIBLOCK, SEMIBLOCK);
        }
    }
    sodium_memzero(b, sizeof(b));
    return rv;
}

CK_RV cmk_kw_wrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                      size_t in_len, uint8_t *out)
{
    uint8_t a[SEMIBLOCK];
    CK_RV rv;

    memmove(out + SEMIBLOCK, in, in_len);
    memcpy(a, kw_iv, SEMIBLOCK);
    rv = w_encipher(k, a, out + SEMIBLOCK, in_len / SEMIBLOCK);
    memcpy(out, a, SEMIBLOCK);
    if (rv != CKR_OK)
        sodium_memzero(out, in_len + SEMIBLOCK);
    return rv;
}

CK_RV cmk_kw_unwrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                        size_t in_len, uint8_t *out)
{
    size_t n = in_len / SEMIBLOCK - 1;
    uint8_t a[SEMIBLOCK];
    CK_RV rv;

    memcpy(a, in, SEMIBLOCK);
    memmove(out, in + SEMIBLOCK, in_len - SEMIBLOCK);
    rv = w_decipher(k, a, out, n);
    if (rv == CKR_OK && sodium_memcmp(a, kw_iv, SEMIBLOCK) != 0)
        rv = CKR_WRAPPED_KEY_INVALID;
    if (rv != CKR_OK)
        sodium_memzero(out, in_len - SEMIBLOCK);
    sodium_memzero(a, sizeof(a));
    return rv;
}

static void kwp_aiv_make(uint8_t a[SEMIBLOCK], size_t mli)
{
    memcpy(a, kwp_aiv, sizeof(kwp_aiv));
    a[4] = (uint8_t)(mli >> 24);
    a[5] = (uint8_t)(mli >> 16);
    a[6] = (uint8_t)(mli >> 8);
    a[7] = (uint8_t)mli;
}

CK_RV cmk_kwp_wrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                       size_t in_len, uint8_t *out)
{
    size_t padded = (in_len + SEMIBLOCK - 1) & ~(size_t)(SEMIBLOCK - 1);
    uint8_t a[SEMIBLOCK];
    CK_RV rv;

    kwp_aiv_make(a, in_len);
    memmove(out + SEMIBLOCK, in, in_len);
    memset(out + SEMIBLOCK + in_len, 0, padded - in_len);
    if (padded == SEMIBLOCK) {
        /* RFC 5649 4.1: one semiblock is a single AES encryption. */
        memcpy(out, a, SEMIBLOCK);
        rv = ecb_block(k, true, out);
    } else {
        rv = w_encipher(k, a, out + SEMIBLOCK, padded / SEMIBLOCK);
        memcpy(out, a, SEMIBLOCK);
    }
    if (rv != CKR_OK)
        sodium_memzero(out, padded + SEMIBLOCK);
    return rv;
}

/* RFC 5649 4.2 integrity check on A and the padding, without early exit
 * on the padding bytes. */
static bool kwp_check(const uint8_t a[SEMIBLOCK], const uint8_t *p, size_t n,
                      size_t *mli_out)
{
    size_t mli = ((size_t)a[4] << 24) | ((size_t)a[5] << 16) |
                 ((size_t)a[6] << 8) | (size_t)a[7];
    uint8_t acc = 0;

    if (sodium_memcmp(a, kwp_aiv, sizeof(kwp_aiv)) != 0)
        return false;
    if (mli <= SEMIBLOCK * (n - 1) || mli > SEMIBLOCK * n)
        return false;
    for (size_t i = mli; i < SEMIBLOCK * n; i++)
        acc |= p[i];
    *mli_out = mli;
    return acc == 0;
}

CK_RV cmk_kwp_unwrap_key(const struct cmk_aes_key *k, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *plain_len)
{
    size_t n = in_len / SEMIBLOCK - 1;
    uint8_t b[CMK_AES_BLOCK];
    CK_RV rv;

    if (n == 1) {
        memcpy(b, in, CMK_AES_BLOCK);
        rv = ecb_block(k, false, b);
        memcpy(out, b + SEMIBLOCK, SEMIBLOCK);
    } else {
        memcpy(b, in, SEMIBLOCK);
        memmove(out, in + SEMIBLOCK, in_len - SEMIBLOCK);
        rv = w_decipher(k, b, out, n);
    }
    if (rv == CKR_OK && !kwp_check(b, out, n, plain_len))
        rv = CKR_WRAPPED_KEY_INVALID;
    if (rv != CKR_OK)
        sodium_memzero(out, in_len - SEMIBLOCK);
    sodium_memzero(b, sizeof(b));
    return rv;
}

CK_RV cmk_kw_out_len(bool pad, bool wrap, size_t in_len, size_t *need)
{
    if (wrap) {
        if (in_len > CMK_OP_MAX_BUFFER || (!pad && in_len < 16) ||
            (!pad && in_len % SEMIBLOCK != 0) || (pad && in_len == 0))
            return CKR_DATA_LEN_RANGE;
        *need =
            ((in_len + SEMIBLOCK - 1) & ~(size_t)(SEMIBLOCK - 1)) + SEMIBLOCK;
        return CKR_OK;
    }
    if (in_len > CMK_OP_MAX_BUFFER + SEMIBLOCK || in_len < (pad ? 16u : 24u) ||
        in_len % SEMIBLOCK != 0)
        return CKR_WRAPPED_KEY_LEN_RANGE;
    *need = in_len - SEMIBLOCK;
    return CKR_OK;
}

/* Common front of the four public primitives: arguments, KEK length,
 * data length and the output-length convention. Returns CKR_OK with
 * *k keyed (in a secure pool slot) when the caller must run the
 * operation; any other value (or CKR_OK with *k NULL for a length query)
 * is final. */
static CK_RV kw_begin(bool pad, bool wrap, const uint8_t *kek, size_t kek_len,
                      const uint8_t *in, size_t in_len, const uint8_t *out,
                      size_t *out_len, struct cmk_aes_key **k)
{
    size_t need = 0;
    CK_RV rv;

    *k = NULL;
    if (kek == NULL || (in == NULL && in_len > 0) || out_len == NULL)
        return CKR_ARGUMENTS_BAD;
    if (kek_len != 16 && kek_len != 24 && kek_len != 32)
        return CKR_KEY_SIZE_RANGE;
    rv = cmk_kw_out_len(pad, wrap, in_len, &need);
    if (rv != CKR_OK)
        return rv;
    if (out == NULL) {
        *out_len = need;
        return CKR_OK;
    }
    if (*out_len < need) {
        *out_len = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (cmk_mech_cipher(CMK_AES_ECB, kek_len) == NULL)
        return CKR_GENERAL_ERROR; /* cmk_mech_init not done */
    *k = cmk_secmem_alloc(sizeof(**k));
    if (*k == NULL)
        return CKR_HOST_MEMORY;
    cmk_aes_key_set(*k, kek, kek_len);
    return CKR_OK;
}

/* The four primitives share the checks, the key schedule and its
 * release; only the core step and the output length differ. */
static CK_RV kw_run(bool pad, bool wrap, const uint8_t *kek, size_t kek_len,
                    const uint8_t *in, size_t in_len, uint8_t *out,
                    size_t *out_len)
{
    struct cmk_aes_key *k = NULL;
    size_t n = 0;
    CK_RV rv;

    rv = kw_begin(pad, wrap, kek, kek_len, in, in_len, out, out_len, &k);
    if (rv != CKR_OK || k == NULL)
        goto out;
    if (pad && wrap) {
        rv = cmk_kwp_wrap_key(k, in, in_len, out);
        n = ((in_len + SEMIBLOCK - 1) & ~(size_t)(SEMIBLOCK - 1)) + SEMIBLOCK;
    } else if (pad) {
        rv = cmk_kwp_unwrap_key(k, in, in_len, out, &n);
    } else if (wrap) {
        rv = cmk_kw_wrap_key(k, in, in_len, out);
        n = in_len + SEMIBLOCK;
    } else {
        rv = cmk_kw_unwrap_key(k, in, in_len, out);
        n = in_len - SEMIBLOCK;
    }
    if (rv == CKR_OK)
        *out_len = n;
out:
    cmk_secmem_free(k); /* wipes the schedule; NULL-safe */
    cmk_regs_wipe();
    return rv;
}

CK_RV cmk_aes_kw_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t *out_len)
{
    return kw_run(false, true, kek, kek_len, in, in_len, out, out_len);
}

CK_RV cmk_aes_kw_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                        size_t in_len, uint8_t *out, size_t *out_len)
{
    return kw_run(false, false, kek, kek_len, in, in_len, out, out_len);
}

CK_RV cmk_aes_kwp_wrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t *out_len)
{
    return kw_run(true, true, kek, kek_len, in, in_len, out, out_len);
}

CK_RV cmk_aes_kwp_unwrap(const uint8_t *kek, size_t kek_len, const uint8_t *in,
                         size_t in_len, uint8_t *out, size_t *out_len)
{
    return kw_run(true, false, kek, kek_len, in, in_len, out, out_len);
}
