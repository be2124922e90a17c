/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: key separation and the CMK's identity, through the function list:
 * each attack sequence of Bortolozzo, Centenaro, Focardi and Steel,
 * "Attacking and fixing PKCS#11 security tokens" (CCS 2010) against the
 * CMK and against DEKs, refused with its exact CK_RV; the CMK's mechanism
 * list; nobody standing in for the CMK; the tenant's opt-outs.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>

#include "cmk-pkcs11.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

static struct test_env tenv;
static char optout_config[320];
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
static CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
static CK_KEY_TYPE aes = CKK_AES;
static uint8_t known[32] = "attacker-chosen key value 0123!";
static uint8_t cmk_id[] = {0x01};
static char cmk_label[] = "alpha-cmk";
static char ptl[] = "public-tok", legacy[] = "legacy";

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define RW (CKF_SERIAL_SESSION | CKF_RW_SESSION)

/* The same config with tenant alpha's key_policy opt-outs turned on. */
static int write_optout(void)
{
    json_t *root = json_load_file(tenv.config, 0, NULL);
    json_t *t0 = json_array_get(json_object_get(root, "tenants"), 0);
    int rc = -1;

    if (t0 != NULL &&
        json_object_set_new(t0, "key_policy",
                            json_pack("{s:b,s:b}", "mixed_roles", 1,
                                      "unprotected_unwrap", 1)) == 0) {
        snprintf(optout_config, sizeof(optout_config), "%s/optout.json",
                 tenv.dir);
        rc = json_dump_file(root, optout_config, JSON_INDENT(2));
    }
    json_decref(root);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0 || write_optout() != 0)
        return -1;
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    test_env_remove(&tenv);
    return 0;
}

static int init_with(const char *config)
{
    setenv(CMK_CONFIG_ENV, config, 1);
    return p->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int init(void **state)
{
    (void)state;
    return init_with(tenv.config);
}

static int init_optout(void **state)
{
    (void)state;
    return init_with(optout_config);
}

static int fini(void **state)
{
    (void)state;
    return p->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

/* A session key generated with the given roles (NULL: the template names
 * none). */
static CK_RV gen_roles(CK_SESSION_HANDLE h, CK_BBOOL *enc, CK_BBOOL *dec,
                       CK_BBOOL *wrap, CK_BBOOL *unwrap, CK_OBJECT_HANDLE *k)
{
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_ULONG len = 32;
    CK_ATTRIBUTE t[8] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                         {CKA_EXTRACTABLE, &yes, 1}};
    CK_ULONG n = 2;

    if (enc != NULL)
        t[n++] = (CK_ATTRIBUTE){CKA_ENCRYPT, enc, 1};
    if (dec != NULL)
        t[n++] = (CK_ATTRIBUTE){CKA_DECRYPT, dec, 1};
    if (wrap != NULL)
        t[n++] = (CK_ATTRIBUTE){CKA_WRAP, wrap, 1};
    if (unwrap != NULL)
        t[n++] = (CK_ATTRIBUTE){CKA_UNWRAP, unwrap, 1};
    return p->C_GenerateKey(h, &m, t, n, k);
}

static CK_OBJECT_HANDLE wrap_key(CK_SESSION_HANDLE h)
{
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(gen_roles(h, NULL, NULL, &yes, &yes, &k), CKR_OK);
    return k;
}

static CK_OBJECT_HANDLE data_key(CK_SESSION_HANDLE h)
{
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(gen_roles(h, NULL, NULL, NULL, NULL, &k), CKR_OK);
    return k;
}

/* An AES key of a value the attacker knows, wrap roles only. */
static CK_RV import_known(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *k)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof(secret)},
                        {CKA_KEY_TYPE, &aes, sizeof(aes)},
                        {CKA_VALUE, known, sizeof(known)},
                        {CKA_WRAP, &yes, 1},
                        {CKA_UNWRAP, &yes, 1}};

    return p->C_CreateObject(h, t, N(t), k);
}

static CK_BBOOL get_bool(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k,
                         CK_ATTRIBUTE_TYPE type)
{
    CK_BBOOL v = 0xff;
    CK_ATTRIBUTE t = {type, &v, 1};

    assert_int_equal(p->C_GetAttributeValue(h, k, &t, 1), CKR_OK);
    return v;
}

