# Files and directories the module trusts (util/trust and its callers)
# and the PIN guessing limits (core/pinguard).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_trust
TESTS += tests/unit/test_trust
tests_unit_test_trust_SOURCES = tests/unit/test_trust.c
tests_unit_test_trust_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir) \
	-Wno-format-truncation
tests_unit_test_trust_LDADD = $(UNIT_LDADD)
endif

# PIN guessing limits (core/pinguard) through the function list.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_pin
TESTS += tests/unit/test_pin
tests_unit_test_pin_SOURCES = tests/unit/test_pin.c \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_pin_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_pin_LDADD = $(UNIT_LDADD)
endif
