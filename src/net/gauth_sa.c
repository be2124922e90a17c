/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: tokens from a Google service-account key file (gauth.h), read by
 * gauth_file.c (its private_key already in guarded memory): an RS256
 * assertion signed and exchanged at the file's token_uri with the
 * jwt-bearer grant (RFC 7523 2.1). token_uri must be https, or http to
 * loopback for tests (net/http.h).
 */
#include <config.h>

#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"

#define GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* What the file says, borrowed from it. */
struct sa_fields {
    const char *email, *kid, *token_uri;
};

static cmk_err sa_fields(const struct cmk_gauth_file *f, const char *path,
                         struct cmk_cred_status *st, struct sa_fields *s)
{
    s->email = cmk_gauth_file_str(f, "client_email");
    s->kid = cmk_gauth_file_str(f, "private_key_id");
    s->token_uri = cmk_gauth_file_str(f, "token_uri");
    if (s->email == NULL || f->private_key.len == 0 || s->token_uri == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: client_email, private_key or "
                                    "token_uri missing",
                                    path);
    if (cmk_url_check(s->token_uri, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: token_uri must be https", path);
    return CMK_OK;
}

/* POSTs the assertion and reads the token. */
static cmk_err exchange(const struct cmk_cred_env *env, const char *path,
                        const char *url, const struct cmk_secret *jwt,
                        struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_sb form = {0};
    struct cmk_gauth_grant g = {url, &form, "gcp-service-account", NULL, path};
    cmk_err err;

    cmk_gauth_form_add(&form, "grant_type", GRANT, strlen(GRANT));
    cmk_gauth_form_add(&form, "assertion", (const char *)jwt->p, jwt->len);
    err = cmk_sb_status(&form);
    if (err == CMK_OK)
        err = cmk_gauth_grant(env, &g, st, out);
    cmk_sb_free(&form); /* wipes the assertion */
    return err;
}

cmk_err cmk_gauth_sa(const struct cmk_cred_env *env,
                     const struct cmk_gauth_file *f, const char *path,
                     struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_secret jwt = {0};
    struct cmk_gauth_jwt j;
    struct sa_fields s;
    cmk_err err;

    err = sa_fields(f, path, st, &s);
    if (err != CMK_OK)
        return err;
    j.kid = s.kid;
    j.iss = s.email;
    j.aud = s.token_uri;
    j.scope = CMK_GAUTH_SCOPE;
    j.iat = cmk_creds_now(env);
    err = cmk_gauth_jwt(&j, (const char *)f->private_key.p, f->private_key.len,
                        &jwt);
    if (err != CMK_OK)
        err = cmk_creds_refuse_why(st, err, "GcpPrivateKey",
                                   "%s: private_key is not a usable RSA key",
                                   path);
    if (err == CMK_OK)
        err = exchange(env, path, s.token_uri, &jwt, st, out);
    cmk_secret_free(&jwt);
    return err;
}
