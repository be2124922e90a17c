/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: vault key pairs (providers/vault_asym.c,
 * cmk_provider_asym) against the KMS emulator's transit routes (run
 * by tests/unit/emu_vault_asym.sh): the public key of every key type the
 * module takes, signatures of digests and messages with each scheme and
 * hash verified by OpenSSL against the SPKI, the exact sign request, an
 * OAEP ciphertext made by OpenSSL decrypted, a version named in the key
 * reference kept after a rotation, the refusals (a symmetric key, SHA-1,
 * OAEP with SHA-1, the other scheme, decryption with an ECDSA key, a
 * ciphertext of the wrong length or not the key's), answers naming
 * another version, carrying another key's public key or a signature cut
 * short, a policy without the sign path, and the ulDeviceError numbers.
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
#include "providers/provider.h"
#include "providers/vault_cfg.h"
#include "providers/vault_int.h"

#define MUT(s) ((char *)(uintptr_t)(s))

static char root_token[128];
static char addr[128];
static const char *env_token;
static unsigned key_seq;

static const char *fake_env(const char *name)
{
    return strcmp(name, "VAULT_TOKEN") == 0 ? env_token : NULL;
}

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_vault_cfg v;
    struct cmk_http_cfg http;
    char name[64];
    char ref[80];
    const struct cmk_asym_ops *ops;
    void *st;
    struct cmk_req rq;
};

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->ref;
}

static void new_key(const char *type, char *name, size_t n)
{
    snprintf(name, n, "pair%u", ++key_seq);
    emu_do("vault_create_key", "{\"name\":\"%s\",\"type\":\"%s\"}", name, type);
}

/* An instance on key reference ref (name or name:N) of key name. */
static void fx_open_ref(struct fx *f, const char *name, const char *ref)
{
    const struct cmk_provider_ops *p = cmk_provider_find("vault");
    struct vault_state *st;

    memset(f, 0, sizeof(*f));
    assert_non_null(p);
    assert_non_null(cmk_provider_asym(p));
    f->ops = cmk_provider_asym(p);
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->ref, sizeof(f->ref), "%s", ref);
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->http.ca_file = MUT(emu_ca());
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("vault");
    f->cfg.key_ref = MUT("cmk");
    f->cfg.http = &f->http;
    f->v.ttl = 60;
    f->v.address = addr;
    f->cfg.provider_cfg = &f->v;
    env_token = root_token;
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    st = f->st;
    st->getenv = fake_env;
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->ref), CMK_OK);
    req_reset(f);
}

static void fx_open(struct fx *f, const char *type)
{
    char name[64];

    new_key(type, name, sizeof(name));
    fx_open_ref(f, name, name);
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
    assert_true(f->rq.request_id[0] != '\0');
}

/* sign msg with (s, h), as a digest and as a message; both verify. */
static void sign_verify(struct fx *f, const struct cmk_pubkey *k,
                        enum cmk_sig_scheme s, enum cmk_hash h)
{
    static const char msg[] = "signed through transit";
    uint8_t d[64];
    unsigned dlen = 0;
    struct cmk_buf sig = {0};

    assert_int_equal(
        EVP_Digest(msg, sizeof(msg) - 1, d, &dlen, tasym_md(h), NULL), 1);
    req_reset(f);
    assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, true, d, dlen, &sig),
                     CMK_OK);
    assert_int_equal(f->rq.http_status, 200);
    if (k->kind == CMK_ASYM_RSA)
        assert_int_equal(sig.len, k->bits / 8);
    assert_int_equal(tasym_verify_spki(&k->spki, s, h, d, dlen, &sig), 1);
    d[1] ^= 0x80;
    assert_int_not_equal(tasym_verify_spki(&k->spki, s, h, d, dlen, &sig), 1);
    d[1] ^= 0x80;
    cmk_buf_free(&sig);
    req_reset(f);
    assert_int_equal(f->ops->sign(f->st, &f->rq, s, h, false,
                                  (const uint8_t *)msg, sizeof(msg) - 1, &sig),
                     CMK_OK);
    assert_int_equal(tasym_verify_spki(&k->spki, s, h, d, dlen, &sig), 1);
    cmk_buf_free(&sig);
}

