/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the gcp provider's own tenant settings, the tenant's "gcp"
 * object, kept in kms->provider_cfg of a gcp tenant (NULL when the tenant
 * has no "gcp" object). Parsed and freed through the provider's ops
 * (gcp_cfg.c), read by gcp_init. The KMS endpoint is the tenant's common
 * "endpoint", as for aws (default https://cloudkms.googleapis.com).
 */
#ifndef CMK_PROVIDERS_GCP_CFG_H
#define CMK_PROVIDERS_GCP_CFG_H

#include "net/gauth.h"

struct cmk_gcp_cfg {
    struct cmk_gauth_cfg auth; /* credential source */
};

#endif /* CMK_PROVIDERS_GCP_CFG_H */
