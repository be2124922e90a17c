/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: internals of the azure provider shared by azure.c
 * (operations), azure_call.c (one REST call: the challenge, tokens,
 * retries), azure_info.c (the key's cached GET answer), azure_env.c (the
 * envelope payload), azure_json.c (bodies and answers), azure_errors.c
 * (the error table), azure_challenge.c (WWW-Authenticate), azure_name.c
 * (key identifiers), azure_health.c and azure_asym.c (key pairs). Not
 * for use outside src/providers.
 */
#ifndef CMK_PROVIDERS_AZURE_INT_H
#define CMK_PROVIDERS_AZURE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "net/azauth.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/strbuf.h"
#include "providers/azure_cfg.h"
#include "providers/provider.h"
#include "util/lock.h"

#define AZ_KEY_ID_PREFIX "azure:"
/* A key reference without its version, so that base + /keys/NAME/VERSION
 * (the kid) fits rq->sealed_by[256]. */
#define AZ_REF_MAX 220u
#define AZ_KID_MAX 256u
#define AZ_NAME_MAX 127u
#define AZ_VERSION_LEN 32u
#define AZ_VERSION_BIN 16u /* the version's hex digits as bytes */
#define AZ_API_DEFAULT "7.6"
/* Plaintext limits: 64 KiB sealed locally under the wrapped key (form
 * 1); 16 KiB through the vault's A256GCM (form 2; our limit, not a
 * documented Azure one). */
#define AZ_MAX_PT_WRAP 65536u
#define AZ_MAX_PT_GCM 16384u
#define AZ_RSA_MAX 512u /* bytes of an RSA-4096 modulus */
#define AZ_IV_LEN 12u
#define AZ_TAG_LEN 16u
#define AZ_SEAL_KEY_LEN 32u
/* ct_bound: form, version, alg, u16 length, W (RSA-4096 at most), IV,
 * tag. */
#define AZ_CT_OVERHEAD                                                         \
    (1u + AZ_VERSION_BIN + 1u + 2u + AZ_RSA_MAX + AZ_IV_LEN + AZ_TAG_LEN)

/* A key identifier URL https://HOST[:PORT][/vaults/NAME]/keys/NAME[/V]. */
struct az_ref {
    char base[AZ_KID_MAX];            /* the URL before "/keys/" */
    char host[AZ_KID_MAX];            /* lower case, without the port */
    char name[AZ_NAME_MAX + 1];       /* the key name */
    char version[AZ_VERSION_LEN + 1]; /* "" when none */
};

/* What a vault operation is, for the error table and the call log. */
enum az_op {
    AZ_OP_GET = 0,
    AZ_OP_WRAP,
    AZ_OP_UNWRAP,
    AZ_OP_ENCRYPT,
    AZ_OP_DECRYPT,
    AZ_OP_SIGN, /* key pairs (azure_asym.c) */
};

enum az_kty { AZ_KTY_OTHER = 0, AZ_KTY_RSA, AZ_KTY_OCT, AZ_KTY_EC };

#define AZ_EC_COORD_MAX 66u /* bytes of a P-521 coordinate */

/* key_ops bits */
#define AZ_KOP_ENCRYPT 0x1u
#define AZ_KOP_DECRYPT 0x2u
#define AZ_KOP_WRAP 0x4u
#define AZ_KOP_UNWRAP 0x8u
#define AZ_KOP_SIGN 0x10u
#define AZ_KOP_VERIFY 0x20u

/* The GET key answer, as far as the provider uses it. */
struct az_key_info {
    char kid[AZ_KID_MAX];
    enum az_kty kty;
    uint8_t n[AZ_RSA_MAX]; /* RSA modulus, big-endian, no leading zero */
    size_t n_len;
    uint8_t e[8];
    size_t e_len;
    /* EC: the curve (NID_*; 0 for a curve the module does not take, whose
     * point is then not read) and the point, coord_len bytes each. */
    int curve_nid;
    uint8_t x[AZ_EC_COORD_MAX];
    uint8_t y[AZ_EC_COORD_MAX];
    size_t coord_len;
    unsigned ops; /* AZ_KOP_* */
    bool enabled;
    int64_t nbf; /* Unix seconds; 0: none */
    int64_t exp; /* Unix seconds; 0: none */
};

