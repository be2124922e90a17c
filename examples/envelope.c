/* SPDX-License-Identifier: Apache-2.0 */
/*
 * envelope: an envelope-encryption round trip with cmk-pkcs11.
 *
 * Logs in to a tenant's token, finds its CMK object (CKA_CMK_IS_CMK),
 * generates an AES-256 data key (DEK) that may leave the token only
 * wrapped, wraps it with the CMK (CKM_CMK_ENVELOPE: the KMS seals it),
 * unwraps the blob into a second key, encrypts a message with AES-GCM
 * under the DEK and decrypts it with the unwrapped key. Prints
 * "envelope round trip ok" and exits 0; on a failure prints the PKCS#11
 * function, its CK_RV and the session's ulDeviceError split into
 * provider and number (include/cmk-pkcs11.h) and exits 1; 2 for usage.
 *
 *   envelope [-m MODULE] [-t TOKEN_LABEL] [-p PIN]
 *
 * MODULE: the module to dlopen, default the installed one (pkg-config
 * --variable=p11_module_path cmk-pkcs11, compiled in by the Makefile).
 * TOKEN_LABEL: the tenant's label, default the first slot with a token.
 * PIN: the user PIN; better in the environment variable CMK_PIN, since
 * other users can see a command line. The module reads its config from
 * CMK_PKCS11_CONFIG (or its compiled-in default).
 *
 * Build: make (examples/Makefile: pkg-config --cflags cmk-pkcs11).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include <cmk-pkcs11.h>

#ifndef CMK_MODULE_PATH
#define CMK_MODULE_PATH "cmk-pkcs11.so"
#endif

static CK_FUNCTION_LIST_PTR p11;
static CK_SESSION_HANDLE session = CK_INVALID_HANDLE;

static const char *rv_name(CK_RV rv)
{
    static const struct {
        CK_RV rv;
        const char *name;
    } names[] = {
        {CKR_OK, "CKR_OK"},
        {CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
        {CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
        {CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
        {CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
        {CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID"},
        {CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
        {CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID"},
        {CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
        {CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID"},
        {CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
        {CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
        {CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
        {CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
        {CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
        {CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
        {CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID"},
        {CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
        {CKR_UNWRAPPING_KEY_HANDLE_INVALID,
         "CKR_UNWRAPPING_KEY_HANDLE_INVALID"},
        {CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].rv == rv)
            return names[i].name;
    return "CKR_(see pkcs11.h)";
}

/* Any CK_RV but CKR_OK: say which call, the code, and what the KMS said
 * (CKR_FUNCTION_FAILED and CKR_DEVICE_ERROR put it in ulDeviceError). */
static int check(CK_RV rv, const char *fn)
{
    CK_SESSION_INFO info;

    if (rv == CKR_OK)
        return 0;
    fprintf(stderr, "envelope: %s: %s (0x%08lX)\n", fn, rv_name(rv),
            (unsigned long)rv);
    if (session != CK_INVALID_HANDLE &&
        p11->C_GetSessionInfo(session, &info) == CKR_OK &&
        info.ulDeviceError != 0) {
        unsigned long d = info.ulDeviceError;

        fprintf(stderr,
                "envelope: ulDeviceError 0x%lX: provider %lu, "
                "number %lu%s\n",
                d, CMK_DEVERR_PROVIDER(d), CMK_DEVERR_NUMBER(d),
                CMK_DEVERR_IS_BREAKER(d) ? " (circuit breaker open)" : "");
    }
    return 1;
}

#define CHECK(call, fn)                                                        \
    do {                                                                       \
        if (check((call), fn) != 0)                                            \
            goto out;                                                          \
    } while (0)

/* The slot whose token carries label, or the first with a token. */
static CK_RV find_slot(const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID ids[64];
    CK_ULONG n = 64, i;
    CK_TOKEN_INFO ti;
    char want[32];
    size_t len = label != NULL ? strlen(label) : 0;
    CK_RV rv = p11->C_GetSlotList(CK_TRUE, ids, &n);

    if (rv != CKR_OK)
        return rv;
    memset(want, ' ', sizeof(want)); /* labels are padded with blanks */
    memcpy(want, label != NULL ? label : "", len < 32 ? len : 32);
    for (i = 0; i < n; i++) {
        rv = p11->C_GetTokenInfo(ids[i], &ti);
        if (rv != CKR_OK)
            return rv;
        if (label == NULL || memcmp(ti.label, want, sizeof(want)) == 0) {
            *slot = ids[i];
            return CKR_OK;
        }
    }
    return CKR_TOKEN_NOT_PRESENT;
}

