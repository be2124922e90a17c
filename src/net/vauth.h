/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: HashiCorp Vault / OpenBao tokens for the vault provider
 * (kms-protocols.md 4), from the first source that applies, in order:
 *   1. the tenant's vault.token_file (owner-only, not a symlink);
 *   2. VAULT_TOKEN;
 *   3. the token helper file ~/.vault-token (the Vault CLI's default
 *      helper), when it exists (then trusted as the token file);
 *   4. AppRole: POST /v1/auth/<mount>/login {role_id, secret_id}, both
 *      read from owner-only files;
 *   5. Kubernetes: POST /v1/auth/<mount>/login {role, jwt}, the service
 *      account token read from jwt_file;
 *   6. TLS certificate: POST /v1/auth/<mount>/login {name?} presenting
 *      the client certificate (net/http.h cmk_http_do_cert).
 * A static token (1-3) does not expire. A login token expires at its
 * lease_duration (0: never); the cache (net/creds.h) refreshes it ahead
 * by one thread while the others keep using it: a renewable token is
 * renewed with POST /v1/auth/token/renew-self, a token that is not
 * renewable, or whose renewal is refused, is replaced by a new login.
 * Every request carries X-Vault-Request and the namespace's
 * X-Vault-Namespace. A token is a struct cmk_creds: access_key_id the
 * fixed "vault", secret_access_key the token, in guarded memory. Tokens,
 * secret ids, JWTs and keys are never logged, never in a code or a
 * detail. Thread safety: as net/creds.h.
 */
#ifndef CMK_NET_VAUTH_H
#define CMK_NET_VAUTH_H

#include <stdbool.h>
#include "net/creds.h"

#define CMK_VAUTH_ID "vault"
#define CMK_VAUTH_FILE_MAX 16384u
#define CMK_VAUTH_K8S_JWT "/var/run/secrets/kubernetes.io/serviceaccount/token"

/* The tenant's "vault" settings about tokens (providers/vault_cfg.c);
 * paths are absolute. A login method is configured when its first member
 * is not NULL. */
struct cmk_vauth_cfg {
    char *token_file;
    char *approle_role_id_file; /* approle.role_id_file */
    char *approle_secret_id_file;
    char *approle_mount; /* NULL: "approle" */
    char *k8s_role;      /* kubernetes.role */
    char *k8s_jwt_file;  /* NULL: CMK_VAUTH_K8S_JWT */
    char *k8s_mount;     /* NULL: "kubernetes" */
    char *cert_file;     /* cert.cert_file */
    char *cert_key_file;
    char *cert_mount; /* NULL: "cert" */
    char *cert_name;  /* NULL: any role that trusts the certificate */
};

/* Where tokens come from and go to. */
struct cmk_vauth_env {
    struct cmk_http *http;
    const char *address;             /* https://HOST[:PORT], no final '/' */
    const char *ns;                  /* X-Vault-Namespace; NULL: none */
    const struct cmk_vauth_cfg *cfg; /* may be NULL */
    const char *(*getenv)(const char *name); /* NULL: secure_getenv */
    int64_t (*now)(void);                    /* Unix time; NULL: time() */
};

struct cmk_vauth;

cmk_err cmk_vauth_new(const struct cmk_vauth_env *env,
                      struct cmk_vauth **out) CMK_WUR;
void cmk_vauth_free(struct cmk_vauth *va);
/* A reference to a usable token (cmk_creds_unref). On failure st says
 * why (code: NoCredentials, TokenFileUnsafe, LoginRefused, ...). */
cmk_err cmk_vauth_get(struct cmk_vauth *va, struct cmk_cred_status *st,
                      struct cmk_creds **out) CMK_WUR;
/* Vault refused tok (invalid or expired): the next get logs in again
 * (a static token is read again). */
void cmk_vauth_drop(struct cmk_vauth *va, const struct cmk_creds *tok);
/* The token of a cmk_creds from cmk_vauth_get. */
const char *cmk_vauth_token(const struct cmk_creds *tok);

#endif /* CMK_NET_VAUTH_H */
