/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the module through its function list, on two local-provider
 * tenants: life cycle, login, the CMK object's protections, DEK
 * operations, both wrap paths, tenant isolation, persistence, threads and
 * fork.
 */
#include <config.h>

#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/audit_check.h"
#include "tests/lib/p11.h"
#include "tests/lib/tasks.h"
#include "tests/lib/tenant.h"

static struct test_env tenv;
static CK_UTF8CHAR pin_ok[] = TEST_PIN, pin_bad[] = "9999";
static CK_UTF8CHAR if_name[] = "PKCS 11";
static CK_UTF8CHAR label_x[] = "x";
static CK_FUNCTION_LIST_PTR p;
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static int group_setup(void **state)
{
    (void)state;
    if (test_env_make(&tenv) != 0)
        return -1;
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    return cmk_C_GetFunctionList(&p) == CKR_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (getenv("KEEP") == NULL)
        test_env_remove(&tenv);
    return 0;
}

static int init(void **state)
{
    (void)state;
    return p->C_Initialize(NULL) == CKR_OK ? 0 : -1;
}

static int fini(void **state)
{
    (void)state;
    return p->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

static CK_SESSION_HANDLE open_login(CK_SLOT_ID slot)
{
    return tp11_open_login(p, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION);
}

static CK_OBJECT_HANDLE find_cmk(CK_SESSION_HANDLE h)
{
    return tp11_find_cmk(p, h);
}

static CK_OBJECT_HANDLE gen_aes(CK_SESSION_HANDLE h, CK_BBOOL token,
                                CK_BBOOL extractable)
{
    return tp11_gen_aes(p, h, token, extractable);
}

static void test_life_cycle(void **state)
{
    CK_C_INITIALIZE_ARGS args = {0};
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SLOT_ID slots[1];

    (void)state;
    assert_int_equal(p->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    assert_int_equal(p->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(p->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 3);
    assert_int_equal(p->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    n = 1;
    assert_int_equal(p->C_GetSlotList(CK_TRUE, slots, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(p->C_Finalize(&args), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p->C_GetSlotList(CK_TRUE, NULL, &n),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void test_interfaces(void **state)
{
    CK_INTERFACE list[2];
    CK_INTERFACE_PTR one = NULL;
    CK_VERSION v30 = {3, 0}, v99 = {9, 9};
    CK_ULONG n = 0;

    (void)state;
    assert_int_equal(cmk_C_GetInterfaceList(NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    n = 1;
    assert_int_equal(cmk_C_GetInterfaceList(list, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(cmk_C_GetInterface(if_name, &v30, &one, 0), CKR_OK);
    assert_ptr_equal(one->pFunctionList, &cmk_function_list_3_0);
    assert_int_equal(cmk_C_GetInterface(NULL, &v99, &one, 0),
                     CKR_ARGUMENTS_BAD);
}

static void test_login(void **state)
{
    CK_SESSION_HANDLE h;
    CK_SESSION_INFO si;

    (void)state;
    assert_int_equal(p->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_SLOT_ID_INVALID);
    assert_int_equal(p->C_OpenSession(0, 0, NULL, NULL, &h),
                     CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(p->C_Logout(h), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p->C_Login(h, CKU_USER, pin_bad, 4), CKR_PIN_INCORRECT);
    assert_int_equal(p->C_Login(h, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_Login(h, CKU_USER, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_OK);
    assert_int_equal(p->C_Login(h, CKU_USER, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
}

/* CKU_SO is a valid user type, checked in PKCS#11 3.0's order, on a token
 * that has no SO PIN. */
static void test_so_login(void **state)
{
    CK_SESSION_HANDLE ro, rw;

    (void)state;
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &ro),
                     CKR_OK);
    assert_int_equal(p->C_Login(ro, CKU_SO, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_SESSION_READ_ONLY_EXISTS);
    assert_int_equal(p->C_CloseSession(ro), CKR_OK);
    rw = open_login(0);
    assert_int_equal(p->C_Login(rw, CKU_SO, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
    assert_int_equal(p->C_Logout(rw), CKR_OK);
    assert_int_equal(p->C_Login(rw, CKU_SO, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_PIN_INCORRECT);
    assert_int_equal(p->C_Login(rw, 42, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_USER_TYPE_INVALID);
    assert_int_equal(p->C_CloseSession(rw), CKR_OK);
}

static void test_cmk_protected(void **state)
{
    CK_SESSION_HANDLE h = open_login(0);
    CK_OBJECT_HANDLE cmk = find_cmk(h), dek;
    uint8_t buf[64];
    CK_ATTRIBUTE get = {CKA_VALUE, buf, sizeof(buf)};
    CK_ATTRIBUTE set = {CKA_LABEL, label_x, 1};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_ULONG n = sizeof(buf);

    (void)state;
    assert_int_equal(p->C_GetAttributeValue(h, cmk, &get, 1),
                     CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(get.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    get.type = CKA_UNIQUE_ID;
    get.ulValueLen = sizeof(buf);
    assert_int_equal(p->C_GetAttributeValue(h, cmk, &get, 1), CKR_OK);
    assert_int_equal(get.ulValueLen, 20); /* "cmk-" + 16 hex of serial */
    assert_memory_equal(buf, "cmk-", 4);
    get.type = CKA_VALUE;
    get.ulValueLen = sizeof(buf);
    assert_int_equal(p->C_SetAttributeValue(h, cmk, &set, 1),
                     CKR_ACTION_PROHIBITED);
    assert_int_equal(p->C_DestroyObject(h, cmk), CKR_ACTION_PROHIBITED);
    dek = gen_aes(h, CK_FALSE, CK_TRUE);
    assert_int_equal(p->C_WrapKey(h, &kwp, dek, cmk, buf, &n),
                     CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p->C_Logout(h), CKR_OK);
    /* The CMK handle stays known but unusable without login. */
    assert_int_equal(p->C_GetAttributeValue(h, cmk, &set, 1),
                     CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void gcm_round_trip(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k, uint8_t *ct,
                           CK_ULONG *ct_len)
{
    uint8_t iv[12] = {1, 2, 3}, pt[100], back[100];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG n = 0, bn = sizeof(back);

    memset(pt, 0x5a, sizeof(pt));
    assert_int_equal(p->C_EncryptInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_EncryptInit(h, &m, k), CKR_OPERATION_ACTIVE);
    assert_int_equal(p->C_Encrypt(h, pt, sizeof(pt), NULL, &n), CKR_OK);
    assert_int_equal(n, sizeof(pt) + 16);
    n = 10;
    assert_int_equal(p->C_Encrypt(h, pt, sizeof(pt), ct, &n),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, sizeof(pt) + 16);
    assert_int_equal(p->C_Encrypt(h, pt, sizeof(pt), ct, &n), CKR_OK);
    *ct_len = n;
    assert_int_equal(p->C_DecryptInit(h, &m, k), CKR_OK);
    assert_int_equal(p->C_Decrypt(h, ct, n, back, &bn), CKR_OK);
    assert_int_equal(bn, sizeof(pt));
    assert_memory_equal(back, pt, sizeof(pt));
    ct[0] ^= 1;
    assert_int_equal(p->C_DecryptInit(h, &m, k), CKR_OK);
    bn = sizeof(back);
    assert_int_equal(p->C_Decrypt(h, ct, n, back, &bn),
                     CKR_ENCRYPTED_DATA_INVALID);
    ct[0] ^= 1;
}

static CK_OBJECT_HANDLE unwrap_aes(CK_SESSION_HANDLE h, CK_MECHANISM *m,
                                   CK_OBJECT_HANDLE uk, uint8_t *blob,
                                   CK_ULONG len, CK_RV want)
{
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_TOKEN, &no, 1}};
    CK_OBJECT_HANDLE k = 0;

    assert_int_equal(p->C_UnwrapKey(h, m, uk, blob, len, tmpl, 3, &k), want);
    return k;
}

/* What the serial of tenant label in env must be: BLAKE2b-64 of
 * "cmk-pkcs11 token serial v1", provider and key reference (each with its
 * NUL) and the 16 bytes of the store's id file (32 hex digits, a newline,
 * mode 0600), as 16 lowercase hex digits. */
static void expected_serial(const struct test_env *env, const char *label,
                            char want[17])
{
    static const char domain[] = "cmk-pkcs11 token serial v1";
    crypto_generichash_state st;
    char path[400], text[64], key[300];
    uint8_t id[16], h[8];
    struct stat sb;
    FILE *f;

    snprintf(path, sizeof(path), "%s/store/%s/store-id", env->dir, label);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(sb.st_size, 33);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(text, 1, 33, f), 33);
    fclose(f);
    assert_int_equal(text[32], '\n');
    assert_int_equal(sodium_hex2bin(id, sizeof(id), text, 32, NULL, NULL, NULL),
                     0);
    snprintf(key, sizeof(key), "%s/%s.key", env->dir, label);
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain));
    crypto_generichash_update(&st, (const uint8_t *)"local", 6);
    crypto_generichash_update(&st, (const uint8_t *)key, strlen(key) + 1);
    crypto_generichash_update(&st, id, sizeof(id));
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(want, 17, h, sizeof(h));
}

/* Serials come from the key reference and the store's random id, not
 * the label: the same after a restart (pkcs11: URIs keep them), and
 * another for a second installation whose tenants have the same labels.
 * All 16 characters of serialNumber are used (no padding needed). */
static void test_token_serial(void **state)
{
    CK_TOKEN_INFO ti, tb, again;
    struct test_env other;
    char want[17];

    (void)state;
    assert_int_equal(p->C_GetTokenInfo(0, &ti), CKR_OK);
    expected_serial(&tenv, "alpha", want);
    assert_memory_equal(ti.serialNumber, want, 16);
    assert_int_equal(p->C_GetTokenInfo(1, &tb), CKR_OK);
    expected_serial(&tenv, "beta", want);
    assert_memory_equal(tb.serialNumber, want, 16);
    assert_memory_not_equal(ti.serialNumber, tb.serialNumber, 16);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_GetTokenInfo(0, &again), CKR_OK);
    assert_memory_equal(again.serialNumber, ti.serialNumber, 16);
    /* another installation, tenants "alpha" and "beta" again */
    assert_int_equal(test_env_make(&other), 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    setenv(CMK_CONFIG_ENV, other.config, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_GetTokenInfo(0, &again), CKR_OK);
    expected_serial(&other, "alpha", want);
    assert_memory_equal(again.serialNumber, want, 16);
    assert_memory_not_equal(again.serialNumber, ti.serialNumber, 16);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
    test_env_remove(&other);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
}

static void test_wrap_paths(void **state)
{
    CK_SESSION_HANDLE h = open_login(0), hb = open_login(1);
    CK_OBJECT_HANDLE cmk = find_cmk(h), cmk_b = find_cmk(hb), dek, back;
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    uint8_t blob[1024], ct1[200], ct2[200];
    CK_ULONG n, c1, c2;

    (void)state;
    dek = gen_aes(h, CK_FALSE, CK_TRUE);
    gcm_round_trip(h, dek, ct1, &c1);
    /* Direct path. */
    n = sizeof(blob);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, dek, blob, &n), CKR_OK);
    assert_memory_equal(blob, CMK_ENVELOPE_MAGIC, 4);
    back = unwrap_aes(h, &env, cmk, blob, n, CKR_OK);
    gcm_round_trip(h, back, ct2, &c2);
    assert_int_equal(c1, c2);
    assert_memory_equal(ct1, ct2, c1); /* same key, same IV */
    /* Tenant isolation and tampering. */
    unwrap_aes(hb, &env, cmk_b, blob, n, CKR_WRAPPED_KEY_INVALID);
    blob[n - 1] ^= 1;
    unwrap_aes(h, &env, cmk, blob, n, CKR_WRAPPED_KEY_INVALID);
    unwrap_aes(h, &env, cmk, blob, 7, CKR_WRAPPED_KEY_INVALID);
    /* KEK path: RFC 5649 of a 32-byte key is 40 bytes. */
    n = sizeof(blob);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, dek, blob, &n), CKR_OK);
    assert_int_equal(n, 40);
    back = unwrap_aes(h, &kwp, cmk, blob, n, CKR_OK);
    gcm_round_trip(h, back, ct2, &c2);
    assert_memory_equal(ct1, ct2, c1);
    unwrap_aes(hb, &kwp, cmk_b, blob, n, CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    assert_int_equal(p->C_CloseSession(hb), CKR_OK);
}

static void test_unextractable(void **state)
{
    CK_SESSION_HANDLE h = open_login(0);
    CK_OBJECT_HANDLE cmk = find_cmk(h), dek;
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    uint8_t buf[64];
    CK_ATTRIBUTE get = {CKA_VALUE, buf, sizeof(buf)};
    CK_ULONG n = sizeof(buf);

    (void)state;
    dek = gen_aes(h, CK_FALSE, CK_FALSE);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, dek, buf, &n),
                     CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(p->C_GetAttributeValue(h, dek, &get, 1),
                     CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, 999999, buf, &n),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(p->C_WrapKey(h, &kwp, 999999, dek, buf, &n),
                     CKR_WRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(p->C_WrapKey(h, NULL, cmk, dek, buf, &n),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static void test_token_object_persists(void **state)
{
    CK_SESSION_HANDLE h = open_login(0);
    CK_OBJECT_HANDLE dek = gen_aes(h, CK_TRUE, CK_TRUE), found[4];
    uint8_t id[] = {0x42, 0x43};
    CK_ATTRIBUTE set = {CKA_ID, id, sizeof(id)};
    CK_ATTRIBUTE want[] = {{CKA_ID, id, sizeof(id)}, {CKA_TOKEN, &yes, 1}};
    uint8_t ct1[200], ct2[200];
    CK_ULONG n = 0, c1, c2;

    (void)state;
    assert_int_equal(p->C_SetAttributeValue(h, dek, &set, 1), CKR_OK);
    gcm_round_trip(h, dek, ct1, &c1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = open_login(0);
    assert_int_equal(p->C_FindObjectsInit(h, want, 2), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, found, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    gcm_round_trip(h, found[0], ct2, &c2);
    assert_memory_equal(ct1, ct2, c1);
    assert_int_equal(p->C_DestroyObject(h, found[0]), CKR_OK);
    assert_int_equal(p->C_FindObjectsInit(h, want, 2), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, found, 4, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

#define THREADS 8
#define ROUNDS 50

static void *worker(void *arg)
{
    CK_SLOT_ID slot = (CK_SLOT_ID)(uintptr_t)arg % 2;
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek, back;
    uint8_t blob[512], ct[200];
    CK_ULONG n, c;
    int i;

    assert_int_equal(p->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_OK);
    cmk = find_cmk(h);
    for (i = 0; i < ROUNDS; i++) {
        dek = gen_aes(h, CK_FALSE, CK_TRUE);
        n = sizeof(blob);
        assert_int_equal(p->C_WrapKey(h, &env, cmk, dek, blob, &n), CKR_OK);
        back = unwrap_aes(h, &env, cmk, blob, n, CKR_OK);
        gcm_round_trip(h, back, ct, &c);
        assert_int_equal(p->C_DestroyObject(h, dek), CKR_OK);
        assert_int_equal(p->C_DestroyObject(h, back), CKR_OK);
    }
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th[THREADS];
    CK_SESSION_HANDLE keep_a = open_login(0), keep_b = open_login(1);
    uintptr_t i;

    (void)state;
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)i), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(p->C_CloseSession(keep_a), CKR_OK);
    assert_int_equal(p->C_CloseSession(keep_b), CKR_OK);
}

struct kek_hammer {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk;
    int stop; /* atomic */
};

/* KEK-path operations in a loop: the KEK's lock is taken all the time. */
static void *hammer_kek(void *arg)
{
    struct kek_hammer *k = arg;
    uint8_t iv[12] = {0}, in[16] = {0}, out[64];
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG len;

    while (!__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE)) {
        len = sizeof(out);
        if (p->C_EncryptInit(k->h, &m, k->cmk) == CKR_OK)
            (void)p->C_Encrypt(k->h, in, sizeof(in), out, &len);
    }
    return NULL;
}

/* The child of a fork taken while another thread holds module locks must
 * not wait for them (that thread does not exist in the child). */
static void test_fork_while_busy(void **state)
{
    struct kek_hammer k;
    pthread_t th;
    int i, status, waited;
    pid_t pid;

    (void)state;
    k.h = open_login(0);
    k.cmk = find_cmk(k.h);
    k.stop = 0;
    assert_int_equal(pthread_create(&th, NULL, hammer_kek, &k), 0);
    for (i = 0; i < 200; i++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(0); /* the atfork handler has run by now */
        for (waited = 0; waited < 5000; waited++) {
            if (waitpid(pid, &status, WNOHANG) == pid)
                break;
            usleep(1000);
        }
        if (waited == 5000)
            kill(pid, SIGKILL);
        assert_true(waited < 5000); /* the child hung in fork's handler */
        assert_true(WIFEXITED(status));
    }
    __atomic_store_n(&k.stop, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p->C_CloseSession(k.h), CKR_OK);
}

static void test_fork(void **state)
{
    CK_SESSION_HANDLE h = open_login(0);
    CK_SESSION_INFO si;
    pid_t pid;
    int status = 0;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = p->C_GetSessionInfo(h, &si) != CKR_CRYPTOKI_NOT_INITIALIZED;

        bad |= p->C_Initialize(NULL) != CKR_OK;
        bad |= p->C_GetSessionInfo(h, &si) != CKR_SESSION_HANDLE_INVALID;
        bad |= p->C_Finalize(NULL) != CKR_OK;
        _exit(bad);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 22);
    size_t n;

    assert_non_null(f);
    assert_non_null(buf);
    n = fread(buf, 1, (1 << 22) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Counts lines holding every one of the given fragments. */
static int lines_with(const char *text, const char *a, const char *b,
                      const char *c)
{
    const char *line = text, *end;
    char one[4096];
    int hits = 0;

    while ((end = strchr(line, '\n')) != NULL) {
        size_t len = (size_t)(end - line) < sizeof(one) - 1
                         ? (size_t)(end - line)
                         : sizeof(one) - 1;

        memcpy(one, line, len);
        one[len] = '\0';
        if (strstr(one, a) && (b == NULL || strstr(one, b)) &&
            (c == NULL || strstr(one, c)))
            hits++;
        line = end + 1;
    }
    return hits;
}

static void test_audit_records(void **state)
{
    static uint8_t key[32] = {0xC3, 0x5E, 0x91, 0x07, 0x42, 0xAA, 0x19, 0x6D,
                              0x3B, 0xF0, 0x88, 0x21, 0x5C, 0xE4, 0x7A, 0x10,
                              0x99, 0x0D, 0x63, 0xB7, 0x2E, 0x45, 0xCA, 0x81,
                              0x1F, 0x76, 0xD2, 0x38, 0xA9, 0x54, 0x0B, 0xE6};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)},
                           {CKA_VALUE, key, sizeof(key)},
                           {CKA_EXTRACTABLE, &yes, 1}};
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE dek, cmk;
    uint8_t ct[200], blob[512];
    char hex[65], b64[64];
    struct test_audit_rep rep;
    CK_ULONG c, n = sizeof(blob);
    char *text;

    (void)state;
    assert_int_equal(truncate(tenv.audit, 0), 0);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h),
                     CKR_OK);
    assert_int_equal(p->C_Login(h, CKU_USER, pin_bad, 4), CKR_PIN_INCORRECT);
    assert_int_equal(p->C_Login(h, CKU_USER, pin_ok, sizeof(TEST_PIN) - 1),
                     CKR_OK);
    assert_int_equal(p->C_CreateObject(h, tmpl, 4, &dek), CKR_OK);
    gcm_round_trip(h, dek, ct, &c);
    cmk = find_cmk(h);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, dek, blob, &n), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);

    text = read_all(tenv.audit);
    assert_int_equal(lines_with(text, "\"event\":\"initialize\"",
                                "\"result\":\"CKR_OK\"", NULL),
                     1);
    assert_int_equal(lines_with(text, "\"event\":\"login\"",
                                "\"result\":\"CKR_PIN_INCORRECT\"",
                                "\"tenant\":\"alpha\""),
                     1);
    assert_int_equal(lines_with(text, "\"op\":\"C_Encrypt\"",
                                "\"mech\":\"CKM_AES_GCM\",\"mech_num\":4231",
                                "\"bytes_in\":100,\"bytes_out\":116"),
                     1);
    /* The tampered-tag decrypt of gcm_round_trip is on record too. */
    assert_int_equal(lines_with(text, "\"op\":\"C_Decrypt\"",
                                "\"result\":\"CKR_ENCRYPTED_DATA_INVALID\"",
                                "\"bytes_in\":116,\"bytes_out\":0"),
                     1);
    assert_int_equal(
        lines_with(text, "\"op\":\"C_WrapKey\"",
                   "\"mech\":\"CKM_CMK_ENVELOPE\"",
                   "\"key_label\":\"alpha-cmk\",\"key_id\":\"01\""),
        1);
    /* the wrap's, and the audit chain key's sealing at C_Initialize */
    assert_int_equal(lines_with(text, "\"event\":\"kms_call\"",
                                "\"op\":\"Encrypt\"", "\"provider\":\"local\""),
                     2);
    assert_int_equal(lines_with(text, "\"event\":\"kms_call\"",
                                "\"op\":\"Encrypt\"",
                                "\"detail\":\"audit chain key\""),
                     1);
    assert_int_equal(lines_with(text, "\"event\":\"finalize\"", NULL, NULL), 1);
    /* No secret in any encoding we use. */
    sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
    sodium_bin2base64(b64, sizeof(b64), key, sizeof(key),
                      sodium_base64_VARIANT_ORIGINAL);
    assert_null(strstr(text, hex));
    assert_null(strstr(text, b64));
    assert_null(memmem(text, strlen(text), key, 8));
    assert_null(strstr(text, TEST_PIN));
    free(text);
    if (test_audit_check(tenv.audit, tenv.config, &rep) != 0)
        fail_msg("audit file: %s", rep.first);
    assert_int_equal(rep.sum.writers, 1);
    assert_int_equal(rep.sum.open_chains, 0); /* finalized */
    assert_int_equal(rep.sum.unverified, 0);
}

static void test_no_config_no_slots(void **state)
{
    char missing[300];
    CK_C_INITIALIZE_ARGS args = {0};
    CK_ULONG n = 9;

    (void)state;
    /* Nothing named and no default file (the build's sysconfdir has none
     * in tests): no slots, no error. */
    unsetenv(CMK_CONFIG_ENV);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(p->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    /* A named config that is missing is an error. */
    snprintf(missing, sizeof(missing), "%s/none.json", tenv.dir);
    setenv(CMK_CONFIG_ENV, missing, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_GENERAL_ERROR);
    args.pReserved = missing;
    unsetenv(CMK_CONFIG_ENV);
    assert_int_equal(p->C_Initialize(&args), CKR_GENERAL_ERROR);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
}

/* A data call that fails its argument checks ends the operation (PKCS#11
 * 3.0 section 5.2): the next Init is not CKR_OPERATION_ACTIVE. */
static void test_bad_arguments_end_operation(void **state)
{
    uint8_t iv[16] = {0}, buf[64] = {0};
    CK_MECHANISM cbc = {CKM_AES_CBC_PAD, iv, sizeof(iv)};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k;
    CK_ULONG len = sizeof(buf);
    int enc, call;

    (void)state;
    h = open_login(0);
    k = gen_aes(h, CK_FALSE, CK_TRUE);
    for (enc = 0; enc < 2; enc++) {
        for (call = 0; call < 3; call++) {
            __typeof__(p->C_EncryptInit) init_fn =
                enc ? p->C_EncryptInit : p->C_DecryptInit;
            CK_RV rv;

            assert_int_equal(init_fn(h, &cbc, k), CKR_OK);
            if (call == 0)
                rv = enc ? p->C_Encrypt(h, NULL, 16, buf, &len)
                         : p->C_Decrypt(h, buf, 16, buf, NULL);
            else if (call == 1)
                rv = enc ? p->C_EncryptUpdate(h, buf, 16, buf, NULL)
                         : p->C_DecryptUpdate(h, NULL, 16, buf, &len);
            else
                rv = enc ? p->C_EncryptFinal(h, buf, NULL)
                         : p->C_DecryptFinal(h, buf, NULL);
            assert_int_equal(rv, CKR_ARGUMENTS_BAD);
            len = sizeof(buf);
            assert_int_equal(enc ? p->C_EncryptFinal(h, buf, &len)
                                 : p->C_DecryptFinal(h, buf, &len),
                             CKR_OPERATION_NOT_INITIALIZED);
        }
    }
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* C_Initialize's reserved pointer: a readable string of the documented
 * form names the config; anything else is CKR_ARGUMENTS_BAD, never a
 * crash (a conformance suite passes (void *)1). */
static void test_reserved_pointer(void **state)
{
    static char relative[] = "config=etc/config.json", junk[] = "foo=bar",
                ctl[] = "config=/x\ny";
    char word[400], plain[320];
    CK_C_INITIALIZE_ARGS args = {0};
    void *bad[] = {(void *)1,
                   (void *)4096,
                   (void *)0xfff0,
                   (void *)(uintptr_t)0xdead0000dead0000ull,
                   relative,
                   junk,
                   ctl};
    char *unterminated;
    size_t i;

    (void)state;
    /* The module reads the pointer through write(2) to a pipe, so that an
     * unmapped one gives EFAULT; valgrind reports each such call, by
     * design (make check-memcheck sets CMK_MEMCHECK). */
    if (getenv("CMK_MEMCHECK") != NULL)
        skip();
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        args.pReserved = bad[i];
        assert_int_equal(p->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    }
    /* A string running into an unmapped page. */
    unterminated = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(unterminated != MAP_FAILED);
    assert_int_equal(munmap(unterminated + 4096, 4096), 0);
    memset(unterminated, '/', 4096);
    args.pReserved = unterminated;
    assert_int_equal(p->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    /* A terminated one at the very end of the page is fine. */
    snprintf(plain, sizeof(plain), "%s", tenv.config);
    memcpy(unterminated + 4096 - strlen(plain) - 1, plain, strlen(plain) + 1);
    args.pReserved = unterminated + 4096 - strlen(plain) - 1;
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(munmap(unterminated, 4096), 0);
    snprintf(word, sizeof(word), "x-opt config=%s", tenv.config);
    args.pReserved = word;
    unsetenv(CMK_CONFIG_ENV);
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
}

/* The first config= word names the config (cmk_config_locate), so it is
 * the one that must be absolute: a later absolute word does not let a
 * relative one through to be read from the current directory. */
static void test_reserved_first_config_word(void **state)
{
    char cwd[512], s[800];
    CK_C_INITIALIZE_ARGS args = {0};

    (void)state;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(tenv.dir), 0); /* config.json is right here */
    snprintf(s, sizeof(s), "config=config.json config=%s", tenv.config);
    args.pReserved = s;
    assert_int_equal(p->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    snprintf(s, sizeof(s), "x=1 config=%s config=config.json", tenv.config);
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(chdir(cwd), 0);
}

/* An application that forbids threads cannot use a network provider
 * (libcurl resolves names on a thread); local tenants are fine, and the
 * audit file then has no helper thread (the writers do its work). */
static void test_cant_create_threads(void **state)
{
    CK_C_INITIALIZE_ARGS args = {0};
    char path[300];
    FILE *f;

    (void)state;
    args.flags = CKF_LIBRARY_CANT_CREATE_OS_THREADS;
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(test_threads_named("cmk-audit"), 0);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    assert_int_equal(test_threads_named("cmk-audit"), 1);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    assert_int_equal(test_threads_named("cmk-audit"), 0);
    snprintf(path, sizeof(path), "%s/aws.json", tenv.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"store_dir\": \"%s/store-aws\", \"tenants\": [{"
            "\"label\": \"cloud\", \"provider\": \"aws\", "
            "\"key\": \"alias/cloud\", \"region\": \"eu-west-1\", "
            "\"endpoint\": \"http://127.0.0.1:9\", "
            "\"login_required\": false}]}\n",
            tenv.dir);
    assert_int_equal(fclose(f), 0);
    setenv(CMK_CONFIG_ENV, path, 1);
    if (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS)
        assert_int_equal(p->C_Initialize(&args), CKR_NEED_TO_CREATE_THREADS);
    args.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(p->C_Initialize(&args), CKR_OK);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
}

/* A tenant without a provisioned KEK: the direct path works, the KEK path
 * is refused with a precise code (one C_WrapKey may return: the mechanism
 * is not one this CMK has; C_EncryptInit says the key may not do it),
 * token objects cannot be stored. */
static void test_tenant_without_kek(void **state)
{
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    CK_MECHANISM env = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
    uint8_t iv[12] = {1};
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_ULONG len = 32, n;
    CK_ATTRIBUTE tok[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                          {CKA_TOKEN, &yes, 1}};
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek, k;
    uint8_t blob[512];
    char path[300], verifier[crypto_pwhash_STRBYTES];
    FILE *f;

    (void)state;
    assert_int_equal(crypto_pwhash_str(verifier, TEST_PIN, sizeof(TEST_PIN) - 1,
                                       crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    snprintf(path, sizeof(path), "%s/nokek.json", tenv.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"store_dir\": \"%s/store-nokek\", \"tenants\": [{"
            "\"label\": \"bare\", \"provider\": \"local\", "
            "\"key\": \"%s/alpha.key\", \"test_mode\": true, "
            "\"pin_verifier\": \"%s\"}]}\n",
            tenv.dir, tenv.dir, verifier);
    assert_int_equal(fclose(f), 0);
    setenv(CMK_CONFIG_ENV, path, 1);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    h = open_login(0);
    cmk = find_cmk(h);
    dek = gen_aes(h, CK_FALSE, CK_TRUE);
    n = sizeof(blob);
    assert_int_equal(p->C_WrapKey(h, &kwp, cmk, dek, blob, &n),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_UnwrapKey(h, &kwp, cmk, blob, 40, NULL, 0, &k),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(p->C_EncryptInit(h, &gcm, cmk),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    n = sizeof(blob);
    assert_int_equal(p->C_WrapKey(h, &env, cmk, dek, blob, &n), CKR_OK);
    assert_int_equal(p->C_GenerateKey(h, &gen, tok, 2, &k),
                     CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(p->C_Finalize(NULL), CKR_OK);
    setenv(CMK_CONFIG_ENV, tenv.config, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_life_cycle),
        cmocka_unit_test(test_interfaces),
        cmocka_unit_test_setup_teardown(test_login, init, fini),
        cmocka_unit_test_setup_teardown(test_cmk_protected, init, fini),
        cmocka_unit_test_setup_teardown(test_token_serial, init, fini),
        cmocka_unit_test_setup_teardown(test_wrap_paths, init, fini),
        cmocka_unit_test_setup_teardown(test_unextractable, init, fini),
        cmocka_unit_test_setup_teardown(test_token_object_persists, init, fini),
        cmocka_unit_test_setup_teardown(test_threads, init, fini),
        cmocka_unit_test_setup_teardown(test_fork, init, fini),
        cmocka_unit_test(test_audit_records),
        cmocka_unit_test(test_no_config_no_slots),
        cmocka_unit_test(test_reserved_pointer),
        cmocka_unit_test(test_reserved_first_config_word),
        cmocka_unit_test_setup_teardown(test_so_login, init, fini),
        cmocka_unit_test_setup_teardown(test_fork_while_busy, init, fini),
        cmocka_unit_test_setup_teardown(test_bad_arguments_end_operation, init,
                                        fini),
        cmocka_unit_test(test_cant_create_threads),
        cmocka_unit_test(test_tenant_without_kek),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
