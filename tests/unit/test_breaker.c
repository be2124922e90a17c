/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: CMK health and the circuit breaker through the function list on
 * aws tenants against the KMS emulator (run by tests/unit/emu_breaker.sh),
 * on a fake module clock: after DisableKey, ScheduleKeyDeletion, a policy
 * refusal, DeleteKey or 5xx answers, N calls make one KMS request, not N,
 * and fail with the mapped CK_RV and the breaker's ulDeviceError; one probe
 * goes after 1 s, then 2 s, 4 s; EnableKey (or the fault gone) and the
 * next probe heal the tenant; cached keys keep serving while the KMS is
 * unreachable; CKA_CMK_HEALTH follows; each change is one
 * cmk_health_changed record.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
#include "util/clock.h"

#define AKID "AKIDBREAKER"
#define SECRET "breaker-secret/0123456789+ABC"
#define S_US INT64_C(1000000)
#define AWS_DEV(n) (0x20000UL + (n))
#define FAST(r) (0x20000UL | CMK_DEV_BREAKER | (r)) /* failed fast */

enum { T_OFF, T_DEL, T_NET, T_DENY, T_GONE, T_KP, T__COUNT };

static const char *const labels[T__COUNT] = {"off",  "del",  "net",
                                             "deny", "gone", "kp"};

static CK_FUNCTION_LIST_PTR p;
static char dir[512], config[600], creds[600], audit[600];
static char *arn[T__COUNT];
static char *kp_arn; /* tenant kp's key pair "sig": ECC_NIST_P256 */
static int64_t fake_now = 7000 * S_US;

static int64_t fake_clock(void)
{
    return fake_now;
}

/* ---- Setup ---- */

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
            " \"audit\": {\"file\": \"%s\", \"fsync\": \"none\"},\n"
            " \"cache\": {\"ttl_seconds\": 86400},\n"
            " \"http\": {\"connect_timeout_ms\": 1000, \"timeout_ms\": 8000, "
            "\"max_attempts\": 2},\n"
            " \"tenants\": [\n",
            dir, audit);
    for (t = 0; t < T__COUNT; t++) {
        char pairs[400] = "";

        if (t == T_KP)
            snprintf(pairs, sizeof(pairs),
                     ", \"key_pairs\": [{\"label\": \"sig\", \"id\": \"0a\", "
                     "\"key\": \"%s\"}]",
                     kp_arn);
        fprintf(f,
                "  {\"label\": \"%s\", \"provider\": \"aws\", \"key\": "
                "\"%s\", \"region\": \"us-east-1\", \"endpoint\": \"%s/\", "
                "\"aws\": {\"credentials_file\": \"%s\"}, \"test_mode\": "
                "true, \"pin_verifier\": \"%s\"%s%s}%s\n",
                labels[t], arn[t], emu_http_url(), creds, verifier, kek[t],
                pairs, t + 1 < T__COUNT ? "," : "");
    }
    fprintf(f, " ]}\n");
    assert_int_equal(fclose(f), 0);
}

