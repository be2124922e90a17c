/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mech: what a DER SubjectPublicKeyInfo a KMS gave holds (RSA or EC, the
 * modulus' or the curve order's bits, the curve), parsed on the module's
 * private OpenSSL context, so providers can check a public key against
 * what the KMS says of it. Errors: CMK_E_ARGS, CMK_E_BAD_RESPONSE (not one
 * DER SPKI with nothing after it, or a key neither RSA nor EC),
 * CMK_E_CRYPTO (also before cmk_mech_init). Thread safe.
 */
#ifndef CMK_MECH_SPKI_INFO_H
#define CMK_MECH_SPKI_INFO_H

#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

/* The values of providers/asym.h's enum cmk_asym_kind. */
#define CMK_SPKI_RSA 1
#define CMK_SPKI_EC 2

struct cmk_spki_info {
    int kind;      /* CMK_SPKI_RSA or CMK_SPKI_EC */
    unsigned bits; /* RSA: modulus bits; EC: the curve order's bits */
    int curve_nid; /* EC: the named curve's NID (NID_undef if unnamed);
                    * RSA: 0 */
};

cmk_err cmk_spki_info_get(const uint8_t *der, size_t len,
                          struct cmk_spki_info *out) CMK_WUR;

#endif /* CMK_MECH_SPKI_INFO_H */
