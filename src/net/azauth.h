/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: Microsoft Entra ID access tokens for the azure provider
 * (kms-protocols.md 3.2). A vault names the tenant and the resource in its
 * 401 challenge; the provider asks this pool for a token of scope
 * "<resource>/.default" in that tenant. The pool keeps one token cache
 * (net/creds.h: refresh ahead by one thread, the others keep the current
 * token) per (tenant, resource), at most CMK_AZAUTH_CACHES of them.
 *
 * Sources, the tenant's "azure" settings first, then the environment as
 * Azure's DefaultAzureCredential reads it:
 *   1. client credentials with a client secret read from
 *      azure.client_secret_file (owner-only, no symlink), or
 *      AZURE_CLIENT_SECRET;
 *   2. client credentials with a certificate: azure.client_certificate_file
 *      or AZURE_CLIENT_CERTIFICATE_PATH (PEM: the certificate and its
 *      private key, owner-only), a JWT client assertion signed PS256
 *      (default) or RS256 with header x5t#S256, claims aud = the token
 *      endpoint, iss = sub = client id, jti, nbf, exp; the private key in
 *      guarded memory;
 *   3. workload identity: AZURE_FEDERATED_TOKEN_FILE read at every
 *      refresh and sent as the client assertion (AZURE_CLIENT_ID,
 *      AZURE_TENANT_ID);
 *   4. managed identity: azure.managed_identity, or, with nothing above
 *      configured, IDENTITY_ENDPOINT + IDENTITY_HEADER unless the tenant
 *      names azure.imds_endpoint (App Service,
 *      api-version 2019-08-01, header X-IDENTITY-HEADER), else IMDS
 *      (GET /metadata/identity/oauth2/token, api-version 2018-02-01,
 *      header Metadata: true, never through a proxy; a user-assigned
 *      identity by client_id, object_id or msi_res_id).
 * Client credentials and workload identity POST to
 * <authority host>/<tenant>/oauth2/v2.0/token. The tenant is the
 * configured one (azure.tenant_id, else AZURE_TENANT_ID) and must equal
 * the challenge's when both are known; the authority host is never taken
 * from a challenge. Secrets (client secrets, private keys, assertions,
 * federated tokens, access tokens) live in guarded memory and wiped
 * buffers and never reach a log, st->detail or an audit record.
 * Thread safety: as net/creds.h; the pool's table has its own lock.
 */
#ifndef CMK_NET_AZAUTH_H
#define CMK_NET_AZAUTH_H

#include <stdbool.h>
#include "net/creds.h"

#define CMK_AZAUTH_AUTHORITY "https://login.microsoftonline.com"
#define CMK_AZAUTH_IMDS "http://169.254.169.254"
#define CMK_AZAUTH_CACHES 8u
#define CMK_AZAUTH_TENANT_MAX 128u
#define CMK_AZAUTH_RESOURCE_MAX 256u

enum cmk_azauth_mi {
    CMK_AZAUTH_MI_NONE = 0, /* no "managed_identity" in the config */
    CMK_AZAUTH_MI_SYSTEM,   /* "managed_identity": {} */
    CMK_AZAUTH_MI_CLIENT_ID,
    CMK_AZAUTH_MI_OBJECT_ID,
    CMK_AZAUTH_MI_RESOURCE_ID,
};

enum cmk_azauth_alg { CMK_AZAUTH_PS256 = 0, CMK_AZAUTH_RS256 };

/* The tenant's "azure" settings that are about tokens (parsed by
 * providers/azure_cfg.c); every member may be NULL / zero. */
struct cmk_azauth_cfg {
    char *tenant_id;
    char *client_id;
    char *client_secret_file;      /* absolute path */
    char *client_certificate_file; /* absolute path */
    enum cmk_azauth_alg certificate_alg;
    enum cmk_azauth_mi mi;
    char *mi_id;          /* the client id, object id or resource id */
    char *authority_host; /* NULL: AZURE_AUTHORITY_HOST, else
                           * CMK_AZAUTH_AUTHORITY */
    char *imds_endpoint;  /* NULL: AZURE_POD_IDENTITY_AUTHORITY_HOST, else
                           * CMK_AZAUTH_IMDS */
};

/* What one cache asks for, given to its resolver as cmk_cred_env.arg. */
struct cmk_azauth_ask {
    const struct cmk_azauth_cfg *cfg; /* may be NULL */
    char tenant[CMK_AZAUTH_TENANT_MAX];
    char resource[CMK_AZAUTH_RESOURCE_MAX]; /* "https://vault.azure.net" */
};

struct cmk_azauth;

/* A pool over env (http, getenv, now are used; env->arg is ignored) and
 * cfg (borrowed; may be NULL), which must outlive it. */
cmk_err cmk_azauth_new(const struct cmk_cred_env *env,
                       const struct cmk_azauth_cfg *cfg,
                       struct cmk_azauth **out) CMK_WUR;
void cmk_azauth_free(struct cmk_azauth *a);
/* Tests: the resolver of the caches made from now on (NULL: the sources
 * above, cmk_azauth_resolve). */
void cmk_azauth_set_resolver(struct cmk_azauth *a, cmk_cred_source_fn fn);
/* A token for resource in tenant (as a vault's challenge named them; tenant
 * "" when unknown). CMK_E_ACCESS_DENIED "TenantMismatch" when the
 * configured tenant is another; "TooManyTenants" beyond CMK_AZAUTH_CACHES;
 * otherwise as the source. */
cmk_err cmk_azauth_get(struct cmk_azauth *a, const char *tenant,
                       const char *resource, struct cmk_cred_status *st,
                       struct cmk_creds **out) CMK_WUR;
/* The vault refused tok (401): forget it, the next get fetches another. */
void cmk_azauth_drop(struct cmk_azauth *a, const char *tenant,
                     const char *resource, const struct cmk_creds *tok);
/* The bearer token of a token from the pool. */
const char *cmk_azauth_bearer(const struct cmk_creds *tok);
/* The tenant the pool asks for when the challenge named ch_tenant: the
 * configured one, else ch_tenant. */
const char *cmk_azauth_tenant(const struct cmk_azauth *a,
                              const char *ch_tenant);

/* The token sources above (azauth_chain.c): the default resolver; env->arg
 * is a struct cmk_azauth_ask. CMK_E_ACCESS_DENIED "NoCredentials" when
 * none applies. */
cmk_err cmk_azauth_resolve(const struct cmk_cred_env *env,
                           struct cmk_cred_status *st,
                           struct cmk_creds **out) CMK_WUR;

#endif /* CMK_NET_AZAUTH_H */
