/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the settings the Entra ID sources share (azauth_int.h): which
 * client and tenant ask, and the authority host's token URL. The tenant
 * becomes a path segment and the host is never taken from a challenge,
 * so both are checked before any request leaves.
 */
#include <config.h>

#include <string.h>

#include "net/azauth_int.h"
#include "net/creds_int.h"

static const struct cmk_azauth_cfg none;

const struct cmk_azauth_cfg *cmk_azauth_cfg_of(const struct cmk_azauth_ask *a)
{
    return a != NULL && a->cfg != NULL ? a->cfg : &none;
}

static const char *set(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

const char *cmk_azauth_client_id(const struct cmk_cred_env *env)
{
    const char *id = set(cmk_azauth_cfg_of(env->arg)->client_id);

    return id != NULL ? id : set(cmk_creds_getenv(env, "AZURE_CLIENT_ID"));
}

const char *cmk_azauth_tenant_of(const struct cmk_cred_env *env)
{
    const struct cmk_azauth_ask *a = env->arg;
    const char *t = a != NULL ? set(a->tenant) : NULL;

    if (t == NULL)
        t = set(cmk_azauth_cfg_of(a)->tenant_id);
    return t != NULL ? t : set(cmk_creds_getenv(env, "AZURE_TENANT_ID"));
}

bool cmk_azauth_tenant_ok(const char *t)
{
    size_t n = t != NULL ? strlen(t) : 0;

    return n > 0 && n < CMK_AZAUTH_TENANT_MAX &&
           strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789.-") == n;
}

cmk_err cmk_azauth_who(const struct cmk_cred_env *env, const char *what,
                       struct cmk_cred_status *st, const char **client_id,
                       const char **tenant)
{
    *client_id = cmk_azauth_client_id(env);
    *tenant = cmk_azauth_tenant_of(env);
    if (*client_id == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureClientId",
                                    "%s: no client id (azure.client_id or "
                                    "AZURE_CLIENT_ID)",
                                    what);
    if (*tenant == NULL)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureTenant",
                                    "%s: no tenant (azure.tenant_id, "
                                    "AZURE_TENANT_ID or a vault's challenge)",
                                    what);
    if (!cmk_azauth_tenant_ok(*tenant))
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureTenant",
                                    "%s: the tenant id may hold only letters, "
                                    "digits, '.' and '-' (1 to %u)",
                                    what, CMK_AZAUTH_TENANT_MAX - 1);
    return CMK_OK;
}

cmk_err cmk_azauth_token_url(const struct cmk_cred_env *env, const char *tenant,
                             struct cmk_cred_status *st, char **out)
{
    const char *host = set(cmk_azauth_cfg_of(env->arg)->authority_host);
    struct cmk_sb sb = {0};
    size_t n;
    cmk_err err;

    if (host == NULL)
        host = set(cmk_creds_getenv(env, "AZURE_AUTHORITY_HOST"));
    if (host == NULL)
        host = CMK_AZAUTH_AUTHORITY;
    n = strlen(host);
    while (n > 0 && host[n - 1] == '/')
        n--;
    cmk_sb_printf(&sb, "%.*s/%s/oauth2/v2.0/token", (int)n, host, tenant);
    err = cmk_sb_status(&sb);
    if (err == CMK_OK &&
        cmk_url_check(sb.p, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        err = cmk_creds_refuse_why(st, CMK_E_CONFIG, "AzureAuthorityHost",
                                   "the authority host must be https (http "
                                   "only to loopback)");
    if (err == CMK_OK)
        err = cmk_sb_take(&sb, out);
    cmk_sb_free(&sb);
    return err;
}
