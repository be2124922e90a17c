/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the gcp provider against the KMS emulator's Cloud KMS
 * routes (run by tests/unit/emu_gcp.sh): round trips through the ops
 * table with the version that encrypted recorded, the AAD bytes of
 * docs/gcp.md, another tenant's AAD refused, a disabled and a destroyed
 * version, decrypt after rotation, every row of the error table (IAM
 * binding removed, unknown key, 5xx and proxy pages until attempts run
 * out, resets, TLS refused, timeouts, a malformed 200, 429 waiting a
 * second on a fake clock), a wrong CRC32C in an answer retried, the HSM size
 * limit, a token refreshed after UNAUTHENTICATED, tokens from the metadata
 * server and from a service-account key file, the health of a key and of a
 * configured version, the ulDeviceError numbers, and the audit record of
 * a refusal through keys/cmk.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "tests/lib/kms_audit.h"
#include "tests/lib/retry_clock.h"
#include "keys/cmk.h"
#include "mech/mech.h"
#include "net/gauth.h"
#include "providers/gcp_cfg.h"
#include "providers/gcp_int.h"
#include "providers/provider.h"
#include "util/crc32c.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define RING "projects/p1/locations/global/keyRings/r1"
#define MD_SA "md@p1.iam.gserviceaccount.com"
#define SA "sa@p1.iam.gserviceaccount.com"

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_gcp_cfg gcp;
    struct cmk_http_cfg http;
    struct cmk_ctx_pair ctx[2];
    char key[256];
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_req rq;
    struct test_retry_clock fc;
};

static char sa_file[512];
static unsigned key_seq;

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->cfg.key_ref;
    f->rq.ctx = f->ctx;
    f->rq.n_ctx = 2;
}

/* A fresh key of the ring at protection level level. */
static void new_key_at(char *name, size_t n, const char *level)
{
    snprintf(name, n, RING "/cryptoKeys/k%u", ++key_seq);
    emu_do("gcp_create_key", "{\"name\":\"%s\",\"protection_level\":\"%s\"}",
           name, level);
}

/* A fresh key of the ring (protection level SOFTWARE). */
static void new_key(char *name, size_t n)
{
    new_key_at(name, n, "SOFTWARE");
}

/* The settings of a tenant "t1" on key reference ref (a cryptoKey or a
 * version name); credentials: key file when sa. fx_start then makes the
 * provider instance. */
static void fx_setup(struct fx *f, bool sa, const char *ref)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_find("gcp");
    assert_non_null(f->ops);
    snprintf(f->key, sizeof(f->key), "%s", ref);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("gcp");
    f->cfg.key_ref = f->key;
    f->cfg.endpoint = MUT(emu_http_url());
    f->cfg.http = &f->http;
    if (sa) {
        f->gcp.auth.credentials_file = sa_file;
        f->cfg.provider_cfg = &f->gcp;
    }
    f->ctx[0].key = MUT("tenant");
    f->ctx[0].value = MUT("t1");
    f->ctx[1].key = MUT("app");
    f->ctx[1].value = MUT("billing");
}

static void fx_start(struct fx *f)
{
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
    req_reset(f);
}

/* A tenant "t1" on key reference ref; credentials: key file when sa. */
static void fx_open_ref(struct fx *f, bool sa, const char *ref)
{
    fx_setup(f, sa, ref);
    fx_start(f);
}

/* A tenant "t1" on a new key; credentials: key file when sa. */
static void fx_open(struct fx *f, bool sa)
{
    char key[256];

    new_key(key, sizeof(key));
    fx_open_ref(f, sa, key);
}

/* Retries on the fake clock, with jitter j. */
static void fx_fake_clock(struct fx *f, double j)
{
    test_retry_clock_init(&f->fc, j);
    ((struct gcp_state *)f->st)->clock = &f->fc.clk;
}

static void fx_close(struct fx *f)
{
    f->ops->fini(f->st);
    free(f->st);
}

static void encrypt_ok(struct fx *f, const char *pt, struct cmk_buf *ct)
{
    req_reset(f);
    assert_int_equal(
        f->ops->encrypt(f->st, &f->rq, (const uint8_t *)pt, strlen(pt), ct),
        CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
}

static void decrypt_is(struct fx *f, const struct cmk_buf *ct, const char *pt)
{
    struct cmk_secret out = {0};

    req_reset(f);
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct->p, ct->len, &out),
                     CMK_OK);
    assert_int_equal(out.len, strlen(pt));
    assert_memory_equal(out.p, pt, out.len);
    cmk_secret_free(&out);
}

/* ---- Round trips ---- */

