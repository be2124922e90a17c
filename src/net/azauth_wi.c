/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the workload identity source (azauth.h 3, AKS): the federated
 * token in AZURE_FEDERATED_TOKEN_FILE, read again at every refresh (the
 * kubelet rotates it), sent as the client assertion of the
 * client-credentials grant (azauth_token.c).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "net/gauth_int.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cmk_err cmk_azauth_wi_token(char *text, size_t len, struct cmk_secret *tok)
{
    size_t a = 0;

    while (len > 0 && is_space(text[len - 1]))
        len--;
    while (a < len && is_space(text[a]))
        a++;
    if (a == len || memchr(text + a, '\0', len - a) != NULL ||
        memchr(text + a, '\n', len - a) != NULL ||
        memchr(text + a, '\r', len - a) != NULL)
        return CMK_E_CONFIG;
    return cmk_secret_dup(tok, (const uint8_t *)text + a, len - a);
}

/* "client_assertion_type=..&client_assertion=<the token>" into form.
 * The file is a projected service-account token that Kubernetes mounts
 * through symlinks (token -> ..data/token, ..data -> a timestamped
 * directory swapped at each rotation), so unlike a key file it may be
 * reached through a symlink (its target is checked: owned by us or root,
 * not writable by others; a dangling link is refused as missing). It is
 * short-lived and meant for this pod, so it need not be owner-only. */
static cmk_err from_file(const char *path, struct cmk_cred_status *st,
                         struct cmk_sb *form)
{
    struct cmk_secret tok = {0};
    char why[300] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_AZAUTH_FED_MAX, false, &text, &len, why,
                              sizeof(why));
    if (err != CMK_OK)
        return cmk_creds_refuse_why(
            st,
            err == CMK_E_KEY_NOT_FOUND || err == CMK_E_IO ? CMK_E_CONFIG : err,
            "AzureFederatedToken", "AZURE_FEDERATED_TOKEN_FILE %s", why);
    err = cmk_azauth_wi_token(text, len, &tok);
    cmk_creds_free_file(text); /* wipes */
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, err, "AzureFederatedToken",
                                    "AZURE_FEDERATED_TOKEN_FILE %s: holds no "
                                    "token",
                                    path);
    cmk_gauth_form_add(form, "client_assertion_type", CMK_AZAUTH_JWT_BEARER,
                       strlen(CMK_AZAUTH_JWT_BEARER));
    cmk_gauth_form_add(form, "client_assertion", (const char *)tok.p, tok.len);
    cmk_secret_free(&tok);
    return CMK_OK;
}

cmk_err cmk_azauth_wi(const struct cmk_cred_env *env, const char *path,
                      struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_azauth_grant g = {NULL, NULL, CMK_AZAUTH_SRC_WI, {0}};
    const char *tenant;
    char *url = NULL;
    cmk_err err;

    err = cmk_azauth_who(env, CMK_AZAUTH_SRC_WI, st, &g.client_id, &tenant);
    if (err == CMK_OK)
        err = cmk_azauth_token_url(env, tenant, st, &url);
    g.url = url;
    if (err == CMK_OK)
        err = from_file(path, st, &g.form);
    if (err == CMK_OK)
        err = cmk_azauth_grant(env, &g, st, out);
    cmk_sb_free(&g.form); /* wipes the federated token */
    free(url);
    return err;
}
