/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Cloud KMS resource names (gcp_int.h). Ids are checked for
 * the characters Google allows (key ring and key ids [A-Za-z0-9_-], 1 to
 * 63; project ids also '.' and ':' for domain-scoped projects; version
 * numbers digits), so that a name can be put into a URL path as it is.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "providers/gcp_int.h"
#include "util/secmem.h"

#define ID_MAX 63
#define VERSION_DIGITS_MAX 10
#define VERSIONS "/cryptoKeyVersions/"

static bool id_char(char c, bool digits_only)
{
    if (c >= '0' && c <= '9')
        return true;
    if (digits_only)
        return false;
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.' || c == ':';
}

/* "<lit>/<id>" at *p: advances past it. */
static bool segment(const char **p, const char *lit, bool digits_only,
                    size_t max)
{
    size_t n = strlen(lit), i = 0;

    if (strncmp(*p, lit, n) != 0)
        return false;
    *p += n;
    while (id_char((*p)[i], digits_only))
        i++;
    if (i == 0 || i > max || ((*p)[i] != '\0' && (*p)[i] != '/'))
        return false;
    *p += i;
    return true;
}

bool cmk_gcp_is_key_name(const char *s, bool allow_version)
{
    const char *p = s;

    if (s == NULL || strlen(s) > GCP_REF_MAX)
        return false;
    if (!segment(&p, "projects/", false, ID_MAX) ||
        !segment(&p, "/locations/", false, ID_MAX) ||
        !segment(&p, "/keyRings/", false, ID_MAX) ||
        !segment(&p, "/cryptoKeys/", false, ID_MAX))
        return false;
    if (*p == '\0')
        return true;
    return allow_version && segment(&p, VERSIONS, true, VERSION_DIGITS_MAX) &&
           *p == '\0' && p[-1] != '/';
}

bool cmk_gcp_is_version_of(const char *version, const char *crypto_key)
{
    size_t n;
    const char *p;

    if (version == NULL || crypto_key == NULL)
        return false;
    n = strlen(crypto_key);
    if (strncmp(version, crypto_key, n) != 0)
        return false;
    p = version + n;
    return segment(&p, VERSIONS, true, VERSION_DIGITS_MAX) && *p == '\0';
}

char *cmk_gcp_crypto_key_of(const char *name)
{
    const char *v = strstr(name, VERSIONS);
    char *out;

    if (v == NULL)
        return cmk_strdup(name);
    out = malloc((size_t)(v - name) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, name, (size_t)(v - name));
    out[v - name] = '\0';
    return out;
}
