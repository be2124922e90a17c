/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: internals of the vault provider shared by vault.c
 * (operations), vault_asym.c and vault_json_asym.c (key pairs),
 * vault_call.c (one REST call: token, namespace, redirects,
 * retries), vault_errors.c (the error table, code numbers), vault_json.c
 * (bodies and answers), vault_info.c (the key's cached read, health) and
 * vault_cfg.c. Not for use outside src/providers.
 */
#ifndef CMK_PROVIDERS_VAULT_INT_H
#define CMK_PROVIDERS_VAULT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "net/http.h"
#include "net/retry.h"
#include "net/strbuf.h"
#include "net/vauth.h"
#include "providers/provider.h"
#include "providers/vault_cfg.h"
#include "util/lock.h"

#define VAULT_KEY_ID_PREFIX "vault:"
#define VAULT_NAME_MAX 128u
#define VAULT_MOUNT_MAX 96u
#define VAULT_ADDR_MAX 256u
/* Plaintext limit of one encrypt (our limit; Vault's request limit is
 * 32 MiB): the module seals keys. */
#define VAULT_MAX_PT 65536u
/* Items per batch_input request (cmk-tool rewrap --batch caps it too). */
#define VAULT_BATCH_MAX 250u

/* What a transit operation is, for the error table. */
enum vault_op {
    VAULT_OP_READ = 0, /* GET keys/<name> */
    VAULT_OP_ENCRYPT,
    VAULT_OP_DECRYPT,
    VAULT_OP_REWRAP,
    VAULT_OP_SIGN,
};

/* The GET keys/<name> answer, as far as the provider uses it. */
struct vault_key_info {
    char type[32]; /* "aes256-gcm96", ... */
    bool derived;
    bool aead; /* the type takes associated_data */
    unsigned long latest_version;
    unsigned long min_decryption_version;
    bool supports_encryption;
    bool supports_decryption;
};

struct vault_state {
    char key_id[256]; /* "vault:" + mount + "/" + name */
    char name[VAULT_NAME_MAX + 1];
    char mount[VAULT_MOUNT_MAX + 1];
    char address[VAULT_ADDR_MAX];    /* no final '/' */
    char *ns;                        /* heap; NULL: none */
    char *ca_file;                   /* heap; NULL: the global one */
    const struct cmk_vault_cfg *cfg; /* the tenant's, or dflt */
    struct cmk_vault_cfg dflt;
    struct cmk_http_cfg http_cfg; /* the tenant's, CA chosen */
    struct cmk_http *http;
    struct cmk_vauth *auth;
    struct cmk_mutex lock; /* guards what follows; a leaf, never held
                            * across I/O */
    bool lock_ready;
    bool have_info;
    struct vault_key_info info;
    int64_t info_at_us; /* retry clock's time of the info */
    bool aad_refused;   /* the server does not take associated_data */
    /* Key pairs (vault_asym.c): the version the key reference names (0:
     * the latest when the public key is read), set at init; then, under
     * the lock, the version whose public key was read (0: not yet), its
     * key type's kind (enum cmk_asym_kind) and size. */
    unsigned long pair_version;
    unsigned long pair_used;
    int pair_kind;
    unsigned pair_bits;
    const struct cmk_retry_clock *clock; /* tests; NULL: real */
    /* Tests, set before init: */
    const char *(*getenv)(const char *name); /* NULL: secure_getenv */
    int64_t (*now_unix)(void);               /* tokens; NULL: time() */
};

/* Reads a 200 answer inside the attempt (the body may be overwritten:
 * secrets are lifted out first). */
typedef cmk_err (*vault_parse_fn)(struct cmk_http_resp *r, void *out,
                                  const char **code);

/* One REST call, vault_call.c. */
struct vault_call_req {
    const char *method; /* "POST", "GET" */
    const char *path;   /* below /v1/: "transit/encrypt/k" */
    enum vault_op op;
    const struct cmk_sb *body; /* NULL for GET */
    vault_parse_fn parse;
    void *out;
    /* A batch_input request: a 400 whose body holds data.batch_results
     * (some item failed) is an answer, read by parse too. */
    bool batch;
};

/* How the key binds the tenant's context (vault.c's head comment). */
struct vault_bind {
    bool context; /* send "context" */
    bool aad;     /* send "associated_data" */
    bool derived;
};

/* Sends cr with the pool's token (a 403 "invalid token" drops it and
 * resends once per call), X-Vault-Request and the namespace; follows a
 * 307 to the address or a redirect host (else CMK_E_CONFIG
 * "RedirectRefused"), at most twice. Retries (shared policy and quota)
 * 412, 429 and 5xx but 501, network errors, waiting at least what
 * Retry-After asks. Fills rq's http_status, request_id (the body's
 * request_id on success) and provider_code. */
cmk_err cmk_vault_call(struct vault_state *st, struct cmk_req *rq,
                       const struct vault_call_req *cr) CMK_WUR;

/* vault_bind.c: a failure with its code (no HTTP status, no request id),
 * then the checks of vault.c and vault_batch.c: the canonical context bytes of
 * rq and how the key binds them; the payload is a transit ciphertext whose
 * version is the one rq->open_with names, when it names one; what a refusal
 * means for the cached key info; a server that does not take associated
 * data, remembered and refused. Each sets rq's code when it fails. */
cmk_err cmk_vault_fail(struct cmk_req *rq, cmk_err err, const char *code);
cmk_err cmk_vault_bound_context(struct vault_state *st, struct cmk_req *rq,
                                struct cmk_buf *ctx,
                                struct vault_bind *b) CMK_WUR;
cmk_err cmk_vault_check_blob(struct vault_state *st, struct cmk_req *rq,
                             const uint8_t *in, size_t in_len) CMK_WUR;
cmk_err cmk_vault_after(struct vault_state *st, struct cmk_req *rq, cmk_err err,
                        const struct vault_bind *b) CMK_WUR;
cmk_err cmk_vault_aad_refused(struct vault_state *st,
                              struct cmk_req *rq) CMK_WUR;

/* vault_batch.c: the provider's reencrypt_batch and is_latest. */
cmk_err cmk_vault_reencrypt_batch(void *st, struct cmk_req *rq,
                                  struct cmk_batch_item *items,
                                  size_t n) CMK_WUR;
cmk_err cmk_vault_is_latest(void *st, struct cmk_req *rq, const char *sealed_by,
                            bool *latest) CMK_WUR;

/* vault_errors.c: an error answer of status to op: the cmk_err, its
 * retry class and the provider code (docs/vault.md, "Errors"). */
cmk_err cmk_vault_error_map(long status, const char *body, size_t len,
                            enum vault_op op, char *code, size_t n,
                            enum cmk_retry_class *cls);
/* The same for one item of a batch answer: its "error" text, as a 400's
 * (the retry class is always none). */
cmk_err cmk_vault_item_error_map(const char *msg, char *code, size_t n);
unsigned cmk_vault_code_number(const char *code);
unsigned long cmk_vault_health_reason(const char *code);

/* vault_json.c */
/* {"plaintext"|"ciphertext": v, "context"?: b64(ctx),
 * "associated_data"?: b64(ctx)} (ctx NULL: neither); v is base64 of the
 * plaintext when pt, else the ciphertext string. Returns cmk_sb_status. */
cmk_err cmk_vault_body(struct cmk_sb *sb, bool pt, const uint8_t *v,
                       size_t v_len, const struct cmk_buf *ctx, bool context,
                       bool aad) CMK_WUR;
/* A "vault:vN:<base64>" ciphertext: N into *version. */
bool cmk_vault_ct_version(const uint8_t *ct, size_t len,
                          unsigned long *version);
/* data.ciphertext (checked as above) into out. */
cmk_err cmk_vault_parse_ct(const char *body, size_t len, struct cmk_buf *out,
                           unsigned long *version) CMK_WUR;
/* data.plaintext (base64) into guarded memory; body overwritten. */
cmk_err cmk_vault_parse_pt(char *body, size_t len,
                           struct cmk_secret *out) CMK_WUR;
/* The answer's warnings name associated_data (a server that ignored it). */
bool cmk_vault_warns_aad(const char *body, size_t len);
/* The answer's request_id into id (n bytes); "" when none. */
void cmk_vault_request_id(const char *body, size_t len, char *id, size_t n);
/* One item of a batch answer (cmk_vault_parse_batch). */
struct vault_result {
    cmk_err err;           /* the item's error, mapped; CMK_OK */
    char code[64];         /* its code; "" */
    struct cmk_buf ct;     /* ciphertext answers: the transit string */
    unsigned long version; /* and the version it names */
    struct cmk_secret pt;  /* plaintext answers: guarded */
};
/* {"batch_input": [cmk_vault_body(item) for each of the n items]}, each
 * item's value vals[i] of lens[i] bytes (plaintexts when pt). */
cmk_err cmk_vault_batch_body(struct cmk_sb *sb, bool pt,
                             const uint8_t *const *vals, const size_t *lens,
                             size_t n, const struct cmk_buf *ctx, bool context,
                             bool aad) CMK_WUR;
/* Whether the answer holds data.batch_results (a 400 of a batch that
 * still answers per item). */
bool cmk_vault_has_batch_results(char *body, size_t len);
/* data.batch_results of exactly n items into res[0..n): per item its
 * error (mapped), or its ciphertext (checked) or plaintext (when pt:
 * lifted out into guarded memory, the body overwritten).
 * CMK_E_BAD_RESPONSE (res left empty) for anything else. */
cmk_err cmk_vault_parse_batch(char *body, size_t len, bool pt,
                              struct vault_result *res, size_t n) CMK_WUR;
/* Frees what res[0..n) holds (wipes the plaintexts). */
void cmk_vault_results_free(struct vault_result *res, size_t n);
/* A GET keys/<name> answer. */
cmk_err cmk_vault_parse_key(const char *body, size_t len,
                            struct vault_key_info *out) CMK_WUR;

/* vault_info.c: the key's info, from the cache while key_info_ttl has
 * not passed. */
cmk_err cmk_vault_key_info(struct vault_state *st, struct cmk_req *rq,
                           struct vault_key_info *out) CMK_WUR;
/* GET keys/<name> now, and keep the answer. */
cmk_err cmk_vault_fetch_info(struct vault_state *st, struct cmk_req *rq,
                             struct vault_key_info *out) CMK_WUR;
/* Forgets the cached info (a refusal that may mean it changed). */
void cmk_vault_purge(struct vault_state *st);
cmk_err cmk_vault_health(void *st, struct cmk_req *rq) CMK_WUR;

/* vault.c: the state of one transit key (provider.h init and fini), for
 * the CMK and for a key pair alike. No network call. */
cmk_err cmk_vault_init(void *st, const struct cmk_kms_cfg *cfg,
                       const char *key_ref) CMK_WUR;
void cmk_vault_fini(void *st);

/* vault_json_asym.c: a key pair's key read, sign body and answer. */
struct vault_pair_info {
    char type[32];         /* "rsa-2048", "ecdsa-p256", ... */
    unsigned long version; /* the version read */
    struct cmk_buf pem;    /* its public_key (the caller frees) */
};
/* A GET keys/<name> answer: data.type, and data.keys[v].public_key for
 * v = want, or data.latest_version when want is 0. CMK_E_KEY_NOT_FOUND
 * (*code "KeyVersionNotFound") when the answer has no such version,
 * CMK_E_BAD_RESPONSE when malformed; out is then empty. */
cmk_err cmk_vault_parse_pair(const char *body, size_t len, unsigned long want,
                             struct vault_pair_info *out,
                             const char **code) CMK_WUR;
/* {"input":B64(digest),"prehashed":true,"hash_algorithm":hash,
 * "key_version":version} and, for RSA, "signature_algorithm" ("pss" with
 * "salt_length":"hash", or "pkcs1v15"), for ECDSA
 * "marshaling_algorithm":"asn1". */
cmk_err cmk_vault_body_sign(struct cmk_sb *sb, const uint8_t *digest,
                            size_t len, const char *hash, bool rsa, bool pss,
                            unsigned long version) CMK_WUR;
/* data.signature, "vault:v<N>:<base64>": N into *version, the decoded
 * signature into sig (the caller frees). CMK_E_BAD_RESPONSE when
 * malformed. */
cmk_err cmk_vault_parse_sig(const char *body, size_t len,
                            unsigned long *version,
                            struct cmk_buf *sig) CMK_WUR;

/* vault_cfg.c: names and paths. */
bool cmk_vault_name_ok(const char *s);
bool cmk_vault_mount_ok(const char *s);

#endif /* CMK_PROVIDERS_VAULT_INT_H */