static CK_RV wrap(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE wk,
                  CK_OBJECT_HANDLE k, uint8_t *out, CK_ULONG *len)
{
    return p->C_WrapKey(h, m, wk, k, out, len);
}

static CK_RV decrypt(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE k,
                     uint8_t *in, CK_ULONG in_len)
{
    uint8_t out[128];
    CK_ULONG len = sizeof(out);
    CK_RV rv = p->C_DecryptInit(h, m, k);

    if (rv != CKR_OK)
        return rv;
    return p->C_Decrypt(h, in, in_len, out, &len);
}

static CK_RV unwrap(CK_SESSION_HANDLE h, CK_MECHANISM *m, CK_OBJECT_HANDLE uk,
                    uint8_t *in, CK_ULONG in_len, CK_ATTRIBUTE *extra,
                    CK_ULONG n_extra, CK_OBJECT_HANDLE *out)
{
    CK_ATTRIBUTE t[8] = {{CKA_CLASS, &secret, sizeof(secret)},
                         {CKA_KEY_TYPE, &aes, sizeof(aes)}};
    CK_ULONG i;

    for (i = 0; i < n_extra; i++)
        t[2 + i] = extra[i];
    return p->C_UnwrapKey(h, m, uk, in, in_len, t, 2 + n_extra, out);
}

static uint8_t iv12[12] = "twelve bytes";

static CK_GCM_PARAMS gcm_params(void)
{
    CK_GCM_PARAMS g = {iv12, sizeof(iv12), 96, NULL, 0, 128};

    return g;
}

/* Tookan wrap/decrypt on the CMK: whatever the CMK wraps under the KEK,
 * its C_Decrypt (a key derived for data) cannot open. */