/* ", \"kek\": B64, \"kek_commitment\": B64" for tenant t. */
static void seal_kek(const struct cmk_config *cfg, int t, char *out,
                     size_t out_len)
{
    char b64[500], c64[64];
    struct cmk_cmk *c = NULL;
    struct cmk_req rq = {0};
    struct cmk_buf blob = {0};
    uint8_t kek[32], commit[CMK_KEK_COMMITMENT_LEN];

    randombytes_buf(kek, sizeof(kek));
    assert_int_equal(
        cmk_cmk_kek_commitment(cfg->tenants[t].kms.label, kek, 32, commit),
        CMK_OK);
    assert_int_equal(cmk_cmk_open(&cfg->tenants[t].kms, 0, &c), CMK_OK);
    assert_int_equal(
        cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek, sizeof(kek), &blob),
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

static char *create_pair_key(void)
{
    json_t *r = emu_ctl("create_key", "{\"key_spec\":\"ECC_NIST_P256\","
                                      "\"key_usage\":\"SIGN_VERIFY\"}");
    char *a = strdup(json_string_value(json_object_get(r, "arn")));

    assert_non_null(a);
    json_decref(r);
    return a;
}

static int group_setup(void **state)
{
    static char kek[T__COUNT][600];
    struct cmk_config *cfg = NULL;
    char msg[512];
    int t;

    (void)state;
    unsetenv("CMK_PKCS11_DEBUG");
    setenv("HOME", emu_tmp(), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    snprintf(dir, sizeof(dir), "%s/breaker", emu_tmp());
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(config, sizeof(config), "%s/config.json", dir);
    snprintf(creds, sizeof(creds), "%s/creds.json", dir);
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", dir);
    emu_add_creds(AKID, SECRET);
    emu_write_file(creds, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"}",
                   AKID, SECRET);
    for (t = 0; t < T__COUNT; t++)
        arn[t] = emu_create_key(NULL);
    kp_arn = create_pair_key();
    assert_int_equal(cmk_mech_init(), CKR_OK);
    write_config(kek);
    if (cmk_config_load(config, &cfg, msg, sizeof(msg)) != CMK_OK)
        fail_msg("%s", msg);
    for (t = 0; t < T__COUNT; t++)
        seal_kek(cfg, t, kek[t], sizeof(kek[t]));
    cmk_config_free(cfg);
    write_config(kek);
    setenv(CMK_CONFIG_ENV, config, 1);
    cmk_clock_set_source(fake_clock);
    assert_int_equal(cmk_C_GetFunctionList(&p), CKR_OK);
    assert_int_equal(p->C_Initialize(NULL), CKR_OK);
    return 0;
}

static int group_teardown(void **state)
{
    int t;

    (void)state;
    if (p != NULL)
        (void)p->C_Finalize(NULL);
    for (t = 0; t < T__COUNT; t++)
        free(arn[t]);
    free(kp_arn);
    return 0;
}

/* ---- PKCS#11 steps ---- */

struct made {
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE cmk, dek;
    uint8_t env[512], env2[512];
    CK_ULONG env_len, env2_len;
};

static CK_SLOT_ID slot_of(int t)
{
    CK_SLOT_ID slots[16];
    CK_ULONG n = 16;

    assert_int_equal(p->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_true((CK_ULONG)t < n); /* one slot per tenant, in order */
    return slots[t];
}

static CK_ULONG dev_error(CK_SESSION_HANDLE h)
{
    CK_SESSION_INFO si;

    assert_int_equal(p->C_GetSessionInfo(h, &si), CKR_OK);
    return si.ulDeviceError;
}

static CK_RV wrap_into(const struct made *m, uint8_t *out, CK_ULONG *len)
{
    CK_MECHANISM mech = {CKM_CMK_ENVELOPE, NULL, 0};

    *len = 512;
    return p->C_WrapKey(m->h, &mech, m->cmk, m->dek, out, len);
}

static CK_RV wrap(const struct made *m)
{
    uint8_t out[512];
    CK_ULONG n;

    return wrap_into(m, out, &n);
}

static CK_RV unwrap(const struct made *m, const uint8_t *blob, CK_ULONG len)
{
    CK_MECHANISM mech = {CKM_CMK_ENVELOPE, NULL, 0};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_KEY_TYPE, &kt, sizeof(kt)}};
    CK_OBJECT_HANDLE k;

    return p->C_UnwrapKey(m->h, &mech, m->cmk, (uint8_t *)(uintptr_t)blob, len,
                          tmpl, 2, &k);
}

/* A session on tenant t, its CMK, a DEK and two envelopes of it. */
static void make(int t, struct made *m)
{
    m->h = tp11_open_login(p, slot_of(t), CKF_SERIAL_SESSION | CKF_RW_SESSION);
    m->cmk = tp11_find_cmk(p, m->h);
    m->dek = tp11_gen_aes(p, m->h, CK_FALSE, CK_TRUE);
    assert_int_equal(wrap_into(m, m->env, &m->env_len), CKR_OK);
    assert_int_equal(wrap_into(m, m->env2, &m->env2_len), CKR_OK);
}

static CK_ULONG health(const struct made *m, CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v = 0xdead;
    CK_ATTRIBUTE a = {type, &v, sizeof(v)};

    assert_int_equal(p->C_GetAttributeValue(m->h, m->cmk, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, sizeof(CK_ULONG));
    return v;
}

/* The tenant's cmk_health_changed records, in order ("" when fewer). */
static int changes(int t, char lines[][4096], int max)
{
    char buf[4096], want[64];
    FILE *f = fopen(audit, "r");
    int n = 0;

    assert_non_null(f);
    snprintf(want, sizeof(want), "\"tenant\":\"%s\"", labels[t]);
    while (fgets(buf, sizeof(buf), f) != NULL) {
        if (strstr(buf, "\"event\":\"cmk_health_changed\"") == NULL ||
            strstr(buf, want) == NULL)
            continue;
        if (n < max)
            snprintf(lines[n], 4096, "%s", buf);
        n++;
    }
    fclose(f);
    return n;
}

static void has(const char *line, const char *part)
{
    if (strstr(line, part) == NULL)
        fail_msg("%s not in %s", part, line);
}

/* ---- DisableKey: N calls, one KMS request; probes; EnableKey heals ---- */

/* The module's clock for wall time (CLOCK_REALTIME): time(NULL) reads a
 * coarse clock that can be a tick behind it, so it is no upper bound of a
 * value the module read just before. */
static int64_t wall_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

static void test_disable_enable(void **state)
{
    char rec[4][4096];
    struct made m;
    time_t t0;
    int i;

    (void)state;
    make(T_OFF, &m);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", arn[T_OFF]);
    emu_do("reset_calls", "{}");
    t0 = time(NULL);
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1)); /* DisabledException */
    for (i = 0; i < 9; i++) {
        assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
        assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_DISABLED));
    }
    assert_int_equal(emu_count("Encrypt"), 1); /* 10 calls, 1 request */
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_DISABLED);
    assert_true(health(&m, CKA_CMK_HEALTH_CHECKED) >= (CK_ULONG)t0);
    assert_true(health(&m, CKA_CMK_HEALTH_CHECKED) <= (CK_ULONG)wall_now());
    /* 1 s: one probe (refused), then 2 s */
    fake_now += S_US;
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1));
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(emu_count("Encrypt"), 2);
    fake_now += S_US; /* 1 s of the 2 */
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_DISABLED));
    fake_now += S_US;
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(emu_count("Encrypt"), 3);
    /* Enabled: the breaker waits its 4 s, then the probe heals it. */
    emu_do("enable_key", "{\"key_id\":\"%s\"}", arn[T_OFF]);
    fake_now += 4 * S_US - 1;
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(emu_count("Encrypt"), 3);
    fake_now += 1;
    assert_int_equal(wrap(&m), CKR_OK);
    assert_int_equal(dev_error(m.h), 0);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    for (i = 0; i < 5; i++)
        assert_int_equal(wrap(&m), CKR_OK);
    assert_int_equal(emu_count("Encrypt"), 9); /* closed: each goes */
    assert_int_equal(changes(T_OFF, rec, 4), 2);
    has(rec[0], "\"detail\":\"healthy -> unhealthy (disabled)\"");
    has(rec[0], "\"provider\":\"aws\"");
    has(rec[0], "\"provider_code\":\"DisabledException\"");
    has(rec[0], "\"result\":\"CKR_KEY_FUNCTION_NOT_PERMITTED\"");
    has(rec[1], "\"detail\":\"unhealthy (disabled) -> healthy\"");
    has(rec[1], "\"result\":\"CKR_OK\"");
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- ScheduleKeyDeletion, cancelled: pending_deletion, disabled, ok ---- */

