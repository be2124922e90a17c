/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the aws provider against the KMS emulator (run by
 * tests/unit/emu_aws.sh): round trips with an encryption context, the
 * error table on real answers, retries counted in the emulator's call
 * log, TLS with the right and a wrong CA, clock-skew correction,
 * credential refresh after ExpiredTokenException, size limits checked
 * before any call, a stalled call not blocking another, the key ARN that
 * Encrypt answers recorded in envelopes and used by Decrypt after an
 * alias moves, refused answers keeping their request id in the audit
 * record, and the User-Agent.
 */
#include <config.h>

#include <pthread.h>
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
#include <curl/curl.h>
#include <sodium.h>

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "tests/lib/kms_audit.h"
#include "keys/cmk.h"
#include "mech/envelope.h"
#include "mech/mech.h"
#include "providers/aws_cfg.h"
#include "providers/aws_int.h"
#include "providers/provider.h"

/* A string literal where the config structs want char * (never written). */
#define MUT(s) ((char *)(uintptr_t)(s))
#define AKID "AKIDAWSUNITTEST"
#define SECRET "aws-unit-test-secret-key/0123456789+ABC"

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_aws_cfg aws;
    struct cmk_http_cfg http;
    struct cmk_ctx_pair ctx[2];
    char creds_path[512];
    char url[256];
    char *arn;
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_req rq;
};

static char creds_file[512];

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->cfg.key_ref;
    f->rq.ctx = f->ctx;
    f->rq.n_ctx = 2;
}

/* A tenant on the emulator (HTTP unless https) with its own key. */
static void fx_open_url(struct fx *f, const char *url, const char *key_ref)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_find("aws");
    assert_non_null(f->ops);
    snprintf(f->url, sizeof(f->url), "%s/", url);
    f->arn = key_ref != NULL ? strdup(key_ref) : emu_create_key(NULL);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("aws");
    f->cfg.key_ref = f->arn;
    f->cfg.region = MUT("us-east-1");
    f->cfg.endpoint = f->url;
    f->aws.creds.credentials_file = creds_file;
    f->cfg.provider_cfg = &f->aws;
    f->cfg.http = &f->http;
    f->ctx[0].key = MUT("tenant");
    f->ctx[0].value = MUT("t1");
    f->ctx[1].key = MUT("app");
    f->ctx[1].value = MUT("billing");
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    req_reset(f);
}

static void fx_open(struct fx *f, const char *key_ref)
{
    fx_open_url(f, emu_http_url(), key_ref);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
}

static void fx_close(struct fx *f)
{
    f->ops->fini(f->st);
    free(f->st);
    free(f->arn);
}

static void encrypt_ok(struct fx *f, const uint8_t *pt, size_t n,
                       struct cmk_buf *ct)
{
    req_reset(f);
    assert_int_equal(f->ops->encrypt(f->st, &f->rq, pt, n, ct), CMK_OK);
    assert_true(ct->len > n);
}

/* The emulator's log of op's calls (decref the result). */
static json_t *emu_calls(const char *op)
{
    json_t *r = emu_ctl("calls", "{\"op\":\"%s\"}", op);
    json_t *calls = json_incref(json_object_get(r, "calls"));

    json_decref(r);
    assert_non_null(calls);
    return calls;
}

/* Field name of call i (NULL when absent or null). */
static const char *call_field(json_t *calls, size_t i, const char *name)
{
    return json_string_value(json_object_get(json_array_get(calls, i), name));
}

/* ---- Round trips ---- */

