/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the azure provider's configuration rules: the key reference
 * (a key identifier URL, azure_name.c), no common "endpoint" or "region"
 * (the vault is in the key identifier), and the tenant's "azure" object,
 * every member optional, each error naming the field:
 *   tenant_id, client_id, client_secret_file, client_certificate_file
 *   (absolute, owner-only, no symlink: like gcp's credentials_file),
 *   client_certificate_alg ("PS256" | "RS256"), managed_identity ({} |
 *   {"client_id"} | {"object_id"} | {"resource_id"}), authority_host,
 *   imds_endpoint (https, or http to this machine; imds also to
 *   169.254.169.254): at most one of client_secret_file,
 *   client_certificate_file and managed_identity; into struct
 *   cmk_azauth_cfg (net/azauth.h);
 *   algorithm, local_wrap, key_info_ttl (1..3600), resource (an https
 *   URL), api_version ("7.4", "7.5", "7.6", "2025-07-01").
 */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "providers/azure_cfg.h"
#include "providers/azure_int.h"
#include "providers/backends.h"
#include "util/secmem.h"
#include "util/trust.h"

cmk_err cmk_azure_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *ref)
{
    if (!cmk_azure_ref_parse(ref, NULL))
        return cmk_conf_fail(cf, field,
                             "expected https://VAULT/keys/NAME (optionally "
                             "/VERSION, 32 hex digits) of a Key Vault or "
                             "Managed HSM, at most 220 bytes without the "
                             "version");
    return CMK_OK;
}

void cmk_azure_cfg_free(void *cfg)
{
    struct cmk_azure_cfg *a = cfg;

    if (a == NULL)
        return;
    cmk_str_free(a->auth.tenant_id);
    cmk_str_free(a->auth.client_id);
    cmk_str_free(a->auth.client_secret_file);
    cmk_str_free(a->auth.client_certificate_file);
    cmk_str_free(a->auth.mi_id);
    cmk_str_free(a->auth.authority_host);
    cmk_str_free(a->auth.imds_endpoint);
    cmk_str_free(a->resource);
    cmk_str_free(a->api_version);
    free(a);
}

static cmk_err url_member(struct cmk_conf *cf, const char *f, json_t *v,
                          const char *key, unsigned flags, char **out)
{
    char fr[CMK_CONF_FIELD_MAX];
    const char *why = NULL;
    cmk_err err = cmk_conf_name_dup(cf, f, v, key, out);

    if (err != CMK_OK || *out == NULL)
        return err;
    cmk_conf_join(fr, f, key);
    if (cmk_url_check(*out, flags, &why) != CMK_OK)
        return cmk_conf_fail(cf, fr, "%s", why != NULL ? why : "bad URL");
    return CMK_OK;
}

static cmk_err parse_mi(struct cmk_conf *cf, const char *f, json_t *v,
                        struct cmk_azauth_cfg *a)
{
    static const char *const keys[] = {"client_id", "object_id", "resource_id",
                                       NULL};
    json_t *mi = json_object_get(v, "managed_identity");
    char fm[CMK_CONF_FIELD_MAX];
    size_t i;
    cmk_err err;

    if (mi == NULL)
        return CMK_OK;
    cmk_conf_join(fm, f, "managed_identity");
    err = cmk_conf_check_object(cf, fm, mi, keys);
    if (err != CMK_OK)
        return err;
    if (json_object_size(mi) > 1)
        return cmk_conf_fail(cf, fm,
                             "at most one of client_id, object_id, "
                             "resource_id");
    a->mi = CMK_AZAUTH_MI_SYSTEM;
    for (i = 0; keys[i] != NULL && err == CMK_OK; i++) {
        if (json_object_get(mi, keys[i]) == NULL)
            continue;
        a->mi = (enum cmk_azauth_mi)(CMK_AZAUTH_MI_CLIENT_ID + i);
        err = cmk_conf_name_dup(cf, fm, mi, keys[i], &a->mi_id);
    }
    return err;
}

static cmk_err parse_auth(struct cmk_conf *cf, const char *f, json_t *v,
                          struct cmk_azauth_cfg *a)
{
    static const char *const algs[] = {"PS256", "RS256", NULL};
    unsigned alg = 0;
    cmk_err err;