static void test_pending_deletion(void **state)
{
    char rec[4][4096];
    struct made m;

    (void)state;
    make(T_DEL, &m);
    emu_do("schedule_deletion", "{\"key_id\":\"%s\"}", arn[T_DEL]);
    emu_do("reset_calls", "{}");
    assert_int_equal(unwrap(&m, m.env, m.env_len), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(2)); /* KMSInvalidState */
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_PENDING_DELETION);
    assert_int_equal(unwrap(&m, m.env2, m.env2_len), CKR_FUNCTION_FAILED);
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_PENDING_DELETION));
    assert_int_equal(emu_count(NULL), 1);
    /* Cancelled, the key is disabled (as in AWS): the probe says so. */
    emu_do("cancel_deletion", "{\"key_id\":\"%s\"}", arn[T_DEL]);
    fake_now += S_US;
    assert_int_equal(unwrap(&m, m.env, m.env_len), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1));
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_DISABLED);
    emu_do("enable_key", "{\"key_id\":\"%s\"}", arn[T_DEL]);
    fake_now += 2 * S_US;
    assert_int_equal(unwrap(&m, m.env, m.env_len), CKR_OK);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_int_equal(emu_count(NULL), 3);
    assert_int_equal(changes(T_DEL, rec, 4), 3);
    has(rec[0], "\"detail\":\"healthy -> unhealthy (pending_deletion)\"");
    has(rec[0], "\"provider_code\":\"KMSInvalidStateException\"");
    has(rec[1], "\"detail\":\"unhealthy (pending_deletion) -> unhealthy "
                "(disabled)\"");
    has(rec[2], "\"detail\":\"unhealthy (disabled) -> healthy\"");
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- 5xx after the retries: unreachable; cached keys keep serving ---- */

