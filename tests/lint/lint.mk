TESTS += tests/lint/test_banned.sh tests/lint/check-layers.sh \
	tests/lint/test_check_layers.sh tests/lint/check-calls.sh \
	tests/lint/test_check_calls.sh tests/lint/test_objdir.sh \
	tests/lint/check-neg-greps.py tests/lint/test_configure_cmocka.sh
EXTRA_DIST += tests/lint/test_banned.sh tests/lint/check-layers.sh \
	tests/lint/test_check_layers.sh tests/lint/check-calls.sh \
	tests/lint/check-calls.py tests/lint/test_check_calls.sh \
	tests/lint/test_objdir.sh tests/lint/check-neg-greps.py \
	tests/lint/test_configure_cmocka.sh
