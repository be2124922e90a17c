/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: internals of the Vault token sources shared by vauth.c (the
 * chain, the cache, renewal), vauth_static.c (token file, VAULT_TOKEN,
 * the helper file), vauth_login.c (AppRole, Kubernetes, cert) and
 * vauth_token.c (one request to an auth route, its answer). Not for use
 * outside src/net.
 */
#ifndef CMK_NET_VAUTH_INT_H
#define CMK_NET_VAUTH_INT_H

#include <stdbool.h>
#include "net/creds_int.h"
#include "net/strbuf.h"
#include "net/vauth.h"
#include "util/lock.h"

struct cmk_vauth {
    struct cmk_cred_cache cache; /* env.arg points back here */
    struct cmk_vauth_env env;
    struct cmk_mutex lock;  /* guards what follows; a leaf */
    struct cmk_creds *last; /* the last login's token, for renew-self */
    bool renewable;         /* last may be renewed */
};

/* vauth_static.c: sources 1-3; CMK_OK with *out NULL when none applies. */
cmk_err cmk_vauth_static(const struct cmk_vauth *va, struct cmk_cred_status *st,
                         struct cmk_creds **out) CMK_WUR;

/* vauth_login.c: sources 4-6; CMK_OK with *out NULL when none is
 * configured. *renewable: the answer's auth.renewable. */
cmk_err cmk_vauth_login(const struct cmk_vauth *va, struct cmk_cred_status *st,
                        struct cmk_creds **out, bool *renewable) CMK_WUR;

/* vauth_token.c. */
/* A POST to path (below /v1/, e.g. "auth/approle/login") with body (NULL:
 * "{}"), token (NULL: none) and client certificate cc (NULL: none).
 * CMK_OK with resp filled when Vault answered 200; otherwise st says
 * why: the login's errors ("LoginRefused", 400/403; "VaultSealed",
 * "AuthEndpointError") or the transport's. */
cmk_err cmk_vauth_post(const struct cmk_vauth *va, const char *path,
                       const struct cmk_sb *body, const char *token,
                       const struct cmk_http_client_cert *cc,
                       struct cmk_cred_status *st,
                       struct cmk_http_resp *resp) CMK_WUR;
/* A login or renew-self answer {auth: {client_token, lease_duration,
 * renewable}}: the token lifted into guarded memory (blanked in the body
 * first), expiring at now + lease_duration (0: never). */
cmk_err cmk_vauth_parse_auth(struct cmk_http_resp *r, const char *source,
                             int64_t now, struct cmk_creds **out,
                             bool *renewable) CMK_WUR;

#endif /* CMK_NET_VAUTH_INT_H */