static void test_round_trip(void **state)
{
    struct cmk_buf ct = {0};
    char id[256], want[300];
    struct fx f;

    (void)state;
    fx_open(&f, false);
    assert_int_equal(f.ops->key_id(f.st, id), CMK_OK);
    snprintf(want, sizeof(want), "gcp:%s", f.key);
    assert_string_equal(id, want);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "data key", &ct);
    snprintf(want, sizeof(want), "%s/cryptoKeyVersions/1", f.key);
    assert_string_equal(f.rq.sealed_by, want);
    assert_string_equal(f.rq.provider_code, "");
    f.rq.open_with = want;
    decrypt_is(&f, &ct, "data key");
    assert_int_equal(emu_count("GCP.Encrypt"), 1);
    assert_int_equal(emu_count("GCP.Decrypt"), 1);
    assert_int_equal(emu_count("GCP.Metadata"), 1); /* one token, cached */
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* The blob's version must be one of the key's: refused before a call. */
static void test_sealed_by_other_key(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret out = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "x", &ct);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    f.rq.open_with = RING "/cryptoKeys/other/cryptoKeyVersions/1";
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &out),
                     CMK_E_KEY_NOT_FOUND);
    assert_string_equal(f.rq.provider_code, "SealedByOtherKey");
    assert_int_equal(emu_count("GCP.Decrypt"), 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_other_tenant_aad(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret out = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "tenant one's key", &ct);
    req_reset(&f);
    f.ctx[0].value = MUT("t2");
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &out),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(f.rq.http_status, 400);
    assert_string_equal(f.rq.provider_code, "INVALID_ARGUMENT");
    assert_null(out.p);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_disabled_version(void **state)
{
    struct cmk_buf ct = {0};
    char v1[300];
    struct fx f;

    (void)state;
    fx_open(&f, false);
    snprintf(v1, sizeof(v1), "%s/cryptoKeyVersions/1", f.key);
    emu_do("gcp_set_version_state", "{\"name\":\"%s\",\"state\":\"DISABLED\"}",
           v1);
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"k", 1, &ct),
                     CMK_E_KEY_DISABLED);
    assert_int_equal(f.rq.http_status, 400);
    assert_string_equal(f.rq.provider_code, "FAILED_PRECONDITION");
    assert_null(ct.p);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "State:DISABLED");
    assert_int_equal(f.ops->health_reason(f.rq.provider_code),
                     1UL /* CMK_HEALTH_DISABLED */);
    fx_close(&f);
}

static void test_rotation(void **state)
{
    struct cmk_buf ct1 = {0}, ct2 = {0};
    char v2[300];
    struct fx f;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "old", &ct1);
    emu_do("gcp_create_version", "{\"key\":\"%s\"}", f.key);
    emu_do("gcp_set_primary", "{\"key\":\"%s\",\"version\":\"2\"}", f.key);
    encrypt_ok(&f, "new", &ct2);
    snprintf(v2, sizeof(v2), "%s/cryptoKeyVersions/2", f.key);
    assert_string_equal(f.rq.sealed_by, v2);
    decrypt_is(&f, &ct1, "old");
    decrypt_is(&f, &ct2, "new");
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    cmk_buf_free(&ct1);
    cmk_buf_free(&ct2);
    fx_close(&f);
}

/* ---- Faults ---- */

static void test_wrong_crc_retried(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.Encrypt\"],\"count\":1}");
    encrypt_ok(&f, "checked", &ct);
    assert_int_equal(emu_count("GCP.Encrypt"), 2);
    assert_int_equal(emu_count_error("GCP.Encrypt", "fault:bad_crc"), 1);
    emu_do("faults",
           "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.Decrypt\"],\"count\":1}");
    decrypt_is(&f, &ct, "checked");
    assert_int_equal(emu_count("GCP.Decrypt"), 2);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_wrong_crc_exhausted(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.Encrypt\"]}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"k", 1, &ct),
                     CMK_E_INTEGRITY);
    assert_string_equal(f.rq.provider_code, "IntegrityMismatch");
    assert_int_equal(emu_count("GCP.Encrypt"), 3);
    assert_null(ct.p);
    fx_close(&f);
}

static void test_limits_before_call(void **state)
{
    static uint8_t big[GCP_MAX_PLAINTEXT + 1];
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, big, sizeof(big), &ct),
                     CMK_E_TOO_LARGE);
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

/* ---- The error table, against the emulator ---- */

/* A failed call: its error, HTTP status, canonical code (or ours) and
 * the number of requests op reached the emulator with. */
static void expect_failed(const struct fx *f, cmk_err got, cmk_err want,
                          long http, const char *code, const char *op,
                          size_t calls)
{
    assert_int_equal(got, want);
    assert_int_equal(f->rq.http_status, http);
    assert_string_equal(f->rq.provider_code, code);
    assert_int_equal(emu_count(op), calls);
}

static cmk_err try_encrypt(struct fx *f, const uint8_t *in, size_t n)
{
    struct cmk_buf ct = {0};
    cmk_err err;

    req_reset(f);
    err = f->ops->encrypt(f->st, &f->rq, in, n, &ct);
    if (err != CMK_OK)
        assert_null(ct.p);
    cmk_buf_free(&ct);
    return err;
}

static cmk_err try_decrypt(struct fx *f, const struct cmk_buf *ct)
{
    struct cmk_secret pt = {0};
    cmk_err err;

    req_reset(f);
    err = f->ops->decrypt(f->st, &f->rq, ct->p, ct->len, &pt);
    if (err != CMK_OK)
        assert_null(pt.p);
    cmk_secret_free(&pt);
    return err;
}

