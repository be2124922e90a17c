/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: which URLs the module may call. https everywhere; plain http only
 * to this host (emulators, local proxies) and, for credential endpoints,
 * the fixed link-local addresses AWS serves metadata and container
 * credentials on, which are http by design.
 */
#include <config.h>

#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"

static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]", NULL};
/* IMDS (IPv4, IPv6), ECS and EKS Pod Identity agents. */
static const char *const metadata[] = {"169.254.169.254", "[fd00:ec2::254]",
                                       "169.254.170.2",   "169.254.170.23",
                                       "[fd00:ec2::23]",  NULL};

static bool in_list(const char *host, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcasecmp(host, *list) == 0)
            return true;
    }
    return false;
}

/* Checks scheme and host of a parsed URL. */
static cmk_err check_parts(const char *scheme, const char *host, unsigned flags,
                           const char **why)
{
    if (strcasecmp(scheme, "https") == 0)
        return CMK_OK;
    if (strcasecmp(scheme, "http") != 0) {
        *why = "only https (or http to this host) is allowed";
        return CMK_E_CONFIG;
    }
    if (in_list(host, loopback))
        return CMK_OK;
    if ((flags & CMK_URL_METADATA_HTTP) != 0 && in_list(host, metadata))
        return CMK_OK;
    *why = (flags & CMK_URL_METADATA_HTTP) != 0
               ? "plain http only to 127.0.0.1, localhost, [::1] or the "
                 "AWS metadata addresses"
               : "plain http only to 127.0.0.1, localhost or [::1]; use "
                 "https";
    return CMK_E_CONFIG;
}

cmk_err cmk_url_check(const char *url, unsigned flags, const char **why)
{
    const char *dummy;
    char *scheme = NULL, *host = NULL;
    CURLU *u;
    cmk_err err = CMK_E_CONFIG;

    why = why != NULL ? why : &dummy;
    *why = "not an absolute http(s) URL";
    if (url == NULL)
        return CMK_E_ARGS;
    u = curl_url();
    if (u == NULL)
        return CMK_E_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        host[0] != '\0')
        err = check_parts(scheme, host, flags, why);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return err;
}

bool cmk_url_is_local(const char *url)
{
    char *host = NULL;
    bool local = false;
    CURLU *u = curl_url();

    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        local = in_list(host, loopback) || in_list(host, metadata);
    curl_free(host);
    curl_url_cleanup(u);
    return local;
}
