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
#include "net/http.h"
#include "net/http_cfg.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/secmem.h"
#include "providers/asym.h"

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
/* reencrypt moves a ciphertext sealed by another key of the provider (the
 * key that sealed it in cmk_req.open_with, when the blob names one) to
 * this instance's key inside the KMS, naming the new key in
 * cmk_req.sealed_by as encrypt does. Without it, reencrypt (if any) only
 * re-encrypts under the same key. */
#define CMK_CAP_REENCRYPT_MOVE 0x8u
/* Calls go over the network to a KMS: while the tenant is unhealthy the
 * circuit breaker (keys/health.h) fails them fast. */
#define CMK_CAP_REMOTE 0x100u

/* Bytes of a KEK commitment (keys/cmk.h cmk_cmk_kek_commitment). */
#define CMK_KEK_COMMITMENT_LEN 32

/* Most previous KEKs a tenant may keep ("previous_keks"): each one is
 * tried on a KEK-path unwrap the current KEK refuses, so the cap bounds
 * the false accepts of the RFC 3394 / 5649 integrity checks (README,
 * "Key rotation"). */
#define CMK_PREV_KEKS_MAX 4

/* One previous tenant KEK, kept through a data-key rotation's overlap
 * window (cmk-tool rotate-kek). */
struct cmk_prev_kek {
    uint8_t *blob; /* the KEK as an envelope blob (decoded base64); under
                    * dual control its customer half, sealed by the CMK */
    size_t blob_len;
    /* Dual control only ("provider_kek"): the provider half, sealed by
     * the dual_control key; NULL otherwise. */
    uint8_t *provider_blob;
    size_t provider_blob_len;
    uint8_t commitment[CMK_KEK_COMMITMENT_LEN]; /* its own check value */
    int64_t expires; /* Unix seconds (UTC): never unsealed from then on */
};

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
    /* Dual control (the tenant's "dual_control"; NULL without): the
     * provider-managed key that seals the provider half of the KEK. Its
     * label and context are the tenant's (borrowed), its provider, key,
     * endpoint, region, provider settings and http its own, kek_blob the
     * provider half ("dual_control.kek"); it has no previous keys, no
     * commitment and no dual of its own. The tenant's kek_blob is then
     * the customer half and kek_commitment commits to the KEK derived
     * from both (mech/dual_kek.h). */
    struct cmk_kms_cfg *dual;
    /* "previous_keks", newest first, at most CMK_PREV_KEKS_MAX. */
    struct cmk_prev_kek *previous_keks;
    size_t n_previous_keks;
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
     * provider checks that its key reference can name it. reencrypt
     * (CMK_CAP_REENCRYPT_MOVE) gets it too: the key to move from. */
    const char *open_with;
    /* Out (encrypt, and reencrypt with CMK_CAP_REENCRYPT_MOVE;
     * CMK_CAP_SEALED_BY): the exact key that sealed, as the
     * KMS answer named it and checked against the key reference (aws:
     * the key ARN of Encrypt's KeyId); "" otherwise. */
    char sealed_by[256];
    char request_id[128];   /* out */
    long http_status;       /* out; 0 when no HTTP */
    char provider_code[64]; /* out; e.g. "DisabledException" */
};

/* One payload of a batched re-encryption (cmk_provider_ops
 * reencrypt_batch). */
struct cmk_batch_item {
    const uint8_t *in; /* in: the payload, as reencrypt takes it */
    size_t in_len;
    const char *open_with;  /* in: as cmk_req.open_with */
    struct cmk_buf out;     /* out: the new payload (the caller frees) */
    char sealed_by[256];    /* out: as cmk_req.sealed_by */
    char provider_code[64]; /* out: why this item failed; "" */
    cmk_err err;            /* out: how this item ended */
};

/* Bring your own key material (cmk-tool import-key): what the KMS gives
 * for one import (aws: DescribeKey, then GetParametersForImport). Free
 * with cmk_import_params_free. */
