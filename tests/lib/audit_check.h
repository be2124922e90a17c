/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the module's verifier (audit/verify.h) run over audit files the
 * writer made, with the chain keys unsealed through a test configuration
 * (keys/audit_unseal.h) or known to the test, and what it found counted
 * for exact assertions.
 */
#ifndef CMK_TEST_AUDIT_CHECK_H
#define CMK_TEST_AUDIT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "audit/verify.h"

struct test_audit_rep {
    struct cmk_audit_summary sum;
    size_t zero_runs; /* notes: runs of 0x00 skipped (space never written) */
    size_t torn;      /* bad regions: a line cut short by 0x00 (a writer
                       * killed while copying it) */
    size_t picked_up; /* notes: a writer first met at a rotate_in or
                       * reopen, its earlier files not given */
    char first[512];  /* the first problem, "FILE: line L: REASON" */
};

/* A chain key the test made, found by the sealed bytes it gave the
 * writer (its audit_open carries them in base64). */
struct test_audit_key {
    const char *sealed; /* NULL ends a list */
    const uint8_t *key; /* CMK_AUDIT_KEY_LEN bytes */
};

/* A cmk_audit_unseal_fn over a list of struct test_audit_key (arg): the
 * key of the entry whose sealed bytes match, else CMK_E_KEY_NOT_FOUND. */
cmk_err test_audit_unseal_known(void *arg, const char *tenant,
                                const char *provider, const uint8_t *sealed,
                                size_t sealed_len, uint8_t *key, char *why,
                                size_t why_len);

/* files[0..n) as one series, oldest first, keys from unseal (NULL: no
 * key opens). Returns the number of problems (rep->sum.problems), -1 if
 * the verifier could not run. */
long test_audit_check_files(const char *const *files, size_t n,
                            cmk_audit_unseal_fn unseal, void *arg,
                            struct test_audit_rep *rep);

/* path with its rotated siblings (path.N ... path.1, path), keys unsealed
 * through the audit key tenant of the module config at config, as
 * cmk-tool audit verify does. -1 also when config does not load. */
long test_audit_check(const char *path, const char *config,
                      struct test_audit_rep *rep);

#endif /* CMK_TEST_AUDIT_CHECK_H */
