/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: a vault's 401 challenge (RFC 9110 11.6.1 WWW-Authenticate,
 * as Key Vault writes it): Bearer authorization="https://<login
 * host>/<tenant>", resource="<R>"; authorization_uri= and
 * scope="<R>/.default" are taken too, as Azure's SDK does. The resource
 * is accepted only for a vault under its domain (vault.azure.net for
 * myvault.vault.azure.net, on a label boundary) or when it is the one the
 * tenant configured: a vault, or something in front of it, cannot send
 * the module's tokens to another audience.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "providers/azure_int.h"

#define DEFAULT_SUFFIX "/.default"

struct param {
    const char *name;
    size_t name_len;
    const char *val;
    size_t val_len;
};

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

/* One auth-param at p (name=token or name="quoted", no escapes in what
 * Key Vault sends; a backslash is refused); NULL when malformed. */
static const char *next_param(const char *p, struct param *pa)
{
    pa->name = p;
    while (*p != '\0' && *p != '=' && *p != ' ' && *p != ',')
        p++;
    pa->name_len = (size_t)(p - pa->name);
    if (*p != '=' || pa->name_len == 0)
        return NULL;
    p++;
    if (*p == '"') {
        pa->val = ++p;
        while (*p != '\0' && *p != '"' && *p != '\\')
            p++;
        if (*p != '"')
            return NULL;
        pa->val_len = (size_t)(p - pa->val);
        return p + 1;
    }
    pa->val = p;
    while (*p != '\0' && *p != ',' && *p != ' ')
        p++;
    pa->val_len = (size_t)(p - pa->val);
    return p;
}

static bool is(const struct param *pa, const char *name)
{
    return pa->name_len == strlen(name) &&
           strncasecmp(pa->name, name, pa->name_len) == 0;
}

/* The first path segment of an https URL: the tenant. */
static bool tenant_of(const struct param *pa, char *out, size_t max)
{
    const char *p = pa->val, *end = pa->val + pa->val_len, *seg;
    size_t n;

    if (pa->val_len < 9 || strncmp(p, "https://", 8) != 0)
        return false;
    p = memchr(p + 8, '/', (size_t)(end - p - 8));
    if (p == NULL)
        return false;
    seg = ++p;
    while (p < end && *p != '/' && *p != '?')
        p++;
    n = (size_t)(p - seg);
    /* a tenant id (a GUID) or domain name: it goes into a token URL */
    if (n == 0 || n >= max ||
        strspn(seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789.-_") < n)
        return false;
    memcpy(out, seg, n);
    out[n] = '\0';
    return true;
}

/* Visible ASCII, no space, quote or backslash: it goes into a token
 * request's scope. */
static bool printable(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '"' || s[i] == '\\')
            return false;
    }
    return true;
}

static bool resource_of(const struct param *pa, bool scope, char *out,
                        size_t max)
{
    size_t n = pa->val_len, k = strlen(DEFAULT_SUFFIX);

    if (scope) {
        if (n <= k || strncmp(pa->val + n - k, DEFAULT_SUFFIX, k) != 0)
            return false;
        n -= k;
    }
    if (n == 0 || n >= max || !printable(pa->val, n))
        return false;
    memcpy(out, pa->val, n);
    out[n] = '\0';
    return true;
}

cmk_err cmk_azure_challenge_parse(const char *hdr,
                                  char tenant[CMK_AZAUTH_TENANT_MAX],
                                  char resource[CMK_AZAUTH_RESOURCE_MAX])
{
    struct param pa;
    const char *p = hdr;
    bool t = false, r = false;

    tenant[0] = resource[0] = '\0';
    if (p == NULL || strncasecmp(p, "Bearer ", 7) != 0)
        return CMK_E_BAD_RESPONSE;
    for (p = skip_ws(p + 7); *p != '\0'; p = skip_ws(p)) {
        p = next_param(p, &pa);
        if (p == NULL)
            return CMK_E_BAD_RESPONSE;
        if (!t && (is(&pa, "authorization") || is(&pa, "authorization_uri")))
            t = tenant_of(&pa, tenant, CMK_AZAUTH_TENANT_MAX);
        else if (!r && is(&pa, "resource"))
            r = resource_of(&pa, false, resource, CMK_AZAUTH_RESOURCE_MAX);
        else if (!r && is(&pa, "scope"))
            r = resource_of(&pa, true, resource, CMK_AZAUTH_RESOURCE_MAX);
    }
    return t && r ? CMK_OK : CMK_E_BAD_RESPONSE;
}

/* The host of an https URL (no port, no path), lower case. */
static bool url_host(const char *url, char *out, size_t max)
{
    const char *p, *end;
    size_t n, i;

    if (strncmp(url, "https://", 8) != 0)
        return false;
    p = url + 8;
    end = p + strcspn(p, ":/?#");
    n = (size_t)(end - p);
    if (n == 0 || n >= max || (*end != '\0' && *end != '/'))
        return false;
    for (i = 0; i < n; i++) {
        out[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
        if (out[i] == '@')
            return false;
    }
    out[n] = '\0';
    return true;
}

bool cmk_azure_resource_ok(const char *resource, const char *host,
                           const char *configured)
{
    char rh[CMK_AZAUTH_RESOURCE_MAX];
    size_t n, k;

    if (configured != NULL && strcmp(resource, configured) == 0)
        return true;
    if (!url_host(resource, rh, sizeof(rh)))
        return false;
    n = strlen(host);
    k = strlen(rh);
    if (k == n)
        return strcmp(rh, host) == 0;
    return k < n && strcmp(host + n - k, rh) == 0 && host[n - k - 1] == '.';
}
