/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: one tenant of the configuration. Reads core's own fields (label,
 * PIN verifier, KEK, context, CMK object label and id, store, limits, key
 * policy) and hands the provider its key references and its own settings
 * through the config slots of its ops (providers/provider.h).
 */
#include <config.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/settings.h"
#include "core/settings_int.h"
#include "net/http.h"
#include "net/http_cfg.h"
#include "providers/provider.h"
#include "util/conf.h"
#include "util/secmem.h"
#include "util/text.h"

#define PIN_FILE_MAX 4096
#define LABEL_MAX 32
#define CTX_KEY_MAX 128
#define CTX_VALUE_MAX 1024
#define PIN_FAILURES_DEFAULT 10
#define PIN_FAILURES_MAX 1000
#define KEY_CHANGE_INTERVAL_DEFAULT 600
#define KEY_CHANGE_INTERVAL_MAX (366u * 86400u)

static cmk_err parse_label(struct cmk_conf *cf, const char *base, json_t *t,
                           struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t n;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "label", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "label");
    n = strlen(s);
    if (n == 0)
        return cmk_conf_fail(cf, f, "must not be empty");
    if (n > LABEL_MAX)
        return cmk_conf_fail(cf, f, "longer than %d bytes", LABEL_MAX);
    if (!cmk_conf_is_printable(s))
        return cmk_conf_fail(cf, f,
                             "must be printable (no control characters)");
    /* The label names the default store directory and is blank-padded
     * in CK_TOKEN_INFO, so "/", "." and a trailing space are refused. */
    if (strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return cmk_conf_fail(cf, f,
                             "must not contain '/' or be \".\" or \"..\"");
    if (s[n - 1] == ' ')
        return cmk_conf_fail(cf, f, "must not end with a space");
    return cmk_conf_dup(cf, s, &tc->kms.label);
}

cmk_err cmk_config_provider(struct cmk_conf *cf, const char *base, json_t *t,
                            struct cmk_kms_cfg *kms)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "provider", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "provider");
    if (cmk_provider_find(s) != NULL)
        return cmk_conf_dup(cf, s, &kms->provider);
    if (cmk_provider_is_planned(s))
        return cmk_conf_fail(cf, f, "provider not supported yet: \"%s\"", s);
    return cmk_conf_fail(
        cf, f, "unknown provider \"%s\" (known: " CMK_PROVIDER_NAMES ")", s);
}

static cmk_err parse_previous(struct cmk_conf *cf, const char *base, json_t *t,
                              struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX], fi[CMK_CONF_FIELD_MAX];
    json_t *a, *v;
    size_t i;
    cmk_err err;

    a = json_object_get(t, "previous_keys");
    if (a == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "previous_keys");
    if (!json_is_array(a))
        return cmk_conf_fail(cf, f, "expected an array of strings");
    if (json_array_size(a) == 0)
        return CMK_OK;
    tc->kms.previous_key_refs = calloc(json_array_size(a), sizeof(char *));
    if (tc->kms.previous_key_refs == NULL)
        return cmk_conf_oom(cf);
    json_array_foreach(a, i, v)
    {
        cmk_conf_join_idx(fi, f, i);
        if (!json_is_string(v))
            return cmk_conf_fail(cf, fi, "expected a string");
        err = cmk_config_key_ref(cf, fi, json_string_value(v), &tc->kms,
                                 &tc->kms.previous_key_refs[i]);
        if (err != CMK_OK)
            return err;
        tc->kms.n_previous = i + 1;
    }
    return CMK_OK;
}

static cmk_err parse_keys(struct cmk_conf *cf, const char *base, json_t *t,
                          struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "key", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "key");
    err = cmk_config_key_ref(cf, f, s, &tc->kms, &tc->kms.key_ref);
    if (err != CMK_OK)
        return err;
    return parse_previous(cf, base, t, tc);
}

/* Checks a crypto_pwhash_str verifier string. */
static cmk_err check_verifier(struct cmk_conf *cf, const char *field,
                              const char *s)
{
    if (strncmp(s, "$argon2id$", 10) != 0 && strncmp(s, "$argon2i$", 9) != 0)
        return cmk_conf_fail(cf, field,
                             "not a crypto_pwhash_str verifier (expected "
                             "\"$argon2id$...\" or \"$argon2i$...\")");
    if (strlen(s) >= crypto_pwhash_STRBYTES)
        return cmk_conf_fail(cf, field, "longer than %d bytes",
                             (int)crypto_pwhash_STRBYTES - 1);
    return CMK_OK;
}