static void test_unreachable_cache_serves(void **state)
{
    char rec[4][4096];
    struct made m;

    (void)state;
    make(T_NET, &m);
    assert_int_equal(unwrap(&m, m.env, m.env_len), CKR_OK); /* cached */
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"for_ops\":[\"Decrypt\"]}");
    assert_int_equal(unwrap(&m, m.env2, m.env2_len), CKR_DEVICE_ERROR);
    assert_int_equal(emu_count("Decrypt"), 2); /* max_attempts */
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_UNREACHABLE);
    assert_int_equal(unwrap(&m, m.env, m.env_len), CKR_OK); /* its TTL */
    assert_int_equal(unwrap(&m, m.env2, m.env2_len), CKR_DEVICE_ERROR);
    assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_UNREACHABLE));
    assert_int_equal(emu_count("Decrypt"), 2);
    emu_do("clear_faults", "{}");
    fake_now += S_US;
    assert_int_equal(unwrap(&m, m.env2, m.env2_len), CKR_OK);
    assert_int_equal(dev_error(m.h), 0);
    assert_int_equal(emu_count("Decrypt"), 3);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_int_equal(changes(T_NET, rec, 4), 2);
    has(rec[0], "\"detail\":\"healthy -> unhealthy (unreachable)\"");
    has(rec[0], "\"result\":\"CKR_DEVICE_ERROR\"");
    has(rec[1], "\"detail\":\"unhealthy (unreachable) -> healthy\"");
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- A policy refusal: access_denied ---- */

static void test_access_denied(void **state)
{
    char rec[4][4096];
    struct made m;

    (void)state;
    make(T_DENY, &m);
    emu_do("set_policy", "{\"key_id\":\"%s\",\"allow\":[\"someone-else\"]}",
           arn[T_DENY]);
    emu_do("reset_calls", "{}");
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), AWS_DEV(4)); /* AccessDeniedException */
    assert_int_equal(wrap(&m), CKR_FUNCTION_FAILED);
    assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_ACCESS_DENIED));
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_ACCESS_DENIED);
    assert_int_equal(emu_count(NULL), 1);
    emu_do("set_policy", "{\"key_id\":\"%s\",\"allow\":null}", arn[T_DENY]);
    fake_now += S_US;
    assert_int_equal(wrap(&m), CKR_OK);
    assert_int_equal(changes(T_DENY, rec, 4), 2);
    has(rec[0], "\"detail\":\"healthy -> unhealthy (access_denied)\"");
    has(rec[0], "\"provider_code\":\"AccessDeniedException\"");
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- DeleteKey: not_found, with each call's own key-handle code ---- */

