/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the audit writer's chain key K (docs/audit-format.md, "The chain
 * key"): made when the writer opens, sealed by the key tenant's CMK
 * through its provider's encrypt under the context of keys/audit_key.h,
 * and handed with the sealed blob to the audit layer, which never sees a
 * provider. K is wiped here once the writer holds its copy.
 */
#ifndef CMK_KEYS_AUDIT_SEAL_H
#define CMK_KEYS_AUDIT_SEAL_H

#include "audit/audit.h"
#include "providers/provider.h"
#include "util/err.h"

/* Opens cfg->file (the caller checked it is set) with a new K sealed by
 * key_tenant's current CMK version (NULL: the config has no tenant).
 * Needs cmk_mech_init, and the secure pool open for K to be wiped in a
 * forked child. Sealing failure follows cfg->required: true, the
 * provider's error (CMK_E_CONFIG without a key tenant) with a message
 * naming the tenant, and nothing written; false, the writer opens with K
 * unsealed and says why in its audit_open record. The sealing call is
 * recorded as a "kms_call" with detail "audit chain key". Errors of
 * cmk_audit_open otherwise. No lock is held across the provider call. */
cmk_err cmk_audit_seal_open(const struct cmk_audit_cfg *cfg,
                            const struct cmk_kms_cfg *key_tenant,
                            struct cmk_audit **out) CMK_WUR;

#endif /* CMK_KEYS_AUDIT_SEAL_H */
