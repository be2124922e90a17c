/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the module's answers when the KMS or a blob is at fault, through
 * the function list on aws tenants against the KMS emulator (run by
 * tests/unit/emu_kms_errors.sh): the exact CK_RV of C_UnwrapKey,
 * C_WrapKey, C_Encrypt/C_Decrypt and their Init calls on the CMK for bad
 * blobs, a deleted key, a disabled key and a KEK of the wrong size; the
 * session's ulDeviceError after each; and credential problems said once
 * on stderr.
 */
#include <config.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "core/settings.h"
#include "emu_client.h"
#include "keys/cmk.h"
#include "mech/mech.h"
#include "pkcs11/entry.h"
#include "tests/lib/p11.h"
#include "tests/lib/tenant.h"

#define AKID "AKIDKMSERRORS"
#define SECRET "kms-errors-secret/0123456789+ABC"
#define AWS_DEV(n) (0x20000UL + (n)) /* ulDeviceError of an aws code */

enum { T_MAIN, T_SHORT, T_GONE, T_OFF, T_NOFILE, T_BADSIG, T__COUNT };

static const char *const labels[T__COUNT] = {"main", "short",  "gone",
                                             "off",  "nofile", "badsig"};

static CK_FUNCTION_LIST_PTR p;
static char dir[512], config[600], creds[600], missing[600], badsig[600];
static char *arn_main, *arn_gone, *arn_off;

/* ---- Setup: tenants, their KEKs (sealed through the emulator) ---- */

static const char *arn_of(int t)
{
    return t == T_GONE ? arn_gone : t == T_OFF ? arn_off : arn_main;
}

static const char *creds_of(int t)
{
    return t == T_NOFILE ? missing : t == T_BADSIG ? badsig : creds;
}

