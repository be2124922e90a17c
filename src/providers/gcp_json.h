/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Google Cloud KMS REST v1 bodies of the gcp provider
 * (docs: shared kms-protocols.md section 2). Requests carry the CRC32C of
 * every payload; answers are checked field by field and their payloads
 * against the CRC32C the KMS returns. A checksum that does not match is
 * CMK_E_INTEGRITY (discard the answer and retry the call), anything else
 * wrong CMK_E_BAD_RESPONSE. Stateless; callable from any thread.
 */
#ifndef CMK_GCP_JSON_H
#define CMK_GCP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/retry.h"
#include "net/strbuf.h"
#include "util/err.h"
#include "util/secmem.h"

/* Request limits (kms-protocols.md 2.1): each of plaintext and AAD for
 * SOFTWARE and EXTERNAL keys, and plaintext + AAD for HSM keys. */
#define GCP_MAX_PLAINTEXT 65536u
#define GCP_MAX_AAD 65536u
#define GCP_MAX_HSM_DATA 8192u
/* Our cap on a returned ciphertext: the plaintext limit plus room for
 * the KMS's header and tag (not a documented KMS figure). */
#define GCP_MAX_CIPHERTEXT (GCP_MAX_PLAINTEXT + 1024u)
/* Resource names ("projects/.../cryptoKeyVersions/N"), with the NUL. */
#define GCP_NAME_MAX 512
/* A canonical status ("FAILED_PRECONDITION"), with the NUL. */
#define GCP_STATUS_MAX 32

/* The proto enums, with their wire numbers (answers may carry either the
 * name or the number). A name this module does not know reads as
 * CMK_GCP_UNKNOWN; an absent value is 0 (proto3 JSON omits defaults). */
#define CMK_GCP_UNKNOWN (-1)
enum cmk_gcp_level {
    CMK_GCP_LEVEL_UNSPECIFIED = 0,
    CMK_GCP_SOFTWARE = 1,
    CMK_GCP_HSM = 2,
    CMK_GCP_EXTERNAL = 3,
    CMK_GCP_EXTERNAL_VPC = 4,
};
enum cmk_gcp_state {
    CMK_GCP_STATE_UNSPECIFIED = 0,
    CMK_GCP_ENABLED = 1,
    CMK_GCP_DISABLED = 2,
    CMK_GCP_DESTROYED = 3,
    CMK_GCP_DESTROY_SCHEDULED = 4,
    CMK_GCP_PENDING_GENERATION = 5,
    CMK_GCP_PENDING_IMPORT = 6,
    CMK_GCP_IMPORT_FAILED = 7,
    CMK_GCP_GENERATION_FAILED = 8,
    CMK_GCP_PENDING_EXTERNAL_DESTRUCTION = 9,
    CMK_GCP_EXTERNAL_DESTRUCTION_FAILED = 10,
};
enum cmk_gcp_purpose {
    CMK_GCP_PURPOSE_UNSPECIFIED = 0,
    CMK_GCP_ENCRYPT_DECRYPT = 1,
    CMK_GCP_ASYMMETRIC_SIGN = 5,
    CMK_GCP_ASYMMETRIC_DECRYPT = 6,
    CMK_GCP_RAW_ENCRYPT_DECRYPT = 7,
    CMK_GCP_MAC = 9,
};

/* The CryptoKeyVersionAlgorithm numbers of the key pairs this module
 * reads (resources.proto); any other name reads as CMK_GCP_UNKNOWN. */
enum cmk_gcp_algorithm {
    CMK_GCP_ALG_UNSPECIFIED = 0,
    CMK_GCP_GOOGLE_SYMMETRIC_ENCRYPTION = 1,
    CMK_GCP_RSA_SIGN_PSS_2048_SHA256 = 2,
    CMK_GCP_RSA_SIGN_PSS_3072_SHA256 = 3,
    CMK_GCP_RSA_SIGN_PSS_4096_SHA256 = 4,
    CMK_GCP_RSA_SIGN_PSS_4096_SHA512 = 15,
    CMK_GCP_RSA_SIGN_PKCS1_2048_SHA256 = 5,
    CMK_GCP_RSA_SIGN_PKCS1_3072_SHA256 = 6,
    CMK_GCP_RSA_SIGN_PKCS1_4096_SHA256 = 7,
    CMK_GCP_RSA_SIGN_PKCS1_4096_SHA512 = 16,
    CMK_GCP_RSA_DECRYPT_OAEP_2048_SHA256 = 8,
    CMK_GCP_RSA_DECRYPT_OAEP_3072_SHA256 = 9,
    CMK_GCP_RSA_DECRYPT_OAEP_4096_SHA256 = 10,
    CMK_GCP_RSA_DECRYPT_OAEP_4096_SHA512 = 17,
    CMK_GCP_RSA_DECRYPT_OAEP_2048_SHA1 = 37,
    CMK_GCP_RSA_DECRYPT_OAEP_3072_SHA1 = 38,
    CMK_GCP_RSA_DECRYPT_OAEP_4096_SHA1 = 39,
    CMK_GCP_EC_SIGN_P256_SHA256 = 12,
    CMK_GCP_EC_SIGN_P384_SHA384 = 13,
};

