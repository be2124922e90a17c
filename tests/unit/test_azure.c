/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the azure provider against the KMS emulator's Key Vault and
 * Managed HSM over TLS (run by tests/unit/emu_azure.sh): the challenge
 * (first request without token and body; another resource refused before
 * any token), round trips of every algorithm with the envelope's bytes,
 * the local RSA wrap (no wrapkey call), sealed_by naming the full kid, a
 * new version picked up once key_info_ttl passed, another tenant's
 * context and flipped bytes refused, every row of the error table with
 * its exact provider code, the retry headers waited on a fake clock, a
 * token renewed after a 401 (and a second 401 refused), the request id,
 * health, the ulDeviceError numbers, four threads through a key info
 * that falls due, and the audit record of a refusal through keys/cmk;
 * key identifiers and challenges parsed. Tokens come from a test
 * resolver that mints them with the emulator's azure_token.
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

#include "audit/audit.h"
#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "tests/lib/kms_audit.h"
#include "tests/lib/retry_clock.h"
#include "keys/cmk.h"
#include "mech/mech.h"
#include "net/azauth.h"
#include "providers/azure_cfg.h"
#include "providers/azure_int.h"
#include "providers/provider.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define APP "app-1"
#define KV_RESOURCE "https://vault.azure.net"
#define HSM_RESOURCE "https://managedhsm.azure.net"
/* The payload (providers/azure.c): form, the version (16 bytes), then
 * form 1's alg, u16 len(W) and W. */
#define VER_AT 1
#define ALG_AT 17
#define W_AT 20

/* ---- Tokens: minted by the emulator for the pair the pool asks ---- */

static unsigned tokens_minted;

static cmk_err test_resolver(const struct cmk_cred_env *env,
                             struct cmk_cred_status *st, struct cmk_creds **out)
{
    const struct cmk_azauth_ask *ask = env->arg;
    json_t *r;
    cmk_err err;

    memset(st, 0, sizeof(*st));
    r = emu_ctl("azure_token",
                "{\"principal\":\"%s\",\"resource\":\"%s\","
                "\"tenant\":\"%s\"}",
                APP, ask->resource, ask->tenant);
    tokens_minted++;
    err = cmk_creds_new(
        "azure", json_string_value(json_object_get(r, "access_token")), NULL,
        (int64_t)time(NULL) +
            json_integer_value(json_object_get(r, "expires_in")),
        "test", out);
    json_decref(r);
    return err;
}

/* ---- Fixture ---- */

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_azure_cfg az;
    struct cmk_http_cfg http;
    struct cmk_ctx_pair ctx[2];
    char key[256];
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_req rq;
    struct test_retry_clock fc;
};

static unsigned key_seq;
static char kv_base[128];  /* https://127.0.0.1:PORT */
static char hsm_base[128]; /* https://localhost:PORT */

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->cfg.key_ref;
    f->rq.ctx = f->ctx;
    f->rq.n_ctx = 2;
}

/* A new key in vault ("kv" or "hsm") of kty and size, with key_ops
 * (JSON array text, NULL: the default); its kid into kid. */
static void new_key(const char *vault, const char *kty, int size,
                    const char *ops, char *kid, size_t n, char *name,
                    size_t name_n)
{
    char nm[32];
    json_t *r;

    snprintf(nm, sizeof(nm), "k%u", ++key_seq);
    if (ops != NULL)
        r = emu_ctl("azure_create_key",
                    "{\"vault\":\"%s\",\"name\":\"%s\",\"kty\":\"%s\","
                    "\"key_size\":%d,\"key_ops\":%s}",
                    vault, nm, kty, size, ops);
    else
        r = emu_ctl("azure_create_key",
                    "{\"vault\":\"%s\",\"name\":\"%s\",\"kty\":\"%s\","
                    "\"key_size\":%d}",
                    vault, nm, kty, size);
    snprintf(
        kid, n, "%s",
        json_string_value(json_object_get(json_object_get(r, "key"), "kid")));
    if (name != NULL)
        snprintf(name, name_n, "%s", nm);
    json_decref(r);
    assert_true(strlen(kid) > 40);
}

/* Tenant "t1" on reference ref; the challenge's resource accepted when
 * resource is not NULL. fx_start makes the instance. */
static void fx_setup(struct fx *f, const char *ref, const char *resource)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_find("azure");
    assert_non_null(f->ops);
    snprintf(f->key, sizeof(f->key), "%s", ref);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->http.ca_file = MUT(emu_ca());
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("azure");
    f->cfg.key_ref = f->key;
    f->cfg.http = &f->http;
    f->az.local_wrap = true;
    f->az.ttl = 60;
    f->az.resource = MUT(resource);
    f->cfg.provider_cfg = &f->az;
    f->ctx[0].key = MUT("tenant");
    f->ctx[0].value = MUT("t1");
    f->ctx[1].key = MUT("app");
    f->ctx[1].value = MUT("billing");
}

static void fx_start(struct fx *f)
{
    struct azure_state *st;

    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
    st = f->st;
    cmk_azauth_set_resolver(st->auth, test_resolver);
    test_retry_clock_init(&f->fc, 0.5);
    st->clock = &f->fc.clk;
    req_reset(f);
}

/* A Key Vault tenant on a new RSA key of bits (kid into kid). */
static void fx_open_kv(struct fx *f, int bits, char *kid, size_t n)
{
    new_key("kv", "RSA", bits, NULL, kid, n, NULL, 0);
    fx_setup(f, kid, KV_RESOURCE);
    fx_start(f);
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
}

/* fx_open_kv on RSA-2048, and pt sealed into ct. */
static void fx_open_sealed(struct fx *f, char *kid, size_t n, const char *pt,
                           struct cmk_buf *ct)
{
    fx_open_kv(f, 2048, kid, n);
    encrypt_ok(f, pt, ct);
}

static void decrypt_is(struct fx *f, const struct cmk_buf *ct,
                       const char *open_with, const char *pt)
{
    struct cmk_secret out = {0};

    req_reset(f);
    f->rq.open_with = open_with;
    assert_int_equal(f->ops->decrypt(f->st, &f->rq, ct->p, ct->len, &out),
                     CMK_OK);
    assert_int_equal(out.len, strlen(pt));
    assert_memory_equal(out.p, pt, out.len);
    cmk_secret_free(&out);
}

static cmk_err try_encrypt(struct fx *f)
{
    struct cmk_buf ct = {0};
    cmk_err err;

    req_reset(f);
    err = f->ops->encrypt(f->st, &f->rq, (const uint8_t *)"k", 1, &ct);
    if (err != CMK_OK)
        assert_null(ct.p);
    cmk_buf_free(&ct);
    return err;
}