static void test_not_found(void **state)
{
    struct made m;
    int i;

    (void)state;
    make(T_GONE, &m);
    emu_do("delete_key", "{\"key_id\":\"%s\"}", arn[T_GONE]);
    emu_do("reset_calls", "{}");
    for (i = 0; i < 5; i++) {
        assert_int_equal(wrap(&m), CKR_WRAPPING_KEY_HANDLE_INVALID);
        assert_int_equal(unwrap(&m, m.env, m.env_len),
                         CKR_UNWRAPPING_KEY_HANDLE_INVALID);
        assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_NOT_FOUND));
    }
    assert_int_equal(emu_count(NULL), 1);
    assert_int_equal(emu_count_error("Encrypt", "NotFoundException"), 1);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_NOT_FOUND);
    /* still gone at every probe: 1 s, then 2 s */
    fake_now += S_US;
    assert_int_equal(wrap(&m), CKR_WRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(dev_error(m.h), AWS_DEV(3));
    fake_now += S_US;
    assert_int_equal(wrap(&m), CKR_WRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(emu_count(NULL), 2);
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* The other tenants' health is their own. */
static void test_tenants_apart(void **state)
{
    struct made m;

    (void)state;
    make(T_OFF, &m);
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

/* ---- A key pair's KMS key has a breaker of its own ---- */

/* One ECDSA signature with key pair "sig" of tenant kp. */
static CK_RV sign(CK_SESSION_HANDLE h)
{
    static uint8_t digest[32] = {1, 2, 3}, sig[128];
    static char label[] = "sig";
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, label, 3}};
    CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
    CK_OBJECT_HANDLE k = 0;
    CK_ULONG n = 0;
    CK_RV rv;

    assert_int_equal(p->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
    assert_int_equal(p->C_FindObjects(h, &k, 1, &n), CKR_OK);
    assert_int_equal(p->C_FindObjectsFinal(h), CKR_OK);
    assert_int_equal(n, 1);
    rv = p->C_SignInit(h, &m, k);
    if (rv != CKR_OK)
        return rv;
    n = sizeof(sig);
    return p->C_Sign(h, digest, sizeof(digest), sig, &n);
}

static void test_key_pair(void **state)
{
    char rec[4][4096];
    struct made m;
    int i;

    (void)state;
    make(T_KP, &m);
    emu_do("reset_calls", "{}");
    assert_int_equal(sign(m.h), CKR_OK);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", kp_arn);
    assert_int_equal(sign(m.h), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(dev_error(m.h), AWS_DEV(1)); /* DisabledException */
    for (i = 0; i < 9; i++) {
        assert_int_equal(sign(m.h), CKR_KEY_FUNCTION_NOT_PERMITTED);
        assert_int_equal(dev_error(m.h), FAST(CMK_HEALTH_DISABLED));
    }
    assert_int_equal(emu_count("Sign"), 2); /* 11 calls, 2 requests */
    /* the tenant's CMK is another key: healthy, and it works */
    assert_int_equal(health(&m, CKA_CMK_HEALTH), CMK_HEALTH_HEALTHY);
    assert_int_equal(wrap(&m), CKR_OK);
    /* enabled: the probe after 1 s heals it */
    emu_do("enable_key", "{\"key_id\":\"%s\"}", kp_arn);
    assert_int_equal(sign(m.h), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(emu_count("Sign"), 2);
    fake_now += S_US;
    assert_int_equal(sign(m.h), CKR_OK);
    assert_int_equal(dev_error(m.h), 0);
    assert_int_equal(sign(m.h), CKR_OK);
    assert_int_equal(emu_count("Sign"), 4);
    assert_int_equal(changes(T_KP, rec, 4), 2);
    has(rec[0], "\"detail\":\"key pair sig: healthy -> unhealthy "
                "(disabled)\"");
    has(rec[0], "\"provider_code\":\"DisabledException\"");
    has(rec[1], "\"detail\":\"key pair sig: unhealthy (disabled) -> "
                "healthy\"");
    assert_int_equal(p->C_CloseSession(m.h), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disable_enable),
        cmocka_unit_test(test_pending_deletion),
        cmocka_unit_test(test_unreachable_cache_serves),
        cmocka_unit_test(test_access_denied),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_tenants_apart),
        cmocka_unit_test(test_key_pair),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_breaker.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0;
}