static void test_round_trip(void **state)
{
    static const uint8_t dek[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    char id[256];
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    assert_int_equal(f.ops->key_id(f.st, id), CMK_OK);
    assert_memory_equal(id, "aws:arn:aws:kms:us-east-1:", 26);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, dek, sizeof(dek), &ct);
    assert_int_equal(f.rq.http_status, 200);
    assert_int_equal(strlen(f.rq.request_id), 36); /* the emulator's UUID */
    assert_string_equal(f.rq.provider_code, "");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    assert_int_equal(pt.len, sizeof(dek));
    assert_memory_equal(pt.p, dek, sizeof(dek));
    assert_int_equal(emu_count("Encrypt"), 1);
    assert_int_equal(emu_count("Decrypt"), 1);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* By alias, with the context in another order: the map is unordered. */
static void test_alias_and_context_order(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct cmk_ctx_pair swap;
    char *arn = emu_create_key("alias/unit-order");
    struct fx f;

    (void)state;
    fx_open(&f, "alias/unit-order");
    encrypt_ok(&f, (const uint8_t *)"k", 1, &ct);
    swap = f.ctx[0];
    f.ctx[0] = f.ctx[1];
    f.ctx[1] = swap;
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    assert_memory_equal(pt.p, "k", 1);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    fx_close(&f);
    free(arn);
}

static void test_wrong_context(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"secret", 6, &ct);
    f.ctx[1].value = MUT("payroll");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f.rq.provider_code, "InvalidCiphertextException");
    assert_int_equal(f.rq.http_status, 400);
    assert_null(pt.p);
    req_reset(&f); /* a missing pair is as wrong as a changed one */
    f.rq.n_ctx = 1;
    f.ctx[1].value = MUT("billing");
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    ct.p[ct.len - 1] ^= 1; /* and so is a changed byte */
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A blob of one key handed to the provider of another. */
static void test_incorrect_key(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx a, b;

    (void)state;
    fx_open(&a, NULL);
    fx_open(&b, NULL);
    encrypt_ok(&a, (const uint8_t *)"x", 1, &ct);
    assert_int_equal(b.ops->decrypt(b.st, &b.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(b.rq.provider_code, "IncorrectKeyException");
    cmk_buf_free(&ct);
    fx_close(&a);
    fx_close(&b);
}

/* keys/cmk_reseal.c on aws (CMK_CAP_REENCRYPT_MOVE): the KEK blob of
 * the old key moves to the new one in one ReEncrypt, from the key its
 * blob names (sent as SourceKeyId), into a version-2 blob naming the new
 * key's ARN that the new key alone opens; an answer that names another
 * source key is refused; a disabled old key fails the move. */
static void test_reseal_reencrypt(void **state)
{
    static const uint8_t kek[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
    struct cmk_cmk *ca = NULL, *cr = NULL, *cn = NULL;
    struct cmk_buf blob = {0}, moved = {0}, none = {0};
    struct cmk_envelope_view ev;
    struct cmk_secret pt = {0};
    struct cmk_kms_cfg rot;
    struct cmk_req rq;
    struct fx a, b;
    char *prev[1];
    json_t *calls;

    (void)state;
    fx_open(&a, NULL);
    fx_open(&b, NULL);
    rot = b.cfg;
    prev[0] = a.arn;
    rot.previous_key_refs = prev;
    rot.n_previous = 1;
    assert_int_equal(cmk_cmk_open(&a.cfg, 0, &ca), CMK_OK);
    assert_int_equal(cmk_cmk_open(&rot, 0, &cr), CMK_OK);
    assert_int_equal(cmk_cmk_open(&b.cfg, 0, &cn), CMK_OK);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal_for(ca, &rq, CMK_PURPOSE_KEK, kek, sizeof(kek), &blob),
        CMK_OK);
    emu_do("reset_calls", "{}");
    assert_int_equal(
        cmk_cmk_reseal_for(cr, &rq, CMK_PURPOSE_KEK, blob.p, blob.len, &moved),
        CMK_OK);
    assert_int_equal(emu_count("ReEncrypt"), 1);
    assert_int_equal(emu_count("Decrypt"), 0);
    assert_int_equal(emu_count("Encrypt"), 0);
    calls = emu_calls("ReEncrypt");
    assert_string_equal(call_field(calls, 0, "source_key_id"), a.arn);
    assert_string_equal(call_field(calls, 0, "request_key_id"), b.arn);
    json_decref(calls);
    assert_int_equal(cmk_envelope_parse(moved.p, moved.len, &ev), CMK_OK);
    assert_int_equal(ev.version, 2);
    assert_int_equal(ev.sealed_by_len, strlen(b.arn));
    assert_memory_equal(ev.sealed_by, b.arn, strlen(b.arn));
    assert_int_equal(
        cmk_cmk_unseal_for(cn, &rq, CMK_PURPOSE_KEK, moved.p, moved.len, &pt),
        CMK_OK);
    assert_int_equal(pt.len, sizeof(kek));
    assert_memory_equal(pt.p, kek, sizeof(kek));
    cmk_secret_free(&pt);
    emu_do("faults",
           "{\"answer_override\":{\"SourceKeyId\":\"%s\"},"
           "\"for_ops\":[\"ReEncrypt\"],\"count\":1}",
           b.arn);
    assert_int_equal(
        cmk_cmk_reseal_for(cr, &rq, CMK_PURPOSE_KEK, blob.p, blob.len, &none),
        CMK_E_BAD_RESPONSE);
    assert_string_equal(rq.provider_code, "UnexpectedKeyId");
    assert_null(none.p);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", a.arn);
    assert_int_equal(
        cmk_cmk_reseal_for(cr, &rq, CMK_PURPOSE_KEK, blob.p, blob.len, &none),
        CMK_E_KEY_DISABLED);
    assert_string_equal(rq.provider_code, "DisabledException");
    assert_null(none.p);
    cmk_buf_free(&blob);
    cmk_buf_free(&moved);
    cmk_cmk_close(ca);
    cmk_cmk_close(cr);
    cmk_cmk_close(cn);
    fx_close(&a);
    fx_close(&b);
}

static void test_reencrypt_and_generate(void **state)
{
    struct cmk_buf ct = {0}, ct2 = {0}, dk = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"rotate me", 9, &ct);
    req_reset(&f);
    assert_int_equal(f.ops->reencrypt(f.st, &f.rq, ct.p, ct.len, &ct2), CMK_OK);
    assert_true(ct2.len != ct.len || memcmp(ct2.p, ct.p, ct.len) != 0);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct2.p, ct2.len, &pt), CMK_OK);
    assert_memory_equal(pt.p, "rotate me", 9);
    cmk_secret_free(&pt);
    req_reset(&f);
    assert_int_equal(f.ops->generate_key(f.st, &f.rq, 32, &dk), CMK_OK);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, dk.p, dk.len, &pt), CMK_OK);
    assert_int_equal(pt.len, 32);
    req_reset(&f);
    assert_int_equal(f.ops->generate_key(f.st, &f.rq, 1025, &dk),
                     CMK_E_TOO_LARGE);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    cmk_buf_free(&ct2);
    cmk_buf_free(&dk);
    fx_close(&f);
}

/* ---- Key state ---- */

static void test_disabled_key(void **state)
{
    struct cmk_buf ct = {0}, ct2 = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"d", 1, &ct);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    emu_do("disable_key", "{\"key_id\":\"%s\"}", f.arn);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "DisabledException");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, ct.p, 1, &ct2),
                     CMK_E_KEY_DISABLED);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "KeyState:Disabled");
    emu_do("enable_key", "{\"key_id\":\"%s\"}", f.arn);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* Scheduled for deletion, the key still exists: KMS answers
 * KMSInvalidStateException, which is CMK_E_KEY_DISABLED (the tenant can
 * still cancel the deletion). Only a key that is gone is NOT_FOUND. */
static void test_deleted_key(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f, gone;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"d", 1, &ct);
    emu_do("schedule_deletion", "{\"key_id\":\"%s\"}", f.arn);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "KMSInvalidStateException");
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "KeyState:PendingDeletion");
    /* A key that is gone, named by its ARN (an alias that names nothing
     * would not be asked: a blob that names no key goes to the key its
     * ciphertext names when the reference is an alias). */
    fx_open(&gone, "arn:aws:kms:us-east-1:111122223333:key/"
                   "00000000-0000-4000-8000-000000000000");
    assert_int_equal(gone.ops->decrypt(gone.st, &gone.rq, ct.p, ct.len, &pt),
                     CMK_E_KEY_NOT_FOUND);
    assert_string_equal(gone.rq.provider_code, "NotFoundException");
    req_reset(&gone);
    assert_int_equal(gone.ops->health(gone.st, &gone.rq), CMK_E_KEY_NOT_FOUND);
    cmk_buf_free(&ct);
    fx_close(&f);
    fx_close(&gone);
}