/* {"file": "/path"}: the verifier is the file's content. */
static cmk_err pin_from_file(struct cmk_conf *cf, const char *field, json_t *v,
                             char **out)
{
    static const char *const keys[] = {"file", NULL};
    char f[CMK_CONF_FIELD_MAX];
    char *path = NULL;
    size_t n;
    cmk_err err;

    err = cmk_conf_check_object(cf, field, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, field, v, "file", &path);
    if (err == CMK_OK && path == NULL) {
        cmk_conf_join(f, field, "file");
        err = cmk_conf_fail(cf, f, "required field missing");
    }
    if (err != CMK_OK)
        goto out;
    cmk_conf_join(f, field, "file");
    err = cmk_conf_read_file(cf, f, path, PIN_FILE_MAX, out);
    if (err != CMK_OK)
        goto out;
    n = strlen(*out);
    while (n > 0 && ((*out)[n - 1] == '\n' || (*out)[n - 1] == '\r'))
        (*out)[--n] = '\0';
    err = check_verifier(cf, f, *out);
out:
    free(path);
    return err;
}

static cmk_err parse_pin(struct cmk_conf *cf, const char *base, json_t *t,
                         struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    json_t *v;
    cmk_err err;

    tc->login_required = true;
    err = cmk_conf_bool(cf, base, t, "login_required", &tc->login_required);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "pin_verifier");
    v = json_object_get(t, "pin_verifier");
    if (v == NULL) {
        if (tc->login_required)
            return cmk_conf_fail(cf, f, "required when login_required is true");
        return CMK_OK;
    }
    if (json_is_string(v)) {
        err = check_verifier(cf, f, json_string_value(v));
        if (err == CMK_OK)
            err = cmk_conf_dup(cf, json_string_value(v), &tc->pin_verifier);
    } else if (json_is_object(v)) {
        err = pin_from_file(cf, f, v, &tc->pin_verifier);
    } else {
        return cmk_conf_fail(cf, f, "expected a string or {\"file\": PATH}");
    }
    if (err == CMK_OK && !tc->login_required) {
        cmk_str_free(tc->pin_verifier); /* checked, but not used */
        tc->pin_verifier = NULL;
    }
    return err;
}

cmk_err cmk_config_kek(struct cmk_conf *cf, const char *base, json_t *t,
                       struct cmk_kms_cfg *kms)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t n, len = 0;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "kek", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, "kek");
    n = strlen(s);
    if (n == 0)
        return cmk_conf_fail(cf, f, "must not be empty");
    kms->kek_blob = malloc(n / 4 * 3 + 3);
    if (kms->kek_blob == NULL)
        return cmk_conf_oom(cf);
    if (sodium_base642bin(kms->kek_blob, n / 4 * 3 + 3, s, n, NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len == 0)
        return cmk_conf_fail(cf, f, "invalid base64");
    kms->kek_blob_len = len;
    return CMK_OK;
}

/* "kek_commitment": base64 of the 32-byte check value of the KEK; only
 * beside a "kek". A "kek" without one is loaded, and refused when the KEK
 * is first needed (keys/cmk.c names the command that adds it). */
static cmk_err parse_kek_commitment(struct cmk_conf *cf, const char *base,
                                    json_t *t, struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t len = 0;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "kek_commitment", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, "kek_commitment");
    if (tc->kms.kek_blob_len == 0)
        return cmk_conf_fail(cf, f, "given without \"kek\"");
    if (sodium_base642bin(tc->kms.kek_commitment,
                          sizeof(tc->kms.kek_commitment), s, strlen(s), NULL,
                          &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != sizeof(tc->kms.kek_commitment))
        return cmk_conf_fail(cf, f, "expected base64 of 32 bytes");
    tc->kms.has_kek_commitment = true;
    return CMK_OK;
}

