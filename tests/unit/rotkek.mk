# owned by its area
# data-key rotation: previous KEKs in the config, the keys layer and the
# module (KEK-path unwrap in the overlap window), the store's re-seal, and
# cmk-tool rotate-kek with its journal and the KEK-path rewrap transform.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_config_keks tests/unit/test_store_reseal
TESTS += tests/unit/test_config_keks tests/unit/test_store_reseal
tests_unit_test_config_keks_SOURCES = tests/unit/test_config_keks.c
tests_unit_test_config_keks_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_keks_LDADD = $(UNIT_LDADD)
tests_unit_test_store_reseal_SOURCES = tests/unit/test_store_reseal.c
tests_unit_test_store_reseal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_reseal_LDADD = $(UNIT_LDADD)
endif