static void test_cmk_wrap_then_decrypt(void **state)
{
    CK_GCM_PARAMS g = gcm_params();
    CK_MECHANISM mechs[] = {{CKM_AES_KEY_WRAP, NULL, 0},
                            {CKM_AES_KEY_WRAP_KWP, NULL, 0},
                            {CKM_AES_KEY_WRAP_PAD, NULL, 0},
                            {CKM_AES_GCM, &g, sizeof(g)}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), dek = data_key(h);
    uint8_t blob[128];
    CK_ULONG len;
    size_t i;
    (void)state;

    for (i = 0; i < N(mechs); i++) {
        len = sizeof(blob);
        assert_int_equal(wrap(h, &mechs[i], cmk, dek, blob, &len), CKR_OK);
        assert_int_equal(decrypt(h, &mechs[i], cmk, blob, len),
                         CKR_ENCRYPTED_DATA_INVALID);
    }
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Tookan encrypt/unwrap on the CMK: data the CMK encrypts (a key of the
 * attacker's choosing) does not unwrap under it. */
static void test_cmk_encrypt_then_unwrap(void **state)
{
    CK_GCM_PARAMS g = gcm_params();
    CK_MECHANISM mechs[] = {{CKM_AES_KEY_WRAP_KWP, NULL, 0},
                            {CKM_AES_GCM, &g, sizeof(g)},
                            {CKM_CMK_ENVELOPE, NULL, 0}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), k = 0;
    uint8_t ct[512];
    CK_ULONG len;
    size_t i;
    (void)state;

    for (i = 0; i < N(mechs); i++) {
        len = sizeof(ct);
        assert_int_equal(p->C_EncryptInit(h, &mechs[i], cmk), CKR_OK);
        assert_int_equal(p->C_Encrypt(h, known, sizeof(known), ct, &len),
                         CKR_OK);
        assert_int_equal(unwrap(h, &mechs[i], cmk, ct, len, NULL, 0, &k),
                         CKR_WRAPPED_KEY_INVALID);
    }
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Tookan re-import: wrap a sensitive DEK with the CMK, unwrap it as a
 * readable key. Refused before any KMS call, on both paths. */
static void test_cmk_unwrap_not_sensitive(void **state)
{
    CK_MECHANISM mechs[] = {{CKM_AES_KEY_WRAP_KWP, NULL, 0},
                            {CKM_CMK_ENVELOPE, NULL, 0}};
    CK_ATTRIBUTE readable[] = {{CKA_SENSITIVE, &no, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), dek = data_key(h), k = 0;
    uint8_t blob[512];
    CK_ULONG len;
    size_t i;
    (void)state;

    for (i = 0; i < N(mechs); i++) {
        len = sizeof(blob);
        assert_int_equal(wrap(h, &mechs[i], cmk, dek, blob, &len), CKR_OK);
        assert_int_equal(unwrap(h, &mechs[i], cmk, blob, len, readable, 1, &k),
                         CKR_TEMPLATE_INCONSISTENT);
        /* The default is a sensitive key the CMK keeps protecting. */
        assert_int_equal(unwrap(h, &mechs[i], cmk, blob, len, NULL, 0, &k),
                         CKR_OK);
        assert_int_equal(get_bool(h, k, CKA_SENSITIVE), CK_TRUE);
        assert_int_equal(get_bool(h, k, CKA_WRAP_WITH_TRUSTED), CK_TRUE);
    }
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Trusted-wrap escape: a CKA_WRAP_WITH_TRUSTED key goes out through the
 * (trusted) CMK and comes back wrappable by a key the attacker knows. */
static void test_trusted_wrap_escape(void **state)
{
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_ATTRIBUTE free_wrap[] = {{CKA_WRAP_WITH_TRUSTED, &no, 1},
                                {CKA_EXTRACTABLE, &yes, 1}};
    CK_ATTRIBUTE wwt[] = {{CKA_WRAP_WITH_TRUSTED, &yes, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), dek = data_key(h);
    CK_OBJECT_HANDLE mine = 0, k = 0;
    uint8_t blob[64];
    CK_ULONG len = sizeof(blob);
    (void)state;

    assert_int_equal(p->C_SetAttributeValue(h, dek, wwt, 1), CKR_OK);
    assert_int_equal(import_known(h, &mine), CKR_OK);
    assert_int_equal(wrap(h, &kwp, mine, dek, blob, &len),
                     CKR_KEY_NOT_WRAPPABLE);
    len = sizeof(blob);
    assert_int_equal(wrap(h, &kwp, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, &kwp, cmk, blob, len, free_wrap, 2, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(unwrap(h, &kwp, cmk, blob, len, free_wrap + 1, 1, &k),
                     CKR_OK);
    len = sizeof(blob);
    assert_int_equal(wrap(h, &kwp, mine, k, blob, &len), CKR_KEY_NOT_WRAPPABLE);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* A DEK never holds both role families: at generation, import, unwrap. */
static void test_new_key_mixed_roles(void **state)
{
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_ATTRIBUTE mixed[] = {{CKA_WRAP, &yes, 1}, {CKA_DECRYPT, &yes, 1}};
    CK_ATTRIBUTE imp[] = {{CKA_CLASS, &secret, sizeof(secret)},
                          {CKA_KEY_TYPE, &aes, sizeof(aes)},
                          {CKA_VALUE, known, sizeof(known)},
                          {CKA_UNWRAP, &yes, 1},
                          {CKA_ENCRYPT, &yes, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), dek = data_key(h), k = 0;
    uint8_t blob[64];
    CK_ULONG len = sizeof(blob);
    (void)state;

    assert_int_equal(gen_roles(h, NULL, &yes, &yes, NULL, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(gen_roles(h, &yes, NULL, NULL, &yes, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_CreateObject(h, imp, N(imp), &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(wrap(h, &kwp, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, &kwp, cmk, blob, len, mixed, 2, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    /* Roles left out follow the family the template names. */
    assert_int_equal(gen_roles(h, NULL, NULL, &yes, NULL, &k), CKR_OK);
    assert_int_equal(get_bool(h, k, CKA_UNWRAP), CK_TRUE);
    assert_int_equal(get_bool(h, k, CKA_ENCRYPT), CK_FALSE);
    assert_int_equal(get_bool(h, k, CKA_DECRYPT), CK_FALSE);
    assert_int_equal(gen_roles(h, NULL, &yes, NULL, NULL, &k), CKR_OK);
    assert_int_equal(get_bool(h, k, CKA_ENCRYPT), CK_TRUE);
    assert_int_equal(get_bool(h, k, CKA_WRAP), CK_FALSE);
    assert_int_equal(get_bool(h, k, CKA_UNWRAP), CK_FALSE);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Tookan wrap/decrypt and encrypt/unwrap on DEKs: a wrapping key cannot
 * decrypt, a data key cannot unwrap. */
static void test_dek_roles_hold(void **state)
{
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE wk = wrap_key(h), dk = data_key(h), k = 0;
    uint8_t blob[64];
    CK_ULONG len = sizeof(blob);
    (void)state;

    assert_int_equal(wrap(h, &kw, wk, dk, blob, &len), CKR_OK);
    assert_int_equal(decrypt(h, &kw, wk, blob, len),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p->C_EncryptInit(h, &kw, dk), CKR_OK);
    len = sizeof(blob);
    assert_int_equal(p->C_Encrypt(h, known, sizeof(known), blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, &kw, dk, blob, len, NULL, 0, &k),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Attribute toggling: a wrapping key dropping its roles cannot then take
 * up a data role (and the other way round); a role of its own family may
 * come back. */
static void test_role_toggling(void **state)
{
    CK_ATTRIBUTE off[] = {{CKA_WRAP, &no, 1}, {CKA_UNWRAP, &no, 1}};
    CK_ATTRIBUTE dec_on[] = {{CKA_DECRYPT, &yes, 1}};
    CK_ATTRIBUTE wrap_on[] = {{CKA_WRAP, &yes, 1}};
    CK_ATTRIBUTE unwrap_on[] = {{CKA_UNWRAP, &yes, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE wk = wrap_key(h), dk = data_key(h);
    (void)state;

    assert_int_equal(p->C_SetAttributeValue(h, wk, dec_on, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_SetAttributeValue(h, dk, wrap_on, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_SetAttributeValue(h, wk, off, 1), CKR_OK);
    assert_int_equal(get_bool(h, wk, CKA_WRAP), CK_FALSE);
    assert_int_equal(p->C_SetAttributeValue(h, wk, wrap_on, 1), CKR_OK);
    assert_int_equal(p->C_SetAttributeValue(h, wk, off, 2), CKR_OK);
    assert_int_equal(p->C_SetAttributeValue(h, wk, dec_on, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_SetAttributeValue(h, wk, unwrap_on, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(get_bool(h, wk, CKA_DECRYPT), CK_FALSE);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* Copy-and-change: a copy of a wrapping key with a data role. */
static void test_copy_and_change(void **state)
{
    CK_ATTRIBUTE to_data[] = {
        {CKA_WRAP, &no, 1}, {CKA_UNWRAP, &no, 1}, {CKA_DECRYPT, &yes, 1}};
    CK_ATTRIBUTE plus_dec[] = {{CKA_DECRYPT, &yes, 1}};
    CK_ATTRIBUTE same[] = {{CKA_WRAP, &no, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE wk = wrap_key(h), k = 0;
    (void)state;

    assert_int_equal(p->C_CopyObject(h, wk, to_data, N(to_data), &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_CopyObject(h, wk, plus_dec, 1, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_CopyObject(h, wk, same, 1, &k), CKR_OK);
    assert_int_equal(get_bool(h, k, CKA_UNWRAP), CK_TRUE);
    assert_int_equal(get_bool(h, k, CKA_DECRYPT), CK_FALSE);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* The CMK lists what it does; other mechanisms are invalid for it. */
static void test_cmk_allowed_mechanisms(void **state)
{
    static const CK_MECHANISM_TYPE want[] = {CKM_CMK_ENVELOPE, CKM_AES_KEY_WRAP,
                                             CKM_AES_KEY_WRAP_KWP,
                                             CKM_AES_KEY_WRAP_PAD, CKM_AES_GCM};
    CK_MECHANISM_TYPE got[8];
    CK_ATTRIBUTE t = {CKA_ALLOWED_MECHANISMS, got, sizeof(got)};
    uint8_t iv[16] = {0}, out[64];
    CK_MECHANISM cbc = {CKM_AES_CBC, iv, sizeof(iv)};
    CK_MECHANISM cbc_pad = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
    CK_AES_CTR_PARAMS ctr = {128, {0}};
    CK_MECHANISM ctr_m = {CKM_AES_CTR, &ctr, sizeof(ctr)};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), dek = data_key(h);
    CK_ULONG len = sizeof(out);
    (void)state;

    assert_int_equal(p->C_GetAttributeValue(h, cmk, &t, 1), CKR_OK);
    assert_int_equal(t.ulValueLen, sizeof(want));
    assert_memory_equal(got, want, sizeof(want));
    assert_int_equal(p->C_EncryptInit(h, &cbc, cmk), CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_DecryptInit(h, &ctr_m, cmk), CKR_MECHANISM_INVALID);
    assert_int_equal(wrap(h, &cbc_pad, cmk, dek, out, &len),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* A search by the CMK's id or label gives the CMK first and alone. */
static CK_ULONG find(CK_SESSION_HANDLE h, CK_ATTRIBUTE *t, CK_ULONG n,
                     CK_OBJECT_HANDLE *first)
{
    CK_OBJECT_HANDLE hs[16];
    CK_ULONG count = 0;

    assert_int_equal(p->C_FindObjectsInit(h, t, n), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, hs, N(hs), &count), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    if (count > 0 && first != NULL)
        *first = hs[0];
    return count;
}

/* The reproduction: without the PIN, a public token key with the CMK's
 * label and id; with it, a key renamed or copied to them. */
static void test_no_impersonation(void **state)
{
    CK_ATTRIBUTE fake[] = {{CKA_CLASS, &secret, sizeof(secret)},
                           {CKA_KEY_TYPE, &aes, sizeof(aes)},
                           {CKA_VALUE, known, sizeof(known)},
                           {CKA_TOKEN, &yes, 1},
                           {CKA_PRIVATE, &no, 1},
                           {CKA_WRAP, &yes, 1},
                           {CKA_LABEL, cmk_label, strlen(cmk_label)},
                           {CKA_ID, cmk_id, sizeof(cmk_id)}};
    CK_ATTRIBUTE by_id[] = {{CKA_ID, cmk_id, sizeof(cmk_id)}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, cmk_label, strlen(cmk_label)}};
    CK_SESSION_HANDLE pub = 0, h;
    CK_OBJECT_HANDLE k = 0, cmk, first = 0, dek;
    (void)state;

    assert_int_equal(p->C_OpenSession(0, RW, NULL, NULL, &pub), CKR_OK);
    assert_int_equal(p->C_CreateObject(pub, fake, N(fake), &k),
                     CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p->C_CreateObject(pub, fake, N(fake) - 2, &k),
                     CKR_USER_NOT_LOGGED_IN); /* no token object at all */
    h = tp11_open_login(p, 0, RW);
    cmk = tp11_find_cmk(p, h);
    assert_int_equal(p->C_CreateObject(h, fake, N(fake), &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_CreateObject(h, fake, N(fake) - 1, &k),
                     CKR_TEMPLATE_INCONSISTENT); /* the label alone */
    fake[3].pValue = &no;                        /* a session key too */
    assert_int_equal(p->C_CreateObject(h, fake, N(fake), &k),
                     CKR_TEMPLATE_INCONSISTENT);
    dek = data_key(h);
    assert_int_equal(p->C_SetAttributeValue(h, dek, by_id, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_SetAttributeValue(h, dek, by_label, 1),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(p->C_CopyObject(h, dek, by_id, 1, &k),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(find(h, by_id, 1, &first), 1);
    assert_int_equal(first, cmk);
    assert_int_equal(find(h, by_label, 1, &first), 1);
    assert_int_equal(first, cmk);
    assert_int_equal(find(h, NULL, 0, &first) >= 2, 1);
    assert_int_equal(first, cmk);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(p->C_CloseSession(pub), CKR_OK);
}

/* Before login nothing of the token's shows, public token objects
 * included. */
static void test_token_objects_need_login(void **state)
{
    CK_ATTRIBUTE pub_tok[] = {{CKA_CLASS, &secret, sizeof(secret)},
                              {CKA_KEY_TYPE, &aes, sizeof(aes)},
                              {CKA_VALUE, known, sizeof(known)},
                              {CKA_TOKEN, &yes, 1},
                              {CKA_PRIVATE, &no, 1},
                              {CKA_LABEL, ptl, 10}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, ptl, 10}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE k = 0;
    CK_BBOOL tok = 0;
    CK_ATTRIBUTE q = {CKA_TOKEN, &tok, 1};
    (void)state;

    assert_int_equal(p->C_CreateObject(h, pub_tok, N(pub_tok), &k), CKR_OK);
    assert_int_equal(find(h, by_label, 1, NULL), 1);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    assert_int_equal(find(h, by_label, 1, NULL), 0);
    assert_int_equal(find(h, NULL, 0, NULL), 0);
    assert_int_equal(p->C_GetAttributeValue(h, k, &q, 1),
                     CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    h = tp11_open_login(p, 0, RW);
    assert_int_equal(find(h, by_label, 1, &k), 1);
    assert_int_equal(p->C_DestroyObject(h, k), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* "key_policy": {"mixed_roles": true, "unprotected_unwrap": true} gives
 * plain PKCS#11 back: a key of both families, a readable unwrap. A key
 * made so is refused once the policy is back on, until it drops a
 * family. */
static void test_optout_and_back(void **state)
{
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_ATTRIBUTE readable[] = {{CKA_SENSITIVE, &no, 1}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, legacy, 6}};
    CK_ATTRIBUTE tok[] = {{CKA_TOKEN, &yes, 1}, {CKA_LABEL, legacy, 6}};
    CK_ATTRIBUTE data_off[] = {{CKA_ENCRYPT, &no, 1}, {CKA_DECRYPT, &no, 1}};
    CK_SESSION_HANDLE h = tp11_open_login(p, 0, RW);
    CK_OBJECT_HANDLE cmk = tp11_find_cmk(p, h), mixed = 0, k = 0, dek;
    uint8_t blob[64], value[32];
    CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
    CK_ULONG len = sizeof(blob);
    (void)state;

    assert_int_equal(gen_roles(h, &yes, &yes, &yes, &yes, &mixed), CKR_OK);
    assert_int_equal(p->C_CopyObject(h, mixed, tok, N(tok), &k), CKR_OK);
    dek = data_key(h);
    assert_int_equal(wrap(h, &kwp, cmk, dek, blob, &len), CKR_OK);
    assert_int_equal(unwrap(h, &kwp, cmk, blob, len, readable, 1, &k), CKR_OK);
    assert_int_equal(p->C_GetAttributeValue(h, k, &v, 1), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(fini(NULL), 0);

    assert_int_equal(init(NULL), 0);
    h = tp11_open_login(p, 0, RW);
    assert_int_equal(find(h, by_label, 1, &mixed), 1);
    dek = data_key(h);
    len = sizeof(blob);
    assert_int_equal(wrap(h, &kw, mixed, dek, blob, &len),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(p->C_SetAttributeValue(h, mixed, data_off, 2), CKR_OK);
    len = sizeof(blob);
    assert_int_equal(wrap(h, &kw, mixed, dek, blob, &len), CKR_OK);
    assert_int_equal(p->C_DestroyObject(h, mixed), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cmk_wrap_then_decrypt, init, fini),
        cmocka_unit_test_setup_teardown(test_cmk_encrypt_then_unwrap, init,
                                        fini),
        cmocka_unit_test_setup_teardown(test_cmk_unwrap_not_sensitive, init,
                                        fini),
        cmocka_unit_test_setup_teardown(test_trusted_wrap_escape, init, fini),
        cmocka_unit_test_setup_teardown(test_new_key_mixed_roles, init, fini),
        cmocka_unit_test_setup_teardown(test_dek_roles_hold, init, fini),
        cmocka_unit_test_setup_teardown(test_role_toggling, init, fini),
        cmocka_unit_test_setup_teardown(test_copy_and_change, init, fini),
        cmocka_unit_test_setup_teardown(test_cmk_allowed_mechanisms, init,
                                        fini),
        cmocka_unit_test_setup_teardown(test_no_impersonation, init, fini),
        cmocka_unit_test_setup_teardown(test_token_objects_need_login, init,
                                        fini),
        cmocka_unit_test_setup_teardown(test_optout_and_back, init_optout,
                                        fini),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
