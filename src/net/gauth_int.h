/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: what the Google token sources (gauth*.c) share: the credential
 * file as read, each type's settings, the token endpoints' exchange and
 * the parsers apart from the exchanges so that they can be given a
 * buffer (tests/fuzz). Not for use outside src/net. Refusals set st->code
 * (and st->detail for a problem with the file itself, naming the file and
 * the field); nothing here logs, and no secret reaches st.
 */
#ifndef CMK_NET_GAUTH_INT_H
#define CMK_NET_GAUTH_INT_H

#include <jansson.h>
#include <stdbool.h>
#include "net/gauth.h"
#include "net/strbuf.h"

/* access_key_id of every token (struct cmk_creds): not secret. */
#define CMK_GAUTH_ID "oauth2"
/* Longer than any Google access token lives, clock skew included. */
#define CMK_GAUTH_TOKEN_LIFE_MAX 86400

/* ---- gauth_file.c: a credential file, read once ---- */

/* The file's secret members are lifted into guarded memory before
 * jansson parses the rest (root); each is empty when absent. type points
 * into root. */
struct cmk_gauth_file {
    json_t *root;
    const char *type;                /* "service_account", "authorized_user",
                                      * "external_account" */
    struct cmk_secret private_key;   /* service_account */
    struct cmk_secret client_secret; /* authorized_user */
    struct cmk_secret refresh_token; /* authorized_user */
};

/* Reads path (owner-only, no symlink, at most CMK_GAUTH_FILE_MAX bytes)
 * into guarded memory and parses it. With optional, a file that does not
 * exist gives CMK_OK with f->root NULL and st untouched; otherwise
 * CMK_E_CONFIG "GcpCredentialFile". A type other than the three above is
 * CMK_E_CONFIG "UnsupportedCredentialType". f is zeroed first. */
cmk_err cmk_gauth_file_read(const char *path, bool optional,
                            struct cmk_cred_status *st,
                            struct cmk_gauth_file *f) CMK_WUR;
/* The parse alone: text[0..len) (writable: the secrets are overwritten
 * in it) named path in messages. */
cmk_err cmk_gauth_file_parse(char *text, size_t len, const char *path,
                             struct cmk_cred_status *st,
                             struct cmk_gauth_file *f) CMK_WUR;
void cmk_gauth_file_free(struct cmk_gauth_file *f);
/* Member key of the file as a non-empty string, or NULL. */
const char *cmk_gauth_file_str(const struct cmk_gauth_file *f, const char *key);

/* ---- gauth_token.c: a token endpoint's exchange ---- */

struct cmk_gauth_grant {
    const char *url;           /* token endpoint (checked by the caller) */
    const struct cmk_sb *form; /* x-www-form-urlencoded body (secret) */
    const char *source;        /* cmk_creds source: "gcp-authorized-user" */
    const char *issued_type;   /* RFC 8693 issued_token_type the answer
                                * must carry; NULL: not checked */
    const char *what;          /* names the file in st->detail */
};

/* POSTs the form and reads the token (cmk_gauth_parse_token). An
 * answer other than 200: st->code is the OAuth "error" member (RFC 6749
 * 5.2, e.g. "invalid_grant", cut to the characters a code may hold),
 * else "GcpTokenRefused"; CMK_E_THROTTLED for 429, CMK_E_KMS_INTERNAL
 * for 5xx (after the retries of cmk_creds_fetch), CMK_E_ACCESS_DENIED
 * otherwise, with st->detail naming what. A malformed 200:
 * CMK_E_BAD_RESPONSE "GcpTokenMalformed". */
cmk_err cmk_gauth_grant(const struct cmk_cred_env *env,
                        const struct cmk_gauth_grant *g,
                        struct cmk_cred_status *st,
                        struct cmk_creds **out) CMK_WUR;
/* The code of a refusal's body (see cmk_gauth_grant) into code[n]. */
void cmk_gauth_oauth_error(const char *body, size_t len, char *code, size_t n);
/* The same with dflt when the body has no usable "error" (also the
 * Entra ID sources, net/azauth). */
void cmk_oauth_error(const char *body, size_t len, const char *dflt, char *code,
                     size_t n);
/* What a token endpoint's refusal of status is: CMK_E_THROTTLED for
 * 429, CMK_E_KMS_INTERNAL for 5xx, CMK_E_ACCESS_DENIED otherwise. */
cmk_err cmk_oauth_status_err(long status) CMK_WUR;
/* The common part of the token answers (also net/azauth's): the
 * non-empty string access_token of the JSON object in r's body lifted
 * into *tok (guarded memory) and blanked in the body, then the rest
 * parsed into *root (decref). CMK_E_BAD_RESPONSE when either fails. */
cmk_err cmk_gauth_take_token(struct cmk_http_resp *r, struct cmk_secret *tok,
                             json_t **root) CMK_WUR;
/* As cmk_gauth_parse_token, the answer also required to carry
 * "issued_token_type": issued (when not NULL). */
cmk_err cmk_gauth_parse_issued(struct cmk_http_resp *r, const char *source,
                               const char *issued, int64_t now,
                               struct cmk_creds **out) CMK_WUR;
/* Appends "&name=value" (no '&' when sb is empty), value percent-encoded
 * (RFC 3986 unreserved characters kept). */
void cmk_gauth_form_add(struct cmk_sb *sb, const char *name, const char *value,
                        size_t len);

/* ---- gauth_jwt.c: JWS compact form (also net/azauth's assertions) ---- */

/* Appends base64url without padding (RFC 7515 2) of p[0..n). */
void cmk_gauth_jwt_b64url(struct cmk_sb *sb, const void *p, size_t n);
/* Appends the signing input base64url(header) "." base64url(claims) to
 * out and frees (wipes) header and claims, either way. */
