/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: turns an audit writer's sealed chain key back into K for the
 * verifier (docs/audit-format.md, "The chain key"): only the configured
 * key tenant's CMK, through its provider's decrypt, with the context of
 * keys/audit_key.h. Not thread safe.
 */
#ifndef CMK_KEYS_AUDIT_UNSEAL_H
#define CMK_KEYS_AUDIT_UNSEAL_H

#include <stddef.h>
#include <stdint.h>

#include "keys/audit_key.h"
#include "providers/provider.h"
#include "util/err.h"

struct cmk_audit_unsealer;

/* key_tenant: the KMS settings of the audit key tenant (the config's
 * audit.key_tenant, by default its first tenant; the caller picks it),
 * borrowed: it must outlive u. */
cmk_err cmk_audit_unsealer_new(const struct cmk_kms_cfg *key_tenant,
                               struct cmk_audit_unsealer **out) CMK_WUR;
void cmk_audit_unsealer_free(struct cmk_audit_unsealer *u);

/* A cmk_audit_unseal_fn (audit/verify.h), arg a cmk_audit_unsealer.
 * Refuses, without a KMS call, a key sealed by another tenant or
 * provider (CMK_E_ACCESS_DENIED); tries the current CMK version, then
 * the previous ones; CMK_E_BAD_CIPHERTEXT if none opens it as 32 bytes.
 * Provider instances are opened on first use and kept. */
cmk_err cmk_audit_unseal(void *arg, const char *tenant, const char *provider,
                         const uint8_t *sealed, size_t sealed_len, uint8_t *key,
                         char *why, size_t why_len) CMK_WUR;

#endif /* CMK_KEYS_AUDIT_UNSEAL_H */
