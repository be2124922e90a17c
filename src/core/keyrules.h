/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the token's key policy on top of PKCS#11's attribute rules
 * (DESIGN.md, "Security rules"): key roles never mix, and a key that the
 * CMK unwraps keeps the CMK's protection. Pure functions over attribute
 * lists and templates; the caller holds whatever lock guards them.
 *
 * Roles come in two families: wrapping (CKA_WRAP, CKA_UNWRAP) and data
 * (CKA_ENCRYPT, CKA_DECRYPT). A key of both families is a decryption
 * oracle for what it wraps and an import path for keys of known value
 * (Bortolozzo, Centenaro, Focardi, Steel, "Attacking and fixing PKCS#11
 * security tokens", CCS 2010), so under the default policy:
 * - a new key belongs to one family: roles the template leaves out follow
 *   the family it names (none named: data); both named: refused;
 * - C_SetAttributeValue and C_CopyObject may turn a role off, and turn one
 *   on only when the key already holds a role of that family, so a key
 *   cannot cross over through a role-less state;
 * - a key that still holds both (made before the policy) cannot be used.
 * A tenant's "key_policy": {"mixed_roles": true} restores plain PKCS#11.
 */
#ifndef CMK_KEYRULES_H
#define CMK_KEYRULES_H

#include <stdbool.h>
#include "util/attrs.h"
#include "util/pkcs11_compat.h"

/* Both families present. */
bool cmk_keyrules_mixed(const struct cmk_attrs *a);

/* New key a, built from the (already validated) template: fills the role
 * attributes the template left out, then refuses a key of both families.
 * CKR_TEMPLATE_INCONSISTENT, CKR_HOST_MEMORY. */
CK_RV cmk_keyrules_settle_roles(struct cmk_attrs *a, const CK_ATTRIBUTE *tmpl,
                                CK_ULONG n);

/* Set (copy false) or copy turning cur into next: CKR_TEMPLATE_INCONSISTENT
 * when a role is turned on of a family cur holds no role of, or next is
 * mixed (a set on a key that already was may leave it so). */
CK_RV cmk_keyrules_change_roles(const struct cmk_attrs *cur,
                                const struct cmk_attrs *next, bool copy);

/*
 * A key unwrapped by the CMK (a trusted key): the CMK protects what it
 * wrapped, so the copy that comes back is sensitive and may again be
 * wrapped only by a trusted key (CKA_WRAP_WITH_TRUSTED defaults to TRUE);
 * a template asking for either FALSE is CKR_TEMPLATE_INCONSISTENT. A
 * tenant's "key_policy": {"unprotected_unwrap": true} lifts this.
 * cmk_keyrules_unwrap_template checks the raw template (before any KMS
 * call; malformed entries are left to the attribute policy);
 * cmk_keyrules_settle_unwrapped applies the default to the new key.
 */
CK_RV cmk_keyrules_unwrap_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n);
CK_RV cmk_keyrules_settle_unwrapped(struct cmk_attrs *a,
                                    const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* A template naming roles of both families TRUE (checked before a KMS
 * call on unwrap): CKR_TEMPLATE_INCONSISTENT. */
CK_RV cmk_keyrules_template_roles(const CK_ATTRIBUTE *tmpl, CK_ULONG n);

#endif /* CMK_KEYRULES_H */
