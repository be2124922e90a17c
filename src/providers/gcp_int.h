/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: internals of the gcp provider shared by gcp.c (operations),
 * gcp_asym.c (key pairs), gcp_call.c (one authenticated REST call with
 * retries), gcp_health.c and gcp_name.c (resource names). Bodies and the error
 * table are gcp_json.c. Not for use outside src/providers.
 */
#ifndef CMK_PROVIDERS_GCP_INT_H
#define CMK_PROVIDERS_GCP_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include "net/creds.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/strbuf.h"
#include "providers/gcp_json.h"
#include "providers/provider.h"

#define GCP_KEY_ID_PREFIX "gcp:"
#define GCP_DEFAULT_ENDPOINT "https://cloudkms.googleapis.com"
/* A key reference (cryptoKey or cryptoKeyVersion name) that leaves room
 * for a version name in rq->sealed_by[256]. */
#define GCP_REF_MAX 220u
/* Our allowance for a ciphertext beyond its plaintext (ct_bound); not a
 * documented Google figure. */
#define GCP_CT_OVERHEAD 1024u

struct gcp_state {
    char key_id[256]; /* "gcp:" + key_ref */
    char *key_ref;    /* as configured */
    char *crypto_key; /* the cryptoKey of key_ref */
    char *base;       /* endpoint URL without a trailing '/' */
    struct cmk_http *http;
    struct cmk_cred_cache tokens; /* bearer tokens (net/gauth.h) */
    bool tokens_ready;
    atomic_int level; /* protection level last answered (0: unknown) */
    /* Key pairs: the version's algorithm as getPublicKey last named it
     * (enum cmk_gcp_algorithm; 0: not asked yet). */
    atomic_int algorithm;
    const struct cmk_retry_clock *clock; /* tests; NULL: real */
};

/* Reads a 200 answer inside the attempt. CMK_E_INTEGRITY from it (a
 * checksum that failed) discards the answer and retries the call. */
typedef cmk_err (*gcp_parse_fn)(struct gcp_state *st, struct cmk_http_resp *r,
                                void *out, const char **code);

/* One REST call, gcp_call.c. */
struct gcp_call_req {
    const char *method; /* "POST", "GET" */
    const char *action; /* ":encrypt", ":decrypt", "" (GET) */
    const char *name;   /* resource name */
    enum cmk_gcp_op op;
    const struct cmk_sb *body; /* NULL for GET */
    gcp_parse_fn parse;
    void *out;
};

/* Sends cr with a bearer token under the shared retry policy and quota:
 * RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, other
 * 5xx, network errors and integrity failures are retried with backoff;
 * UNAUTHENTICATED drops the token, fetches another and resends once.
 * Fills rq's http_status and provider_code (the canonical status, or a
 * code of ours). No lock is held during the exchange. */
cmk_err cmk_gcp_call(struct gcp_state *st, struct cmk_req *rq,
                     const struct gcp_call_req *cr) CMK_WUR;

/* gcp_name.c: resource names (only the shape; KMS says if they exist). */
/* "projects/P/locations/L/keyRings/R/cryptoKeys/K", optionally with
 * "/cryptoKeyVersions/N" when allow_version. */
bool cmk_gcp_is_key_name(const char *s, bool allow_version);
/* Whether version is a cryptoKeyVersion of crypto_key. */
bool cmk_gcp_is_version_of(const char *version, const char *crypto_key);
/* The cryptoKey of a name (heap copy; the name itself for a cryptoKey). */
char *cmk_gcp_crypto_key_of(const char *name);

/* gcp.c: the state of one key reference (provider.h init and fini), for
 * the CMK and for a key pair alike. No network call. */
cmk_err cmk_gcp_init(void *st, const struct cmk_kms_cfg *cfg,
                     const char *key_ref) CMK_WUR;
void cmk_gcp_fini(void *st);

/* gcp_health.c: the ops table's health, health_reason and code_number. */
cmk_err cmk_gcp_health(void *st, struct cmk_req *rq) CMK_WUR;
unsigned long cmk_gcp_health_reason(const char *code);
/* The ulDeviceError number of a provider code (provider.h code_number). */
unsigned cmk_gcp_code_number(const char *code);

#endif /* CMK_PROVIDERS_GCP_INT_H */