/* The principal's IAM binding removed: a key refusal, not retried. */
static void test_permission_denied(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "iam", &ct);
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{}}", MD_SA);
    emu_do("reset_calls", "{}");
    err = try_encrypt(&f, (const uint8_t *)"k", 1);
    expect_failed(&f, err, CMK_E_ACCESS_DENIED, 403, "PERMISSION_DENIED",
                  "GCP.Encrypt", 1);
    err = try_decrypt(&f, &ct);
    expect_failed(&f, err, CMK_E_ACCESS_DENIED, 403, "PERMISSION_DENIED",
                  "GCP.Decrypt", 1);
    /* what keys/cmk makes of it: CKR_KEY_FUNCTION_NOT_PERMITTED, purge */
    assert_true(cmk_err_is_key_refusal(err));
    assert_int_equal(cmk_err_rv_in(err, CMK_CALL_INIT),
                     CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(f.ops->code_number(f.rq.provider_code), 7);
    assert_int_equal(f.ops->health_reason(f.rq.provider_code), 0);
    assert_int_equal(emu_count("GCP.Metadata"), 0); /* the token was fine */
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_not_found(void **state)
{
    static const struct cmk_buf junk = {(uint8_t *)(uintptr_t) "junk", 4};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open_ref(&f, false, RING "/cryptoKeys/never-made");
    emu_do("reset_calls", "{}");
    err = try_encrypt(&f, (const uint8_t *)"k", 1);
    expect_failed(&f, err, CMK_E_KEY_NOT_FOUND, 404, "NOT_FOUND", "GCP.Encrypt",
                  1);
    err = try_decrypt(&f, &junk);
    expect_failed(&f, err, CMK_E_KEY_NOT_FOUND, 404, "NOT_FOUND", "GCP.Decrypt",
                  1);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_NOT_FOUND);
    assert_string_equal(f.rq.provider_code, "NOT_FOUND");
    assert_int_equal(emu_count("GCP.GetCryptoKey"), 1);
    fx_close(&f);
}

/* A destroyed version: its blobs refused (FAILED_PRECONDITION), a tenant
 * configured on it refused too, and its health says why. */
static void test_destroyed_version(void **state)
{
    struct cmk_buf ct = {0};
    char v1[300];
    struct fx f, fv;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "gone", &ct);
    snprintf(v1, sizeof(v1), "%s/cryptoKeyVersions/1", f.key);
    emu_do("gcp_create_version", "{\"key\":\"%s\"}", f.key);
    emu_do("gcp_set_primary", "{\"key\":\"%s\",\"version\":\"2\"}", f.key);
    emu_do("gcp_destroy_version", "{\"name\":\"%s\",\"now\":true}", v1);
    fx_open_ref(&fv, false, v1);
    emu_do("reset_calls", "{}");
    err = try_decrypt(&f, &ct);
    expect_failed(&f, err, CMK_E_KEY_DISABLED, 400, "FAILED_PRECONDITION",
                  "GCP.Decrypt", 1);
    assert_true(cmk_err_is_key_refusal(err));
    err = try_encrypt(&fv, (const uint8_t *)"k", 1);
    expect_failed(&fv, err, CMK_E_KEY_DISABLED, 400, "FAILED_PRECONDITION",
                  "GCP.Encrypt", 1);
    req_reset(&fv);
    assert_int_equal(fv.ops->health(fv.st, &fv.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(fv.rq.provider_code, "State:DESTROYED");
    assert_int_equal(fv.ops->health_reason(fv.rq.provider_code),
                     CMK_HEALTH_KEY_UNAVAILABLE);
    assert_int_equal(fv.ops->code_number(fv.rq.provider_code), 303);
    /* the key itself: its primary (2) is fine */
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    cmk_buf_free(&ct);
    fx_close(&fv);
    fx_close(&f);
}

/* Each retried 5xx until the attempts run out: exactly max_attempts
 * requests, with backoff (fake clock, jitter 0.5: 50 ms + 100 ms). */
static void test_5xx_exhausted(void **state)
{
    static const struct {
        int status;
        cmk_err err;
        const char *code;
    } t[] = {
        {503, CMK_E_KMS_INTERNAL, "UNAVAILABLE"},
        {500, CMK_E_KMS_INTERNAL, "INTERNAL"},
        {504, CMK_E_TIMEOUT, "DEADLINE_EXCEEDED"},
        {502, CMK_E_KMS_INTERNAL, "HTTP502"}, /* a proxy's HTML page */
    };
    struct cmk_buf ct = {0};
    struct fx f;
    size_t i;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "token first", &ct);
    cmk_buf_free(&ct);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        fx_fake_clock(&f, 0.5);
        emu_do("reset_calls", "{}");
        emu_do("faults",
               "{\"error_5xx_rate\":1,\"error_5xx_status\":%d,"
               "\"for_ops\":[\"GCP.Encrypt\"]}",
               t[i].status);
        err = try_encrypt(&f, (const uint8_t *)"k", 1);
        emu_do("clear_faults", "{}");
        expect_failed(&f, err, t[i].err, t[i].status, t[i].code, "GCP.Encrypt",
                      3);
        assert_int_equal(f.fc.sleeps, 2);
        assert_int_equal(f.fc.slept, 50000 + 100000);
    }
    fx_close(&f);
}

