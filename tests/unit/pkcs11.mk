if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_pkcs11
TESTS += tests/unit/test_pkcs11
tests_unit_test_pkcs11_SOURCES = tests/unit/test_pkcs11.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h \
	tests/lib/audit_check.c tests/lib/audit_check.h
tests_unit_test_pkcs11_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_pkcs11_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_secpool
TESTS += tests/unit/test_secpool
tests_unit_test_secpool_SOURCES = tests/unit/test_secpool.c \
	tests/lib/pool_fx.h
tests_unit_test_secpool_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secpool_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_cache
TESTS += tests/unit/test_cache
tests_unit_test_cache_SOURCES = tests/unit/test_cache.c
tests_unit_test_cache_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cache_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_revocation
TESTS += tests/unit/test_revocation
tests_unit_test_revocation_SOURCES = tests/unit/test_revocation.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_revocation_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_revocation_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_kms_answers
TESTS += tests/unit/test_kms_answers
tests_unit_test_kms_answers_SOURCES = tests/unit/test_kms_answers.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_kms_answers_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_kms_answers_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_stress
TESTS += tests/unit/test_stress
tests_unit_test_stress_SOURCES = tests/unit/test_stress.c \
	tests/lib/tenant.c tests/lib/tenant.h \
	tests/lib/audit_check.c tests/lib/audit_check.h
tests_unit_test_stress_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_stress_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_handles
TESTS += tests/unit/test_handles
tests_unit_test_handles_SOURCES = tests/unit/test_handles.c \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_handles_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_handles_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_keysep
TESTS += tests/unit/test_keysep
tests_unit_test_keysep_SOURCES = tests/unit/test_keysep.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_keysep_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_keysep_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tokenstore
TESTS += tests/unit/test_tokenstore
tests_unit_test_tokenstore_SOURCES = tests/unit/test_tokenstore.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_tokenstore_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_tokenstore_LDADD = $(UNIT_LDADD)
endif

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_memscan
TESTS += tests/unit/test_memscan
tests_unit_test_memscan_SOURCES = tests/unit/test_memscan.c \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_memscan_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_memscan_LDADD = $(UNIT_LDADD)
endif

# Audit completeness: every way an operation ends, fail-closed output,
# object management records.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_audit_complete
TESTS += tests/unit/test_audit_complete
tests_unit_test_audit_complete_SOURCES = tests/unit/test_audit_complete.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_audit_complete_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_audit_complete_LDADD = $(UNIT_LDADD)
endif

# C_Digest*: known answers, misuse, C_DigestKey, records.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_digest
TESTS += tests/unit/test_digest
tests_unit_test_digest_SOURCES = tests/unit/test_digest.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_digest_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_digest_LDADD = $(UNIT_LDADD)
endif

# The module under the application's counting mutexes.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_locking
TESTS += tests/unit/test_locking
tests_unit_test_locking_SOURCES = tests/unit/test_locking.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_locking_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
# The provider lookup and the store's write helpers are wrapped to look at
# the calling thread's locks; --export-dynamic lets backtrace_symbols name
# the module functions that make mutexes.
tests_unit_test_locking_LDFLAGS = -Wl,--export-dynamic -Wl,--wrap=cmk_provider_find \
	-Wl,--wrap=cmk_fd_write_all -Wl,--wrap=fsync
tests_unit_test_locking_LDADD = $(UNIT_LDADD)
endif

# The CK_RV each internal error gives each call: only values that call's
# description lists (util/err.c against PKCS#11 3.0 section 5).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_errmap
TESTS += tests/unit/test_errmap
tests_unit_test_errmap_SOURCES = tests/unit/test_errmap.c
tests_unit_test_errmap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_errmap_LDADD = $(UNIT_LDADD)
# include/cmk-pkcs11.h's ulDeviceError constants against the providers'
# numbers.
check_PROGRAMS += tests/unit/test_deverr
TESTS += tests/unit/test_deverr
tests_unit_test_deverr_SOURCES = tests/unit/test_deverr.c
tests_unit_test_deverr_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_deverr_LDADD = $(UNIT_LDADD)
endif

# The same codes and ulDeviceError through the module on aws tenants,
# against the KMS emulator (the .sh starts it: emu-run.sh).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_kms_errors
TESTS += tests/unit/emu_kms_errors.sh
tests_unit_test_kms_errors_SOURCES = tests/unit/test_kms_errors.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/p11.c tests/lib/p11.h
tests_unit_test_kms_errors_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_kms_errors_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu_kms_errors.sh

# Dual control through the module: either key's revocation on every
# path, at the TTL on the module clock; token objects across init.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_dual_module
TESTS += tests/unit/test_dual_module
tests_unit_test_dual_module_SOURCES = tests/unit/test_dual_module.c \
	tests/lib/dual.c tests/lib/dual.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_dual_module_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_dual_module_LDADD = $(UNIT_LDADD)
endif

# The same with both keys in AWS KMS, against the emulator (DisableKey).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_dual_aws
TESTS += tests/unit/emu_dual.sh
tests_unit_test_dual_aws_SOURCES = tests/unit/test_dual_aws.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/dual.c tests/lib/dual.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_dual_aws_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_dual_aws_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu_dual.sh

# CMK health and the circuit breaker through the module on aws tenants,
# against the KMS emulator on a fake clock; the CMK object's health
# attributes on the local provider.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_breaker tests/unit/test_health_attr
TESTS += tests/unit/emu_breaker.sh tests/unit/test_health_attr
tests_unit_test_breaker_SOURCES = tests/unit/test_breaker.c \
	tests/unit/emu_client.c tests/unit/emu_client.h \
	tests/lib/p11.c tests/lib/p11.h
tests_unit_test_breaker_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_breaker_LDADD = $(UNIT_LDADD)
tests_unit_test_health_attr_SOURCES = tests/unit/test_health_attr.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_health_attr_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_health_attr_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/unit/emu_breaker.sh

# The keyed context per key (mech.h struct cmk_keyctx): made once on first
# use, shared by sessions and threads, wiped after its last op, with the
# KEK and DEK cache entries, and in a forked child.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_keyctx
TESTS += tests/unit/test_keyctx
tests_unit_test_keyctx_SOURCES = tests/unit/test_keyctx.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h
tests_unit_test_keyctx_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_keyctx_LDADD = $(UNIT_LDADD)
endif

# Key pairs of the local provider through the module (their C paths
# under make check-memcheck too).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_keypair
TESTS += tests/unit/test_keypair
tests_unit_test_keypair_SOURCES = tests/unit/test_keypair.c \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_keypair_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_keypair_LDADD = $(UNIT_LDADD)
endif
