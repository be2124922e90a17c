# owned by its area
# Vendors' own KMS clients against tests/emulator: Google's @google-cloud/kms
# (REST fallback) and google-auth-library, installed by npm ci from the
# committed lock into the build tree (tests/clients/npm), never the source.
TESTS += tests/clients/test_gcp_client.sh
EXTRA_DIST += \
	tests/clients/package.json \
	tests/clients/package-lock.json \
	tests/clients/gcp_client.js \
	tests/clients/test_gcp_client.sh
clean-local: clean-clients
clean-clients:
	rm -rf tests/clients/npm
.PHONY: clean-clients
