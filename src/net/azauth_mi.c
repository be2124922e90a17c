/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the managed identity source (azauth.h 4): App Service and Azure
 * Functions (IDENTITY_ENDPOINT with the secret IDENTITY_HEADER,
 * api-version 2019-08-01) when both are set and the tenant names no
 * azure.imds_endpoint (an operator who names IMDS gets IMDS), else the
 * instance metadata service (IMDS, api-version 2018-02-01, header
 * Metadata: true). IMDS
 * answers 410, 429 and 5xx while it starts or is updated: retried with
 * backoff (creds_fetch.c). Plain http goes only to 169.254.169.254 or
 * loopback (net/http.h), never through a proxy.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"
#include "net/gauth_int.h"

#define IMDS_PATH "/metadata/identity/oauth2/token"
#define IMDS_VERSION "2018-02-01"
#define APP_VERSION "2019-08-01"
#define MI_TIMEOUT_MS 2000u /* a host off Azure must not stall */
#define MI_ATTEMPTS 4u

/* Where the request goes and what it carries. */
struct mi {
    bool app;      /* App Service, else IMDS */
    bool explicit; /* the IMDS address was configured */
    const char *source;
    struct cmk_sb url;
    struct cmk_sb hdr; /* secret with App Service */
};

/* The query parameter naming a user-assigned identity: IMDS and App
 * Service spell two of them differently. */
static const char *id_param(enum cmk_azauth_mi kind, bool app)
{
    switch (kind) {
    case CMK_AZAUTH_MI_CLIENT_ID:
        return "client_id";
    case CMK_AZAUTH_MI_OBJECT_ID:
        return app ? "principal_id" : "object_id";
    case CMK_AZAUTH_MI_RESOURCE_ID:
        return app ? "mi_res_id" : "msi_res_id";
    default:
        return NULL;
    }
}

static void query(const struct cmk_cred_env *env, const struct mi *m,
                  struct cmk_sb *q)
{
    const struct cmk_azauth_ask *a = env->arg;
    const struct cmk_azauth_cfg *cfg = cmk_azauth_cfg_of(a);
    const char *res = a != NULL ? a->resource : "";
    const char *p = id_param(cfg->mi, m->app);
    const char *v = m->app ? APP_VERSION : IMDS_VERSION;

    cmk_gauth_form_add(q, "api-version", v, strlen(v));
    cmk_gauth_form_add(q, "resource", res, strlen(res));
    if (p != NULL && cfg->mi_id != NULL)
        cmk_gauth_form_add(q, p, cfg->mi_id, strlen(cfg->mi_id));
}

/* The IMDS base: azure.imds_endpoint, AZURE_POD_IDENTITY_AUTHORITY_HOST,
 * else the link-local address. */
static const char *imds_base(const struct cmk_cred_env *env, bool *explicit)
{
    const char *b = cmk_azauth_cfg_of(env->arg)->imds_endpoint;

    if (b == NULL || b[0] == '\0')
        b = cmk_creds_getenv(env, "AZURE_POD_IDENTITY_AUTHORITY_HOST");
    *explicit = b != NULL && b[0] != '\0';
    return *explicit ? b : CMK_AZAUTH_IMDS;
}

static cmk_err mi_setup(const struct cmk_cred_env *env, struct mi *m,
                        struct cmk_cred_status *st)
{
    const char *ep = cmk_creds_getenv(env, "IDENTITY_ENDPOINT");
    const char *hv = cmk_creds_getenv(env, "IDENTITY_HEADER");
    const char *cfg_imds = cmk_azauth_cfg_of(env->arg)->imds_endpoint;
    struct cmk_sb q = {0};
    const char *base;
    size_t n;
    cmk_err err;

