libcmk_la_SOURCES += \
	src/providers/provider.h src/providers/provider.c \
	src/providers/asym.h src/providers/asym.c \
	src/providers/registry.c \
	src/providers/backends.h \
	src/providers/local.c src/providers/local_cfg.c \
	src/providers/local_req.c \
	src/providers/local_asym.c \
	src/providers/aws.c src/providers/aws_int.h src/providers/aws_call.c \
	src/providers/aws_json.c src/providers/aws_errors.c \
	src/providers/gcp_json.c src/providers/gcp_json.h \
	src/providers/gcp.c src/providers/gcp_int.h src/providers/gcp_call.c \
	src/providers/gcp_name.c src/providers/gcp_health.c \
	src/providers/gcp_cfg.c src/providers/gcp_cfg.h \
	src/providers/gcp_asym.c \
	src/providers/aws_health.c \
	src/providers/aws_arn.c src/providers/aws_import.c \
	src/providers/aws_asym.c \
	src/providers/aws_cfg.c src/providers/aws_cfg.h \
	src/providers/azure.c src/providers/azure_int.h \
	src/providers/azure_call.c src/providers/azure_challenge.c \
	src/providers/azure_cfg.c src/providers/azure_cfg.h \
	src/providers/azure_env.c src/providers/azure_errors.c \
	src/providers/azure_health.c src/providers/azure_info.c \
	src/providers/azure_json.c src/providers/azure_name.c \
	src/providers/azure_asym.c \
	src/providers/vault.c src/providers/vault_int.h \
	src/providers/vault_call.c src/providers/vault_cfg.c \
	src/providers/vault_cfg.h src/providers/vault_errors.c \
	src/providers/vault_info.c src/providers/vault_json.c \
	src/providers/vault_json_batch.c src/providers/vault_batch.c \
	src/providers/vault_bind.c \
	src/providers/vault_asym.c src/providers/vault_json_asym.c
# The aws provider's user documentation and configuration sample.
EXTRA_DIST += docs/aws.md conf/aws-example.json
# The vault provider's user documentation and configuration sample
# (loaded by tests/unit/test_config.c).
EXTRA_DIST += docs/vault.md conf/vault-example.json
# The gcp provider's user documentation.
EXTRA_DIST += docs/gcp.md
# The gcp provider's configuration sample (loaded by tests/unit/test_config.c).
EXTRA_DIST += conf/gcp-example.json
