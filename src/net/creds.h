/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: AWS credentials and where they come from, in the order the AWS
 * SDKs use (botocore's default chain), with the tenant's configuration
 * first:
 *   1. the tenant's aws.credentials_file (static keys by reference);
 *   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 *      (skipped when the tenant names a profile, as botocore does for an
 *      explicit profile);
 *   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE (or the profile's
 *      web_identity_token_file) with the role from aws.role_arn,
 *      AWS_ROLE_ARN or the profile, through STS AssumeRoleWithWebIdentity;
 *   4. the shared credentials file, then the config file, profile from
 *      aws.profile, AWS_PROFILE or "default";
 *   5. the container endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      _FULL_URI, token from AWS_CONTAINER_AUTHORIZATION_TOKEN or
 *      _TOKEN_FILE);
 *   6. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED).
 * Secrets live in libsodium guarded memory and never reach a log, an
 * audit record or an error message. Environment variables are read with
 * secure_getenv.
 * Thread safety: a cmk_creds is immutable and reference-counted; the
 * cache hands out references under a short lock and refreshes with one
 * thread while the others keep using the current credentials.
 */
#ifndef CMK_NET_CREDS_H
#define CMK_NET_CREDS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "net/http.h"
#include "util/err.h"
#include "util/lock.h"

/* Refresh temporary credentials this long before they expire. */
#define CMK_CREDS_REFRESH_AHEAD_S 300
/* Below this much remaining life credentials are not used at all. */
#define CMK_CREDS_MIN_LIFE_S 30

/* One set of credentials as the cache (creds_cache.c) holds it. The
 * fields carry AWS's names; a Google OAuth token (net/gauth.h) uses the
 * same shape: access_key_id the fixed "oauth2", secret_access_key the
 * bearer token, no session_token. */
struct cmk_creds {
    atomic_int refs;
    const char *access_key_id; /* these three point into mem */
    const char *secret_access_key;
    const char *session_token; /* NULL for long-term keys */
    int64_t expires;           /* Unix time; 0 = does not expire */
    const char *source;        /* "static", "env", ... (not secret) */
    void *mem;                 /* sodium_malloc */
    size_t mem_len;
};

/* The tenant's settings of the chain (its "aws" object, parsed by
 * providers/aws_cfg.c). Secrets are never inline: static credentials
 * come by reference (credentials_file). */
struct cmk_cred_cfg {
    char *profile;          /* shared-file profile; NULL: AWS_PROFILE or
                             * "default" */
    char *credentials_file; /* absolute path of a JSON file (mode 0600):
                             * {"access_key_id": .., "secret_access_key":
                             * .., "session_token": ..(optional)}; NULL:
                             * the standard credential chain */
    char *sts_endpoint;     /* STS URL for web identity; NULL:
                             * https://sts.<region>.amazonaws.com */
    char *imds_endpoint;    /* IMDS base URL; NULL: the environment's
                             * AWS_EC2_METADATA_SERVICE_ENDPOINT, else
                             * http://169.254.169.254 */
    char *role_arn;         /* role for web identity; NULL: AWS_ROLE_ARN
                             * or the profile's role_arn */
};

/* Everything a credential source may read. Tests replace getenv and the
 * fixed link-local addresses. */
struct cmk_cred_env {
    struct cmk_http *http;
    const struct cmk_cred_cfg *cfg;          /* may be NULL */
    const char *region;                      /* for the default STS endpoint */
    const char *(*getenv)(const char *name); /* NULL: secure_getenv */
    const char *container_host;              /* NULL: "http://169.254.170.2" */
    int64_t (*now)(void);                    /* Unix time; NULL: time() */
    /* Unused by the AWS chain: the settings of another resolver given to
     * the cache (cmk_cred_cache.resolve; gcp: net/gauth.h). */
    const void *arg;
};

/* What the last resolution said, for rq->provider_code (never secret). */
struct cmk_cred_status {
    char code[64]; /* e.g. "NoCredentials", "InvalidIdentityToken" */
    long http_status;
    /* For a problem with the credentials themselves (a file, a profile;
     * not an endpoint): what it is, naming the file or profile, said
     * once by the chain (creds_say.c); "" otherwise. Never secret. */
    char detail[512];
};

/* One source: CMK_OK with *out set, CMK_OK with *out NULL when the source
 * is not configured here (the chain goes on), or an error (the chain
 * stops: the source was chosen but failed). */
typedef cmk_err (*cmk_cred_source_fn)(const struct cmk_cred_env *env,
                                      struct cmk_cred_status *st,
                                      struct cmk_creds **out);

cmk_err cmk_creds_new(const char *akid, const char *secret, const char *token,
                      int64_t expires, const char *source,
                      struct cmk_creds **out) CMK_WUR;
