/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: service-account impersonation for an external_account
 * (gauth_ext.c): POST {"scope": [cloud-platform], "lifetime": "Ns"} to
 * the file's service_account_impersonation_url (IAM Credentials
 * generateAccessToken) with the federated token as the bearer; the
 * answer {"accessToken", "expireTime" (RFC 3339)} is the token used. Both
 * tokens stay in guarded memory and wiped buffers.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"
#include "net/json.h"
#include "util/text.h"
#include "util/utc.h"

#define IMP_TIMEOUT_MS 10000u
#define IMP_ATTEMPTS 3u

/* The google.rpc.Status of a refusal, as "Impersonation:<status>". */
static cmk_err imp_refused(const struct cmk_http_resp *r,
                           struct cmk_cred_status *st)
{
    json_t *root = r->body.p != NULL ? json_loadb((const char *)r->body.p,
                                                  r->body.len, 0, NULL)
                                     : NULL;
    const char *s = json_string_value(
        json_object_get(json_object_get(root, "error"), "status"));
    char status[40] = "";
    cmk_err err = CMK_E_ACCESS_DENIED;

    if (s != NULL)
        cmk_code_copy(s, strlen(s), status, sizeof(status));
    json_decref(root);
    if (r->status == 429)
        err = CMK_E_THROTTLED;
    else if (r->status >= 500)
        err = CMK_E_KMS_INTERNAL;
    if (status[0] == '\0')
        return cmk_creds_refuse(st, err, "ImpersonationRefused");
    snprintf(st->code, sizeof(st->code), "Impersonation:%s", status);
    return err;
}

static cmk_err imp_token(struct cmk_http_resp *r, int64_t now,
                         struct cmk_creds **out)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL;
    const char *when;
    int64_t expires = 0;
    bool found = false;
    cmk_err err;

    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = cmk_json_take_secret((char *)r->body.p, r->body.len, "accessToken",
                               &tok, &found);
    if (err == CMK_OK &&
        (root = json_loadb((const char *)r->body.p, r->body.len,
                           JSON_REJECT_DUPLICATES, NULL)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    when = json_string_value(json_object_get(root, "expireTime"));
    if (err == CMK_OK &&
        (!found || tok.len == 0 || strlen((const char *)tok.p) != tok.len ||
         when == NULL || !cmk_rfc3339_parse(when, &expires) || expires <= now ||
         expires - now > CMK_GAUTH_TOKEN_LIFE_MAX))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_creds_new(CMK_GAUTH_ID, (const char *)tok.p, NULL, expires,
                            "gcp-impersonated", out);
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}

cmk_err cmk_gauth_imp_answer(struct cmk_http_resp *r, int64_t now,
                             struct cmk_cred_status *st, struct cmk_creds **out)
{
    st->http_status = r->status;
    if (r->status != 200)
        return imp_refused(r, st);
    if (imp_token(r, now, out) != CMK_OK)
        return cmk_creds_refuse(st, CMK_E_BAD_RESPONSE,
                                "ImpersonationMalformed");
    return CMK_OK;
}

cmk_err cmk_gauth_impersonate(const struct cmk_cred_env *env,
                              const struct cmk_gauth_ext *x, const char *path,
                              const struct cmk_creds *fed,
                              struct cmk_cred_status *st,
                              struct cmk_creds **out)
{
    struct cmk_sb auth = {0}, body = {0};
    const char *hdrs[2] = {NULL, "Content-Type: application/json"};
    struct cmk_http_req rq = {
        "POST", x->imp_url,         hdrs,           2, NULL,
        0,      CMK_URL_HTTPS_ONLY, IMP_TIMEOUT_MS, 0};
    struct cmk_http_resp resp;
    cmk_err err;

    cmk_sb_printf(&auth, "Authorization: Bearer %s", cmk_gauth_bearer(fed));
    cmk_sb_puts(&body, "{\"scope\":[");
    cmk_json_put_str(&body, CMK_GAUTH_PLATFORM_SCOPE);
    cmk_sb_printf(&body, "],\"lifetime\":\"%lds\"}", x->lifetime_s);
    err = cmk_sb_status(&auth);
    if (err == CMK_OK)
        err = cmk_sb_status(&body);
    hdrs[0] = auth.p;
    rq.body = (const uint8_t *)body.p;
    rq.body_len = body.len;
    if (err == CMK_OK)
        err = cmk_creds_fetch(env, &rq, IMP_ATTEMPTS, st, &resp);
    if (err == CMK_OK) {
        err = cmk_gauth_imp_answer(&resp, cmk_creds_now(env), st, out);
        cmk_http_resp_free(&resp); /* wipes */
    }
    if (err == CMK_E_ACCESS_DENIED) /* said once by the chain */
        snprintf(st->detail, sizeof(st->detail),
                 "%s: impersonating the service account was refused (HTTP "
                 "%ld)",
                 path, st->http_status);
    cmk_sb_free(&auth); /* wipes the federated token */
    cmk_sb_free(&body);
    return err;
}
