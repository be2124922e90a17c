/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the back-end operation tables, one per KMS, collected by
 * cmk_provider_find in registry.c. Not for use outside src/providers.
 */
#ifndef CMK_PROVIDERS_BACKENDS_H
#define CMK_PROVIDERS_BACKENDS_H

#include "providers/provider.h"

/* local.c: a 32-byte key in a 0600 file, XChaCha20-Poly1305. */
extern const struct cmk_provider_ops cmk_provider_local;
/* The back-ends' key pairs (providers/asym.h), for the registry's
 * cmk_provider_asym; local_asym.c: in 0600 PEM files. */
extern const struct cmk_asym_ops cmk_local_asym;
extern const struct cmk_asym_ops cmk_aws_asym;
extern const struct cmk_asym_ops cmk_gcp_asym;
extern const struct cmk_asym_ops cmk_azure_asym;
extern const struct cmk_asym_ops cmk_vault_asym;
/* local.c: resets rq's outputs and gives the call a fresh request id
 * ("local-" and 16 hex digits); the ulDeviceError number of a code. */
void cmk_local_start_request(struct cmk_req *rq);
unsigned cmk_local_code_number(const char *code);
/* aws.c: AWS KMS over the JSON 1.1 protocol with SigV4. */
extern const struct cmk_provider_ops cmk_provider_aws;
/* gcp.c: Google Cloud KMS over REST v1 with CRC32C and OAuth 2.0. */
extern const struct cmk_provider_ops cmk_provider_gcp;
/* azure.c: Azure Key Vault and Managed HSM over REST with Entra ID. */
extern const struct cmk_provider_ops cmk_provider_azure;
/* vault.c: HashiCorp Vault / OpenBao transit over REST with Vault tokens. */
extern const struct cmk_provider_ops cmk_provider_vault;

/* Their configuration slots (struct cmk_provider_ops). */
/* local_cfg.c: a key file the module may trust. */
cmk_err cmk_local_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *path) CMK_WUR;
/* aws_cfg.c: key reference forms, region names, the "aws" object into a
 * struct cmk_aws_cfg (providers/aws_cfg.h). */
cmk_err cmk_aws_cfg_key_ref(struct cmk_conf *cf, const char *field,
                            const char *ref) CMK_WUR;
cmk_err cmk_aws_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                          const struct cmk_kms_cfg *kms, void **out) CMK_WUR;
void cmk_aws_cfg_free(void *cfg);
/* gcp_cfg.c: resource names, the "gcp" object into a struct cmk_gcp_cfg
 * (providers/gcp_cfg.h). */
cmk_err cmk_gcp_cfg_key_ref(struct cmk_conf *cf, const char *field,
                            const char *ref) CMK_WUR;
/* A key pair's: one cryptoKeyVersion. */
cmk_err cmk_gcp_cfg_pair_ref(struct cmk_conf *cf, const char *field,
                             const char *ref) CMK_WUR;
cmk_err cmk_gcp_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                          const struct cmk_kms_cfg *kms, void **out) CMK_WUR;
void cmk_gcp_cfg_free(void *cfg);
/* azure_cfg.c: key identifiers, the "azure" object into a struct
 * cmk_azure_cfg (providers/azure_cfg.h). */
cmk_err cmk_azure_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *ref) CMK_WUR;
cmk_err cmk_azure_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                            const struct cmk_kms_cfg *kms, void **out) CMK_WUR;
void cmk_azure_cfg_free(void *cfg);
/* vault_cfg.c: transit key names, the "vault" object into a struct
 * cmk_vault_cfg (providers/vault_cfg.h). */
cmk_err cmk_vault_cfg_key_ref(struct cmk_conf *cf, const char *field,
                              const char *ref) CMK_WUR;
/* A key pair's: NAME or NAME:N. */
cmk_err cmk_vault_cfg_pair_ref(struct cmk_conf *cf, const char *field,
                               const char *ref) CMK_WUR;
cmk_err cmk_vault_cfg_parse(struct cmk_conf *cf, const char *base, json_t *t,
                            const struct cmk_kms_cfg *kms, void **out) CMK_WUR;
void cmk_vault_cfg_free(void *cfg);

#endif /* CMK_PROVIDERS_BACKENDS_H */
