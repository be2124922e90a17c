# owned by its area
# data-key rotation: previous KEKs in the config, the keys layer and the
# module (KEK-path unwrap in the overlap window), the store's re-seal, and
# cmk-tool rotate-kek with its journal and the KEK-path rewrap transform.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_config_keks tests/unit/test_store_reseal \
	tests/unit/test_kek_window
TESTS += tests/unit/test_config_keks tests/unit/test_store_reseal \
	tests/unit/test_kek_window
tests_unit_test_config_keks_SOURCES = tests/unit/test_config_keks.c
tests_unit_test_config_keks_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_keks_LDADD = $(UNIT_LDADD)
tests_unit_test_store_reseal_SOURCES = tests/unit/test_store_reseal.c
tests_unit_test_store_reseal_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_reseal_LDADD = $(UNIT_LDADD)
tests_unit_test_kek_window_SOURCES = tests/unit/test_kek_window.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/tenant_rotate.c \
	tests/lib/p11.c tests/lib/p11.h
tests_unit_test_kek_window_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_kek_window_LDADD = $(UNIT_LDADD)
endif