static cmk_err try_decrypt(struct fx *f, const struct cmk_buf *ct,
                           const char *open_with)
{
    struct cmk_secret pt = {0};
    cmk_err err;

    req_reset(f);
    f->rq.open_with = open_with;
    err = f->ops->decrypt(f->st, &f->rq, ct->p, ct->len, &pt);
    if (err != CMK_OK)
        assert_null(pt.p);
    cmk_secret_free(&pt);
    return err;
}

/* A failed call: its error, HTTP status, code, and how many requests of
 * op reached the emulator. */
static void expect_failed(const struct fx *f, cmk_err got, cmk_err want,
                          long http, const char *code, const char *op,
                          size_t calls)
{
    assert_int_equal(got, want);
    assert_int_equal(f->rq.http_status, http);
    assert_string_equal(f->rq.provider_code, code);
    if (op != NULL)
        assert_int_equal(emu_count(op), calls);
}

/* Call i of op in the log since reset_calls (decref). */
static json_t *logged(const char *op, size_t i)
{
    json_t *r = emu_ctl("calls", "{\"op\":\"%s\"}", op), *c;

    c = json_array_get(json_object_get(r, "calls"), i);
    assert_non_null(c);
    json_incref(c);
    json_decref(r);
    return c;
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));

    return s != NULL ? s : "";
}

/* ---- The challenge ---- */

/* The instance's first request has no Authorization and no body; the
 * same request then goes with a token for the challenge's pair. */
static void test_challenge(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    json_t *c;
    struct fx f;

    (void)state;
    fx_open_kv(&f, 2048, kid, sizeof(kid));
    f.az.local_wrap = false;
    f.az.alg = AZ_ALG_RSA_OAEP_256;
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    encrypt_ok(&f, "hello", &ct);
    assert_int_equal(emu_count("AZ.WrapKey"), 2);
    assert_int_equal(emu_count("AZ.GetKey"), 0); /* versioned, configured */
    c = logged("AZ.WrapKey", 0);
    assert_int_equal(json_integer_value(json_object_get(c, "status")), 401);
    assert_true(json_is_null(json_object_get(c, "auth_scheme")));
    assert_string_equal(str_of(c, "content_type"), "");
    assert_null(json_object_get(c, "body_members"));
    json_decref(c);
    c = logged("AZ.WrapKey", 1);
    assert_int_equal(json_integer_value(json_object_get(c, "status")), 200);
    assert_string_equal(str_of(c, "auth_scheme"), "Bearer");
    assert_string_equal(str_of(c, "principal"), APP);
    assert_string_equal(str_of(c, "alg"), "RSA-OAEP-256");
    assert_string_equal(str_of(c, "api_version"), "7.6");
    assert_string_equal(str_of(json_object_get(c, "member_encodings"), "value"),
                        "base64url");
    json_decref(c);
    assert_int_equal(tokens_minted, 1);
    /* the same client request id on both, a fresh one on the next call */
    {
        json_t *a = logged("AZ.WrapKey", 0), *b = logged("AZ.WrapKey", 1);

        assert_string_equal(str_of(a, "x_ms_client_request_id"),
                            str_of(b, "x_ms_client_request_id"));
        assert_int_equal(strlen(str_of(a, "x_ms_client_request_id")), 36);
        assert_int_equal(str_of(a, "x_ms_client_request_id")[14], '4');
        json_decref(a);
        json_decref(b);
    }
    /* the pair is known now: no more bare requests */
    decrypt_is(&f, &ct, kid, "hello");
    assert_int_equal(emu_count("AZ.UnwrapKey"), 1);
    assert_int_equal(tokens_minted, 1);
    assert_string_equal(f.rq.sealed_by, "");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A challenge naming a resource that is not the vault's domain (and not
 * configured) is refused before any token is asked for. */
static void test_challenge_mismatch(void **state)
{
    char kid[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), NULL, 0);
    fx_setup(&f, kid, NULL);
    fx_start(&f);
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 401,
                  "ChallengeResourceMismatch", "AZ.GetKey", 1);
    assert_int_equal(tokens_minted, 0);
    assert_int_equal(emu_count(NULL), 1);
    fx_close(&f);
    /* another configured resource does not help either */
    fx_setup(&f, kid, HSM_RESOURCE);
    fx_start(&f);
    tokens_minted = 0;
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 401,
                  "ChallengeResourceMismatch", NULL, 0);
    assert_int_equal(tokens_minted, 0);
    fx_close(&f);
}

/* ---- Round trips ---- */

