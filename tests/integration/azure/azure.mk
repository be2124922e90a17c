# tests/integration/azure: tenants on the azure provider through the
# module, against the emulator's Key Vault and Managed HSM over TLS
# (PyKCS11, pkcs11-tool and cmk-tool): both paths on RSA-4096 and oct-HSM
# keys and the failure cases with their audit records, every Entra ID
# credential source the provider reads, in a clean environment, and
# cmk-tool azure-key (bring your own key): the bodies' JWK, their import
# and use by the vault, and every refusal.
TESTS += tests/integration/azure/test_azure_e2e.sh \
	tests/integration/azure/test_azure_pkcs11_tool.sh \
	tests/integration/azure/test_azure_creds.sh \
	tests/integration/azure/test_azure_byok.sh
EXTRA_DIST += tests/integration/azure/azure_lib.sh \
	tests/integration/azure/test_azure_e2e.sh \
	tests/integration/azure/azure_pykcs11.py \
	tests/integration/azure/test_azure_pkcs11_tool.sh \
	tests/integration/azure/test_azure_creds.sh \
	tests/integration/azure/azure_creds.py \
	tests/integration/azure/test_azure_byok.sh \
	tests/integration/azure/azure_byok.py
# Key pairs ("key_pairs") of every key type and size the provider takes,
# end to end through the module (tests/integration/test_asym_pykcs11.py).
TESTS += tests/integration/azure/test_azure_asym.sh
EXTRA_DIST += tests/integration/azure/test_azure_asym.sh
