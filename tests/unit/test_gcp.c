/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the gcp provider against the KMS emulator's Cloud KMS
 * routes (run by tests/unit/emu_gcp.sh): round trips through the ops
 * table with the version that encrypted recorded, another tenant's AAD
 * refused, a disabled version, decrypt after rotation, a wrong CRC32C in
 * an answer retried, 429 retried, a token refreshed after
 * UNAUTHENTICATED, tokens from the metadata server and from a
 * service-account key file, and the health check.
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
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "emu_client.h"
#include "mech/mech.h"
#include "net/gauth.h"
#include "providers/gcp_cfg.h"
#include "providers/gcp_int.h"
#include "providers/provider.h"

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

/* A fresh key of the ring (protection level SOFTWARE). */
static void new_key(char *name, size_t n)
{
    snprintf(name, n, RING "/cryptoKeys/k%u", ++key_seq);
    emu_do("gcp_create_key", "{\"name\":\"%s\"}", name);
}

/* A tenant "t1" on a new key; credentials: key file when sa. */
static void fx_open(struct fx *f, bool sa)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_find("gcp");
    assert_non_null(f->ops);
    new_key(f->key, sizeof(f->key));
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
    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    assert_int_equal(f->ops->init(f->st, &f->cfg, f->cfg.key_ref), CMK_OK);
    req_reset(f);
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

static void test_throttle_retried(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, false);
    encrypt_ok(&f, "quota", &ct);
    emu_do("reset_calls", "{}");
    emu_do("faults",
           "{\"throttle_rate\":1,\"for_ops\":[\"GCP.Decrypt\"],\"count\":1}");
    decrypt_is(&f, &ct, "quota");
    assert_int_equal(emu_count("GCP.Decrypt"), 2);
    assert_int_equal(emu_count_error("GCP.Decrypt", "fault:throttle"), 1);
    cmk_buf_free(&ct);
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

static int setup(void **state)
{
    (void)state;
    emu_do("clear_faults", "{}");
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
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"*\"]}}",
           MD_SA, RING);
    emu_do("gcp_iam", "{\"principal\":\"%s\",\"bindings\":{\"%s\":[\"*\"]}}",
           SA, RING);
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
        cmocka_unit_test_setup(test_throttle_retried, setup),
        cmocka_unit_test_setup(test_limits_before_call, setup),
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
