/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the aws provider's key pairs (providers/asym.h) against the
 * KMS emulator (run by tests/unit/emu_aws_asym.sh): every key spec's
 * public key, every signing algorithm's signature verified by OpenSSL
 * against the SPKI (not by the module's code), RSAES-OAEP SHA-1 and
 * SHA-256 decryption of ciphertexts made by OpenSSL, and the refusals:
 * the wrong usage, a disabled key, ECC_SECG_P256K1 and a symmetric key,
 * RAW over 4096 bytes before any call, and malformed answers (bad
 * base64, another KeyId, another algorithm, a public key that is not the
 * KeySpec's).
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "tests/lib/asym_check.h"
#include "mech/mech.h"
#include "providers/aws_cfg.h"
#include "providers/aws_int.h"
#include "providers/provider.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define AKID "AKIDAWSASYMTEST"
#define SECRET "aws-asym-unit-test-secret/0123456789+ABC"

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_aws_cfg aws;
    struct cmk_http_cfg http;
    char url[256];
    char *arn;
    const struct cmk_asym_ops *ops;
    void *st;
    struct cmk_req rq;
};

static char creds_file[512];
/* Keys made once for the whole run (RSA-4096 takes the emulator
 * seconds). */
static char *k_rsa2048_sign, *k_rsa3072_sign, *k_p256, *k_p384, *k_p521;
static char *k_rsa2048_enc, *k_rsa4096_enc;

static char *create_key(const char *spec, const char *usage)
{
    json_t *r = emu_ctl("create_key",
                        "{\"key_spec\":\"%s\",\"key_usage\":"
                        "\"%s\"}",
                        spec, usage);
    char *arn = strdup(json_string_value(json_object_get(r, "arn")));

    assert_non_null(arn);
    json_decref(r);
    return arn;
}

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->arn;
}

static void fx_open(struct fx *f, const char *key_ref)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_asym(cmk_provider_find("aws"));
    assert_non_null(f->ops);
    snprintf(f->url, sizeof(f->url), "%s/", emu_http_url());
    f->arn = strdup(key_ref);
    assert_non_null(f->arn);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("aws");
    f->cfg.key_ref = MUT("arn:aws:kms:us-east-1:111122223333:key/"
                         "00000000-0000-4000-8000-000000000000");
    f->cfg.region = MUT("us-east-1");
    f->cfg.endpoint = f->url;
    f->aws.creds.credentials_file = creds_file;
    f->cfg.provider_cfg = &f->aws;
    f->cfg.http = &f->http;
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->arn), CMK_OK);
    req_reset(f);
}

static void fx_close(struct fx *f)
{
    f->ops->fini(f->st);
    free(f->st);
    free(f->arn);
}

static void get_pub(struct fx *f, struct cmk_pubkey *pk)
{
    req_reset(f);
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, pk), CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
    assert_int_equal(strlen(f->rq.request_id), 36);
}

/* Signs msg (RAW) and its digest (DIGEST) with s and h; both verify. */
static void sign_both(struct fx *f, EVP_PKEY *k, enum cmk_sig_scheme s,
                      enum cmk_hash h)
{
    static const uint8_t msg[] = "a message the KMS signs";
    uint8_t dg[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    struct cmk_buf sig = {0};

    req_reset(f);
    assert_int_equal(
        f->ops->sign(f->st, &f->rq, s, h, false, msg, sizeof(msg), &sig),
        CMK_OK);
    assert_int_equal(tasym_verify_msg(k, s, h, msg, sizeof(msg), &sig), 1);
    if (s == CMK_SIG_ECDSA)
        assert_int_equal(sig.p[0], 0x30); /* DER, as the KMS gives it */
    else
        assert_int_equal(sig.len, (size_t)EVP_PKEY_get_size(k));
    /* A signature over another message must not verify: the check can
     * fail. */
    assert_int_not_equal(tasym_verify_msg(k, s, h, msg, sizeof(msg) - 1, &sig),
                         1);
    cmk_buf_free(&sig);
    n = (unsigned)tasym_digest(h, msg, sizeof(msg), dg);
    req_reset(f);
    assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, true, dg, n, &sig),
                     CMK_OK);
    assert_int_equal(tasym_verify_msg(k, s, h, msg, sizeof(msg), &sig), 1);
    cmk_buf_free(&sig);
}

