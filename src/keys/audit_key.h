/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the encryption context of the audit chain key
 * (docs/audit-format.md, "The chain key"), shared by its sealing
 * (keys/audit_seal.h, the writer's) and unsealing (keys/audit_unseal.h,
 * the verifier's): exactly ("tenant", label), ("purpose",
 * CMK_AUDIT_KEY_PURPOSE), in this order; the tenant's extra context pairs
 * are not added.
 */
#ifndef CMK_KEYS_AUDIT_KEY_H
#define CMK_KEYS_AUDIT_KEY_H

#include "providers/provider.h"

#define CMK_AUDIT_KEY_PURPOSE_NAME "purpose"
#define CMK_AUDIT_KEY_PURPOSE "cmk-pkcs11 audit key"

/* The two pairs and the strings they point at (a cmk_ctx_pair holds
 * mutable pointers); the tenant label is borrowed. */
struct cmk_audit_key_ctx {
    char tenant_key[sizeof("tenant")];
    char purpose_key[sizeof(CMK_AUDIT_KEY_PURPOSE_NAME)];
    char purpose[sizeof(CMK_AUDIT_KEY_PURPOSE)];
    struct cmk_ctx_pair pairs[2];
};

/* c for tenant t (t must outlive c). */
void cmk_audit_key_ctx_init(struct cmk_audit_key_ctx *c,
                            const struct cmk_kms_cfg *t);
/* A fresh request to t's CMK version ref under c. */
void cmk_audit_key_req(struct cmk_req *rq, const struct cmk_audit_key_ctx *c,
                       const struct cmk_kms_cfg *t, const char *ref);

#endif /* CMK_KEYS_AUDIT_KEY_H */
