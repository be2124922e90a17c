/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the credential chain, the sources of creds_*.c tried in the order
 * creds.h gives; the first one configured here answers.
 */
#include <config.h>

#include <stdio.h>

#include "net/creds_int.h"

static const cmk_cred_source_fn chain[] = {
    cmk_creds_from_file,         cmk_creds_from_env,
    cmk_creds_from_web_identity, cmk_creds_from_profile,
    cmk_creds_from_container,    cmk_creds_from_imds,
};

static cmk_err walk(const struct cmk_cred_env *env, struct cmk_cred_status *st,
                    struct cmk_creds **out)
{
    size_t i;
    cmk_err err;

    for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
        err = chain[i](env, st, out);
        if (err != CMK_OK || *out != NULL)
            return err;
    }
    return cmk_creds_refuse_why(
        st, CMK_E_ACCESS_DENIED, "NoCredentials",
        "none found: no credentials_file, no AWS_ACCESS_KEY_ID, no web "
        "identity token, no keys for profile \"%s\" in the shared files, no "
        "container endpoint, no instance metadata",
        cmk_creds_profile(env));
}

cmk_err cmk_creds_resolve(const struct cmk_cred_env *env,
                          struct cmk_cred_status *st, struct cmk_creds **out)
{
    cmk_err err;

    if (env == NULL || st == NULL || out == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    st->detail[0] = '\0';
    err = walk(env, st, out);
    if (err != CMK_OK)
        cmk_creds_say(st); /* once; the audit has every occurrence */
    return err;
}