#define HBIT(h) (1u << (h))
#define SIGN_HASHES                                                            \
    (HBIT(CMK_HASH_SHA256) | HBIT(CMK_HASH_SHA384) | HBIT(CMK_HASH_SHA512))

/* ---- Public keys ---- */

static void check_pub(const char *arn, enum cmk_asym_kind kind, unsigned bits,
                      int nid, unsigned usage, unsigned hashes)
{
    struct cmk_pubkey pk;
    EVP_PKEY *k;
    struct fx f;

    fx_open(&f, arn);
    get_pub(&f, &pk);
    assert_int_equal(pk.kind, kind);
    assert_int_equal(pk.bits, bits);
    assert_int_equal(pk.curve_nid, nid);
    assert_int_equal(pk.usage, usage);
    /* signing keys: the schemes and hashes of SigningAlgorithms (every
     * scheme of the key's kind); decryption keys: the OAEP hashes of
     * EncryptionAlgorithms, no scheme */
    if (usage == CMK_ASYM_USE_SIGN) {
        assert_int_equal(pk.schemes,
                         kind == CMK_ASYM_RSA
                             ? HBIT(CMK_SIG_RSA_PKCS1) | HBIT(CMK_SIG_RSA_PSS)
                             : HBIT(CMK_SIG_ECDSA));
        assert_int_equal(pk.hashes, hashes);
        assert_int_equal(pk.oaep_hashes, 0);
    } else {
        assert_int_equal(pk.schemes, 0);
        assert_int_equal(pk.hashes, 0);
        assert_int_equal(pk.oaep_hashes, hashes);
    }
    k = tasym_spki_key(&pk.spki);
    assert_int_equal(EVP_PKEY_get_bits(k), (int)bits);
    assert_true(EVP_PKEY_is_a(k, kind == CMK_ASYM_RSA ? "RSA" : "EC"));
    EVP_PKEY_free(k);
    cmk_pubkey_free(&pk);
    fx_close(&f);
}

static void test_public_keys(void **state)
{
    (void)state;
    check_pub(k_rsa2048_sign, CMK_ASYM_RSA, 2048, 0, CMK_ASYM_USE_SIGN,
              SIGN_HASHES);
    check_pub(k_rsa3072_sign, CMK_ASYM_RSA, 3072, 0, CMK_ASYM_USE_SIGN,
              SIGN_HASHES);
    check_pub(k_p256, CMK_ASYM_EC, 256, NID_X9_62_prime256v1, CMK_ASYM_USE_SIGN,
              HBIT(CMK_HASH_SHA256));
    check_pub(k_p384, CMK_ASYM_EC, 384, NID_secp384r1, CMK_ASYM_USE_SIGN,
              HBIT(CMK_HASH_SHA384));
    check_pub(k_p521, CMK_ASYM_EC, 521, NID_secp521r1, CMK_ASYM_USE_SIGN,
              HBIT(CMK_HASH_SHA512));
    check_pub(k_rsa2048_enc, CMK_ASYM_RSA, 2048, 0, CMK_ASYM_USE_DECRYPT,
              HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256));
    check_pub(k_rsa4096_enc, CMK_ASYM_RSA, 4096, 0, CMK_ASYM_USE_DECRYPT,
              HBIT(CMK_HASH_SHA1) | HBIT(CMK_HASH_SHA256));
}

/* A key whose SigningAlgorithms are some of its spec's: the schemes and
 * hashes of those only. */
static void test_signing_algorithms(void **state)
{
    struct cmk_pubkey pk;
    struct fx f;
    json_t *r;
    char *arn;

    (void)state;
    r = emu_ctl("create_key",
                "{\"key_spec\":\"RSA_2048\",\"key_usage\":\"SIGN_VERIFY\","
                "\"signing_algorithms\":[\"RSASSA_PSS_SHA_256\","
                "\"RSASSA_PSS_SHA_384\"]}");
    arn = strdup(json_string_value(json_object_get(r, "arn")));
    assert_non_null(arn);
    json_decref(r);
    fx_open(&f, arn);
    get_pub(&f, &pk);
    assert_int_equal(pk.usage, CMK_ASYM_USE_SIGN);
    assert_int_equal(pk.schemes, HBIT(CMK_SIG_RSA_PSS));
    assert_int_equal(pk.hashes, HBIT(CMK_HASH_SHA256) | HBIT(CMK_HASH_SHA384));
    assert_int_equal(pk.oaep_hashes, 0);
    cmk_pubkey_free(&pk);
    fx_close(&f);
    free(arn);
}

