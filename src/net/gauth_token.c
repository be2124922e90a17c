/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: a Google token endpoint's answer (OAuth 2.0 token endpoint and
 * metadata server alike) as a cached token (gauth.h), the token lifted
 * into guarded memory before jansson parses the rest.
 */
#include <config.h>

#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "net/gauth.h"
#include "net/json.h"

#define TOKEN_LIFE_MAX 86400 /* longer than any Google access token */
#define OAUTH2_ID "oauth2"   /* access_key_id of a token: not secret */

const char *cmk_gauth_bearer(const struct cmk_creds *tok)
{
    return tok != NULL ? tok->secret_access_key : NULL;
}

cmk_err cmk_gauth_parse_token(struct cmk_http_resp *r, const char *source,
                              int64_t now, struct cmk_creds **out)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL, *exp;
    const char *type;
    bool found = false;
    cmk_err err;

    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = cmk_json_take_secret((char *)r->body.p, r->body.len, "access_token",
                               &tok, &found);
    if (err == CMK_OK &&
        (root = json_loadb((const char *)r->body.p, r->body.len,
                           JSON_REJECT_DUPLICATES, NULL)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    exp = json_object_get(root, "expires_in");
    type = json_string_value(json_object_get(root, "token_type"));
    if (err == CMK_OK &&
        (!found || tok.len == 0 || strlen((const char *)tok.p) != tok.len ||
         !json_is_integer(exp) || json_integer_value(exp) <= 0 ||
         json_integer_value(exp) > TOKEN_LIFE_MAX || type == NULL ||
         strcasecmp(type, "Bearer") != 0))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err =
            cmk_creds_new(OAUTH2_ID, (const char *)tok.p, NULL,
                          now + (int64_t)json_integer_value(exp), source, out);
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}
