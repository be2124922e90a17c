/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: tokens from an "authorized_user" file (what `gcloud auth
 * application-default login` writes): its refresh token exchanged at
 * token_uri with the refresh_token grant (RFC 6749 6). client_secret and
 * refresh_token stay in guarded memory (gauth_file.c) and in the wiped
 * request body only.
 */
#include <config.h>

#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"

cmk_err cmk_gauth_user_fields(const struct cmk_gauth_file *f, const char *path,
                              struct cmk_cred_status *st,
                              struct cmk_gauth_user *u)
{
    json_t *uri = json_object_get(f->root, "token_uri");

    u->client_id = cmk_gauth_file_str(f, "client_id");
    u->client_secret = &f->client_secret;
    u->refresh_token = &f->refresh_token;
    u->token_uri = CMK_GAUTH_TOKEN_URI;
    if (u->client_id == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: client_id missing", path);
    if (f->client_secret.len == 0)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: client_secret missing", path);
    if (f->refresh_token.len == 0)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: refresh_token missing", path);
    if (uri != NULL) {
        u->token_uri = cmk_gauth_file_str(f, "token_uri");
        if (u->token_uri == NULL ||
            cmk_url_check(u->token_uri, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
            return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                        "%s: token_uri must be an https URL",
                                        path);
    }
    return CMK_OK;
}

cmk_err cmk_gauth_user(const struct cmk_cred_env *env,
                       const struct cmk_gauth_file *f, const char *path,
                       struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct cmk_sb form = {0};
    struct cmk_gauth_user u;
    struct cmk_gauth_grant g = {NULL, &form, "gcp-authorized-user", NULL, path};
    cmk_err err;

    err = cmk_gauth_user_fields(f, path, st, &u);
    if (err != CMK_OK)
        return err;
    g.url = u.token_uri;
    cmk_gauth_form_add(&form, "grant_type", "refresh_token",
                       strlen("refresh_token"));
    cmk_gauth_form_add(&form, "client_id", u.client_id, strlen(u.client_id));
    cmk_gauth_form_add(&form, "client_secret", (const char *)u.client_secret->p,
                       u.client_secret->len);
    cmk_gauth_form_add(&form, "refresh_token", (const char *)u.refresh_token->p,
                       u.refresh_token->len);
    err = cmk_sb_status(&form);
    if (err == CMK_OK)
        err = cmk_gauth_grant(env, &g, st, out);
    cmk_sb_free(&form); /* wipes the secret and the refresh token */
    return err;
}
