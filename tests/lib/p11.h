/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: small PKCS#11 steps the module tests share, asserting every CK_RV
 * with cmocka (call them from the test thread, or from threads of a test
 * that accepts cmocka's behaviour there).
 */
#ifndef CMK_TEST_P11_H
#define CMK_TEST_P11_H

#include "util/pkcs11_compat.h"

/* Opens a session on slot with flags and logs in with TEST_PIN. */
CK_SESSION_HANDLE tp11_open_login(CK_FUNCTION_LIST_PTR p, CK_SLOT_ID slot,
                                  CK_FLAGS flags);
/* The token's CMK object (CKA_CMK_IS_CMK TRUE); asserts there is one. */
CK_OBJECT_HANDLE tp11_find_cmk(CK_FUNCTION_LIST_PTR p, CK_SESSION_HANDLE h);
/* A new AES-256 DEK. */
CK_OBJECT_HANDLE tp11_gen_aes(CK_FUNCTION_LIST_PTR p, CK_SESSION_HANDLE h,
                              CK_BBOOL token, CK_BBOOL extractable);

#endif /* CMK_TEST_P11_H */
