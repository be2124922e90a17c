/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: gcp key pairs (providers/gcp_asym.c, cmk_provider_asym)
 * against the KMS emulator's Cloud KMS routes (run by
 * tests/unit/emu_gcp_asym.sh): the public key of every algorithm the
 * module takes, signatures of a digest and of a message verified by
 * OpenSSL against the SPKI, OAEP decryption of ciphertexts OpenSSL made,
 * the algorithms refused (UnsupportedKeySpec), the wrong usage, scheme or
 * hash refused without a call, the KMS's own refusal of a digest, a
 * corrupted checksum in each answer retried and, when it stays, refused,
 * answers that name another version, carry a public key not of the
 * algorithm or a signature of the wrong length, a bad ciphertext, a
 * disabled version, IAM, and the ulDeviceError
 * numbers of the new codes.
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
#include "providers/gcp_int.h"
#include "providers/provider.h"

#define MUT(s) ((char *)(uintptr_t)(s))
#define RING "projects/p1/locations/global/keyRings/ra"
#define MD_SA "md@p1.iam.gserviceaccount.com"

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_http_cfg http;
    char ref[300];
    const struct cmk_asym_ops *ops;
    void *st;
    struct cmk_req rq;
};

static unsigned key_seq;

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->ref;
}

/* A new key of algorithm alg; ref gets its version 1. */
static void new_key(char *ref, size_t n, const char *alg)
{
    char key[256];

    snprintf(key, sizeof(key), RING "/cryptoKeys/a%u", ++key_seq);
    emu_do("gcp_create_asym_key", "{\"name\":\"%s\",\"algorithm\":\"%s\"}", key,
           alg);
    snprintf(ref, n, "%s/cryptoKeyVersions/1", key);
}

static void fx_open_ref(struct fx *f, const char *ref)
{
    const struct cmk_provider_ops *p = cmk_provider_find("gcp");

    memset(f, 0, sizeof(*f));
    assert_non_null(p);
    assert_non_null(cmk_provider_asym(p));
    f->ops = cmk_provider_asym(p);
    snprintf(f->ref, sizeof(f->ref), "%s", ref);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("gcp");
    f->cfg.key_ref = MUT("projects/p1/locations/global/keyRings/ra/"
                         "cryptoKeys/cmk");
    f->cfg.endpoint = MUT(emu_http_url());
    f->cfg.http = &f->http;
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->ref), CMK_OK);
    req_reset(f);
}

/* A new key of algorithm alg and an instance on its version 1. */
static void fx_open(struct fx *f, const char *alg)
{
    char ref[300];

    new_key(ref, sizeof(ref), alg);
    fx_open_ref(f, ref);
}

static void fx_close(struct fx *f)
{
    f->ops->fini(f->st);
    free(f->st);
}

