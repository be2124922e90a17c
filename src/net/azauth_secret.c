/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the client-secret source (azauth.h 1): the secret from the
 * tenant's azure.client_secret_file, trusted as a key (owner-only, not a
 * symlink, at most CMK_AZAUTH_SECRET_MAX bytes, one trailing newline
 * dropped), else AZURE_CLIENT_SECRET, sent in the client-credentials form
 * (azauth_token.c).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "net/gauth_int.h"

/* The file's secret: "client_secret=<encoded>" into g->form. */
static cmk_err from_file(const char *path, struct cmk_cred_status *st,
                         struct cmk_sb *form)
{
    char why[300] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_AZAUTH_SECRET_MAX, true, &text, &len,
                              why, sizeof(why));
    if (err != CMK_OK)
        return cmk_creds_refuse_why(
            st,
            err == CMK_E_KEY_NOT_FOUND || err == CMK_E_IO ? CMK_E_CONFIG : err,
            "AzureClientSecretFile", "%s", why);
    if (len > 0 && text[len - 1] == '\n')
        len--;
    if (len > 0 && text[len - 1] == '\r')
        len--;
    if (len == 0 || memchr(text, '\0', len) != NULL)
        err = cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureClientSecretFile",
                                   "%s: holds no client secret", path);
    else
        cmk_gauth_form_add(form, "client_secret", text, len);
    cmk_creds_free_file(text); /* wipes */
    return err;
}

cmk_err cmk_azauth_secret(const struct cmk_cred_env *env, const char *path,
                          struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_azauth_grant g = {NULL, NULL, CMK_AZAUTH_SRC_SECRET, {0}};
    const char *tenant, *secret;
    char *url = NULL;
    cmk_err err;

    err = cmk_azauth_who(env, CMK_AZAUTH_SRC_SECRET, st, &g.client_id, &tenant);
    if (err == CMK_OK)
        err = cmk_azauth_token_url(env, tenant, st, &url);
    if (err == CMK_OK && path != NULL) {
        err = from_file(path, st, &g.form);
    } else if (err == CMK_OK) {
        secret = cmk_creds_getenv(env, "AZURE_CLIENT_SECRET");
        if (secret == NULL || secret[0] == '\0')
            err = cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureClientSecret",
                                       "AZURE_CLIENT_SECRET is empty");
        else
            cmk_gauth_form_add(&g.form, "client_secret", secret,
                               strlen(secret));
    }
    g.url = url;
    if (err == CMK_OK)
        err = cmk_azauth_grant(env, &g, st, out);
    cmk_sb_free(&g.form); /* wipes the secret */
    free(url);
    return err;
}
