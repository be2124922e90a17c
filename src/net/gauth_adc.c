/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: where gcloud keeps Application Default Credentials (what `gcloud
 * auth application-default login` writes): the configuration directory
 * CLOUDSDK_CONFIG, else ~/.config/gcloud, as Google's client libraries
 * look for it on Linux. Whether the file is there is for the reader to
 * find out (gauth_file.c): checking first would race with it.
 */
#include <config.h>

#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"

#define ADC_NAME "application_default_credentials.json"

cmk_err cmk_gauth_adc_path(const struct cmk_cred_env *env, char **out)
{
    const char *dir = cmk_creds_getenv(env, "CLOUDSDK_CONFIG");
    const char *home = cmk_creds_getenv(env, "HOME");
    struct cmk_sb sb = {0};
    cmk_err err;

    *out = NULL;
    if (dir != NULL)
        cmk_sb_printf(&sb, "%s/" ADC_NAME, dir);
    else if (home != NULL)
        cmk_sb_printf(&sb, "%s/.config/gcloud/" ADC_NAME, home);
    else
        return CMK_OK;
    err = cmk_sb_take(&sb, out);
    cmk_sb_free(&sb);
    return err;
}