static void pubkey_ok(struct fx *f, struct cmk_pubkey *k)
{
    req_reset(f);
    assert_int_equal(f->ops->get_public_key(f->st, &f->rq, k), CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
    assert_string_equal(f->rq.provider_code, "");
}

static size_t hash_len(enum cmk_hash h)
{
    return h == CMK_HASH_SHA256 ? 32 : h == CMK_HASH_SHA384 ? 48 : 64;
}

/* ---- every algorithm ---- */

struct sign_case {
    const char *alg;
    enum cmk_asym_kind kind;
    unsigned bits;
    int nid;
    enum cmk_sig_scheme s;
    enum cmk_hash h;
};

static const struct sign_case sign_cases[] = {
    {"RSA_SIGN_PKCS1_2048_SHA256", CMK_ASYM_RSA, 2048, 0, CMK_SIG_RSA_PKCS1,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PKCS1_3072_SHA256", CMK_ASYM_RSA, 3072, 0, CMK_SIG_RSA_PKCS1,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PKCS1_4096_SHA256", CMK_ASYM_RSA, 4096, 0, CMK_SIG_RSA_PKCS1,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PKCS1_4096_SHA512", CMK_ASYM_RSA, 4096, 0, CMK_SIG_RSA_PKCS1,
     CMK_HASH_SHA512},
    {"RSA_SIGN_PSS_2048_SHA256", CMK_ASYM_RSA, 2048, 0, CMK_SIG_RSA_PSS,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PSS_3072_SHA256", CMK_ASYM_RSA, 3072, 0, CMK_SIG_RSA_PSS,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PSS_4096_SHA256", CMK_ASYM_RSA, 4096, 0, CMK_SIG_RSA_PSS,
     CMK_HASH_SHA256},
    {"RSA_SIGN_PSS_4096_SHA512", CMK_ASYM_RSA, 4096, 0, CMK_SIG_RSA_PSS,
     CMK_HASH_SHA512},
    {"EC_SIGN_P256_SHA256", CMK_ASYM_EC, 256, NID_X9_62_prime256v1,
     CMK_SIG_ECDSA, CMK_HASH_SHA256},
    {"EC_SIGN_P384_SHA384", CMK_ASYM_EC, 384, NID_secp384r1, CMK_SIG_ECDSA,
     CMK_HASH_SHA384},
};

static void sign_one(const struct sign_case *c)
{
    static const char msg[] = "a message to sign";
    uint8_t d[64];
    unsigned dlen = 0;
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    fx_open(&f, c->alg);
    pubkey_ok(&f, &k);
    assert_int_equal(k.kind, c->kind);
    assert_int_equal(k.bits, c->bits);
    assert_int_equal(k.curve_nid, c->nid);
    assert_int_equal(k.usage, CMK_ASYM_USE_SIGN);
    /* a version signs with one scheme and one hash, its algorithm's */
    assert_int_equal(k.schemes, 1u << c->s);
    assert_int_equal(k.hashes, 1u << c->h);
    assert_int_equal(k.oaep_hashes, 0);
    /* digest */
    assert_int_equal(
        EVP_Digest(msg, sizeof(msg) - 1, d, &dlen, tasym_md(c->h), NULL), 1);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, c->s, c->h, true, d, dlen, &sig),
                     CMK_OK);
    assert_int_equal(f.rq.http_status, 200);
    if (c->kind == CMK_ASYM_RSA)
        assert_int_equal(sig.len, c->bits / 8);
    assert_int_equal(tasym_verify_spki(&k.spki, c->s, c->h, d, dlen, &sig), 1);
    d[0] ^= 1; /* the check can fail */
    assert_int_not_equal(tasym_verify_spki(&k.spki, c->s, c->h, d, dlen, &sig),
                         1);
    d[0] ^= 1;
    cmk_buf_free(&sig);
    /* message: hashed by the provider */
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, c->s, c->h, false,
                                 (const uint8_t *)msg, sizeof(msg) - 1, &sig),
                     CMK_OK);
    assert_int_equal(tasym_verify_spki(&k.spki, c->s, c->h, d, dlen, &sig), 1);
    cmk_buf_free(&sig);
    cmk_pubkey_free(&k);
    fx_close(&f);
}

static void test_sign_every_algorithm(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(sign_cases) / sizeof(sign_cases[0]); i++) {
        print_message("    %s\n", sign_cases[i].alg);
        sign_one(&sign_cases[i]);
    }
}

static void decrypt_one(const char *alg, unsigned bits, enum cmk_hash h)
{
    struct cmk_pubkey k;
    struct cmk_secret pt = {0};
    uint8_t ct[512];
    size_t n;
    struct fx f;

    fx_open(&f, alg);
    pubkey_ok(&f, &k);
    assert_int_equal(k.kind, CMK_ASYM_RSA);
    assert_int_equal(k.bits, bits);
    assert_int_equal(k.curve_nid, 0);
    assert_int_equal(k.usage, CMK_ASYM_USE_DECRYPT);
    /* one OAEP hash, the algorithm's; no signature scheme */
    assert_int_equal(k.schemes, 0);
    assert_int_equal(k.hashes, 0);
    assert_int_equal(k.oaep_hashes, 1u << h);
    n = tasym_oaep_text(&k.spki, h, "a data key", ct, sizeof(ct));
    assert_int_equal(n, bits / 8);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, h, ct, n, &pt), CMK_OK);
    assert_int_equal(f.rq.http_status, 200);
    assert_int_equal(pt.len, strlen("a data key"));
    assert_memory_equal(pt.p, "a data key", pt.len);
    cmk_secret_free(&pt);
    /* a ciphertext of the right length that is not one */
    memset(ct, 0x5a, n);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, h, ct, n, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f.rq.provider_code, "INVALID_ARGUMENT");
    assert_null(pt.p);
    cmk_pubkey_free(&k);
    fx_close(&f);
}