static void write_config(char kek[T__COUNT][600])
{
    char verifier[crypto_pwhash_STRBYTES];
    FILE *f = fopen(config, "w");
    int t;

    assert_non_null(f);
    assert_int_equal(crypto_pwhash_str(verifier, TEST_PIN, strlen(TEST_PIN),
                                       crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    fprintf(f,
            "{\"store_dir\": \"%s/store\",\n"
            " \"audit\": {\"file\": \"%s/audit.jsonl\", \"fsync\": "
            "\"interval\"},\n"
            " \"cache\": {\"ttl_seconds\": 0},\n"
            /* each call's own answer, not the circuit breaker's
             * (test_breaker.c) */
            " \"health\": {\"breaker\": false},\n"
            " \"http\": {\"connect_timeout_ms\": 1000, \"timeout_ms\": 8000, "
            "\"max_attempts\": 1},\n"
            " \"tenants\": [\n",
            dir, dir);
    for (t = 0; t < T__COUNT; t++)
        fprintf(f,
                "  {\"label\": \"%s\", \"provider\": \"aws\", \"key\": "
                "\"%s\", \"region\": \"us-east-1\", \"endpoint\": \"%s/\", "
                "\"aws\": {\"credentials_file\": \"%s\"}, \"test_mode\": "
                "true, \"pin_verifier\": \"%s\"%s}%s\n",
                labels[t], arn_of(t), emu_http_url(), creds_of(t), verifier,
                kek[t], t + 1 < T__COUNT ? "," : "");
    fprintf(f, " ]}\n");
    assert_int_equal(fclose(f), 0);
}

/* ", \"kek\": B64, \"kek_commitment\": B64" for tenant t: a KEK of len
 * bytes sealed as cmk-tool provision does, and its commitment (of a
 * 32-byte KEK; any 32 bytes for a wrong-size one, which is refused on
 * its length before the commitment is looked at). */
static void seal_kek(const struct cmk_config *cfg, int t, size_t len, char *out,
                     size_t out_len)
{
    char b64[500], c64[64];
    struct cmk_cmk *c = NULL;
    struct cmk_req rq = {0};
    struct cmk_buf blob = {0};
    uint8_t kek[32], commit[CMK_KEK_COMMITMENT_LEN];

    randombytes_buf(kek, sizeof(kek));
    randombytes_buf(commit, sizeof(commit));
    if (len == sizeof(kek))
        assert_int_equal(
            cmk_cmk_kek_commitment(cfg->tenants[t].kms.label, kek, len, commit),
            CMK_OK);
    assert_int_equal(cmk_cmk_open(&cfg->tenants[t].kms, 0, &c), CMK_OK);
    assert_int_equal(cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek, len, &blob),
                     CMK_OK);
    sodium_bin2base64(b64, sizeof(b64), blob.p, blob.len,
                      sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(c64, sizeof(c64), commit, sizeof(commit),
                      sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, out_len, ", \"kek\": \"%s\", \"kek_commitment\": \"%s\"", b64,
             c64);
    sodium_memzero(kek, sizeof(kek));
    cmk_buf_free(&blob);
    cmk_cmk_close(c);
}

static int group_setup(void **state)
{
    static char kek[T__COUNT][600];
    struct cmk_config *cfg = NULL;
    char msg[512];

    (void)state;
    unsetenv("CMK_PKCS11_DEBUG");
    setenv("HOME", emu_tmp(), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(dir, sizeof(dir), "%s/kms-errors", emu_tmp());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(config, sizeof(config), "%s/config.json", dir);
    snprintf(creds, sizeof(creds), "%s/creds.json", dir);
    snprintf(missing, sizeof(missing), "%s/missing.json", dir);
    snprintf(badsig, sizeof(badsig), "%s/badsig.json", dir);
    emu_add_creds(AKID, SECRET);
    emu_write_file(creds, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"}",
                   AKID, SECRET);
    emu_write_file(badsig, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":"
                   "\"not-the-secret\"}",
                   AKID);
    arn_main = emu_create_key(NULL);
    arn_gone = emu_create_key(NULL);
    arn_off = emu_create_key(NULL);
    assert_int_equal(cmk_mech_init(), CKR_OK);
    write_config(kek);
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    seal_kek(cfg, T_MAIN, 32, kek[T_MAIN], sizeof(kek[T_MAIN]));
    seal_kek(cfg, T_SHORT, 16, kek[T_SHORT], sizeof(kek[T_SHORT]));
    seal_kek(cfg, T_GONE, 32, kek[T_GONE], sizeof(kek[T_GONE]));
    seal_kek(cfg, T_OFF, 32, kek[T_OFF], sizeof(kek[T_OFF]));
    cmk_config_free(cfg);
    write_config(kek);
    setenv(CMK_CONFIG_ENV, config, 1);
    assert_int_equal(cmk_C_GetFunctionList(&p), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (p != NULL)
        (void)p->C_Finalize(NULL);
    free(arn_main);
    free(arn_gone);
    free(arn_off);
    return 0;
}

/* ---- PKCS#11 steps ---- */

static CK_SLOT_ID slot_of(int t)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16, i;
    CK_TOKEN_INFO ti;
    char label[33];

    assert_int_equal(p->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    for (i = 0; i < n; i++) {
        assert_int_equal(p->C_GetTokenInfo(slots[i], &ti), CKR_OK);
        memcpy(label, ti.label, 32);
        label[32] = '\0';
        if (strncmp(label, labels[t], strlen(labels[t])) == 0 &&
            label[strlen(labels[t])] == ' ')
            return slots[i];
    }
    fail_msg("no token %s", labels[t]);
    return 0;
}

/* A session on tenant t's token, its user logged in. */
static CK_SESSION_HANDLE open_tenant(int t)
{
    return tp11_open_login(p, slot_of(t), CKF_SERIAL_SESSION | CKF_RW_SESSION);
}

static CK_ULONG dev_error(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;

    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    return si.ulDeviceError;
}

static CK_RV wrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                  CK_OBJECT_HANDLE cmk, CK_OBJECT_HANDLE k, uint8_t *out,
                  CK_ULONG *len)
{
    CK_MECHANISM m = {mt, NULL, 0};

    *len = 512;
    return p->C_WrapKey(h, &m, cmk, k, out, len);
}

static CK_RV unwrap(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mt,
                    CK_OBJECT_HANDLE cmk, const uint8_t *blob, CK_ULONG len)
{
    CK_MECHANISM m = {mt, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    CK_OBJECT_HANDLE k;

    return p->C_UnwrapKey(h, &m, cmk, (uint8_t *)(uintptr_t)blob, len, tmpl, 2,
                          &k);
}

/* C_EncryptInit/C_DecryptInit and the one-part call on the direct path;
 * an Init refusal is returned as it is. */
static CK_RV envelope(CK_SESSION_HANDLE h, bool enc, CK_OBJECT_HANDLE cmk,
                      const uint8_t *in, CK_ULONG in_len, uint8_t *out,
                      CK_ULONG *out_len)
{
    CK_MECHANISM m = {CKM_CMK_ENVELOPE, NULL, 0};
    uint8_t *src = (uint8_t *)(uintptr_t)in;
    CK_RV rv;

    *out_len = 1024;
    rv = enc ? p->C_EncryptInit(h, &m, cmk) : p->C_DecryptInit(h, &m, cmk);
    if (rv != CKR_OK)
        return rv;
    return enc ? p->C_Encrypt(h, src, in_len, out, out_len)
               : p->C_Decrypt(h, src, in_len, out, out_len);
}

/* C_EncryptInit/C_DecryptInit with AES-GCM on the CMK: the KEK path. */
static CK_RV gcm_init(CK_SESSION_HANDLE h, bool enc, CK_OBJECT_HANDLE cmk)
{
    uint8_t iv[12] = {7};
    CK_GCM_PARAMS gp = {iv, sizeof(iv), 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    CK_RV rv =
        enc ? p->C_EncryptInit(h, &m, cmk) : p->C_DecryptInit(h, &m, cmk);
    uint8_t buf[64] = {0};
    CK_ULONG n = sizeof(buf);

    if (rv == CKR_OK) /* end it with one call: a later Init finds none */
        (void)(enc ? p->C_Encrypt(h, buf, 16, buf, &n)
                   : p->C_Decrypt(h, buf, 32, buf, &n));
    return rv;
}

struct made {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t env[512], kwp[512], data[1024];
    CK_ULONG env_len, kwp_len, data_len;
};

/* A session on tenant t with its CMK, a DEK wrapped both ways and a
 * direct-path ciphertext, all made while the KMS serves the key. */
static void make(int t, struct made *m)
{
    static const uint8_t msg[] = "payload of the direct path";

    m->h = open_tenant(t);
    m->cmk = tp11_find_cmk(p, m->h);
    m->dek = tp11_gen_aes(p, m->h, CK_FALSE, CK_TRUE);
    assert_int_equal(
        wrap(m->h, CKM_CMK_ENVELOPE, m->cmk, m->dek, m->env, &m->env_len),
        CKR_OK);
    assert_int_equal(
        wrap(m->h, CKM_AES_KEY_WRAP_KWP, m->cmk, m->dek, m->kwp, &m->kwp_len),
        CKR_OK);
    assert_int_equal(
        envelope(m->h, true, m->cmk, msg, sizeof(msg), m->data, &m->data_len),
        CKR_OK);
    assert_int_equal(dev_error(m->h), 0);
}

/* ---- Blobs at fault: the caller's data, never the key ---- */

static void test_bad_blobs(void **state)
{
    struct made m, other;
    uint8_t bad[1024], out[1024];
    CK_ULONG n;

    (void)state;
    make(T_MAIN, &m);
    make(T_OFF, &other); /* a blob of another CMK */
    emu_do("reset_calls", "{}");
    memcpy(bad, m.env, m.env_len);
    bad[0] ^= 0xff; /* not an envelope */
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, bad, m.env_len),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.env, m.env_len - 1),
                     CKR_WRAPPED_KEY_INVALID);
    /* names a CMK this tenant does not have: the blob's fault */
    assert_int_equal(
        unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, other.env, other.env_len),
        CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(
        envelope(m.h, false, m.cmk, other.data, other.data_len, out, &n),
        CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(emu_count("Decrypt"), 0); /* refused before the KMS */
    assert_int_equal(dev_error(m.h), 0);
    /* the KMS refuses the ciphertext */
    memcpy(bad, m.env, m.env_len);
    bad[m.env_len - 1] ^= 1;
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, bad, m.env_len),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(dev_error(m.h), AWS_DEV(12)); /* InvalidCiphertext */
    memcpy(bad, m.data, m.data_len);
    bad[m.data_len - 1] ^= 1;
    assert_int_equal(envelope(m.h, false, m.cmk, bad, m.data_len, out, &n),
                     CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(emu_count_error("Decrypt", "InvalidCiphertextException"),
                     2);
    /* KEK path: RFC 5649 refuses it locally, after a good KEK Decrypt */
    memcpy(bad, m.kwp, m.kwp_len);
    bad[3] ^= 1;
    assert_int_equal(unwrap(m.h, CKM_AES_KEY_WRAP_KWP, m.cmk, bad, m.kwp_len),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(dev_error(m.h), 0); /* the KMS call succeeded */
    assert_int_equal(
        unwrap(m.h, CKM_AES_KEY_WRAP_KWP, m.cmk, m.kwp, m.kwp_len - 1),
        CKR_WRAPPED_KEY_LEN_RANGE);
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.env, m.env_len),
                     CKR_OK);
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
    assert_int_equal(p->C_CloseSession(other.h), CKR_OK);
}

/* ---- The KMS hands back a KEK of the wrong size ---- */

static void test_kek_wrong_size(void **state)
{
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t blob[512];
    CK_ULONG n;

    (void)state;
    h = open_tenant(T_SHORT);
    cmk = tp11_find_cmk(p, h);
    dek = tp11_gen_aes(p, h, CK_FALSE, CK_TRUE);
    emu_do("reset_calls", "{}");
    randombytes_buf(blob, 40);
    /* A device fault, not the caller's blob (was
     * CKR_ENCRYPTED_DATA_INVALID, which C_UnwrapKey may not return). */
    assert_int_equal(unwrap(h, CKM_AES_KEY_WRAP_KWP, cmk, blob, 40),
                     CKR_DEVICE_ERROR);
    assert_int_equal(dev_error(h), AWS_DEV(0xF001));
    assert_int_equal(emu_count("Decrypt"), 1); /* the KMS answered 200 */
    assert_int_equal(wrap(h, CKM_AES_KEY_WRAP_KWP, cmk, dek, blob, &n),
                     CKR_DEVICE_ERROR);
    assert_int_equal(gcm_init(h, true, cmk), CKR_DEVICE_ERROR);
    assert_int_equal(gcm_init(h, false, cmk), CKR_DEVICE_ERROR);
    assert_int_equal(dev_error(h), AWS_DEV(0xF001));
    /* the direct path does not need the KEK */
    assert_int_equal(wrap(h, CKM_CMK_ENVELOPE, cmk, dek, blob, &n), CKR_OK);
    assert_int_equal(dev_error(h), 0);
    assert_int_equal(p->C_CloseSession(h), CKR_OK);
}

/* ---- The CMK deleted: NotFoundException on every path ---- */

static void test_deleted_key(void **state)
{
    static const uint8_t msg[] = "x";
    uint8_t out[1024];
    struct made m;
    CK_ULONG n;

    (void)state;
    make(T_GONE, &m);
    emu_do("delete_key", "{\"key_id\":\"%s\"}", arn_gone);
    emu_do("reset_calls", "{}");
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.env, m.env_len),
                     CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(dev_error(m.h), AWS_DEV(3)); /* NotFoundException */
    assert_int_equal(unwrap(m.h, CKM_AES_KEY_WRAP_KWP, m.cmk, m.kwp, m.kwp_len),
                     CKR_UNWRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(wrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.dek, out, &n),
                     CKR_WRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(wrap(m.h, CKM_AES_KEY_WRAP_KWP, m.cmk, m.dek, out, &n),
                     CKR_WRAPPING_KEY_HANDLE_INVALID);
    /* was CKR_ENCRYPTED_DATA_INVALID: a deleted key looked like bad data */
    assert_int_equal(envelope(m.h, false, m.cmk, m.data, m.data_len, out, &n),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(envelope(m.h, true, m.cmk, msg, 1, out, &n),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(gcm_init(m.h, true, m.cmk), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(gcm_init(m.h, false, m.cmk), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(dev_error(m.h), AWS_DEV(3));
    assert_int_equal(emu_count_error("Decrypt", "NotFoundException"), 6);
    assert_int_equal(emu_count_error("Encrypt", "NotFoundException"), 2);
    assert_int_equal(emu_count(NULL), 8); /* none retried */
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- The CMK disabled: only codes each call may return ---- */

static void test_disabled_key(void **state)
{
    uint8_t out[1024];
    struct made m;
    CK_ULONG n;

    (void)state;
    make(T_OFF, &m);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", arn_off);
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.env, m.env_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1)); /* DisabledException */
    assert_int_equal(unwrap(m.h, CKM_AES_KEY_WRAP_KWP, m.cmk, m.kwp, m.kwp_len),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.dek, out, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(envelope(m.h, false, m.cmk, m.data, m.data_len, out, &n),
                     CKR_FUNCTION_FAILED);
    assert_int_equal(gcm_init(m.h, false, m.cmk),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1));
    emu_do("enable_key", "{\"key_id\":\"%s\"}", arn_off);
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, m.env, m.env_len),
                     CKR_OK);
    assert_int_equal(dev_error(m.h), 0); /* the last KMS call succeeded */
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- ulDeviceError belongs to the session; KMS-less calls keep it ---- */

static void test_device_error_scope(void **state)
{
    struct made m;
    CK_SESSION_HANDLE h2;
    uint8_t bad[512];

    (void)state;
    make(T_MAIN, &m);
    assert_int_equal(
        p->C_OpenSession(slot_of(T_MAIN), CKF_SERIAL_SESSION, NULL, NULL, &h2),
        CKR_OK); /* the token's user is logged in already */
    memcpy(bad, m.env, m.env_len);
    bad[m.env_len - 1] ^= 1;
    assert_int_equal(unwrap(m.h, CKM_CMK_ENVELOPE, m.cmk, bad, m.env_len),
                     CKR_WRAPPED_KEY_INVALID);
    assert_int_equal(dev_error(m.h), AWS_DEV(12));
    assert_int_equal(dev_error(m.h), AWS_DEV(12)); /* reading keeps it */
    assert_int_equal(dev_error(h2), 0);            /* another session */
    (void)tp11_gen_aes(p, m.h, CK_FALSE, CK_TRUE); /* no KMS call */
    assert_int_equal(dev_error(m.h), AWS_DEV(12));
    assert_int_equal(p->C_CloseSession(h2), CKR_OK);
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- Credential problems: said once on stderr, never a secret ---- */

static int saved_stderr = -1;

static void capture_start(const char *path)
{
    int fd;

    fflush(stderr);
    saved_stderr = dup(2);
    assert_true(saved_stderr >= 0);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
}

static const char *capture_end(const char *path)
{
    static char text[8192];
    FILE *f;
    size_t n;

    fflush(stderr);
    assert_int_equal(dup2(saved_stderr, 2), 2);
    close(saved_stderr);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_credentials_said_once(void **state)
{
    CK_SESSION_HANDLE a, b;
    CK_OBJECT_HANDLE ca, cb, da, db;
    uint8_t out[512];
    char path[700], want[2048];
    const char *text;
    CK_ULONG n;
    int i;

    (void)state;
    snprintf(path, sizeof(path), "%s/stderr.txt", dir);
    a = open_tenant(T_NOFILE);
    b = open_tenant(T_BADSIG);
    ca = tp11_find_cmk(p, a);
    cb = tp11_find_cmk(p, b);
    da = tp11_gen_aes(p, a, CK_FALSE, CK_TRUE);
    db = tp11_gen_aes(p, b, CK_FALSE, CK_TRUE);
    emu_do("reset_calls", "{}");
    capture_start(path);
    for (i = 0; i < 2; i++) {
        assert_int_equal(wrap(a, CKM_CMK_ENVELOPE, ca, da, out, &n),
                         CKR_GENERAL_ERROR);
        assert_int_equal(wrap(b, CKM_CMK_ENVELOPE, cb, db, out, &n),
                         CKR_FUNCTION_FAILED);
    }
    text = capture_end(path);
    snprintf(want, sizeof(want),
             "cmk-pkcs11: aws credentials: credentials_file %s: cannot open: "
             "No such file or directory (CredentialsFileUnusable)\n"
             "cmk-pkcs11: aws credentials: KMS rejected the credentials from "
             "credentials_file %s (InvalidSignatureException)\n",
             missing, badsig);
    assert_string_equal(text, want);
    assert_null(strstr(text, "not-the-secret"));
    assert_null(strstr(text, AKID));
    /* Each rejected call did reach the KMS: the second was not said. */
    assert_int_equal(emu_count_error("Encrypt", "InvalidSignatureException"),
                     2);
    assert_int_equal(dev_error(a), AWS_DEV(201)); /* CredentialsFileUnusable */
    assert_int_equal(dev_error(b), AWS_DEV(7));   /* InvalidSignature */
    assert_int_equal(p->C_CloseSession(a), CKR_OK);
    assert_int_equal(p->C_CloseSession(b), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_blobs),
        cmocka_unit_test(test_kek_wrong_size),
        cmocka_unit_test(test_deleted_key),
        cmocka_unit_test(test_disabled_key),
        cmocka_unit_test(test_device_error_scope),
        cmocka_unit_test(test_credentials_said_once),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_kms_errors.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