static void test_access_denied(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("set_policy", "{\"key_id\":\"%s\",\"allow\":[\"someone-else\"]}",
           f.arn);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"a", 1, &ct),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "AccessDeniedException");
    fx_close(&f);
}

/* ---- Limits before any call ---- */

static void test_limits_before_call(void **state)
{
    static uint8_t big[6145];
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, big, 4097, &ct),
                     CMK_E_TOO_LARGE);
    assert_string_equal(f.rq.provider_code, "PlaintextTooLarge");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, big, 0, &ct), CMK_E_ARGS);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, big, 6145, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, big, 0, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_int_equal(emu_count(NULL), 0); /* nothing reached the KMS */
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, big, 4096, &ct), CMK_OK);
    assert_int_equal(emu_count("Encrypt"), 1);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_init_refuses(void **state)
{
    struct fx f;
    char longref[300];

    (void)state;
    fx_open_url(&f, emu_http_url(), "alias/x");
    f.cfg.region = NULL;
    assert_int_equal(unsetenv("AWS_REGION"), 0);
    assert_int_equal(unsetenv("AWS_DEFAULT_REGION"), 0);
    assert_int_equal(f.ops->init(f.st, &f.cfg, "alias/x"), CMK_E_CONFIG);
    assert_int_equal(setenv("AWS_DEFAULT_REGION", "us-east-1", 1), 0);
    assert_int_equal(f.ops->init(f.st, &f.cfg, "alias/x"), CMK_OK);
    f.ops->fini(f.st);
    assert_int_equal(unsetenv("AWS_DEFAULT_REGION"), 0);
    f.cfg.region = MUT("us-east-1");
    memset(longref, 'a', sizeof(longref) - 1);
    longref[sizeof(longref) - 1] = '\0';
    assert_int_equal(f.ops->init(f.st, &f.cfg, longref), CMK_E_CONFIG);
    assert_int_equal(f.ops->init(f.st, &f.cfg, ""), CMK_E_CONFIG);
    f.cfg.endpoint = MUT("http://kms.example.com/");
    assert_int_equal(f.ops->init(f.st, &f.cfg, "alias/x"), CMK_E_CONFIG);
    fx_close(&f);
}

/* ---- Retries ---- */

static void test_throttling_recovered(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"throttle_rate\":1,\"count\":2,\"for_ops\":"
                     "[\"Encrypt\"]}");
    encrypt_ok(&f, (const uint8_t *)"t", 1, &ct);
    assert_int_equal(emu_count("Encrypt"), 3);
    assert_int_equal(emu_count_error("Encrypt", "ThrottlingException"), 2);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_5xx_exhausted(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"for_ops\":[\"Encrypt\"]}");
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"t", 1, &ct),
                     CMK_E_KMS_INTERNAL);
    emu_do("clear_faults", "{}");
    assert_string_equal(f.rq.provider_code, "KMSInternalException");
    assert_int_equal(f.rq.http_status, 500);
    assert_int_equal(emu_count("Encrypt"), 3); /* max_attempts */
    /* 503 is DependencyTimeoutException: a timeout, retried as well */
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"error_5xx_rate\":1,\"error_5xx_status\":503,"
                     "\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"t", 1, &ct),
                     CMK_OK);
    assert_int_equal(emu_count("Encrypt"), 2);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_reset_retried(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"r", 1, &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"reset_rate\":1,\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    assert_int_equal(emu_count("Decrypt"), 2);
    assert_int_equal(emu_count_error("Decrypt", "fault:reset"), 1);
    /* every attempt reset: a network error once attempts run out */
    emu_do("faults", "{\"reset_rate\":1}");
    req_reset(&f);
    cmk_secret_free(&pt);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_NETWORK);
    emu_do("clear_faults", "{}");
    assert_string_equal(f.rq.provider_code, "NetworkError");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A cut answer is refused and not retried; nothing half-parsed leaks. */
static void test_malformed_answer(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"m", 1, &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"malformed_rate\":1,\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "MalformedResponse");
    assert_null(pt.p);
    assert_int_equal(emu_count("Decrypt"), 1);
    emu_do("faults", "{\"malformed_rate\":1,\"count\":1}");
    cmk_buf_free(&ct);
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"m", 1, &ct),
                     CMK_E_BAD_RESPONSE);
    fx_close(&f);
}

static void test_deadline(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("reset_calls", "{}");
    f.rq.deadline_us = now_us() - 1;
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"t", 1, &ct),
                     CMK_E_TIMEOUT);
    assert_int_equal(emu_count(NULL), 0);
    emu_do("faults", "{\"latency_ms\":1500,\"count\":1}");
    req_reset(&f);
    f.rq.deadline_us = now_us() + 400000;
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"t", 1, &ct),
                     CMK_E_TIMEOUT);
    assert_string_equal(f.rq.provider_code, "Timeout");
    /* the abandoned request is logged when the emulator answers it, 1.5 s
     * on: wait for it here, or a later test's count would see it */
    assert_int_equal(emu_wait_count("Encrypt", 1), 1);
    fx_close(&f);
}

/* ---- Clock and credentials ---- */

static void test_clock_skew(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    emu_do("clock_offset", "{\"seconds\":900}");
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, (const uint8_t *)"s", 1, &ct);
    assert_int_equal(emu_count("Encrypt"), 2);
    assert_int_equal(emu_count_error("Encrypt", "InvalidSignatureException"),
                     1);
    cmk_buf_free(&ct);
    encrypt_ok(&f, (const uint8_t *)"s", 1, &ct); /* remembered */
    assert_int_equal(emu_count("Encrypt"), 3);
    emu_do("clock_offset", "{\"seconds\":0}");
    cmk_buf_free(&ct);
    encrypt_ok(&f, (const uint8_t *)"s", 1, &ct); /* and corrected back */
    assert_int_equal(emu_count("Encrypt"), 5);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A wrong secret stays wrong: one InvalidSignatureException, no loop. */