int main(int argc, char **argv)
{
    const char *module = CMK_MODULE_PATH, *label = NULL;
    const char *pin = getenv("CMK_PIN");
    void *lib = NULL;
    CK_C_GetFunctionList get_list;
    CK_SLOT_ID slot = 0;
    CK_OBJECT_HANDLE cmk = CK_INVALID_HANDLE, dek, dek2;
    CK_ULONG found = 0, blob_len = 0, ct_len, pt_len;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ULONG key_len = 32;
    CK_ATTRIBUTE is_cmk[] = {{CKA_CMK_IS_CMK, &yes, sizeof(yes)}};
    /* A session key that can leave the token only wrapped, and that only
     * encrypts and decrypts data (no wrap role: key separation). */
    CK_ATTRIBUTE dek_tpl[] = {
        {CKA_CLASS, &secret, sizeof(secret)},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_VALUE_LEN, &key_len, sizeof(key_len)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_ENCRYPT, &yes, sizeof(yes)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    CK_ATTRIBUTE unwrap_tpl[] = {
        {CKA_CLASS, &secret, sizeof(secret)},
        {CKA_KEY_TYPE, &aes, sizeof(aes)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_SENSITIVE, &yes, sizeof(yes)},
        {CKA_EXTRACTABLE, &no, sizeof(no)},
        {CKA_DECRYPT, &yes, sizeof(yes)},
    };
    CK_MECHANISM keygen = {CKM_AES_KEY_GEN, NULL, 0};
    CK_MECHANISM envelope = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_BYTE iv[12], blob[8192], ct[256], pt[256]; /* blob: room for any KMS */
    CK_GCM_PARAMS gcm;
    CK_MECHANISM aes_gcm = {CKM_AES_GCM, &gcm, sizeof(gcm)};
    static const char msg[] = "a message sealed under an enveloped DEK";
    int c, ret = 1;

    while ((c = getopt(argc, argv, "m:t:p:")) != -1) {
        switch (c) {
        case 'm':
            module = optarg;
            break;
        case 't':
            label = optarg;
            break;
        case 'p':
            pin = optarg;
            break;
        default:
            fprintf(stderr, "usage: envelope [-m MODULE] [-t TOKEN_LABEL] "
                            "[-p PIN] (or the PIN in CMK_PIN)\n");
            return 2;
        }
    }
    if (pin == NULL || optind != argc) {
        fprintf(stderr, "envelope: give the PIN in CMK_PIN or with -p\n");
        return 2;
    }

    lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "envelope: dlopen %s: %s\n", module, dlerror());
        return 1;
    }
    *(void **)&get_list = dlsym(lib, "C_GetFunctionList");
    if (get_list == NULL || get_list(&p11) != CKR_OK) {
        fprintf(stderr, "envelope: %s: no C_GetFunctionList\n", module);
        dlclose(lib);
        return 1;
    }
    CHECK(p11->C_Initialize(NULL), "C_Initialize");
    CHECK(find_slot(label, &slot), "C_GetSlotList/C_GetTokenInfo");
    CHECK(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
                             NULL, &session),
          "C_OpenSession");
    CHECK(p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin,
                       (CK_ULONG)strlen(pin)),
          "C_Login");

    CHECK(p11->C_FindObjectsInit(session, is_cmk, 1), "C_FindObjectsInit");
    CHECK(p11->C_FindObjects(session, &cmk, 1, &found), "C_FindObjects");
    CHECK(p11->C_FindObjectsFinal(session), "C_FindObjectsFinal");
    if (found != 1) {
        fprintf(stderr, "envelope: the token has no CMK object\n");
        goto out;
    }

    CHECK(p11->C_GenerateKey(session, &keygen, dek_tpl,
                             sizeof(dek_tpl) / sizeof(dek_tpl[0]), &dek),
          "C_GenerateKey");
    blob_len = sizeof(blob);
    CHECK(p11->C_WrapKey(session, &envelope, cmk, dek, blob, &blob_len),
          "C_WrapKey");
    CHECK(p11->C_UnwrapKey(session, &envelope, cmk, blob, blob_len, unwrap_tpl,
                           sizeof(unwrap_tpl) / sizeof(unwrap_tpl[0]), &dek2),
          "C_UnwrapKey");

    CHECK(p11->C_GenerateRandom(session, iv, sizeof(iv)), "C_GenerateRandom");
    memset(&gcm, 0, sizeof(gcm));
    gcm.pIv = iv;
    gcm.ulIvLen = sizeof(iv);
    gcm.ulIvBits = 8 * sizeof(iv);
    gcm.ulTagBits = 128;
    CHECK(p11->C_EncryptInit(session, &aes_gcm, dek), "C_EncryptInit");
    ct_len = sizeof(ct);
    CHECK(p11->C_Encrypt(session, (CK_BYTE_PTR)msg, sizeof(msg), ct, &ct_len),
          "C_Encrypt");
    CHECK(p11->C_DecryptInit(session, &aes_gcm, dek2), "C_DecryptInit");
    pt_len = sizeof(pt);
    CHECK(p11->C_Decrypt(session, ct, ct_len, pt, &pt_len), "C_Decrypt");
    if (pt_len != sizeof(msg) || memcmp(pt, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "envelope: the decrypted message differs\n");
        goto out;
    }
    CHECK(p11->C_Logout(session), "C_Logout");
    printf("envelope round trip ok\n");
    ret = 0;
out:
    if (session != CK_INVALID_HANDLE)
        p11->C_CloseSession(session);
    p11->C_Finalize(NULL);
    dlclose(lib);
    return ret;
}
