/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the azure provider's key pairs (providers/azure_asym.c)
 * against the KMS emulator's Key Vault and Managed HSM over TLS (run by
 * tests/unit/emu_azure_asym.sh): the public key of every key type taken
 * by the module (RSA 2048/3072/4096, EC P-256/P-384/P-521, RSA-HSM and
 * EC-HSM in a Managed HSM) compared with the vault's JWK by OpenSSL; its
 * usage and hashes from key_ops; every signature verified by OpenSSL
 * EVP against that SPKI (RS*, PS*, ES*, on a digest and on a message);
 * RSA-OAEP (SHA-1) and RSA-OAEP-256 decryption of ciphertexts OpenSSL
 * made; keys without the op, P-256K and a key reference without version
 * refused; bad answers (another kid, a short signature, a zero r, a point
 * off the curve) refused with their exact codes; the ulDeviceError
 * numbers of the new codes; a 503 to sign retried as the CMK's calls
 * are, waiting what it asks; four threads signing on one instance.
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

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "tests/lib/asym_check.h"
#include "tests/lib/retry_clock.h"
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
#define HBIT(h) (1u << (h))

/* ---- Tokens: minted by the emulator for the pair the pool asks ---- */

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
    char key[256];
    const struct cmk_asym_ops *ops;
    void *st;
    struct cmk_req rq;
    struct test_retry_clock fc;
};

static unsigned key_seq;

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->cfg.key_ref;
}

static void fx_setup(struct fx *f, const char *ref)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_asym(cmk_provider_find("azure"));
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
    /* the challenge's resource is not 127.0.0.1's or localhost's */
    f->az.resource =
        MUT(strstr(ref, "//localhost") != NULL ? HSM_RESOURCE : KV_RESOURCE);
    f->cfg.provider_cfg = &f->az;
}

static void fx_open(struct fx *f, const char *kid)
{
    fx_setup(f, kid);
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
    cmk_azauth_set_resolver(((struct azure_state *)f->st)->auth, test_resolver);
    test_retry_clock_init(&f->fc, 0.5);
    ((struct azure_state *)f->st)->clock = &f->fc.clk;
    req_reset(f);
}

static void fx_close(struct fx *f)
{
    f->ops->fini(f->st);
    free(f->st);
}

/* A new key in vault ("kv" or "hsm"): kty, more members (JSON text
 * after a comma, "" for none); its KeyBundle returned, its kid into
 * kid. */
static json_t *new_pair(const char *vault, const char *kty, const char *more,
                        char *kid, size_t n)
{
    json_t *r;

    r = emu_ctl("azure_create_key",
                "{\"vault\":\"%s\",\"name\":\"p%u\",\"kty\":\"%s\"%s%s}", vault,
                ++key_seq, kty, more[0] != '\0' ? "," : "", more);
    snprintf(
        kid, n, "%s",
        json_string_value(json_object_get(json_object_get(r, "key"), "kid")));
    assert_true(strlen(kid) > 40);
    return r;
}

static void expect_rq(struct fx *f, cmk_err got, cmk_err want, long status,
                      const char *code)
{
    assert_int_equal(got, want);
    assert_int_equal(f->rq.http_status, status);
    assert_string_equal(f->rq.provider_code, code);
    if (status != 0)
        assert_true(strlen(f->rq.request_id) > 0);
}

/* ---- OpenSSL on the other side ---- */

static size_t jwk_bin(json_t *bundle, const char *member, uint8_t *out,
                      size_t max)
{
    json_t *v = json_object_get(json_object_get(bundle, "key"), member);
    size_t n = 0;

    assert_true(json_is_string(v));
    assert_int_equal(
        sodium_base642bin(out, max, json_string_value(v), json_string_length(v),
                          NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING),
        0);
    return n;
}

