/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: Google OAuth 2.0 access tokens for the gcp provider, in the order
 * of Application Default Credentials (kms-protocols.md 2.3):
 *   1. a credential file: the tenant's gcp.credentials_file, else
 *      GOOGLE_APPLICATION_CREDENTIALS, else gcloud's well-known file
 *      ($CLOUDSDK_CONFIG, else $HOME/.config/gcloud, then
 *      /application_default_credentials.json) when it exists. Each is
 *      trusted as a key (owner-only, not a symlink); a file that is
 *      there but unsafe, unreadable or malformed is refused, never
 *      skipped. By its "type":
 *      - "service_account": an RS256 JWT assertion exchanged at its
 *        token_uri with the jwt-bearer grant (RFC 7523);
 *      - "authorized_user": its refresh token exchanged at token_uri
 *        (default https://oauth2.googleapis.com/token) with the
 *        refresh_token grant (RFC 6749 6);
 *      - "external_account" (workload identity federation): a subject
 *        token from a file or a URL exchanged at token_url (STS, RFC
 *        8693), then, with service_account_impersonation_url, for a
 *        service account's token (IAM Credentials generateAccessToken);
 *        executable and AWS sources are refused;
 *      other types are refused;
 *   2. the metadata server (GCE_METADATA_HOST, else 169.254.169.254),
 *      header Metadata-Flavor: Google sent and required in the answer.
 * A token is held as a struct cmk_creds (net/creds.h) so that the
 * AWS side's cache (creds_cache.c: refresh ahead by one thread, others
 * keep the current token) serves it unchanged: access_key_id is the
 * fixed, non-secret "oauth2" and secret_access_key the bearer token, in
 * guarded memory. Private keys, client secrets, refresh tokens, subject
 * tokens and tokens live in guarded memory and wiped buffers and are
 * never logged. Thread safety: as net/creds.h.
 */
#ifndef CMK_NET_GAUTH_H
#define CMK_NET_GAUTH_H

#include "net/creds.h"

#define CMK_GAUTH_SCOPE "https://www.googleapis.com/auth/cloudkms"
/* Asked of STS and IAM Credentials, which know no narrower scope. */
#define CMK_GAUTH_PLATFORM_SCOPE                                               \
    "https://www.googleapis.com/auth/cloud-platform"
#define CMK_GAUTH_TOKEN_URI "https://oauth2.googleapis.com/token"
#define CMK_GAUTH_MD_HOST "169.254.169.254"
#define CMK_GAUTH_FILE_MAX 16384u /* a key file is about 2.3 KiB */
#define CMK_GAUTH_JWT_LIFE_S 3600 /* exp - iat, Google's maximum */

/* The tenant's settings (its "gcp" object), given to the cache as
 * cmk_cred_env.arg (NULL: none). */
struct cmk_gauth_cfg {
    char *credentials_file; /* absolute path of a credential file; NULL:
                             * GOOGLE_APPLICATION_CREDENTIALS and on */
};

/* The resolver to set as cmk_cred_cache.resolve: walks the sources above.
 * CMK_E_ACCESS_DENIED with code "NoCredentials" when none applies. */
cmk_err cmk_gauth_resolve(const struct cmk_cred_env *env,
                          struct cmk_cred_status *st,
                          struct cmk_creds **out) CMK_WUR;

/* gauth_token.c. The bearer token of a token from cmk_gauth_resolve. */
const char *cmk_gauth_bearer(const struct cmk_creds *tok);

/* The metadata server (gauth_md.c); the credential files' sources are
 * internal (net/gauth_int.h). */
cmk_err cmk_gauth_from_metadata(const struct cmk_cred_env *env,
                                struct cmk_cred_status *st,
                                struct cmk_creds **out) CMK_WUR;

/* A token endpoint's 200 answer ({"access_token", "expires_in",
 * "token_type": "Bearer"}) to a token expiring at now + expires_in; the
 * token is lifted into guarded memory and blanked in the body first.
 * CMK_E_BAD_RESPONSE when malformed. */
cmk_err cmk_gauth_parse_token(struct cmk_http_resp *r, const char *source,
                              int64_t now, struct cmk_creds **out) CMK_WUR;

/* The signed JWT assertion (RFC 7523 2.1) of a service account: header
 * {"alg":"RS256","typ":"JWT","kid":kid}, claims iss, scope, aud, iat,
 * exp = iat + CMK_GAUTH_JWT_LIFE_S; *out in guarded memory
 * (cmk_secret_free). Errors as cmk_rs256_sign. */
struct cmk_gauth_jwt {
    const char *kid; /* private_key_id */
    const char *iss; /* client_email */
    const char *aud; /* token_uri */
    const char *scope;
    int64_t iat;
};
cmk_err cmk_gauth_jwt(const struct cmk_gauth_jwt *j, const char *pem,
                      size_t pem_len, struct cmk_secret *out) CMK_WUR;

#endif /* CMK_NET_GAUTH_H */
