TESTS += tests/lint/test_banned.sh tests/lint/check-layers.sh \
	tests/lint/test_check_layers.sh
EXTRA_DIST += tests/lint/test_banned.sh tests/lint/check-layers.sh \
	tests/lint/test_check_layers.sh