static const unsigned all_hashes =
    (1u << CMK_HASH_SHA256) | (1u << CMK_HASH_SHA384) | (1u << CMK_HASH_SHA512);

/* ---- every type ---- */

static void test_rsa_types(void **state)
{
    static const struct {
        const char *type;
        unsigned bits;
    } t[] = {{"rsa-2048", 2048}, {"rsa-3072", 3072}, {"rsa-4096", 4096}};
    static const enum cmk_hash hs[] = {CMK_HASH_SHA256, CMK_HASH_SHA384,
                                       CMK_HASH_SHA512};
    struct cmk_pubkey k;
    struct fx f;
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        print_message("    %s\n", t[i].type);
        fx_open(&f, t[i].type);
        pubkey_ok(&f, &k);
        assert_int_equal(k.kind, CMK_ASYM_RSA);
        assert_int_equal(k.bits, t[i].bits);
        assert_int_equal(k.curve_nid, 0);
        assert_int_equal(k.usage, CMK_ASYM_USE_SIGN | CMK_ASYM_USE_DECRYPT);
        /* PKCS#1 v1.5 and PSS, SHA-2; OAEP with SHA-256 only */
        assert_int_equal(k.schemes,
                         1u << CMK_SIG_RSA_PKCS1 | 1u << CMK_SIG_RSA_PSS);
        assert_int_equal(k.hashes, all_hashes);
        assert_int_equal(k.oaep_hashes, 1u << CMK_HASH_SHA256);
        for (j = 0; j < sizeof(hs) / sizeof(hs[0]); j++) {
            sign_verify(&f, &k, CMK_SIG_RSA_PKCS1, hs[j]);
            sign_verify(&f, &k, CMK_SIG_RSA_PSS, hs[j]);
        }
        cmk_pubkey_free(&k);
        fx_close(&f);
    }
}

static void test_ecdsa_types(void **state)
{
    static const struct {
        const char *type;
        unsigned bits;
        int nid;
    } t[] = {{"ecdsa-p256", 256, NID_X9_62_prime256v1},
             {"ecdsa-p384", 384, NID_secp384r1},
             {"ecdsa-p521", 521, NID_secp521r1}};
    struct cmk_pubkey k;
    struct fx f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        print_message("    %s\n", t[i].type);
        fx_open(&f, t[i].type);
        pubkey_ok(&f, &k);
        assert_int_equal(k.kind, CMK_ASYM_EC);
        assert_int_equal(k.bits, t[i].bits);
        assert_int_equal(k.curve_nid, t[i].nid);
        assert_int_equal(k.usage, CMK_ASYM_USE_SIGN);
        assert_int_equal(k.schemes, 1u << CMK_SIG_ECDSA);
        assert_int_equal(k.hashes, all_hashes);
        assert_int_equal(k.oaep_hashes, 0);
        sign_verify(&f, &k, CMK_SIG_ECDSA, CMK_HASH_SHA256);
        sign_verify(&f, &k, CMK_SIG_ECDSA, CMK_HASH_SHA384);
        sign_verify(&f, &k, CMK_SIG_ECDSA, CMK_HASH_SHA512);
        cmk_pubkey_free(&k);
        fx_close(&f);
    }
}

/* What went to transit, as its call log has it. */
static void test_sign_request(void **state)
{
    uint8_t d[48] = {7};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    json_t *r, *call, *members;
    struct fx f;

    (void)state;
    fx_open(&f, "rsa-2048");
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PSS, CMK_HASH_SHA384,
                                 true, d, sizeof(d), &sig),
                     CMK_OK);
    cmk_buf_free(&sig);
    r = emu_ctl("calls", "{\"op\":\"VAULT.Sign\"}");
    call = json_array_get(json_object_get(r, "calls"), 0);
    assert_non_null(call);
    assert_int_equal(json_integer_value(json_object_get(call, "key_version")),
                     1);
    members = json_object_get(call, "body_members");
    assert_int_equal(json_array_size(members), 6);
    assert_string_equal(json_string_value(json_array_get(members, 0)),
                        "hash_algorithm");
    assert_string_equal(json_string_value(json_array_get(members, 1)), "input");
    assert_string_equal(json_string_value(json_array_get(members, 2)),
                        "key_version");
    assert_string_equal(json_string_value(json_array_get(members, 3)),
                        "prehashed");
    assert_string_equal(json_string_value(json_array_get(members, 4)),
                        "salt_length");
    assert_string_equal(json_string_value(json_array_get(members, 5)),
                        "signature_algorithm");
    json_decref(r);
    fx_close(&f);
}