static cmk_err take_pair(struct cmk_conf *cf, const char *base, const char *key,
                         json_t *v, struct cmk_ctx_pair *p)
{
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err;

    cmk_conf_join(f, base, key);
    if (key[0] == '\0' || strlen(key) > CTX_KEY_MAX)
        return cmk_conf_fail(cf, base, "keys must be 1..%d bytes", CTX_KEY_MAX);
    if (strcmp(key, "tenant") == 0)
        return cmk_conf_fail(
            cf, f,
            "reserved key: the module binds the tenant label under "
            "it");
    if (!json_is_string(v))
        return cmk_conf_fail(cf, f, "expected a string");
    if (json_string_length(v) > CTX_VALUE_MAX)
        return cmk_conf_fail(cf, f, "longer than %d bytes", CTX_VALUE_MAX);
    err = cmk_conf_dup(cf, key, &p->key);
    if (err == CMK_OK)
        err = cmk_conf_dup(cf, json_string_value(v), &p->value);
    return err;
}

static cmk_err parse_context(struct cmk_conf *cf, const char *base, json_t *t,
                             struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *key;
    json_t *c, *v;
    cmk_err err;

    c = json_object_get(t, "encryption_context");
    if (c == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "encryption_context");
    if (!json_is_object(c))
        return cmk_conf_fail(cf, f, "expected an object of strings");
    if (json_object_size(c) == 0)
        return CMK_OK;
    tc->kms.context = calloc(json_object_size(c), sizeof(*tc->kms.context));
    if (tc->kms.context == NULL)
        return cmk_conf_oom(cf);
    json_object_foreach(c, key, v)
    {
        err = take_pair(cf, f, key, v, &tc->kms.context[tc->kms.n_context]);
        tc->kms.n_context++; /* a half-filled pair is freed too */
        if (err != CMK_OK)
            return err;
    }
    return CMK_OK;
}

static cmk_err parse_cmk_id(struct cmk_conf *cf, const char *base, json_t *t,
                            struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t n, i;
    cmk_err err;

    tc->cmk_id[0] = 0x01;
    tc->cmk_id_len = 1;
    err = cmk_conf_str(cf, base, t, "cmk_id", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, "cmk_id");
    n = strlen(s);
    if (n == 0 || n % 2 != 0 || n / 2 > sizeof(tc->cmk_id))
        return cmk_conf_fail(cf, f,
                             "expected 1..%zu bytes as an even number of hex "
                             "digits",
                             sizeof(tc->cmk_id));
    for (i = 0; i < n; i += 2) {
        if (cmk_hex_digit(s[i]) < 0 || cmk_hex_digit(s[i + 1]) < 0)
            return cmk_conf_fail(cf, f, "not a hex string");
        tc->cmk_id[i / 2] =
            (uint8_t)(cmk_hex_digit(s[i]) << 4 | cmk_hex_digit(s[i + 1]));
    }
    tc->cmk_id_len = n / 2;
    return CMK_OK;
}

static cmk_err parse_cmk_label(struct cmk_conf *cf, const char *base, json_t *t,
                               struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    char *d;
    size_t n;
    cmk_err err;

    err = cmk_conf_str(cf, base, t, "cmk_label", false, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "cmk_label");
    if (s != NULL && (s[0] == '\0' || !cmk_conf_is_printable(s)))
        return cmk_conf_fail(cf, f, "must be non-empty and printable");
    if (s != NULL)
        return cmk_conf_dup(cf, s, &tc->cmk_label);
    n = strlen(tc->kms.label) + sizeof("-cmk");
    d = malloc(n);
    if (d == NULL)
        return cmk_conf_oom(cf);
    snprintf(d, n, "%s-cmk", tc->kms.label);
    tc->cmk_label = d;
    return CMK_OK;
}

static cmk_err parse_store_dir(struct cmk_conf *cf, const char *base, json_t *t,
                               const struct cmk_config *cfg,
                               struct cmk_tenant_cfg *tc)
{
    char f[CMK_CONF_FIELD_MAX];
    size_t n;
    cmk_err err;

    err = cmk_conf_path_dup(cf, base, t, "store_dir", &tc->store_dir);
    if (err == CMK_OK && tc->store_dir == NULL) {
        n = strlen(cfg->store_dir) + strlen(tc->kms.label) + 2;
        tc->store_dir = malloc(n);
        if (tc->store_dir == NULL)
            return cmk_conf_oom(cf);
        snprintf(tc->store_dir, n, "%s/%s", cfg->store_dir, tc->kms.label);
    }
    if (err != CMK_OK)
        return err;
    /* A symlinked store would put sealed objects and the PIN counter in
     * someone else's directory. */
    cmk_conf_join(f, base, "store_dir");
    return cmk_conf_dir_if_any(cf, f, tc->store_dir);
}

