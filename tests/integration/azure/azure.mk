# tests/integration/azure: tenants on the azure provider through the
# module, against the emulator's Key Vault and Managed HSM over TLS
# (PyKCS11, pkcs11-tool and cmk-tool): both paths on RSA-4096 and oct-HSM
# keys and the failure cases with their audit records, and every Entra ID
# credential source the provider reads, in a clean environment.
TESTS += tests/integration/azure/test_azure_e2e.sh \
	tests/integration/azure/test_azure_pkcs11_tool.sh \
	tests/integration/azure/test_azure_creds.sh
EXTRA_DIST += tests/integration/azure/azure_lib.sh \
	tests/integration/azure/test_azure_e2e.sh \
	tests/integration/azure/azure_pykcs11.py \
	tests/integration/azure/test_azure_pkcs11_tool.sh \
	tests/integration/azure/test_azure_creds.sh \
	tests/integration/azure/azure_creds.py