static void test_decrypt(void **state)
{
    struct cmk_pubkey k;
    struct cmk_secret pt = {0};
    uint8_t ct[512];
    size_t n;
    struct fx f;

    (void)state;
    fx_open(&f, "rsa-3072");
    pubkey_ok(&f, &k);
    n = tasym_oaep_text(&k.spki, CMK_HASH_SHA256, "a wrapped key", ct,
                        sizeof(ct));
    assert_int_equal(n, 384);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, n, &pt),
                     CMK_OK);
    assert_int_equal(pt.len, strlen("a wrapped key"));
    assert_memory_equal(pt.p, "a wrapped key", pt.len);
    cmk_secret_free(&pt);
    /* not the key's: transit's RSA decryption fails */
    memset(ct, 0x33, n);
    req_reset(&f);
    assert_int_equal(f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, n, &pt),
                     CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(f.rq.provider_code, "RsaDecryptFailed");
    assert_int_equal(f.rq.http_status, 400);
    assert_null(pt.p);
    cmk_pubkey_free(&k);
    fx_close(&f);
}

/* "name:1" keeps version 1 after a rotation: its public key, signatures
 * and ciphertexts; a version the key does not have is refused. */
static void test_pinned_version(void **state)
{
    char name[64], ref[80];
    uint8_t d[32] = {9}, ct[256];
    struct cmk_pubkey k1, k2;
    struct cmk_buf sig = {0};
    struct cmk_secret pt = {0};
    struct fx f, g;

    (void)state;
    new_key("rsa-2048", name, sizeof(name));
    snprintf(ref, sizeof(ref), "%s:1", name);
    fx_open_ref(&f, name, ref);
    pubkey_ok(&f, &k1);
    emu_do("vault_rotate", "{\"name\":\"%s\"}", name);
    fx_open_ref(&g, name, name); /* the latest: version 2 */
    pubkey_ok(&g, &k2);
    assert_false(k1.spki.len == k2.spki.len &&
                 memcmp(k1.spki.p, k2.spki.p, k1.spki.len) == 0);
    cmk_pubkey_free(&k2);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1,
                                 CMK_HASH_SHA256, true, d, sizeof(d), &sig),
                     CMK_OK);
    assert_int_equal(tasym_verify_spki(&k1.spki, CMK_SIG_RSA_PKCS1,
                                       CMK_HASH_SHA256, d, sizeof(d), &sig),
                     1);
    cmk_buf_free(&sig);
    assert_int_equal(
        tasym_oaep_text(&k1.spki, CMK_HASH_SHA256, "v1", ct, sizeof(ct)), 256);
    req_reset(&f);
    assert_int_equal(
        f.ops->decrypt(f.st, &f.rq, CMK_HASH_SHA256, ct, sizeof(ct), &pt),
        CMK_OK);
    assert_memory_equal(pt.p, "v1", 2);
    cmk_secret_free(&pt);
    cmk_pubkey_free(&k1);
    fx_close(&f);
    fx_close(&g);
    snprintf(ref, sizeof(ref), "%s:3", name);
    fx_open_ref(&f, name, ref);
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k1),
                     CMK_E_KEY_NOT_FOUND);
    assert_string_equal(f.rq.provider_code, "KeyVersionNotFound");
    fx_close(&f);
}

