/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the audit chain key's encryption context. The purpose pair sets
 * it apart from every context keys/cmk.c uses (those carry
 * "cmk-pkcs11:purpose" and the tenant's pairs), so a sealed chain key
 * never opens through C_UnwrapKey or C_Decrypt, and no blob of theirs
 * opens as a chain key.
 */
#include <config.h>

#include <string.h>

#include "keys/audit_key.h"

void cmk_audit_key_ctx_init(struct cmk_audit_key_ctx *c,
                            const struct cmk_kms_cfg *t)
{
    memcpy(c->tenant_key, "tenant", sizeof(c->tenant_key));
    memcpy(c->purpose_key, CMK_AUDIT_KEY_PURPOSE_NAME, sizeof(c->purpose_key));
    memcpy(c->purpose, CMK_AUDIT_KEY_PURPOSE, sizeof(c->purpose));
    c->pairs[0].key = c->tenant_key;
    c->pairs[0].value = t->label;
    c->pairs[1].key = c->purpose_key;
    c->pairs[1].value = c->purpose;
}

void cmk_audit_key_req(struct cmk_req *rq, const struct cmk_audit_key_ctx *c,
                       const struct cmk_kms_cfg *t, const char *ref)
{
    memset(rq, 0, sizeof(*rq));
    rq->tenant = t;
    rq->key_ref = ref;
    rq->ctx = c->pairs;
    rq->n_ctx = 2;
}