/* The payload names kid's version (its 32 hex digits as 16 bytes). */
static void version_is(const struct cmk_buf *ct, const char *kid)
{
    char hex[33];
    size_t i;

    assert_true(ct->len > VER_AT + 16 && strlen(kid) > 32);
    for (i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", ct->p[VER_AT + i]);
    assert_string_equal(hex, kid + strlen(kid) - 32);
}

static void expect_form1(const struct cmk_buf *ct, enum cmk_azure_alg alg,
                         size_t w_len, size_t pt_len)
{
    assert_int_equal(ct->len, W_AT + w_len + 12 + pt_len + 16);
    assert_int_equal(ct->p[0], 0x01);
    assert_int_equal(ct->p[ALG_AT], alg);
    assert_int_equal((ct->p[ALG_AT + 1] << 8) | ct->p[ALG_AT + 2], w_len);
}

/* RSA-4096, local wrap: GET key and unwrapkey at the vault, no wrapkey;
 * sealed_by is the full kid. */
static void test_rsa4096_local_wrap(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_kv(&f, 4096, kid, sizeof(kid));
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "the data key", &ct);
    assert_string_equal(f.rq.sealed_by, kid);
    expect_form1(&ct, AZ_ALG_RSA_OAEP_256, 512, 12);
    version_is(&ct, kid);
    decrypt_is(&f, &ct, kid, "the data key");
    assert_int_equal(emu_count("AZ.WrapKey"), 0);
    assert_int_equal(emu_count("AZ.UnwrapKey"), 1);
    assert_int_equal(emu_count("AZ.GetKey"), 2); /* challenge + GET */
    /* the key info is cached: one more encrypt, no GET */
    cmk_buf_free(&ct);
    encrypt_ok(&f, "again", &ct);
    assert_int_equal(emu_count("AZ.GetKey"), 2);
    assert_int_equal(emu_count(NULL), 3);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* RSA-3072 with RSA-OAEP (SHA-1): wrapped here (the vault opens it), or
 * by the vault without local_wrap. */
static void test_rsa_oaep(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    json_t *c;
    struct fx f;
    int local;

    (void)state;
    new_key("kv", "RSA", 3072, NULL, kid, sizeof(kid), NULL, 0);
    for (local = 1; local >= 0; local--) {
        fx_setup(&f, kid, KV_RESOURCE);
        f.az.alg = AZ_ALG_RSA_OAEP;
        f.az.local_wrap = local;
        fx_start(&f);
        emu_do("reset_calls", "{}");
        encrypt_ok(&f, "x", &ct);
        expect_form1(&ct, AZ_ALG_RSA_OAEP, 384, 1);
        assert_string_equal(f.rq.sealed_by, kid);
        assert_int_equal(emu_count("AZ.WrapKey"), local ? 0 : 2);
        assert_int_equal(emu_count("AZ.GetKey"), local ? 2 : 0);
        decrypt_is(&f, &ct, kid, "x");
        c = logged("AZ.UnwrapKey", 0);
        assert_string_equal(str_of(c, "alg"), "RSA-OAEP");
        assert_string_equal(str_of(c, "key_id"), kid);
        json_decref(c);
        cmk_buf_free(&ct);
        fx_close(&f);
    }
}

/* Managed HSM, oct-HSM 256, default algorithm A256GCM: the context as
 * aad; form 2. */
static void test_hsm_gcm(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    json_t *c;
    struct fx f;

    (void)state;
    new_key("hsm", "oct-HSM", 256, NULL, kid, sizeof(kid), NULL, 0);
    assert_int_equal(strncmp(kid, hsm_base, strlen(hsm_base)), 0);
    fx_setup(&f, kid, HSM_RESOURCE);
    fx_start(&f);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "gcm data", &ct);
    assert_int_equal(ct.len, 1 + 16 + 12 + 16 + 8);
    assert_int_equal(ct.p[0], 0x02);
    version_is(&ct, kid);
    assert_string_equal(f.rq.sealed_by, kid);
    decrypt_is(&f, &ct, kid, "gcm data");
    c = logged("AZ.Encrypt", 0);
    assert_string_equal(str_of(c, "alg"), "A256GCM");
    assert_string_equal(str_of(json_object_get(c, "member_encodings"), "aad"),
                        "base64url");
    json_decref(c);
    c = logged("AZ.Decrypt", 0);
    assert_string_equal(str_of(json_object_get(c, "member_encodings"), "iv"),
                        "base64url");
    assert_string_equal(str_of(json_object_get(c, "member_encodings"), "tag"),
                        "base64url");
    assert_string_equal(str_of(json_object_get(c, "member_encodings"), "aad"),
                        "base64url");
    json_decref(c);
    /* over 16 KiB: refused before any call */
    {
        static uint8_t big[AZ_MAX_PT_GCM + 1];
        struct cmk_buf o = {0};

        emu_do("reset_calls", "{}");
        req_reset(&f);
        assert_int_equal(f.ops->encrypt(f.st, &f.rq, big, sizeof(big), &o),
                         CMK_E_TOO_LARGE);
        assert_string_equal(f.rq.provider_code, "TooLarge");
        assert_int_equal(emu_count(NULL), 0);
    }
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A256KW and CKM_AES_KEY_WRAP_PAD on an oct-HSM key. */
static void test_hsm_key_wrap(void **state)
{
    static const struct {
        enum cmk_azure_alg alg;
        const char *name;
        size_t w_len;
    } t[] = {{AZ_ALG_A256KW, "A256KW", 40},
             {AZ_ALG_KWP, "CKM_AES_KEY_WRAP_PAD", 40}};
    struct cmk_buf ct = {0};
    char kid[256];
    json_t *c;
    struct fx f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        new_key("hsm", "oct-HSM", 256, NULL, kid, sizeof(kid), NULL, 0);
        fx_setup(&f, kid, HSM_RESOURCE);
        f.az.alg = t[i].alg;
        fx_start(&f);
        emu_do("reset_calls", "{}");
        encrypt_ok(&f, "kw", &ct);
        expect_form1(&ct, t[i].alg, t[i].w_len, 2);
        decrypt_is(&f, &ct, kid, "kw");
        c = logged("AZ.WrapKey", 1);
        assert_string_equal(str_of(c, "alg"), t[i].name);
        json_decref(c);
        assert_int_equal(emu_count("AZ.GetKey"), 0);
        cmk_buf_free(&ct);
        fx_close(&f);
    }
}

/* ---- Binding and integrity ---- */

/* Another tenant's context: the vault gives K back, the GCM check
 * fails. */
static void test_other_tenant(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "secret", &ct);
    f.ctx[0].value = MUT("t2");
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_CIPHERTEXT, 200,
                  "ContextMismatch", "AZ.UnwrapKey", 1);
    f.ctx[0].value = MUT("t1");
    decrypt_is(&f, &ct, kid, "secret");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* One flipped byte in W (the vault refuses it), in the IV, the
 * ciphertext or the tag (the GCM check). */
static void test_flipped_bytes(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    size_t at[4];
    struct fx f;
    size_t i;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "secret", &ct);
    at[0] = W_AT + 100;      /* W */
    at[1] = W_AT + 256 + 3;  /* IV */
    at[2] = W_AT + 256 + 12; /* ciphertext */
    at[3] = ct.len - 1;      /* tag */
    for (i = 0; i < 4; i++) {
        ct.p[at[i]] ^= 0x40;
        emu_do("reset_calls", "{}");
        if (i == 0)
            expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_CIPHERTEXT,
                          400, "BadParameter", "AZ.UnwrapKey", 1);
        else
            expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_CIPHERTEXT,
                          200, "ContextMismatch", "AZ.UnwrapKey", 1);
        ct.p[at[i]] ^= 0x40;
    }
    /* malformed envelopes: no call */
    emu_do("reset_calls", "{}");
    ct.p[0] = 0x03;
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_BLOB, 0,
                  "BlobMalformed", NULL, 0);
    ct.p[0] = 0x01;
    ct.p[ALG_AT + 1] = 0x10; /* len(W) past the end */
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_BLOB, 0,
                  "BlobMalformed", NULL, 0);
    ct.p[ALG_AT + 1] = 0x01;
    ct.p[ALG_AT] = 0x05; /* not a wrap algorithm */
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_BLOB, 0,
                  "BlobMalformed", NULL, 0);
    ct.p[ALG_AT] = 0x01;
    /* the payload's version is not the one the envelope names */
    ct.p[VER_AT] ^= 0x01;
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_BLOB, 0,
                  "SealedByMismatch", NULL, 0);
    ct.p[VER_AT] ^= 0x01;
    assert_int_equal(emu_count(NULL), 0);
    decrypt_is(&f, &ct, kid, "secret");
    /* an envelope that names no key: the version the payload names */
    decrypt_is(&f, &ct, NULL, "secret");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A blob that names another key (or nothing sensible) is not sent. */
