/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: what the Entra ID token sources (azauth_*.c) share: the settings
 * every source reads (client id, tenant, authority host), the token
 * endpoint's exchange, and the parsers apart from the exchanges so that
 * they can be given a buffer (tests/fuzz). Not for use outside src/net.
 * Refusals set st->code (and st->detail, naming the source, for a problem
 * with the credentials); nothing here logs, and no secret reaches st.
 */
#ifndef CMK_NET_AZAUTH_INT_H
#define CMK_NET_AZAUTH_INT_H

#include <stdbool.h>
#include "mech/rs256.h"
#include "net/azauth.h"
#include "net/strbuf.h"

/* access_key_id of every token (struct cmk_creds): not secret. */
#define CMK_AZAUTH_ID "bearer"
/* Entra ID tokens live 60 to 90 minutes; longer is capped to this. */
#define CMK_AZAUTH_TOKEN_LIFE_MAX 86400
#define CMK_AZAUTH_SECRET_MAX 4096u       /* a client secret file */
#define CMK_AZAUTH_FED_MAX (64u * 1024u)  /* a federated token */
#define CMK_AZAUTH_CERT_MAX (64u * 1024u) /* certificate + key PEM */
#define CMK_AZAUTH_JWT_LIFE_S 600         /* exp - nbf of assertions */
#define CMK_AZAUTH_SRC_SECRET "azure-client-secret"
#define CMK_AZAUTH_SRC_CERT "azure-client-certificate"
#define CMK_AZAUTH_SRC_WI "azure-workload-identity"
#define CMK_AZAUTH_SRC_APP "azure-app-service"
#define CMK_AZAUTH_SRC_IMDS "azure-imds"
#define CMK_AZAUTH_JWT_BEARER                                                  \
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* ---- azauth_env.c: the settings the sources share ---- */

/* The ask's config, never NULL (an empty one when the pool has none). */
const struct cmk_azauth_cfg *cmk_azauth_cfg_of(const struct cmk_azauth_ask *a);
/* azure.client_id, else AZURE_CLIENT_ID; NULL when neither is set. */
const char *cmk_azauth_client_id(const struct cmk_cred_env *env);
/* The tenant asked for: the ask's (the pool put the configured one there),
 * else azure.tenant_id, else AZURE_TENANT_ID; NULL when none. */
const char *cmk_azauth_tenant_of(const struct cmk_cred_env *env);
/* A tenant id holds only [A-Za-z0-9.-], 1..127 of them (it becomes a
 * path segment of the token URL). */
bool cmk_azauth_tenant_ok(const char *t);
/* client id and tenant of the client-credential sources, checked; a
 * refusal (CMK_E_CONFIG "AzureClientId" / "AzureTenant") names the
 * source (what) and what is missing. */
cmk_err cmk_azauth_who(const struct cmk_cred_env *env, const char *what,
                       struct cmk_cred_status *st, const char **client_id,
                       const char **tenant) CMK_WUR;
/* <authority host>/<tenant>/oauth2/v2.0/token (heap, *out), the host
 * azure.authority_host, else AZURE_AUTHORITY_HOST, else
 * CMK_AZAUTH_AUTHORITY; https or loopback http only (CMK_E_CONFIG
 * "AzureAuthorityHost"). */
cmk_err cmk_azauth_token_url(const struct cmk_cred_env *env, const char *tenant,
                             struct cmk_cred_status *st, char **out) CMK_WUR;

/* ---- azauth_token.c: the token endpoint and its answers ---- */

/* A client-credentials grant (kms-protocols.md 3.2). */
struct cmk_azauth_grant {
    const char *url;       /* from cmk_azauth_token_url */
    const char *client_id; /* checked */
    const char *source;    /* CMK_AZAUTH_SRC_*: cmk_creds source, detail */
    struct cmk_sb form;    /* the client's proof: "client_secret=.." or the
                            * assertion members (secret; wiped) */
};
/* Adds client_id, scope "<resource>/.default" and grant_type to g->form,
 * POSTs it and reads the token (cmk_azauth_parse_token). A refusal:
 * st->code is Entra's OAuth "error" (invalid_client, unauthorized_client,
 * ...; "AzureTokenRefused" without one), CMK_E_THROTTLED for 429,
 * CMK_E_KMS_INTERNAL for 5xx (after the retries of cmk_creds_fetch),
 * CMK_E_ACCESS_DENIED otherwise with st->detail naming the source and
 * the AADSTS number of "error_codes". A malformed 200: CMK_E_BAD_RESPONSE
 * "AzureTokenMalformed". */