static void test_reset(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "reset", &ct);
    fx_fake_clock(&f, 1.0);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"reset_rate\":1,\"for_ops\":[\"GCP.Decrypt\"],\"count\":1}");
    decrypt_is(&f, &ct, "reset");
    assert_int_equal(emu_count("GCP.Decrypt"), 2);
    assert_int_equal(emu_count_error("GCP.Decrypt", "fault:reset"), 1);
    assert_int_equal(f.fc.slept, 100000);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"reset_rate\":1,\"for_ops\":[\"GCP.Decrypt\"]}");
    err = try_decrypt(&f, &ct);
    emu_do("clear_faults", "{}");
    expect_failed(&f, err, CMK_E_NETWORK, 0, "NetworkError", "GCP.Decrypt", 3);
    assert_int_equal(f.ops->code_number(f.rq.provider_code), 101);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* Over https: the emulator's CA works; another CA is a TLS refusal,
 * not retried (no backoff asked for) and no request made. */
static void test_tls(void **state)
{
    /* the connect timeout covers the handshake and loading the CA file:
     * seconds under valgrind (make check-memcheck) */
    unsigned ms = getenv("CMK_MEMCHECK") != NULL ? 60000 : 5000;
    const char *const cas[] = {emu_ca(), emu_wrong_ca()};
    struct cmk_buf ct = {0};
    char key[256];
    struct fx f[2];
    cmk_err err;
    int i;

    (void)state;
    new_key(key, sizeof(key));
    for (i = 0; i < 2; i++) {
        fx_setup(&f[i], false, key);
        f[i].cfg.endpoint = MUT(emu_https_url());
        f[i].http.connect_timeout_ms = ms;
        f[i].http.timeout_ms = ms;
        f[i].http.ca_file = MUT(cas[i]);
        fx_start(&f[i]);
    }
    encrypt_ok(&f[0], "tls", &ct);
    decrypt_is(&f[0], &ct, "tls");
    fx_fake_clock(&f[1], 0.5);
    emu_do("reset_calls", "{}");
    err = try_encrypt(&f[1], (const uint8_t *)"k", 1);
    expect_failed(&f[1], err, CMK_E_NETWORK, 0, "TlsError", "GCP.Encrypt", 0);
    assert_int_equal(f[1].fc.sleeps, 0);
    assert_int_equal(f[1].ops->code_number(f[1].rq.provider_code), 103);
    cmk_buf_free(&ct);
    fx_close(&f[0]);
    fx_close(&f[1]);
}

/* An answer later than the call's deadline: Timeout, no time left for
 * another attempt. */
static void test_timeout(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "token first", &ct);
    cmk_buf_free(&ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"latency_ms\":1500,\"for_ops\":[\"GCP.Encrypt\"],"
                     "\"count\":1}");
    req_reset(&f);
    f.rq.deadline_us = test_mono_us() + 400000;
    err = f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"k", 1, &ct);
    assert_int_equal(err, CMK_E_TIMEOUT);
    assert_null(ct.p);
    assert_int_equal(f.rq.http_status, 0);
    assert_string_equal(f.rq.provider_code, "Timeout");
    /* the emulator logs the request once it answers */
    assert_int_equal(emu_wait_count("GCP.Encrypt", 1), 1);
    fx_close(&f);
}

/* A 200 answer cut in half: refused, not retried (gcp_call.c). */
static void test_malformed_answer(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "cut", &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"malformed_rate\":1,\"for_ops\":[\"GCP.Decrypt\"],\"count\":1}");
    err = try_decrypt(&f, &ct);
    expect_failed(&f, err, CMK_E_BAD_RESPONSE, 200, "MalformedResponse",
                  "GCP.Decrypt", 1);
    emu_do("faults",
           "{\"malformed_rate\":1,\"for_ops\":[\"GCP.Encrypt\"],\"count\":1}");
    err = try_encrypt(&f, (const uint8_t *)"k", 1);
    expect_failed(&f, err, CMK_E_BAD_RESPONSE, 200, "MalformedResponse",
                  "GCP.Encrypt", 1);
    decrypt_is(&f, &ct, "cut"); /* the next call is fine */
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* RESOURCE_EXHAUSTED: the retry waits 1 s plus the jittered backoff
 * (fake clock, jitter 0.25: 1 s + 25 ms); a deadline that cannot fit
 * the wait fails at once. */