static void test_sealed_by_other_key(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256], other[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, other, sizeof(other), NULL, 0);
    fx_open_sealed(&f, kid, sizeof(kid), "secret", &ct);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &ct, other), CMK_E_KEY_NOT_FOUND, 0,
                  "SealedByOtherKey", NULL, 0);
    expect_failed(&f, try_decrypt(&f, &ct, "nonsense"), CMK_E_BAD_BLOB, 0,
                  "SealedByInvalid", NULL, 0);
    assert_int_equal(emu_count(NULL), 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A reference without version: encrypt names the current version; after
 * a new version, once key_info_ttl has passed, the new one; old blobs
 * still open. */
static void test_new_version(void **state)
{
    struct cmk_buf ct1 = {0}, ct2 = {0}, ct3 = {0};
    char kid[256], name[32], ref[256], kid1[256], kid3[256];
    struct azure_state *st;
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), name, sizeof(name));
    snprintf(ref, sizeof(ref), "%s/keys/%s", kv_base, name);
    fx_setup(&f, ref, KV_RESOURCE);
    f.az.ttl = 5;
    fx_start(&f);
    st = f.st;
    encrypt_ok(&f, "one", &ct1);
    assert_string_equal(f.rq.sealed_by, kid);
    snprintf(kid1, sizeof(kid1), "%s", f.rq.sealed_by);
    emu_do("azure_new_version", "{\"vault\":\"kv\",\"name\":\"%s\"}", name);
    encrypt_ok(&f, "two", &ct2);
    assert_string_equal(f.rq.sealed_by, kid1); /* cached info */
    f.fc.ahead += 6 * 1000000;                 /* key_info_ttl passed */
    encrypt_ok(&f, "three", &ct3);
    assert_string_not_equal(f.rq.sealed_by, kid1);
    snprintf(kid3, sizeof(kid3), "%s", f.rq.sealed_by);
    assert_true(cmk_azure_is_version_of(kid3, &st->ref));
    decrypt_is(&f, &ct1, kid1, "one");
    decrypt_is(&f, &ct2, kid1, "two");
    decrypt_is(&f, &ct3, kid3, "three");
    /* no version configured and none named by an envelope (the audit
     * file keeps only the payload): each payload names its own */
    version_is(&ct1, kid1);
    version_is(&ct3, kid3);
    decrypt_is(&f, &ct1, NULL, "one");
    decrypt_is(&f, &ct3, NULL, "three");
    cmk_buf_free(&ct1);
    cmk_buf_free(&ct2);
    cmk_buf_free(&ct3);
    fx_close(&f);
}

/* ---- The error table ---- */

static void set_attrs(const char *name, const char *attrs)
{
    emu_do("azure_set_attributes",
           "{\"vault\":\"kv\",\"name\":\"%s\",\"attributes\":%s}", name, attrs);
}

/* A disabled key: GET refused (403 KeyDisabled), no wrap; unwrap too. */
static void test_disabled(void **state)
{
    struct cmk_buf ct = {0}, ct2 = {0};
    char kid[256], name[32];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), name, sizeof(name));
    fx_setup(&f, kid, KV_RESOURCE);
    fx_start(&f);
    encrypt_ok(&f, "x", &ct);
    set_attrs(name, "{\"enabled\":false}");
    f.fc.ahead += 61 * 1000000; /* the cached info is due */
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_encrypt(&f), CMK_E_KEY_DISABLED, 403, "KeyDisabled",
                  "AZ.GetKey", 1);
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_KEY_DISABLED, 403,
                  "KeyDisabled", "AZ.UnwrapKey", 1);
    assert_int_equal(f.ops->health_reason("KeyDisabled"), CMK_HEALTH_DISABLED);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "KeyDisabled");
    set_attrs(name, "{\"enabled\":true}");
    /* A refused unwrap drops the cached key info: with the info fresh, a
     * local wrap after the vault refused the key asks the vault again
     * rather than wrapping under what it knew before. */
    encrypt_ok(&f, "y", &ct2);
    set_attrs(name, "{\"enabled\":false}");
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_KEY_DISABLED, 403,
                  "KeyDisabled", "AZ.UnwrapKey", 1);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_encrypt(&f), CMK_E_KEY_DISABLED, 403, "KeyDisabled",
                  "AZ.GetKey", 1);
    set_attrs(name, "{\"enabled\":true}");
    cmk_buf_free(&ct);
    cmk_buf_free(&ct2);
    fx_close(&f);
}

/* Expired and not yet valid: the wrap refused locally (local_wrap) and
 * by the vault (remote), the unwrap of an older blob still works. */
static void test_expired_and_not_yet_valid(void **state)
{
    static const struct {
        const char *attrs;
        const char *code;
    } t[] = {{"{\"exp\":1000000000}", "KeyExpired"},
             {"{\"nbf\":4000000000}", "KeyNotYetValid"}};
    struct cmk_buf ct = {0};
    char kid[256], name[32];
    struct fx f;
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), name, sizeof(name));
        fx_setup(&f, kid, KV_RESOURCE);
        fx_start(&f);
        encrypt_ok(&f, "old", &ct);
        set_attrs(name, t[i].attrs);
        f.fc.ahead += 61 * 1000000;
        emu_do("reset_calls", "{}");
        expect_failed(&f, try_encrypt(&f), CMK_E_KEY_DISABLED, 0, t[i].code,
                      "AZ.WrapKey", 0);
        assert_int_equal(emu_count("AZ.GetKey"), 1);
        f.az.local_wrap = false;
        f.az.alg = AZ_ALG_RSA_OAEP_256;
        expect_failed(&f, try_encrypt(&f), CMK_E_KEY_DISABLED, 403, t[i].code,
                      "AZ.WrapKey", 1);
        decrypt_is(&f, &ct, kid, "old");
        assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_DISABLED);
        assert_string_equal(f.rq.provider_code, t[i].code);
        assert_int_equal(f.ops->health_reason(t[i].code),
                         CMK_HEALTH_KEY_UNAVAILABLE);
        cmk_buf_free(&ct);
        fx_close(&f);
    }
}

/* key_ops without wrapKey: refused locally, and by the vault. */
static void test_key_ops(void **state)
{
    char kid[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, "[\"unwrapKey\",\"decrypt\"]", kid, sizeof(kid),
            NULL, 0);
    fx_setup(&f, kid, KV_RESOURCE);
    fx_start(&f);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 0,
                  "KeyOperationForbidden", "AZ.WrapKey", 0);
    f.az.local_wrap = false;
    f.az.alg = AZ_ALG_RSA_OAEP_256;
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 403,
                  "KeyOperationForbidden", "AZ.WrapKey", 1);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "KeyOperationsMissing");
    fx_close(&f);
}