/* ---- Signatures ---- */

static void sign_all(const char *arn, enum cmk_sig_scheme first,
                     enum cmk_sig_scheme last, enum cmk_hash h0,
                     enum cmk_hash h1)
{
    struct cmk_pubkey pk;
    enum cmk_sig_scheme s;
    enum cmk_hash h;
    EVP_PKEY *k;
    struct fx f;

    fx_open(&f, arn);
    get_pub(&f, &pk);
    k = tasym_spki_key(&pk.spki);
    for (s = first; s <= last; s++) {
        for (h = h0; h <= h1; h++)
            sign_both(&f, k, s, h);
    }
    EVP_PKEY_free(k);
    cmk_pubkey_free(&pk);
    fx_close(&f);
}

static void test_sign_every_algorithm(void **state)
{
    (void)state;
    emu_do("reset_calls", "{}");
    sign_all(k_rsa2048_sign, CMK_SIG_RSA_PKCS1, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA256, CMK_HASH_SHA512);
    sign_all(k_rsa3072_sign, CMK_SIG_RSA_PKCS1, CMK_SIG_RSA_PSS,
             CMK_HASH_SHA256, CMK_HASH_SHA512);
    sign_all(k_p256, CMK_SIG_ECDSA, CMK_SIG_ECDSA, CMK_HASH_SHA256,
             CMK_HASH_SHA256);
    sign_all(k_p384, CMK_SIG_ECDSA, CMK_SIG_ECDSA, CMK_HASH_SHA384,
             CMK_HASH_SHA384);
    sign_all(k_p521, CMK_SIG_ECDSA, CMK_SIG_ECDSA, CMK_HASH_SHA512,
             CMK_HASH_SHA512);
    /* 2 keys x 6 algorithms + 3 curves, RAW and DIGEST each */
    assert_int_equal(emu_count("Sign"), 2 * (2 * 6 + 3));
}

/* What the emulator received: the request as the provider sent it. */
static void test_sign_request(void **state)
{
    static const uint8_t dg[32] = {1, 2, 3};
    struct cmk_buf sig = {0};
    json_t *calls;
    struct fx f;

    (void)state;
    fx_open(&f, k_p256);
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, dg, sizeof(dg), &sig),
                     CMK_OK);
    calls = emu_ctl("calls", "{\"op\":\"Sign\"}");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(calls, "calls"), 0),
                            "request_key_id")),
                        k_p256);
    assert_string_equal(f.rq.provider_code, "");
    json_decref(calls);
    cmk_buf_free(&sig);
    fx_close(&f);
}

/* ---- RSAES-OAEP ---- */

static void decrypt_both(const char *arn)
{
    static const uint8_t pt[32] = {0xde, 0xad, 0xbe, 0xef, 7};
    uint8_t ct[512];
    size_t ct_len;
    struct cmk_secret out = {0};
    struct cmk_pubkey pk;
    enum cmk_hash h;
    EVP_PKEY *k;
    struct fx f;

    fx_open(&f, arn);
    get_pub(&f, &pk);
    k = tasym_spki_key(&pk.spki);
    for (h = CMK_HASH_SHA1; h <= CMK_HASH_SHA256; h++) {
        ct_len = tasym_oaep(k, h, pt, sizeof(pt), ct, sizeof(ct));
        req_reset(&f);
        assert_int_equal(f.ops->decrypt(f.st, &f.rq, h, ct, ct_len, &out),
                         CMK_OK);
        assert_int_equal(out.len, sizeof(pt));
        assert_memory_equal(out.p, pt, sizeof(pt));
        cmk_secret_free(&out);
        /* The other hash: the KMS refuses the ciphertext. */
        req_reset(&f);
        assert_int_equal(
            f.ops->decrypt(f.st, &f.rq,
                           h == CMK_HASH_SHA1 ? CMK_HASH_SHA256 : CMK_HASH_SHA1,
                           ct, ct_len, &out),
            CMK_E_BAD_CIPHERTEXT);
        assert_string_equal(f.rq.provider_code, "InvalidCiphertextException");
        assert_null(out.p);
    }
    EVP_PKEY_free(k);
    cmk_pubkey_free(&pk);
    fx_close(&f);
}

static void test_oaep_decrypt(void **state)
{
    (void)state;
    decrypt_both(k_rsa2048_enc);
    decrypt_both(k_rsa4096_enc);
}

/* ---- Refusals ---- */

