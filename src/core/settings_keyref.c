/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: one provider key reference of the config (a tenant's "key", its
 * "previous_keys", dual control's key, a key pair's "key"), checked by
 * the provider (settings_int.h).
 */
#include <config.h>

#include "core/settings_int.h"
#include "providers/provider.h"

cmk_err cmk_config_key_ref(struct cmk_conf *cf, const char *field,
                           const char *s, const struct cmk_kms_cfg *kms,
                           char **out)
{
    const struct cmk_provider_ops *ops = cmk_provider_find(kms->provider);
    cmk_err err;

    if (s[0] == '\0')
        return cmk_conf_fail(cf, field, "must not be empty");
    if (ops->check_key_ref != NULL) {
        err = ops->check_key_ref(cf, field, s);
        if (err != CMK_OK)
            return err;
    }
    return cmk_conf_dup(cf, s, out);
}