static void test_bad_secret(void **state)
{
    char path[600];
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    snprintf(path, sizeof(path), "%s/bad-creds.json", emu_tmp());
    emu_write_file(path, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"nope\"}",
                   AKID);
    fx_open_url(&f, emu_http_url(), NULL);
    f.aws.creds.credentials_file = path;
    assert_int_equal(f.ops->init(f.st, &f.cfg, f.cfg.key_ref), CMK_OK);
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"s", 1, &ct),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "InvalidSignatureException");
    assert_int_equal(emu_count("Encrypt"), 1);
    fx_close(&f);
}

/* Temporary credentials from the container endpoint: once the KMS says
 * they expired, they are fetched again and the call re-signed. */
static void test_expired_token_refreshed(void **state)
{
    char uri[512];
    const char *akid1;
    struct cmk_buf ct = {0};
    json_t *calls;
    struct fx f;

    (void)state;
    snprintf(uri, sizeof(uri), "%s/container/creds", emu_http_url());
    assert_int_equal(setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1), 0);
    fx_open_url(&f, emu_http_url(), NULL);
    f.aws.creds.credentials_file = NULL;
    assert_int_equal(f.ops->init(f.st, &f.cfg, f.cfg.key_ref), CMK_OK);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, (const uint8_t *)"e", 1, &ct);
    cmk_buf_free(&ct);
    calls = emu_ctl("calls", "{\"op\":\"Encrypt\"}");
    akid1 = json_string_value(json_object_get(
        json_array_get(json_object_get(calls, "calls"), 0), "access_key_id"));
    assert_memory_equal(akid1, "ASIA", 4);
    emu_do("expire_credentials", "{\"access_key_id\":\"%s\"}", akid1);
    json_decref(calls);
    encrypt_ok(&f, (const uint8_t *)"e", 1, &ct);
    assert_int_equal(emu_count_error("Encrypt", "ExpiredTokenException"), 1);
    assert_int_equal(emu_count("ContainerCredentials"), 2);
    assert_int_equal(emu_count("Encrypt"), 3);
    assert_int_equal(unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"), 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

static void test_no_credentials(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open_url(&f, emu_http_url(), NULL);
    f.aws.creds.credentials_file = NULL;
    assert_int_equal(f.ops->init(f.st, &f.cfg, f.cfg.key_ref), CMK_OK);
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"s", 1, &ct),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "NoCredentials");
    assert_int_equal(emu_count("Encrypt"), 0);
    fx_close(&f);
}

/* ---- TLS ---- */

/* libcurl's connect timeout covers the TLS handshake and the loading of
 * the CA store (the whole system store when ca is NULL): seconds under
 * valgrind (make check-memcheck) on a loaded machine, so the fixture's
 * 1 s would turn the expected TLS refusal into a timeout. */
static void open_https(struct fx *f, const char *ca)
{
    unsigned ms = getenv("CMK_MEMCHECK") != NULL ? 60000 : 5000;

    fx_open_url(f, emu_https_url(), NULL);
    f->http.connect_timeout_ms = ms;
    f->http.timeout_ms = ms;
    f->http.ca_file = MUT(ca);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
}

static void test_https(void **state)
{
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    struct fx f, bad, sys;

    (void)state;
    open_https(&f, emu_ca());
    encrypt_ok(&f, (const uint8_t *)"tls", 3, &ct);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    open_https(&bad, emu_wrong_ca());
    emu_do("reset_calls", "{}");
    assert_int_equal(bad.ops->decrypt(bad.st, &bad.rq, ct.p, ct.len, &pt),
                     CMK_E_NETWORK);
    assert_string_equal(bad.rq.provider_code, "TlsError");
    assert_int_equal(emu_count(NULL), 0); /* refused before any request */
    open_https(&sys, NULL); /* the system store does not know the test CA */
    assert_int_equal(sys.ops->decrypt(sys.st, &sys.rq, ct.p, ct.len, &pt),
                     CMK_E_NETWORK);
    assert_string_equal(sys.rq.provider_code, "TlsError");
    cmk_secret_free(&pt);
    cmk_buf_free(&ct);
    fx_close(&f);
    fx_close(&bad);
    fx_close(&sys);
}

/* ---- Threads ---- */

struct worker {
    struct fx *f;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct cmk_req rq;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    uint8_t msg[16];
    int i;

    for (i = 0; i < 10; i++) {
        randombytes_buf(msg, sizeof(msg));
        rq = w->f->rq;
        if (w->f->ops->encrypt(w->f->st, &rq, msg, sizeof(msg), &ct) !=
                CMK_OK ||
            w->f->ops->decrypt(w->f->st, &rq, ct.p, ct.len, &pt) != CMK_OK ||
            pt.len != sizeof(msg) || memcmp(pt.p, msg, sizeof(msg)) != 0)
            return NULL;
        cmk_buf_free(&ct);
        cmk_secret_free(&pt);
        w->ok++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    struct fx f;
    int i;

    (void)state;
    fx_open(&f, NULL);
    for (i = 0; i < 4; i++) {
        w[i].f = &f;
        w[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].ok, 10);
    }
    fx_close(&f);
}

struct slow {
    struct fx *f;
    struct cmk_buf *ct;
    cmk_err err;
};

static void *slow_decrypt(void *arg)
{
    struct slow *s = arg;
    struct cmk_secret pt = {0};
    struct cmk_req rq = s->f->rq;

    s->err = s->f->ops->decrypt(s->f->st, &rq, s->ct->p, s->ct->len, &pt);
    cmk_secret_free(&pt);
    return NULL;
}

/* A Decrypt stalled in the KMS does not hold up an Encrypt on the same
 * provider instance or another one. */