static void test_wrong_usage(void **state)
{
    static const uint8_t dg[32] = {1};
    uint8_t ct[256] = {1};
    struct cmk_buf sig = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, k_rsa2048_enc);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PSS, CMK_HASH_SHA256,
                                 true, dg, sizeof(dg), &sig),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "InvalidKeyUsageException");
    assert_int_equal(f.rq.http_status, 400);
    assert_int_equal(
        cmk_aws_code_number(f.rq.provider_code),
        CMK_DEVERR_NUMBER(CMK_DEVERR_AWS_INVALID_KEY_USAGE_EXCEPTION));
    fx_close(&f);
    fx_open(&f, k_rsa2048_sign);
    assert_int_equal(
        f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "InvalidKeyUsageException");
    fx_close(&f);
    /* An algorithm the curve does not take (the core sends P-256 keys
     * SHA-256 digests only). */
    fx_open(&f, k_p256);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA384,
                                 false, dg, sizeof(dg), &sig),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "InvalidKeyUsageException");
    assert_null(sig.p);
    fx_close(&f);
}

static void test_disabled_key(void **state)
{
    static const uint8_t dg[32] = {1};
    char *arn = create_key("ECC_NIST_P256", "SIGN_VERIFY");
    struct cmk_buf sig = {0};
    struct cmk_pubkey pk;
    struct fx f;

    (void)state;
    emu_do("disable_key", "{\"key_id\":\"%s\"}", arn);
    fx_open(&f, arn);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "DisabledException");
    assert_null(pk.spki.p);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, dg, sizeof(dg), &sig),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "DisabledException");
    fx_close(&f);
    emu_do("schedule_deletion", "{\"key_id\":\"%s\"}", arn);
    fx_open(&f, arn);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "KMSInvalidStateException");
    fx_close(&f);
    emu_do("delete_key", "{\"key_id\":\"%s\"}", arn);
    fx_open(&f, arn);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk),
                     CMK_E_KEY_NOT_FOUND);
    assert_string_equal(f.rq.provider_code, "NotFoundException");
    fx_close(&f);
    free(arn);
}

static void test_unsupported_specs(void **state)
{
    char *k1 = create_key("ECC_SECG_P256K1", "SIGN_VERIFY");
    char *sym = emu_create_key(NULL);
    struct cmk_pubkey pk;
    struct fx f;

    (void)state;
    fx_open(&f, k1);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk), CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "UnsupportedKeySpec");
    assert_int_equal(f.rq.http_status, 200); /* the exchange that said so */
    assert_int_equal(cmk_aws_code_number("UnsupportedKeySpec"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_AWS_UNSUPPORTED_KEY_SPEC));
    assert_null(pk.spki.p);
    fx_close(&f);
    fx_open(&f, sym);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk), CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "UnsupportedOperationException");
    fx_close(&f);
    free(k1);
    free(sym);
}

static void test_limits_before_call(void **state)
{
    static uint8_t big[4097];
    uint8_t ct[600] = {0};
    struct cmk_buf sig = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, k_rsa2048_sign);
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, false, big, sizeof(big),
                                 &sig),
                     CMK_E_TOO_LARGE);
    assert_string_equal(f.rq.provider_code, "MessageTooLarge");
    assert_int_equal(emu_count("Sign"), 0);
    /* A digest of the wrong length, SHA-1, a scheme of 0: our caller's
     * error, no call. */
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, big, 31, &sig),
                     CMK_E_ARGS);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA1,
                                 true, big, 20, &sig),
                     CMK_E_ARGS);
    assert_int_equal(f.ops->sign(f.st, &f.rq, (enum cmk_sig_scheme)0,
                                 CMK_HASH_SHA256, true, big, 32, &sig),
                     CMK_E_ARGS);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA384, ct, 256, &pt),
                     CMK_E_ARGS);
    assert_int_equal(
        f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
        CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f.rq.provider_code, "CiphertextLength");
    assert_int_equal(emu_count("Sign") + emu_count("Decrypt"), 0);
    /* 4096 bytes is still one call. */
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, false, big, 4096, &sig),
                     CMK_OK);
    assert_int_equal(emu_count("Sign"), 1);
    cmk_buf_free(&sig);
    fx_close(&f);
}

