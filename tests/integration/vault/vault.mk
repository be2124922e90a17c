# tests/integration/vault: tenants on the vault provider through the
# module, against the emulator's Vault transit over TLS (PyKCS11 and
# cmk-tool): both paths on a derived key, the failure cases with their
# audit records, rotation and min_decryption_version, a sealed vault, an
# expired token and the key deleted in Vault.
# test_vault_creds.sh: every token source through the module, each in a
# clean environment on its own key. test_vault_pkcs11_tool.sh: OpenSC's
# pkcs11-tool on both paths, the Vault calls of each process counted.
# test_vault_rewrap.sh: a rotation in Vault, cmk-tool rewrap in batches
# and rotate-cmk to the latest version, then the old version revoked.
TESTS += tests/integration/vault/test_vault_e2e.sh \
	tests/integration/vault/test_vault_creds.sh \
	tests/integration/vault/test_vault_pkcs11_tool.sh \
	tests/integration/vault/test_vault_rewrap.sh
EXTRA_DIST += tests/integration/vault/vault_lib.sh \
	tests/integration/vault/test_vault_e2e.sh \
	tests/integration/vault/vault_pykcs11.py \
	tests/integration/vault/test_vault_creds.sh \
	tests/integration/vault/vault_creds.py \
	tests/integration/vault/test_vault_pkcs11_tool.sh \
	tests/integration/vault/test_vault_rewrap.sh
# Key pairs ("key_pairs") of every transit key type the provider takes,
# end to end through the module (tests/integration/test_asym_pykcs11.py).
TESTS += tests/integration/vault/test_vault_asym.sh
EXTRA_DIST += tests/integration/vault/test_vault_asym.sh
