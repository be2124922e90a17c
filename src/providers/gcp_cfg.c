/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the gcp provider's configuration rules: the key reference
 * (a cryptoKey or cryptoKeyVersion resource name), no "region" (the
 * location is part of the name), and the tenant's "gcp" object
 * (credentials_file, a service-account key file trusted like the aws
 * credentials_file: absolute, owner-only, no symlink).
 */
#include <config.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "providers/backends.h"
#include "providers/gcp_cfg.h"
#include "providers/gcp_int.h"
#include "util/secmem.h"
#include "util/trust.h"

cmk_err cmk_gcp_cfg_key_ref(struct cmk_conf *cf, const char *field,
                            const char *ref)
{
    if (!cmk_gcp_is_key_name(ref, true))
        return cmk_conf_fail(cf, field,
                             "expected projects/P/locations/L/keyRings/R/"
                             "cryptoKeys/K (optionally "
                             "/cryptoKeyVersions/N), at most 220 bytes");
    return CMK_OK;
}

cmk_err cmk_gcp_cfg_pair_ref(struct cmk_conf *cf, const char *field,
                             const char *ref)
{
    if (!cmk_gcp_is_key_name(ref, true) ||
        strstr(ref, "/cryptoKeyVersions/") == NULL)
        return cmk_conf_fail(cf, field,
                             "expected projects/P/locations/L/keyRings/R/"
                             "cryptoKeys/K/cryptoKeyVersions/N (a key pair is "
                             "one version), at most 220 bytes");
    return CMK_OK;
}

void cmk_gcp_cfg_free(void *cfg)
{
    struct cmk_gcp_cfg *g = cfg;

    if (g == NULL)
        return;
    cmk_str_free(g->auth.credentials_file);
    free(g);
}

static cmk_err parse_block(struct cmk_conf *cf, const char *f, json_t *v,
                           struct cmk_gauth_cfg *a)
{
    static const char *const keys[] = {"credentials_file", NULL};
    char fr[CMK_CONF_FIELD_MAX];
    cmk_err err;

    err = cmk_conf_check_object(cf, f, v, keys);
    if (err == CMK_OK)
        err = cmk_conf_path_dup(cf, f, v, "credentials_file",
                                &a->credentials_file);
    cmk_conf_join(fr, f, "credentials_file");
    if (err == CMK_OK && a->credentials_file != NULL)
        err = cmk_conf_file_if_any(cf, fr, a->credentials_file, O_RDONLY,
                                   CMK_TRUST_SECRET);
    return err;
}

cmk_err cmk_gcp_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                          const struct cmk_kms_cfg *kms, void **out)
{
    json_t *v = json_object_get(t, "gcp");
    struct cmk_gcp_cfg *g = NULL;
    char f[CMK_CONF_FIELD_MAX];
    cmk_err err = CMK_OK;

    if (kms->region != NULL) {
        cmk_conf_join(f, base, "region");
        return cmk_conf_fail(cf, f,
                             "not used by gcp: the location is part of the "
                             "key name");
    }
    if (v == NULL)
        return CMK_OK;
    g = calloc(1, sizeof(*g));
    if (g == NULL)
        return cmk_conf_oom(cf);
    cmk_conf_join(f, base, "gcp");
    err = parse_block(cf, f, v, &g->auth);
    if (err == CMK_OK) {
        *out = g;
        g = NULL; /* the caller owns it */
    }
    cmk_gcp_cfg_free(g);
    return err;
}