static void test_stall_does_not_block(void **state)
{
    struct cmk_buf ct = {0}, ct2 = {0};
    struct slow s;
    pthread_t t;
    int64_t t0;
    struct fx f, g;

    (void)state;
    fx_open(&f, NULL);
    fx_open(&g, NULL);
    encrypt_ok(&f, (const uint8_t *)"s", 1, &ct);
    emu_do("faults", "{\"latency_ms\":2000,\"for_ops\":[\"Decrypt\"]}");
    s.f = &f;
    s.ct = &ct;
    assert_int_equal(pthread_create(&t, NULL, slow_decrypt, &s), 0);
    usleep(200000);
    t0 = now_us();
    encrypt_ok(&f, (const uint8_t *)"q", 1, &ct2);
    cmk_buf_free(&ct2);
    encrypt_ok(&g, (const uint8_t *)"q", 1, &ct2);
    assert_true(now_us() - t0 < 1000000);
    assert_int_equal(pthread_join(t, NULL), 0);
    emu_do("clear_faults", "{}");
    assert_int_equal(s.err, CMK_OK);
    cmk_buf_free(&ct);
    cmk_buf_free(&ct2);
    fx_close(&f);
    fx_close(&g);
}

/* ---- Answers refused after the exchange ---- */

/* A 200 answer that cannot be used (cut JSON, a member missing or of the
 * wrong type) fails with MalformedResponse and keeps the exchange's
 * request id and HTTP status for the audit record. */
static void expect_refused_answer(struct fx *f, const char *op,
                                  const char *code)
{
    json_t *calls = emu_calls(op);

    assert_int_equal(json_array_size(calls), 1);
    assert_string_equal(f->rq.request_id, call_field(calls, 0, "request_id"));
    assert_int_equal(f->rq.http_status, 200);
    assert_string_equal(f->rq.provider_code, code);
    json_decref(calls);
}

static void test_refused_answer_keeps_request_id(void **state)
{
    struct cmk_buf ct = {0}, ct2 = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"m", 1, &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"malformed_rate\":1,\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    expect_refused_answer(&f, "Decrypt", "MalformedResponse");
    assert_null(pt.p);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"answer_override\":{\"Plaintext\":null},\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    expect_refused_answer(&f, "Decrypt", "MalformedResponse");
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"answer_override\":{\"CiphertextBlob\":5},\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"m", 1, &ct2),
                     CMK_E_BAD_RESPONSE);
    expect_refused_answer(&f, "Encrypt", "MalformedResponse");
    assert_null(ct2.p);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* The audit record of a refused answer names its exchange exactly. */
static void test_refused_answer_audit(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf blob = {0};
    struct cmk_audit *a = NULL;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    char path[600];
    json_t *calls, *rec;
    struct fx f;

    (void)state;
    fx_open_url(&f, emu_http_url(), NULL);
    snprintf(path, sizeof(path), "%s/refused-answer.audit", emu_tmp());
    unlink(path);
    a = test_kms_audit_open(path, "t1", "aws");
    assert_int_equal(cmk_cmk_open(&f.cfg, 0, &c), CMK_OK);
    cmk_cmk_set_audit(c, a);
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(c, &rq, (const uint8_t *)"dek", 3, &blob),
                     CMK_OK);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"answer_override\":{\"Plaintext\":7},\"count\":1}");
    assert_int_equal(cmk_cmk_unseal(c, &rq, blob.p, blob.len, &pt),
                     CMK_E_BAD_RESPONSE);
    assert_null(pt.p);
    calls = emu_calls("Decrypt");
    rec = test_kms_audit_last(path, "kms_call");
    test_kms_audit_expect_str(rec, "event", "kms_call");
    test_kms_audit_expect_str(rec, "op", "Decrypt");
    test_kms_audit_expect_str(rec, "tenant", "t1");
    test_kms_audit_expect_str(rec, "provider", "aws");
    test_kms_audit_expect_str(rec, "result", "CKR_DEVICE_ERROR");
    test_kms_audit_expect_str(rec, "detail", "bad_response");
    test_kms_audit_expect_str(rec, "provider_code", "MalformedResponse");
    test_kms_audit_expect_str(rec, "request_id",
                              call_field(calls, 0, "request_id"));
    assert_int_equal(json_integer_value(json_object_get(rec, "http_status")),
                     200);
    json_decref(rec);
    json_decref(calls);
    cmk_buf_free(&blob);
    cmk_cmk_close(c);
    cmk_audit_close(a);
    fx_close(&f);
}

/* ---- Key ARNs: recorded at Encrypt, used by Decrypt ---- */

