# net and aws provider: SigV4 vectors, HTTP client, credentials, provider.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_sigv4 tests/unit/test_aws \
	tests/unit/test_aws_asym \
	tests/unit/test_creds tests/unit/test_http
# test_creds and test_http run twice: alone (their emulator cases skip)
# and under the emulator.
TESTS += tests/unit/test_sigv4 tests/unit/emu_aws.sh \
	tests/unit/emu_aws_asym.sh \
	tests/unit/test_creds tests/unit/emu_creds.sh \
	tests/unit/test_http tests/unit/emu_http.sh
tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sigv4_LDADD = $(UNIT_LDADD)
# These run under the KMS emulator: the .sh starts it (emu-run.sh).
tests_unit_test_aws_SOURCES = tests/unit/test_aws.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/kms_audit.c tests/lib/kms_audit.h
tests_unit_test_aws_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_aws_LDADD = $(UNIT_LDADD)
tests_unit_test_aws_asym_SOURCES = tests/unit/test_aws_asym.c \
	tests/lib/asym_check.c tests/lib/asym_check.h \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_aws_asym_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_aws_asym_LDADD = $(UNIT_LDADD)
tests_unit_test_creds_SOURCES = tests/unit/test_creds.c \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_creds_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_creds_LDADD = $(UNIT_LDADD)
tests_unit_test_http_SOURCES = tests/unit/test_http.c \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_http_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu-run.sh tests/unit/emu_aws.sh \
	tests/unit/emu_aws_asym.sh \
	tests/unit/emu_creds.sh tests/unit/emu_http.sh

EXTRA_DIST += tests/fixtures/sigv4

# Config fixtures for provider aws and the "http" object (read by
# tests/unit/test_config, listed in core.mk's style: automake has no
# wildcards).
EXTRA_DIST += \
	tests/fixtures/config/bad-aws-credentials-relative \
	tests/fixtures/config/bad-aws-endpoint-http \
	tests/fixtures/config/bad-aws-endpoint-scheme \
	tests/fixtures/config/bad-aws-imds-http \
	tests/fixtures/config/bad-aws-key-arn-service \
	tests/fixtures/config/bad-aws-object-local \
	tests/fixtures/config/bad-aws-previous-key \
	tests/fixtures/config/bad-aws-profile-type \
	tests/fixtures/config/bad-aws-region \
	tests/fixtures/config/bad-aws-role-arn \
	tests/fixtures/config/bad-aws-sts-http \
	tests/fixtures/config/bad-aws-unknown-field \
	tests/fixtures/config/bad-gcp-key \
	tests/fixtures/config/bad-gcp-region \
	tests/fixtures/config/bad-gcp-unknown-field \
	tests/fixtures/config/good-gcp \
	tests/fixtures/config/bad-azure-algorithm \
	tests/fixtures/config/bad-azure-api-version \
	tests/fixtures/config/bad-azure-cert-alg \
	tests/fixtures/config/bad-azure-endpoint \
	tests/fixtures/config/bad-azure-imds-http \
	tests/fixtures/config/bad-azure-key \
	tests/fixtures/config/bad-azure-mi-two \
	tests/fixtures/config/bad-azure-region \
	tests/fixtures/config/bad-azure-secret-relative \
	tests/fixtures/config/bad-azure-ttl \
	tests/fixtures/config/bad-azure-two-sources \
	tests/fixtures/config/bad-azure-unknown-field \
	tests/fixtures/config/good-azure \
	tests/fixtures/config/bad-vault-address-http \
	tests/fixtures/config/bad-vault-approle-role \
	tests/fixtures/config/bad-vault-cert-key \
	tests/fixtures/config/bad-vault-endpoint \
	tests/fixtures/config/bad-vault-key \
	tests/fixtures/config/bad-vault-mount \
	tests/fixtures/config/bad-vault-redirect \
	tests/fixtures/config/bad-vault-region \
	tests/fixtures/config/bad-vault-token-relative \
	tests/fixtures/config/bad-vault-ttl \
	tests/fixtures/config/bad-vault-two-logins \
	tests/fixtures/config/bad-vault-unknown-field \
	tests/fixtures/config/good-vault \
	tests/fixtures/config/bad-http-attempts \
	tests/fixtures/config/bad-http-ca-missing \
	tests/fixtures/config/bad-http-ca-relative \
	tests/fixtures/config/bad-http-not-object \
	tests/fixtures/config/bad-http-timeout-type \
	tests/fixtures/config/bad-http-unknown \
	tests/fixtures/config/good-aws \
	tests/fixtures/config/good-aws-minimal

# CRC32C (util/crc32c.c), the checksum on Google Cloud KMS payloads, the
# Cloud KMS bodies (providers/gcp_json.c) and Vault's batch bodies.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_crc32c tests/unit/test_gcp_json \
	tests/unit/test_vault_json
