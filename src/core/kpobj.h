/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the objects of a key pair (PKCS#11 3.0 sections 4.8, 4.9, 4.6,
 * 2.1 and 2.3): a private key that never leaves the KMS (sensitive,
 * never extractable, not modifiable, copyable or destroyable), its public
 * key and, with a configured certificate, a certificate object, all three
 * with the key pair's CKA_LABEL and CKA_ID. Token objects that are not in
 * the token store: made when the public key is fetched, gone at
 * C_Finalize. Reading and matching their attributes is here; set, copy
 * and destroy are refused by the attribute rules of objops.c
 * (CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE false).
 */
#ifndef CMK_CORE_KPOBJ_H
#define CMK_CORE_KPOBJ_H

#include <openssl/evp.h>
#include <stdbool.h>
#include "mech/pkey.h"
#include "util/attrs.h"
#include "util/pkcs11_compat.h"

struct cmk_keypair;

/* Registers kp's objects (certificate: cp, or NULL), under the token's
 * serial in their CKA_UNIQUE_ID. CKR_HOST_MEMORY. */
CK_RV cmk_kpobj_add(struct cmk_keypair *kp, EVP_PKEY *pk,
                    const struct cmk_cert_parts *cp);

/* C_GetAttributeValue on such an object (section 5.7.5): a private
 * key's secret parts (CKA_VALUE, CKA_PRIVATE_EXPONENT, CKA_PRIME_1 ...)
 * are CKR_ATTRIBUTE_SENSITIVE, any attribute it does not have
 * CKR_ATTRIBUTE_TYPE_INVALID. */
CK_RV cmk_kpobj_get(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Template match for C_FindObjects: every entry equal to the object's
 * value (booleans by truth). */
bool cmk_kpobj_match(const struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                     CK_ULONG n);
/* The mechanisms of a key pair's keys (for CKA_ALLOWED_MECHANISMS and
 * the checks of an Init). */
bool cmk_kpobj_is_mech(CK_MECHANISM_TYPE m);
struct cmk_pubkey;
/* Whether the KMS signs with signature mechanism m for the key p: its
 * scheme in p->schemes and, for a hash-and-sign mechanism of RSA, its
 * hash in p->hashes (ECDSA takes any digest: the core cuts or pads it to
 * a hash the KMS takes). CKM_RSA_PKCS and CKM_RSA_PKCS_PSS: the scheme
 * only (their hash comes with the data or the parameters). */
bool cmk_kpobj_signs(const struct cmk_pubkey *p, CK_MECHANISM_TYPE m);

#endif /* CMK_CORE_KPOBJ_H */
