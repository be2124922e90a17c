/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the vault provider's own tenant settings, the tenant's
 * "vault" object, kept in kms->provider_cfg of a vault tenant (NULL when
 * the tenant has none: every default, the address from VAULT_ADDR).
 * Parsed and freed through the provider's ops (vault_cfg.c), read by
 * vault_init. The tenant's common "endpoint" and "region" are refused:
 * the server is vault.address.
 */
#ifndef CMK_PROVIDERS_VAULT_CFG_H
#define CMK_PROVIDERS_VAULT_CFG_H

#include <stddef.h>
#include "net/vauth.h"

#define VAULT_TTL_DEFAULT 60u
#define VAULT_TTL_MAX 3600u
#define VAULT_REDIRECT_HOSTS_MAX 8u

struct cmk_vault_cfg {
    struct cmk_vauth_cfg auth; /* token sources (net/vauth.h) */
    char *address;             /* https://HOST[:PORT]; NULL: VAULT_ADDR */
    char *mount;               /* transit mount path; NULL: "transit" */
    char *ns;                  /* "namespace"; NULL: VAULT_NAMESPACE */
    char *ca_file; /* NULL: VAULT_CACERT (after the global http one) */
    /* "redirect_hosts": origins (scheme://host[:port]) a 307 may go to
     * besides the address. */
    char *redirect_hosts[VAULT_REDIRECT_HOSTS_MAX];
    size_t n_redirect_hosts;
    unsigned ttl; /* key_info_ttl, seconds */
};

#endif /* CMK_PROVIDERS_VAULT_CFG_H */
