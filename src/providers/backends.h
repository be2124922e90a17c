/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the back-end operation tables, one per KMS, collected by
 * cmk_provider_find in provider.c. Not for use outside src/providers.
 */
#ifndef CMK_PROVIDERS_BACKENDS_H
#define CMK_PROVIDERS_BACKENDS_H

#include "providers/provider.h"

/* local.c: a 32-byte key in a 0600 file, XChaCha20-Poly1305. */
extern const struct cmk_provider_ops cmk_provider_local;
/* aws.c: AWS KMS over the JSON 1.1 protocol with SigV4. */
extern const struct cmk_provider_ops cmk_provider_aws;

#endif /* CMK_PROVIDERS_BACKENDS_H */