    m->app = (cfg_imds == NULL || cfg_imds[0] == '\0') && ep != NULL &&
             ep[0] != '\0' && hv != NULL && hv[0] != '\0';
    m->source = m->app ? CMK_AZAUTH_SRC_APP : CMK_AZAUTH_SRC_IMDS;
    if (m->app && strpbrk(hv, "\r\n") != NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureIdentityHeader",
                                    "IDENTITY_HEADER holds a line break");
    base = m->app ? ep : imds_base(env, &m->explicit);
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    query(env, m, &q);
    cmk_sb_printf(&m->url, "%.*s%s?%s", (int)n, base, m->app ? "" : IMDS_PATH,
                  q.len > 0 ? q.p : "");
    if (m->app)
        cmk_sb_printf(&m->hdr, "X-IDENTITY-HEADER: %s", hv);
    else
        cmk_sb_puts(&m->hdr, "Metadata: true");
    err = cmk_sb_status(&q);
    cmk_sb_free(&q);
    if (err == CMK_OK)
        err = cmk_sb_status(&m->url);
    if (err == CMK_OK)
        err = cmk_sb_status(&m->hdr);
    if (err == CMK_OK &&
        cmk_url_check(m->url.p, CMK_URL_METADATA_HTTP, NULL) != CMK_OK)
        err = cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureIdentityEndpoint",
                                   "%s: plain http only to 169.254.169.254 or "
                                   "loopback",
                                   m->app ? "IDENTITY_ENDPOINT"
                                          : "the IMDS endpoint");
    return err;
}

/* A refusal of the identity endpoint: its OAuth error, else a code of
 * ours; 404 from IMDS means no managed identity here. */
static cmk_err mi_refused(const struct mi *m, const struct cmk_http_resp *r,
                          struct cmk_cred_status *st)
{
    char code[sizeof(st->code)];

    if (r->status == 404 && !m->app)
        return cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "NoCredentials");
    if (r->status == 429)
        return cmk_creds_refuse(st, CMK_E_THROTTLED, "ManagedIdentityBusy");
    if (r->status >= 500 || r->status == 410)
        return cmk_creds_refuse(st, CMK_E_KMS_INTERNAL, "ManagedIdentityBusy");
    cmk_oauth_error((const char *)r->body.p, r->body.len,
                    "ManagedIdentityRefused", code, sizeof(code));
    return cmk_creds_refuse_why(st, CMK_E_ACCESS_DENIED, code,
                                "%s: the identity endpoint refused (HTTP %ld)",
                                m->source, r->status);
}

static cmk_err mi_call(const struct cmk_cred_env *env, const struct mi *m,
                       struct cmk_cred_status *st, struct cmk_creds **out)
{
    const char *hdrs[1] = {m->hdr.p};
    struct cmk_http_req rq = {
        "GET",         m->url.p, hdrs, 1, NULL, 0, CMK_URL_METADATA_HTTP,
        MI_TIMEOUT_MS, 0};
    struct cmk_http_resp resp;
    cmk_err err;

    err = cmk_creds_fetch_gone(env, &rq, MI_ATTEMPTS, st, &resp);
    if (err != CMK_OK)
        return err;
    st->http_status = resp.status;
    if (resp.status != 200)
        err = mi_refused(m, &resp, st);
    else if (cmk_azauth_parse_token(&resp, m->source, cmk_creds_now(env),
                                    out) != CMK_OK)
        err = cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "AzureTokenMalformed");
    cmk_http_resp_free(&resp); /* wipes */
    return err;
}

cmk_err cmk_azauth_mi(const struct cmk_cred_env *env,
                      struct cmk_cred_status *st, struct cmk_creds **out)
{
    struct mi m = {false, false, NULL, {0}, {0}};
    cmk_err err;

    err = mi_setup(env, &m, st);
    if (err == CMK_OK)
        err = mi_call(env, &m, st, out);
    /* Not on Azure: the default address does not answer. That is "no
     * credentials here", not an error of its own. */
    if (!m.app && !m.explicit && (err == CMK_E_NETWORK || err == CMK_E_TIMEOUT))
        err = cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "NoCredentials");
    cmk_sb_free(&m.url);
    cmk_sb_free(&m.hdr); /* wipes IDENTITY_HEADER */
    return err;
}