/* The call an error answer ends (INVALID_ARGUMENT means bad data on
 * decrypt and asymmetricDecrypt, a digest or algorithm the key version
 * does not take on asymmetricSign). */
enum cmk_gcp_op {
    CMK_GCP_OP_ENCRYPT,
    CMK_GCP_OP_DECRYPT,
    CMK_GCP_OP_GET,
    CMK_GCP_OP_SIGN,
};

/* A getPublicKey answer: the version it names, its algorithm (a
 * CMK_GCP_* algorithm number, CMK_GCP_UNKNOWN for a name not listed) and
 * the PEM text (checked against pemCrc32c; the caller frees it). */
struct cmk_gcp_public_key {
    char version[GCP_NAME_MAX];
    int algorithm;
    struct cmk_buf pem;
};

/* An asymmetricSign answer; sig is owned by the caller after CMK_OK. */
struct cmk_gcp_signed {
    char version[GCP_NAME_MAX];
    struct cmk_buf sig;
};

/* An encrypt answer. version is the CryptoKeyVersion that encrypted;
 * level its protection level (0 when absent). ct is owned by the caller
 * after CMK_OK (cmk_buf_free). */
struct cmk_gcp_encrypted {
    char version[GCP_NAME_MAX];
    struct cmk_buf ct;
    int level;
};

/* A decrypt answer. pt (guarded memory) is owned by the caller after
 * CMK_OK (cmk_secret_free). */
struct cmk_gcp_decrypted {
    struct cmk_secret pt;
    bool used_primary;
    int level;
};

/* The health-relevant part of GET cryptoKey (the primary version) or GET
 * cryptoKeyVersion. With no primary version (proto3 omits it), version
 * is "" and state and level are 0; a version answer leaves purpose 0 (a
 * CryptoKeyVersion does not carry it). */
struct cmk_gcp_key_info {
    char version[GCP_NAME_MAX];
    int state;
    int level;
    int purpose;
};

/* What an error answer said, for the audit record: the HTTP status and
 * the canonical status, reduced to [A-Za-z0-9._-] and truncated to
 * GCP_STATUS_MAX - 1 characters ("" when the body has none). */
struct cmk_gcp_error {
    long http;
    char status[GCP_STATUS_MAX];
};

/* Before any call: CMK_E_TOO_LARGE when plaintext (pt_len) or AAD is over
 * 64 KiB, or, for an HSM key (level CMK_GCP_HSM), their sum is over
 * 8 KiB; CMK_OK otherwise. */
cmk_err cmk_gcp_check_sizes(int level, size_t pt_len, size_t aad_len) CMK_WUR;

/* Appends the encrypt request body to sb:
 * {"plaintext":B64,"additionalAuthenticatedData":B64,
 *  "plaintextCrc32c":"N","additionalAuthenticatedDataCrc32c":"N"}
 * with CRC32Cs as decimal strings (int64 in proto3 JSON). With no AAD
 * (aad_len 0) both AAD members are left out. sb then holds the
 * plaintext's base64: free it with cmk_sb_free, which wipes. Returns
 * cmk_sb_status (CMK_E_NOMEM). */
cmk_err cmk_gcp_body_encrypt(struct cmk_sb *sb, const uint8_t *pt,
                             size_t pt_len, const uint8_t *aad,
                             size_t aad_len) CMK_WUR;
/* The decrypt request body, the same with "ciphertext" and
 * "ciphertextCrc32c". */
cmk_err cmk_gcp_body_decrypt(struct cmk_sb *sb, const uint8_t *ct,
                             size_t ct_len, const uint8_t *aad,
                             size_t aad_len) CMK_WUR;

/* The asymmetricSign request body {"digest":{"sha256":B64},
 * "digestCrc32c":"N"} (member "sha256", "sha384" or "sha512"). */
cmk_err cmk_gcp_body_sign(struct cmk_sb *sb, const char *member,
                          const uint8_t *digest, size_t len) CMK_WUR;
/* The asymmetricDecrypt request body {"ciphertext":B64,
 * "ciphertextCrc32c":"N"}. */
cmk_err cmk_gcp_body_asym_decrypt(struct cmk_sb *sb, const uint8_t *ct,
                                  size_t len) CMK_WUR;

