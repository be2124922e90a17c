# Unit tests link libcmk.la and use cmocka under automake's exit-code
# harness: 0 pass, 77 skip, 99 hard error.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -DSRCDIR=\"$(abs_top_srcdir)\"
UNIT_LDADD = libcmk.la $(CMOCKA_LIBS) $(DEP_LIBS)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export top_srcdir top_builddir;

include tests/lint/lint.mk
include tests/unit/mech.mk
include tests/unit/core.mk
include tests/unit/keys.mk
include tests/unit/policy.mk
include tests/unit/pkcs11.mk
include tests/unit/net.mk
include tests/unit/audit.mk
include tests/unit/trust.mk
include tests/integration/integration.mk
include tests/integration/aws/aws.mk
include tests/bench/bench.mk
include tests/emulator/emulator.mk
include tests/fuzz/fuzz.mk
