/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the vault provider's configuration rules: the key reference
 * (a transit key name, [A-Za-z0-9_.-]{1,128}), no common "endpoint" or
 * "region" (the server is vault.address), and the tenant's "vault"
 * object, every member optional, each error naming the field:
 *   address (https, or http to this machine), mount (default "transit")
 *   and namespace (path segments [A-Za-z0-9_.-] joined by '/'), ca_file
 *   (absolute), key_info_ttl (1..3600), redirect_hosts (at most 8
 *   origins, https or loopback http);
 *   token_file (absolute, owner-only, no symlink), approle {role_id_file,
 *   secret_id_file?, mount?}, kubernetes {role, jwt_file?, mount?}, cert
 *   {cert_file, key_file, mount?, name?}: at most one login method; into
 *   struct cmk_vauth_cfg (net/vauth.h).
 */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "providers/backends.h"
#include "providers/vault_cfg.h"
#include "providers/vault_int.h"
#include "util/secmem.h"
#include "util/trust.h"

static bool seg_chars(const char *s, size_t n)
{
    return n > 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                              "vwxyz0123456789_.-") >= n;
}

bool cmk_vault_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    return n <= VAULT_NAME_MAX && seg_chars(s, n) && strcmp(s, ".") != 0 &&
           strcmp(s, "..") != 0;
}

/* Segments of cmk_vault_name_ok joined by single '/'. */
bool cmk_vault_mount_ok(const char *s)
{
    char seg[VAULT_NAME_MAX + 1];
    size_t n;

    if (s == NULL || strlen(s) > VAULT_MOUNT_MAX || s[0] == '\0')
        return false;
    for (;;) {
        n = strcspn(s, "/");
        if (n > VAULT_NAME_MAX)
            return false;
        memcpy(seg, s, n);
        seg[n] = '\0';
        if (!cmk_vault_name_ok(seg))
            return false;
        if (s[n] == '\0')
            return true;
        s += n + 1;
    }
}

cmk_err cmk_vault_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *ref)
{
    if (!cmk_vault_name_ok(ref))
        return cmk_conf_fail(cf, field,
                             "expected a transit key name: 1 to 128 of "
                             "A-Z a-z 0-9 _ . -");
    return CMK_OK;
}

cmk_err cmk_vault_cfg_pair_ref(struct cmk_conf *cf, const char *field,
                               const char *ref)
{
    char name[VAULT_NAME_MAX + 1];
    const char *colon = strchr(ref, ':');
    size_t n = colon != NULL ? (size_t)(colon - ref) : strlen(ref);
    size_t digits = colon != NULL ? strspn(colon + 1, "0123456789") : 0;

    if (n <= VAULT_NAME_MAX) {
        memcpy(name, ref, n);
        name[n] = '\0';
    }
    if (n > VAULT_NAME_MAX || !cmk_vault_name_ok(name) ||
        (colon != NULL && (digits == 0 || digits > 8 || colon[1] == '0' ||
                           colon[1 + digits] != '\0')))
        return cmk_conf_fail(cf, field,
                             "expected a transit key name (1 to 128 of A-Z "
                             "a-z 0-9 _ . -), optionally \":N\", a version "
                             "1 to 99999999");
    return CMK_OK;
}

void cmk_vault_cfg_free(void *cfg)
{
    struct cmk_vault_cfg *v = cfg;
    struct cmk_vauth_cfg *a;
    size_t i;

    if (v == NULL)
        return;
    a = &v->auth;
    cmk_str_free(a->token_file);
    cmk_str_free(a->approle_role_id_file);
    cmk_str_free(a->approle_secret_id_file);
    cmk_str_free(a->approle_mount);
    cmk_str_free(a->k8s_role);
    cmk_str_free(a->k8s_jwt_file);
    cmk_str_free(a->k8s_mount);
    cmk_str_free(a->cert_file);
    cmk_str_free(a->cert_key_file);
    cmk_str_free(a->cert_mount);
    cmk_str_free(a->cert_name);
    cmk_str_free(v->address);
    cmk_str_free(v->mount);
    cmk_str_free(v->ns);
    cmk_str_free(v->ca_file);
    for (i = 0; i < v->n_redirect_hosts; i++)
        cmk_str_free(v->redirect_hosts[i]);
    free(v);
}

