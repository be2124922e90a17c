/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the CK_RV each internal error gives each PKCS#11 call
 * (util/err.c cmk_err_rv_in) is one that call may return: its "Return
 * values" in PKCS#11 3.0 section 5, plus the values any call may return
 * (section 5.1.1 to 5.1.5). The one documented exception is checked
 * exactly, as are the codes README's "Errors" table names, and the
 * numbers ulDeviceError gives provider codes.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "providers/aws_int.h"
#include "providers/provider.h"
#include "util/err.h"

#define END ((CK_RV)-1)

/* Sections 5.1.1 (any call), 5.1.2 (a session), 5.1.3 (a token), 5.1.5
 * (pointer arguments). */
static const CK_RV universal[] = {CKR_OK,
                                  CKR_GENERAL_ERROR,
                                  CKR_HOST_MEMORY,
                                  CKR_FUNCTION_FAILED,
                                  CKR_SESSION_HANDLE_INVALID,
                                  CKR_DEVICE_REMOVED,
                                  CKR_SESSION_CLOSED,
                                  CKR_DEVICE_MEMORY,
                                  CKR_DEVICE_ERROR,
                                  CKR_TOKEN_NOT_PRESENT,
                                  CKR_ARGUMENTS_BAD,
                                  END};

/* Section 5.9 C_EncryptInit; C_DecryptInit (5.10) lists the same. */
static const CK_RV init_list[] = {CKR_CRYPTOKI_NOT_INITIALIZED,
                                  CKR_FUNCTION_CANCELED,
                                  CKR_KEY_FUNCTION_NOT_PERMITTED,
                                  CKR_KEY_HANDLE_INVALID,
                                  CKR_KEY_SIZE_RANGE,
                                  CKR_KEY_TYPE_INCONSISTENT,
                                  CKR_MECHANISM_INVALID,
                                  CKR_MECHANISM_PARAM_INVALID,
                                  CKR_OPERATION_ACTIVE,
                                  CKR_PIN_EXPIRED,
                                  CKR_USER_NOT_LOGGED_IN,
                                  END};

/* Section 5.9 C_Encrypt (C_EncryptUpdate and C_EncryptFinal alike). */
static const CK_RV encrypt_list[] = {CKR_BUFFER_TOO_SMALL,
                                     CKR_CRYPTOKI_NOT_INITIALIZED,
                                     CKR_DATA_INVALID,
                                     CKR_DATA_LEN_RANGE,
                                     CKR_FUNCTION_CANCELED,
                                     CKR_OPERATION_NOT_INITIALIZED,
                                     END};

/* Section 5.10 C_Decrypt (C_DecryptUpdate and C_DecryptFinal alike). */
static const CK_RV decrypt_list[] = {
    CKR_BUFFER_TOO_SMALL,       CKR_CRYPTOKI_NOT_INITIALIZED,
    CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE,
    CKR_FUNCTION_CANCELED,      CKR_OPERATION_NOT_INITIALIZED,
    CKR_USER_NOT_LOGGED_IN,     END};

/* Section 5.14 C_WrapKey. */
static const CK_RV wrap_list[] = {CKR_BUFFER_TOO_SMALL,
                                  CKR_CRYPTOKI_NOT_INITIALIZED,
                                  CKR_FUNCTION_CANCELED,
                                  CKR_KEY_HANDLE_INVALID,
                                  CKR_KEY_NOT_WRAPPABLE,
                                  CKR_KEY_SIZE_RANGE,
                                  CKR_KEY_UNEXTRACTABLE,
                                  CKR_MECHANISM_INVALID,
                                  CKR_MECHANISM_PARAM_INVALID,
                                  CKR_OPERATION_ACTIVE,
                                  CKR_PIN_EXPIRED,
                                  CKR_USER_NOT_LOGGED_IN,
                                  CKR_WRAPPING_KEY_HANDLE_INVALID,
                                  CKR_WRAPPING_KEY_SIZE_RANGE,
                                  CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
                                  END};

