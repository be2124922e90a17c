# Envelope blob, local provider, CMK versions and KEK cache, cmk-tool.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_envelope tests/unit/test_local \
	tests/unit/test_cmk tests/unit/test_cmk_reseal \
	tests/unit/test_local_asym
TESTS += tests/unit/test_envelope tests/unit/test_local tests/unit/test_cmk \
	tests/unit/test_cmk_reseal tests/unit/test_local_asym
tests_unit_test_envelope_SOURCES = tests/unit/test_envelope.c
tests_unit_test_envelope_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_envelope_LDADD = $(UNIT_LDADD)
tests_unit_test_local_SOURCES = tests/unit/test_local.c
tests_unit_test_local_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_local_LDADD = $(UNIT_LDADD)
tests_unit_test_local_asym_SOURCES = tests/unit/test_local_asym.c \
	tests/lib/asym_check.c tests/lib/asym_check.h
tests_unit_test_local_asym_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_local_asym_LDADD = $(UNIT_LDADD)
tests_unit_test_cmk_SOURCES = tests/unit/test_cmk.c
tests_unit_test_cmk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cmk_LDADD = $(UNIT_LDADD)
tests_unit_test_cmk_reseal_SOURCES = tests/unit/test_cmk_reseal.c
tests_unit_test_cmk_reseal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cmk_reseal_LDADD = $(UNIT_LDADD)
endif

# Dual control: the KEK derived from a customer and a provider half.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_dual
TESTS += tests/unit/test_dual
tests_unit_test_dual_SOURCES = tests/unit/test_dual.c tests/unit/mech_vec.h
tests_unit_test_dual_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dual_LDADD = $(UNIT_LDADD)
endif

# The same derivation against Python cryptography's HKDFExpand (skips
# without python3-cryptography; an error under CI=true).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_dual_hkdf
TESTS += tests/unit/test_dual_hkdf
tests_unit_test_dual_hkdf_SOURCES = tests/unit/test_dual_hkdf.c
tests_unit_test_dual_hkdf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dual_hkdf_LDADD = $(UNIT_LDADD)
endif

# CMK health: reasons of every provider code, the circuit breaker on a
# fake clock, one record per change (also from many threads).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_health
TESTS += tests/unit/test_health
tests_unit_test_health_SOURCES = tests/unit/test_health.c
tests_unit_test_health_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_health_LDADD = $(UNIT_LDADD)
endif

# cmk-tool end to end (shell; needs only the built tool and python3).
TESTS += tests/integration/test_cmk_tool.sh
EXTRA_DIST += tests/integration/test_cmk_tool.sh
