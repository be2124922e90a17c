/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a tenant's "key_pairs" (README, "Key pairs"): label, id, the
 * provider's key reference, usage, certificate file and public-key pin
 * of each, every error naming its field. The key itself is not read
 * here: its public half is fetched when the token is made.
 */
#include <config.h>

#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/settings.h"
#include "core/settings_int.h"
#include "providers/provider.h"
#include "util/conf.h"
#include "util/secmem.h"
#include "util/text.h"

#define KP_LABEL_MAX 64
#define KP_MAX 64 /* key pairs per tenant */

/* s: 2..2*max hex digits, into out. */
static cmk_err hex_field(struct cmk_conf *cf, const char *f, const char *s,
                         uint8_t *out, size_t min, size_t max, size_t *len)
{
    size_t n = strlen(s), i;

    if (n % 2 != 0 || n / 2 < min || n / 2 > max)
        return min == max
                   ? cmk_conf_fail(cf, f, "expected %zu hex digits", 2 * max)
                   : cmk_conf_fail(cf, f,
                                   "expected 1..%zu bytes as an even "
                                   "number of hex digits",
                                   max);
    for (i = 0; i < n; i += 2) {
        if (cmk_hex_digit(s[i]) < 0 || cmk_hex_digit(s[i + 1]) < 0)
            return cmk_conf_fail(cf, f, "not a hex string");
        out[i / 2] =
            (uint8_t)(cmk_hex_digit(s[i]) << 4 | cmk_hex_digit(s[i + 1]));
    }
    *len = n / 2;
    return CMK_OK;
}

static cmk_err parse_label(struct cmk_conf *cf, const char *base, json_t *o,
                           const struct cmk_tenant_cfg *tc,
                           struct cmk_kp_cfg *kp)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t i;
    cmk_err err;

    err = cmk_conf_str(cf, base, o, "label", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "label");
    if (s[0] == '\0' || strlen(s) > KP_LABEL_MAX)
        return cmk_conf_fail(cf, f, "must be 1..%d bytes", KP_LABEL_MAX);
    if (!cmk_conf_is_printable(s))
        return cmk_conf_fail(cf, f,
                             "must be printable (no control characters)");
    if (strcmp(s, tc->cmk_label) == 0)
        return cmk_conf_fail(cf, f, "is the CMK object's label");
    for (i = 0; i < tc->n_key_pairs; i++) {
        if (strcmp(tc->key_pairs[i].label, s) == 0)
            return cmk_conf_fail(cf, f, "duplicate key pair label \"%s\"", s);
    }
    return cmk_conf_dup(cf, s, &kp->label);
}

static cmk_err parse_id(struct cmk_conf *cf, const char *base, json_t *o,
                        const struct cmk_tenant_cfg *tc, struct cmk_kp_cfg *kp)
{
    char f[CMK_CONF_FIELD_MAX];
    const struct cmk_kp_cfg *other;
    const char *s;
    size_t i;
    cmk_err err;

    err = cmk_conf_str(cf, base, o, "id", true, &s);
    if (err != CMK_OK)
        return err;
    cmk_conf_join(f, base, "id");
    err = hex_field(cf, f, s, kp->id, 1, sizeof(kp->id), &kp->id_len);
    if (err != CMK_OK)
        return err;
    if (kp->id_len == tc->cmk_id_len &&
        memcmp(kp->id, tc->cmk_id, kp->id_len) == 0)
        return cmk_conf_fail(cf, f, "is the CMK object's id");
    for (i = 0; i < tc->n_key_pairs; i++) {
        other = &tc->key_pairs[i];
        if (other->id_len == kp->id_len &&
            memcmp(other->id, kp->id, kp->id_len) == 0)
            return cmk_conf_fail(cf, f, "duplicate key pair id \"%s\"", s);
    }
    return CMK_OK;
}

/* Optional "usage": a non-empty array of "sign" and "decrypt". */
static cmk_err parse_usage(struct cmk_conf *cf, const char *base, json_t *o,
                           struct cmk_kp_cfg *kp)
{
    char f[CMK_CONF_FIELD_MAX], fi[CMK_CONF_FIELD_MAX];
    json_t *a = json_object_get(o, "usage"), *v;
    unsigned bit;
    size_t i;

    if (a == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "usage");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return cmk_conf_fail(cf, f,
                             "expected a non-empty array of \"sign\", "
                             "\"decrypt\"");
    json_array_foreach(a, i, v)
    {
        cmk_conf_join_idx(fi, f, i);
        if (json_is_string(v) && strcmp(json_string_value(v), "sign") == 0)
            bit = CMK_ASYM_USE_SIGN;
        else if (json_is_string(v) &&
                 strcmp(json_string_value(v), "decrypt") == 0)
            bit = CMK_ASYM_USE_DECRYPT;
        else
            return cmk_conf_fail(cf, fi, "expected \"sign\" or \"decrypt\"");
        if (kp->usage & bit)
            return cmk_conf_fail(cf, fi, "named twice");
        kp->usage |= bit;
    }
    return CMK_OK;
}

/* Optional "certificate": an existing file nobody else can change. */
static cmk_err parse_cert(struct cmk_conf *cf, const char *base, json_t *o,
                          struct cmk_kp_cfg *kp)
{
    char f[CMK_CONF_FIELD_MAX];
    struct stat sb;
    cmk_err err;