/* The SPKI's key is the JWK's: n (RSA) or the point (EC). */
static void same_key(const struct cmk_pubkey *k, json_t *bundle)
{
    uint8_t want[512], got[512];
    EVP_PKEY *pk = tasym_spki_key(&k->spki);
    size_t wn, gn = 0;
    BIGNUM *n = NULL;

    if (k->kind == CMK_ASYM_RSA) {
        wn = jwk_bin(bundle, "n", want, sizeof(want));
        assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n),
                         1);
        assert_int_equal(BN_num_bytes(n), wn);
        assert_int_equal(BN_bn2bin(n, got), wn);
        assert_memory_equal(got, want, wn);
        BN_free(n);
    } else {
        want[0] = 0x04;
        wn = jwk_bin(bundle, "x", want + 1, 66);
        wn += jwk_bin(bundle, "y", want + 1 + wn, 66);
        assert_int_equal(
            EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, got,
                                            sizeof(got), &gn),
            1);
        assert_int_equal(gn, wn + 1);
        assert_memory_equal(got, want, gn);
    }
    EVP_PKEY_free(pk);
}

/* The provider's signature on msg's digest (or on msg itself) verified
 * by OpenSSL, and refused once the digest is changed. */
static void sign_checked(struct fx *f, const struct cmk_pubkey *k,
                         enum cmk_sig_scheme s, enum cmk_hash h, bool digest,
                         const char *msg)
{
    struct cmk_buf sig = {0};
    uint8_t d[64];
    size_t n = tasym_digest(h, msg, strlen(msg), d);

    req_reset(f);
    if (digest)
        assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, true, d, n, &sig),
                         CMK_OK);
    else
        assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, false,
                                      (const uint8_t *)msg, strlen(msg), &sig),
                         CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
    assert_string_equal(f->rq.provider_code, "");
    assert_true(strlen(f->rq.request_id) > 0);
    if (k->kind == CMK_ASYM_RSA)
        assert_int_equal(sig.len, k->bits / 8);
    else /* DER: SEQUENCE of two INTEGERs */
        assert_int_equal(sig.p[0], 0x30);
    assert_true(tasym_verify_spki(&k->spki, s, h, d, n, &sig));
    d[0] ^= 1;
    assert_false(tasym_verify_spki(&k->spki, s, h, d, n, &sig));
    cmk_buf_free(&sig);
}

static void public_key_ok(struct fx *f, struct cmk_pubkey *k)
{
    req_reset(f);
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, k), CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
    assert_true(strlen(f->rq.request_id) > 0);
}

/* ---- Tests ---- */

static void test_rsa_keys(void **state)
{
    static const struct {
        const char *vault, *kty;
        unsigned bits;
    } keys[] = {{"kv", "RSA", 2048},
                {"kv", "RSA", 3072},
                {"kv", "RSA", 4096},
                {"hsm", "RSA-HSM", 3072}};
    static const enum cmk_sig_scheme schemes[] = {CMK_SIG_RSA_PKCS1,
                                                  CMK_SIG_RSA_PSS};
    size_t i, j;
    enum cmk_hash h;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct cmk_pubkey k;
        char kid[256], more[32];
        struct fx f;
        json_t *b;

        snprintf(more, sizeof(more), "\"key_size\":%u", keys[i].bits);
        b = new_pair(keys[i].vault, keys[i].kty, more, kid, sizeof(kid));
        fx_open(&f, kid);
        public_key_ok(&f, &k);
        assert_int_equal(k.kind, CMK_ASYM_RSA);
        assert_int_equal(k.bits, keys[i].bits);
        assert_int_equal(k.curve_nid, 0);
        assert_int_equal(k.usage, CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT);
        /* RS* and PS*, SHA-2; RSA-OAEP and RSA-OAEP-256 */
        assert_int_equal(k.schemes,
                         HBIT(CMK_SIG_RSA_PKCS1) | HBIT(CMK_SIG_RSA_PSS));
        assert_int_equal(k.hashes, HBIT(CMK_HASH_SHA256) |
                                       HBIT(CMK_HASH_SHA384) |
                                       HBIT(CMK_HASH_SHA512));
        assert_int_equal(k.oaep_hashes,
                         HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256));
        same_key(&k, b);
        for (j = 0; j < 2; j++) {
            for (h = CMK_HASH_SHA256; h <= CMK_HASH_SHA512; h++)
                sign_checked(&f, &k, schemes[j], h, true, "tbs");
        }
        sign_checked(&f, &k, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA384, false,
                     "a message hashed here");
        cmk_pubkey_free(&k);
        json_decref(b);
        fx_close(&f);
    }
}

