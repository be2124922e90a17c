# owned by its area
# core: configuration, attribute lists, token-object store.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_attrs
TESTS += tests/unit/test_attrs
tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_attrs_LDADD = $(UNIT_LDADD)
endif
