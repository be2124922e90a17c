TESTS += tests/lint/test_banned.sh
EXTRA_DIST += tests/lint/test_banned.sh