/* Section 5.14 C_UnwrapKey. */
static const CK_RV unwrap_list[] = {CKR_ATTRIBUTE_READ_ONLY,
                                    CKR_ATTRIBUTE_TYPE_INVALID,
                                    CKR_ATTRIBUTE_VALUE_INVALID,
                                    CKR_BUFFER_TOO_SMALL,
                                    CKR_CRYPTOKI_NOT_INITIALIZED,
                                    CKR_CURVE_NOT_SUPPORTED,
                                    CKR_DOMAIN_PARAMS_INVALID,
                                    CKR_FUNCTION_CANCELED,
                                    CKR_MECHANISM_INVALID,
                                    CKR_MECHANISM_PARAM_INVALID,
                                    CKR_OPERATION_ACTIVE,
                                    CKR_PIN_EXPIRED,
                                    CKR_SESSION_READ_ONLY,
                                    CKR_TEMPLATE_INCOMPLETE,
                                    CKR_TEMPLATE_INCONSISTENT,
                                    CKR_TOKEN_WRITE_PROTECTED,
                                    CKR_UNWRAPPING_KEY_HANDLE_INVALID,
                                    CKR_UNWRAPPING_KEY_SIZE_RANGE,
                                    CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
                                    CKR_USER_NOT_LOGGED_IN,
                                    CKR_WRAPPED_KEY_INVALID,
                                    CKR_WRAPPED_KEY_LEN_RANGE,
                                    END};

static const CK_RV *const lists[CMK_CALL__COUNT] = {
    [CMK_CALL_INIT] = init_list,       [CMK_CALL_ENCRYPT] = encrypt_list,
    [CMK_CALL_DECRYPT] = decrypt_list, [CMK_CALL_WRAP] = wrap_list,
    [CMK_CALL_UNWRAP] = unwrap_list,
};

static int in(const CK_RV *list, CK_RV rv)
{
    size_t i;

    for (i = 0; list[i] != END; i++) {
        if (list[i] == rv)
            return 1;
    }
    return 0;
}

/* README, "Errors": C_Encrypt and C_Decrypt say CKR_KEY_HANDLE_INVALID
 * when the KMS no longer knows the CMK, which their lists lack. */
static int documented_exception(cmk_err err, enum cmk_err_call call)
{
    return err == CMK_E_KEY_NOT_FOUND &&
           (call == CMK_CALL_ENCRYPT || call == CMK_CALL_DECRYPT);
}

static void test_every_code_is_listed(void **state)
{
    int err, call;
    CK_RV rv;

    (void)state;
    for (err = 0; err < CMK_E__COUNT; err++) {
        for (call = 0; call < CMK_CALL__COUNT; call++) {
            rv = cmk_err_rv_in((cmk_err)err, (enum cmk_err_call)call);
            if (documented_exception((cmk_err)err, (enum cmk_err_call)call))
                continue;
            if (!in(universal, rv) && !in(lists[call], rv))
                fail_msg("%s in call %d gives %s, not in that call's list",
                         cmk_err_name((cmk_err)err), call, cmk_rv_name(rv));
        }
    }
    assert_int_equal(cmk_err_rv_in(CMK_E_KEY_NOT_FOUND, CMK_CALL_ENCRYPT),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(cmk_err_rv_in(CMK_E_KEY_NOT_FOUND, CMK_CALL_DECRYPT),
                     CKR_KEY_HANDLE_INVALID);
}

/* The codes README and docs/aws.md give, one call at a time. */
static void test_exact_codes(void **state)
{
    static const struct {
        cmk_err err;
        CK_RV rv[CMK_CALL__COUNT]; /* Init, Encrypt, Decrypt, Wrap, Unwrap */
    } want[] = {
        {CMK_E_KEY_NOT_FOUND,
         {CKR_KEY_HANDLE_INVALID, CKR_KEY_HANDLE_INVALID,
          CKR_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_HANDLE_INVALID,
          CKR_UNWRAPPING_KEY_HANDLE_INVALID}},
        {CMK_E_KEY_DISABLED,
         {CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_FUNCTION_FAILED,
          CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED}},
        {CMK_E_ACCESS_DENIED,
         {CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_FUNCTION_FAILED,
          CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED}},
        {CMK_E_BAD_CIPHERTEXT,
         {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, CKR_ENCRYPTED_DATA_INVALID,
          CKR_DEVICE_ERROR, CKR_WRAPPED_KEY_INVALID}},
        {CMK_E_BAD_BLOB,
         {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, CKR_ENCRYPTED_DATA_INVALID,
          CKR_DEVICE_ERROR, CKR_WRAPPED_KEY_INVALID}},
        {CMK_E_TOO_LARGE,
         {CKR_GENERAL_ERROR, CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_LEN_RANGE,
          CKR_KEY_SIZE_RANGE, CKR_WRAPPED_KEY_LEN_RANGE}},
        {CMK_E_BAD_RESPONSE,
         {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, CKR_DEVICE_ERROR,
          CKR_DEVICE_ERROR, CKR_DEVICE_ERROR}},
        {CMK_E_THROTTLED,
         {CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED,
          CKR_FUNCTION_FAILED, CKR_FUNCTION_FAILED}},
        {CMK_E_NETWORK,
         {CKR_DEVICE_ERROR, CKR_DEVICE_ERROR, CKR_DEVICE_ERROR,
          CKR_DEVICE_ERROR, CKR_DEVICE_ERROR}},
    };
    size_t i;
    int call;

    (void)state;
    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        for (call = 0; call < CMK_CALL__COUNT; call++)
            assert_int_equal(
                cmk_err_rv_in(want[i].err, (enum cmk_err_call)call),
                want[i].rv[call]);
    }
    /* Out of range: the general code of an internal error. */
    assert_int_equal(cmk_err_rv_in(CMK_E__COUNT, CMK_CALL_UNWRAP),
                     CKR_GENERAL_ERROR);
    assert_int_equal(cmk_err_rv_in(CMK_OK, CMK_CALL_UNWRAP), CKR_OK);
}