static void test_ec_keys(void **state)
{
    static const struct {
        const char *vault, *kty, *crv;
        int nid;
        unsigned bits;
        enum cmk_hash h;
    } keys[] = {
        {"kv", "EC", "P-256", NID_X9_62_prime256v1, 256, CMK_HASH_SHA256},
        {"kv", "EC", "P-384", NID_secp384r1, 384, CMK_HASH_SHA384},
        {"kv", "EC-HSM", "P-521", NID_secp521r1, 521, CMK_HASH_SHA512},
        {"hsm", "EC-HSM", "P-256", NID_X9_62_prime256v1, 256, CMK_HASH_SHA256},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct cmk_pubkey k;
        char kid[256], more[32];
        struct fx f;
        json_t *b;

        snprintf(more, sizeof(more), "\"crv\":\"%s\"", keys[i].crv);
        b = new_pair(keys[i].vault, keys[i].kty, more, kid, sizeof(kid));
        fx_open(&f, kid);
        public_key_ok(&f, &k);
        assert_int_equal(k.kind, CMK_ASYM_EC);
        assert_int_equal(k.bits, keys[i].bits);
        assert_int_equal(k.curve_nid, keys[i].nid);
        assert_int_equal(k.usage, CMK_ASYM_USE_SIGN);
        assert_int_equal(k.schemes, HBIT(CMK_SIG_ECDSA));
        assert_int_equal(k.hashes, HBIT(keys[i].h));
        assert_int_equal(k.oaep_hashes, 0);
        same_key(&k, b);
        sign_checked(&f, &k, CMK_SIG_ECDSA, keys[i].h, true, "tbs");
        sign_checked(&f, &k, CMK_SIG_ECDSA, keys[i].h, false, "message");
        cmk_pubkey_free(&k);
        json_decref(b);
        fx_close(&f);
    }
}

static void test_decrypt(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_pubkey k;
    uint8_t ct[512];
    char kid[256];
    struct fx f;
    size_t n;
    json_t *b;

    (void)state;
    b = new_pair("kv", "RSA",
                 "\"key_size\":2048,\"key_ops\":[\"decrypt\",\"encrypt\"]", kid,
                 sizeof(kid));
    fx_open(&f, kid);
    public_key_ok(&f, &k);
    assert_int_equal(k.usage, CMK_ASYM_USE_DECRYPT);
    assert_int_equal(k.schemes, 0);
    assert_int_equal(k.hashes, 0);
    assert_int_equal(k.oaep_hashes,
                     HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256));
    n = tasym_oaep_text(&k.spki, CMK_HASH_SHA1, "oaep sha-1", ct, sizeof(ct));
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA1, ct, n, &pt),
                     CMK_OK);
    assert_int_equal(pt.len, 10);
    assert_memory_equal(pt.p, "oaep sha-1", 10);
    assert_int_equal(f.rq.http_status, 200);
    cmk_secret_free(&pt);
    n = tasym_oaep_text(&k.spki, CMK_HASH_SHA256, "oaep sha-256", ct,
                        sizeof(ct));
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, n, &pt),
                     CMK_OK);
    assert_int_equal(pt.len, 12);
    assert_memory_equal(pt.p, "oaep sha-256", 12);
    cmk_secret_free(&pt);
    /* the other hash: the vault refuses the ciphertext */
    req_reset(&f);
    expect_rq(&f, f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA1, ct, n, &pt),
              CMK_E_BAD_CIPHERTEXT, 400, "BadParameter");
    assert_null(pt.p);
    /* signing with a decrypt-only key: the vault's refusal */
    {
        struct cmk_buf sig = {0};
        uint8_t d[32] = {0};

        req_reset(&f);
        expect_rq(&f,
                  f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256,
                              true, d, sizeof(d), &sig),
                  CMK_E_ACCESS_DENIED, 403, "KeyOperationForbidden");
        assert_null(sig.p);
    }
    cmk_pubkey_free(&k);
    json_decref(b);
    fx_close(&f);
}

