# Unit tests link libcmk.la and use cmocka under automake's exit-code
# harness: 0 pass, 77 skip, 99 hard error.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir) \
	-DSRCDIR=\"$(abs_top_srcdir)\"
UNIT_LDADD = tests/lib/libcmktest.la libcmk.la $(CMOCKA_LIBS) $(DEP_LIBS)
if HAVE_CMOCKA
# Helpers every unit test links: scratch directories under $TMPDIR that
# are removed when the test program exits, and threads by name.
check_LTLIBRARIES = tests/lib/libcmktest.la
tests_lib_libcmktest_la_SOURCES = tests/lib/scratch.c tests/lib/scratch.h \
	tests/lib/tasks.c tests/lib/tasks.h
tests_lib_libcmktest_la_CFLAGS = $(UNIT_CFLAGS)
check_PROGRAMS += tests/unit/test_scratch
TESTS += tests/unit/test_scratch
tests_unit_test_scratch_SOURCES = tests/unit/test_scratch.c \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_scratch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_scratch_LDADD = $(UNIT_LDADD)
else
# configure --disable-unit-tests: make check says the unit tests were left
# out instead of passing without them.
TESTS += tests/unit/unit-disabled.sh
endif
EXTRA_DIST += tests/unit/unit-disabled.sh
# Every test takes the build's paths from here: the module lies in
# libtool's object directory until make install, so in-tree and
# out-of-tree builds both work.
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	CMK_OBJDIR='$(ltobjdir)'; \
	CMK_MODULE='$(abs_top_builddir)/$(ltobjdir)/cmk-pkcs11.so'; \
	CMK_TOOL='$(abs_top_builddir)/cmk-tool$(EXEEXT)'; \
	CMK_GENERATED='$(CMK_GENERATED)'; \
	export top_srcdir top_builddir CMK_OBJDIR CMK_MODULE CMK_TOOL \
		CMK_GENERATED;
# C files make writes under src/ (in the source tree in an in-tree build):
# the lints and check-format leave them out.
CMK_GENERATED = $(nodist_libcmk_la_SOURCES)

include tests/lint/lint.mk
include tests/unit/mech.mk
include tests/unit/core.mk
include tests/unit/keys.mk
include tests/unit/policy.mk
include tests/unit/pkcs11.mk
include tests/unit/net.mk
include tests/unit/audit.mk
include tests/unit/trust.mk
include tests/unit/tool.mk
include tests/unit/rotkek.mk
include tests/integration/integration.mk
include tests/integration/aws/aws.mk
include tests/integration/gcp/gcp.mk
include tests/integration/azure/azure.mk
include tests/integration/vault/vault.mk
include tests/bench/bench.mk
include tests/emulator/emulator.mk
include tests/clients/clients.mk
include tests/fuzz/fuzz.mk
include tests/package/package.mk

# make check-memcheck: every C test program of tests/unit (the unit tests,
# and those the emu_*.sh scripts run under the KMS emulator) under
# valgrind's memcheck (tests/valgrind/memcheck.sh says what fails a
# test). Not in a sanitizer build: valgrind cannot run ASan code. Its
# summary goes to test-suite-memcheck.log.
# test_stress: fewer rounds under valgrind, same threads and checks.
MEMCHECK_STRESS_ROUNDS = 30
check-memcheck:
if SANITIZERS
	@echo "check-memcheck: not in a sanitizer build (valgrind cannot run ASan code)"; exit 1
else
	@tests=; for t in $(TESTS); do \
		case $$t in \
		tests/unit/unit-disabled.sh) ;; \
		tests/unit/*) tests="$$tests $$t" ;; \
		esac; \
	done; \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS="$$tests" \
		TEST_SUITE_LOG=test-suite-memcheck.log \
		LOG_COMPILER='$(SHELL) $(abs_top_srcdir)/tests/valgrind/memcheck.sh' \
		STRESS_ROUNDS=$(MEMCHECK_STRESS_ROUNDS)
endif
.PHONY: check-memcheck
EXTRA_DIST += tests/valgrind/memcheck.sh tests/valgrind/memcheck.supp
