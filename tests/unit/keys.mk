# Envelope blob, local provider, CMK versions and KEK cache, cmk-tool.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_envelope tests/unit/test_local \
	tests/unit/test_cmk
TESTS += tests/unit/test_envelope tests/unit/test_local tests/unit/test_cmk
tests_unit_test_envelope_SOURCES = tests/unit/test_envelope.c
tests_unit_test_envelope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_envelope_LDADD = $(UNIT_LDADD)
tests_unit_test_local_SOURCES = tests/unit/test_local.c
tests_unit_test_local_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_local_LDADD = $(UNIT_LDADD)
tests_unit_test_cmk_SOURCES = tests/unit/test_cmk.c
tests_unit_test_cmk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cmk_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_reseal
TESTS += tests/unit/test_reseal
tests_unit_test_reseal_SOURCES = tests/unit/test_reseal.c
tests_unit_test_reseal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_reseal_LDADD = $(UNIT_LDADD)
endif

# cmk-tool end to end (shell; needs only the built tool and python3).
TESTS += tests/integration/test_cmk_tool.sh
EXTRA_DIST += tests/integration/test_cmk_tool.sh
