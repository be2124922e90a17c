/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: the module configuration, parsed from JSON (jansson) in one go.
 * A config is either fully loaded or refused: cmk_config_load never returns
 * a partial config. Immutable after load; freed at C_Finalize.
 */
#ifndef CMK_CORE_SETTINGS_H
#define CMK_CORE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "audit/audit_cfg.h"
#include "keys/cache_cfg.h"
#include "keys/health_cfg.h"
#include "net/http_cfg.h"
#include "providers/provider.h"
#include "util/err.h"

/* One of a tenant's "key_pairs": a key pair held in the tenant's KMS
 * (providers/asym.h), shown as a private key, a public key and,
 * optionally, a certificate object. */
struct cmk_kp_cfg {
    char *label;     /* CKA_LABEL, 1..64 bytes UTF-8, unique in the tenant */
    uint8_t id[32];  /* CKA_ID, unique in the tenant */
    size_t id_len;   /* 1..32 */
    char *key_ref;   /* the provider's key reference */
    unsigned usage;  /* CMK_ASYM_USE_*; 0: all the KMS key allows */
    char *cert_path; /* PEM certificate, or NULL */
    uint8_t pin[32]; /* SHA-256 of the DER SubjectPublicKeyInfo */
    bool has_pin;
};

/*
 * One tenant (one token). What providers and keys/cmk need of it is in
 * kms (providers/provider.h: label, provider and key references, context,
 * KEK, endpoint, region, the provider's own settings, http options); the
 * rest is core's own.
 */
struct cmk_tenant_cfg {
    struct cmk_kms_cfg kms; /* label 1..32 bytes UTF-8, unique */
    char *pin_verifier;     /* crypto_pwhash_str string; NULL if !login_req */
    bool login_required;    /* default true */
    char *cmk_label;        /* CKA_LABEL of the CMK object; default
                             * "<label>-cmk" */
    uint8_t cmk_id[32];     /* CKA_ID of the CMK object; default 0x01 */
    size_t cmk_id_len;
    char *store_dir;           /* token object store; default
                                * <store_dir>/<label> */
    bool test_mode;            /* allows importing a known KEK (cmk-tool
                                * provision --import-kek) and PIN verifiers
                                * below the minimum Argon2 cost */
    unsigned max_pin_failures; /* consecutive wrong PINs before the user
                                * PIN locks; default 10 (1..1000) */
    /* Minimum time between two key changes of the tenant by cmk-tool
     * (rotate-cmk, rotate-kek, import-key; tool/rotlock.h); default 600,
     * 0 for none, at most a year. */
    unsigned key_change_interval_s;
    /* "key_policy" opt-outs (core/keyrules.h), default false: keys may
     * hold wrap and data roles at once; the CMK may unwrap a key into a
     * readable or freely wrappable one. */
    bool mixed_roles;
    bool unprotected_unwrap;
    /* "key_pairs", in config order (settings_kp.c). */
    struct cmk_kp_cfg *key_pairs;
    size_t n_key_pairs;
};

struct cmk_config {
    char *path;                  /* the file it was read from */
    char *store_dir;             /* global store root */
    struct cmk_audit_cfg audit;  /* "audit" object, defaults when absent */
    struct cmk_cache_opts cache; /* "cache" object, defaults when absent */
    struct cmk_http_cfg http;    /* "http" object, defaults when absent */
    /* "health" object (circuit breaker), defaults when absent */
    struct cmk_health_opts health;
    struct cmk_tenant_cfg *tenants;
    size_t n_tenants;
};

/*
 * Where the config comes from, in order: the C_Initialize reserved string
 * (a path, or "config=PATH" as p11-kit's x-init-reserved passes it), the
 * environment variable CMK_PKCS11_CONFIG, CMK_DEFAULT_CONFIG
 * (SYSCONFDIR/cmk-pkcs11/config.json, set by Makefile.am, which writes
 * the same path into the p11-kit module file).
 * The reserved string is split on blanks: a word "config=PATH" wins;
 * otherwise the whole string (trimmed) is a path if it holds no '='; other
 * "name=value" words are ignored. Empty strings count as absent.
 * Returns a heap string the caller frees (NULL only when out of memory).
 */
char *cmk_config_locate(const char *reserved);

/*
 * Loads and validates path. On error returns CMK_E_CONFIG and writes one
 * message naming the file and the JSON field (e.g.
 * "/etc/x.json: tenants[1].label: duplicate tenant label \"acme\"") into
 * err (always NUL-terminated); *out stays NULL.
 * Refused: unreadable file, bad JSON, unknown field, wrong type, missing
 * required field, duplicate tenant label, label over 32 bytes, bad base64,
 * missing key file, key file readable by group/others, reserved context
 * key "tenant", unknown provider, an audit.key_tenant that names no
 * tenant, relative paths (store_dir, audit.file,
 * pin_verifier.file, http.ca_file), a label with '/' or control
 * characters, two tenants with the same store_dir, an endpoint that is
 * neither https nor http to a loopback host, a provider's object ("aws")
 * on a tenant of another provider, what the tenant's provider refuses
 * (its cfg slots: local key files, aws key reference forms, region and
 * "aws" object), a PIN verifier below libsodium's INTERACTIVE Argon2
 * cost unless the tenant has "test_mode": true, and trusted files or
 * directories another user could change (util/trust.h: the config file,
 * pin_verifier.file, local key files, aws.credentials_file, store_dir,
 * audit.file and their directories, each when it exists). JSON syntax errors
 * read "PATH: line L column C: <jansson message>". CMK_E_NOMEM (message "PATH:
 * out of memory") when allocation fails, CMK_E_ARGS when path or out is NULL.
 */
cmk_err cmk_config_load(const char *path, struct cmk_config **out, char *err,
                        size_t err_len) CMK_WUR;
/* Frees everything (wiping strings); NULL-safe. */
void cmk_config_free(struct cmk_config *cfg);

/* The tenant with this label, or NULL if none. The pointer lives as long
 * as cfg. */
const struct cmk_tenant_cfg *cmk_config_tenant(const struct cmk_config *cfg,
                                               const char *label);

/* The tenant whose CMK seals the audit chain key: audit.key_tenant, else
 * the first tenant; NULL when the config has no tenants. */
const struct cmk_tenant_cfg *
cmk_config_audit_key_tenant(const struct cmk_config *cfg);

#endif /* CMK_CORE_SETTINGS_H */