static cmk_err url_member(struct cmk_conf *cf, const char *f, json_t *v,
                          const char *key, char **out)
{
    char fr[CMK_CONF_FIELD_MAX];
    const char *why = NULL;
    size_t n;
    cmk_err err = cmk_conf_name_dup(cf, f, v, key, out);

    if (err != CMK_OK || *out == NULL)
        return err;
    cmk_conf_join(fr, f, key);
    n = strlen(*out);
    if (n >= VAULT_ADDR_MAX)
        return cmk_conf_fail(cf, fr, "longer than %u bytes",
                             VAULT_ADDR_MAX - 1);
    while (n > 0 && (*out)[n - 1] == '/') /* as the Vault CLI does */
        (*out)[--n] = '\0';
    if (cmk_url_check(*out, CMK_URL_HTTPS_ONLY, &why) != CMK_OK)
        return cmk_conf_fail(cf, fr, "%s", why != NULL ? why : "bad URL");
    return CMK_OK;
}

static cmk_err path_member(struct cmk_conf *cf, const char *f, json_t *v,
                           const char *key, char **out)
{
    char fr[CMK_CONF_FIELD_MAX];
    cmk_err err = cmk_conf_name_dup(cf, f, v, key, out);

    if (err != CMK_OK || *out == NULL)
        return err;
    cmk_conf_join(fr, f, key);
    if (!cmk_vault_mount_ok(*out))
        return cmk_conf_fail(cf, fr,
                             "expected path segments of A-Z a-z 0-9 _ . - "
                             "joined by '/', at most %u bytes",
                             VAULT_MOUNT_MAX);
    return CMK_OK;
}

static cmk_err parse_approle(struct cmk_conf *cf, const char *f, json_t *v,
                             struct cmk_vauth_cfg *a)
{
    static const char *const keys[] = {"role_id_file", "secret_id_file",
                                       "mount", NULL};
    json_t *o = json_object_get(v, "approle");
    char fo[CMK_CONF_FIELD_MAX];
    const char *s = NULL;
    cmk_err err;

    if (o == NULL)
        return CMK_OK;
    cmk_conf_join(fo, f, "approle");
    err = cmk_conf_check_object(cf, fo, o, keys);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, fo, o, "role_id_file", true, &s);
    if (err == CMK_OK)
        err = cmk_conf_secret_file_dup(cf, fo, o, "role_id_file",
                                       &a->approle_role_id_file);
    if (err == CMK_OK)
        err = cmk_conf_secret_file_dup(cf, fo, o, "secret_id_file",
                                       &a->approle_secret_id_file);
    if (err == CMK_OK)
        err = path_member(cf, fo, o, "mount", &a->approle_mount);
    return err;
}

static cmk_err parse_k8s(struct cmk_conf *cf, const char *f, json_t *v,
                         struct cmk_vauth_cfg *a)
{
    static const char *const keys[] = {"role", "jwt_file", "mount", NULL};
    json_t *o = json_object_get(v, "kubernetes");
    char fo[CMK_CONF_FIELD_MAX];
    const char *s = NULL;
    cmk_err err;

    if (o == NULL)
        return CMK_OK;
    cmk_conf_join(fo, f, "kubernetes");
    err = cmk_conf_check_object(cf, fo, o, keys);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, fo, o, "role", true, &s);
    if (err == CMK_OK)
        err = cmk_conf_name_dup(cf, fo, o, "role", &a->k8s_role);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, fo, o, "jwt_file", &a->k8s_jwt_file);
    if (err == CMK_OK)
        err = path_member(cf, fo, o, "mount", &a->k8s_mount);
    return err;
}

static cmk_err parse_cert(struct cmk_conf *cf, const char *f, json_t *v,
                          struct cmk_vauth_cfg *a)
{
    static const char *const keys[] = {"cert_file", "key_file", "mount", "name",
                                       NULL};
    json_t *o = json_object_get(v, "cert");
    char fo[CMK_CONF_FIELD_MAX];
    const char *s = NULL;
    cmk_err err;

    if (o == NULL)
        return CMK_OK;
    cmk_conf_join(fo, f, "cert");
    err = cmk_conf_check_object(cf, fo, o, keys);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, fo, o, "cert_file", true, &s);
    if (err == CMK_OK)
        err = cmk_conf_str(cf, fo, o, "key_file", true, &s);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, fo, o, "cert_file", &a->cert_file);
    if (err == CMK_OK)
        err =
            cmk_conf_secret_file_dup(cf, fo, o, "key_file", &a->cert_key_file);
    if (err == CMK_OK)
        err = path_member(cf, fo, o, "mount", &a->cert_mount);
    if (err == CMK_OK)
        err = cmk_conf_name_dup(cf, fo, o, "name", &a->cert_name);
    return err;
}