static void test_init_refuses(void **state)
{
    struct fx f;

    (void)state;
    fx_open(&f, k_p256);
    f.ops->fini(f.st);
    assert_int_equal(f.ops->init(f.st, &f.cfg, "not a key ref"), CMK_E_CONFIG);
    assert_int_equal(f.ops->init(f.st, &f.cfg, ""), CMK_E_CONFIG);
    assert_int_equal(f.ops->init(f.st, &f.cfg, NULL), CMK_E_CONFIG);
    assert_int_equal(f.ops->init(f.st, &f.cfg, "alias/asym"), CMK_OK);
    fx_close(&f);
}

/* A 200 answer the provider refuses keeps its exchange in rq. */
static void refused(struct fx *f, cmk_err err, const char *code)
{
    assert_int_equal(err, CMK_E_BAD_RESPONSE);
    assert_string_equal(f->rq.provider_code, code);
    assert_int_equal(f->rq.http_status, 200);
    assert_int_equal(strlen(f->rq.request_id), 36);
}

static void test_malformed_sign(void **state)
{
    static const uint8_t dg[32] = {9};
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, k_p256);
    emu_do("faults", "{\"answer_override\":{\"Signature\":\"%%%%%%\"},"
                     "\"count\":1}");
    refused(&f,
            f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, dg,
                        sizeof(dg), &sig),
            "MalformedResponse");
    assert_null(sig.p);
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"Signature\":null},\"count\":1}");
    refused(&f,
            f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, dg,
                        sizeof(dg), &sig),
            "MalformedResponse");
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           k_p384);
    refused(&f,
            f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, dg,
                        sizeof(dg), &sig),
            "UnexpectedKeyId");
    assert_null(sig.p);
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"SigningAlgorithm\":"
                     "\"ECDSA_SHA_384\"},\"count\":1}");
    refused(&f,
            f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, dg,
                        sizeof(dg), &sig),
            "UnexpectedAlgorithm");
    assert_null(sig.p);
    req_reset(&f);
    emu_do("faults", "{\"malformed_rate\":1,\"count\":1}");
    refused(&f,
            f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256, true, dg,
                        sizeof(dg), &sig),
            "MalformedResponse");
    fx_close(&f);
}

static void test_malformed_public_key(void **state)
{
    struct cmk_pubkey pk, other;
    struct fx f;
    char *b64 = NULL;

    (void)state;
    fx_open(&f, k_p384);
    get_pub(&f, &other); /* a P-384 key's SPKI, to pass off as P-256's */
    fx_close(&f);
    b64 = calloc(1, 4 * other.spki.len / 3 + 8);
    assert_non_null(b64);
    assert_true(EVP_EncodeBlock((unsigned char *)b64, other.spki.p,
                                (int)other.spki.len) > 0);
    fx_open(&f, k_p256);
    emu_do("faults", "{\"answer_override\":{\"PublicKey\":\"%s\"},\"count\":1}",
           b64);
    refused(&f, f.ops->get_public_key(f.st, &f.rq, &pk), "KeySpecMismatch");
    assert_null(pk.spki.p);
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"KeySpec\":\"ECC_NIST_P384\"},"
                     "\"count\":1}");
    refused(&f, f.ops->get_public_key(f.st, &f.rq, &pk), "KeySpecMismatch");
    req_reset(&f);
    emu_do("faults",
           "{\"answer_override\":{\"PublicKey\":\"MIIB\"},\"count\":1}");
    refused(&f, f.ops->get_public_key(f.st, &f.rq, &pk), "MalformedResponse");
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           k_p384);
    refused(&f, f.ops->get_public_key(f.st, &f.rq, &pk), "UnexpectedKeyId");
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"SigningAlgorithms\":"
                     "[\"RSASSA_PSS_SHA_256\"]},\"count\":1}");
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &pk), CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "UnsupportedKeySpec");
    free(b64);
    cmk_pubkey_free(&other);
    fx_close(&f);
}