static void test_arn_fits(void **state)
{
    static const char k1[] = "arn:aws:kms:us-east-1:111122223333:key/"
                             "1234abcd-12ab-34cd-56ef-1234567890ab";
    static const char mrk[] = "arn:aws-us-gov:kms:us-gov-west-1:111122223333"
                              ":key/mrk-1234abcd12ab34cd56ef1234567890ab";
    static const char *const not_arns[] = {
        "alias/x",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:111122223333:alias/x",
        "arn:aws:kms:us-east-1:11112222333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab", /* 11-digit account */
        "arn:aws:iam:us-east-1:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab", /* not kms */
        "arn:aws:kms:us-east-1:111122223333:key/"
        "1234ABCD-12ab-34cd-56ef-1234567890ab", /* KMS writes lower case */
        "arn:aws:kms:us-east-1:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab:x", /* trailer */
        "arn:awz:kms:us-east-1:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab", /* partition */
        "arn:aws:kms:useast1:111122223333:key/"
        "1234abcd-12ab-34cd-56ef-1234567890ab", /* region */
        "arn:aws:kms:us-east-1:111122223333:key/mrk-1234",
        "",
        NULL};
    size_t i;

    (void)state;
    assert_true(cmk_aws_is_key_arn(k1, strlen(k1)));
    assert_true(cmk_aws_is_key_arn(mrk, strlen(mrk)));
    assert_false(cmk_aws_is_key_arn(k1, strlen(k1) - 1)); /* cut */
    for (i = 0; not_arns[i] != NULL; i++) {
        assert_false(cmk_aws_is_key_arn(not_arns[i], strlen(not_arns[i])));
        assert_int_equal(cmk_aws_arn_fits("alias/x", "us-east-1", not_arns[i],
                                          strlen(not_arns[i])),
                         CMK_AWS_NOT_KEY_ARN);
    }
    /* what each reference form may name */
    assert_int_equal(cmk_aws_arn_fits(k1, "us-east-1", k1, strlen(k1)),
                     CMK_AWS_FITS);
    assert_int_equal(cmk_aws_arn_fits("arn:aws:kms:us-east-1:111122223333:key/"
                                      "1234ABCD-12AB-34CD-56EF-1234567890AB",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_FITS);
    assert_int_equal(cmk_aws_arn_fits("1234abcd-12ab-34cd-56ef-1234567890ab",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_FITS);
    assert_int_equal(cmk_aws_arn_fits("alias/x", "us-east-1", k1, strlen(k1)),
                     CMK_AWS_FITS);
    assert_int_equal(cmk_aws_arn_fits("arn:aws:kms:us-east-1:111122223333:"
                                      "alias/x",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_FITS);
    assert_int_equal(
        cmk_aws_arn_fits("alias/x", "us-gov-west-1", mrk, strlen(mrk)),
        CMK_AWS_FITS);
    /* and what they may not */
    assert_int_equal(cmk_aws_arn_fits("alias/x", "eu-west-1", k1, strlen(k1)),
                     CMK_AWS_OTHER_KEY);
    assert_int_equal(cmk_aws_arn_fits("arn:aws:kms:us-east-1:444455556666:"
                                      "alias/x",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_OTHER_KEY);
    assert_int_equal(cmk_aws_arn_fits("arn:aws-cn:kms:us-east-1:111122223333:"
                                      "alias/x",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_OTHER_KEY);
    assert_int_equal(cmk_aws_arn_fits("arn:aws:kms:us-east-1:111122223333:key/"
                                      "0000abcd-12ab-34cd-56ef-1234567890ab",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_OTHER_KEY);
    assert_int_equal(cmk_aws_arn_fits("0000abcd-12ab-34cd-56ef-1234567890ab",
                                      "us-east-1", k1, strlen(k1)),
                     CMK_AWS_OTHER_KEY);
    assert_true(cmk_aws_ref_is_alias("alias/x"));
    assert_true(
        cmk_aws_ref_is_alias("arn:aws:kms:us-east-1:111122223333:alias/x"));
    assert_false(cmk_aws_ref_is_alias(k1));
    assert_false(cmk_aws_ref_is_alias("1234abcd-12ab-34cd-56ef-1234567890ab"));
}

/* Encrypt through an alias answers the key ARN, which the provider hands
 * out as sealed_by; an answer naming a key the reference cannot name, or
 * none, or no key ARN, is refused (nothing is returned). */
static void test_encrypt_names_key_arn(void **state)
{
    static const char other[] = "arn:aws:kms:us-east-1:444455556666:key/"
                                "1234abcd-12ab-34cd-56ef-1234567890ab";
    char *arn = emu_create_key("alias/unit-sealed");
    struct cmk_buf ct = {0};
    struct fx f, k;

    (void)state;
    fx_open(&f, "arn:aws:kms:us-east-1:111122223333:alias/unit-sealed");
    encrypt_ok(&f, (const uint8_t *)"a", 1, &ct);
    assert_string_equal(f.rq.sealed_by, arn);
    cmk_buf_free(&ct);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           other);
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"a", 1, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "UnexpectedKeyId");
    assert_int_equal(f.rq.http_status, 200);
    assert_string_equal(f.rq.sealed_by, "");
    assert_null(ct.p);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":null},\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"a", 1, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "MalformedResponse");
    assert_null(ct.p);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"alias/unit-sealed\"},"
                     "\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"a", 1, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "MalformedResponse");
    /* a key ARN reference: only that very key */
    fx_open(&k, NULL);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           arn);
    assert_int_equal(k.ops->encrypt(k.st, &k.rq, (const uint8_t *)"a", 1, &ct),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(k.rq.provider_code, "UnexpectedKeyId");
    fx_close(&k);
    fx_close(&f);
    free(arn);
}

/* Decrypt names the key the blob names (open_with), checked before any
 * call; a blob that names none under an alias sends no KeyId, and the
 * answer's KeyId must then be a key the alias can name. */
static void test_decrypt_key_choice(void **state)
{
    char *arn = emu_create_key("alias/unit-open");
    char *other = emu_create_key(NULL);
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    json_t *calls;
    struct fx f, k;

    (void)state;
    fx_open(&f, "alias/unit-open");
    encrypt_ok(&f, (const uint8_t *)"o", 1, &ct);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    f.rq.open_with = arn;
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    cmk_secret_free(&pt);
    req_reset(&f); /* a blob that names no key */
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt), CMK_OK);
    cmk_secret_free(&pt);
    calls = emu_calls("Decrypt");
    assert_int_equal(json_array_size(calls), 2);
    assert_string_equal(call_field(calls, 0, "request_key_id"), arn);
    assert_null(call_field(calls, 1, "request_key_id"));
    json_decref(calls);
    /* the answer of a KeyId-less Decrypt names a key of another region */
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"arn:aws:kms:eu-west-1:"
                     "111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"},"
                     "\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "UnexpectedKeyId");
    assert_null(pt.p);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":null},\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "MalformedResponse");
    /* with a KeyId sent, the answer must name that key */
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           other);
    req_reset(&f);
    f.rq.open_with = arn;
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "UnexpectedKeyId");
    /* a key ARN reference takes no other key, before any call */
    fx_open(&k, other);
    emu_do("reset_calls", "{}");
    k.rq.open_with = arn;
    assert_int_equal(k.ops->decrypt(k.st, &k.rq, ct.p, ct.len, &pt),
                     CMK_E_KEY_NOT_FOUND);
    assert_string_equal(k.rq.provider_code, "SealedByOtherKey");
    req_reset(&k);
    k.rq.open_with = "alias/unit-open";
    assert_int_equal(k.ops->decrypt(k.st, &k.rq, ct.p, ct.len, &pt),
                     CMK_E_BAD_BLOB);
    assert_string_equal(k.rq.provider_code, "SealedByInvalid");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&k);
    cmk_buf_free(&ct);
    fx_close(&f);
    free(arn);
    free(other);
}

