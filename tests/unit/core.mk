# owned by its area
# core: configuration, attribute lists, handle maps, token-object store.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_config tests/unit/test_attrs \
	tests/unit/test_hmap tests/unit/test_store tests/unit/test_store_history
TESTS += tests/unit/test_config tests/unit/test_attrs tests/unit/test_hmap \
	tests/unit/test_store tests/unit/test_store_history
tests_unit_test_hmap_SOURCES = tests/unit/test_hmap.c
tests_unit_test_hmap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hmap_LDADD = $(UNIT_LDADD)
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
tests_unit_test_attrs_SOURCES = tests/unit/test_attrs.c
tests_unit_test_attrs_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_attrs_LDADD = $(UNIT_LDADD)
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/store_fx.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)
tests_unit_test_store_history_SOURCES = tests/unit/test_store_history.c \
	tests/unit/store_fx.h
tests_unit_test_store_history_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_history_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test_store_id
TESTS += tests/unit/test_store_id
tests_unit_test_store_id_SOURCES = tests/unit/test_store_id.c \
	tests/unit/store_fx.h
tests_unit_test_store_id_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_id_LDADD = $(UNIT_LDADD)
# The per-store generation memory across C_Finalize (core/seen_gen.c).
check_PROGRAMS += tests/unit/test_bgthread
TESTS += tests/unit/test_bgthread
tests_unit_test_bgthread_SOURCES = tests/unit/test_bgthread.c
tests_unit_test_bgthread_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bgthread_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test_seen_gen
TESTS += tests/unit/test_seen_gen
tests_unit_test_seen_gen_SOURCES = tests/unit/test_seen_gen.c
tests_unit_test_seen_gen_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_seen_gen_LDADD = $(UNIT_LDADD)
endif

# Config fixtures: one directory per case (listed: automake has no wildcards).
EXTRA_DIST += \
	tests/fixtures/config/bad-health-breaker/config.json \
	tests/fixtures/config/bad-health-breaker/expected.txt \
	tests/fixtures/config/bad-health-probe-order/config.json \
	tests/fixtures/config/bad-health-probe-order/expected.txt \
	tests/fixtures/config/bad-health-unknown/config.json \
	tests/fixtures/config/bad-health-unknown/expected.txt \
	tests/fixtures/config/bad-pin-cost/config.json \
	tests/fixtures/config/bad-pin-cost/expected.txt \
	tests/fixtures/config/bad-max-pin-failures/config.json \
	tests/fixtures/config/bad-max-pin-failures/expected.txt \
	tests/fixtures/config/bad-key-change-interval/config.json \
	tests/fixtures/config/bad-key-change-interval/expected.txt \
	tests/fixtures/config/bad-key-change-interval-type/config.json \
	tests/fixtures/config/bad-key-change-interval-type/expected.txt \
	tests/fixtures/config/bad-cache-ttl/config.json \
	tests/fixtures/config/bad-cache-ttl/expected.txt \
	tests/fixtures/config/bad-cmk-id-odd/config.json \
	tests/fixtures/config/bad-cmk-id-odd/expected.txt \
	tests/fixtures/config/bad-cmk-id/config.json \
	tests/fixtures/config/bad-cmk-id/expected.txt \
	tests/fixtures/config/bad-context-tenant/config.json \
	tests/fixtures/config/bad-context-tenant/expected.txt \
	tests/fixtures/config/bad-context-value-type/config.json \
	tests/fixtures/config/bad-context-value-type/expected.txt \
	tests/fixtures/config/bad-duplicate-key/config.json \
	tests/fixtures/config/bad-duplicate-key/expected.txt \
	tests/fixtures/config/bad-duplicate-label/config.json \
	tests/fixtures/config/bad-duplicate-label/expected.txt \
	tests/fixtures/config/bad-audit-key-tenant/config.json \
	tests/fixtures/config/bad-audit-key-tenant/expected.txt \
	tests/fixtures/config/bad-audit-key-tenant-type/config.json \
	tests/fixtures/config/bad-audit-key-tenant-type/expected.txt \
	tests/fixtures/config/bad-audit-max-bytes/config.json \
	tests/fixtures/config/bad-audit-max-bytes/expected.txt \
	tests/fixtures/config/bad-audit-max-bytes-type/config.json \
	tests/fixtures/config/bad-audit-max-bytes-type/expected.txt \
	tests/fixtures/config/bad-audit-keep/config.json \
	tests/fixtures/config/bad-audit-keep/expected.txt \
	tests/fixtures/config/bad-audit-rotated-name/config.json \
	tests/fixtures/config/bad-audit-rotated-name/expected.txt \
	tests/fixtures/config/bad-audit-syslog/config.json \
	tests/fixtures/config/bad-audit-syslog/expected.txt \
	tests/fixtures/config/bad-fsync/config.json \
	tests/fixtures/config/bad-fsync/expected.txt \
	tests/fixtures/config/bad-json-syntax/config.json \
	tests/fixtures/config/bad-json-syntax/expected.txt \
	tests/fixtures/config/bad-kek-base64/config.json \
	tests/fixtures/config/bad-kek-base64/expected.txt \
	tests/fixtures/config/bad-kek-commitment-length/config.json \
	tests/fixtures/config/bad-kek-commitment-length/expected.txt \
	tests/fixtures/config/bad-kek-commitment-alone/config.json \
	tests/fixtures/config/bad-kek-commitment-alone/expected.txt \
	tests/fixtures/config/bad-key-missing/config.json \
	tests/fixtures/config/bad-key-missing/expected.txt \
	tests/fixtures/config/bad-key-mode/config.json \
	tests/fixtures/config/bad-key-mode/expected.txt \
	tests/fixtures/config/bad-key-relative/config.json \
	tests/fixtures/config/bad-key-relative/expected.txt \
	tests/fixtures/config/bad-label-33/config.json \
	tests/fixtures/config/bad-label-33/expected.txt \
	tests/fixtures/config/bad-label-slash/config.json \
	tests/fixtures/config/bad-label-slash/expected.txt \
	tests/fixtures/config/bad-label-type/config.json \
	tests/fixtures/config/bad-label-type/expected.txt \
	tests/fixtures/config/bad-login-required-type/config.json \
	tests/fixtures/config/bad-login-required-type/expected.txt \
	tests/fixtures/config/bad-missing-key/config.json \
	tests/fixtures/config/bad-missing-key/expected.txt \
	tests/fixtures/config/bad-missing-label/config.json \
	tests/fixtures/config/bad-missing-label/expected.txt \
	tests/fixtures/config/bad-missing-pin/config.json \
	tests/fixtures/config/bad-missing-pin/expected.txt \
	tests/fixtures/config/bad-missing-provider/config.json \
	tests/fixtures/config/bad-missing-provider/expected.txt \
	tests/fixtures/config/bad-missing-tenants/config.json \
	tests/fixtures/config/bad-missing-tenants/expected.txt \
	tests/fixtures/config/bad-pin-format/config.json \
	tests/fixtures/config/bad-pin-format/expected.txt \
	tests/fixtures/config/bad-previous-key-missing/config.json \
	tests/fixtures/config/bad-previous-key-missing/expected.txt \
	tests/fixtures/config/bad-provider-aws/config.json \
	tests/fixtures/config/bad-provider-aws/expected.txt \
	tests/fixtures/config/bad-provider-unknown/config.json \
	tests/fixtures/config/bad-provider-unknown/expected.txt \
	tests/fixtures/config/bad-store-dir-relative/config.json \
	tests/fixtures/config/bad-store-dir-relative/expected.txt \
	tests/fixtures/config/bad-tenant-not-object/config.json \
	tests/fixtures/config/bad-tenant-not-object/expected.txt \
	tests/fixtures/config/bad-tenants-empty/config.json \
	tests/fixtures/config/bad-tenants-empty/expected.txt \
	tests/fixtures/config/bad-tenants-type/config.json \
	tests/fixtures/config/bad-tenants-type/expected.txt \
	tests/fixtures/config/bad-top-array/config.json \
	tests/fixtures/config/bad-top-array/expected.txt \
	tests/fixtures/config/bad-unknown-tenant/config.json \
	tests/fixtures/config/bad-unknown-tenant/expected.txt \
	tests/fixtures/config/bad-unknown-top/config.json \
	tests/fixtures/config/bad-unknown-top/expected.txt \
	tests/fixtures/config/bad-version/config.json \
	tests/fixtures/config/bad-version/expected.txt \
	tests/fixtures/config/good-full/config.json \
	tests/fixtures/config/good-minimal/config.json \
	tests/fixtures/config/good-pin-file/config.json \
	tests/fixtures/config/good-pin-file/pin.txt

