# tests/integration/aws: tenants on the aws provider through the module,
# against the KMS emulator (PyKCS11 and cmk-tool).
TESTS += tests/integration/aws/test_aws_e2e.sh
EXTRA_DIST += tests/integration/aws/test_aws_e2e.sh \
	tests/integration/aws/aws_pykcs11.py