static cmk_err parse_misc(struct cmk_conf *cf, const char *base, json_t *t,
                          struct cmk_tenant_cfg *tc)
{
    cmk_err err;

    err = cmk_http_cfg_url(cf, base, t, "endpoint", CMK_URL_HTTPS_ONLY,
                           &tc->kms.endpoint);
    if (err == CMK_OK)
        err = cmk_conf_str_dup(cf, base, t, "region", &tc->kms.region);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, base, t, "test_mode", &tc->test_mode);
    tc->max_pin_failures = PIN_FAILURES_DEFAULT;
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, base, t, "max_pin_failures", 1,
                            PIN_FAILURES_MAX, &tc->max_pin_failures);
    tc->key_change_interval_s = KEY_CHANGE_INTERVAL_DEFAULT;
    if (err == CMK_OK)
        err =
            cmk_conf_uint(cf, base, t, "key_change_interval_seconds", 0,
                          KEY_CHANGE_INTERVAL_MAX, &tc->key_change_interval_s);
    return err;
}

/* Tenant "key_policy": the opt-outs of the token key policy
 * (core/keyrules.h), both off by default. */
static cmk_err parse_key_policy(struct cmk_conf *cf, const char *base,
                                json_t *t, struct cmk_tenant_cfg *tc)
{
    static const char *const keys[] = {"mixed_roles", "unprotected_unwrap",
                                       NULL};
    json_t *v = json_object_get(t, "key_policy");
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err;

    if (v == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "key_policy");
    err = cmk_conf_check_object(cf, f, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, f, v, "mixed_roles", &tc->mixed_roles);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, f, v, "unprotected_unwrap",
                            &tc->unprotected_unwrap);
    return err;
}

/* The Argon2 cost a verifier was made with: below libsodium's
 * INTERACTIVE limits a 4-digit PIN falls to an offline search in
 * seconds, so only test rigs may use cheaper ones ("--cost min"). */
static cmk_err check_pin_cost(struct cmk_conf *cf, const char *base,
                              const struct cmk_tenant_cfg *tc)
{
    bool id = strncmp(tc->pin_verifier, "$argon2id$", 10) == 0;
    unsigned long long m_min, t_min, m = 0, t = 0, par = 0;
    const char *s = strstr(tc->pin_verifier, "$m=");
    char f[CMK_CONF_FIELD_MAX];
    int used = 0;

    m_min = (id ? crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
                : crypto_pwhash_argon2i_MEMLIMIT_INTERACTIVE) /
            1024;
    t_min = id ? crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
               : crypto_pwhash_argon2i_OPSLIMIT_INTERACTIVE;
    cmk_conf_join(f, base, "pin_verifier");
    if (s == NULL ||
        sscanf(s, "$m=%llu,t=%llu,p=%llu$%n", &m, &t, &par, &used) != 3 ||
        used == 0)
        return cmk_conf_fail(cf, f,
                             "cannot read the Argon2 parameters (m=,t=,p=)");
    if (tc->test_mode || (m >= m_min && t >= t_min))
        return CMK_OK;
    return cmk_conf_fail(
        cf, f,
        "Argon2 cost m=%llu,t=%llu is below the minimum m=%llu,t=%llu "
        "(make it with cmk-tool pin-hash without --cost min, or set "
        "\"test_mode\": true)",
        m, t, m_min, t_min);
}

/* A tenant member named after a provider that reads one ("aws"). */
static bool is_provider_member(const char *key)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(key);

    return ops != NULL && ops->cfg_parse != NULL;
}

cmk_err cmk_config_check_members(struct cmk_conf *cf, const char *base,
                                 json_t *t, const char *const *keys)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *key;
    json_t *v;

    if (!json_is_object(t))
        return cmk_conf_fail(cf, base, "expected an object");
    json_object_foreach(t, key, v)
    {
        if (!cmk_conf_in_list(key, keys) && !is_provider_member(key)) {
            cmk_conf_join(f, base, key);
            return cmk_conf_fail(cf, f, "unknown field");
        }
    }
    return CMK_OK;
}

