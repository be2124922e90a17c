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
