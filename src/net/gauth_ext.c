/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: tokens from an "external_account" file (workload identity
 * federation): the subject token from the credential source
 * (gauth_ext_src.c) is exchanged at token_url (STS) for a federated
 * token (RFC 8693 2.1), which, when the file names a service account to
 * impersonate, buys that account's token (gauth_imp.c). Sources of kind
 * file and url only: executable and environment_id (AWS) are refused by
 * name. token_url and the impersonation URL must be https, or http to
 * loopback; a url source may also be plain http to the link-local
 * metadata address (Azure's IMDS serves subject tokens there).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"

#define EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define ACCESS_TYPE "urn:ietf:params:oauth:token-type:access_token"
#define IMP_SUFFIX ":generateAccessToken"

static cmk_err bad(struct cmk_cred_status *st, const char *path,
                   const char *field, const char *what)
{
    return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                "%s: %s %s", path, field, what);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Header names are tokens, values free of line breaks: nothing in the
 * file can add a header line of its own. */
static bool headers_ok(json_t *h)
{
    const char *name;
    json_t *v;

    if (!json_is_object(h))
        return false;
    json_object_foreach(h, name, v)
    {
        const char *s = json_string_value(v);

        if (name[0] == '\0' || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
                                            "ghijklmnopqrstuvwxyz0123456789"
                                            "!#$%&'*+-.^_`|~") != strlen(name))
            return false;
        if (s == NULL || strpbrk(s, "\r\n") != NULL ||
            strlen(s) != json_string_length(v))
            return false;
    }
    return true;
}

/* credential_source.format: text (default) or json with a field name. */
static cmk_err src_format(const json_t *fmt, const char *path,
                          struct cmk_cred_status *st, struct cmk_gauth_ext *x)
{
    const char *type = json_string_value(json_object_get(fmt, "type"));
    const char *field =
        json_string_value(json_object_get(fmt, "subject_token_field_name"));

    x->field = NULL;
    if (fmt == NULL)
        return CMK_OK;
    if (!json_is_object(fmt) || (type != NULL && strcmp(type, "text") != 0 &&
                                 strcmp(type, "json") != 0))
        return bad(st, path, "credential_source.format.type",
                   "must be \"text\" or \"json\"");
    if (type == NULL || strcmp(type, "text") == 0)
        return CMK_OK;
    if (field == NULL || field[0] == '\0')
        return bad(st, path,
                   "credential_source.format.subject_token_field_name",
                   "missing (format json)");
    x->field = field;
    return CMK_OK;
}

static cmk_err unsupported(struct cmk_cred_status *st, const char *path,
                           const char *kind)
{
    return cmk_creds_refuse_why(st, CMK_E_CONFIG, "UnsupportedCredentialSource",
                                "%s: credential_source \"%s\" is not supported "
                                "(only file and url)",
                                path, kind);
}

static cmk_err source(const json_t *src, const char *path,
                      struct cmk_cred_status *st, struct cmk_gauth_ext *x)
{
    if (!json_is_object(src))
        return bad(st, path, "credential_source", "missing or not an object");
    if (json_object_get(src, "executable") != NULL)
        return unsupported(st, path, "executable");
    if (json_object_get(src, "environment_id") != NULL)
        return unsupported(st, path, "environment_id (AWS)");
    x->file = json_string_value(json_object_get(src, "file"));
    x->url = json_string_value(json_object_get(src, "url"));
    x->headers = json_object_get(src, "headers");
    if ((x->file == NULL) == (x->url == NULL) ||
        (x->file != NULL && x->file[0] == '\0'))
        return bad(st, path, "credential_source",
                   "must name exactly one of file and url");
    x->kind = x->file != NULL ? CMK_GAUTH_SRC_FILE : CMK_GAUTH_SRC_URL;
    if (x->url != NULL &&
        cmk_url_check(x->url, CMK_URL_METADATA_HTTP, NULL) != CMK_OK)
        return bad(st, path, "credential_source.url",
                   "must be https (http only to loopback or 169.254.169.254)");
    if (x->headers != NULL && (x->url == NULL || !headers_ok(x->headers)))
        return bad(st, path, "credential_source.headers",
                   "must be an object of header names and string values");
    return src_format(json_object_get(src, "format"), path, st, x);
}

static cmk_err impersonation(const struct cmk_gauth_file *f, const char *path,
                             struct cmk_cred_status *st,
                             struct cmk_gauth_ext *x)
{
    json_t *u = json_object_get(f->root, "service_account_impersonation_url");
    json_t *o = json_object_get(f->root, "service_account_impersonation");
    json_t *life = json_object_get(o, "token_lifetime_seconds");

