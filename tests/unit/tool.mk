# owned by its area
# tool: cmk-tool's own pieces, built from their sources (cmk-tool is a
# program, not a library).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_rotlock
TESTS += tests/unit/test_rotlock
tests_unit_test_rotlock_SOURCES = tests/unit/test_rotlock.c \
	src/tool/rotlock.c src/tool/rotlast.c src/tool/util.c \
	src/tool/event.c
tests_unit_test_rotlock_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_rotlock_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_utc
TESTS += tests/unit/test_utc
tests_unit_test_utc_SOURCES = tests/unit/test_utc.c
tests_unit_test_utc_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_utc_LDADD = $(UNIT_LDADD)
endif
# The encrypted file format of cmk-tool encrypt (docs/file-format.md).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_file_format
TESTS += tests/unit/test_file_format
tests_unit_test_file_format_SOURCES = tests/unit/test_file_format.c \
	src/tool/file_format.c
tests_unit_test_file_format_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)
tests_unit_test_file_format_LDADD = $(UNIT_LDADD)
endif

# cmk-tool import-key end to end on the local provider, the module under
# PyKCS11 before and after (tests/integration/aws has the aws side).
TESTS += tests/integration/test_import_key.sh
EXTRA_DIST += tests/integration/test_import_key.sh \
	tests/integration/import_pykcs11.py
