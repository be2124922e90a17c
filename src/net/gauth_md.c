/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: tokens from the Google metadata server (GCE, GKE, Cloud Run):
 * GET /computeMetadata/v1/instance/service-accounts/default/token with
 * Metadata-Flavor: Google, an answer accepted only when it carries the
 * same header (kms-protocols.md 2.3). The host is GCE_METADATA_HOST
 * (host[:port], as Google's libraries take it), else 169.254.169.254 by
 * address, not metadata.google.internal: plain http goes only to the
 * link-local address or loopback (net/http.h), never to a name a
 * resolver could redirect.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth.h"
#include "net/strbuf.h"

#define MD_PATH "/computeMetadata/v1/instance/service-accounts/default/token"
#define MD_TIMEOUT_MS 1000u /* as IMDS: a host off GCP must not stall */
#define MD_ATTEMPTS 3u

static cmk_err md_url(const struct cmk_cred_env *env, char **out)
{
    const char *host = cmk_creds_getenv(env, "GCE_METADATA_HOST");
    struct cmk_sb sb = {0};
    cmk_err err;

    if (host == NULL || host[0] == '\0')
        host = CMK_GAUTH_MD_HOST;
    cmk_sb_printf(&sb, "http://%s" MD_PATH, host);
    err = cmk_sb_take(&sb, out);
    cmk_sb_free(&sb);
    return err;
}

static cmk_err md_answer(const struct cmk_cred_env *env,
                         struct cmk_http_resp *resp, struct cmk_cred_status *st,
                         struct cmk_creds **out)
{
    st->http_status = resp->status;
    if (strcmp(resp->metadata_flavor, "Google") != 0)
        return cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "MetadataNotGoogle");
    if (resp->status == 404)
        return cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "NoCredentials");
    if (resp->status != 200)
        return cmk_creds_refuse(st, CMK_E_ACCESS_DENIED, "MetadataRefused");
    if (cmk_gauth_parse_token(resp, "gcp-metadata", cmk_creds_now(env), out) !=
        CMK_OK)
        return cmk_creds_refuse(st, CMK_E_BAD_RESPONSE, "GcpTokenMalformed");
    return CMK_OK;
}

cmk_err cmk_gauth_from_metadata(const struct cmk_cred_env *env,
                                struct cmk_cred_status *st,
                                struct cmk_creds **out)
{
    static const char *const hdrs[] = {"Metadata-Flavor: Google"};
    struct cmk_http_req rq = {
        "GET", NULL, hdrs, 1, NULL, 0, CMK_URL_METADATA_HTTP, MD_TIMEOUT_MS, 0};
    struct cmk_http_resp resp;
    char *url = NULL;
    cmk_err err;

    err = md_url(env, &url);
    if (err != CMK_OK)
        return err;
    if (cmk_url_check(url, CMK_URL_METADATA_HTTP, NULL) != CMK_OK) {
        err = cmk_creds_refuse_why(st, CMK_E_CONFIG, "MetadataHost",
                                   "GCE_METADATA_HOST: plain http only to "
                                   "169.254.169.254 or loopback");
        free(url);
        return err;
    }
    rq.url = url;
    err = cmk_creds_fetch(env, &rq, MD_ATTEMPTS, st, &resp);
    if (err == CMK_OK) {
        err = md_answer(env, &resp, st, out);
        cmk_http_resp_free(&resp); /* wipes */
    }
    free(url);
    return err;
}