struct azure_state {
    char key_id[256]; /* "azure:" + the reference */
    struct az_ref ref;
    const struct cmk_azure_cfg *cfg; /* the tenant's, or dflt */
    struct cmk_azure_cfg dflt;
    const char *api_version;
    struct cmk_http *http;
    struct cmk_azauth *auth;
    struct cmk_mutex lock; /* guards what follows; a leaf, never held
                            * across I/O */
    bool lock_ready;
    bool challenged;                        /* the pair below is known */
    char tenant[CMK_AZAUTH_TENANT_MAX];     /* from the challenge */
    char resource[CMK_AZAUTH_RESOURCE_MAX]; /* from the challenge */
    bool have_info;
    bool refreshing; /* a thread is fetching the info */
    struct az_key_info info;
    int64_t info_at_us;                  /* retry clock's time of the info */
    const struct cmk_retry_clock *clock; /* tests; NULL: real */
    int64_t (*now_unix)(void);           /* tests; NULL: time() */
};

/* Reads a 200 answer inside the attempt. */
typedef cmk_err (*az_parse_fn)(struct azure_state *st, struct cmk_http_resp *r,
                               void *out, const char **code);

/* One REST call, azure_call.c. */
struct az_call_req {
    const char *method; /* "POST", "GET" */
    const char *target; /* base/keys/NAME[/VERSION] */
    const char *action; /* "/wrapkey", ... or "" (GET) */
    enum az_op op;
    const struct cmk_sb *body; /* NULL for GET */
    az_parse_fn parse;
    void *out;
};

/* Sends cr: the instance's first request goes without token and body to
 * learn the tenant and resource from the vault's challenge; then a
 * bearer token from the pool; a 401 drops it and resends once per call.
 * Retries (shared policy and quota) 408, 429 and 5xx but 501 and 505,
 * network errors, waiting at least what the answer's retry headers ask.
 * Fills rq's http_status, request_id (x-ms-request-id) and
 * provider_code. No lock is held during the exchange. */
cmk_err cmk_azure_call(struct azure_state *st, struct cmk_req *rq,
                       const struct az_call_req *cr) CMK_WUR;

/* azure.c: the instance over one key reference, for the CMK and the key
 * pair ops alike (no network call); fini is NULL-safe per member. */
cmk_err cmk_azure_init(void *st, const struct cmk_kms_cfg *cfg,
                       const char *key_ref) CMK_WUR;
void cmk_azure_fini(void *st);

/* azure_name.c */
bool cmk_azure_ref_parse(const char *s, struct az_ref *out);
/* Whether kid is base/keys/NAME/VERSION of ref (any version). */
bool cmk_azure_is_version_of(const char *kid, const struct az_ref *ref);
/* Whether kid is of the same vault and another name's, or otherwise a
 * well-formed key identifier. */
bool cmk_azure_is_kid(const char *kid);

/* azure_challenge.c: a 401's WWW-Authenticate into the tenant (the
 * authorization URL's first path segment) and resource (or scope without
 * "/.default"); CMK_E_BAD_RESPONSE when it has neither. */
cmk_err
cmk_azure_challenge_parse(const char *hdr, char tenant[CMK_AZAUTH_TENANT_MAX],
                          char resource[CMK_AZAUTH_RESOURCE_MAX]) CMK_WUR;
/* The resource's host is a domain suffix of host on a label boundary,
 * or resource equals configured (NULL: none). */
bool cmk_azure_resource_ok(const char *resource, const char *host,
                           const char *configured);

/* azure_json.c */
const char *cmk_azure_alg_name(enum cmk_azure_alg alg);
/* Strict base64url (no '+' '/', padding tolerated) of s[0..n) into out
 * (max bytes); CMK_E_BAD_RESPONSE when malformed or too long. */
cmk_err cmk_azure_b64url_decode(const char *s, size_t n, uint8_t *out,
                                size_t max, size_t *len) CMK_WUR;
/* {"alg": A, "value": V[, "iv", "tag"][, "aad"]}; members NULL/0 are
 * left out. Returns cmk_sb_status. */
cmk_err cmk_azure_body_op(struct cmk_sb *sb, enum cmk_azure_alg alg,
                          const uint8_t *v, size_t v_len, const uint8_t *iv,
                          const uint8_t *tag, const uint8_t *aad,
                          size_t aad_len) CMK_WUR;

