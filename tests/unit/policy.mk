# SPDX-License-Identifier: Apache-2.0
# Attribute policy (src/core/policy.c) unit tests.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_policy
TESTS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.c
tests_unit_test_policy_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_policy_LDADD = $(UNIT_LDADD)
endif