static void test_throttle_waits_a_second(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "quota", &ct);
    fx_fake_clock(&f, 0.25);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"throttle_rate\":1,\"for_ops\":[\"GCP.Decrypt\"],\"count\":1}");
    decrypt_is(&f, &ct, "quota");
    assert_int_equal(emu_count("GCP.Decrypt"), 2);
    assert_int_equal(emu_count_error("GCP.Decrypt", "fault:throttle"), 1);
    assert_int_equal(f.fc.sleeps, 1);
    assert_int_equal(f.fc.first, 1025000);
    fx_fake_clock(&f, 0.25);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"throttle_rate\":1,\"for_ops\":[\"GCP.Decrypt\"]}");
    req_reset(&f);
    f.rq.deadline_us = test_mono_us() + 900000;
    err = f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt);
    assert_null(pt.p);
    emu_do("clear_faults", "{}");
    expect_failed(&f, err, CMK_E_THROTTLED, 429, "RESOURCE_EXHAUSTED",
                  "GCP.Decrypt", 1);
    assert_int_equal(f.fc.sleeps, 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* An HSM key: before any answer showed the level, an 8 KiB + 1 request
 * goes to KMS, which refuses it; once an answer said HSM, it is refused
 * here without a call. */
static void test_hsm_limit(void **state)
{
    static uint8_t big[GCP_MAX_HSM_DATA + 1];
    char key[256];
    struct cmk_buf ct = {0};
    struct fx f;
    cmk_err err;

    (void)state;
    new_key_at(key, sizeof(key), "HSM");
    fx_open_ref(&f, false, key);
    emu_do("reset_calls", "{}");
    err = try_encrypt(&f, big, sizeof(big));
    expect_failed(&f, err, CMK_E_BAD_RESPONSE, 400, "INVALID_ARGUMENT",
                  "GCP.Encrypt", 1);
    encrypt_ok(&f, "small", &ct); /* answers protectionLevel HSM */
    emu_do("reset_calls", "{}");
    err = try_encrypt(&f, big, sizeof(big));
    expect_failed(&f, err, CMK_E_TOO_LARGE, 0, "TooLarge", NULL, 0);
    /* the context's AAD is 34 bytes: 8 KiB in all passes, one more not */
    err = try_encrypt(&f, big, GCP_MAX_HSM_DATA - 33);
    expect_failed(&f, err, CMK_E_TOO_LARGE, 0, "TooLarge", NULL, 0);
    err = try_encrypt(&f, big, GCP_MAX_HSM_DATA - 34);
    assert_int_equal(err, CMK_OK);
    assert_int_equal(emu_count("GCP.Encrypt"), 1);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* ---- Health of a configured version ---- */

/* A tenant on version 1 asks about version 1 (GET cryptoKeyVersion), a
 * tenant on the key about its primary (GET cryptoKey): each sees its own
 * version's state, whatever the other's. */
static void test_version_health(void **state)
{
    char key[256], v1[300];
    struct fx fk, fv;

    (void)state;
    new_key(key, sizeof(key));
    snprintf(v1, sizeof(v1), "%s/cryptoKeyVersions/1", key);
    emu_do("gcp_create_version", "{\"key\":\"%s\"}", key);
    emu_do("gcp_set_primary", "{\"key\":\"%s\",\"version\":\"2\"}", key);
    fx_open_ref(&fk, false, key);
    fx_open_ref(&fv, false, v1);
    /* version 1 disabled, the primary (2) enabled */
    emu_do("gcp_set_version_state", "{\"name\":\"%s\",\"state\":\"DISABLED\"}",
           v1);
    emu_do("reset_calls", "{}");
    req_reset(&fv);
    assert_int_equal(fv.ops->health(fv.st, &fv.rq), CMK_E_KEY_DISABLED);
    assert_int_equal(fv.rq.http_status, 200);
    assert_string_equal(fv.rq.provider_code, "State:DISABLED");
    assert_int_equal(fv.ops->health_reason(fv.rq.provider_code),
                     CMK_HEALTH_DISABLED);
    assert_int_equal(emu_count("GCP.GetCryptoKeyVersion"), 1);
    assert_int_equal(emu_count("GCP.GetCryptoKey"), 0);
    req_reset(&fk);
    assert_int_equal(fk.ops->health(fk.st, &fk.rq), CMK_OK);
    assert_int_equal(emu_count("GCP.GetCryptoKey"), 1);
    /* and the other way round */
    emu_do("gcp_set_version_state", "{\"name\":\"%s\",\"state\":\"ENABLED\"}",
           v1);
    emu_do("gcp_set_version_state",
           "{\"name\":\"%s/cryptoKeyVersions/2\",\"state\":\"DISABLED\"}", key);
    req_reset(&fv);
    assert_int_equal(fv.ops->health(fv.st, &fv.rq), CMK_OK);
    req_reset(&fk);
    assert_int_equal(fk.ops->health(fk.st, &fk.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(fk.rq.provider_code, "State:DISABLED");
    assert_int_equal(emu_count("GCP.GetCryptoKeyVersion"), 2);
    assert_int_equal(emu_count("GCP.GetCryptoKey"), 2);
    fx_close(&fv);
    fx_close(&fk);
}

/* ---- ulDeviceError ---- */

/* Every number docs/gcp.md publishes: fixed forever. */
static void test_code_numbers(void **state)
{
    static const struct {
        const char *code;
        unsigned num;
    } t[] = {
        {"CANCELLED", 1},
        {"UNKNOWN", 2},
        {"INVALID_ARGUMENT", 3},
        {"DEADLINE_EXCEEDED", 4},
        {"NOT_FOUND", 5},
        {"ALREADY_EXISTS", 6},
        {"PERMISSION_DENIED", 7},
        {"RESOURCE_EXHAUSTED", 8},
        {"FAILED_PRECONDITION", 9},
        {"ABORTED", 10},
        {"OUT_OF_RANGE", 11},
        {"UNIMPLEMENTED", 12},
        {"INTERNAL", 13},
        {"UNAVAILABLE", 14},
        {"DATA_LOSS", 15},
        {"UNAUTHENTICATED", 16},
        {"MalformedResponse", 100},
        {"NetworkError", 101},
        {"Timeout", 102},
        {"TlsError", 103},
        {"ResponseTooLarge", 104},
        {"EndpointRefused", 105},
        {"ClientError", 106},
        {"TooLarge", 107},
        {"CiphertextLength", 108},
        {"SealedByOtherKey", 111},
        {"SealedByInvalid", 112},
        {"IntegrityMismatch", 120},
        {"UnexpectedKeyVersion", 121},
        {"CiphertextTooLong", 122},
        {"NoCredentials", 200},
        {"CredentialEndpointTimeout", 210},
        {"CredentialEndpointTls", 211},
        {"CredentialEndpointUnreachable", 212},
        {"GcpCredentialFile", 240},
        {"UnsupportedCredentialType", 241},
        {"GcpPrivateKey", 242},
        {"GcpTokenRefused", 243},
        {"GcpTokenMalformed", 244},
        {"MetadataHost", 245},
        {"MetadataRefused", 246},
        {"MetadataNotGoogle", 247},
        {"ImpersonationMalformed", 248},
        {"ImpersonationRefused", 249},
        {"SubjectTokenEmpty", 250},
        {"SubjectTokenMalformed", 251},
        {"SubjectTokenRefused", 252},
        {"SubjectTokenUnreadable", 253},
        {"UnsupportedCredentialSource", 254},
        {"invalid_request", 260},
        {"invalid_client", 261},
        {"invalid_grant", 262},
        {"unauthorized_client", 263},
        {"unsupported_grant_type", 264},
        {"invalid_scope", 265},
        {"invalid_target", 266},
        {"Impersonation:PERMISSION_DENIED", 407},
        {"Impersonation:UNAUTHENTICATED", 416},
        {"Impersonation:SOMETHING_NEW", 400},
        {"State:UNSPECIFIED", 300},
        {"State:UNKNOWN", 300},
        {"State:SOMETHING_NEW", 300},
        {"State:DISABLED", 302},
        {"State:DESTROYED", 303},
        {"State:DESTROY_SCHEDULED", 304},
        {"State:PENDING_GENERATION", 305},
        {"State:PENDING_IMPORT", 306},
        {"State:IMPORT_FAILED", 307},
        {"State:GENERATION_FAILED", 308},
        {"State:PENDING_EXTERNAL_DESTRUCTION", 309},
        {"State:EXTERNAL_DESTRUCTION_FAILED", 310},
        {"WrongPurpose", 320},
        {"HTTP502", 1502},
        {"HTTP404", 1404},
        {"HTTP99", CMK_DEV_OTHER},
        {"HTTP5x2", CMK_DEV_OTHER},
        {"not_found", CMK_DEV_OTHER},
        {"PermissionDenied", CMK_DEV_OTHER},
        {"", CMK_DEV_OTHER},
    };
    const struct cmk_provider_ops *ops = cmk_provider_find("gcp");
    size_t i;

    (void)state;
    assert_int_equal(ops->id, 3); /* ulDeviceError 0x30000 + number */
    assert_non_null(ops->code_number);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (ops->code_number(t[i].code) != t[i].num)
            fail_msg("%s: %u, not %u", t[i].code, ops->code_number(t[i].code),
                     t[i].num);
    }
    assert_int_equal(ops->code_number(NULL), CMK_DEV_OTHER);
}

/* ---- The AAD's bytes (docs/gcp.md, "Encryption context") ---- */

static void test_aad_bytes(void **state)
{
    static const uint8_t doc[] = {
        0x00, 0x00, 0x00, 0x06, 0x74, 0x65, 0x6e, 0x61, 0x6e, 0x74, 0x00,
        0x00, 0x00, 0x04, 0x61, 0x63, 0x6d, 0x65, 0x00, 0x00, 0x00, 0x03,
        0x61, 0x70, 0x70, 0x00, 0x00, 0x00, 0x07, 0x62, 0x69, 0x6c, 0x6c,
        0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x12, 0x63, 0x6d, 0x6b, 0x2d,
        0x70, 0x6b, 0x63, 0x73, 0x31, 0x31, 0x3a, 0x70, 0x75, 0x72, 0x70,
        0x6f, 0x73, 0x65, 0x00, 0x00, 0x00, 0x03, 0x6b, 0x65, 0x79};
    struct cmk_ctx_pair ctx[3] = {{MUT("tenant"), MUT("acme")},
                                  {MUT("app"), MUT("billing")},
                                  {MUT("cmk-pkcs11:purpose"), MUT("key")}};
    struct cmk_buf aad = {0}, ct = {0};
    struct cmk_secret pt = {0};
    char crc[16];
    json_t *r, *m;
    struct fx f;

    (void)state;
    assert_int_equal(cmk_context_encode(ctx, 3, &aad), CMK_OK);
    assert_int_equal(aad.len, sizeof(doc));
    assert_memory_equal(aad.p, doc, sizeof(doc));
    cmk_buf_free(&aad);
    /* and that is what goes out: its CRC32C as the request carries it */
    fx_open(&f, false);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    f.rq.ctx = ctx;
    f.rq.n_ctx = 3;
    assert_int_equal(
        f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"dek", 3, &ct), CMK_OK);
    snprintf(crc, sizeof(crc), "%lu",
             (unsigned long)cmk_crc32c(doc, sizeof(doc)));
    r = emu_ctl("calls", "{\"op\":\"GCP.Encrypt\"}");
    m = json_object_get(json_array_get(json_object_get(r, "calls"), 0),
                        "crc32c_members");
    assert_string_equal(json_string_value(json_object_get(
                            m, "additionalAuthenticatedDataCrc32c")),
                        crc);
    json_decref(r);
    /* another purpose's context does not open it */
    ctx[2].value = MUT("data");
    req_reset(&f);
    f.rq.ctx = ctx;
    f.rq.n_ctx = 3;
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_null(pt.p);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* ---- Through keys/cmk: the audit record and the purge ---- */

static void count_refusal(void *arg)
{
    ++*(unsigned *)arg;
}

/* PERMISSION_DENIED through keys/cmk: the kms_call record carries HTTP
 * 403 and the canonical code, and the tenant's caches are told to purge. */
static void test_audit_refusal(void **state)
{
    struct cmk_buf blob = {0};
    struct cmk_audit *a;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    unsigned refusals = 0;
    char path[600];
    json_t *rec;
    struct fx f;

    (void)state;
    fx_open(&f, false);
    snprintf(path, sizeof(path), "%s/gcp-refusal.audit", emu_tmp());
    unlink(path);
    a = test_kms_audit_open(path, "t1", "gcp");
    assert_int_equal(cmk_cmk_open(&f.cfg, 0, &c), CMK_OK);
    cmk_cmk_set_audit(c, a);
    cmk_cmk_on_refusal(c, count_refusal, &refusals);
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{}}", MD_SA);
    emu_do("reset_calls", "{}");
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(c, &rq, (const uint8_t *)"dek", 3, &blob),
                     CMK_E_ACCESS_DENIED);
    assert_null(blob.p);
    assert_int_equal(refusals, 1);
    assert_int_equal(emu_count("GCP.Encrypt"), 1);
    rec = test_kms_audit_last(path, "kms_call");
    test_kms_audit_expect_str(rec, "op", "Encrypt");
    test_kms_audit_expect_str(rec, "tenant", "t1");
    test_kms_audit_expect_str(rec, "provider", "gcp");
    test_kms_audit_expect_str(rec, "result", "CKR_KEY_FUNCTION_NOT_PERMITTED");
    test_kms_audit_expect_str(rec, "detail", "access_denied");
    test_kms_audit_expect_str(rec, "provider_code", "PERMISSION_DENIED");
    assert_int_equal(json_integer_value(json_object_get(rec, "http_status")),
                     403);
    assert_null(json_object_get(rec, "request_id")); /* Google sends none */
    json_decref(rec);
    cmk_cmk_close(c);
    cmk_audit_close(a);
    fx_close(&f);
}

/* ---- Tokens ---- */

static void test_token_refreshed_after_401(void **state)
{
    struct cmk_buf ct = {0};
    struct gcp_state *st;
    struct fx f;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "a", &ct);
    cmk_buf_free(&ct);
    st = f.st;
    assert_non_null(st->tokens.cur);
    emu_do("gcp_expire_token", "{\"token\":\"%s\"}",
           cmk_gauth_bearer(st->tokens.cur));
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "b", &ct);
    assert_int_equal(emu_count("GCP.Encrypt"), 2);
    assert_int_equal(emu_count_error("GCP.Encrypt", "UNAUTHENTICATED"), 1);
    assert_int_equal(emu_count("GCP.Metadata"), 1);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* Tokens about to expire are refreshed before use. */
