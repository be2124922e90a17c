/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: one interface for every KMS (local, aws, gcp, azure, vault),
 * shaped like curl's TLS back-end table; a NULL slot means unsupported.
 * A provider instance is bound to one CMK version (one key reference).
 * Thread safety: every op may be called from several threads at once.
 */
#ifndef CMK_PROVIDER_H
#define CMK_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/http_cfg.h"
#include "util/conf.h"
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
/* encrypt names the exact key that sealed (cmk_req.sealed_by), so the
 * envelope records it (version 2) and decrypt is given it back
 * (cmk_req.open_with). */
#define CMK_CAP_SEALED_BY 0x4u

/* Bytes of a KEK commitment (keys/cmk.h cmk_cmk_kek_commitment). */
#define CMK_KEK_COMMITMENT_LEN 32

/* Every provider name the config may give, built or planned. */
#define CMK_PROVIDER_NAMES "local, aws, gcp, azure, vault"

/* One encryption-context pair (bound as AAD to every provider call). */
struct cmk_ctx_pair {
    char *key;
    char *value;
};

/*
 * What a provider and keys/cmk see of one tenant: the tenant's settings
 * that are not core's own. core's config loader fills it as the member
 * "kms" of its struct cmk_tenant_cfg, so nothing below core needs a core
 * header; tests fill one by hand. Immutable after load; core frees it,
 * provider_cfg through the provider's cfg_free.
 */
struct cmk_kms_cfg {
    char *label;    /* tenant label, bound as the context pair "tenant" */
    char *provider; /* a name cmk_provider_find knows: "local", "aws" */
    char *key_ref;  /* provider key reference (local: key file path;
                     * aws: key ARN, key id, alias/NAME or alias ARN) */
    char **previous_key_refs; /* older CMK versions, newest first */
    size_t n_previous;
    struct cmk_ctx_pair *context; /* extra pairs; "tenant" is reserved */
    size_t n_context;
    uint8_t *kek_blob;   /* KEK as an envelope blob (decoded base64) */
    size_t kek_blob_len; /* 0 if the tenant has no KEK yet */
    char *endpoint;      /* provider endpoint override, NULL if none;
                          * https, or http to 127.0.0.1/localhost/[::1] */
    char *region;        /* provider region, NULL if none (aws: then
                          * AWS_REGION / AWS_DEFAULT_REGION at init) */
    void *provider_cfg;  /* the provider's own settings (its cfg_parse),
                          * NULL if none */
    const struct cmk_http_cfg *http; /* the config's "http" object (NULL:
                                      * defaults) */
    /* Check value of the KEK (not secret), written beside it by cmk-tool
     * provision or kek-commit; valid when has_kek_commitment. */
    uint8_t kek_commitment[CMK_KEK_COMMITMENT_LEN];
    bool has_kek_commitment;
};

/* One provider call. Inputs: tenant, key reference, the encryption
 * context and, for decrypt, the key the blob names; outputs: request id,
 * HTTP status, provider error code (for audit and C_GetSessionInfo's
 * ulDeviceError) and, for encrypt, the key that sealed. */
struct cmk_req {
    const struct cmk_kms_cfg *tenant;
    const char *key_ref;
    /* Encryption context: ("tenant", label) first, then tenant->context,
     * sorted by key. */
    const struct cmk_ctx_pair *ctx;
    size_t n_ctx;
    int64_t deadline_us; /* monotonic; 0 = provider default */
    /* In (decrypt, CMK_CAP_SEALED_BY): the key that sealed the ciphertext
     * as encrypt named it in sealed_by (a version-2 envelope's sealed-by),
     * NUL-terminated; NULL when the blob names none (version 1). The
     * provider checks that its key reference can name it. */
    const char *open_with;
    /* In (reencrypt): the provider instance (state) of the CMK version
     * that sealed the ciphertext, an instance of the same provider; NULL:
     * the instance called. local opens with its key; aws names its key
     * (or open_with) as SourceKeyId. The ciphertext goes to the instance
     * called, and encrypt's sealed_by is set. */
    void *reencrypt_from;
    /* Out (encrypt, CMK_CAP_SEALED_BY): the exact key that sealed, as the
     * KMS answer named it and checked against the key reference (aws:
     * the key ARN of Encrypt's KeyId); "" otherwise. */
    char sealed_by[256];
    char request_id[128];   /* out */
    long http_status;       /* out; 0 when no HTTP */
    char provider_code[64]; /* out; e.g. "DisabledException" */
};

