/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: HKDF-SHA256 (RFC 5869) over libsodium's HMAC-SHA256, with
 * the HMAC state, the PRK and each T(i) in the secure pool, so nothing
 * derived from the input key sits in the heap, a core dump or a forked
 * child (OpenSSL's EVP_KDF keeps its copies in its own heap).
 */
#include <config.h>

#include <sodium.h>
#include <string.h>

#include "mech/mech.h"
#include "util/regs.h"
#include "util/secpool.h"

#define HASH_LEN crypto_auth_hmacsha256_BYTES

struct hkdf {
    crypto_auth_hmacsha256_state st;
    uint8_t prk[HASH_LEN];
    uint8_t t[HASH_LEN];
};

/* RFC 5869 2.2: PRK = HMAC-Hash(salt, IKM); no salt is HashLen zeros. */
static void extract(struct hkdf *h, const uint8_t *salt, size_t salt_len,
                    const uint8_t *ikm, size_t ikm_len)
{
    static const uint8_t zeros[HASH_LEN];

    if (salt_len == 0) {
        salt = zeros;
        salt_len = sizeof(zeros);
    }
    crypto_auth_hmacsha256_init(&h->st, salt, salt_len);
    crypto_auth_hmacsha256_update(&h->st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&h->st, h->prk);
}

/* RFC 5869 2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = T(1)...
 * prk is h->prk after extract, or the caller's for Expand alone. */
static void expand(struct hkdf *h, const uint8_t *prk, size_t prk_len,
                   const uint8_t *info, size_t info_len, uint8_t *out,
                   size_t len)
{
    size_t done = 0, n;
    uint8_t i = 0;

    while (done < len) {
        i++;
        crypto_auth_hmacsha256_init(&h->st, prk, prk_len);
        if (i > 1)
            crypto_auth_hmacsha256_update(&h->st, h->t, HASH_LEN);
        crypto_auth_hmacsha256_update(&h->st, info, info_len);
        crypto_auth_hmacsha256_update(&h->st, &i, 1);
        crypto_auth_hmacsha256_final(&h->st, h->t);
        n = len - done < HASH_LEN ? len - done : HASH_LEN;
        memcpy(out + done, h->t, n);
        done += n;
    }
}

/* The OKM buffer and the HKDF state, both in the secure pool. */
static CK_RV start(size_t len, struct cmk_secret *out, struct hkdf **h)
{
    out->p = NULL;
    out->len = 0;
    if (len == 0 || len > 255 * HASH_LEN)
        return CKR_KEY_SIZE_RANGE; /* RFC 5869 2.3: L <= 255 * HashLen */
    if (sodium_init() < 0)
        return CKR_GENERAL_ERROR;
    *h = cmk_secmem_alloc(sizeof(**h));
    if (*h == NULL)
        return CKR_HOST_MEMORY;
    if (cmk_secret_alloc(out, len) != CMK_OK) {
        cmk_secmem_free(*h);
        return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

CK_RV cmk_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm,
                      size_t ikm_len, const uint8_t *info, size_t info_len,
                      size_t len, struct cmk_secret *out)
{
    static const uint8_t empty[1];
    struct hkdf *h = NULL;
    CK_RV rv;

    if (out == NULL || (salt == NULL && salt_len > 0) ||
        (ikm == NULL && ikm_len > 0) || (info == NULL && info_len > 0))
        return CKR_ARGUMENTS_BAD;
    rv = start(len, out, &h);
    if (rv != CKR_OK)
        return rv;
    extract(h, salt, salt_len, ikm != NULL ? ikm : empty, ikm_len);
    expand(h, h->prk, HASH_LEN, info != NULL ? info : empty, info_len, out->p,
           len);
    cmk_secmem_free(h); /* wipes the state, PRK and last T(i) */
    cmk_regs_wipe();
    return CKR_OK;
}

/* RFC 5869 2.3 alone: the caller's PRK is the HMAC key as given (HMAC
 * hashes a key longer than its 64-byte block first, RFC 2104 section 2;
 * one of at most 64 bytes is used as it is). */
CK_RV cmk_hkdf_sha256_expand(const uint8_t *prk, size_t prk_len,
                             const uint8_t *info, size_t info_len, size_t len,
                             struct cmk_secret *out)
{
    static const uint8_t empty[1];
    struct hkdf *h = NULL;
    CK_RV rv;

    if (out == NULL || prk == NULL || prk_len == 0 ||
        (info == NULL && info_len > 0))
        return CKR_ARGUMENTS_BAD;
    rv = start(len, out, &h);
    if (rv != CKR_OK)
        return rv;
    expand(h, prk, prk_len, info != NULL ? info : empty, info_len, out->p, len);
    cmk_secmem_free(h); /* wipes the HMAC state and the last T(i) */
    cmk_regs_wipe();
    return CKR_OK;
}