static void test_decrypt_every_algorithm(void **state)
{
    static const struct {
        const char *alg;
        unsigned bits;
        enum cmk_hash h;
    } t[] = {
        {"RSA_DECRYPT_OAEP_2048_SHA256", 2048, CMK_HASH_SHA256},
        {"RSA_DECRYPT_OAEP_3072_SHA256", 3072, CMK_HASH_SHA256},
        {"RSA_DECRYPT_OAEP_4096_SHA256", 4096, CMK_HASH_SHA256},
        {"RSA_DECRYPT_OAEP_2048_SHA1", 2048, CMK_HASH_SHA1},
        {"RSA_DECRYPT_OAEP_3072_SHA1", 3072, CMK_HASH_SHA1},
        {"RSA_DECRYPT_OAEP_4096_SHA1", 4096, CMK_HASH_SHA1},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        print_message("    %s\n", t[i].alg);
        decrypt_one(t[i].alg, t[i].bits, t[i].h);
    }
}

/* ---- refusals ---- */

static void test_unsupported_algorithms(void **state)
{
    static const char *const algs[] = {
        "EC_SIGN_SECP256K1_SHA256",
        "RSA_SIGN_RAW_PKCS1_2048",
        "RSA_DECRYPT_OAEP_4096_SHA512",
    };
    struct cmk_pubkey k;
    struct fx f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        fx_open(&f, algs[i]);
        assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_CONFIG);
        assert_string_equal(f.rq.provider_code, "UnsupportedKeySpec");
        assert_null(k.spki.p);
        fx_close(&f);
    }
}

/* A symmetric key's version: the KMS refuses getPublicKey itself. */
static void test_symmetric_key(void **state)
{
    char key[256], ref[300];
    struct cmk_pubkey k;
    struct fx f;

    (void)state;
    snprintf(key, sizeof(key), RING "/cryptoKeys/sym%u", ++key_seq);
    emu_do("gcp_create_key", "{\"name\":\"%s\"}", key);
    snprintf(ref, sizeof(ref), "%s/cryptoKeyVersions/1", key);
    fx_open_ref(&f, ref);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "FAILED_PRECONDITION");
    assert_int_equal(f.rq.http_status, 400);
    fx_close(&f);
}

/* A key pair is a version: a cryptoKey name is refused at init. */
static void test_version_required(void **state)
{
    const struct cmk_provider_ops *p = cmk_provider_find("gcp");
    struct cmk_kms_cfg cfg;
    void *st = calloc(1, cmk_provider_asym(p)->state_size);

    (void)state;
    assert_non_null(st);
    memset(&cfg, 0, sizeof(cfg));
    cfg.label = MUT("t1");
    cfg.provider = MUT("gcp");
    cfg.endpoint = MUT(emu_http_url());
    assert_int_equal(
        cmk_provider_asym(p)->init(st, &cfg, RING "/cryptoKeys/a1"),
        CMK_E_CONFIG);
    assert_int_equal(cmk_provider_asym(p)->init(st, &cfg, "not-a-name"),
                     CMK_E_CONFIG);
    free(st);
}

static void sign_refused(struct fx *f, enum cmk_sig_scheme s, enum cmk_hash h,
                         const char *code)
{
    uint8_t d[64] = {0};
    struct cmk_buf sig = {0};

    req_reset(f);
    assert_int_equal(
        f->ops->sign(f->st, &f->rq, s, h, true, d, hash_len(h), &sig),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(f->rq.provider_code, code);
    assert_null(sig.p);
}

/* Usage, scheme and hash: refused before any call. */
static void test_wrong_usage(void **state)
{
    struct cmk_pubkey k;
    struct cmk_secret pt = {0};
    uint8_t ct[256] = {0};
    struct fx f, g;

    (void)state;
    fx_open(&f, "RSA_DECRYPT_OAEP_2048_SHA256");
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    fx_open(&g, "RSA_SIGN_PKCS1_2048_SHA256");
    pubkey_ok(&g, &k);
    cmk_pubkey_free(&k);
    emu_do("reset_calls", "{}");
    sign_refused(&f, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256, "WrongPurpose");
    req_reset(&g);
    assert_int_equal(
        g.ops->decrypt(g.st, &g.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(g.rq.provider_code, "WrongPurpose");
    sign_refused(&g, CMK_SIG_RSA_PSS, CMK_HASH_SHA256, "WrongAlgorithm");
    sign_refused(&g, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA384, "WrongAlgorithm");
    req_reset(&f);
    assert_int_equal(
        f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA1, ct, sizeof(ct), &pt),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "WrongAlgorithm");
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, 255, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f.rq.provider_code, "CiphertextLength");
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&f);
    fx_close(&g);
}