struct cmk_provider_ops {
    const char *name; /* "local", "aws" */
    enum cmk_provider_id id;
    unsigned caps;     /* CMK_CAP_* */
    size_t state_size; /* the caller allocates (zeroed) and frees */
    /* On failure init releases what it took: the caller does not call
     * fini, only frees the state. */
    cmk_err (*init)(void *st, const struct cmk_kms_cfg *cfg,
                    const char *key_ref) CMK_WUR;
    void (*fini)(void *st);
    /* Stable, non-secret identifier of this CMK version, written into
     * envelope blobs (local: "local:" + 16 hex of a key digest; aws:
     * "aws:" + the configured reference; the exact key goes beside it,
     * see CMK_CAP_SEALED_BY). At most 255 bytes, NUL-terminated into
     * id[256]. */
    cmk_err (*key_id)(void *st, char id[256]) CMK_WUR;
    cmk_err (*encrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                       size_t in_len, struct cmk_buf *out) CMK_WUR;
    cmk_err (*decrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                       size_t in_len, struct cmk_secret *out) CMK_WUR;
    /* Moves a ciphertext of rq->reencrypt_from to this instance's key
     * without the plaintext leaving the provider (aws: one ReEncrypt);
     * the context stays the same. */
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
    /* Optional: the number of a provider_code this provider sets, for
     * ulDeviceError (util/err.h); 1..0xEFFF, documented with the provider
     * and never changed; CMK_DEV_OTHER for one it does not number. NULL:
     * every code is CMK_DEV_OTHER. */
    unsigned (*code_number)(const char *code);

    /* Configuration, read by core's loader; every slot is optional, so
     * a new provider needs no change in core. Errors as util/conf.h
     * describes, each naming the field at fault. */
    /* One key reference of a tenant (its "key" and each of its
     * "previous_keys", non-empty) at field path field. NULL: any. */
    cmk_err (*check_key_ref)(struct cmk_conf *cf, const char *field,
                             const char *ref) CMK_WUR;
    /* The tenant's settings that are this provider's: rules on common
     * fields already in kms (aws: the region's form) and the tenant's
     * member named after the provider ("aws": {..}), absent or not, at
     * field path base in tenant t. *out: an opaque struct for
     * kms->provider_cfg (NULL when there is nothing to keep), freed with
     * cfg_free. NULL: the provider has no member of its own, and the
     * member is an unknown field. */
    cmk_err (*cfg_parse)(struct cmk_conf *cf, const char *base, json_t *t,
                         const struct cmk_kms_cfg *kms, void **out) CMK_WUR;
    void (*cfg_free)(void *cfg); /* NULL-safe, wipes */
};

/* registry.c. NULL if no provider has that name. */
const struct cmk_provider_ops *cmk_provider_find(const char *name);
/* A provider of CMK_PROVIDER_NAMES not built yet ("gcp"). */
bool cmk_provider_is_planned(const char *name);

/* provider.c. Canonical AAD encoding of an encryption context, for
 * providers that take bytes (local): for each pair in order, u32 BE key
 * length, key, u32 BE value length, value. */
cmk_err cmk_context_encode(const struct cmk_ctx_pair *ctx, size_t n,
                           struct cmk_buf *out) CMK_WUR;

#endif /* CMK_PROVIDER_H */