static void test_key_without_op(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_pubkey k;
    uint8_t ct[256] = {1};
    char kid[256];
    struct fx f;
    json_t *b;

    (void)state;
    /* sign only: no DECRYPT, and the vault refuses a decrypt */
    b = new_pair("kv", "RSA", "\"key_ops\":[\"sign\",\"verify\"]", kid,
                 sizeof(kid));
    fx_open(&f, kid);
    public_key_ok(&f, &k);
    assert_int_equal(k.usage, CMK_ASYM_USE_SIGN);
    assert_int_equal(k.schemes,
                     HBIT(CMK_SIG_RSA_PKCS1) | HBIT(CMK_SIG_RSA_PSS));
    assert_int_equal(k.hashes, HBIT(CMK_HASH_SHA256) | HBIT(CMK_HASH_SHA384) |
                                   HBIT(CMK_HASH_SHA512));
    assert_int_equal(k.oaep_hashes, 0);
    req_reset(&f);
    expect_rq(&f,
              f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
              CMK_E_ACCESS_DENIED, 403, "KeyOperationForbidden");
    cmk_pubkey_free(&k);
    json_decref(b);
    fx_close(&f);
    /* verify only: nothing the module can do with it */
    b = new_pair("kv", "EC", "\"key_ops\":[\"verify\"]", kid, sizeof(kid));
    fx_open(&f, kid);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_ACCESS_DENIED,
              200, "KeyOperationsMissing");
    assert_null(k.spki.p);
    json_decref(b);
    fx_close(&f);
}

static void test_unsupported(void **state)
{
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    uint8_t d[48] = {0};
    char kid[256], ref[300];
    struct fx f;
    json_t *b;
    void *st;

    (void)state;
    b = new_pair("kv", "EC", "\"crv\":\"P-256K\"", kid, sizeof(kid));
    fx_open(&f, kid);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_CONFIG, 200,
              "UnsupportedKeySpec");
    assert_null(k.spki.p);
    json_decref(b);
    fx_close(&f);
    /* an oct-HSM key is no key pair */
    b = new_pair("hsm", "oct-HSM", "", kid, sizeof(kid));
    fx_open(&f, kid);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_CONFIG, 200,
              "UnsupportedKeySpec");
    json_decref(b);
    fx_close(&f);
    /* ES384 on a P-256 key: the vault refuses the algorithm */
    b = new_pair("kv", "EC", "\"crv\":\"P-256\"", kid, sizeof(kid));
    fx_open(&f, kid);
    req_reset(&f);
    expect_rq(&f,
              f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA384, true, d,
                          sizeof(d), &sig),
              CMK_E_ACCESS_DENIED, 400, "BadParameter");
    /* a digest of the wrong length, SHA-1 and a message for OAEP's hash
     * never reach the vault */
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, 31, &sig),
                     CMK_E_ARGS);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA1,
                                 true, d, 20, &sig),
                     CMK_E_ARGS);
    assert_int_equal(f.rq.http_status, 0);
    json_decref(b);
    fx_close(&f);
    /* a key pair names its version */
    snprintf(ref, sizeof(ref), "%.*s", (int)(strrchr(kid, '/') - kid), kid);
    fx_setup(&f, ref);
    st = calloc(1, f.ops->state_size);
    assert_non_null(st);
    assert_int_equal(f.ops->init(st, &f.cfg, ref), CMK_E_CONFIG);
    free(st);
}

/* The key's bundle with member of "key" replaced by value (JSON text). */
static char *bundle_with(const char *kid, const char *member, json_t *value)
{
    char name[32], ver[40];
    const char *p = strstr(kid, "/keys/") + 6;
    json_t *r;
    char *s;

    snprintf(name, sizeof(name), "%.*s", (int)(strchr(p, '/') - p), p);
    snprintf(ver, sizeof(ver), "%s", strchr(p, '/') + 1);
    r = emu_ctl("azure_key_material",
                "{\"vault\":\"kv\",\"name\":\"%s\",\"version\":\"%s\"}", name,
                ver);
    json_object_set_new(json_object_get(r, "key"), "kid", json_string(kid));
    json_object_set_new(json_object_get(r, "key"), member, value);
    s = json_dumps(json_object_get(r, "key"), JSON_COMPACT);
    json_decref(r);
    return s;
}