# Config fixtures of "dual_control" (read by tests/unit/test_config).
EXTRA_DIST += \
	tests/fixtures/config/bad-dual-aws-key \
	tests/fixtures/config/bad-dual-aws-object-local \
	tests/fixtures/config/bad-dual-aws-region \
	tests/fixtures/config/bad-dual-endpoint-http \
	tests/fixtures/config/bad-dual-kek-alone \
	tests/fixtures/config/bad-dual-kek-base64 \
	tests/fixtures/config/bad-dual-kek-missing \
	tests/fixtures/config/bad-dual-key-missing \
	tests/fixtures/config/bad-dual-key-relative \
	tests/fixtures/config/bad-dual-not-object \
	tests/fixtures/config/bad-dual-previous-key \
	tests/fixtures/config/bad-dual-provider-missing \
	tests/fixtures/config/bad-dual-provider-unknown \
	tests/fixtures/config/bad-dual-same-key \
	tests/fixtures/config/bad-dual-ttl \
	tests/fixtures/config/bad-dual-unknown-field \
	tests/fixtures/config/good-dual

# Config fixtures of "key_pairs" (read by tests/unit/test_config).
EXTRA_DIST += \
	tests/fixtures/config/bad-kp-cert-missing \
	tests/fixtures/config/bad-kp-cert-relative \
	tests/fixtures/config/bad-kp-id-cmk \
	tests/fixtures/config/bad-kp-id-dup \
	tests/fixtures/config/bad-kp-id-hex \
	tests/fixtures/config/bad-kp-id-long \
	tests/fixtures/config/bad-kp-key-missing \
	tests/fixtures/config/bad-kp-key-relative \
	tests/fixtures/config/bad-kp-label-cmk \
	tests/fixtures/config/bad-kp-label-dup \
	tests/fixtures/config/bad-kp-label-long \
	tests/fixtures/config/bad-kp-label-missing \
	tests/fixtures/config/bad-kp-not-array \
	tests/fixtures/config/bad-kp-not-object \
	tests/fixtures/config/bad-kp-pin \
	tests/fixtures/config/bad-kp-unknown-field \
	tests/fixtures/config/bad-kp-gcp-not-version \
	tests/fixtures/config/bad-kp-vault-version \
	tests/fixtures/config/bad-kp-usage \
	tests/fixtures/config/bad-kp-usage-empty \
	tests/fixtures/config/bad-kp-usage-twice \
	tests/fixtures/config/good-key-pairs