static void test_refs_refused(void **state)
{
    const struct cmk_provider_ops *p = cmk_provider_find("vault");
    static const char *const bad[] = {"k:0",         "k:",  ":1",   "k:1x",
                                      "k:123456789", "a/b", "k:1:2"};
    struct cmk_kms_cfg cfg;
    struct cmk_vault_cfg v;
    struct vault_state *st;
    size_t i;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    memset(&v, 0, sizeof(v));
    v.address = addr;
    cfg.provider_cfg = &v;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = calloc(1, cmk_provider_asym(p)->state_size);
        assert_non_null(st);
        st->getenv = fake_env;
        assert_int_equal(cmk_provider_asym(p)->init(st, &cfg, bad[i]),
                         CMK_E_CONFIG);
        free(st);
    }
}

/* ---- refusals ---- */

static void test_unsupported_type(void **state)
{
    struct cmk_pubkey k;
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96");
    assert_int_equal(f.ops->get_public_key(f.st, &f.rq, &k), CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "UnsupportedKeySpec");
    assert_null(k.spki.p);
    fx_close(&f);
}

static void expect_refused(struct fx *f, cmk_err got, cmk_err want,
                           const char *code)
{
    assert_int_equal(got, want);
    assert_string_equal(f->rq.provider_code, code);
}

/* Refused here, without a call. */
static void test_wrong_usage(void **state)
{
    uint8_t d[64] = {0}, ct[256] = {0};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct cmk_secret pt = {0};
    struct fx e, r;

    (void)state;
    fx_open(&e, "ecdsa-p256");
    pubkey_ok(&e, &k);
    cmk_pubkey_free(&k);
    fx_open(&r, "rsa-2048");
    pubkey_ok(&r, &k);
    cmk_pubkey_free(&k);
    emu_do("reset_calls", "{}");
    req_reset(&e);
    expect_refused(&e,
                   e.ops->sign(e.st, &e.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256,
                               true, d, 32, &sig),
                   CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    req_reset(&e);
    expect_refused(&e,
                   e.ops->sign(e.st, &e.rq, CMK_SIG_ECDSA, CMK_HASH_SHA1, true,
                               d, 20, &sig),
                   CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    req_reset(&e);
    expect_refused(&e,
                   e.ops->decrypt(e.st, &e.rq, CMK_HASH_SHA256, ct, 32, &pt),
                   CMK_E_ACCESS_DENIED, "DecryptionNotSupported");
    req_reset(&r);
    expect_refused(&r,
                   r.ops->sign(r.st, &r.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                               true, d, 32, &sig),
                   CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    req_reset(&r);
    expect_refused(
        &r, r.ops->decrypt(r.st, &r.rq, CMK_HASH_SHA1, ct, sizeof(ct), &pt),
        CMK_E_ACCESS_DENIED, "WrongAlgorithm");
    req_reset(&r);
    expect_refused(&r,
                   r.ops->decrypt(r.st, &r.rq, CMK_HASH_SHA256, ct, 255, &pt),
                   CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    assert_null(sig.p);
    assert_null(pt.p);
    assert_int_equal(emu_count(NULL), 0);
    fx_close(&e);
    fx_close(&r);
}

/* Without the public key read first, sign reads it, then signs. */
static void test_read_first(void **state)
{
    uint8_t d[32] = {1};
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "ecdsa-p384");
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_OK);
    assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    assert_int_equal(emu_count("VAULT.Sign"), 1);
    cmk_buf_free(&sig);
    req_reset(&f);
    assert_int_equal(f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                                 true, d, sizeof(d), &sig),
                     CMK_OK);
    assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    cmk_buf_free(&sig);
    fx_close(&f);
}

/* ---- answers checked ---- */

static void test_answer_checks(void **state)
{
    char other[64];
    uint8_t d[32] = {2};
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    struct fx f;

    (void)state;
    new_key("ecdsa-p256", other, sizeof(other));
    fx_open(&f, "rsa-2048");
    emu_do("vault_tamper", "{\"name\":\"%s\",\"public_key_of\":\"%s\"}", f.name,
           other);
    expect_refused(&f, f.ops->get_public_key(f.st, &f.rq, &k),
                   CMK_E_BAD_RESPONSE, "PublicKeyMismatch");
    assert_null(k.spki.p);
    emu_do("vault_tamper", "{\"name\":\"%s\"}", f.name);
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    emu_do("vault_tamper", "{\"name\":\"%s\",\"signature_version\":2}", f.name);
    req_reset(&f);
    expect_refused(&f,
                   f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256,
                               true, d, sizeof(d), &sig),
                   CMK_E_BAD_RESPONSE, "UnexpectedKeyVersion");
    emu_do("vault_tamper", "{\"name\":\"%s\",\"signature_len\":200}", f.name);
    req_reset(&f);
    expect_refused(&f,
                   f.ops->sign(f.st, &f.rq, CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256,
                               true, d, sizeof(d), &sig),
                   CMK_E_BAD_RESPONSE, "SignatureMalformed");
    assert_null(sig.p);
    emu_do("vault_tamper", "{\"name\":\"%s\"}", f.name);
    fx_close(&f);
}

