# Files and directories the module trusts (util/trust and its callers).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_trust
TESTS += tests/unit/test_trust
tests_unit_test_trust_SOURCES = tests/unit/test_trust.c
tests_unit_test_trust_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir) \
	-Wno-format-truncation
tests_unit_test_trust_LDADD = $(UNIT_LDADD)
endif
