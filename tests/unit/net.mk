# net and aws provider: SigV4 vectors, HTTP client, credentials, provider.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_sigv4
TESTS += tests/unit/test_sigv4
tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sigv4_LDADD = $(UNIT_LDADD)
endif

EXTRA_DIST += tests/fixtures/sigv4