/* The numbers ulDeviceError gives provider codes (docs/aws.md,
 * "ulDeviceError"; README, "Errors"): never changed. */
static void test_code_numbers(void **state)
{
    static const struct {
        const char *code;
        unsigned num;
    } aws[] = {
        {"DisabledException", 1},
        {"KMSInvalidStateException", 2},
        {"NotFoundException", 3},
        {"InvalidSignatureException", 7},
        {"InvalidCiphertextException", 12},
        {"ThrottlingException", 14},
        {"DryRunOperationException", 31},
        {"UnsupportedOperationException", 40},
        {"ExpiredImportTokenException", 41},
        {"InvalidImportTokenException", 42},
        {"IncorrectKeyMaterialException", 43},
        {"InvalidArnException", 44},
        {"MalformedResponse", 100},
        {"NetworkError", 101},
        {"Timeout", 102},
        {"TlsError", 103},
        {"ResponseTooLarge", 104},
        {"EndpointRefused", 105},
        {"ClientError", 106},
        {"PlaintextTooLarge", 107},
        {"CiphertextLength", 108},
        {"DataKeyLength", 109},
        {"UnexpectedKeyId", 110},
        {"SealedByOtherKey", 111},
        {"SealedByInvalid", 112},
        {"NotExternalKey", 113},
        {"NoCredentials", 200},
        {"CredentialsFileUnusable", 201},
        {"ProfileNotFound", 204},
        {"ImdsMalformed", 219},
        {"CredentialEndpointTimeout", 210},
        {"CredentialEndpointTls", 211},
        {"CredentialEndpointUnreachable", 212},
        {"InvalidIdentityToken", 230},
        {"KeyState:PendingDeletion", 302},
        {"KeyState:Updating", 307},
        {"KeyState:SomethingNew", 300},
        {"HTTP503", 1503},
        {"HTTP418", 1418},
        {"HTTP5", CMK_DEV_OTHER},
        {"HTTP50x", CMK_DEV_OTHER},
        {"SomeNewException", CMK_DEV_OTHER},
        {"", CMK_DEV_OTHER},
    };
    const struct cmk_provider_ops *local = cmk_provider_find("local");
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(aws) / sizeof(aws[0]); i++)
        assert_int_equal(cmk_aws_code_number(aws[i].code), aws[i].num);
    assert_int_equal(cmk_aws_code_number(NULL), CMK_DEV_OTHER);
    assert_non_null(local);
    assert_non_null(local->code_number);
    assert_int_equal(local->code_number("KeyFileMissing"), 1);
    assert_int_equal(local->code_number("KeyFileChanged"), 7);
    assert_int_equal(local->code_number("InvalidCiphertext"), 10);
    assert_int_equal(local->code_number("Other"), CMK_DEV_OTHER);
}

/* The value a session gets: (provider << 16) | number, 0 for success,
 * nothing when the call made no provider call. */
static void test_device_value(void **state)
{
    CK_ULONG v = 77;

    (void)state;
    cmk_err_device_begin();
    assert_false(cmk_err_device_take(&v));
    assert_int_equal(v, 77);
    cmk_err_device_note(CMK_PROV_AWS, 3);
    cmk_err_device_note(CMK_PROV_AWS, 12); /* the last call counts */
    assert_true(cmk_err_device_take(&v));
    assert_int_equal(v, 0x2000C);
    assert_false(cmk_err_device_take(&v)); /* taken */
    cmk_err_device_note(CMK_PROV_AWS, 3);
    cmk_err_device_note(CMK_PROV_LOCAL, 0);
    assert_true(cmk_err_device_take(&v));
    assert_int_equal(v, 0);
    cmk_err_device_note(CMK_PROV_AWS, CMK_DEV_KEK_LENGTH);
    assert_true(cmk_err_device_take(&v));
    assert_int_equal(v, 0x2F001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_is_listed),
        cmocka_unit_test(test_exact_codes),
        cmocka_unit_test(test_code_numbers),
        cmocka_unit_test(test_device_value),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
