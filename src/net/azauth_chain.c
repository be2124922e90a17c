/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Entra ID token sources in order (azauth.h). Placeholder until
 * the sources land: no source is configured.
 */
#include <config.h>

#include <string.h>

#include "net/azauth.h"

cmk_err cmk_azauth_resolve(const struct cmk_cred_env *env,
                           struct cmk_cred_status *st, struct cmk_creds **out)
{
    if (env == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    memset(st, 0, sizeof(*st));
    strcpy(st->code, "NoCredentials");
    return CMK_E_ACCESS_DENIED;
}