/* RBAC removed: 403 ForbiddenByRbac, not retried, no new token. */
static void test_rbac_removed(void **state)
{
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_kv(&f, 2048, kid, sizeof(kid));
    assert_int_equal(try_encrypt(&f), CMK_OK);
    emu_do("azure_grant", "{\"principal\":\"%s\",\"grants\":{}}", APP);
    f.fc.ahead += 61 * 1000000;
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 403,
                  "ForbiddenByRbac", "AZ.GetKey", 1);
    assert_int_equal(tokens_minted, 0);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "ForbiddenByRbac");
    emu_do("azure_grant", "{\"principal\":\"%s\",\"grants\":{\"*\":[\"*\"]}}",
           APP);
    fx_close(&f);
}

/* Unknown key, unknown version, unknown vault: 404s. */
static void test_not_found(void **state)
{
    static const char *const vers = "0123456789abcdef0123456789abcdef";
    char ref[256], kid[256], name[32];
    struct fx f;

    (void)state;
    snprintf(ref, sizeof(ref), "%s/keys/nosuchkey", kv_base);
    fx_setup(&f, ref, KV_RESOURCE);
    fx_start(&f);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_encrypt(&f), CMK_E_KEY_NOT_FOUND, 404, "KeyNotFound",
                  "AZ.GetKey", 2);
    fx_close(&f);
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), name, sizeof(name));
    snprintf(ref, sizeof(ref), "%s/keys/%s/%s", kv_base, name, vers);
    fx_setup(&f, ref, KV_RESOURCE);
    fx_start(&f);
    expect_failed(&f, try_encrypt(&f), CMK_E_KEY_NOT_FOUND, 404, "KeyNotFound",
                  NULL, 0);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_KEY_NOT_FOUND);
    fx_close(&f);
    snprintf(ref, sizeof(ref), "%s/vaults/nope/keys/%s", kv_base, name);
    fx_setup(&f, ref, KV_RESOURCE);
    fx_start(&f);
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    expect_failed(&f, try_encrypt(&f), CMK_E_KEY_NOT_FOUND, 404,
                  "VaultNotFound", "AZ.GetKey", 1);
    assert_int_equal(tokens_minted, 0);
    fx_close(&f);
}

/* 500 and 503 retried until attempts run out; 502's HTML page too. */
static void test_5xx_exhausted(void **state)
{
    static const struct {
        int status;
        const char *code;
    } t[] = {{500, "InternalServerError"},
             {503, "ServiceUnavailable"},
             {502, "HTTP502"}};
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;
    size_t i;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        test_retry_clock_init(&f.fc, 0.5);
        emu_do("reset_calls", "{}");
        emu_do("faults",
               "{\"error_5xx_rate\":1,\"error_5xx_status\":%d,"
               "\"retry_after_ms\":10,\"for_ops\":[\"AZ.UnwrapKey\"]}",
               t[i].status);
        expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_KMS_INTERNAL,
                      t[i].status, t[i].code, "AZ.UnwrapKey", 3);
        emu_do("clear_faults", "{}");
        assert_int_equal(f.fc.sleeps, 2);
        assert_int_equal(f.fc.slept, 50000 + 100000);
        assert_true(f.rq.request_id[0] != '\0');
    }
    decrypt_is(&f, &ct, kid, "first");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* 429 with each retry header: the wait it asks, when longer than the
 * backoff; a Retry-After past the deadline fails at once. */
static void test_throttle_headers(void **state)
{
    static const char *const hdrs[] = {"Retry-After", "retry-after-ms",
                                       "x-ms-retry-after-ms"};
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;
    size_t i;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    for (i = 0; i < 3; i++) {
        test_retry_clock_init(&f.fc, 0.5);
        emu_do("reset_calls", "{}");
        emu_do("faults",
               "{\"throttle_rate\":1,\"count\":1,\"retry_after_ms\":2500,"
               "\"retry_after_headers\":[\"%s\"],"
               "\"for_ops\":[\"AZ.UnwrapKey\"]}",
               hdrs[i]);
        decrypt_is(&f, &ct, kid, "first");
        assert_int_equal(emu_count("AZ.UnwrapKey"), 2);
        assert_int_equal(emu_count_error("AZ.UnwrapKey", "fault:throttle"), 1);
        assert_int_equal(f.fc.sleeps, 1);
        /* Retry-After is whole seconds, rounded up */
        assert_int_equal(f.fc.first, i == 0 ? 3000000 : 2500000);
    }
    /* without a header: the backoff */
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("faults", "{\"throttle_rate\":1,\"count\":1,"
                     "\"retry_after_ms\":0,"
                     "\"for_ops\":[\"AZ.UnwrapKey\"]}");
    decrypt_is(&f, &ct, kid, "first");
    assert_int_equal(f.fc.first, 50000);
    /* longer than the deadline (8 s): at once */
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"throttle_rate\":1,\"retry_after_ms\":30000,"
                     "\"for_ops\":[\"AZ.UnwrapKey\"]}");
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_THROTTLED, 429,
                  "Throttled", "AZ.UnwrapKey", 1);
    emu_do("clear_faults", "{}");
    assert_int_equal(f.fc.sleeps, 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A reset is retried; TLS with the wrong CA is not. */
static void test_transport(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"reset_rate\":1,\"count\":1,\"for_ops\":[\"AZ.UnwrapKey\"]}");
    decrypt_is(&f, &ct, kid, "first");
    assert_int_equal(emu_count("AZ.UnwrapKey"), 2);
    emu_do("faults", "{\"reset_rate\":1,\"for_ops\":[\"AZ.UnwrapKey\"]}");
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_NETWORK, 0,
                  "NetworkError", NULL, 0);
    emu_do("clear_faults", "{}");
    fx_close(&f);
    fx_setup(&f, kid, KV_RESOURCE);
    f.http.ca_file = MUT(emu_wrong_ca());
    fx_start(&f);
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_NETWORK, 0, "TlsError",
                  NULL, 0);
    assert_int_equal(f.fc.sleeps, 0);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A 200 naming another key's kid, and a malformed 200. */
static void test_bad_answers(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256], other[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, other, sizeof(other), NULL, 0);
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"answer_override\":{\"kid\":\"%s\"},"
           "\"for_ops\":[\"AZ.UnwrapKey\"]}",
           other);
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_RESPONSE, 200,
                  "UnexpectedKeyId", "AZ.UnwrapKey", 1);
    emu_do("faults", "{\"malformed_rate\":1,\"for_ops\":[\"AZ.UnwrapKey\"]}");
    expect_failed(&f, try_decrypt(&f, &ct, kid), CMK_E_BAD_RESPONSE, 200,
                  "MalformedResponse", "AZ.UnwrapKey", 2);
    emu_do("faults",
           "{\"answer_override\":{\"key\":{\"kid\":\"%s\",\"kty\":\"RSA\"}},"
           "\"for_ops\":[\"AZ.GetKey\"]}",
           other);
    f.fc.ahead += 61 * 1000000;
    expect_failed(&f, try_encrypt(&f), CMK_E_BAD_RESPONSE, 200,
                  "MalformedResponse", NULL, 0);
    emu_do("clear_faults", "{}");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* An expired token: 401, one new token, success. */
