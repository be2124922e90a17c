# tests/integration/azure: cmk-tool azure-key (bring your own key to Azure
# Key Vault and Managed HSM) against the emulator over TLS: the bodies'
# JWK, their import and use by the vault, and every refusal.
TESTS += tests/integration/azure/test_azure_byok.sh
EXTRA_DIST += tests/integration/azure/test_azure_byok.sh \
	tests/integration/azure/azure_byok.py