/* A tenant on an alias, through keys/cmk as the module uses it */
struct rot {
    struct fx f;
    struct cmk_cmk *c;
};

static void rot_open(struct rot *r)
{
    assert_int_equal(cmk_cmk_open(&r->f.cfg, 300, &r->c), CMK_OK);
}

/* Values the keys layer accepts for their purpose (keys/cmk.c
 * plaintext_fits): a DEK of 16 bytes, a KEK of 32. */
#define DEK_BEFORE "dek before 16 b."
#define DEK_AFTER "dek after, 16 b."
#define KEK_BEFORE "kek before, thirty-two bytes...."
_Static_assert(sizeof(DEK_BEFORE) == 17 && sizeof(DEK_AFTER) == 17 &&
                   sizeof(KEK_BEFORE) == 33,
               "plaintext sizes");

static void seal_for(struct rot *r, enum cmk_purpose p, const char *in,
                     struct cmk_buf *blob)
{
    struct cmk_req rq;

    memset(&rq, 0, sizeof(rq));
    assert_int_equal(
        cmk_cmk_seal_for(r->c, &rq, p, (const uint8_t *)in, strlen(in), blob),
        CMK_OK);
}

static cmk_err unseal_for(struct rot *r, enum cmk_purpose p,
                          const struct cmk_buf *blob, const char *want)
{
    struct cmk_secret out = {0};
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_unseal_for(r->c, &rq, p, blob->p, blob->len, &out);
    if (err == CMK_OK) {
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.p, want, out.len);
    }
    cmk_secret_free(&out);
    return err;
}

static void expect_sealed_by(const struct cmk_buf *blob, const char *arn)
{
    struct cmk_envelope_view v;

    assert_int_equal(cmk_envelope_parse(blob->p, blob->len, &v), CMK_OK);
    assert_int_equal(v.version, CMK_ENVELOPE_VERSION_SEALED_BY);
    assert_int_equal(v.key_id_len, strlen("aws:alias/unit-rot"));
    assert_memory_equal(v.key_id, "aws:alias/unit-rot", v.key_id_len);
    assert_int_equal(v.sealed_by_len, strlen(arn));
    assert_memory_equal(v.sealed_by, arn, v.sealed_by_len);
}

/* Decrypt's KeyId of every call logged since the last reset. */
static void expect_decrypt_keys(const char *k0, const char *k1)
{
    json_t *calls = emu_calls("Decrypt");

    assert_int_equal(json_array_size(calls), k1 != NULL ? 2 : 1);
    assert_string_equal(call_field(calls, 0, "request_key_id"), k0);
    if (k1 != NULL)
        assert_string_equal(call_field(calls, 1, "request_key_id"), k1);
    json_decref(calls);
}

/* AWS's manual rotation: the tenant's alias moves to a new key. Blobs and
 * the KEK sealed before still open after a restart (Decrypt names the old
 * key ARN they recorded), new ones are sealed by the new key. */
static void test_alias_rotation(void **state)
{
    char *old = emu_create_key("alias/unit-rot");
    char *new = emu_create_key(NULL);
    struct cmk_buf dek = {0}, kek = {0}, dek2 = {0};
    struct rot r;

    (void)state;
    fx_open_url(&r.f, emu_http_url(), "alias/unit-rot");
    rot_open(&r);
    seal_for(&r, CMK_PURPOSE_KEY, DEK_BEFORE, &dek);
    seal_for(&r, CMK_PURPOSE_KEK, KEK_BEFORE, &kek);
    expect_sealed_by(&dek, old);
    expect_sealed_by(&kek, old);
    cmk_cmk_close(r.c);
    emu_do("update_alias", "{\"alias\":\"alias/unit-rot\",\"key_id\":\"%s\"}",
           new);
    rot_open(&r); /* a restart */
    emu_do("reset_calls", "{}");
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &dek, DEK_BEFORE), CMK_OK);
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEK, &kek, KEK_BEFORE), CMK_OK);
    expect_decrypt_keys(old, old);
    seal_for(&r, CMK_PURPOSE_KEY, DEK_AFTER, &dek2);
    expect_sealed_by(&dek2, new);
    emu_do("reset_calls", "{}");
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &dek2, DEK_AFTER), CMK_OK);
    expect_decrypt_keys(new, NULL);
    cmk_cmk_close(r.c);
    /* the tenant moves on to key ARNs, the old key as a previous one: the
     * blob names no configured version by its key id, but by its key */
    r.f.cfg.key_ref = new;
    r.f.cfg.previous_key_refs = &old;
    r.f.cfg.n_previous = 1;
    rot_open(&r);
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &dek, DEK_BEFORE), CMK_OK);
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &dek2, DEK_AFTER), CMK_OK);
    r.f.cfg.n_previous = 0; /* without it: no version of this tenant */
    cmk_cmk_close(r.c);
    rot_open(&r);
    /* a fault of the blob (CMK_E_KEY_NOT_FOUND is the KMS's NotFound) */
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &dek, DEK_BEFORE),
                     CMK_E_BAD_BLOB);
    cmk_cmk_close(r.c);
    r.f.cfg.key_ref = r.f.arn;
    cmk_buf_free(&dek);
    cmk_buf_free(&dek2);
    cmk_buf_free(&kek);
    fx_close(&r.f);
    free(old);
    free(new);
}

/* A version-1 blob (written before blobs named their key) under an
 * alias: it names only "aws:alias/NAME", so Decrypt sends no KeyId and KMS
 * takes the key its ciphertext names; it opens after the alias moved. */