    err = cmk_conf_name_dup(cf, f, v, "tenant_id", &a->tenant_id);
    if (err == CMK_OK)
        err = cmk_conf_name_dup(cf, f, v, "client_id", &a->client_id);
    if (err == CMK_OK)
        err = cmk_conf_secret_file_dup(cf, f, v, "client_secret_file",
                                       &a->client_secret_file);
    if (err == CMK_OK)
        err = cmk_conf_secret_file_dup(cf, f, v, "client_certificate_file",
                                       &a->client_certificate_file);
    if (err == CMK_OK)
        err = cmk_conf_enum(cf, f, v, "client_certificate_alg", algs,
                            "\"PS256\" or \"RS256\"", &alg);
    a->certificate_alg = alg == 1 ? CMK_AZAUTH_RS256 : CMK_AZAUTH_PS256;
    if (err == CMK_OK)
        err = parse_mi(cf, f, v, a);
    if (err == CMK_OK)
        err = url_member(cf, f, v, "authority_host", CMK_URL_HTTPS_ONLY,
                         &a->authority_host);
    if (err == CMK_OK)
        err = url_member(cf, f, v, "imds_endpoint", CMK_URL_METADATA_HTTP,
                         &a->imds_endpoint);
    if (err == CMK_OK && (a->client_secret_file != NULL) +
                                 (a->client_certificate_file != NULL) +
                                 (a->mi != CMK_AZAUTH_MI_NONE) >
                             1)
        err = cmk_conf_fail(cf, f,
                            "at most one of client_secret_file, "
                            "client_certificate_file, managed_identity");
    return err;
}

static cmk_err parse_provider(struct cmk_conf *cf, const char *f, json_t *v,
                              struct cmk_azure_cfg *a)
{
    /* in enum cmk_azure_alg's order, from AZ_ALG_RSA_OAEP_256 */
    static const char *const algs[] = {"RSA-OAEP-256", "RSA-OAEP",
                                       "A256KW",       "CKM_AES_KEY_WRAP_PAD",
                                       "A256GCM",      NULL};
    static const char *const apis[] = {"7.4", "7.5", "7.6", "2025-07-01", NULL};
    unsigned alg = 0, api = 2;
    cmk_err err;

    err = cmk_conf_enum(cf, f, v, "algorithm", algs,
                        "\"RSA-OAEP-256\", \"RSA-OAEP\", \"A256KW\", "
                        "\"CKM_AES_KEY_WRAP_PAD\" or \"A256GCM\"",
                        &alg);
    if (err == CMK_OK && json_object_get(v, "algorithm") != NULL)
        a->alg = (enum cmk_azure_alg)(alg + 1);
    if (err == CMK_OK)
        err = cmk_conf_bool(cf, f, v, "local_wrap", &a->local_wrap);
    if (err == CMK_OK)
        err = cmk_conf_uint(cf, f, v, "key_info_ttl", 1, AZ_TTL_MAX, &a->ttl);
    if (err == CMK_OK)
        err =
            url_member(cf, f, v, "resource", CMK_URL_HTTPS_ONLY, &a->resource);
    if (err == CMK_OK)
        err =
            cmk_conf_enum(cf, f, v, "api_version", apis,
                          "\"7.4\", \"7.5\", \"7.6\" or \"2025-07-01\"", &api);
    if (err == CMK_OK && (a->api_version = cmk_strdup(apis[api])) == NULL)
        err = cmk_conf_oom(cf);
    return err;
}

static cmk_err parse_block(struct cmk_conf *cf, const char *f, json_t *v,
                           struct cmk_azure_cfg *a)
{
    static const char *const keys[] = {"tenant_id",
                                       "client_id",
                                       "client_secret_file",
                                       "client_certificate_file",
                                       "client_certificate_alg",
                                       "managed_identity",
                                       "authority_host",
                                       "imds_endpoint",
                                       "algorithm",
                                       "local_wrap",
                                       "key_info_ttl",
                                       "resource",
                                       "api_version",
                                       NULL};
    cmk_err err = cmk_conf_check_object(cf, f, v, keys);

    if (err == CMK_OK)
        err = parse_auth(cf, f, v, &a->auth);
    if (err == CMK_OK)
        err = parse_provider(cf, f, v, a);
    return err;
}

cmk_err cmk_azure_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                            const struct cmk_kms_cfg *kms, void **out)
{
    json_t *v = json_object_get(t, "azure");
    struct cmk_azure_cfg *a = NULL;
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err = cmk_provider_no_common(
        cf, base, kms, "not used by azure: the vault is in the key identifier");

    if (err != CMK_OK || v == NULL)
        return err;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return cmk_conf_oom(cf);
    a->local_wrap = true;
    a->ttl = AZ_TTL_DEFAULT;
    cmk_conf_join(f, base, "azure");
    err = parse_block(cf, f, v, a);
    if (err == CMK_OK) {
        *out = a;
        a = NULL; /* the caller owns it */
    }
    cmk_azure_cfg_free(a);
    return err;
}
