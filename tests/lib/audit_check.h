/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: verifies an audit file the module wrote, with its chain keys
 * unsealed through the test configuration (audit/verify.h,
 * keys/audit_unseal.h); format-1 records are checked as before.
 */
#ifndef CMK_TEST_AUDIT_CHECK_H
#define CMK_TEST_AUDIT_CHECK_H

#include <stddef.h>

#include "audit/verify.h"

/* Verifies path (and its rotated siblings) with config's first tenant as
 * the key tenant (config NULL: no keys). Fills *sum and, if any problem
 * was found, "FILE: line L: REASON" of the first into first. Returns the
 * number of problems, -1 if the file or config could not be read. */
long test_audit_check(const char *path, const char *config,
                      struct cmk_audit_summary *sum, char *first,
                      size_t first_len);

#endif /* CMK_TEST_AUDIT_CHECK_H */
