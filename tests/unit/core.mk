# owned by its area
# core: configuration, attribute lists, token-object store.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_attrs tests/unit/test_store
TESTS += tests/unit/test_attrs tests/unit/test_store
tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_attrs_LDADD = $(UNIT_LDADD)
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)
endif