/* An operation's answer: kid, value, and for GCM encrypt iv and tag. */
struct az_result {
    char kid[AZ_KID_MAX];
    struct cmk_buf value;     /* wrapkey, encrypt */
    struct cmk_secret secret; /* unwrapkey, decrypt */
    uint8_t iv[AZ_IV_LEN];
    uint8_t tag[AZ_TAG_LEN];
    bool has_iv_tag;
};
/* Parses {"kid", "value"[, "iv", "tag"]}; value into r->secret when
 * secret (lifted out of body first, which is overwritten), else into
 * r->value (at most max bytes). iv and tag required when want_iv_tag.
 * CMK_E_BAD_RESPONSE when malformed. */
cmk_err cmk_azure_parse_result(char *body, size_t len, bool secret, size_t max,
                               bool want_iv_tag, struct az_result *r) CMK_WUR;
void cmk_azure_result_free(struct az_result *r);
/* Parses a KeyBundle ({"key": JWK, "attributes"}). */
cmk_err cmk_azure_parse_key(const char *body, size_t len,
                            struct az_key_info *out) CMK_WUR;

/* azure_errors.c: an error answer of status to op: the cmk_err, its
 * retry class and the provider code (innererror.code, else error.code,
 * else "HTTP<nnn>"). */
cmk_err cmk_azure_error_map(long status, const char *body, size_t len,
                            enum az_op op, char *code, size_t n,
                            enum cmk_retry_class *cls);

/* azure_info.c: the key's info, from the cache while key_info_ttl has
 * not passed (one thread refreshes, the others use the current one). */
cmk_err cmk_azure_key_info(struct azure_state *st, struct cmk_req *rq,
                           struct az_key_info *out) CMK_WUR;
/* GET key now, and keep the answer. */
cmk_err cmk_azure_fetch_info(struct azure_state *st, struct cmk_req *rq,
                             struct az_key_info *out) CMK_WUR;
/* Forgets the cached info (the vault refused the key). */
void cmk_azure_drop_info(struct azure_state *st);
/* Whether the info allows op now (local checks before a local wrap):
 * CMK_OK or the vault's code (KeyDisabled, KeyExpired, KeyNotYetValid,
 * KeyOperationForbidden) and its cmk_err. */
cmk_err cmk_azure_info_allows(const struct azure_state *st,
                              const struct az_key_info *ki, unsigned kop,
                              const char **code) CMK_WUR;
int64_t cmk_azure_now(const struct azure_state *st);

/* azure_env.c: the envelope payload (azure.c's comment). */
/* The AAD of form 1 for alg and kid, followed by ctx (cmk_context_encode
 * bytes). */
cmk_err cmk_azure_env_aad(enum cmk_azure_alg alg, const char *kid,
                          const struct cmk_buf *ctx,
                          struct cmk_buf *out) CMK_WUR;
/* AES-256-GCM under key with a random IV: out = W-less tail IV | ct |
 * tag appended to out (pre-sized by the caller). */
cmk_err cmk_azure_gcm_seal(const uint8_t key[AZ_SEAL_KEY_LEN],
                           const struct cmk_buf *aad, const uint8_t *pt,
                           size_t pt_len, uint8_t *out) CMK_WUR;
cmk_err cmk_azure_gcm_open(const uint8_t key[AZ_SEAL_KEY_LEN],
                           const struct cmk_buf *aad, const uint8_t *in,
                           size_t in_len, struct cmk_secret *out) CMK_WUR;
/* RSAES-OAEP of k to the info's public key (local wrap): SHA-256 for
 * RSA-OAEP-256, SHA-1 for RSA-OAEP. */
cmk_err cmk_azure_rsa_wrap(const struct az_key_info *ki, enum cmk_azure_alg alg,
                           const uint8_t *k, size_t k_len,
                           struct cmk_buf *out) CMK_WUR;

/* azure_health.c: the ops table's health, health_reason, code_number. */
cmk_err cmk_azure_health(void *st, struct cmk_req *rq) CMK_WUR;
unsigned long cmk_azure_health_reason(const char *code);
unsigned cmk_azure_code_number(const char *code);

#endif /* CMK_PROVIDERS_AZURE_INT_H */
