/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the aws provider's own tenant settings, the tenant's "aws"
 * object, kept in kms->provider_cfg of an aws tenant (NULL when the
 * tenant has no "aws" object). Parsed and freed through the provider's
 * ops (aws_cfg.c), read by aws_init.
 */
#ifndef CMK_PROVIDERS_AWS_CFG_H
#define CMK_PROVIDERS_AWS_CFG_H

#include <stdbool.h>
#include "net/creds.h"

struct cmk_aws_cfg {
    struct cmk_cred_cfg creds; /* credential sources and endpoints */
};

/* Whether ref has the form of a key reference: a key ARN, key id,
 * alias/NAME or alias ARN (the check behind check_key_ref). */
bool cmk_aws_cfg_is_key_ref(const char *ref);

#endif /* CMK_PROVIDERS_AWS_CFG_H */