cmk_err cmk_gauth_jws_input(struct cmk_sb *out, struct cmk_sb *header,
                            struct cmk_sb *claims) CMK_WUR;
/* A signer of mech/rs256.h. */
typedef cmk_err (*cmk_gauth_sign_fn)(const char *pem, size_t pem_len,
                                     const void *msg, size_t n,
                                     struct cmk_buf *sig);
/* Signs the signing input "header.claims" in sb with sign under pem,
 * appends ".signature" and copies the JWS into *out (guarded memory,
 * NUL-terminated, len without the NUL). sb stays the caller's to free. */
cmk_err cmk_gauth_jws_seal(struct cmk_sb *sb, cmk_gauth_sign_fn sign,
                           const char *pem, size_t pem_len,
                           struct cmk_secret *out) CMK_WUR;

/* ---- gauth_sa.c, gauth_user.c: the key file types ---- */

cmk_err cmk_gauth_sa(const struct cmk_cred_env *env,
                     const struct cmk_gauth_file *f, const char *path,
                     struct cmk_cred_status *st,
                     struct cmk_creds **out) CMK_WUR;

/* authorized_user: client_id, client_secret, refresh_token, token_uri
 * (default CMK_GAUTH_TOKEN_URI), borrowed from f. */
struct cmk_gauth_user {
    const char *client_id;
    const struct cmk_secret *client_secret;
    const struct cmk_secret *refresh_token;
    const char *token_uri;
};
cmk_err cmk_gauth_user_fields(const struct cmk_gauth_file *f, const char *path,
                              struct cmk_cred_status *st,
                              struct cmk_gauth_user *u) CMK_WUR;
cmk_err cmk_gauth_user(const struct cmk_cred_env *env,
                       const struct cmk_gauth_file *f, const char *path,
                       struct cmk_cred_status *st,
                       struct cmk_creds **out) CMK_WUR;

/* ---- gauth_ext.c, gauth_ext_src.c, gauth_imp.c: external_account ---- */

#define CMK_GAUTH_SUBJECT_MAX (64u * 1024u)
#define CMK_GAUTH_IMP_LIFE_DEFAULT 3600
#define CMK_GAUTH_IMP_LIFE_MIN 600
#define CMK_GAUTH_IMP_LIFE_MAX 43200

enum cmk_gauth_src { CMK_GAUTH_SRC_FILE, CMK_GAUTH_SRC_URL };

/* The settings of an external_account file, borrowed from its root. */
struct cmk_gauth_ext {
    const char *audience;
    const char *subject_token_type;
    const char *token_url;
    const char *imp_url; /* service_account_impersonation_url; NULL: none */
    long lifetime_s;     /* service_account_impersonation.
                          * token_lifetime_seconds */
    enum cmk_gauth_src kind;
    const char *file;  /* credential_source.file */
    const char *url;   /* credential_source.url */
    json_t *headers;   /* credential_source.headers (strings) or NULL */
    const char *field; /* format.subject_token_field_name; NULL: the
                        * format is text */
};
/* CMK_E_CONFIG "GcpCredentialFile" naming the field, or
 * "UnsupportedCredentialSource" for executable and environment_id (AWS)
 * sources. */
cmk_err cmk_gauth_ext_parse(const struct cmk_gauth_file *f, const char *path,
                            struct cmk_cred_status *st,
                            struct cmk_gauth_ext *x) CMK_WUR;
cmk_err cmk_gauth_ext(const struct cmk_cred_env *env,
                      const struct cmk_gauth_file *f, const char *path,
                      struct cmk_cred_status *st,
                      struct cmk_creds **out) CMK_WUR;
/* The subject token from x's source into guarded memory. */
cmk_err cmk_gauth_ext_subject(const struct cmk_cred_env *env,
                              const struct cmk_gauth_ext *x, const char *path,
                              struct cmk_cred_status *st,
                              struct cmk_secret *tok) CMK_WUR;
/* The token in text[0..len) (writable) per x's format: the text without
 * trailing white space, or the string member x->field of a JSON object.
 * CMK_E_BAD_RESPONSE when there is none. */
cmk_err cmk_gauth_ext_token(const struct cmk_gauth_ext *x, char *text,
                            size_t len, struct cmk_secret *tok) CMK_WUR;
/* generateAccessToken with the federated token fed (IAM Credentials). */
cmk_err cmk_gauth_impersonate(const struct cmk_cred_env *env,
                              const struct cmk_gauth_ext *x, const char *path,
                              const struct cmk_creds *fed,
                              struct cmk_cred_status *st,
                              struct cmk_creds **out) CMK_WUR;
/* Its answer: status and body to a token expiring at expireTime, which
 * must lie after now and within CMK_GAUTH_TOKEN_LIFE_MAX; refusals as
 * "Impersonation:<google.rpc status>" (else "ImpersonationRefused"), a
 * malformed 200 "ImpersonationMalformed". The token is blanked in the body. */
cmk_err cmk_gauth_imp_answer(struct cmk_http_resp *r, int64_t now,
                             struct cmk_cred_status *st,
                             struct cmk_creds **out) CMK_WUR;

/* ---- gauth_adc.c: the gcloud well-known file ---- */

/* $CLOUDSDK_CONFIG/application_default_credentials.json, else
 * $HOME/.config/gcloud/application_default_credentials.json: a heap
 * string in *out, NULL when neither variable is set. */
cmk_err cmk_gauth_adc_path(const struct cmk_cred_env *env, char **out) CMK_WUR;

#endif /* CMK_NET_GAUTH_INT_H */