static void test_bad_answers(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf sig = {0};
    struct cmk_pubkey k;
    uint8_t d[32] = {7}, ct[256];
    char kid[256], other[256], *key;
    struct fx f;
    json_t *b, *o;
    size_t n;

    (void)state;
    o = new_pair("kv", "EC", "", other, sizeof(other));
    json_decref(o);
    b = new_pair("kv", "EC", "", kid, sizeof(kid));
    fx_open(&f, kid);
    emu_do("faults",
           "{\"answer_override\":{\"kid\":\"%s\"},\"for_ops\":[\"AZ.Sign\"]}",
           other);
    req_reset(&f);
    expect_rq(&f,
              f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, d,
                          32, &sig),
              CMK_E_BAD_RESPONSE, 200, "UnexpectedKeyId");
    emu_do("faults",
           "{\"answer_override\":{\"value\":\"%s\"},\"for_ops\":[\"AZ.Sign\"]}",
           "AAAA");
    req_reset(&f);
    expect_rq(&f,
              f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, d,
                          32, &sig),
              CMK_E_BAD_RESPONSE, 200, "SignatureLength");
    /* r = 0: 64 bytes, the first 32 zero, then 32 of 0x01 */
    emu_do("faults",
           "{\"answer_override\":{\"value\":\"%s\"},\"for_ops\":[\"AZ.Sign\"]}",
           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"
           "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ");
    req_reset(&f);
    expect_rq(&f,
              f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, d,
                          32, &sig),
              CMK_E_BAD_RESPONSE, 200, "SignatureMalformed");
    assert_null(sig.p);
    /* a point off the curve, a coordinate of the wrong size */
    key = bundle_with(kid, "y", json_string("AQ" /* 1 byte */));
    emu_do("faults",
           "{\"answer_override\":{\"key\":%s},\"for_ops\":[\"AZ.GetKey\"]}",
           key);
    free(key);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_BAD_RESPONSE,
              200, "MalformedResponse");
    /* y = 32 bytes of 0x01: not on P-256 with the key's x */
    key = bundle_with(
        kid, "y", json_string("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"));
    emu_do("faults",
           "{\"answer_override\":{\"key\":%s},\"for_ops\":[\"AZ.GetKey\"]}",
           key);
    free(key);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_BAD_RESPONSE,
              200, "MalformedResponse");
    assert_null(k.spki.p);
    /* another key's answer to GET */
    key = bundle_with(other, "kty", json_string("EC"));
    emu_do("faults",
           "{\"answer_override\":{\"key\":%s},\"for_ops\":[\"AZ.GetKey\"]}",
           key);
    free(key);
    req_reset(&f);
    expect_rq(&f, f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_BAD_RESPONSE,
              200, "UnexpectedKeyId");
    emu_do("clear_faults", "{}");
    json_decref(b);
    fx_close(&f);
    /* decrypt's answer naming another key: the plaintext is not used */
    b = new_pair("kv", "RSA", "", kid, sizeof(kid));
    fx_open(&f, kid);
    public_key_ok(&f, &k);
    n = tasym_oaep_text(&k.spki, CMK_HASH_SHA256, "x", ct, sizeof(ct));
    emu_do("faults",
           "{\"answer_override\":{\"kid\":\"%s\"},"
           "\"for_ops\":[\"AZ.Decrypt\"]}",
           other);
    req_reset(&f);
    expect_rq(&f, f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, n, &pt),
              CMK_E_BAD_RESPONSE, 200, "UnexpectedKeyId");
    assert_null(pt.p);
    /* an RSA signature shorter than the modulus */
    emu_do("faults",
           "{\"answer_override\":{\"value\":\"%s\"},\"for_ops\":[\"AZ.Sign\"]}",
           "AAAA");
    req_reset(&f);
    expect_rq(&f,
              f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PSS, CMK_HASH_SHA256, true,
                          d, 32, &sig),
              CMK_E_BAD_RESPONSE, 200, "SignatureLength");
    emu_do("clear_faults", "{}");
    cmk_pubkey_free(&k);
    json_decref(b);
    fx_close(&f);
}