    err = cmk_conf_path_dup(cf, base, o, "certificate", &kp->cert_path);
    if (err != CMK_OK || kp->cert_path == NULL)
        return err;
    cmk_conf_join(f, base, "certificate");
    if (lstat(kp->cert_path, &sb) != 0)
        return cmk_conf_fail(cf, f, "%s: no such file", kp->cert_path);
    return cmk_conf_file_if_any(cf, f, kp->cert_path, O_RDONLY, 0);
}

static cmk_err parse_pin(struct cmk_conf *cf, const char *base, json_t *o,
                         struct cmk_kp_cfg *kp)
{
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    size_t n = 0;
    cmk_err err;

    err = cmk_conf_str(cf, base, o, "public_key_sha256", false, &s);
    if (err != CMK_OK || s == NULL)
        return err;
    cmk_conf_join(f, base, "public_key_sha256");
    err = hex_field(cf, f, s, kp->pin, sizeof(kp->pin), sizeof(kp->pin), &n);
    kp->has_pin = err == CMK_OK;
    return err;
}

/* The key pair's "key", checked by the provider's key pair check when it
 * has one (a form the CMK's check refuses: vault "NAME:N"), else as a
 * CMK's. */
static cmk_err pair_key_ref(struct cmk_conf *cf, const char *f, const char *s,
                            const struct cmk_tenant_cfg *tc,
                            struct cmk_kp_cfg *kp)
{
    const struct cmk_asym_ops *a =
        cmk_provider_asym(cmk_provider_find(tc->kms.provider));
    cmk_err err;

    if (a == NULL || a->check_key_ref == NULL)
        return cmk_config_key_ref(cf, f, s, &tc->kms, &kp->key_ref);
    if (s[0] == '\0')
        return cmk_conf_fail(cf, f, "must not be empty");
    err = a->check_key_ref(cf, f, s);
    return err == CMK_OK ? cmk_conf_dup(cf, s, &kp->key_ref) : err;
}

static cmk_err parse_one(struct cmk_conf *cf, const char *base, json_t *o,
                         struct cmk_tenant_cfg *tc, struct cmk_kp_cfg *kp)
{
    static const char *const keys[] = {
        "label", "id", "key", "usage", "certificate", "public_key_sha256",
        NULL};
    char f[CMK_CONF_FIELD_MAX];
    const char *s;
    cmk_err err;

    err = cmk_conf_check_object(cf, base, o, keys);
    if (err == CMK_OK)
        err = parse_label(cf, base, o, tc, kp);
    if (err == CMK_OK)
        err = parse_id(cf, base, o, tc, kp);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, base, o, "key", true, &s);
    if (err == CMK_OK) {
        cmk_conf_join(f, base, "key");
        err = pair_key_ref(cf, f, s, tc, kp);
    }
    if (err == CMK_OK)
        err = parse_usage(cf, base, o, kp);
    if (err == CMK_OK)
        err = parse_cert(cf, base, o, kp);
    if (err == CMK_OK)
        err = parse_pin(cf, base, o, kp);
    return err;
}

cmk_err cmk_config_key_pairs_parse(struct cmk_conf *cf, const char *base,
                                   json_t *t, struct cmk_tenant_cfg *tc)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(tc->kms.provider);
    char f[CMK_CONF_FIELD_MAX], fi[CMK_CONF_FIELD_MAX];
    json_t *a = json_object_get(t, "key_pairs"), *v;
    size_t i;
    cmk_err err;

    if (a == NULL)
        return CMK_OK;
    cmk_conf_join(f, base, "key_pairs");
    if (!json_is_array(a))
        return cmk_conf_fail(cf, f, "expected an array of objects");
    if (json_array_size(a) > KP_MAX)
        return cmk_conf_fail(cf, f, "more than %d key pairs", KP_MAX);
    if (json_array_size(a) != 0 && cmk_provider_asym(ops) == NULL)
        return cmk_conf_fail(cf, f, "provider \"%s\" has no key pairs",
                             ops->name);
    if (json_array_size(a) == 0)
        return CMK_OK;
    tc->key_pairs = calloc(json_array_size(a), sizeof(*tc->key_pairs));
    if (tc->key_pairs == NULL)
        return cmk_conf_oom(cf);
    json_array_foreach(a, i, v)
    {
        cmk_conf_join_idx(fi, f, i);
        err = parse_one(cf, fi, v, tc, &tc->key_pairs[i]);
        tc->n_key_pairs = i + 1; /* a half-filled one is freed too */
        if (err != CMK_OK)
            return err;
    }
    return CMK_OK;
}

void cmk_config_key_pairs_free(struct cmk_tenant_cfg *tc)
{
    size_t i;

    if (tc->key_pairs == NULL)
        return;
    for (i = 0; i < tc->n_key_pairs; i++) {
        cmk_str_free(tc->key_pairs[i].label);
        cmk_str_free(tc->key_pairs[i].key_ref);
        cmk_str_free(tc->key_pairs[i].cert_path);
    }
    free(tc->key_pairs);
    tc->key_pairs = NULL;
    tc->n_key_pairs = 0;
}