struct cmk_import_params {
    char key_arn[256];  /* the key the material goes into, as the KMS names
                         * it (aws: its key ARN) */
    char origin[32];    /* where its material comes from ("EXTERNAL") */
    char key_state[32]; /* before the import ("PendingImport") */
    unsigned rsa_bits;  /* size of public_key, as asked for */
    struct cmk_buf public_key; /* DER SubjectPublicKeyInfo (RSA) */
    struct cmk_buf token;      /* import token, opaque */
    int64_t valid_to;          /* Unix seconds: public_key and token expire */
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
    cmk_err (*reencrypt)(void *st, struct cmk_req *rq, const uint8_t *in,
                         size_t in_len, struct cmk_buf *out) CMK_WUR;
    cmk_err (*health)(void *st, struct cmk_req *rq) CMK_WUR;
    /* Optional (NULL: one reencrypt per payload): reencrypt for n payloads
     * sealed by this instance's key, all with rq's context, in as few KMS
     * calls as the KMS takes (vault: one rewrap with batch_input). n is
     * 1..batch_max. Each item's err (and provider_code) says how that
     * item ended, as reencrypt would have; an item can fail while the
     * others succeed. Returns CMK_OK when the KMS answered for every
     * item, else the error that stopped the rest (every item without an
     * answer then has it as its err). rq holds the last call's request
     * id, status and code. */
    cmk_err (*reencrypt_batch)(void *st, struct cmk_req *rq,
                               struct cmk_batch_item *items, size_t n) CMK_WUR;
    size_t batch_max; /* items per reencrypt_batch call */
    /* Optional (CMK_CAP_SEALED_BY; NULL: every version of the key is
     * current): whether sealed_by, as encrypt named it, is the version
     * encrypt seals with now (vault: the key's latest_version, from its
     * cached read). An older version's blob is moved by cmk-tool rewrap
     * (reencrypt on the same key), so that raising the key's minimum
     * decryption version leaves no blob behind. CMK_E_BAD_BLOB when
     * sealed_by names no version of this key. A read that reaches the
     * KMS fills rq's outputs as any call does (the caller writes its
     * kms_call record "KeyInfo"); a cached answer leaves them empty. */
    cmk_err (*is_latest)(void *st, struct cmk_req *rq, const char *sealed_by,
                         bool *latest) CMK_WUR;
    /* Optional (NULL: unsupported): a random data key of len bytes made
     * inside the KMS and returned only encrypted under this CMK version,
     * bound to rq's context (aws: GenerateDataKeyWithoutPlaintext). What
     * it returns decrypts with decrypt(). */
    cmk_err (*generate_key)(void *st, struct cmk_req *rq, size_t len,
                            struct cmk_buf *ct) CMK_WUR;
    /* Optional (NULL: unsupported): bring your own key material into this
     * CMK version. import_params names the key (it must take imported
     * material: aws Origin EXTERNAL, else CMK_E_ACCESS_DENIED with code
     * "NotExternalKey"; its state PendingImport, Enabled or Disabled,
     * else CMK_E_KEY_DISABLED with "KeyState:<state>") and gets an RSA
     * public key of rsa_bits (2048 or 4096) and an import token.
     * import_material hands over the key material encrypted to that key
     * (RSAES-OAEP-SHA-256), to expire at valid_to (Unix seconds; 0: never).
     * The provider codes name the KMS's refusals (aws:
     * ExpiredImportTokenException, IncorrectKeyMaterialException ...). */
    cmk_err (*import_params)(void *st, struct cmk_req *rq, unsigned rsa_bits,
                             struct cmk_import_params *out) CMK_WUR;
    cmk_err (*import_material)(void *st, struct cmk_req *rq,
                               const struct cmk_import_params *p,
                               const uint8_t *wrapped, size_t wrapped_len,
                               int64_t valid_to) CMK_WUR;
    /* Most bytes encrypt() can return for in_len bytes of plaintext,
     * without a KMS call (answers length queries). */
    size_t (*ct_bound)(size_t in_len);
    /* Optional: the number of a provider_code this provider sets, for
     * ulDeviceError (util/err.h); 1..0xEFFF, documented with the provider
     * and never changed; CMK_DEV_OTHER for one it does not number. NULL:
     * every code is CMK_DEV_OTHER. */
    unsigned (*code_number)(const char *code);
    /* Optional: the CMK_HEALTH_* reason (include/cmk-pkcs11.h) a failed
     * call's provider_code says more precisely than its cmk_err (aws:
     * KMSInvalidStateException is pending deletion, not disabled); 0 to
     * go by the cmk_err (keys/health.c). NULL: always by the cmk_err. */
    unsigned long (*health_reason)(const char *code);

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
/* A provider of CMK_PROVIDER_NAMES not built yet ("azure"). */
bool cmk_provider_is_planned(const char *name);
/* registry.c. The key pairs of provider p (providers/asym.h); NULL: it
 * has none. (Kept here, not in p's table: a back-end's key pair file uses
 * its CMK file, so the CMK file must not point back at it.) */
const struct cmk_asym_ops *cmk_provider_asym(const struct cmk_provider_ops *p);

/* A provider's table of codes and what each stands for (a health reason,
 * a ulDeviceError number). */
struct cmk_code_num {
    const char *code;
    unsigned long num;
};

/* provider.c. The number of code in the n rows of t; dflt when code is
 * NULL or not in t. */
unsigned long cmk_code_find(const struct cmk_code_num *t, size_t n,
                            const char *code, unsigned long dflt);

/* provider.c. The ulDeviceError number of a code every provider shares:
 * the module's transport, answer and credential-endpoint codes
 * (NetworkError 101, NoCredentials 200, ...), and "HTTP<nnn>", an error
 * answer that names no error of the KMS: 1000 + nnn; 0 for any other
 * code. Every provider's code_number falls back on it. */
unsigned cmk_provider_code_number(const char *code);
/* provider.c. For a cfg_parse whose server is not the tenant's common
 * "endpoint" or "region": refuses either (at field path base), the
 * message why. */
cmk_err cmk_provider_no_common(struct cmk_conf *cf, const char *base,
                               const struct cmk_kms_cfg *kms,
                               const char *why) CMK_WUR;
/* provider.c. A provider's code_number: the number of code in its n rows
 * of t, else the shared one above, else CMK_DEV_OTHER (also for NULL or
 * ""). */
unsigned cmk_provider_device_number(const struct cmk_code_num *t, size_t n,
                                    const char *code);

/* provider.c. A request that got no HTTP answer (r->fail), as every
 * REST provider reports it: the cmk_err, its retry class (resets,
 * refused connections: transient; timeouts: timeout; a TLS failure, a
 * body too large, a URL refused: none, a certificate does not get
 * better) and its code (NetworkError, Timeout, TlsError,
 * ResponseTooLarge, EndpointRefused; ClientError for anything else,
 * a request that never left among them: err as it is). */
cmk_err cmk_provider_transport(const struct cmk_http_resp *r, cmk_err err,
                               enum cmk_retry_class *cls, char *code,
                               size_t n) CMK_WUR;

/* provider.c. What an attempt's answer r says, into rq: its request id
 * (x-amzn-RequestId or x-ms-request-id, "" if none), HTTP status and
 * code. */
void cmk_provider_note(struct cmk_req *rq, const struct cmk_http_resp *r,
                       const char *code);

/* provider.c. Canonical AAD encoding of an encryption context, for
 * providers that take bytes (local): for each pair in order, u32 BE key
 * length, key, u32 BE value length, value. */
cmk_err cmk_context_encode(const struct cmk_ctx_pair *ctx, size_t n,
                           struct cmk_buf *out) CMK_WUR;
/* Frees the buffers of p and zeroes it (NULL-safe). */
void cmk_import_params_free(struct cmk_import_params *p);

#endif /* CMK_PROVIDER_H */
