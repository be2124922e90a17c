/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the azure provider's own tenant settings, the tenant's
 * "azure" object, kept in kms->provider_cfg of an azure tenant (NULL when
 * the tenant has none: every default). Parsed and freed through the
 * provider's ops (azure_cfg.c), read by azure_init. The vault is part of
 * the key identifier: the tenant's common "endpoint" and "region" are
 * refused.
 */
#ifndef CMK_PROVIDERS_AZURE_CFG_H
#define CMK_PROVIDERS_AZURE_CFG_H

#include <stdbool.h>
#include "net/azauth.h"

/* "algorithm"; AZ_ALG_DEFAULT: by the key's kty (RSA-OAEP-256 for RSA
 * and RSA-HSM, A256GCM for oct-HSM). The numbers are the envelope's alg
 * byte (azure_env.c) and never change. */
enum cmk_azure_alg {
    AZ_ALG_DEFAULT = 0,
    AZ_ALG_RSA_OAEP_256 = 1,
    AZ_ALG_RSA_OAEP = 2,
    AZ_ALG_A256KW = 3,
    AZ_ALG_KWP = 4, /* CKM_AES_KEY_WRAP_PAD */
    AZ_ALG_A256GCM = 5,
};

#define AZ_TTL_DEFAULT 60u
#define AZ_TTL_MAX 3600u

struct cmk_azure_cfg {
    struct cmk_azauth_cfg auth; /* token sources (net/azauth.h) */
    enum cmk_azure_alg alg;
    bool local_wrap;   /* RSA wraps done with the public key */
    unsigned ttl;      /* key_info_ttl, seconds */
    char *resource;    /* challenge resource accepted besides the
                        * vault's own domain; NULL: none */
    char *api_version; /* NULL: "7.6" */
};

#endif /* CMK_PROVIDERS_AZURE_CFG_H */
