/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: one request to a Vault auth route (a login, renew-self) and its
 * answer (vauth_int.h). The request carries X-Vault-Request, the
 * namespace and, for renew-self, the token; a login's body holds a
 * secret id or a JWT and is wiped by the caller. Errors: 400 and 403
 * are the method's refusal ("LoginRefused", CMK_E_ACCESS_DENIED; the
 * message is not kept, it may quote the request), 503 a sealed or
 * standby node ("VaultUnavailable"), any other status
 * "AuthEndpointError" (CMK_E_KMS_INTERNAL). Transport failures are
 * retried as every credential endpoint's (net/creds_int.h); a request
 * with a client certificate goes once.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "net/vauth_int.h"

static cmk_err refused(const struct cmk_http_resp *resp,
                       struct cmk_cred_status *st)
{
    st->http_status = resp->status;
    if (resp->status == 400 || resp->status == 403)
        return cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "LoginRefused");
    if (resp->status == 503)
        return cmk_creds_refuse(st, CMK_E_KMS_INTERNAL, "VaultUnavailable");
    return cmk_creds_refuse(st, CMK_E_KMS_INTERNAL, "AuthEndpointError");
}

/* Headers: X-Vault-Request, Content-Type, then namespace and token. */
static cmk_err headers(const struct cmk_vauth *va, const char *token,
                       struct cmk_sb *ns, struct cmk_sb *tok,
                       const char *lines[4], size_t *n)
{
    lines[0] = "X-Vault-Request: true";
    lines[1] = "Content-Type: application/json";
    *n = 2;
    if (va->env.ns != NULL) {
        cmk_sb_printf(ns, "X-Vault-Namespace: %s", va->env.ns);
        if (cmk_sb_status(ns) != CMK_OK)
            return CMK_E_NOMEM;
        lines[(*n)++] = ns->p;
    }
    if (token != NULL) {
        cmk_sb_printf(tok, "X-Vault-Token: %s", token);
        if (cmk_sb_status(tok) != CMK_OK)
            return CMK_E_NOMEM;
        lines[(*n)++] = tok->p;
    }
    return CMK_OK;
}

cmk_err cmk_vauth_post(const struct cmk_vauth *va, const char *path,
                       const struct cmk_sb *body, const char *token,
                       const struct cmk_http_client_cert *cc,
                       struct cmk_cred_status *st, struct cmk_http_resp *resp)
{
    struct cmk_sb url = {0}, ns = {0}, tok = {0};
    const char *lines[4];
    struct cmk_http_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    memset(resp, 0, sizeof(*resp));
    cmk_sb_printf(&url, "%s/v1/%s", va->env.address, path);
    err = cmk_sb_status(&url);
    if (err == CMK_OK)
        err = headers(va, token, &ns, &tok, lines, &rq.n_headers);
    rq.method = "POST";
    rq.url = url.p;
    rq.headers = lines;
    rq.body = (const uint8_t *)(body != NULL ? body->p : "{}");
    rq.body_len = body != NULL ? body->len : 2;
    rq.url_flags = CMK_URL_HTTPS_ONLY;
    if (err == CMK_OK && cc != NULL)
        err = cmk_http_do_cert(va->env.http, &rq, cc, resp);
    else if (err == CMK_OK)
        err = cmk_creds_fetch(&va->cache.env, &rq, 3, st, resp);
    if (err != CMK_OK && st->code[0] == '\0')
        (void)cmk_creds_refuse(st, err, "AuthEndpointUnreachable");
    else if (err == CMK_OK && resp->status != 200)
        err = refused(resp, st);
    cmk_sb_free(&url);
    cmk_sb_free(&ns);
    cmk_sb_free(&tok); /* wipes the token */
    return err;
}

/* auth.client_token lifted out of the body into tok. */
static cmk_err take_token(struct cmk_http_resp *r, struct cmk_secret *tok)
{
    char *auth;
    size_t len;
    bool found = false;
    cmk_err err;

    err = cmk_json_member_span((char *)r->body.p, r->body.len, "auth", &auth,
                               &len);
    if (err == CMK_OK && auth == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_json_take_secret(auth, len, "client_token", tok, &found);
    if (err == CMK_OK &&
        (!found || tok->len == 0 || strlen((const char *)tok->p) != tok->len))
        err = CMK_E_BAD_RESPONSE;
    return err;
}

cmk_err cmk_vauth_parse_auth(struct cmk_http_resp *r, const char *source,
                             int64_t now, struct cmk_creds **out,
                             bool *renewable)
{
    struct cmk_secret tok = {0};
    json_t *root = NULL, *auth, *ld, *rn;
    int64_t expires = 0;
    cmk_err err;

    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = take_token(r, &tok);
    if (err == CMK_OK && (root = cmk_json_load_object((const char *)r->body.p,
                                                      r->body.len)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    auth = json_object_get(root, "auth");
    ld = json_object_get(auth, "lease_duration");
    rn = json_object_get(auth, "renewable");
    if (err == CMK_OK && (!json_is_integer(ld) || json_integer_value(ld) < 0 ||
                          json_integer_value(ld) > 10 * 365 * 86400L ||
                          (rn != NULL && !json_is_boolean(rn))))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK && json_integer_value(ld) > 0)
        expires = now + json_integer_value(ld);
    if (err == CMK_OK) {
        *renewable = json_is_true(rn);
        err = cmk_creds_new(CMK_VAUTH_ID, (const char *)tok.p, NULL, expires,
                            source, out);
    }
    json_decref(root);
    cmk_secret_free(&tok); /* wipes */
    return err;
}