static void test_token_refreshed_ahead(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    emu_do("gcp_token_ttl", "{\"seconds\":%d}", CMK_CREDS_REFRESH_AHEAD_S);
    fx_open(&f, false);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "a", &ct);
    cmk_buf_free(&ct);
    encrypt_ok(&f, "b", &ct);
    assert_int_equal(emu_count("GCP.Metadata"), 2);
    emu_do("gcp_token_ttl", "{\"seconds\":3600}");
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_metadata_down(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    emu_do("gcp_metadata", "{\"enabled\":false}");
    fx_open(&f, false);
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"k", 1, &ct),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "NoCredentials");
    emu_do("gcp_metadata", "{\"enabled\":true}");
    fx_close(&f);
}

static void test_service_account(void **state)
{
    struct cmk_buf ct = {0};
    json_t *r, *calls;
    struct fx f;

    (void)state;
    fx_open(&f, true);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "sa", &ct);
    decrypt_is(&f, &ct, "sa");
    assert_int_equal(emu_count("GCP.Metadata"), 0);
    assert_int_equal(emu_count("GCP.Token"), 1);
    r = emu_ctl("calls", "{\"op\":\"GCP.Encrypt\"}");
    calls = json_object_get(r, "calls");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(calls, 0), "principal")),
                        SA);
    json_decref(r);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A key file that is not there: refused without a call. */
