/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: shared PKCS#11 steps for the module tests.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

CK_SESSION_HANDLE tp11_open_login(CK_FUNCTION_LIST_PTR p, CK_SLOT_ID slot,
                                  CK_FLAGS flags)
{
    static CK_UTF8CHAR pin[] = TEST_PIN;
    CK_SESSION_HANDLE h = 0;

    assert_int_equal(p->C_OpenSession(slot, flags, NULL, NULL, &h), CKR_OK);
    assert_int_equal(p->C_Login(h, CKU_USER, pin, sizeof(pin) - 1), CKR_OK);
    return h;
}

CK_OBJECT_HANDLE tp11_find_cmk(CK_FUNCTION_LIST_PTR p, CK_SESSION_HANDLE h)
{
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE tmpl[] = {{CKA_CMK_IS_CMK, &t, sizeof(t)}};
    CK_OBJECT_HANDLE o = 0;
    CK_ULONG n = 0;

    assert_int_equal(p->C_FindObjectsInit(h, tmpl, 1), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, &o, 1, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    return o;
}

CK_OBJECT_HANDLE tp11_gen_aes(CK_FUNCTION_LIST_PTR p, CK_SESSION_HANDLE h,
                              CK_BBOOL token, CK_BBOOL extractable)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE tmpl[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                           {CKA_TOKEN, &token, sizeof(token)},
                           {CKA_EXTRACTABLE, &extractable, 1}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_GenerateKey(h, &m, tmpl, 3, &k), CKR_OK);
    return k;
}
