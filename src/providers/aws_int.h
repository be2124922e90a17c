/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: internals of the aws provider shared by aws.c (operations),
 * aws_call.c (one signed KMS call with retries), aws_json.c (request and
 * response bodies) and aws_errors.c (the error table). Not for use
 * outside src/providers.
 */
#ifndef CMK_PROVIDERS_AWS_INT_H
#define CMK_PROVIDERS_AWS_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "net/creds.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/sigv4.h"
#include "net/strbuf.h"
#include "providers/provider.h"

#define AWS_MAX_PLAINTEXT 4096u  /* Encrypt: 1..4096 bytes */
#define AWS_MAX_CIPHERTEXT 6144u /* CiphertextBlob: 1..6144 bytes */
#define AWS_MAX_DATA_KEY 1024u   /* GenerateDataKey*: 1..1024 bytes */
#define AWS_KEY_ID_PREFIX "aws:"
#define CMK_AWS_KEY_ARN_MAX 255u /* fits an envelope's sealed-by field */

struct aws_state {
    char *key_ref;    /* as configured */
    char key_id[256]; /* "aws:" + key_ref */
    char *region;
    char *url;  /* KMS endpoint URL */
    char *host; /* Host header value (host[:port]) */
    char *path; /* request path from the URL, "/" usually */
    struct cmk_http *http;
    struct cmk_sigv4 *sv;
    struct cmk_cred_cache creds;
    bool creds_ready;
    atomic_llong skew_s;                 /* KMS clock minus ours, from Date */
    int64_t (*now)(void);                /* wall clock (Unix s); NULL: time() */
    const struct cmk_retry_clock *clock; /* tests; NULL: real */
};

/* aws_call.c: POSTs body as TrentService.<op>, signed afresh for every
 * attempt; retries throttling, 5xx and network errors (standard mode);
 * corrects clock skew once after InvalidSignatureException and refreshes
 * credentials once after ExpiredTokenException/UnrecognizedClient.
 * Fills rq's request_id, http_status and provider_code. On CMK_OK resp
 * holds the 200 answer (the caller frees it). */
cmk_err cmk_aws_call(struct aws_state *st, struct cmk_req *rq, const char *op,
                     const struct cmk_sb *body,
                     struct cmk_http_resp *resp) CMK_WUR;

/* aws_call.c: runs op with body (body_err: an error building it, which
 * makes no call) and hands the 200 answer to parse, which fills out or
 * returns an error and may name a code other than MalformedResponse for
 * rq->provider_code. Frees (wipes) body and the answer. */
typedef cmk_err (*cmk_aws_parse_fn)(struct aws_state *st,
                                    struct cmk_http_resp *r, void *out,
                                    const char **code);
cmk_err cmk_aws_run(struct aws_state *st, struct cmk_req *rq, const char *op,
                    struct cmk_sb *body, cmk_err body_err,
                    cmk_aws_parse_fn parse, void *out) CMK_WUR;

/* aws.c: the ops table's init and fini, which key pairs share
 * (aws_asym.c): the state for key_ref with the tenant's settings. */
cmk_err cmk_aws_init(void *st, const struct cmk_kms_cfg *cfg,
                     const char *key_ref) CMK_WUR;
void cmk_aws_fini(void *st);

/* aws_errors.c: a KMS error code (the __type after any '#') to an
 * internal error and a retry class. Unknown codes go by HTTP status. */
cmk_err cmk_aws_error_map(long status, const char *code,
                          enum cmk_retry_class *cls);
/* Transport failures (no HTTP answer): the error and a provider code. */
cmk_err cmk_aws_transport_map(cmk_err err, const struct cmk_http_resp *r,
                              enum cmk_retry_class *cls, const char **code);
/* Errors after which a corrected clock or fresh credentials may help. */
bool cmk_aws_is_auth_retry(const char *code);
/* The ulDeviceError number of a provider code (docs/aws.md), the ops
 * table's code_number. */
unsigned cmk_aws_code_number(const char *code);

/* aws_health.c: the CMK_HEALTH_* reason a code names more precisely than
 * its internal error (the ops table's health_reason), 0 for none. */
unsigned long cmk_aws_health_reason(const char *code);
/* "WrongKeySpec" or "WrongKeyUsage" when a DescribeKey answer names a
 * key of another kind than a symmetric encryption key, else NULL (the
 * members absent included). */
const char *cmk_aws_wrong_key_use(const struct cmk_http_resp *r);

/* aws_arn.c: key ARNs. Whether arn (n bytes, not NUL-terminated) is a
 * key ARN in its strict form: arn:PARTITION:kms:REGION:ACCOUNT:key/ID,
 * ID a lower-case UUID or mrk- and 32 hex digits, at most
 * CMK_AWS_KEY_ARN_MAX bytes. */
bool cmk_aws_is_key_arn(const char *arn, size_t n);
/* The KeyId of an answer into id[n]: absent (allowed unless required),
 * or a key ARN that the configured reference can name and, when want is
 * given, that very key; else CMK_E_BAD_RESPONSE (*code
 * "UnexpectedKeyId" for a key ARN of another key). */
