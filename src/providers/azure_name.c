/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Azure key identifiers (azure_int.h). A key reference is
 * https://HOST[:PORT][/vaults/NAME]/keys/KEYNAME[/VERSION], KEYNAME
 * [0-9A-Za-z-]{1,127} (Key Vault's object names), VERSION 32 lowercase
 * hex digits; HOST a Key Vault (*.vault.azure.net), a Managed HSM
 * (*.managedhsm.azure.net) or, for tests, this machine (http allowed
 * there only: cmk_url_check). Checked to the character, so that a name
 * goes into a URL as it is. The vault base is the URL before "/keys/".
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "providers/azure_int.h"

static const char *const vault_domains[] = {".vault.azure.net",
                                            ".managedhsm.azure.net"};
static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};

static bool name_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '-';
}

static bool hex_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A run of name characters at *p ending at '/' or the end; advances. */
static bool take_name(const char **p, char *out, size_t max)
{
    size_t i = 0;

    while (name_char((*p)[i]))
        i++;
    if (i == 0 || i > max || ((*p)[i] != '\0' && (*p)[i] != '/'))
        return false;
    if (out != NULL) {
        memcpy(out, *p, i);
        out[i] = '\0';
    }
    *p += i;
    return true;
}

static bool host_char(char c)
{
    return name_char(c) || c == '.';
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);

    return n > k && strncmp(s + n - k, suffix, k) == 0;
}

/* The host (lower case, no port) is a vault's or this machine's. */
static bool host_ok(const char *h)
{
    size_t i, n = strlen(h);

    for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        if (strcmp(h, loopback[i]) == 0)
            return true;
    }
    for (i = 0; i < n; i++) {
        if (!host_char(h[i]) || (h[i] >= 'A' && h[i] <= 'Z'))
            return false;
    }
    for (i = 0; i < sizeof(vault_domains) / sizeof(vault_domains[0]); i++) {
        if (ends_with(h, n, vault_domains[i]) &&
            h[n - strlen(vault_domains[i]) - 1] != '.')
            return true;
    }
    return false;
}

/* scheme://authority at s: the host into out, *p past the authority. */
static bool take_authority(const char *s, const char **p, char *host,
                           size_t max)
{
    const char *a, *end, *colon;
    size_t n;

    if (strncmp(s, "https://", 8) == 0)
        a = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        a = s + 7;
    else
        return false;
    end = strchr(a, '/');
    if (end == NULL)
        return false;
    colon = a[0] == '[' ? memchr(a, ']', (size_t)(end - a)) : a;
    if (colon == NULL)
        return false;
    colon = memchr(colon, ':', (size_t)(end - colon));
    n = (size_t)((colon != NULL ? colon : end) - a);
    if (n == 0 || n >= max)
        return false;
    memcpy(host, a, n);
    host[n] = '\0';
    for (colon = colon != NULL ? colon + 1 : end; colon < end; colon++) {
        if (*colon < '0' || *colon > '9')
            return false;
    }
    *p = end;
    return host_ok(host);
}

static bool take_version(const char *p, char *out)
{
    size_t i;

    for (i = 0; i < AZ_VERSION_LEN; i++) {
        if (!hex_char(p[i]))
            return false;
    }
    if (p[i] != '\0')
        return false;
    memcpy(out, p, AZ_VERSION_LEN);
    out[AZ_VERSION_LEN] = '\0';
    return true;
}

/* The path after the authority: [/vaults/NAME]/keys/NAME[/VERSION]. */
static bool take_path(const char *s, const char *p, struct az_ref *r)
{
    if (strncmp(p, "/vaults/", 8) == 0) {
        p += 8;
        if (!take_name(&p, NULL, AZ_NAME_MAX))
            return false;
    }
    if ((size_t)(p - s) >= sizeof(r->base) || strncmp(p, "/keys/", 6) != 0)
        return false;
    memcpy(r->base, s, (size_t)(p - s));
    r->base[p - s] = '\0';
    p += 6;
    if (!take_name(&p, r->name, AZ_NAME_MAX))
        return false;
    if ((size_t)(p - s) > AZ_REF_MAX)
        return false;
    if (*p == '\0')
        return true;
    return take_version(p + 1, r->version);
}

bool cmk_azure_ref_parse(const char *s, struct az_ref *out)
{
    struct az_ref r;
    const char *p = NULL;

    if (s == NULL || strlen(s) >= AZ_KID_MAX)
        return false;
    if (cmk_url_check(s, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        return false;
    memset(&r, 0, sizeof(r));
    if (!take_authority(s, &p, r.host, sizeof(r.host)) || !take_path(s, p, &r))
        return false;
    if (out != NULL)
        *out = r;
    return true;
}

bool cmk_azure_is_version_of(const char *kid, const struct az_ref *ref)
{
    struct az_ref k;

    return cmk_azure_ref_parse(kid, &k) && k.version[0] != '\0' &&
           strcmp(k.base, ref->base) == 0 && strcmp(k.name, ref->name) == 0;
}

bool cmk_azure_is_kid(const char *kid)
{
    struct az_ref k;

    return cmk_azure_ref_parse(kid, &k) && k.version[0] != '\0';
}