cmk_err cmk_config_provider_cfg(struct cmk_conf *cf, const char *base,
                                json_t *t, struct cmk_kms_cfg *kms)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(kms->provider);
    char f[CMK_CONF_FIELD_MAX];
    const char *key;
    json_t *v;

    json_object_foreach(t, key, v)
    {
        if (is_provider_member(key) && strcmp(key, ops->name) != 0) {
            cmk_conf_join(f, base, key);
            return cmk_conf_fail(cf, f, "only for provider \"%s\"", key);
        }
    }
    if (ops->cfg_parse == NULL)
        return CMK_OK;
    return ops->cfg_parse(cf, base, t, kms, &kms->provider_cfg);
}

cmk_err cmk_config_tenant_parse(struct cmk_conf *cf, const char *base,
                                json_t *t, const struct cmk_config *cfg,
                                struct cmk_tenant_cfg *tc)
{
    static const char *const keys[] = {"label",
                                       "provider",
                                       "key",
                                       "pin_verifier",
                                       "login_required",
                                       "kek",
                                       "kek_commitment",
                                       "previous_keys",
                                       "previous_keks",
                                       "encryption_context",
                                       "cmk_label",
                                       "cmk_id",
                                       "store_dir",
                                       "endpoint",
                                       "region",
                                       "test_mode",
                                       "max_pin_failures",
                                       "key_change_interval_seconds",
                                       "key_policy",
                                       "dual_control",
                                       "key_pairs",
                                       NULL};
    cmk_err err;

    err = cmk_config_check_members(cf, base, t, keys);
    if (err == CMK_OK)
        err = parse_label(cf, base, t, tc);
    if (err == CMK_OK)
        err = cmk_config_provider(cf, base, t, &tc->kms);
    if (err == CMK_OK)
        err = parse_keys(cf, base, t, tc);
    if (err == CMK_OK)
        err = parse_pin(cf, base, t, tc);
    if (err == CMK_OK)
        err = cmk_config_kek(cf, base, t, &tc->kms);
    if (err == CMK_OK)
        err = parse_kek_commitment(cf, base, t, tc);
    if (err == CMK_OK)
        err = cmk_config_prev_keks_parse(cf, base, t, tc);
    if (err == CMK_OK)
        err = parse_context(cf, base, t, tc);
    if (err == CMK_OK)
        err = parse_cmk_label(cf, base, t, tc);
    if (err == CMK_OK)
        err = parse_cmk_id(cf, base, t, tc);
    if (err == CMK_OK)
        err = cmk_config_key_pairs_parse(cf, base, t, tc);
    if (err == CMK_OK)
        err = parse_store_dir(cf, base, t, cfg, tc);
    if (err == CMK_OK)
        err = parse_misc(cf, base, t, tc);
    if (err == CMK_OK)
        err = cmk_config_provider_cfg(cf, base, t, &tc->kms);
    if (err == CMK_OK)
        err = parse_key_policy(cf, base, t, tc);
    if (err == CMK_OK && tc->pin_verifier != NULL)
        err = check_pin_cost(cf, base, tc);
    tc->kms.http = &cfg->http;
    return err;
}

void cmk_config_tenant_fini(struct cmk_tenant_cfg *t)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(t->kms.provider);
    size_t i;

    if (ops != NULL && ops->cfg_free != NULL)
        ops->cfg_free(t->kms.provider_cfg); /* before provider is freed */
    cmk_str_free(t->kms.label);
    cmk_str_free(t->pin_verifier);
    cmk_str_free(t->kms.provider);
    cmk_str_free(t->kms.key_ref);
    if (t->kms.previous_key_refs != NULL) {
        for (i = 0; i < t->kms.n_previous; i++)
            cmk_str_free(t->kms.previous_key_refs[i]);
        free(t->kms.previous_key_refs);
    }
    if (t->kms.context != NULL) {
        for (i = 0; i < t->kms.n_context; i++) {
            cmk_str_free(t->kms.context[i].key);
            cmk_str_free(t->kms.context[i].value);
        }
        free(t->kms.context);
    }
    if (t->kms.kek_blob != NULL) {
        sodium_memzero(t->kms.kek_blob, t->kms.kek_blob_len);
        free(t->kms.kek_blob);
    }
    cmk_config_prev_keks_free(&t->kms);
    cmk_config_key_pairs_free(t);
    cmk_str_free(t->cmk_label);
    cmk_str_free(t->store_dir);
    cmk_str_free(t->kms.endpoint);
    cmk_str_free(t->kms.region);
    sodium_memzero(t, sizeof(*t));
}
