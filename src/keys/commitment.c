/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the KEK commitment, the check value stored beside every sealed
 * tenant KEK (the current one and each previous one) that an unwrapped
 * KEK must match before anything uses or caches it.
 */
#include <config.h>

#include <string.h>

#include "keys/cmk.h"
#include "mech/mech.h"

#define KEK_LEN 32u
#define COMMIT_INFO "cmk-pkcs11 kek commitment v1"

cmk_err cmk_cmk_kek_commitment(const char *label, const uint8_t *kek,
                               size_t kek_len,
                               uint8_t out[CMK_KEK_COMMITMENT_LEN])
{
    struct cmk_secret okm = {0};
    CK_RV rv;

    if (label == NULL || kek == NULL || out == NULL || kek_len != KEK_LEN)
        return CMK_E_ARGS;
    /* RFC 5869 with the label as salt: one KEK gives unrelated values in
     * two tenants, and the info string keeps it apart from every other
     * key derived from the KEK (the store key, the data key). */
    rv = cmk_hkdf_sha256((const uint8_t *)label, strlen(label), kek, kek_len,
                         (const uint8_t *)COMMIT_INFO, sizeof(COMMIT_INFO) - 1,
                         CMK_KEK_COMMITMENT_LEN, &okm);
    if (rv != CKR_OK)
        return rv == CKR_HOST_MEMORY ? CMK_E_NOMEM : CMK_E_CRYPTO;
    memcpy(out, okm.p, CMK_KEK_COMMITMENT_LEN); /* a check value */
    cmk_secret_free(&okm);
    return CMK_OK;
}