static void test_token_renewed(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    emu_do("azure_expire_token", "{\"principal\":\"%s\"}", APP);
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    decrypt_is(&f, &ct, kid, "first");
    assert_int_equal(tokens_minted, 1);
    assert_int_equal(emu_count("AZ.UnwrapKey"), 2);
    assert_int_equal(emu_count_error("AZ.UnwrapKey", "Unauthorized"), 1);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* rq->request_id is the answer's x-ms-request-id. */
static void test_request_id(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    json_t *c;
    struct fx f;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    emu_do("reset_calls", "{}");
    decrypt_is(&f, &ct, kid, "first");
    c = logged("AZ.UnwrapKey", 0);
    assert_string_equal(f.rq.request_id, str_of(c, "x_ms_request_id"));
    assert_int_equal(strlen(f.rq.request_id), 36);
    json_decref(c);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* The error table where the emulator cannot be made to answer: by status
 * and code alone. */
static void test_error_table(void **state)
{
    static const struct {
        long status;
        const char *body;
        enum az_op op;
        cmk_err err;
        enum cmk_retry_class cls;
        const char *code;
    } t[] = {
        {401, "{\"error\":{\"code\":\"Unauthorized\"}}", AZ_OP_WRAP,
         CMK_E_AUTH_REFRESH, CMK_RETRY_NO, "Unauthorized"},
        {403,
         "{\"error\":{\"code\":\"Forbidden\",\"innererror\":{\"code\":"
         "\"KeyDisabled\"}}}",
         AZ_OP_GET, CMK_E_KEY_DISABLED, CMK_RETRY_NO, "KeyDisabled"},
        {403,
         "{\"error\":{\"code\":\"Forbidden\",\"innererror\":{\"code\":"
         "\"ForbiddenByPolicy\"}}}",
         AZ_OP_GET, CMK_E_ACCESS_DENIED, CMK_RETRY_NO, "ForbiddenByPolicy"},
        {403, "{\"error\":{\"code\":\"Forbidden\"}}", AZ_OP_GET,
         CMK_E_ACCESS_DENIED, CMK_RETRY_NO, "Forbidden"},
        {404, "{\"error\":{\"code\":\"NotFound\"}}", AZ_OP_GET,
         CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO, "NotFound"},
        {400, "{\"error\":{\"code\":\"BadParameter\"}}", AZ_OP_UNWRAP,
         CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, "BadParameter"},
        {400, "{\"error\":{\"code\":\"BadParameter\"}}", AZ_OP_DECRYPT,
         CMK_E_BAD_CIPHERTEXT, CMK_RETRY_NO, "BadParameter"},
        {400, "{\"error\":{\"code\":\"BadParameter\"}}", AZ_OP_WRAP,
         CMK_E_CONFIG, CMK_RETRY_NO, "BadParameter"},
        {408, "", AZ_OP_WRAP, CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT, "HTTP408"},
        {429, "{\"error\":{\"code\":\"Throttled\"}}", AZ_OP_WRAP,
         CMK_E_THROTTLED, CMK_RETRY_THROTTLE, "Throttled"},
        {500, "{\"error\":{\"code\":\"InternalServerError\"}}", AZ_OP_GET,
         CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT, "InternalServerError"},
        {504, "<html>", AZ_OP_GET, CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT,
         "HTTP504"},
        {501, "", AZ_OP_GET, CMK_E_KMS_INTERNAL, CMK_RETRY_NO, "HTTP501"},
        {505, "", AZ_OP_GET, CMK_E_KMS_INTERNAL, CMK_RETRY_NO, "HTTP505"},
        {409, "{\"error\":{\"code\":\"Conflict\"}}", AZ_OP_GET,
         CMK_E_KMS_INTERNAL, CMK_RETRY_NO, "Conflict"},
        /* a code with characters Key Vault never writes is not taken */
        {403, "{\"error\":{\"code\":\"Bad Code\\n\"}}", AZ_OP_GET,
         CMK_E_ACCESS_DENIED, CMK_RETRY_NO, "HTTP403"},
    };
    enum cmk_retry_class cls;
    char code[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cls = CMK_RETRY_THROTTLE_SLOW;
        assert_int_equal(cmk_azure_error_map(t[i].status, t[i].body,
                                             strlen(t[i].body), t[i].op, code,
                                             sizeof(code), &cls),
                         t[i].err);
        assert_int_equal(cls, t[i].cls);
        assert_string_equal(code, t[i].code);
    }
}

/* An algorithm the key does not have: 400 BadParameter, a configuration
 * error. */
static void test_wrong_algorithm(void **state)
{
    char kid[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), NULL, 0);
    fx_setup(&f, kid, KV_RESOURCE);
    f.az.alg = AZ_ALG_A256GCM;
    fx_start(&f);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_encrypt(&f), CMK_E_CONFIG, 400, "BadParameter",
                  "AZ.Encrypt", 2);
    fx_close(&f);
}

/* 503 with a delay longer than the backoff: that delay. */
static void test_503_retry_after(void **state)
{
    struct cmk_buf ct = {0};
    char kid[256];
    struct fx f;

    (void)state;
    fx_open_sealed(&f, kid, sizeof(kid), "first", &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"error_5xx_rate\":1,\"error_5xx_status\":503,\"count\":1,"
           "\"retry_after_ms\":1700,\"retry_after_headers\":"
           "[\"x-ms-retry-after-ms\"],\"for_ops\":[\"AZ.UnwrapKey\"]}");
    decrypt_is(&f, &ct, kid, "first");
    assert_int_equal(emu_count("AZ.UnwrapKey"), 2);
    assert_int_equal(f.fc.sleeps, 1);
    assert_int_equal(f.fc.first, 1700000);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* A token the vault never accepts: one new token, then "Unauthorized". */
static cmk_err bad_resolver(const struct cmk_cred_env *env,
                            struct cmk_cred_status *st, struct cmk_creds **out)
{
    (void)env;
    memset(st, 0, sizeof(*st));
    tokens_minted++;
    return cmk_creds_new("azure", "not-a-token", NULL,
                         (int64_t)time(NULL) + 3600, "test", out);
}

static void test_second_401(void **state)
{
    char kid[256];
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), NULL, 0);
    fx_setup(&f, kid, KV_RESOURCE);
    fx_start(&f);
    cmk_azauth_set_resolver(((struct azure_state *)f.st)->auth, bad_resolver);
    emu_do("reset_calls", "{}");
    tokens_minted = 0;
    expect_failed(&f, try_encrypt(&f), CMK_E_ACCESS_DENIED, 401, "Unauthorized",
                  "AZ.GetKey", 3);
    assert_int_equal(tokens_minted, 2);
    assert_int_equal(emu_count_error("AZ.GetKey", "Unauthorized"), 3);
    fx_close(&f);
}

