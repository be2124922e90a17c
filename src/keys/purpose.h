/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: the purposes a sealed blob is bound to and the encryption
 * context each gives a tenant's provider calls. Pure functions, thread
 * safe.
 */
#ifndef CMK_KEYS_PURPOSE_H
#define CMK_KEYS_PURPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include "providers/provider.h"
#include "util/err.h"

/* What a sealed blob holds. Bound into the encryption context as
 * (CMK_PURPOSE_KEY_NAME, "key" | "data" | "kek" | "provider-kek"), so a
 * blob made for one purpose never opens for another. */
enum cmk_purpose {
    CMK_PURPOSE_KEY,          /* a DEK wrapped on the direct path */
    CMK_PURPOSE_DATA,         /* C_Encrypt with CKM_CMK_ENVELOPE */
    CMK_PURPOSE_KEK,          /* the tenant KEK (cmk-tool provision); under dual
                               * control its customer half */
    CMK_PURPOSE_PROVIDER_KEK, /* dual control: the provider half, sealed
                               * by the provider key */
    CMK_PURPOSE__COUNT
};
#define CMK_PURPOSE_KEY_NAME "cmk-pkcs11:purpose"

/* "key", "data", "kek", "provider-kek"; NULL for another value. */
const char *cmk_purpose_name(enum cmk_purpose p);

/* The kms_call record's detail for a call of purpose p. Under dual
 * control (dual) a KEK half names the key it went through, "customer
 * key" or "provider key", and when the call failed why (why, else the
 * name of err): "provider key: key_disabled", written into buf. Else
 * why when given, NULL on success, the name of err on failure. */
const char *cmk_purpose_detail(enum cmk_purpose p, bool dual, cmk_err err,
                               const char *why, char *buf, size_t len);

/* The context of purpose p for cfg: ("tenant", label) first, then cfg's
 * pairs sorted by key, then (CMK_PURPOSE_KEY_NAME, cmk_purpose_name(p)):
 * the order every provider binds as AAD, so it must never change. *out
 * is one allocation (free()) holding the pairs and the strings it adds;
 * the label and cfg's pairs are borrowed. *n: pairs. CMK_E_CONFIG for a
 * pair without key or value or one named CMK_PURPOSE_KEY_NAME,
 * CMK_E_ARGS, CMK_E_NOMEM. */
cmk_err cmk_purpose_context(const struct cmk_kms_cfg *cfg, enum cmk_purpose p,
                            struct cmk_ctx_pair **out, size_t *n) CMK_WUR;

#endif /* CMK_KEYS_PURPOSE_H */