/* Without getPublicKey first, sign asks for it, then checks. */
static void test_algorithm_fetched(void **state)
{
    uint8_t d[32] = {1};
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "EC_SIGN_P256_SHA256");
    emu_do("reset_calls", "{}");
    sign_refused(&f, CMK_SIG_ECDSA, CMK_HASH_SHA384, "WrongAlgorithm");
    assert_int_equal(emu_count("GCP.GetPublicKey"), 1);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_OK);
    assert_int_equal(emu_count("GCP.GetPublicKey"), 1);
    assert_int_equal(emu_count("GCP.AsymmetricSign"), 1);
    cmk_buf_free(&sig);
    fx_close(&f);
}

/* The KMS's own refusal of a digest (our cached algorithm made wrong on
 * purpose) is CMK_E_ACCESS_DENIED with its status. */
static void test_kms_refuses_digest(void **state)
{
    struct cmk_pubkey k;
    struct fx f;

    (void)state;
    fx_open(&f, "EC_SIGN_P256_SHA256");
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    atomic_store(&((struct gcp_state *)f.st)->algorithm,
                 CMK_GCP_EC_SIGN_P384_SHA384);
    emu_do("reset_calls", "{}");
    sign_refused(&f, CMK_SIG_ECDSA, CMK_HASH_SHA384, "INVALID_ARGUMENT");
    assert_int_equal(f.rq.http_status, 400);
    assert_int_equal(emu_count("GCP.AsymmetricSign"), 1);
    fx_close(&f);
}

/* ---- checksums ---- */

static void test_bad_crc_retried(void **state)
{
    uint8_t d[32] = {2}, ct[256];
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct cmk_secret pt = {0};
    struct fx f, g;

    (void)state;
    fx_open(&f, "RSA_SIGN_PSS_2048_SHA256");
    fx_open(&g, "RSA_DECRYPT_OAEP_2048_SHA256");
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.GetPublicKey\"],"
                     "\"count\":1}");
    pubkey_ok(&f, &k);
    assert_int_equal(emu_count("GCP.GetPublicKey"), 2);
    assert_int_equal(emu_count_error("GCP.GetPublicKey", "fault:bad_crc"), 1);
    emu_do("faults", "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.AsymmetricSign\"]"
                     ",\"count\":1}");
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PSS, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_OK);
    assert_int_equal(emu_count("GCP.AsymmetricSign"), 2);
    assert_int_equal(tasym_verify_spki(&k.spki, CMK_SIG_RSA_PSS,
                                       CMK_HASH_SHA256, d, sizeof(d), &sig),
                     1);
    cmk_buf_free(&sig);
    cmk_pubkey_free(&k);
    pubkey_ok(&g, &k);
    assert_int_equal(
        tasym_oaep_text(&k.spki, CMK_HASH_SHA256, "dek", ct, sizeof(ct)), 256);
    emu_do("faults", "{\"bad_crc_rate\":1,\"for_ops\":"
                     "[\"GCP.AsymmetricDecrypt\"],\"count\":1}");
    req_reset(&g);
    assert_int_equal(
        g.ops->decrypt(g.st, &g.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
        CMK_OK);
    assert_int_equal(emu_count("GCP.AsymmetricDecrypt"), 2);
    assert_int_equal(pt.len, 3);
    assert_memory_equal(pt.p, "dek", 3);
    cmk_secret_free(&pt);
    cmk_pubkey_free(&k);
    fx_close(&f);
    fx_close(&g);
}

static void test_bad_crc_refused(void **state)
{
    uint8_t d[32] = {3};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "RSA_SIGN_PKCS1_2048_SHA256");
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"bad_crc_rate\":1,\"for_ops\":[\"GCP.*\"]}");
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, d, sizeof(d), &sig),
                     CMK_E_INTEGRITY);
    assert_string_equal(f.rq.provider_code, "IntegrityMismatch");
    assert_null(sig.p);
    assert_int_equal(emu_count("GCP.AsymmetricSign"), 3);
    req_reset(&f);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_INTEGRITY);
    assert_string_equal(f.rq.provider_code, "IntegrityMismatch");
    assert_null(k.spki.p);
    assert_int_equal(emu_count("GCP.GetPublicKey"), 3);
    emu_do("clear_faults", "{}");
    fx_close(&f);
}

/* ---- answers checked ---- */

/* A public key that is not the algorithm's, a version's answer naming
 * another version, a signature of the wrong length: refused, not
 * retried. */