/* Reads a getPublicKey answer: name, algorithm (name or number) and pem
 * (at most 16 KiB) required; CMK_E_INTEGRITY when pemCrc32c (required)
 * does not match the pem's bytes. CMK_E_BAD_RESPONSE when malformed;
 * out is then empty. */
cmk_err cmk_gcp_parse_public_key(const char *body, size_t len,
                                 struct cmk_gcp_public_key *out) CMK_WUR;
/* Reads an asymmetricSign answer: name and signature (1 to 1024 bytes)
 * required; CMK_E_INTEGRITY when signatureCrc32c (required) does not
 * match or verifiedDigestCrc32c is not true. CMK_E_BAD_RESPONSE when
 * malformed; out is then empty. */
cmk_err cmk_gcp_parse_sign(const char *body, size_t len,
                           struct cmk_gcp_signed *out) CMK_WUR;
/* Reads an asymmetricDecrypt answer as cmk_gcp_parse_decrypt does, and
 * CMK_E_INTEGRITY also when verifiedCiphertextCrc32c is not true. */
cmk_err cmk_gcp_parse_asym_decrypt(char *body, size_t len,
                                   struct cmk_gcp_decrypted *out) CMK_WUR;

/* Reads an encrypt answer body[0..len). Requires name, ciphertext (1 to
 * GCP_MAX_CIPHERTEXT bytes) and ciphertextCrc32c (a decimal string or a
 * number); CMK_E_INTEGRITY when that CRC does not match, when
 * verifiedPlaintextCrc32c is not true, or, if aad_sent (the request
 * carried an AAD CRC), when verifiedAdditionalAuthenticatedDataCrc32c is
 * not true (absent reads as false). CMK_E_BAD_RESPONSE for anything
 * malformed, CMK_E_NOMEM. On failure out->ct is empty. */
cmk_err cmk_gcp_parse_encrypt(const char *body, size_t len, bool aad_sent,
                              struct cmk_gcp_encrypted *out) CMK_WUR;

/* Reads a decrypt answer body[0..len) (NUL-terminated or not). The
 * plaintext's base64 is lifted into guarded memory and overwritten in
 * body first (net/json.h). An absent plaintext is the empty one (proto3);
 * plaintextCrc32c is required and must match (else CMK_E_INTEGRITY).
 * CMK_E_BAD_RESPONSE for anything malformed, CMK_E_NOMEM. On failure
 * out->pt is empty and every copy of the plaintext wiped. */
cmk_err cmk_gcp_parse_decrypt(char *body, size_t len,
                              struct cmk_gcp_decrypted *out) CMK_WUR;

/* Reads a GET cryptoKey answer (primary.name, primary.state,
 * primary.protectionLevel, purpose; enums as names or numbers).
 * CMK_E_BAD_RESPONSE when malformed. */
cmk_err cmk_gcp_parse_key(const char *body, size_t len,
                          struct cmk_gcp_key_info *out) CMK_WUR;
/* Reads a GET cryptoKeyVersion answer, a CryptoKeyVersion: name
 * (required), state, protectionLevel (enums as names or numbers).
 * CMK_E_BAD_RESPONSE when malformed; out is then zeroed. */
cmk_err cmk_gcp_parse_version(const char *body, size_t len,
                              struct cmk_gcp_key_info *out) CMK_WUR;

/* Maps an error answer (HTTP status http, body[0..len), a
 * google.rpc.Status {"error":{"code","message","status"}}) by its status
 * alone, never the message: FAILED_PRECONDITION CMK_E_KEY_DISABLED,
 * PERMISSION_DENIED CMK_E_ACCESS_DENIED, NOT_FOUND CMK_E_KEY_NOT_FOUND,
 * INVALID_ARGUMENT on op CMK_GCP_OP_DECRYPT CMK_E_BAD_CIPHERTEXT, on
 * CMK_GCP_OP_SIGN CMK_E_ACCESS_DENIED (the version refuses the digest),
 * UNAUTHENTICATED CMK_E_AUTH_REFRESH (refresh the token, retry once),
 * RESOURCE_EXHAUSTED CMK_E_THROTTLED (class CMK_RETRY_THROTTLE_SLOW: the
 * quota is per second, so the retry waits a second), UNAVAILABLE and
 * INTERNAL
 * CMK_E_KMS_INTERNAL, DEADLINE_EXCEEDED CMK_E_TIMEOUT (these four with a
 * retry class in *cls), anything else (or no status) CMK_E_BAD_RESPONSE.
 * rec receives what the audit record keeps. */
cmk_err cmk_gcp_error_map(long http, const char *body, size_t len,
                          enum cmk_gcp_op op, struct cmk_gcp_error *rec,
                          enum cmk_retry_class *cls);

#endif /* CMK_GCP_JSON_H */