cmk_err cmk_azauth_grant(const struct cmk_cred_env *env,
                         struct cmk_azauth_grant *g, struct cmk_cred_status *st,
                         struct cmk_creds **out) CMK_WUR;
/* A 200 answer of the token endpoint, IMDS or App Service to a token:
 * access_token (lifted into guarded memory and blanked in the body before
 * jansson parses the rest), token_type Bearer, expires_in (a number or a
 * string of digits, as IMDS sends it), else expires_on (Unix seconds,
 * either form, as App Service sends it); the life is capped at
 * CMK_AZAUTH_TOKEN_LIFE_MAX. CMK_E_BAD_RESPONSE when malformed. */
cmk_err cmk_azauth_parse_token(struct cmk_http_resp *r, const char *source,
                               int64_t now, struct cmk_creds **out) CMK_WUR;
/* The AADSTS number of a refusal's "error_codes" (its first), 0 when
 * there is none. */
long cmk_azauth_aadsts(const char *body, size_t len);

/* ---- the sources: CMK_OK with *out, or a refusal ---- */

/* azauth_secret.c: the secret from path (azure.client_secret_file) when
 * not NULL, else AZURE_CLIENT_SECRET. */
cmk_err cmk_azauth_secret(const struct cmk_cred_env *env, const char *path,
                          struct cmk_cred_status *st,
                          struct cmk_creds **out) CMK_WUR;

/* azauth_cert.c: a certificate file (PEM, certificate and private key). */
struct cmk_azauth_cert {
    char x5t[32];      /* base64url of the SHA-1 thumbprint */
    char x5t_s256[48]; /* base64url of the SHA-256 thumbprint */
};
/* The certificate's thumbprints of text[0..len) (which must hold a
 * CERTIFICATE and a PRIVATE KEY block); CMK_E_CONFIG when not. */
cmk_err cmk_azauth_cert_parse(const char *text, size_t len,
                              struct cmk_azauth_cert *c) CMK_WUR;
cmk_err cmk_azauth_cert(const struct cmk_cred_env *env, const char *path,
                        enum cmk_azauth_alg alg, struct cmk_cred_status *st,
                        struct cmk_creds **out) CMK_WUR;

/* azauth_jwt.c: the client assertion of a certificate (RFC 7523 2.2):
 * header alg, typ, x5t#S256 (and x5t with RS256), claims aud, iss, sub,
 * jti, nbf, iat, exp = now + CMK_AZAUTH_JWT_LIFE_S; *out in guarded
 * memory. Errors as cmk_rs256_sign. */
struct cmk_azauth_jwt {
    enum cmk_azauth_alg alg;
    const struct cmk_azauth_cert *cert;
    const char *client_id;
    const char *aud; /* the token URL */
    int64_t now;
};
cmk_err cmk_azauth_jwt(const struct cmk_azauth_jwt *j, const char *pem,
                       size_t pem_len, struct cmk_secret *out) CMK_WUR;

/* azauth_wi.c: workload identity, AZURE_FEDERATED_TOKEN_FILE at path. */
cmk_err cmk_azauth_wi(const struct cmk_cred_env *env, const char *path,
                      struct cmk_cred_status *st,
                      struct cmk_creds **out) CMK_WUR;
/* The token of a federated token file's text[0..len) (writable): white
 * space trimmed; CMK_E_CONFIG when empty or holding a line break. */
cmk_err cmk_azauth_wi_token(char *text, size_t len,
                            struct cmk_secret *tok) CMK_WUR;

/* azauth_mi.c: managed identity, App Service when IDENTITY_ENDPOINT and
 * IDENTITY_HEADER are set, else IMDS; the user-assigned identity of
 * azure.managed_identity. */
cmk_err cmk_azauth_mi(const struct cmk_cred_env *env,
                      struct cmk_cred_status *st,
                      struct cmk_creds **out) CMK_WUR;

#endif /* CMK_NET_AZAUTH_INT_H */