static void test_service_account_missing(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, true);
    f.gcp.auth.credentials_file = MUT("/nonexistent/gcp-sa.json");
    emu_do("reset_calls", "{}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"k", 1, &ct),
                     CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "GcpCredentialFile");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
}

static void test_init_refuses(void **state)
{
    struct cmk_kms_cfg cfg;
    void *st = calloc(1, cmk_provider_find("gcp")->state_size);
    const struct cmk_provider_ops *ops = cmk_provider_find("gcp");

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(ops->init(st, &cfg, "projects/p/keyRings/r"),
                     CMK_E_CONFIG);
    assert_int_equal(
        ops->init(st, &cfg, RING "/cryptoKeys/k/cryptoKeyVersions/x"),
        CMK_E_CONFIG);
    cfg.endpoint = MUT("http://kms.example.com");
    assert_int_equal(ops->init(st, &cfg, RING "/cryptoKeys/k"), CMK_E_CONFIG);
    free(st);
}

/* ---- Setup ---- */

/* Each test starts with no fault and both principals bound to the ring
 * (a test may have removed a binding). */
static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"*\"]}}",
           MD_SA, RING);
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"*\"]}}",
           SA, RING);
    return 0;
}

/* A service account with a fresh RSA key, registered and written out. */
static int make_service_account(void)
{
    EVP_PKEY *pk = EVP_RSA_gen(2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    char *pp = NULL, *up = NULL, *text;
    long pn, un;
    json_t *j;

    if (pk == NULL || priv == NULL || pub == NULL ||
        PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pub, pk) != 1)
        return -1;
    pn = BIO_get_mem_data(priv, &pp);
    un = BIO_get_mem_data(pub, &up);
    j = json_pack("{s:s,s:s#,s:s}", "client_email", SA, "public_key", up,
                  (int)un, "key_id", "kid-1");
    json_decref(emu_ctl("gcp_service_account", "%s", text = json_dumps(j, 0)));
    free(text);
    json_decref(j);
    j = json_pack("{s:s,s:s,s:s#,s:s,s:s+}", "type", "service_account",
                  "private_key_id", "kid-1", "private_key", pp, (int)pn,
                  "client_email", SA, "token_uri", emu_http_url(), "/token");
    text = json_dumps(j, 0);
    snprintf(sa_file, sizeof(sa_file), "%s/gcp-sa.json", emu_tmp());
    emu_write_file(sa_file, 0600, "%s", text);
    free(text);
    json_decref(j);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pk);
    return 0;
}

