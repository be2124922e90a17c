# owned by its area
# KMS emulator (Python 3 + python3-cryptography, stdlib HTTP server) and its
# checks: SigV4 vectors, end-to-end behaviour, Debian's AWS CLI against it,
# the Google Cloud KMS routes, the Azure Key Vault / Managed HSM routes and
# the Vault / OpenBao transit routes.
TESTS += tests/emulator/test_sigv4_vectors.py \
	tests/emulator/test_emulator.py \
	tests/emulator/test_emulator_asym.py \
	tests/emulator/test_awscli.sh \
	tests/emulator/test_gcp_emulator.py \
	tests/emulator/test_azure_emulator.py \
	tests/emulator/test_vault_emulator.py
EXTRA_DIST += \
	tests/emulator/README.md \
	tests/emulator/kms_emulator.py \
	tests/emulator/kms_api.py \
	tests/emulator/kms_import.py \
	tests/emulator/kms_asym.py \
	tests/emulator/store.py \
	tests/emulator/sigv4.py \
	tests/emulator/faults.py \
	tests/emulator/cred_endpoints.py \
	tests/emulator/crc32c.py \
	tests/emulator/gcp_api.py \
	tests/emulator/gcp_kms.py \
	tests/emulator/gcp_oauth.py \
	tests/emulator/gcp_iam.py \
	tests/emulator/gcp_asym.py \
	tests/emulator/azure_api.py \
	tests/emulator/azure_kv.py \
	tests/emulator/azure_entra.py \
	tests/emulator/vault_api.py \
	tests/emulator/vault_transit.py \
	tests/emulator/emulator.sh \
	tests/emulator/make_ca.sh \
	tests/emulator/test_sigv4_vectors.py \
	tests/emulator/test_emulator.py \
	tests/emulator/test_emulator_asym.py \
	tests/emulator/test_awscli.sh \
	tests/emulator/test_gcp_emulator.py \
	tests/emulator/test_azure_emulator.py \
	tests/emulator/test_vault_emulator.py
