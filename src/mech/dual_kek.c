/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: the dual-control KEK (mech/dual_kek.h has the exact layout),
 * HKDF-Expand over the two halves, the PRK held in the secure pool.
 */
#include <config.h>

#include <string.h>

#include "mech/dual_kek.h"
#include "mech/mech.h"

#define INFO_PREFIX_LEN (sizeof(CMK_DUAL_KEK_INFO) - 1)

/* "cmk-pkcs11 dual-control kek v1" 0x00 label: not secret. */
static size_t make_info(const char *label, size_t label_len, uint8_t *info)
{
    memcpy(info, CMK_DUAL_KEK_INFO, INFO_PREFIX_LEN);
    info[INFO_PREFIX_LEN] = 0x00;
    memcpy(info + INFO_PREFIX_LEN + 1, label, label_len);
    return INFO_PREFIX_LEN + 1 + label_len;
}

cmk_err cmk_dual_kek_derive(const char *label, const uint8_t *customer,
                            size_t customer_len, const uint8_t *provider,
                            size_t provider_len, struct cmk_secret *kek)
{
    uint8_t info[INFO_PREFIX_LEN + 1 + CMK_DUAL_KEK_LABEL_MAX];
    struct cmk_secret prk = {0};
    size_t label_len, info_len;
    CK_RV rv;

    if (kek == NULL)
        return CMK_E_ARGS;
    kek->p = NULL;
    kek->len = 0;
    if (label == NULL || customer == NULL || provider == NULL ||
        customer_len != CMK_DUAL_KEK_HALF_LEN ||
        provider_len != CMK_DUAL_KEK_HALF_LEN)
        return CMK_E_ARGS;
    label_len = strnlen(label, CMK_DUAL_KEK_LABEL_MAX + 1);
    if (label_len == 0 || label_len > CMK_DUAL_KEK_LABEL_MAX)
        return CMK_E_ARGS;
    if (cmk_secret_alloc(&prk, 2 * CMK_DUAL_KEK_HALF_LEN) != CMK_OK)
        return CMK_E_NOMEM;
    memcpy(prk.p, customer, CMK_DUAL_KEK_HALF_LEN);
    memcpy(prk.p + CMK_DUAL_KEK_HALF_LEN, provider, CMK_DUAL_KEK_HALF_LEN);
    info_len = make_info(label, label_len, info);
    rv = cmk_hkdf_sha256_expand(prk.p, prk.len, info, info_len,
                                CMK_DUAL_KEK_LEN, kek);
    cmk_secret_free(&prk); /* wipes */
    if (rv == CKR_OK)
        return CMK_OK;
    return rv == CKR_HOST_MEMORY ? CMK_E_NOMEM : CMK_E_CRYPTO;
}