static void test_sign_retried(void **state)
{
    struct cmk_buf sig = {0};
    struct cmk_pubkey k;
    char kid[256];
    uint8_t d[64];
    struct fx f;
    json_t *b;
    size_t n;

    (void)state;
    b = new_pair("kv", "RSA", "", kid, sizeof(kid));
    fx_open(&f, kid);
    public_key_ok(&f, &k);
    n = tasym_digest(CMK_HASH_SHA256, "retried", 7, d);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"error_5xx_rate\":1,\"error_5xx_status\":503,\"count\":1,"
           "\"retry_after_ms\":1700,\"retry_after_headers\":"
           "[\"x-ms-retry-after-ms\"],\"for_ops\":[\"AZ.Sign\"]}");
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, d, n, &sig),
                     CMK_OK);
    assert_int_equal(emu_count("AZ.Sign"), 2);
    assert_int_equal(f.fc.sleeps, 1);
    assert_int_equal(f.fc.first, 1700000);
    assert_true(tasym_verify_spki(&k.spki, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256,
                                  d, n, &sig));
    emu_do("clear_faults", "{}");
    cmk_buf_free(&sig);
    cmk_pubkey_free(&k);
    json_decref(b);
    fx_close(&f);
}

struct worker {
    struct fx *f;
    uint8_t d[32];
    struct cmk_buf sig[3];
    cmk_err err;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct cmk_req rq;
    size_t i;

    for (i = 0; i < 3 && w->err == CMK_OK; i++) {
        memset(&rq, 0, sizeof(rq));
        rq.tenant = &w->f->cfg;
        rq.key_ref = w->f->cfg.key_ref;
        w->err = w->f->ops->sign(w->f->st, &rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, w->d, 32, &w->sig[i]);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    struct cmk_pubkey k;
    char kid[256];
    struct fx f;
    size_t i, j;
    json_t *b;

    (void)state;
    b = new_pair("kv", "EC", "\"crv\":\"P-256\"", kid, sizeof(kid));
    fx_open(&f, kid);
    public_key_ok(&f, &k);
    for (i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].f = &f;
        memset(w[i].d, (int)i + 1, sizeof(w[i].d));
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].err, CMK_OK);
        for (j = 0; j < 3; j++) {
            assert_true(tasym_verify_spki(&k.spki, CMK_SIG_ECDSA,
                                          CMK_HASH_SHA256, w[i].d, 32,
                                          &w[i].sig[j]));
            cmk_buf_free(&w[i].sig[j]);
        }
    }
    cmk_pubkey_free(&k);
    json_decref(b);
    fx_close(&f);
}

static void test_code_numbers(void **state)
{
    const struct cmk_provider_ops *ops = cmk_provider_find("azure");

    (void)state;
    assert_int_equal(ops->code_number("UnsupportedKeySpec"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_AZURE_UNSUPPORTED_KEY_SPEC));
    assert_int_equal(ops->code_number("SignatureLength"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_AZURE_SIGNATURE_LENGTH));
    assert_int_equal(ops->code_number("SignatureMalformed"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_AZURE_SIGNATURE_MALFORMED));
    assert_int_equal(ops->health_reason("UnsupportedKeySpec"),
                     CMK_HEALTH_WRONG_KEY_SPEC);
}

static int group_setup(void **state)
{
    (void)state;
    if (cmk_mech_init() != CKR_OK)
        return -1;
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
        cmocka_unit_test(test_rsa_keys),
        cmocka_unit_test(test_ec_keys),
        cmocka_unit_test(test_decrypt),
        cmocka_unit_test(test_key_without_op),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_sign_retried),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_code_numbers),
    };

    if (emu_http_url() == NULL) {
        fprintf(stderr, "not run by emu-run.sh: skipped\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