struct cmk_creds *cmk_creds_ref(struct cmk_creds *c);
void cmk_creds_unref(struct cmk_creds *c);

/* The sources, in chain order. */
cmk_err cmk_creds_from_file(const struct cmk_cred_env *env,
                            struct cmk_cred_status *st,
                            struct cmk_creds **out) CMK_WUR;
cmk_err cmk_creds_from_env(const struct cmk_cred_env *env,
                           struct cmk_cred_status *st,
                           struct cmk_creds **out) CMK_WUR;
cmk_err cmk_creds_from_web_identity(const struct cmk_cred_env *env,
                                    struct cmk_cred_status *st,
                                    struct cmk_creds **out) CMK_WUR;
cmk_err cmk_creds_from_profile(const struct cmk_cred_env *env,
                               struct cmk_cred_status *st,
                               struct cmk_creds **out) CMK_WUR;
cmk_err cmk_creds_from_container(const struct cmk_cred_env *env,
                                 struct cmk_cred_status *st,
                                 struct cmk_creds **out) CMK_WUR;
cmk_err cmk_creds_from_imds(const struct cmk_cred_env *env,
                            struct cmk_cred_status *st,
                            struct cmk_creds **out) CMK_WUR;

/* Walks the chain (creds_chain.c). CMK_E_ACCESS_DENIED with code
 * "NoCredentials" when no source is configured. A failure with a detail
 * is said on stderr and syslog, once per distinct message. */
cmk_err cmk_creds_resolve(const struct cmk_cred_env *env,
                          struct cmk_cred_status *st,
                          struct cmk_creds **out) CMK_WUR;

/* creds_say.c. The service rejected cred (code: its error, e.g.
 * "InvalidSignatureException") after the repairs the caller makes: said
 * once, naming where the credentials came from (a file, a profile, the
 * environment), never a key id or secret. */
void cmk_creds_say_rejected(const struct cmk_cred_env *env,
                            const struct cmk_creds *cred, const char *code);

/* Helpers shared by the sources (creds.c). */
const char *cmk_creds_getenv(const struct cmk_cred_env *env, const char *name);
int64_t cmk_creds_now(const struct cmk_cred_env *env);
/* "2024-05-01T12:00:00Z" (fraction and +00:00 accepted) to Unix time. */
cmk_err cmk_creds_parse_time(const char *s, int64_t *out) CMK_WUR;
/* The profile name in use: cfg->profile, AWS_PROFILE, "default". */
const char *cmk_creds_profile(const struct cmk_cred_env *env);
/* A non-secret setting of the profile in use from the shared config
 * file (e.g. "role_arn"): a heap copy in *out, NULL when absent. */
cmk_err cmk_creds_config_value(const struct cmk_cred_env *env, const char *key,
                               char **out) CMK_WUR;
/* Reads a small file (at most max bytes) into guarded memory,
 * NUL-terminated. private_only refuses group/other access and symlinks.
 * On failure why (when why_len > 0) says "PATH: problem" (util/trust.h);
 * CMK_E_KEY_NOT_FOUND when the file does not exist. */
cmk_err cmk_creds_read_file(const char *path, size_t max, bool private_only,
                            char **out, size_t *len, char *why,
                            size_t why_len) CMK_WUR;
void cmk_creds_free_file(char *p);

/* The cache: current credentials and their refresh. lock (a cmk_mutex)
 * guards the fields below it and is never held during a refresh's I/O;
 * cond wakes the callers that wait for a refresh. */
struct cmk_cred_cache {
    struct cmk_mutex lock;
    struct cmk_cond cond;
    struct cmk_creds *cur;
    bool refreshing;
    cmk_err last_err; /* of the last failed refresh */
    struct cmk_cred_status last_st;
    int64_t last_fail; /* Unix time of it; 0 = none */
    struct cmk_cred_env env;
    cmk_cred_source_fn resolve; /* cmk_creds_resolve unless a test sets it */
};

cmk_err cmk_cred_cache_init(struct cmk_cred_cache *c,
                            const struct cmk_cred_env *env) CMK_WUR;
void cmk_cred_cache_fini(struct cmk_cred_cache *c);
/* A reference to usable credentials, refreshing them when they are due. */
cmk_err cmk_cred_cache_get(struct cmk_cred_cache *c, struct cmk_cred_status *st,
                           struct cmk_creds **out) CMK_WUR;
/* The service refused cred (expired or unknown token): forget it so the
 * next get resolves again. No effect if cred is no longer current. */
void cmk_cred_cache_drop(struct cmk_cred_cache *c,
                         const struct cmk_creds *cred);

#endif /* CMK_NET_CREDS_H */