/* A policy that reads keys but may not sign: 403 on sign. */
static void test_policy(void **state)
{
    uint8_t d[32] = {3};
    char limited[128];
    struct cmk_pubkey k;
    struct cmk_buf sig = {0};
    json_t *r;
    struct fx f;

    (void)state;
    emu_do("vault_policy",
           "{\"name\":\"pair-ro\",\"paths\":{\"transit/keys/*\":[\"read\"]}}");
    r = emu_ctl("vault_token", "{\"policies\":[\"pair-ro\"]}");
    snprintf(limited, sizeof(limited), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    fx_open(&f, "ecdsa-p256");
    env_token = limited;
    pubkey_ok(&f, &k);
    cmk_pubkey_free(&k);
    req_reset(&f);
    expect_refused(&f,
                   f.ops->sign(f.st, &f.rq, CMK_SIG_ECDSA, CMK_HASH_SHA256,
                               true, d, sizeof(d), &sig),
                   CMK_E_ACCESS_DENIED, "PermissionDenied");
    assert_int_equal(f.rq.http_status, 403);
    fx_close(&f);
}

static void test_code_numbers(void **state)
{
    const struct cmk_provider_ops *p = cmk_provider_find("vault");

    (void)state;
    assert_int_equal(p->code_number("UnsupportedKeySpec"), 160);
    assert_int_equal(p->code_number("WrongAlgorithm"), 161);
    assert_int_equal(p->code_number("PublicKeyMismatch"), 162);
    assert_int_equal(p->code_number("SignatureMalformed"), 163);
    assert_int_equal(p->code_number("UnexpectedKeyVersion"), 164);
    assert_int_equal(p->code_number("KeyVersionNotFound"), 165);
    assert_int_equal(p->code_number("SigningNotSupported"), 527);
    assert_int_equal(p->code_number("RsaDecryptFailed"), 528);
    assert_int_equal(p->code_number("DecryptionNotSupported"), 602);
    assert_int_equal(p->code_number("CiphertextLength"), 108);
}

static int group_setup(void **state)
{
    const char *https = emu_https_url();
    json_t *r;

    (void)state;
    if (https == NULL || cmk_mech_init() != CKR_OK)
        return -1;
    snprintf(addr, sizeof(addr), "%s", https);
    r = emu_ctl("vault_token", "{}");
    snprintf(root_token, sizeof(root_token), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    return root_token[0] != '\0' ? 0 : -1;
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
        cmocka_unit_test(test_rsa_types),
        cmocka_unit_test(test_ecdsa_types),
        cmocka_unit_test(test_sign_request),
        cmocka_unit_test(test_decrypt),
        cmocka_unit_test(test_pinned_version),
        cmocka_unit_test(test_refs_refused),
        cmocka_unit_test(test_unsupported_type),
        cmocka_unit_test(test_wrong_usage),
        cmocka_unit_test(test_read_first),
        cmocka_unit_test(test_answer_checks),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_code_numbers),
    };

    if (emu_https_url() == NULL || emu_tmp() == NULL) {
        fprintf(stderr, "SKIP: run through tests/unit/emu_vault_asym.sh\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown) != 0 ? 1
                                                                           : 0;
}