/* ---- Threads ---- */

struct worker {
    struct fx *f;
    cmk_err err;
    char kid[256];
};

/* Encrypt and decrypt in a loop while the key info falls due (ttl 1 s on
 * the real clock): every thread keeps working, one refreshes at a time. */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct cmk_req rq;
    struct cmk_buf ct = {0};
    struct cmk_secret pt = {0};
    int i;

    for (i = 0; i < 8 && w->err == CMK_OK; i++) {
        memset(&rq, 0, sizeof(rq));
        rq.tenant = &w->f->cfg;
        rq.key_ref = w->f->cfg.key_ref;
        rq.ctx = w->f->ctx;
        rq.n_ctx = 2;
        w->err =
            w->f->ops->encrypt(w->f->st, &rq, (const uint8_t *)"tt", 2, &ct);
        if (w->err == CMK_OK && strcmp(rq.sealed_by, w->kid) != 0)
            w->err = CMK_E_INTERNAL;
        rq.open_with = w->kid;
        if (w->err == CMK_OK)
            w->err = w->f->ops->decrypt(w->f->st, &rq, ct.p, ct.len, &pt);
        if (w->err == CMK_OK && (pt.len != 2 || memcmp(pt.p, "tt", 2) != 0))
            w->err = CMK_E_INTERNAL;
        cmk_buf_free(&ct);
        cmk_secret_free(&pt);
        usleep(150000);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    char kid[256], name[32], ref[256];
    struct fx f;
    size_t i;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), name, sizeof(name));
    snprintf(ref, sizeof(ref), "%s/keys/%s", kv_base, name);
    fx_setup(&f, ref, KV_RESOURCE);
    f.az.ttl = 1;
    fx_start(&f);
    ((struct azure_state *)f.st)->clock = NULL;
    emu_do("reset_calls", "{}");
    for (i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].f = &f;
        snprintf(w[i].kid, sizeof(w[i].kid), "%s", kid);
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].err, CMK_OK);
    }
    assert_int_equal(emu_count("AZ.UnwrapKey"), 32);
    assert_int_equal(emu_count("AZ.WrapKey"), 0);
    /* the first GETs (each thread's challenge and fetch before any info
     * was kept), then about one a second: not one per encrypt */
    assert_true(emu_count("AZ.GetKey") <= 4 + 4 + 4);
    fx_close(&f);
}

/* ---- Health and numbers ---- */

static void test_health(void **state)
{
    char kid[256], hkid[256];
    struct fx f;

    (void)state;
    fx_open_kv(&f, 2048, kid, sizeof(kid));
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    /* a kty the provider cannot use */
    emu_do("faults",
           "{\"answer_override\":{\"key\":{\"kid\":\"%s\",\"kty\":\"EC\","
           "\"key_ops\":[\"wrapKey\",\"unwrapKey\"]}},"
           "\"for_ops\":[\"AZ.GetKey\"]}",
           kid);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "WrongKeyType");
    assert_int_equal(f.ops->health_reason("WrongKeyType"),
                     CMK_HEALTH_WRONG_KEY_SPEC);
    emu_do("clear_faults", "{}");
    fx_close(&f);
    /* an oct-HSM key for A256GCM needs encrypt and decrypt */
    new_key("hsm", "oct-HSM", 256, "[\"wrapKey\",\"unwrapKey\"]", hkid,
            sizeof(hkid), NULL, 0);
    fx_setup(&f, hkid, HSM_RESOURCE);
    fx_start(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "KeyOperationsMissing");
    f.az.alg = AZ_ALG_A256KW;
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    fx_close(&f);
}

/* ulDeviceError numbers: documented, never changed. */
static void test_code_numbers(void **state)
{
    static const struct {
        const char *code;
        unsigned num;
    } t[] = {
        {"KeyDisabled", 504},
        {"KeyExpired", 505},
        {"KeyNotYetValid", 506},
        {"KeyOperationForbidden", 507},
        {"ForbiddenByRbac", 502},
        {"Unauthorized", 500},
        {"KeyNotFound", 510},
        {"VaultNotFound", 511},
        {"BadParameter", 520},
        {"Throttled", 530},
        {"InternalServerError", 540},
        {"ServiceUnavailable", 541},
        {"UnexpectedKeyId", 121},
        {"ContextMismatch", 127},
        {"ChallengeResourceMismatch", 131},
        {"SealedByMismatch", 129},
        {"KeyIdTooLong", 132},
        {"WrongKeyType", 600},
        {"KeyOperationsMissing", 601},
        {"NetworkError", 101},
        {"TlsError", 103},
        {"SealedByOtherKey", 111},
        {"NoCredentials", 200},
        {"HTTP502", 1502},
        {"SomethingElse", CMK_DEV_OTHER},
        {"", CMK_DEV_OTHER},
    };
    const struct cmk_provider_ops *ops = cmk_provider_find("azure");
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(ops->code_number(t[i].code), t[i].num);
    assert_int_equal(ops->code_number(NULL), CMK_DEV_OTHER);
    assert_int_equal(ops->ct_bound(10), 10 + 1 + 16 + 1 + 2 + 512 + 12 + 16);
    assert_null(ops->reencrypt);
    assert_null(ops->generate_key);
}

/* ---- Through keys/cmk: the audit record and the purge ---- */

static void count_refusal(void *arg)
{
    ++*(unsigned *)arg;
}

/* A challenge for another resource through keys/cmk (refused before any
 * token): a key refusal that purges, and the kms_call record carries the
 * status, the code and the answer's x-ms-request-id. */
static void test_audit_refusal(void **state)
{
    struct cmk_buf blob = {0};
    struct cmk_audit *a;
    struct cmk_cmk *c = NULL;
    struct cmk_req rq;
    unsigned refusals = 0;
    char path[600], kid[256];
    json_t *rec, *call;
    struct fx f;

    (void)state;
    new_key("kv", "RSA", 2048, NULL, kid, sizeof(kid), NULL, 0);
    fx_setup(&f, kid, NULL);
    snprintf(path, sizeof(path), "%s/azure-refusal.audit", emu_tmp());
    unlink(path);
    a = test_kms_audit_open(path, "t1", "azure");
    assert_int_equal(cmk_cmk_open(&f.cfg, 0, &c), CMK_OK);
    cmk_cmk_set_audit(c, a);
    cmk_cmk_on_refusal(c, count_refusal, &refusals);
    emu_do("reset_calls", "{}");
    memset(&rq, 0, sizeof(rq));
    assert_int_equal(cmk_cmk_seal(c, &rq, (const uint8_t *)"dek", 3, &blob),
                     CMK_E_ACCESS_DENIED);
    assert_null(blob.p);
    assert_int_equal(refusals, 1);
    call = logged("AZ.GetKey", 0);
    rec = test_kms_audit_last(path, "kms_call");
    test_kms_audit_expect_str(rec, "tenant", "t1");
    test_kms_audit_expect_str(rec, "provider", "azure");
    test_kms_audit_expect_str(rec, "provider_code",
                              "ChallengeResourceMismatch");
    test_kms_audit_expect_str(rec, "request_id",
                              str_of(call, "x_ms_request_id"));
    test_kms_audit_expect_str(rec, "result", "CKR_KEY_FUNCTION_NOT_PERMITTED");
    assert_int_equal(json_integer_value(json_object_get(rec, "http_status")),
                     401);
    json_decref(rec);
    json_decref(call);
    cmk_cmk_close(c);
    cmk_audit_close(a);
}

