# owned by its area
# data-key rotation: previous KEKs in the config, the keys layer and the
# module (KEK-path unwrap in the overlap window), the store's re-seal, and
# cmk-tool rotate-kek with its journal and the KEK-path rewrap transform.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_config_keks tests/unit/test_store_reseal \
	tests/unit/test_kek_window tests/unit/test_rotate_kek
TESTS += tests/unit/test_config_keks tests/unit/test_store_reseal \
	tests/unit/test_kek_window tests/unit/test_rotate_kek
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
# cmk-tool is a program: its pieces are built into the test.
tests_unit_test_rotate_kek_SOURCES = tests/unit/test_rotate_kek.c \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/tenant_rotate.c \
	tests/lib/p11.c tests/lib/p11.h \
	tests/lib/audit_check.c tests/lib/audit_check.h \
	src/tool/util.c src/tool/config_write.c src/tool/config_keks.c \
	src/tool/event.c src/tool/rotlock.c src/tool/rotlast.c \
	src/tool/backup.c src/tool/kek_seal.c src/tool/dual.c \
	src/tool/rotate_kek.c src/tool/rotkek_store.c \
	src/tool/rotkek_journal.c src/tool/rewrap_kek.c
tests_unit_test_rotate_kek_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rotate_kek_LDADD = $(UNIT_LDADD)
endif