TESTS += tests/unit/test_crc32c tests/unit/test_gcp_json \
	tests/unit/test_vault_json
tests_unit_test_crc32c_SOURCES = tests/unit/test_crc32c.c
tests_unit_test_crc32c_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_crc32c_LDADD = $(UNIT_LDADD)
tests_unit_test_gcp_json_SOURCES = tests/unit/test_gcp_json.c
tests_unit_test_gcp_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gcp_json_LDADD = $(UNIT_LDADD)
# Vault's batch bodies and answers (providers/vault_json_batch.c).
tests_unit_test_vault_json_SOURCES = tests/unit/test_vault_json.c
tests_unit_test_vault_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vault_json_LDADD = $(UNIT_LDADD)
# The gcp provider under the emulator's Cloud KMS routes.
check_PROGRAMS += tests/unit/test_gcp
TESTS += tests/unit/emu_gcp.sh
tests_unit_test_gcp_SOURCES = tests/unit/test_gcp.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/kms_audit.c tests/lib/kms_audit.h \
	tests/lib/retry_clock.c tests/lib/retry_clock.h
tests_unit_test_gcp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gcp_LDADD = $(UNIT_LDADD)
# gcp key pairs (providers/gcp_asym.c) under the emulator's Cloud KMS
# routes.
check_PROGRAMS += tests/unit/test_gcp_asym
TESTS += tests/unit/emu_gcp_asym.sh
tests_unit_test_gcp_asym_SOURCES = tests/unit/test_gcp_asym.c \
	tests/lib/asym_check.c tests/lib/asym_check.h \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_gcp_asym_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gcp_asym_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/emu_gcp_asym.sh
# The Google credential chain (net/gauth*.c) under the emulator's token
# routes.
check_PROGRAMS += tests/unit/test_gauth
TESTS += tests/unit/emu_gauth.sh
tests_unit_test_gauth_SOURCES = tests/unit/test_gauth.c \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_gauth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gauth_LDADD = $(UNIT_LDADD)
# The azure provider under the emulator's Key Vault and Managed HSM (TLS).
check_PROGRAMS += tests/unit/test_azure
TESTS += tests/unit/emu_azure.sh
tests_unit_test_azure_SOURCES = tests/unit/test_azure.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/kms_audit.c tests/lib/kms_audit.h \
	tests/lib/retry_clock.c tests/lib/retry_clock.h
tests_unit_test_azure_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_azure_LDADD = $(UNIT_LDADD)
# The azure provider's key pairs under the emulator's Key Vault and
# Managed HSM (TLS), checked by OpenSSL.
check_PROGRAMS += tests/unit/test_azure_asym
TESTS += tests/unit/emu_azure_asym.sh
tests_unit_test_azure_asym_SOURCES = tests/unit/test_azure_asym.c \
	tests/lib/asym_check.c tests/lib/asym_check.h \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/retry_clock.c tests/lib/retry_clock.h
tests_unit_test_azure_asym_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_azure_asym_LDADD = $(UNIT_LDADD)
# The vault provider under the emulator's Vault transit (TLS) and a
# second emulator as the active node.
check_PROGRAMS += tests/unit/test_vault
TESTS += tests/unit/emu_vault.sh
tests_unit_test_vault_SOURCES = tests/unit/test_vault.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/retry_clock.c tests/lib/retry_clock.h
tests_unit_test_vault_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vault_LDADD = $(UNIT_LDADD)
# vault key pairs (providers/vault_asym.c) under the emulator's transit
# routes.
check_PROGRAMS += tests/unit/test_vault_asym
TESTS += tests/unit/emu_vault_asym.sh
tests_unit_test_vault_asym_SOURCES = tests/unit/test_vault_asym.c \
	tests/lib/asym_check.c tests/lib/asym_check.h \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_vault_asym_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vault_asym_LDADD = $(UNIT_LDADD)
EXTRA_DIST += tests/unit/emu_vault_asym.sh
# The Vault token sources (net/vauth*.c) under the emulator's auth routes.
check_PROGRAMS += tests/unit/test_vauth
TESTS += tests/unit/emu_vauth.sh
tests_unit_test_vauth_SOURCES = tests/unit/test_vauth.c \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_vauth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vauth_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu_gcp.sh tests/unit/emu_gauth.sh
EXTRA_DIST += tests/unit/emu_vault.sh tests/unit/emu_vauth.sh

# The Entra ID token sources (net/azauth*.c) under the emulator's Azure
# token routes.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_azauth
TESTS += tests/unit/emu_azauth.sh
tests_unit_test_azauth_SOURCES = tests/unit/test_azauth.c \
	tests/unit/emu_client.c tests/unit/emu_client.h
tests_unit_test_azauth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_azauth_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu_azauth.sh
EXTRA_DIST += tests/unit/emu_azure.sh
EXTRA_DIST += tests/unit/emu_azure_asym.sh