/* ---- Key references ---- */

static void test_key_refs(void **state)
{
    static const char *const good[] = {
        "https://myvault.vault.azure.net/keys/k1",
        "https://myvault.vault.azure.net/keys/k-1/"
        "0123456789abcdef0123456789abcdef",
        "https://my-hsm.managedhsm.azure.net/keys/K9",
        "https://127.0.0.1:8443/vaults/kv2/keys/k1",
        "http://localhost:8080/keys/k1",
    };
    static const char *const bad[] = {
        "http://myvault.vault.azure.net/keys/k1", /* plain http */
        "https://evil.example.com/keys/k1",
        "https://vault.azure.net/keys/k1", /* no vault label */
        "https://myvault.vault.azure.net/keys/",
        "https://myvault.vault.azure.net/keys/k_1",
        "https://myvault.vault.azure.net/keys/k1/",
        "https://myvault.vault.azure.net/keys/k1/"
        "0123456789ABCDEF0123456789ABCDEF",
        "https://myvault.vault.azure.net/keys/k1/0123",
        "https://myvault.vault.azure.net/keys/k1?x=1",
        "https://myvault.vault.azure.net/secrets/k1",
        "https://user@myvault.vault.azure.net/keys/k1",
        "https://MyVault.vault.azure.net/keys/k1",
        "",
    };
    char longref[300];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(cmk_azure_ref_parse(good[i], NULL));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(cmk_azure_ref_parse(bad[i], NULL));
    /* 220 bytes without the version at most (names: 127) */
    snprintf(longref, sizeof(longref),
             "https://v.vault.azure.net/vaults/%0*d/keys/%0*d", 80, 0,
             220 - 33 - 80 - 6, 0);
    assert_int_equal(strlen(longref), 220);
    assert_true(cmk_azure_ref_parse(longref, NULL));
    strcat(longref, "a");
    assert_false(cmk_azure_ref_parse(longref, NULL));
}

/* The challenge header forms, and the resource rule. */
static void test_challenge_parse(void **state)
{
    char t[CMK_AZAUTH_TENANT_MAX], r[CMK_AZAUTH_RESOURCE_MAX];

    (void)state;
    assert_int_equal(cmk_azure_challenge_parse(
                         "Bearer authorization=\"https://login.microsoftonline"
                         ".com/" TENANT "\", resource=\"" KV_RESOURCE "\"",
                         t, r),
                     CMK_OK);
    assert_string_equal(t, TENANT);
    assert_string_equal(r, KV_RESOURCE);
    assert_int_equal(
        cmk_azure_challenge_parse("Bearer authorization_uri=\"https://l/t2\", "
                                  "scope=\"https://vault.azure.net/.default\"",
                                  t, r),
        CMK_OK);
    assert_string_equal(t, "t2");
    assert_string_equal(r, KV_RESOURCE);
    assert_int_equal(cmk_azure_challenge_parse("Basic realm=\"x\"", t, r),
                     CMK_E_BAD_RESPONSE);
    /* a quote inside an unquoted value (found by fuzzing) */
    assert_int_equal(
        cmk_azure_challenge_parse("Bearer authorization=\"https://l/t\", "
                                  "resource=%https://vault.azure.net\"",
                                  t, r),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(
        cmk_azure_challenge_parse("Bearer resource=\"https://r\"", t, r),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(
        cmk_azure_challenge_parse(
            "Bearer authorization=\"http://l/t\", resource=\"r\"", t, r),
        CMK_E_BAD_RESPONSE);
    assert_true(
        cmk_azure_resource_ok(KV_RESOURCE, "myvault.vault.azure.net", NULL));
    assert_false(
        cmk_azure_resource_ok(KV_RESOURCE, "myvaultvault.azure.net", NULL));
    assert_false(cmk_azure_resource_ok("https://azure.net.evil.com",
                                       "myvault.vault.azure.net", NULL));
    assert_false(cmk_azure_resource_ok(KV_RESOURCE, "127.0.0.1", NULL));
    assert_true(cmk_azure_resource_ok(KV_RESOURCE, "127.0.0.1", KV_RESOURCE));
    assert_false(cmk_azure_resource_ok("http://vault.azure.net",
                                       "myvault.vault.azure.net", NULL));
}

static int group_setup(void **state)
{
    const char *https = emu_https_url();
    const char *port = strrchr(https, ':');

    (void)state;
    if (cmk_mech_init() != CKR_OK)
        return -1;
    snprintf(kv_base, sizeof(kv_base), "%s", https);
    snprintf(hsm_base, sizeof(hsm_base), "https://localhost%s", port);
    emu_azure_vaults(TENANT, APP);
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
        cmocka_unit_test(test_key_refs),
        cmocka_unit_test(test_challenge_parse),
        cmocka_unit_test(test_code_numbers),
        cmocka_unit_test(test_challenge),
        cmocka_unit_test(test_challenge_mismatch),
        cmocka_unit_test(test_rsa4096_local_wrap),
        cmocka_unit_test(test_rsa_oaep),
        cmocka_unit_test(test_hsm_gcm),
        cmocka_unit_test(test_hsm_key_wrap),
        cmocka_unit_test(test_other_tenant),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_sealed_by_other_key),
        cmocka_unit_test(test_new_version),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_expired_and_not_yet_valid),
        cmocka_unit_test(test_key_ops),
        cmocka_unit_test(test_rbac_removed),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_5xx_exhausted),
        cmocka_unit_test(test_throttle_headers),
        cmocka_unit_test(test_transport),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_token_renewed),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_audit_refusal),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_wrong_algorithm),
        cmocka_unit_test(test_503_retry_after),
        cmocka_unit_test(test_second_401),
        cmocka_unit_test(test_threads),
    };

    if (emu_http_url() == NULL) {
        fprintf(stderr, "not run by emu-run.sh: skipped\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
