# audit: writer, keyed chains and verifier; cmk-tool audit verify.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_audit
TESTS += tests/unit/test_audit
tests_unit_test_audit_SOURCES = tests/unit/test_audit.c
tests_unit_test_audit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_audit_LDADD = $(UNIT_LDADD)

# The record line's numbers and escaping against references.
check_PROGRAMS += tests/unit/test_line
TESTS += tests/unit/test_line
tests_unit_test_line_SOURCES = tests/unit/test_line.c
tests_unit_test_line_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_line_LDADD = $(UNIT_LDADD)

# The copy that puts a record into the file in address order.
check_PROGRAMS += tests/unit/test_ordcopy
TESTS += tests/unit/test_ordcopy
tests_unit_test_ordcopy_SOURCES = tests/unit/test_ordcopy.c
tests_unit_test_ordcopy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ordcopy_LDADD = $(UNIT_LDADD)

# Growing the audit file: by appending 0x00, never over its records.
check_PROGRAMS += tests/unit/test_agrow
TESTS += tests/unit/test_agrow
tests_unit_test_agrow_SOURCES = tests/unit/test_agrow.c
tests_unit_test_agrow_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_agrow_LDADD = $(UNIT_LDADD)

# The writer, format 3 (test_audit_writer) and format 2 (the same file,
# test_audit_writer2): known answers, threads, fork, rotation, syslog;
# every file checked by the verifier.
check_PROGRAMS += tests/unit/test_audit_writer tests/unit/test_audit_writer2
TESTS += tests/unit/test_audit_writer tests/unit/test_audit_writer2
tests_unit_test_audit_writer_SOURCES = tests/unit/test_audit_writer.c \
	tests/lib/audit_check.c tests/lib/audit_check.h tests/lib/pool_fx.h \
	tests/lib/audit_fmt2.c tests/lib/audit_fmt2.h
tests_unit_test_audit_writer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_audit_writer_LDADD = $(UNIT_LDADD)
tests_unit_test_audit_writer2_SOURCES = $(tests_unit_test_audit_writer_SOURCES)
tests_unit_test_audit_writer2_CFLAGS = $(UNIT_CFLAGS) \
	-DCMK_TEST_WRITER_FORMAT2=1
tests_unit_test_audit_writer2_LDADD = $(UNIT_LDADD)

# The chain key through the module: sealing, its context, key_tenant,
# sealing failures, a forked child's writer.
check_PROGRAMS += tests/unit/test_audit_key
TESTS += tests/unit/test_audit_key
tests_unit_test_audit_key_SOURCES = tests/unit/test_audit_key.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/p11.c tests/lib/p11.h \
	tests/lib/audit_check.c tests/lib/audit_check.h
tests_unit_test_audit_key_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_audit_key_LDADD = $(UNIT_LDADD)

# The verifier against generated format-2 files and their forgeries.
check_PROGRAMS += tests/unit/test_audit_verify
TESTS += tests/unit/test_audit_verify
tests_unit_test_audit_verify_SOURCES = tests/unit/test_audit_verify.c \
	tests/lib/audit_fmt2.c tests/lib/audit_fmt2.h \
	tests/lib/tenant.c tests/lib/tenant.h
tests_unit_test_audit_verify_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_audit_verify_LDADD = $(UNIT_LDADD)
endif
EXTRA_DIST += tests/fixtures/audit/format1.jsonl

# Writes audit files through the module's writer, its chain key sealed
# through a config (test_audit_tool.sh verifies them).
check_PROGRAMS += tests/integration/audit_gen
tests_integration_audit_gen_SOURCES = tests/integration/audit_gen.c
tests_integration_audit_gen_LDADD = libcmk.la $(DEP_LIBS)

# cmk-tool audit verify and anchor on generated format-2 files.
check_PROGRAMS += tests/integration/audit_forge
tests_integration_audit_forge_SOURCES = tests/integration/audit_forge.c \
	tests/lib/audit_fmt2.c tests/lib/audit_fmt2.h
tests_integration_audit_forge_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)
tests_integration_audit_forge_LDADD = libcmk.la $(DEP_LIBS)
TESTS += tests/integration/test_audit_tool.sh
EXTRA_DIST += tests/integration/test_audit_tool.sh

# Every CK_RV, CKA_ and CKO_ value of the headers has its name.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_cknames
TESTS += tests/unit/test_cknames
tests_unit_test_cknames_SOURCES = tests/unit/test_cknames.c
tests_unit_test_cknames_CFLAGS = $(UNIT_CFLAGS) \
	-DCKNAMES_FROM="\"$(CKNAMES_FROM)\""
tests_unit_test_cknames_LDADD = $(UNIT_LDADD)
endif
