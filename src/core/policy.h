/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: attribute policy for secret-key objects (PKCS#11 3.0 sections 4.1
 * to 4.10 and 5.7): which attributes a template may set at creation, the
 * defaults, which may change later and how, what C_GetAttributeValue
 * answers, and template matching for C_FindObjects. Pure functions over
 * struct cmk_attrs; the caller holds the object's lock.
 */
#ifndef CMK_POLICY_H
#define CMK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include "util/attrs.h"
#include "util/pkcs11_compat.h"

struct cmk_keyctx; /* mech/mech.h */

/* How a new secret-key object comes to be. */
enum cmk_origin {
    CMK_ORIGIN_GENERATE, /* C_GenerateKey: CKA_LOCAL TRUE, value made here */
    CMK_ORIGIN_UNWRAP,   /* C_UnwrapKey: value from the wrapped blob */
    CMK_ORIGIN_CREATE,   /* C_CreateObject: CKA_VALUE in the template */
};

/* What the caller knows when building a new object. */
struct cmk_new_key {
    enum cmk_origin origin;
    CK_KEY_TYPE mech_key_type;  /* from the keygen mechanism; (CK_ULONG)-1
                                   for unwrap/create */
    CK_MECHANISM_TYPE gen_mech; /* CKA_KEY_GEN_MECHANISM, or
                                   CK_UNAVAILABLE_INFORMATION */
    const uint8_t *value;       /* unwrap: the unwrapped bytes; else NULL */
    size_t value_len;
    /* unwrap: the value's keyed context when the DEK cache keeps one (the
     * check value then needs no key expansion); else NULL. */
    const struct cmk_keyctx *kctx;
    bool logged_in;  /* a user is logged in on the token */
    bool rw_session; /* the session is read/write */
    /* Token key policy (core/keyrules.h): the tenant allows keys of both
     * role families; the key is being unwrapped by the CMK and keeps its
     * protection. */
    bool mixed_roles_ok;
    bool by_trusted;
};

/*
 * Builds the full attribute list of a new secret key from tmpl and the
 * defaults (CKA_SENSITIVE TRUE, CKA_EXTRACTABLE TRUE... see policy.c),
 * including CKA_VALUE (generated here with cmk_random for GENERATE),
 * CKA_VALUE_LEN, CKA_CHECK_VALUE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE, CKA_UNIQUE_ID (left to the caller: not set here).
 * Errors: CKR_ATTRIBUTE_TYPE_INVALID (unknown type),
 * CKR_ATTRIBUTE_VALUE_INVALID (wrong size/value), CKR_TEMPLATE_INCOMPLETE (no
 * key type / length), CKR_TEMPLATE_INCONSISTENT (class not secret key, key type
 * against the mechanism, CKA_VALUE_LEN against the unwrapped length),
 * CKR_ATTRIBUTE_READ_ONLY (CKA_LOCAL, CKA_ALWAYS_SENSITIVE, ...),
 * CKR_USER_NOT_LOGGED_IN (private without login),
 * CKR_SESSION_READ_ONLY (token object in a R/O session), and the
 * CKR_TEMPLATE_INCONSISTENT of the key policy (core/keyrules.h) unless
 * nk->mixed_roles_ok.
 * On error *out is left empty.
 */
CK_RV cmk_policy_new_secret(const struct cmk_new_key *nk,
                            const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                            struct cmk_attrs *out);

/*
 * C_SetAttributeValue (copy == false) and C_CopyObject (copy == true):
 * applies tmpl to a copy of cur into *out, enforcing: CKA_SENSITIVE only
 * FALSE->TRUE, CKA_EXTRACTABLE only TRUE->FALSE, CKA_WRAP_WITH_TRUSTED only
 * FALSE->TRUE, read-only attributes (class, key type, value, value len,
 * local, always sensitive, never extractable, key gen mechanism, unique id,
 * check value) -> CKR_ATTRIBUTE_READ_ONLY, CKA_MODIFIABLE FALSE ->
 * CKR_ACTION_PROHIBITED for set (copy may only make it FALSE),
 * CKA_COPYABLE FALSE -> CKR_ACTION_PROHIBITED for copy, CKA_TOKEN/CKA_PRIVATE
 * changeable only on copy.
 */
CK_RV cmk_policy_apply(const struct cmk_attrs *cur, const CK_ATTRIBUTE *tmpl,
                       CK_ULONG n, bool copy, struct cmk_attrs *out);

/*
 * C_GetAttributeValue on an object (PKCS#11 3.0 section 5.7.5): fills each
 * entry; returns CKR_OK, or CKR_ATTRIBUTE_SENSITIVE /
 * CKR_ATTRIBUTE_TYPE_INVALID / CKR_BUFFER_TOO_SMALL after processing every
 * entry (ulValueLen set to CK_UNAVAILABLE_INFORMATION for the failing ones).
 * CKA_VALUE is sensitive when CKA_SENSITIVE is TRUE or CKA_EXTRACTABLE is
 * FALSE. Every standard attribute of a secret key answers (absent optional
 * ones: length 0). Vendor attributes present in the list answer too.
 */
CK_RV cmk_policy_get(const struct cmk_attrs *a, CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* C_GetObjectSize: a stable approximation (sum of attribute sizes). */
CK_ULONG cmk_policy_size(const struct cmk_attrs *a);

/* Template match for C_FindObjects: every entry equal (byte-wise) to the
 * object's value; an attribute the object lacks never matches. */
bool cmk_policy_match(const struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                      CK_ULONG n);

/* Key usage check for an operation: attr is CKA_ENCRYPT, CKA_DECRYPT,
 * CKA_WRAP or CKA_UNWRAP. CKR_KEY_FUNCTION_NOT_PERMITTED if FALSE. */
CK_RV cmk_policy_allows(const struct cmk_attrs *a, CK_ATTRIBUTE_TYPE attr);

/* Wrapping rules: key to be wrapped must be extractable
 * (CKR_KEY_UNEXTRACTABLE) and, with CKA_WRAP_WITH_TRUSTED, the wrapping
 * key must have CKA_TRUSTED (CKR_KEY_NOT_WRAPPABLE). */
CK_RV cmk_policy_can_wrap(const struct cmk_attrs *wrapping,
                          const struct cmk_attrs *key);

/*
 * Attribute list of a tenant's CMK object: a token secret key (CKK_AES,
 * 32 bytes) that is private, sensitive, never extractable, not modifiable,
 * copyable or destroyable, trusted, usable for wrap/unwrap/encrypt/decrypt,
 * with no CKA_VALUE (the key stays in the KMS), an empty CKA_CHECK_VALUE,
 * and the vendor attributes CKA_CMK_PROVIDER, CKA_CMK_KEY_REF,
 * CKA_CMK_IS_CMK (TRUE) and the health pair (healthy, never checked).
 * CKA_UNIQUE_ID is left to the caller. label may be
 * NULL (empty); id may be NULL when id_len is 0. *out must be empty; it
 * stays empty on error. Errors: CKR_ARGUMENTS_BAD, CKR_HOST_MEMORY.
 */
CK_RV cmk_policy_cmk_object(const char *label, const uint8_t *id, size_t id_len,
                            const char *provider, const char *key_ref,
                            struct cmk_attrs *out);
/* Sets the CMK object's CKA_CMK_HEALTH and CKA_CMK_HEALTH_CHECKED (read
 * by C_GetAttributeValue, never set by the application). Errors:
 * CKR_HOST_MEMORY. */
CK_RV cmk_policy_cmk_health(struct cmk_attrs *a, CK_ULONG reason,
                            CK_ULONG checked);

#endif /* CMK_POLICY_H */
