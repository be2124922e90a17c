/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: AWS Signature Version 4 (header signing) over mech's SHA-256 and
 * HMAC-SHA-256 (the module's private OSSL_LIB_CTX; cmk_mech_init first).
 * Used for every KMS request and re-run for every retry (each attempt
 * gets a fresh X-Amz-Date).
 * Thread safety: one struct cmk_sigv4 may sign from several threads.
 * Errors: CMK_E_ARGS (missing input, no Host header), CMK_E_NOMEM,
 * CMK_E_CRYPTO. The secret key never appears in any output.
 */
#ifndef CMK_NET_SIGV4_H
#define CMK_NET_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util/err.h"

struct cmk_sigv4;

/* One request header as it will be sent (the name in any case). */
struct cmk_sigv4_hdr {
    const char *name;
    const char *value;
};

struct cmk_sigv4_req {
    const char *method; /* "POST" */
    const char *path;   /* raw, not yet percent-encoded: "/" for KMS */
    const char *query;  /* raw query without '?', or NULL */
    const struct cmk_sigv4_hdr *hdrs; /* every header to sign, with Host;
                                       * not X-Amz-Date (added here) */
    size_t n_hdrs;
    const uint8_t *body;
    size_t body_len;
    const char *region;
    const char *service; /* "kms" */
    int64_t when;        /* Unix time of the request */
    bool normalize_path; /* remove "." and ".." segments and empty ones */
    bool sign_body_hash; /* add and sign X-Amz-Content-SHA256 */
    bool token_unsigned; /* add X-Amz-Security-Token after signing */
};

struct cmk_sigv4_key {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term keys */
};

/* Headers to add to the request, and the intermediate strings (not
 * secret; the canonical request holds header values and the body hash). */
struct cmk_sigv4_out {
    char amz_date[17];       /* X-Amz-Date: YYYYMMDDTHHMMSSZ */
    char content_sha256[65]; /* X-Amz-Content-SHA256 when requested */
    char signature[65];
    char *authorization;     /* heap: the Authorization header value */
    char *canonical_request; /* heap */
    char *string_to_sign;    /* heap */
};

cmk_err cmk_sigv4_new(struct cmk_sigv4 **out) CMK_WUR;
void cmk_sigv4_free(struct cmk_sigv4 *sv);

/* Signs rq with key. On success out holds heap strings the caller frees
 * with cmk_sigv4_out_free; on failure out is left empty. */
cmk_err cmk_sigv4_sign(struct cmk_sigv4 *sv, const struct cmk_sigv4_req *rq,
                       const struct cmk_sigv4_key *key,
                       struct cmk_sigv4_out *out) CMK_WUR;
void cmk_sigv4_out_free(struct cmk_sigv4_out *out);

/* Lower-case hex SHA-256 of p (65 bytes with the NUL). */
cmk_err cmk_sigv4_sha256_hex(struct cmk_sigv4 *sv, const void *p, size_t n,
                             char hex[65]) CMK_WUR;

#endif /* CMK_NET_SIGV4_H */
