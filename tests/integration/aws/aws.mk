# tests/integration/aws: tenants on the aws provider through the module,
# against the KMS emulator (PyKCS11, pkcs11-tool and cmk-tool), every
# credential source, a tenant on an alias through a key rotation, and
# cmk-tool rotate-cmk with the emulator rotating key material, and
# cmk-tool health --json / --watch.
TESTS += tests/integration/aws/test_aws_e2e.sh \
	tests/integration/aws/test_aws_pkcs11_tool.sh \
	tests/integration/aws/test_aws_creds.sh \
	tests/integration/aws/test_aws_alias.sh \
	tests/integration/aws/test_aws_rotate.sh \
	tests/integration/aws/test_aws_health.sh \
	tests/integration/aws/test_aws_files.sh \
	tests/integration/aws/test_aws_rewrap.sh
EXTRA_DIST += tests/integration/aws/test_aws_e2e.sh \
	tests/integration/aws/aws_pykcs11.py \
	tests/integration/aws/test_aws_pkcs11_tool.sh \
	tests/integration/aws/test_aws_creds.sh \
	tests/integration/aws/aws_creds.py \
	tests/integration/aws/test_aws_alias.sh \
	tests/integration/aws/aws_alias.py \
	tests/integration/aws/test_aws_rotate.sh \
	tests/integration/aws/test_aws_health.sh \
	tests/integration/aws/test_aws_files.sh \
	tests/integration/aws/test_aws_rewrap.sh \
	tests/integration/aws/aws_rewrap.py
# cmk-tool import-key --aws: a key with Origin EXTERNAL, end to end.
TESTS += tests/integration/aws/test_aws_import.sh
EXTRA_DIST += tests/integration/aws/test_aws_import.sh
# Key pairs ("key_pairs") of every KeySpec the module takes, end to end
# through the module (tests/integration/test_asym_pykcs11.py).
TESTS += tests/integration/aws/test_aws_asym.sh
EXTRA_DIST += tests/integration/aws/test_aws_asym.sh
