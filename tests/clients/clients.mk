# owned by its area
# Vendors' own KMS clients against tests/emulator: Google's @google-cloud/kms
# (REST fallback) and google-auth-library, Azure's @azure/keyvault-keys and
# @azure/identity (over the emulator's TLS listener), node-vault (Vault /
# OpenBao, over the TLS listener too), installed by npm ci
# from the committed lock into the build tree (tests/clients/npm), never the
# source.
# test_gcp_module_interop.sh, test_azure_module_interop.sh,
# test_vault_module_interop.sh: the module's envelopes through Google's,
# Azure's and Vault's clients and the other way round, and their requests
# side by side.
TESTS += tests/clients/test_gcp_client.sh \
	tests/clients/test_gcp_module_interop.sh \
	tests/clients/test_azure_client.sh \
	tests/clients/test_azure_module_interop.sh \
	tests/clients/test_vault_client.sh \
	tests/clients/test_vault_module_interop.sh
EXTRA_DIST += \
	tests/clients/package.json \
	tests/clients/package-lock.json \
	tests/clients/node_deps.sh \
	tests/clients/check.js \
	tests/clients/gcp_client.js \
	tests/clients/gcp_asym.js \
	tests/clients/test_gcp_client.sh \
	tests/clients/gcp_interop.js \
	tests/clients/gcp_module.py \
	tests/clients/module_p11.py \
	tests/clients/side_by_side.py \
	tests/clients/test_gcp_module_interop.sh \
	tests/clients/azure_client.js \
	tests/clients/azure_calls.py \
	tests/clients/test_azure_client.sh \
	tests/clients/azure_interop.js \
	tests/clients/azure_module.py \
	tests/clients/test_azure_module_interop.sh \
	tests/clients/vault_client.js \
	tests/clients/vault_asym.js \
	tests/clients/vault_calls.py \
	tests/clients/test_vault_client.sh \
	tests/clients/vault_interop.js \
	tests/clients/vault_module.py \
	tests/clients/test_vault_module_interop.sh
clean-local: clean-clients
clean-clients:
	rm -rf tests/clients/npm
.PHONY: clean-clients