static void test_answer_checks(void **state)
{
    char other[300];
    uint8_t d[32] = {6};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    new_key(other, sizeof(other), "EC_SIGN_P384_SHA384");
    fx_open(&f, "RSA_SIGN_PKCS1_2048_SHA256");
    emu_do("reset_calls", "{}");
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\",\"pem_of\":\"%s\"}", f.ref,
           other);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "PublicKeyMismatch");
    assert_null(k.spki.p);
    assert_int_equal(emu_count("GCP.GetPublicKey"), 1);
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\",\"name\":\"%s\"}", f.ref,
           other);
    req_reset(&f);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "UnexpectedKeyVersion");
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\"}", f.ref);
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\",\"name\":\"%s\"}", f.ref,
           other);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, d, sizeof(d), &sig),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "UnexpectedKeyVersion");
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\",\"signature_len\":255}",
           f.ref);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, d, sizeof(d), &sig),
                     CMK_E_BAD_RESPONSE);
    assert_string_equal(f.rq.provider_code, "SignatureMalformed");
    assert_null(sig.p);
    assert_int_equal(emu_count("GCP.AsymmetricSign"), 2);
    emu_do("gcp_asym_tamper", "{\"version\":\"%s\"}", f.ref);
    fx_close(&f);
}

/* ---- key state, IAM, numbers ---- */

static void test_disabled_version(void **state)
{
    uint8_t d[32] = {4};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "EC_SIGN_P384_SHA384");
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    emu_do("gcp_set_version_state", "{\"name\":\"%s\",\"state\":\"DISABLED\"}",
           f.ref);
    req_reset(&f);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "FAILED_PRECONDITION");
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_E_ACCESS_DENIED); /* P-384: SHA-384 only */
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA384,
                                 true,
                                 (const uint8_t *)"0123456789abcdef"
                                                  "0123456789abcdef"
                                                  "0123456789abcdef",
                                 48, &sig),
                     CMK_E_KEY_DISABLED);
    assert_string_equal(f.rq.provider_code, "FAILED_PRECONDITION");
    fx_close(&f);
}

static void test_permission_denied(void **state)
{
    uint8_t d[32] = {5};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "EC_SIGN_P256_SHA256");
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"sign\"]}}",
           MD_SA, RING);
    req_reset(&f);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "PERMISSION_DENIED");
    emu_do("gcp_iam",
           "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"public_key\"]}}",
           MD_SA, RING);
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_E_ACCESS_DENIED);
    assert_string_equal(f.rq.provider_code, "PERMISSION_DENIED");
    assert_int_equal(f.rq.http_status, 403);
    fx_close(&f);
}

static void test_code_numbers(void **state)
{
    const struct cmk_provider_ops *p = cmk_provider_find("gcp");

    (void)state;
    assert_int_equal(p->code_number("UnsupportedKeySpec"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_GCP_UNSUPPORTED_KEY_SPEC));
    assert_int_equal(p->code_number("UnsupportedKeySpec"), 123);
    assert_int_equal(p->code_number("WrongAlgorithm"), 124);
    assert_int_equal(p->code_number("PublicKeyMismatch"), 125);
    assert_int_equal(p->code_number("SignatureMalformed"), 126);
    assert_int_equal(p->code_number("WrongPurpose"), 320);
}

static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"*\"]}}",
           MD_SA, RING);
    return 0;
}

static int group_setup(void **state)
{
    const char *url = emu_http_url();

    (void)state;
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("HOME", emu_tmp(), 1);
    setenv("GCE_METADATA_HOST", url + strlen("http://"), 1);
    if (cmk_mech_init() != CKR_OK)
        return -1;
    emu_do("gcp_create_key_ring", "{\"name\":\"%s\"}", RING);
    emu_do("gcp_metadata", "{\"principal\":\"%s\",\"enabled\":true}", MD_SA);
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
        cmocka_unit_test_setup(test_sign_every_algorithm, setup),
        cmocka_unit_test_setup(test_decrypt_every_algorithm, setup),
        cmocka_unit_test_setup(test_unsupported_algorithms, setup),
        cmocka_unit_test_setup(test_symmetric_key, setup),
        cmocka_unit_test_setup(test_version_required, setup),
        cmocka_unit_test_setup(test_wrong_usage, setup),
        cmocka_unit_test_setup(test_algorithm_fetched, setup),
        cmocka_unit_test_setup(test_kms_refuses_digest, setup),
        cmocka_unit_test_setup(test_bad_crc_retried, setup),
        cmocka_unit_test_setup(test_bad_crc_refused, setup),
        cmocka_unit_test_setup(test_answer_checks, setup),
        cmocka_unit_test_setup(test_disabled_version, setup),
        cmocka_unit_test_setup(test_permission_denied, setup),
        cmocka_unit_test_setup(test_code_numbers, setup),
    };

    if (emu_http_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_gcp_asym.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
