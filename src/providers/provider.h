/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one interface for every KMS (local, aws, gcp, azure, vault),
 * shaped like curl's TLS back-end table; a NULL slot means unsupported.
 * A provider instance is bound to one CMK version (one key reference).
 * Thread safety: every op may be called from several threads at once.
 */
#ifndef CMK_PROVIDER_H
#define CMK_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include "core/config.h"
#include "util/err.h"
#include "util/secmem.h"

enum cmk_provider_id {
    CMK_PROV_LOCAL = 1,
    CMK_PROV_AWS = 2,
    CMK_PROV_GCP = 3,
    CMK_PROV_AZURE = 4,
    CMK_PROV_VAULT = 5,
};

#define CMK_CAP_REENCRYPT 0x1u
#define CMK_CAP_HEALTH 0x2u

/* One provider call. Inputs: tenant, key reference and the encryption
 * context; outputs: request id, HTTP status, provider error code (for
 * audit and C_GetSessionInfo's ulDeviceError). */
struct cmk_req {
    const struct cmk_tenant_cfg *tenant;
    const char *key_ref;
    /* Encryption context: ("tenant", label) first, then tenant->context,
     * sorted by key. */
    const struct cmk_ctx_pair *ctx;
    size_t n_ctx;
    int64_t deadline_us;      /* monotonic; 0 = provider default */
    char request_id[128];     /* out */
    long http_status;         /* out; 0 when no HTTP */
    char provider_code[64];   /* out; e.g. "DisabledException" */
};

struct cmk_provider_ops {
    const char *name;  /* "local", "aws" */
    enum cmk_provider_id id;
    unsigned caps;     /* CMK_CAP_* */
    size_t state_size; /* the caller allocates (zeroed) and frees */
    /* On failure init releases what it took: the caller does not call
     * fini, only frees the state. */
    cmk_err (*init)(void *st, const struct cmk_tenant_cfg *cfg,
                    const char *key_ref) CMK_WUR;
    void (*fini)(void *st);
    /* Stable, non-secret identifier of this CMK version, written into
     * envelope blobs (local: "local:" + 16 hex of a key digest; aws: the
     * key ARN). At most 255 bytes, NUL-terminated into id[256]. */
    cmk_err (*key_id)(void *st, char id[256]) CMK_WUR;
    cmk_err (*encrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                       size_t in_len, struct cmk_buf *out) CMK_WUR;
    cmk_err (*decrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                       size_t in_len, struct cmk_secret *out) CMK_WUR;
    cmk_err (*reencrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                         size_t in_len, struct cmk_buf *out) CMK_WUR;
    cmk_err (*health)(void *st, struct cmk_req *rq) CMK_WUR;
    /* Optional (NULL: unsupported): a random data key of len bytes made
     * inside the KMS and returned only encrypted under this CMK version,
     * bound to rq's context (aws: GenerateDataKeyWithoutPlaintext). What
     * it returns decrypts with decrypt(). */
    cmk_err (*generate_key)(void *st, struct cmk_req *rq, size_t len,
                            struct cmk_buf *ct) CMK_WUR;
    /* Most bytes encrypt() can return for in_len bytes of plaintext,
     * without a KMS call (answers length queries). */
    size_t (*ct_bound)(size_t in_len);
};

/* NULL if no provider has that name. */
const struct cmk_provider_ops *cmk_provider_find(const char *name);

/* Canonical AAD encoding of an encryption context, for providers that take
 * bytes (local): for each pair in order, u32 BE key length, key, u32 BE
 * value length, value. */
cmk_err cmk_context_encode(const struct cmk_ctx_pair *ctx, size_t n,
                           struct cmk_buf *out) CMK_WUR;

#endif /* CMK_PROVIDER_H */