static cmk_err parse_auth(struct cmk_conf *cf, const char *f, json_t *v,
                          struct cmk_vauth_cfg *a)
{
    cmk_err err =
        cmk_conf_secret_file_dup(cf, f, v, "token_file", &a->token_file);

    if (err == CMK_OK)
        err = parse_approle(cf, f, v, a);
    if (err == CMK_OK)
        err = parse_k8s(cf, f, v, a);
    if (err == CMK_OK)
        err = parse_cert(cf, f, v, a);
    if (err == CMK_OK && (a->approle_role_id_file != NULL) +
                                 (a->k8s_role != NULL) +
                                 (a->cert_file != NULL) >
                             1)
        err = cmk_conf_fail(cf, f, "at most one of approle, kubernetes, cert");
    return err;
}

static cmk_err parse_redirects(struct cmk_conf *cf, const char *f, json_t *v,
                               struct cmk_vault_cfg *c)
{
    json_t *arr = json_object_get(v, "redirect_hosts"), *e;
    char fr[CMK_CONF_FIELD_MAX], fi[CMK_CONF_FIELD_MAX];
    const char *why = NULL;
    size_t i;

    if (arr == NULL)
        return CMK_OK;
    cmk_conf_join(fr, f, "redirect_hosts");
    if (!json_is_array(arr) || json_array_size(arr) > VAULT_REDIRECT_HOSTS_MAX)
        return cmk_conf_fail(cf, fr, "expected an array of at most %u URLs",
                             VAULT_REDIRECT_HOSTS_MAX);
    json_array_foreach(arr, i, e)
    {
        cmk_conf_join_idx(fi, fr, i);
        if (!json_is_string(e) || json_string_length(e) >= VAULT_ADDR_MAX ||
            cmk_url_check(json_string_value(e), CMK_URL_HTTPS_ONLY, &why) !=
                CMK_OK)
            return cmk_conf_fail(cf, fi, "expected an https URL%s%s",
                                 why != NULL ? ": " : "",
                                 why != NULL ? why : "");
        if (cmk_conf_dup(cf, json_string_value(e),
                         &c->redirect_hosts[c->n_redirect_hosts]) != CMK_OK)
            return CMK_E_NOMEM;
        c->n_redirect_hosts++;
    }
    return CMK_OK;
}

static cmk_err parse_block(struct cmk_conf *cf, const char *f, json_t *v,
                           struct cmk_vault_cfg *c)
{
    static const char *const keys[] = {
        "address",        "mount",        "namespace",  "ca_file",
        "token_file",     "approle",      "kubernetes", "cert",
        "redirect_hosts", "key_info_ttl", NULL};
    char fr[CMK_CONF_FIELD_MAX];
    cmk_err err = cmk_conf_check_object(cf, f, v, keys);

    if (err == CMK_OK)
        err = url_member(cf, f, v, "address", &c->address);
    if (err == CMK_OK)
        err = path_member(cf, f, v, "mount", &c->mount);
    if (err == CMK_OK)
        err = path_member(cf, f, v, "namespace", &c->ns);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, f, v, "ca_file", &c->ca_file);
    cmk_conf_join(fr, f, "ca_file");
    if (err == CMK_OK && c->ca_file != NULL)
        err = cmk_conf_file_if_any(cf, fr, c->ca_file, O_RDONLY,
                                   CMK_TRUST_FOLLOW);
    if (err == CMK_OK)
        err =
            cmk_conf_uint(cf, f, v, "key_info_ttl", 1, VAULT_TTL_MAX, &c->ttl);
    if (err == CMK_OK)
        err = parse_redirects(cf, f, v, c);
    if (err == CMK_OK)
        err = parse_auth(cf, f, v, &c->auth);
    return err;
}

cmk_err cmk_vault_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                            const struct cmk_kms_cfg *kms, void **out)
{
    json_t *v = json_object_get(t, "vault");
    struct cmk_vault_cfg *c = NULL;
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err = cmk_provider_no_common(
        cf, base, kms,
        "not used by vault: the server is vault.address (or VAULT_ADDR)");

    if (err != CMK_OK || v == NULL)
        return err;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return cmk_conf_oom(cf);
    c->ttl = VAULT_TTL_DEFAULT;
    cmk_conf_join(f, base, "vault");
    err = parse_block(cf, f, v, c);
    if (err == CMK_OK) {
        *out = c;
        c = NULL; /* the caller owns it */
    }
    cmk_vault_cfg_free(c);
    return err;
}
