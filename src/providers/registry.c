/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the registry, the one table that names every back-end, and
 * the names still planned. Only this file points at the back-ends.
 */
#include <config.h>

#include <string.h>

#include "providers/backends.h"
#include "providers/provider.h"

static const struct cmk_provider_ops *const backends[] = {
    &cmk_provider_local, &cmk_provider_aws,   &cmk_provider_gcp,
    &cmk_provider_azure, &cmk_provider_vault,
};

/* Each back-end's key pairs, where it has them. */
static const struct {
    const struct cmk_provider_ops *ops;
    const struct cmk_asym_ops *asym;
} key_pairs[] = {
    {&cmk_provider_local, &cmk_local_asym},
    {&cmk_provider_aws, &cmk_aws_asym},
    {&cmk_provider_gcp, &cmk_gcp_asym},
    {&cmk_provider_azure, &cmk_azure_asym},
    {&cmk_provider_vault, &cmk_vault_asym},
};

/* Named in CMK_PROVIDER_NAMES, refused by the config as "not supported
 * yet" until they join backends. */
static const char *const planned[] = {NULL}; /* none now */

const struct cmk_provider_ops *cmk_provider_find(const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    }
    return NULL;
}

bool cmk_provider_is_planned(const char *name)
{
    size_t i;

    if (name == NULL)
        return false;
    for (i = 0; i < sizeof(planned) / sizeof(planned[0]); i++) {
        if (planned[i] != NULL && strcmp(planned[i], name) == 0)
            return true;
    }
    return false;
}

const struct cmk_asym_ops *cmk_provider_asym(const struct cmk_provider_ops *p)
{
    size_t i;

    for (i = 0; i < sizeof(key_pairs) / sizeof(key_pairs[0]); i++) {
        if (key_pairs[i].ops == p)
            return key_pairs[i].asym;
    }
    return NULL;
}