static void test_malformed_decrypt(void **state)
{
    static const uint8_t pt[16] = {5};
    uint8_t ct[256];
    size_t ct_len = sizeof(ct);
    struct cmk_secret out = {0};
    struct cmk_pubkey pk;
    EVP_PKEY *k;
    struct fx f;

    (void)state;
    fx_open(&f, k_rsa2048_enc);
    get_pub(&f, &pk);
    k = tasym_spki_key(&pk.spki);
    ct_len = tasym_oaep(k, CMK_HASH_SHA256, pt, sizeof(pt), ct, sizeof(ct));
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"EncryptionAlgorithm\":"
                     "\"RSAES_OAEP_SHA_1\"},\"count\":1}");
    refused(&f, f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, ct_len, &out),
            "UnexpectedAlgorithm");
    assert_null(out.p);
    req_reset(&f);
    emu_do("faults", "{\"answer_override\":{\"KeyId\":\"%s\"},\"count\":1}",
           k_rsa4096_enc);
    refused(&f, f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, ct_len, &out),
            "UnexpectedKeyId");
    assert_null(out.p);
    req_reset(&f);
    emu_do("faults",
           "{\"answer_override\":{\"Plaintext\":\"%%%%\"},\"count\":1}");
    refused(&f, f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, ct_len, &out),
            "MalformedResponse");
    assert_null(out.p);
    EVP_PKEY_free(k);
    cmk_pubkey_free(&pk);
    fx_close(&f);
}

/* Same retries as the CMK's calls: one throttled answer, then success. */
static void test_throttle_retried(void **state)
{
    static const uint8_t dg[48] = {3};
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, k_p384);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"throttle_rate\":1,\"count\":1,\"for_ops\":[\"Sign\"]}");
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA384,
                                 true, dg, sizeof(dg), &sig),
                     CMK_OK);
    assert_int_equal(emu_count("Sign"), 2);
    cmk_buf_free(&sig);
    fx_close(&f);
}

/* A key pair replaced behind the key: the next GetPublicKey shows it
 * (the core compares it with what it cached). */
static void test_replaced_key_pair(void **state)
{
    char *arn = create_key("ECC_NIST_P256", "SIGN_VERIFY");
    struct cmk_pubkey a, b;
    struct fx f;

    (void)state;
    fx_open(&f, arn);
    get_pub(&f, &a);
    emu_do("replace_key_pair", "{\"key_id\":\"%s\"}", arn);
    get_pub(&f, &b);
    assert_int_equal(a.spki.len, b.spki.len);
    assert_memory_not_equal(a.spki.p, b.spki.p, a.spki.len);
    cmk_pubkey_free(&a);
    cmk_pubkey_free(&b);
    fx_close(&f);
    free(arn);
}

/* ---- Setup ---- */

static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
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
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       NULL};
    size_t i;

    (void)state;
    for (i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
    setenv("HOME", emu_tmp(), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    if (cmk_mech_init() != CKR_OK)
        return -1;
    snprintf(creds_file, sizeof(creds_file), "%s/aws-asym-creds.json",
             emu_tmp());
    emu_write_file(creds_file, 0600,
                   "{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"}",
                   AKID, SECRET);
    emu_add_creds(AKID, SECRET);
    k_rsa2048_sign = create_key("RSA_2048", "SIGN_VERIFY");
    k_rsa3072_sign = create_key("RSA_3072", "SIGN_VERIFY");
    k_p256 = create_key("ECC_NIST_P256", "SIGN_VERIFY");
    k_p384 = create_key("ECC_NIST_P384", "SIGN_VERIFY");
    k_p521 = create_key("ECC_NIST_P521", "SIGN_VERIFY");
    k_rsa2048_enc = create_key("RSA_2048", "ENCRYPT_DECRYPT");
    k_rsa4096_enc = create_key("RSA_4096", "ENCRYPT_DECRYPT");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(k_rsa2048_sign);
    free(k_rsa3072_sign);
    free(k_p256);
    free(k_p384);
    free(k_p521);
    free(k_rsa2048_enc);
    free(k_rsa4096_enc);
    cmk_mech_fini();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_public_keys, setup),
        cmocka_unit_test_setup(test_signing_algorithms, setup),
        cmocka_unit_test_setup(test_sign_every_algorithm, setup),
        cmocka_unit_test_setup(test_sign_request, setup),
        cmocka_unit_test_setup(test_oaep_decrypt, setup),
        cmocka_unit_test_setup(test_wrong_usage, setup),
        cmocka_unit_test_setup(test_disabled_key, setup),
        cmocka_unit_test_setup(test_unsupported_specs, setup),
        cmocka_unit_test_setup(test_limits_before_call, setup),
        cmocka_unit_test_setup(test_init_refuses, setup),
        cmocka_unit_test_setup(test_malformed_sign, setup),
        cmocka_unit_test_setup(test_malformed_public_key, setup),
        cmocka_unit_test_setup(test_malformed_decrypt, setup),
        cmocka_unit_test_setup(test_throttle_retried, setup),
        cmocka_unit_test_setup(test_replaced_key_pair, setup),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_aws_asym.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
