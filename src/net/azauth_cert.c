/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the client-certificate source (azauth.h 2): a PEM file with the
 * certificate and its RSA private key (azure.client_certificate_file,
 * else AZURE_CLIENT_CERTIFICATE_PATH), trusted as a key (owner-only, not
 * a symlink) and read into guarded memory; the certificate's thumbprints
 * name it in the assertion (azauth_jwt.c), whose key lives in OpenSSL
 * only while it signs (mech/rs256.c).
 */
#include <config.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "net/gauth_int.h"

static bool has(const char *text, size_t len, const char *s)
{
    return memmem(text, len, s, strlen(s)) != NULL;
}

cmk_err cmk_azauth_cert_parse(const char *text, size_t len,
                              struct cmk_azauth_cert *c)
{
    uint8_t x5t[CMK_X5T_LEN], s256[CMK_X5T_S256_LEN];
    cmk_err err;

    memset(c, 0, sizeof(*c));
    if (!has(text, len, "-----BEGIN CERTIFICATE-----") ||
        !has(text, len, "PRIVATE KEY-----"))
        return CMK_E_CONFIG;
    err = cmk_x509_thumbprints(text, len, x5t, s256);
    if (err != CMK_OK)
        return err;
    sodium_bin2base64(c->x5t, sizeof(c->x5t), x5t, sizeof(x5t),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(c->x5t_s256, sizeof(c->x5t_s256), s256, sizeof(s256),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return CMK_OK;
}

/* The assertion of the key in pem into g->form. */
static cmk_err assertion(const struct cmk_cred_env *env, const char *path,
                         enum cmk_azauth_alg alg, const char *pem, size_t len,
                         struct cmk_cred_status *st, struct cmk_azauth_grant *g)
{
    struct cmk_secret jwt = {0};
    struct cmk_azauth_cert c;
    struct cmk_azauth_jwt j = {alg, &c, g->client_id, g->url,
                               cmk_creds_now(env)};
    cmk_err err;

    err = cmk_azauth_cert_parse(pem, len, &c);
    if (err == CMK_OK)
        err = cmk_azauth_jwt(&j, pem, len, &jwt);
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, err == CMK_E_NOMEM ? err : CMK_E_CONFIG,
                                    "AzureClientCertificate",
                                    "%s: not a PEM certificate with its "
                                    "unencrypted RSA private key (2048 bits "
                                    "or more)",
                                    path);
    cmk_gauth_form_add(&g->form, "client_assertion_type", CMK_AZAUTH_JWT_BEARER,
                       strlen(CMK_AZAUTH_JWT_BEARER));
    cmk_gauth_form_add(&g->form, "client_assertion", (const char *)jwt.p,
                       jwt.len);
    cmk_secret_free(&jwt);
    return CMK_OK;
}

static cmk_err from_file(const struct cmk_cred_env *env, const char *path,
                         enum cmk_azauth_alg alg, struct cmk_cred_status *st,
                         struct cmk_azauth_grant *g)
{
    char why[300] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_AZAUTH_CERT_MAX, true, &text, &len, why,
                              sizeof(why));
    if (err != CMK_OK)
        return cmk_creds_refuse_why(
            st,
            err == CMK_E_KEY_NOT_FOUND || err == CMK_E_IO ? CMK_E_CONFIG : err,
            "AzureClientCertificate", "%s", why);
    err = assertion(env, path, alg, text, len, st, g);
    cmk_creds_free_file(text); /* wipes the private key */
    return err;
}

cmk_err cmk_azauth_cert(const struct cmk_cred_env *env, const char *path,
                        enum cmk_azauth_alg alg, struct cmk_cred_status *st,
                        struct cmk_creds **out)
{
    struct cmk_azauth_grant g = {NULL, NULL, CMK_AZAUTH_SRC_CERT, {0}};
    const char *tenant;
    char *url = NULL;
    cmk_err err;

    err = cmk_azauth_who(env, CMK_AZAUTH_SRC_CERT, st, &g.client_id, &tenant);
    if (err == CMK_OK)
        err = cmk_azauth_token_url(env, tenant, st, &url);
    g.url = url;
    if (err == CMK_OK)
        err = from_file(env, path, alg, st, &g);
    if (err == CMK_OK)
        err = cmk_azauth_grant(env, &g, st, out);
    cmk_sb_free(&g.form); /* wipes the assertion */
    free(url);
    return err;
}
