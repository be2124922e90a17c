/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: reading what keys/cmk wrote to an audit file about a provider's
 * KMS calls (the provider tests' audit cases): a writer with a chain key
 * of its own (not sealed by a CMK: these tests read records, they do not
 * verify the chain), the last record of an event, one string member.
 * Failures fail the running cmocka test.
 */
#ifndef CMK_TEST_KMS_AUDIT_H
#define CMK_TEST_KMS_AUDIT_H

#include <jansson.h>

#include "audit/audit.h"

/* A writer on path for tenant and provider (cmk_audit_close). */
struct cmk_audit *test_kms_audit_open(const char *path, const char *tenant,
                                      const char *provider);
/* The last record of the file with event, parsed (json_decref). */
json_t *test_kms_audit_last(const char *path, const char *event);
/* rec's member name is the string want. */
void test_kms_audit_expect_str(json_t *rec, const char *name, const char *want);

#endif /* CMK_TEST_KMS_AUDIT_H */