static void test_alias_rotation_v1_blob(void **state)
{
    char *old = emu_create_key("alias/unit-rot1");
    char *new = emu_create_key(NULL);
    struct cmk_buf blob = {0}, v1 = {0};
    struct cmk_envelope_view v;
    json_t *calls;
    struct rot r;

    (void)state;
    fx_open_url(&r.f, emu_http_url(), "alias/unit-rot1");
    rot_open(&r);
    seal_for(&r, CMK_PURPOSE_KEY, DEK_BEFORE, &blob);
    assert_int_equal(cmk_envelope_parse(blob.p, blob.len, &v), CMK_OK);
    assert_int_equal(cmk_envelope_encode(CMK_PROV_AWS, "aws:alias/unit-rot1",
                                         v.ct, v.ct_len, &v1),
                     CMK_OK);
    emu_do("update_alias", "{\"alias\":\"alias/unit-rot1\",\"key_id\":\"%s\"}",
           new);
    emu_do("reset_calls", "{}");
    assert_int_equal(unseal_for(&r, CMK_PURPOSE_KEY, &v1, DEK_BEFORE), CMK_OK);
    calls = emu_calls("Decrypt");
    assert_int_equal(json_array_size(calls), 1);
    assert_null(call_field(calls, 0, "request_key_id"));
    assert_string_equal(call_field(calls, 0, "key_id"), old + strlen(old) - 36);
    json_decref(calls);
    cmk_cmk_close(r.c);
    cmk_buf_free(&blob);
    cmk_buf_free(&v1);
    fx_close(&r.f);
    free(old);
    free(new);
}

/* ---- Connections and headers ---- */

/* A server that closes kept-alive connections with the request in flight
 * sees at most max_attempts requests per call: libcurl's own resend on a
 * new connection is one of them. */
static void test_close_counts_attempts(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, NULL);
    encrypt_ok(&f, (const uint8_t *)"c", 1, &ct); /* a kept-alive conn */
    cmk_buf_free(&ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"close_rate\":1,\"for_ops\":[\"Encrypt\"]}");
    req_reset(&f);
    assert_int_equal(f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"c", 1, &ct),
                     CMK_E_NETWORK);
    emu_do("clear_faults", "{}");
    assert_string_equal(f.rq.provider_code, "NetworkError");
    assert_int_equal(emu_count("Encrypt"), 3); /* max_attempts */
    assert_int_equal(emu_count_error("Encrypt", "fault:close"), 3);
    /* one closed, the next attempt answered: two requests */
    encrypt_ok(&f, (const uint8_t *)"c", 1, &ct);
    cmk_buf_free(&ct);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"close_rate\":1,\"count\":1}");
    encrypt_ok(&f, (const uint8_t *)"c", 1, &ct);
    assert_int_equal(emu_count("Encrypt"), 2);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* Every KMS request names the module and its version. */
static void test_user_agent(void **state)
{
    struct cmk_buf ct = {0};
    json_t *calls;
    char want[128];
    struct fx f;

    (void)state;
    snprintf(want, sizeof(want), "cmk-pkcs11/%s os/linux lang/c md/curl#%s",
             PACKAGE_VERSION, curl_version_info(CURLVERSION_NOW)->version);
    fx_open(&f, NULL);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, (const uint8_t *)"u", 1, &ct);
    calls = emu_calls("Encrypt");
    assert_non_null(call_field(calls, 0, "user_agent"));
    assert_string_equal(call_field(calls, 0, "user_agent"), want);
    json_decref(calls);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* ---- Setup ---- */

static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
    emu_do("clock_offset", "{\"seconds\":0}");
    return 0;
}

static int group_setup(void **state)
{
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_CONFIG_FILE",
                                       "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_WEB_IDENTITY_TOKEN_FILE",
                                       "AWS_ROLE_ARN",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       NULL};
    size_t i;

    (void)state;
    for (i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
    setenv("HOME", emu_tmp(), 1); /* no ~/.aws of the user running us */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    if (cmk_mech_init() != CKR_OK) /* as C_Initialize does */
        return -1;
    snprintf(creds_file, sizeof(creds_file), "%s/aws-creds.json", emu_tmp());
    emu_write_file(creds_file, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"}",
                   AKID, SECRET);
    emu_add_creds(AKID, SECRET);
    return 0;
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
        cmocka_unit_test_setup(test_alias_and_context_order, setup),
        cmocka_unit_test_setup(test_wrong_context, setup),
        cmocka_unit_test_setup(test_incorrect_key, setup),
        cmocka_unit_test_setup(test_reencrypt_and_generate, setup),
        cmocka_unit_test_setup(test_reseal_reencrypt, setup),
        cmocka_unit_test_setup(test_disabled_key, setup),
        cmocka_unit_test_setup(test_deleted_key, setup),
        cmocka_unit_test_setup(test_access_denied, setup),
        cmocka_unit_test_setup(test_limits_before_call, setup),
        cmocka_unit_test_setup(test_init_refuses, setup),
        cmocka_unit_test_setup(test_throttling_recovered, setup),
        cmocka_unit_test_setup(test_5xx_exhausted, setup),
        cmocka_unit_test_setup(test_reset_retried, setup),
        cmocka_unit_test_setup(test_malformed_answer, setup),
        cmocka_unit_test_setup(test_deadline, setup),
        cmocka_unit_test_setup(test_clock_skew, setup),
        cmocka_unit_test_setup(test_bad_secret, setup),
        cmocka_unit_test_setup(test_expired_token_refreshed, setup),
        cmocka_unit_test_setup(test_no_credentials, setup),
        cmocka_unit_test_setup(test_https, setup),
        cmocka_unit_test_setup(test_threads, setup),
        cmocka_unit_test_setup(test_stall_does_not_block, setup),
        cmocka_unit_test_setup(test_refused_answer_keeps_request_id, setup),
        cmocka_unit_test_setup(test_refused_answer_audit, setup),
        cmocka_unit_test_setup(test_arn_fits, setup),
        cmocka_unit_test_setup(test_encrypt_names_key_arn, setup),
        cmocka_unit_test_setup(test_decrypt_key_choice, setup),
        cmocka_unit_test_setup(test_alias_rotation, setup),
        cmocka_unit_test_setup(test_alias_rotation_v1_blob, setup),
        cmocka_unit_test_setup(test_close_counts_attempts, setup),
        cmocka_unit_test_setup(test_user_agent, setup),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_aws.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
