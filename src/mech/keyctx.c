/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech layer: a key's keyed part (struct cmk_keyctx, op_int.h), made once
 * per key and shared read-only by every operation on it: the AES schedule
 * and GCM's powers of H, or the ChaCha20 key. Lives in the secure pool
 * and is wiped by its last reference's cmk_keyctx_unref.
 */
#include <config.h>

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "mech/op_int.h"
#include "util/regs.h"
#include "util/secpool.h"

_Static_assert(sizeof(struct cmk_keyctx) <= CMK_SECPOOL_MAX,
               "struct cmk_keyctx must fit a secure pool slot");

static unsigned long g_made; /* atomic; tests */
static long g_live;          /* atomic; tests */

/* gcm: also GCM's powers of H (a context only one non-GCM op will use
 * skips them). */
static CK_RV make(CK_KEY_TYPE kt, const uint8_t *key, size_t len, bool gcm,
                  struct cmk_keyctx **out)
{
    struct cmk_keyctx *kc;
    CK_RV rv;

    if (out == NULL || (key == NULL && len > 0))
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    rv = cmk_mech_check_key_len(kt, len);
    if (rv != CKR_OK)
        return rv;
    kc = cmk_secmem_alloc(sizeof(*kc)); /* zeroed */
    if (kc == NULL)
        return CKR_HOST_MEMORY;
    kc->kt = kt;
    kc->len = len;
    kc->refs = 1;
    kc->has_htab = kt == CKK_AES && gcm;
    if (kc->has_htab)
        cmk_gcm_key_init(&kc->gk, key, len);
    else if (kt == CKK_AES)
        cmk_aes_key_set(&kc->gk.key, key, len);
    else
        memcpy(kc->gk.key.raw, key, len); /* ChaCha20: 32, checked */
    if (kt == CKK_AES)
        cmk_regs_wipe(); /* key expansion ran in vector registers */
    __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    *out = kc;
    return CKR_OK;
}

CK_RV cmk_keyctx_new(CK_KEY_TYPE kt, const uint8_t *key, size_t len,
                     struct cmk_keyctx **out)
{
    CK_RV rv = make(kt, key, len, true, out);

    if (rv == CKR_OK)
        __atomic_add_fetch(&g_made, 1, __ATOMIC_RELAXED);
    return rv;
}

CK_RV cmk_keyctx_new_for(CK_MECHANISM_TYPE mech, CK_KEY_TYPE kt,
                         const uint8_t *key, size_t len,
                         struct cmk_keyctx **out)
{
    return make(kt, key, len, mech == CKM_AES_GCM, out);
}

struct cmk_keyctx *cmk_keyctx_ref(struct cmk_keyctx *kc)
{
    if (kc != NULL)
        __atomic_add_fetch(&kc->refs, 1, __ATOMIC_RELAXED);
    return kc;
}

void cmk_keyctx_unref(struct cmk_keyctx *kc)
{
    if (kc == NULL || __atomic_sub_fetch(&kc->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    __atomic_sub_fetch(&g_live, 1, __ATOMIC_RELAXED);
    cmk_secmem_free(kc); /* wipes the whole slot: schedule, H table */
}

/* Constant time for a given length, a word at a time: this runs on every
 * use of a key (sodium_memcmp's byte loop was 4% of a 64-byte GCM op). */
static bool same_key(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t acc = 0, x, y;
    size_t i;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        acc |= x ^ y;
    }
    for (; i < len; i++)
        acc |= (uint64_t)(a[i] ^ b[i]);
    return acc == 0;
}

bool cmk_keyctx_matches(const struct cmk_keyctx *kc, CK_KEY_TYPE kt,
                        const uint8_t *key, size_t len)
{
    return kc != NULL && kc->kt == kt && kc->len == len && len > 0 &&
           len <= sizeof(kc->gk.key.raw) && same_key(kc->gk.key.raw, key, len);
}

CK_KEY_TYPE cmk_keyctx_type(const struct cmk_keyctx *kc)
{
    return kc->kt;
}

CK_RV cmk_keyctx_copy(const struct cmk_keyctx *kc, struct cmk_keyctx **out)
{
    struct cmk_keyctx *c;

    if (kc == NULL || out == NULL)
        return CKR_ARGUMENTS_BAD;
    *out = NULL;
    c = cmk_secmem_alloc(sizeof(*c));
    if (c == NULL)
        return CKR_HOST_MEMORY;
    memcpy(c, kc, sizeof(*c)); /* a flat struct: schedule, H table, len */
    c->refs = 1;
    __atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
    *out = c;
    return CKR_OK;
}

CK_RV cmk_aes_check_value(const uint8_t *key, size_t len,
                          const struct cmk_keyctx *kc, uint8_t cv[3])
{
    static const uint8_t zero[CMK_AES_BLOCK];
    const struct cmk_aes_key *k = NULL;
    struct cmk_aes_key *own = NULL;
    uint8_t block[CMK_AES_BLOCK];
    CK_RV rv;

    if (key == NULL || cv == NULL)
        return CKR_ARGUMENTS_BAD;
    rv = cmk_mech_check_key_len(CKK_AES, len);
    if (rv != CKR_OK)
        return rv;
    if (cmk_mech_cipher(CMK_AES_ECB, len) == NULL)
        return CKR_GENERAL_ERROR; /* the fallback needs cmk_mech_init */
    if (cmk_keyctx_matches(kc, CKK_AES, key, len)) {
        k = &kc->gk.key; /* a cached unwrap's: no expansion at all */
    } else {
        own = cmk_secmem_alloc(sizeof(*own));
        if (own == NULL)
            return CKR_HOST_MEMORY;
        cmk_aes_key_set(own, key, len);
        k = own;
    }
    cmk_aes_ecb(k, true, zero, block, 1);
    rv = cmk_op_aes_rv();
    cmk_regs_wipe();
    if (rv == CKR_OK)
        memcpy(cv, block, 3);
    sodium_memzero(block, sizeof(block));
    cmk_secmem_free(own); /* wipes */
    return rv;
}

unsigned long cmk_keyctx_made(void)
{
    return __atomic_load_n(&g_made, __ATOMIC_RELAXED);
}

long cmk_keyctx_live(void)
{
    return __atomic_load_n(&g_live, __ATOMIC_RELAXED);
}