cmk_err cmk_aws_answer_key(const struct aws_state *st,
                           const struct cmk_http_resp *r, char *id, size_t n,
                           bool required, const char *want,
                           const char **code) CMK_WUR;
/* alias/NAME or an alias ARN: the key behind it may change. */
bool cmk_aws_ref_is_alias(const char *ref);
enum cmk_aws_fit {
    CMK_AWS_FITS,        /* ref may name that key */
    CMK_AWS_OTHER_KEY,   /* a key ARN, but not one ref can name */
    CMK_AWS_NOT_KEY_ARN, /* not a key ARN at all */
};
/* Whether the configured reference ref, used in region, can name the key
 * arn: a key ARN only itself, a key id only its own key, an alias ARN any
 * key of its partition, region and account, alias/NAME any key of the
 * region. */
enum cmk_aws_fit cmk_aws_arn_fits(const char *ref, const char *region,
                                  const char *arn, size_t n);

/* aws_import.c: the ops table's import_params and import_material
 * (providers/provider.h). */
cmk_err cmk_aws_import_params(void *st, struct cmk_req *rq, unsigned rsa_bits,
                              struct cmk_import_params *out) CMK_WUR;
cmk_err cmk_aws_import_material(void *st, struct cmk_req *rq,
                                const struct cmk_import_params *p,
                                const uint8_t *wrapped, size_t wrapped_len,
                                int64_t valid_to) CMK_WUR;

/* aws_json.c: request bodies (wiped buffers) and answers. */
cmk_err cmk_aws_body_encrypt(struct cmk_sb *sb, const char *key,
                             const struct cmk_req *rq, const uint8_t *pt,
                             size_t n) CMK_WUR;
/* key NULL: no KeyId (KMS takes the key the ciphertext names). */
cmk_err cmk_aws_body_decrypt(struct cmk_sb *sb, const char *key,
                             const struct cmk_req *rq, const uint8_t *ct,
                             size_t n) CMK_WUR;
/* src NULL: no SourceKeyId (KMS takes the key the ciphertext names). */
cmk_err cmk_aws_body_reencrypt(struct cmk_sb *sb, const char *src,
                               const char *key, const struct cmk_req *rq,
                               const uint8_t *ct, size_t n) CMK_WUR;
cmk_err cmk_aws_body_generate(struct cmk_sb *sb, const char *key,
                              const struct cmk_req *rq, size_t len) CMK_WUR;
/* {"KeyId":key}: DescribeKey, GetPublicKey. */
cmk_err cmk_aws_body_describe(struct cmk_sb *sb, const char *key) CMK_WUR;
/* Sign: Message (base64 of msg), MessageType DIGEST or RAW, the
 * SigningAlgorithm alg. */
cmk_err cmk_aws_body_sign(struct cmk_sb *sb, const char *key, const char *alg,
                          bool digest, const uint8_t *msg, size_t n) CMK_WUR;
/* Decrypt with an asymmetric key: KeyId, CiphertextBlob and
 * EncryptionAlgorithm alg, no context. */
cmk_err cmk_aws_body_asym_decrypt(struct cmk_sb *sb, const char *key,
                                  const char *alg, const uint8_t *ct,
                                  size_t n) CMK_WUR;
/* An answer's body as a JSON object (the caller json_decref's it); NULL
 * when it is empty, not JSON, has a repeated member or is not an
 * object. */
struct json_t;
struct json_t *cmk_aws_json_answer(const struct cmk_http_resp *r);
/* CiphertextBlob of an answer, decoded. */
cmk_err cmk_aws_parse_ciphertext(struct cmk_http_resp *r,
                                 struct cmk_buf *out) CMK_WUR;
/* Plaintext of a Decrypt answer, decoded straight into guarded memory;
 * the base64 in the body is overwritten first. */
cmk_err cmk_aws_parse_plaintext(struct cmk_http_resp *r,
                                struct cmk_secret *out) CMK_WUR;
/* KeyId of an answer into id[n] ("" when the answer has none);
 * CMK_E_BAD_RESPONSE if it is not a string or does not fit. */
cmk_err cmk_aws_parse_key_id(const struct cmk_http_resp *r, char *id,
                             size_t n) CMK_WUR;
/* SourceKeyId of a ReEncrypt answer, the same way. */
cmk_err cmk_aws_parse_source_key_id(const struct cmk_http_resp *r, char *id,
                                    size_t n) CMK_WUR;
/* KeyMetadata.KeyState of a DescribeKey answer. */
cmk_err cmk_aws_parse_key_state(struct cmk_http_resp *r, char *state,
                                size_t n) CMK_WUR;
/* __type (after any '#') of an error body, else x-amzn-ErrorType (before
 * any ':'), else "". */
void cmk_aws_parse_error_code(const struct cmk_http_resp *r, char *code,
                              size_t n);

#endif /* CMK_PROVIDERS_AWS_INT_H */