    x->imp_url = NULL;
    x->lifetime_s = CMK_GAUTH_IMP_LIFE_DEFAULT;
    if (u != NULL) {
        x->imp_url = json_string_value(u);
        if (x->imp_url == NULL || !ends_with(x->imp_url, IMP_SUFFIX) ||
            cmk_url_check(x->imp_url, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
            return bad(st, path, "service_account_impersonation_url",
                       "must be an https URL ending in " IMP_SUFFIX);
    }
    if (o != NULL && !json_is_object(o))
        return bad(st, path, "service_account_impersonation",
                   "must be an object");
    if (life == NULL)
        return CMK_OK;
    if (!json_is_integer(life) ||
        json_integer_value(life) < CMK_GAUTH_IMP_LIFE_MIN ||
        json_integer_value(life) > CMK_GAUTH_IMP_LIFE_MAX)
        return bad(st, path,
                   "service_account_impersonation.token_lifetime_seconds",
                   "must be an integer from 600 to 43200");
    x->lifetime_s = (long)json_integer_value(life);
    return CMK_OK;
}

cmk_err cmk_gauth_ext_parse(const struct cmk_gauth_file *f, const char *path,
                            struct cmk_cred_status *st, struct cmk_gauth_ext *x)
{
    cmk_err err;

    memset(x, 0, sizeof(*x));
    x->audience = cmk_gauth_file_str(f, "audience");
    x->subject_token_type = cmk_gauth_file_str(f, "subject_token_type");
    x->token_url = cmk_gauth_file_str(f, "token_url");
    if (x->audience == NULL)
        return bad(st, path, "audience", "missing");
    if (x->subject_token_type == NULL)
        return bad(st, path, "subject_token_type", "missing");
    if (x->token_url == NULL ||
        cmk_url_check(x->token_url, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        return bad(st, path, "token_url", "must be an https URL");
    err = source(json_object_get(f->root, "credential_source"), path, st, x);
    if (err == CMK_OK)
        err = impersonation(f, path, st, x);
    return err;
}

/* RFC 8693 2.1 at token_url: the federated token. */
static cmk_err exchange(const struct cmk_cred_env *env,
                        const struct cmk_gauth_ext *x, const char *path,
                        const struct cmk_secret *subject,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_sb form = {0};
    struct cmk_gauth_grant g = {x->token_url, &form, "gcp-external-account",
                                ACCESS_TYPE, path};
    cmk_err err;

    cmk_gauth_form_add(&form, "grant_type", EXCHANGE, strlen(EXCHANGE));
    cmk_gauth_form_add(&form, "audience", x->audience, strlen(x->audience));
    cmk_gauth_form_add(&form, "scope", CMK_GAUTH_PLATFORM_SCOPE,
                       strlen(CMK_GAUTH_PLATFORM_SCOPE));
    cmk_gauth_form_add(&form, "requested_token_type", ACCESS_TYPE,
                       strlen(ACCESS_TYPE));
    cmk_gauth_form_add(&form, "subject_token", (const char *)subject->p,
                       subject->len);
    cmk_gauth_form_add(&form, "subject_token_type", x->subject_token_type,
                       strlen(x->subject_token_type));
    err = cmk_sb_status(&form);
    if (err == CMK_OK)
        err = cmk_gauth_grant(env, &g, st, out);
    cmk_sb_free(&form); /* wipes the subject token */
    return err;
}

cmk_err cmk_gauth_ext(const struct cmk_cred_env *env,
                      const struct cmk_gauth_file *f, const char *path,
                      struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_secret subject = {0};
    struct cmk_creds *fed = NULL;
    struct cmk_gauth_ext x;
    cmk_err err;

    err = cmk_gauth_ext_parse(f, path, st, &x);
    if (err == CMK_OK)
        err = cmk_gauth_ext_subject(env, &x, path, st, &subject);
    if (err == CMK_OK)
        err = exchange(env, &x, path, &subject, st, &fed);
    cmk_secret_free(&subject); /* wipes */
    if (err == CMK_OK && x.imp_url == NULL) {
        *out = fed;
        return CMK_OK;
    }
    if (err == CMK_OK)
        err = cmk_gauth_impersonate(env, &x, path, fed, st, out);
    cmk_creds_unref(fed); /* wipes the federated token */
    return err;
}
