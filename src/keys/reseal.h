/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys: moving a direct-path envelope blob (or any blob cmk_cmk_seal_for
 * made) from the CMK version that sealed it to the tenant's current one,
 * through the provider's reencrypt (aws: one ReEncrypt, so the plaintext
 * never leaves the KMS). What cmk-tool rewrap does per blob.
 * Thread safety: as keys/cmk.h; the calls may run concurrently.
 */
#ifndef CMK_KEYS_RESEAL_H
#define CMK_KEYS_RESEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/cmk.h"

/* What a blob is to the tenant, known without a provider call. */
struct cmk_reseal_info {
    bool current;        /* sealed by the current version (its key id) */
    const char *key_ref; /* the reference of the version that sealed it
                          * (borrowed from the config) */
};

/* Parses blob and finds the version it names. CMK_E_BAD_BLOB: malformed,
 * or it names no version of this tenant's CMK (another tenant's blob). */
cmk_err cmk_reseal_check(const struct cmk_cmk *c, const uint8_t *blob,
                         size_t len, struct cmk_reseal_info *info) CMK_WUR;

/* A blob already sealed by the current version: *current set, out left
 * empty, no provider call. Otherwise one provider reencrypt from the
 * version the blob names to the current one, with the same encryption
 * context (tenant, configured pairs, purpose), recorded like every
 * provider call of c; *out is the new envelope naming the current
 * version's key id and, when the provider names it, the key that sealed
 * (version 2). Errors: as cmk_reseal_check, then the provider's
 * (CMK_E_BAD_CIPHERTEXT: tampered, or bound to another context;
 * CMK_E_THROTTLED, CMK_E_NETWORK ...: transient; a key refusal purges
 * c's KEK); CMK_E_BAD_RESPONSE for an answer that does not fit an
 * envelope; CMK_E_CONFIG when the provider has no reencrypt. */
cmk_err cmk_reseal_for(struct cmk_cmk *c, struct cmk_req *rq,
                       enum cmk_purpose purpose, const uint8_t *blob,
                       size_t len, struct cmk_buf *out, bool *current) CMK_WUR;

/* The current version's reference (the config's "key") and the key id
 * its blobs carry (changes with the key, not only with the reference). */
const char *cmk_reseal_current_ref(const struct cmk_cmk *c);
const char *cmk_reseal_current_id(const struct cmk_cmk *c);

#endif /* CMK_KEYS_RESEAL_H */
