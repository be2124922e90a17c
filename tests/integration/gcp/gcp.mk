# tests/integration/gcp: tenants on the gcp provider through the module,
# against the emulator's Cloud KMS (PyKCS11, pkcs11-tool and cmk-tool):
# both paths and the failure cases with their audit records, every
# credential source the provider reads in a clean environment, and key
# rotation on Google's side, by cmk-tool rotate-cmk and rewrap.
TESTS += tests/integration/gcp/test_gcp_e2e.sh \
	tests/integration/gcp/test_gcp_pkcs11_tool.sh \
	tests/integration/gcp/test_gcp_creds.sh \
	tests/integration/gcp/test_gcp_rotate.sh
EXTRA_DIST += tests/integration/gcp/gcp_lib.sh \
	tests/integration/gcp/test_gcp_e2e.sh \
	tests/integration/gcp/gcp_pykcs11.py \
	tests/integration/gcp/test_gcp_pkcs11_tool.sh \
	tests/integration/gcp/test_gcp_creds.sh \
	tests/integration/gcp/gcp_creds.py \
	tests/integration/gcp/test_gcp_rotate.sh
# Key pairs ("key_pairs") of the algorithms the provider takes, end to
# end through the module (tests/integration/test_asym_pykcs11.py).
TESTS += tests/integration/gcp/test_gcp_asym.sh
EXTRA_DIST += tests/integration/gcp/test_gcp_asym.sh