static int group_setup(void **state)
{
    const char *url = emu_http_url();

    (void)state;
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("HOME", emu_tmp(), 1);
    /* GCE_METADATA_HOST is host:port, without the scheme. */
    setenv("GCE_METADATA_HOST", url + strlen("http://"), 1);
    if (cmk_mech_init() != CKR_OK)
        return -1;
    emu_do("gcp_create_key_ring", "{\"name\":\"%s\"}", RING);
    emu_do("gcp_metadata", "{\"principal\":\"%s\",\"enabled\":true}", MD_SA);
    return make_service_account();
}

static int group_teardown(void **state)
{
    (void)state;
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_round_trip, setup),
        cmocka_unit_test_setup(test_sealed_by_other_key, setup),
        cmocka_unit_test_setup(test_other_tenant_aad, setup),
        cmocka_unit_test_setup(test_disabled_version, setup),
        cmocka_unit_test_setup(test_rotation, setup),
        cmocka_unit_test_setup(test_wrong_crc_retried, setup),
        cmocka_unit_test_setup(test_wrong_crc_exhausted, setup),
        cmocka_unit_test_setup(test_limits_before_call, setup),
        cmocka_unit_test_setup(test_permission_denied, setup),
        cmocka_unit_test_setup(test_not_found, setup),
        cmocka_unit_test_setup(test_destroyed_version, setup),
        cmocka_unit_test_setup(test_5xx_exhausted, setup),
        cmocka_unit_test_setup(test_reset, setup),
        cmocka_unit_test_setup(test_tls, setup),
        cmocka_unit_test_setup(test_timeout, setup),
        cmocka_unit_test_setup(test_malformed_answer, setup),
        cmocka_unit_test_setup(test_throttle_waits_a_second, setup),
        cmocka_unit_test_setup(test_hsm_limit, setup),
        cmocka_unit_test_setup(test_version_health, setup),
        cmocka_unit_test_setup(test_code_numbers, setup),
        cmocka_unit_test_setup(test_aad_bytes, setup),
        cmocka_unit_test_setup(test_audit_refusal, setup),
        cmocka_unit_test_setup(test_token_refreshed_after_401, setup),
        cmocka_unit_test_setup(test_token_refreshed_ahead, setup),
        cmocka_unit_test_setup(test_metadata_down, setup),
        cmocka_unit_test_setup(test_service_account, setup),
        cmocka_unit_test_setup(test_service_account_missing, setup),
        cmocka_unit_test_setup(test_init_refuses, setup),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_gcp.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
