/* SPDX-License-Identifier: Apache-2.0 */
/*
 * unit tests: the vault provider against the KMS emulator's Vault transit
 * over TLS (run by tests/unit/emu_vault.sh, which starts a second,
 * http-only emulator as the active node a standby redirects to): round
 * trips with derived keys (context) and AEAD keys (associated_data), the
 * exact canonical bytes checked by opening the payload with a request of
 * the test's own, the members of each request in the call log; another
 * tenant's context refused; a key that binds no context refused before
 * any encrypt; rotation (sealed_by names vN, old blobs open, mismatched
 * envelopes refused); min_decryption_version raised as the revocation
 * lever; rewrap; batches (one call, each item ending on its own: a
 * tampered payload, another tenant's, a mismatched envelope, a sealed
 * vault, a disallowed version) and which version is the latest; every row of
 * the error table with its provider code; sealed 503 retried then failing; 429
 * with Retry-After on the fake clock; a standby's 307 followed to a configured
 * origin and refused to another; namespaces (vault.namespace, VAULT_NAMESPACE);
 * the CA (http.ca_file, vault.ca_file, VAULT_CACERT); the static token sources
 * as the call log's accessor; the request id; the ulDeviceError numbers
 * and health reasons; no token in any code.
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
#include <sodium.h>

#include "cmk-pkcs11.h"
#include "emu_client.h"
#include "net/http.h"
#include "net/json.h"
#include "providers/provider.h"
#include "providers/vault_cfg.h"
#include "providers/vault_int.h"
#include "tests/lib/retry_clock.h"

#define MUT(s) ((char *)(uintptr_t)(s))

static char root_token[128];
static char addr[128];     /* https://127.0.0.1:PORT */
static char alt_addr[128]; /* https://localhost:PORT: the same server */
static const char *env_token;
static const char *env_addr;
static const char *env_cacert;
static const char *env_ns;
static unsigned key_seq;

static const char *fake_env(const char *name)
{
    if (strcmp(name, "VAULT_TOKEN") == 0)
        return env_token;
    if (strcmp(name, "VAULT_ADDR") == 0)
        return env_addr;
    if (strcmp(name, "VAULT_CACERT") == 0)
        return env_cacert;
    if (strcmp(name, "VAULT_NAMESPACE") == 0)
        return env_ns;
    return NULL;
}

/* ---- Fixture ---- */

struct fx {
    struct cmk_kms_cfg cfg;
    struct cmk_vault_cfg v;
    struct cmk_http_cfg http;
    struct cmk_ctx_pair ctx[2];
    char name[64];
    const struct cmk_provider_ops *ops;
    void *st;
    struct cmk_req rq;
    struct test_retry_clock fc;
};

static void req_reset(struct fx *f)
{
    memset(&f->rq, 0, sizeof(f->rq));
    f->rq.tenant = &f->cfg;
    f->rq.key_ref = f->cfg.key_ref;
    f->rq.ctx = f->ctx;
    f->rq.n_ctx = 2;
}

/* A new transit key (type, derived) in namespace ns ("" root) named into
 * name. */
static void new_key(const char *ns, const char *type, bool derived, char *name,
                    size_t n)
{
    snprintf(name, n, "k%u", ++key_seq);
    emu_do("vault_create_key",
           "{\"namespace\":\"%s\",\"name\":\"%s\",\"type\":\"%s\","
           "\"derived\":%s}",
           ns, name, type, derived ? "true" : "false");
}

static void fx_setup(struct fx *f, const char *type, bool derived)
{
    memset(f, 0, sizeof(*f));
    f->ops = cmk_provider_find("vault");
    assert_non_null(f->ops);
    new_key("", type, derived, f->name, sizeof(f->name));
    f->http.connect_timeout_ms = 1000;
    f->http.timeout_ms = 8000;
    f->http.max_attempts = 3;
    f->http.ca_file = MUT(emu_ca());
    f->cfg.label = MUT("t1");
    f->cfg.provider = MUT("vault");
    f->cfg.key_ref = f->name;
    f->cfg.http = &f->http;
    f->v.ttl = 60;
    f->v.address = addr;
    f->cfg.provider_cfg = &f->v;
    f->ctx[0].key = MUT("tenant");
    f->ctx[0].value = MUT("t1");
    f->ctx[1].key = MUT("app");
    f->ctx[1].value = MUT("billing");
    env_token = root_token;
    env_addr = NULL;
    env_cacert = NULL;
    env_ns = NULL;
}

static cmk_err fx_try_start(struct fx *f)
{
    struct vault_state *st;

    f->st = calloc(1, f->ops->state_size);
    assert_non_null(f->st);
    st = f->st;
    st->getenv = fake_env;
    return f->ops->init(f->st, &f->cfg, f->cfg.key_ref);
}

static void fx_start(struct fx *f)
{
    struct vault_state *st;

    assert_int_equal(fx_try_start(f), CMK_OK);
    st = f->st;
    test_retry_clock_init(&f->fc, 0.5);
    st->clock = &f->fc.clk;
    req_reset(f);
}

static void fx_open(struct fx *f, const char *type, bool derived)
{
    fx_setup(f, type, derived);
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

static cmk_err try_decrypt(struct fx *f, const struct cmk_buf *ct,
                           const char *open_with, struct cmk_secret *pt)
{
    req_reset(f);
    f->rq.open_with = open_with;
    return f->ops->decrypt(f->st, &f->rq, ct->p, ct->len, pt);
}

static void decrypt_is(struct fx *f, const struct cmk_buf *ct,
                       const char *open_with, const char *want)
{
    struct cmk_secret pt = {0};

    assert_int_equal(try_decrypt(f, ct, open_with, &pt), CMK_OK);
    assert_int_equal(pt.len, strlen(want));
    assert_memory_equal(pt.p, want, pt.len);
    cmk_secret_free(&pt);
}

static void expect_failed(const struct fx *f, cmk_err got, cmk_err want,
                          long http, const char *code, const char *op,
                          size_t calls)
{
    assert_int_equal(got, want);
    assert_int_equal(f->rq.http_status, http);
    assert_string_equal(f->rq.provider_code, code);
    if (op != NULL)
        assert_int_equal(emu_count(op), calls);
    /* never a token in a code */
    assert_null(strstr(f->rq.provider_code, "hvs."));
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

/* The members a logged request's body had, joined by ','. */
static void members_are(json_t *c, const char *want)
{
    char got[256] = "";
    json_t *m;
    size_t i;

    json_array_foreach(json_object_get(c, "body_members"), i, m)
    {
        if (i > 0)
            strcat(got, ",");
        strcat(got, json_string_value(m));
    }
    assert_string_equal(got, want);
}

/* The canonical context bytes of ("tenant", t), ("app", "billing"),
 * spelt out here, not by cmk_context_encode. */
static size_t canonical(const char *t, uint8_t *out)
{
    const char *parts[4] = {"tenant", t, "app", "billing"};
    size_t n = 0, i, l;

    for (i = 0; i < 4; i++) {
        l = strlen(parts[i]);
        out[n++] = 0;
        out[n++] = 0;
        out[n++] = 0;
        out[n++] = (uint8_t)l;
        memcpy(out + n, parts[i], l);
        n += l;
    }
    return n;
}

/* POSTs body to url outside the provider, with the root token when
 * token (a Vault route) or none (a control call); the status and, when
 * out, the body NUL-terminated. */
static long post_json(const char *url, bool token, const char *body,
                      struct cmk_buf *out)
{
    struct cmk_http_cfg hc;
    struct cmk_http *h = NULL;
    struct cmk_http_resp r;
    char tok[200];
    const char *hdrs[2] = {"Content-Type: application/json", tok};
    struct cmk_http_req rq;
    long status;

    cmk_http_cfg_init(&hc);
    hc.ca_file = MUT(emu_ca());
    assert_int_equal(cmk_http_new(&hc, &h), CMK_OK);
    snprintf(tok, sizeof(tok), "X-Vault-Token: %s", root_token);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url;
    rq.headers = hdrs;
    rq.n_headers = token ? 2 : 1;
    rq.body = (const uint8_t *)body;
    rq.body_len = strlen(body);
    assert_int_equal(cmk_http_do(h, &rq, &r), CMK_OK);
    status = r.status;
    if (out != NULL) {
        assert_int_equal(cmk_buf_alloc(out, r.body.len + 1), CMK_OK);
        memcpy(out->p, r.body.p, r.body.len);
        out->len = r.body.len;
    }
    cmk_http_resp_free(&r);
    cmk_http_free(h);
    return status;
}

/* Opens ct with member (context or associated_data) = the canonical
 * bytes of tenant t, by a request of the test's own: the status. */
static long open_raw(const struct fx *f, const struct cmk_buf *ct,
                     const char *member, const char *t)
{
    uint8_t c[128];
    char b64[256], body[2048], path[300];
    size_t n = canonical(t, c);

    sodium_bin2base64(b64, sizeof(b64), c, n, sodium_base64_VARIANT_ORIGINAL);
    snprintf(body, sizeof(body), "{\"ciphertext\":\"%.*s\",\"%s\":\"%s\"}",
             (int)ct->len, (const char *)ct->p, member, b64);
    snprintf(path, sizeof(path), "%s/v1/transit/decrypt/%s", addr, f->name);
    return post_json(path, true, body, NULL);
}

/* ---- Round trips ---- */

/* A derived key: the context goes as "context" (exact bytes), nothing
 * else; the payload is transit's ciphertext; sealed_by names v1. */
static void test_derived_round_trip(void **state)
{
    struct cmk_buf ct = {0};
    char want[128];
    json_t *c;
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "hello", &ct);
    assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    c = logged("VAULT.Encrypt", 0);
    members_are(c, "context,plaintext");
    assert_string_equal(
        str_of(json_object_get(c, "member_encodings"), "context"), "base64");
    assert_string_equal(str_of(c, "namespace"), "");
    json_decref(c);
    assert_true(ct.len > 9 && memcmp(ct.p, "vault:v1:", 9) == 0);
    snprintf(want, sizeof(want), "vault:transit/%s:v1", f.name);
    assert_string_equal(f.rq.sealed_by, want);
    assert_true(f.rq.request_id[0] != '\0');
    assert_int_equal(f.rq.http_status, 200);
    /* the exact bytes: opened with the spelt-out context, not another */
    assert_int_equal(open_raw(&f, &ct, "context", "t1"), 200);
    assert_int_equal(open_raw(&f, &ct, "context", "t2"), 400);
    emu_do("reset_calls", "{}");
    decrypt_is(&f, &ct, want, "hello");
    c = logged("VAULT.Decrypt", 0);
    members_are(c, "ciphertext,context");
    json_decref(c);
    assert_int_equal(emu_count("VAULT.ReadKey"), 0); /* cached */
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* AEAD keys that are not derived: "associated_data" (exact bytes). */
static void test_aead_round_trip(void **state)
{
    static const char *const types[] = {"aes256-gcm96", "aes128-gcm96",
                                        "chacha20-poly1305"};
    struct cmk_buf ct = {0};
    json_t *c;
    struct fx f;
    size_t i;

    (void)state;
    for (i = 0; i < 3; i++) {
        fx_open(&f, types[i], false);
        emu_do("reset_calls", "{}");
        encrypt_ok(&f, "secret", &ct);
        c = logged("VAULT.Encrypt", 0);
        members_are(c, "associated_data,plaintext");
        json_decref(c);
        assert_int_equal(open_raw(&f, &ct, "associated_data", "t1"), 200);
        assert_int_equal(open_raw(&f, &ct, "associated_data", "t2"), 400);
        decrypt_is(&f, &ct, NULL, "secret");
        c = logged("VAULT.Decrypt", 0);
        members_are(c, "associated_data,ciphertext");
        json_decref(c);
        cmk_buf_free(&ct);
        fx_close(&f);
    }
}

/* Another tenant's context: Vault's authentication failure. */
static void test_other_tenant(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf ct = {0};
    struct fx f;
    int derived;

    (void)state;
    for (derived = 0; derived < 2; derived++) {
        fx_open(&f, "aes256-gcm96", derived != 0);
        encrypt_ok(&f, "mine", &ct);
        f.ctx[0].value = MUT("t2");
        emu_do("reset_calls", "{}");
        expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_BAD_CIPHERTEXT,
                      400, "AuthenticationFailed", "VAULT.Decrypt", 1);
        assert_null(pt.p);
        f.ctx[0].value = MUT("t1");
        decrypt_is(&f, &ct, NULL, "mine");
        cmk_buf_free(&ct);
        fx_close(&f);
    }
}

/* An RSA key binds no context: refused before any encrypt, and by
 * health. */
static void test_not_bindable(void **state)
{
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "rsa-2048", false);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    expect_failed(&f, f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"x", 1, &ct),
                  CMK_E_CONFIG, 0, "ContextNotBindable", "VAULT.Encrypt", 0);
    assert_null(ct.p);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_CONFIG);
    assert_string_equal(f.rq.provider_code, "ContextNotBindable");
    assert_int_equal(f.ops->health_reason("ContextNotBindable"),
                     CMK_HEALTH_WRONG_KEY_SPEC);
    fx_close(&f);
}

/* ---- Versions ---- */

static void test_rotation(void **state)
{
    struct cmk_buf c1 = {0}, c2 = {0};
    struct cmk_secret pt = {0};
    char v1[256], v2[256];
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    encrypt_ok(&f, "one", &c1);
    snprintf(v1, sizeof(v1), "%s", f.rq.sealed_by);
    emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
    encrypt_ok(&f, "two", &c2);
    snprintf(v2, sizeof(v2), "%s", f.rq.sealed_by);
    assert_true(memcmp(c2.p, "vault:v2:", 9) == 0);
    assert_int_equal(strlen(v2), strlen(v1));
    assert_string_equal(v2 + strlen(v2) - 3, ":v2");
    decrypt_is(&f, &c1, v1, "one");
    decrypt_is(&f, &c2, v2, "two");
    decrypt_is(&f, &c1, NULL, "one");
    /* the envelope names another version, another key, nothing valid */
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &c1, v2, &pt), CMK_E_BAD_BLOB, 0,
                  "SealedByMismatch", "VAULT.Decrypt", 0);
    expect_failed(&f, try_decrypt(&f, &c1, "vault:transit/other:v1", &pt),
                  CMK_E_KEY_NOT_FOUND, 0, "SealedByOtherKey", NULL, 0);
    expect_failed(&f, try_decrypt(&f, &c1, "aws:x", &pt), CMK_E_BAD_BLOB, 0,
                  "SealedByInvalid", NULL, 0);
    c1.p[3] = 'X';
    expect_failed(&f, try_decrypt(&f, &c1, NULL, &pt), CMK_E_BAD_BLOB, 0,
                  "BlobMalformed", "VAULT.Decrypt", 0);
    cmk_buf_free(&c1);
    cmk_buf_free(&c2);
    fx_close(&f);
}

/* Raising min_decryption_version revokes the older blobs. */
static void test_min_decryption_version(void **state)
{
    struct cmk_buf c1 = {0}, c2 = {0};
    struct cmk_secret pt = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    encrypt_ok(&f, "old", &c1);
    emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
    encrypt_ok(&f, "new", &c2);
    emu_do("vault_key_config", "{\"name\":\"%s\",\"min_decryption_version\":2}",
           f.name);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &c1, NULL, &pt), CMK_E_KEY_DISABLED, 400,
                  "VersionDisallowed", "VAULT.Decrypt", 1);
    assert_int_equal(f.ops->code_number("VersionDisallowed"), 522);
    assert_int_equal(f.ops->health_reason("VersionDisallowed"),
                     CMK_HEALTH_DISABLED);
    /* the cache was purged: the next call reads the key again */
    decrypt_is(&f, &c2, NULL, "new");
    assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    cmk_buf_free(&c1);
    cmk_buf_free(&c2);
    fx_close(&f);
}

/* Rewrap moves a derived key's blob to the latest version inside Vault;
 * an associated-data key decrypts and encrypts. */
static void test_rewrap(void **state)
{
    struct cmk_buf c1 = {0}, c2 = {0};
    json_t *c;
    struct fx f;
    int derived;

    (void)state;
    for (derived = 1; derived >= 0; derived--) {
        fx_open(&f, "aes256-gcm96", derived != 0);
        encrypt_ok(&f, "moving", &c1);
        emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
        emu_do("reset_calls", "{}");
        req_reset(&f);
        f.rq.open_with = NULL;
        assert_int_equal(f.ops->reencrypt(f.st, &f.rq, c1.p, c1.len, &c2),
                         CMK_OK);
        assert_string_equal(f.rq.sealed_by + strlen(f.rq.sealed_by) - 3, ":v2");
        assert_true(memcmp(c2.p, "vault:v2:", 9) == 0);
        assert_int_equal(emu_count("VAULT.Rewrap"), derived ? 1 : 0);
        assert_int_equal(emu_count("VAULT.Decrypt"), derived ? 0 : 1);
        if (derived) {
            c = logged("VAULT.Rewrap", 0);
            members_are(c, "ciphertext,context");
            json_decref(c);
        }
        decrypt_is(&f, &c2, NULL, "moving");
        cmk_buf_free(&c1);
        cmk_buf_free(&c2);
        fx_close(&f);
    }
}

/* ---- Batches (cmk-tool rewrap) ---- */

#define NB 6

/* NB payloads of f's key into ct[i] ("item0".."item5"); item 4 under
 * another tenant's context. sealed_by of each into by[i]. */
static void batch_payloads(struct fx *f, struct cmk_buf *ct, char by[][256])
{
    char pt[16];
    size_t i;

    for (i = 0; i < NB; i++) {
        snprintf(pt, sizeof(pt), "item%zu", i);
        f->ctx[0].value = MUT(i == 4 ? "t2" : "t1");
        encrypt_ok(f, pt, &ct[i]);
        snprintf(by[i], 256, "%s", f->rq.sealed_by);
    }
    f->ctx[0].value = MUT("t1");
}

static void batch_items(struct cmk_batch_item *it, struct cmk_buf *ct,
                        char by[][256])
{
    size_t i;

    memset(it, 0, NB * sizeof(*it));
    for (i = 0; i < NB; i++) {
        it[i].in = ct[i].p;
        it[i].in_len = ct[i].len;
        it[i].open_with = by[i];
    }
}

/* One rewrap (derived) or one decrypt and one encrypt (associated data)
 * for the whole batch; each item ends on its own: a tampered payload
 * and another tenant's fail at Vault, an envelope that names another
 * version fails before the call, the rest move to v2 and open. */
static void test_batch_rewrap(void **state)
{
    struct cmk_batch_item it[NB];
    struct cmk_buf ct[NB] = {{0}};
    char by[NB][256], want[16], wrong[300];
    size_t i;
    json_t *c;
    struct fx f;
    int derived;

    (void)state;
    for (derived = 1; derived >= 0; derived--) {
        fx_open(&f, "aes256-gcm96", derived != 0);
        batch_payloads(&f, ct, by);
        ct[2].p[ct[2].len - 6] = /* another base64 digit: tampered */
            ct[2].p[ct[2].len - 6] == 'A' ? 'B' : 'A';
        snprintf(wrong, sizeof(wrong), "vault:transit/%s:v7", f.name);
        emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
        emu_do("reset_calls", "{}");
        batch_items(it, ct, by);
        it[3].open_with = wrong;
        req_reset(&f);
        assert_int_equal(f.ops->reencrypt_batch(f.st, &f.rq, it, NB), CMK_OK);
        assert_int_equal(emu_count("VAULT.Rewrap"), derived ? 1 : 0);
        assert_int_equal(emu_count("VAULT.Decrypt"), derived ? 0 : 1);
        assert_int_equal(emu_count("VAULT.Encrypt"), derived ? 0 : 1);
        c = logged(derived ? "VAULT.Rewrap" : "VAULT.Decrypt", 0);
        assert_int_equal(json_integer_value(json_object_get(c, "batch_size")),
                         NB - 1); /* item 3 never sent */
        members_are(c, "batch_input");
        json_decref(c);
        /* the last call's: the rewrap (some item failed), or the encrypt
         * of the items that opened */
        assert_int_equal(f.rq.http_status, derived ? 400 : 200);
        for (i = 0; i < NB; i++) {
            if (i == 2 || i == 4) {
                assert_int_equal(it[i].err, CMK_E_BAD_CIPHERTEXT);
                assert_string_equal(it[i].provider_code,
                                    "AuthenticationFailed");
            } else if (i == 3) {
                assert_int_equal(it[i].err, CMK_E_BAD_BLOB);
                assert_string_equal(it[i].provider_code, "SealedByMismatch");
            } else {
                assert_int_equal(it[i].err, CMK_OK);
                assert_string_equal(it[i].provider_code, "");
                assert_string_equal(
                    it[i].sealed_by + strlen(it[i].sealed_by) - 3, ":v2");
                assert_true(memcmp(it[i].out.p, "vault:v2:", 9) == 0);
                snprintf(want, sizeof(want), "item%zu", i);
                decrypt_is(&f, &it[i].out, it[i].sealed_by, want);
                continue;
            }
            assert_null(it[i].out.p);
            assert_string_equal(it[i].sealed_by, "");
        }
        for (i = 0; i < NB; i++) {
            cmk_buf_free(&it[i].out);
            cmk_buf_free(&ct[i]);
        }
        fx_close(&f);
    }
}

/* A whole batch refused (sealed, retried, then failing): every item has
 * the call's error; the older version disallowed: only its items fail,
 * and the key info is read again. */
static void test_batch_failures(void **state)
{
    struct cmk_batch_item it[NB];
    struct cmk_buf ct[NB] = {{0}};
    char by[NB][256];
    struct fx f;
    size_t i;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    batch_payloads(&f, ct, by);
    emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("vault_seal", "{}");
    emu_do("reset_calls", "{}");
    batch_items(it, ct, by);
    req_reset(&f);
    expect_failed(&f, f.ops->reencrypt_batch(f.st, &f.rq, it, NB),
                  CMK_E_KMS_INTERNAL, 503, "Sealed", "VAULT.Rewrap", 3);
    emu_do("vault_unseal", "{}");
    for (i = 0; i < NB; i++) {
        assert_int_equal(it[i].err, CMK_E_KMS_INTERNAL);
        assert_string_equal(it[i].provider_code, "Sealed");
        assert_null(it[i].out.p);
    }
    /* v1 disallowed after a second rotation: items 0-2 re-sealed by v2
     * first, so they move on to v3; items 3-5 (v1) fail */
    batch_items(it, ct, by);
    req_reset(&f);
    assert_int_equal(f.ops->reencrypt_batch(f.st, &f.rq, it, 3), CMK_OK);
    for (i = 0; i < 3; i++) {
        assert_int_equal(it[i].err, CMK_OK);
        cmk_buf_free(&ct[i]);
        ct[i] = it[i].out;
        snprintf(by[i], 256, "%s", it[i].sealed_by);
        memset(&it[i].out, 0, sizeof(it[i].out));
    }
    emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
    emu_do("vault_key_config", "{\"name\":\"%s\",\"min_decryption_version\":2}",
           f.name);
    emu_do("reset_calls", "{}");
    batch_items(it, ct, by);
    req_reset(&f);
    assert_int_equal(f.ops->reencrypt_batch(f.st, &f.rq, it, NB), CMK_OK);
    for (i = 0; i < NB; i++) {
        if (i < 3) {
            assert_int_equal(it[i].err, CMK_OK);
            assert_true(memcmp(it[i].out.p, "vault:v3:", 9) == 0);
        } else {
            assert_int_equal(it[i].err, CMK_E_KEY_DISABLED);
            assert_string_equal(it[i].provider_code, "VersionDisallowed");
        }
        cmk_buf_free(&it[i].out);
        cmk_buf_free(&ct[i]);
    }
    /* the refusal purged the cached key info */
    emu_do("reset_calls", "{}");
    {
        bool latest = true;

        req_reset(&f);
        assert_int_equal(f.ops->is_latest(f.st, &f.rq, by[0], &latest), CMK_OK);
        assert_false(latest); /* v2, the key at v3 */
        assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    }
    /* bad arguments: nothing sent */
    emu_do("reset_calls", "{}");
    assert_int_equal(f.ops->reencrypt_batch(f.st, &f.rq, it, 0), CMK_E_ARGS);
    assert_int_equal(
        f.ops->reencrypt_batch(f.st, &f.rq, it, f.ops->batch_max + 1),
        CMK_E_ARGS);
    assert_int_equal(emu_count("VAULT.Rewrap"), 0);
    fx_close(&f);
}

/* is_latest: by the key's latest_version, from the cached read; another
 * key's or a malformed sealed-by is not this key's. */
static void test_is_latest(void **state)
{
    static const char *const bad[] = {
        "vault:transit/other:v1", "", "v1", ":v1x", ":v0", ":v", ":v01",
        ":v99999999999999999999"};
    char s[300];
    bool latest = false;
    struct fx f;
    size_t i;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    snprintf(s, sizeof(s), "vault:transit/%s:v1", f.name);
    assert_int_equal(f.ops->is_latest(f.st, &f.rq, s, &latest), CMK_OK);
    assert_true(latest);
    emu_do("vault_rotate", "{\"name\":\"%s\"}", f.name);
    cmk_vault_purge(f.st);
    assert_int_equal(f.ops->is_latest(f.st, &f.rq, s, &latest), CMK_OK);
    assert_false(latest);
    snprintf(s, sizeof(s), "vault:transit/%s:v2", f.name);
    assert_int_equal(f.ops->is_latest(f.st, &f.rq, s, &latest), CMK_OK);
    assert_true(latest);
    snprintf(s, sizeof(s), "vault:transit/%s:v3", f.name); /* newer than
                                                            * the cache */
    assert_int_equal(f.ops->is_latest(f.st, &f.rq, s, &latest), CMK_OK);
    assert_true(latest);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i][0] == ':')
            snprintf(s, sizeof(s), "vault:transit/%s%s", f.name, bad[i]);
        else
            snprintf(s, sizeof(s), "%s", bad[i]);
        latest = true;
        assert_int_equal(f.ops->is_latest(f.st, &f.rq, s, &latest),
                         CMK_E_BAD_BLOB);
        assert_false(latest);
    }
    fx_close(&f);
}

/* ---- Errors ---- */

static void test_error_rows(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf ct = {0}, bad = {0};
    char limited[128];
    json_t *r;
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    encrypt_ok(&f, "rows", &ct);
    /* a changed byte of the ciphertext: authentication */
    assert_int_equal(cmk_buf_dup(&bad, ct.p, ct.len), CMK_OK);
    bad.p[12] = bad.p[12] == 'A' ? 'B' : 'A';
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &bad, NULL, &pt), CMK_E_BAD_CIPHERTEXT,
                  400, "AuthenticationFailed", "VAULT.Decrypt", 1);
    cmk_buf_free(&bad);
    /* too short for a nonce and a tag */
    bad.p = (uint8_t *)cmk_strdup("vault:v1:AAAA");
    bad.len = 13;
    expect_failed(&f, try_decrypt(&f, &bad, NULL, &pt), CMK_E_BAD_CIPHERTEXT,
                  400, "InvalidCiphertext", "VAULT.Decrypt", 2);
    cmk_buf_free(&bad);
    /* a version the key does not have */
    bad.p = (uint8_t *)cmk_strdup("vault:v9:AAAA");
    bad.len = 13;
    expect_failed(&f, try_decrypt(&f, &bad, NULL, &pt), CMK_E_BAD_CIPHERTEXT,
                  400, "InvalidCiphertext", NULL, 0);
    cmk_buf_free(&bad);
    /* a token whose policy lacks the path: 403, the cache purged */
    emu_do("vault_policy",
           "{\"name\":\"ro\",\"paths\":{\"transit/keys/*\":[\"read\"]}}");
    r = emu_ctl("vault_token", "{\"policies\":[\"ro\"]}");
    snprintf(limited, sizeof(limited), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    fx_close(&f);
    fx_setup(&f, "aes256-gcm96", true);
    env_token = limited;
    fx_start(&f);
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_ACCESS_DENIED, 403,
                  "PermissionDenied", "VAULT.Decrypt", 1);
    assert_int_equal(emu_count("VAULT.ReadKey"), 1);
    req_reset(&f);
    expect_failed(
        &f, f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"x", 1, &bad),
        CMK_E_ACCESS_DENIED, 403, "PermissionDenied", "VAULT.Encrypt", 1);
    assert_int_equal(f.ops->code_number("PermissionDenied"), 500);
    assert_int_equal(f.ops->health_reason("PermissionDenied"),
                     CMK_HEALTH_ACCESS_DENIED);
    assert_string_equal(f.rq.request_id, ""); /* none on an error */
    fx_close(&f);
    /* an expired static token: dropped, read again, refused again */
    r = emu_ctl("vault_token", "{}");
    snprintf(limited, sizeof(limited), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    fx_setup(&f, "aes256-gcm96", true);
    env_token = limited;
    fx_start(&f);
    emu_do("vault_expire_token", "{\"token\":\"%s\"}", limited);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    expect_failed(&f, f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED, 403,
                  "InvalidToken", "VAULT.ReadKey", 2);
    assert_null(strstr(f.rq.provider_code, limited));
    fx_close(&f);
    /* a key that does not exist */
    fx_setup(&f, "aes256-gcm96", true);
    snprintf(f.name, sizeof(f.name), "missing");
    fx_start(&f);
    emu_do("reset_calls", "{}");
    expect_failed(&f, f.ops->health(f.st, &f.rq), CMK_E_KEY_NOT_FOUND, 404,
                  "KeyNotFound", "VAULT.ReadKey", 1);
    assert_int_equal(f.ops->health_reason("KeyNotFound"), CMK_HEALTH_NOT_FOUND);
    fx_close(&f);
    /* a mount that does not exist */
    fx_setup(&f, "aes256-gcm96", true);
    f.v.mount = MUT("nomount");
    fx_start(&f);
    expect_failed(&f, f.ops->health(f.st, &f.rq), CMK_E_KEY_NOT_FOUND, 404,
                  "KeyNotFound", NULL, 0);
    fx_close(&f);
    cmk_buf_free(&ct);
}

/* 5xx rows: retried (500, 502, 503 sealed) or not (501). */
static void test_server_errors(void **state)
{
    static const struct {
        int status;
        const char *code;
        size_t calls;
    } t[] = {
        {500, "InternalError", 3}, {502, "HTTP502", 3}, {504, "HTTP504", 3}};
    struct cmk_secret pt = {0};
    struct cmk_buf ct = {0};
    struct fx f;
    size_t i;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    encrypt_ok(&f, "five", &ct);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        test_retry_clock_init(&f.fc, 0.5);
        emu_do("reset_calls", "{}");
        emu_do("faults",
               "{\"error_5xx_rate\":1,\"error_5xx_status\":%d,"
               "\"for_ops\":[\"VAULT.Decrypt\"]}",
               t[i].status);
        expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_KMS_INTERNAL,
                      t[i].status, t[i].code, "VAULT.Decrypt", t[i].calls);
        emu_do("clear_faults", "{}");
        assert_int_equal(f.fc.sleeps, t[i].calls - 1);
    }
    /* a malformed 200: not retried, no request id read from it */
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"malformed_rate\":1,\"for_ops\":[\"VAULT.Decrypt\"]}");
    expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_BAD_RESPONSE, 200,
                  "MalformedResponse", "VAULT.Decrypt", 1);
    assert_string_equal(f.rq.request_id, "");
    assert_null(pt.p);
    emu_do("clear_faults", "{}");
    /* sealed: 503 "Vault is sealed", retried, then failing */
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("vault_seal", "{}");
    emu_do("reset_calls", "{}");
    expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_KMS_INTERNAL, 503,
                  "Sealed", "VAULT.Decrypt", 3);
    emu_do("vault_unseal", "{}");
    assert_int_equal(f.fc.sleeps, 2);
    assert_int_equal(f.ops->code_number("Sealed"), 542);
    assert_int_equal(f.ops->health_reason("Sealed"), CMK_HEALTH_UNREACHABLE);
    /* a standby without an active node */
    emu_do("vault_standby", "{\"mode\":\"503\"}");
    expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_KMS_INTERNAL, 503,
                  "Standby", NULL, 0);
    emu_do("vault_standby", "{\"standby\":false}");
    decrypt_is(&f, &ct, NULL, "five");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* 429 with Retry-After: the wait it asks on the fake clock. */
static void test_throttle(void **state)
{
    struct cmk_secret pt = {0};
    struct cmk_buf ct = {0};
    struct fx f;

    (void)state;
    fx_open(&f, "aes256-gcm96", true);
    encrypt_ok(&f, "slow", &ct);
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"throttle_rate\":1,\"count\":1,"
                     "\"retry_after_ms\":2500,"
                     "\"for_ops\":[\"VAULT.Decrypt\"]}");
    decrypt_is(&f, &ct, NULL, "slow");
    assert_int_equal(emu_count("VAULT.Decrypt"), 2);
    assert_int_equal(emu_count_error("VAULT.Decrypt", "fault:throttle"), 1);
    assert_int_equal(f.fc.sleeps, 1);
    assert_int_equal(f.fc.first, 3000000); /* whole seconds, rounded up */
    /* longer than the deadline: at once */
    test_retry_clock_init(&f.fc, 0.5);
    emu_do("reset_calls", "{}");
    emu_do("faults", "{\"throttle_rate\":1,\"retry_after_ms\":30000,"
                     "\"for_ops\":[\"VAULT.Decrypt\"]}");
    expect_failed(&f, try_decrypt(&f, &ct, NULL, &pt), CMK_E_THROTTLED, 429,
                  "RateLimited", "VAULT.Decrypt", 1);
    emu_do("clear_faults", "{}");
    assert_int_equal(f.ops->code_number("RateLimited"), 531);
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* ---- Redirects ---- */

/* The active node (the second emulator): its control API. */
static long active_ctl(const char *cmd, const char *body, struct cmk_buf *out)
{
    char url[256];

    snprintf(url, sizeof(url), "%s/_emulator/%s", getenv("EMU_ACTIVE_URL"),
             cmd);
    return post_json(url, false, body, out);
}

static void test_redirect(void **state)
{
    const char *active = getenv("EMU_ACTIVE_URL");
    struct cmk_buf ct = {0}, log = {0};
    char body[512];
    struct fx f;

    (void)state;
    if (active == NULL)
        skip();
    fx_open(&f, "aes256-gcm96", true);
    /* the same key name and root token on the active node */
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", root_token);
    assert_int_equal(active_ctl("vault_token", body, NULL), 200);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"derived\":true}", f.name);
    assert_int_equal(active_ctl("vault_create_key", body, NULL), 200);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK); /* info cached */
    emu_do("vault_standby", "{\"mode\":\"redirect\",\"active_address\":\"%s\"}",
           active);
    /* not configured: refused before anything goes there */
    emu_do("reset_calls", "{}");
    assert_int_equal(active_ctl("reset_calls", "{}", NULL), 200);
    req_reset(&f);
    expect_failed(&f, f.ops->encrypt(f.st, &f.rq, (const uint8_t *)"r", 1, &ct),
                  CMK_E_CONFIG, 307, "RedirectRefused", "VAULT.Encrypt", 1);
    assert_int_equal(active_ctl("calls", "{\"op\":\"VAULT.Encrypt\"}", &log),
                     200);
    assert_null(strstr((const char *)log.p, "VAULT.Encrypt"));
    cmk_buf_free(&log);
    fx_close(&f);
    /* configured: followed */
    {
        char name[64];

        snprintf(name, sizeof(name), "%s", f.name);
        fx_setup(&f, "aes256-gcm96", true);
        snprintf(f.name, sizeof(f.name), "%s", name);
    }
    f.v.redirect_hosts[0] = MUT(active);
    f.v.n_redirect_hosts = 1;
    emu_do("vault_standby", "{\"standby\":false}");
    fx_start(&f);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    emu_do("vault_standby", "{\"mode\":\"redirect\",\"active_address\":\"%s\"}",
           active);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "r", &ct);
    assert_int_equal(emu_count("VAULT.Encrypt"), 1);
    assert_int_equal(active_ctl("calls", "{\"op\":\"VAULT.Encrypt\"}", &log),
                     200);
    assert_non_null(strstr((const char *)log.p, "VAULT.Encrypt"));
    cmk_buf_free(&log);
    emu_do("vault_standby", "{\"standby\":false}");
    cmk_buf_free(&ct);
    fx_close(&f);
}

/* ---- Namespaces, configuration ---- */

static void test_namespace(void **state)
{
    struct cmk_buf ct = {0};
    char tok[128];
    json_t *r, *c;
    struct fx f;

    (void)state;
    emu_do("vault_namespace", "{\"path\":\"ns1\"}");
    r = emu_ctl("vault_token", "{\"namespace\":\"ns1\"}");
    snprintf(tok, sizeof(tok), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    fx_setup(&f, "aes256-gcm96", true);
    snprintf(f.name, sizeof(f.name), "nskey");
    emu_do("vault_create_key",
           "{\"namespace\":\"ns1\",\"name\":\"nskey\",\"derived\":true}");
    f.v.ns = MUT("ns1/");
    env_token = tok;
    fx_start(&f);
    emu_do("reset_calls", "{}");
    encrypt_ok(&f, "in ns1", &ct);
    c = logged("VAULT.Encrypt", 0);
    assert_string_equal(str_of(c, "namespace"), "ns1");
    json_decref(c);
    decrypt_is(&f, &ct, NULL, "in ns1");
    cmk_buf_free(&ct);
    fx_close(&f);
    /* without the namespace the same token reaches nothing */
    fx_setup(&f, "aes256-gcm96", true);
    snprintf(f.name, sizeof(f.name), "nskey");
    env_token = tok;
    fx_start(&f);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_ACCESS_DENIED);
    fx_close(&f);
}

static void test_config(void **state)
{
    char id[256];
    struct fx f;

    (void)state;
    /* the address from VAULT_ADDR, else refused */
    fx_setup(&f, "aes256-gcm96", true);
    f.v.address = NULL;
    env_addr = addr;
    fx_start(&f);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    assert_int_equal(f.ops->key_id(f.st, id), CMK_OK);
    assert_true(strncmp(id, "vault:transit/k", 15) == 0);
    fx_close(&f);
    fx_setup(&f, "aes256-gcm96", true);
    f.v.address = NULL;
    assert_int_equal(fx_try_start(&f), CMK_E_CONFIG);
    free(f.st);
    fx_setup(&f, "aes256-gcm96", true);
    f.v.address = NULL;
    env_addr = "http://vault.example.com:8200";
    assert_int_equal(fx_try_start(&f), CMK_E_CONFIG);
    free(f.st);
    /* another origin of the same server is another address */
    fx_setup(&f, "aes256-gcm96", true);
    f.v.address = alt_addr;
    fx_start(&f);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    assert_int_equal(f.ops->ct_bound(32), 4 * ((512 + 2) / 3) + 24);
    fx_close(&f);
    assert_int_equal(cmk_vault_code_number("NoSuchCode"), CMK_DEV_OTHER);
    assert_int_equal(cmk_vault_code_number("NetworkError"), 101);
}

/* Every row of the table, as vault_errors.c reads an answer. */
static void test_error_table(void **state)
{
    static const struct {
        long status;
        const char *body;
        enum vault_op op;
        cmk_err err;
        const char *code;
        enum cmk_retry_class cls;
    } t[] = {
        {400, "{\"errors\":[\"cipher: message authentication failed\"]}",
         VAULT_OP_DECRYPT, CMK_E_BAD_CIPHERTEXT, "AuthenticationFailed",
         CMK_RETRY_NO},
        {400,
         "{\"errors\":[\"chacha20poly1305: message authentication "
         "failed\"]}",
         VAULT_OP_DECRYPT, CMK_E_BAD_CIPHERTEXT, "AuthenticationFailed",
         CMK_RETRY_NO},
        {400,
         "{\"errors\":[\"ciphertext or signature version is disallowed by "
         "policy (too old)\"]}",
         VAULT_OP_DECRYPT, CMK_E_KEY_DISABLED, "VersionDisallowed",
         CMK_RETRY_NO},
        {400, "{\"errors\":[\"invalid ciphertext: no prefix\"]}",
         VAULT_OP_DECRYPT, CMK_E_BAD_CIPHERTEXT, "InvalidCiphertext",
         CMK_RETRY_NO},
        {400, "{\"errors\":[\"encryption key not found\"]}", VAULT_OP_DECRYPT,
         CMK_E_KEY_NOT_FOUND, "KeyNotFound", CMK_RETRY_NO},
        {400,
         "{\"errors\":[\"missing 'context' for key derivation; the key was "
         "created using a derived key\"]}",
         VAULT_OP_ENCRYPT, CMK_E_CONFIG, "ContextRequired", CMK_RETRY_NO},
        {400,
         "{\"errors\":[\"'[0].associated_data' provided for non-AEAD "
         "cipher suite rsa-2048\"]}",
         VAULT_OP_ENCRYPT, CMK_E_CONFIG, "AssociatedDataRefused", CMK_RETRY_NO},
        {400, "{\"errors\":[\"error parsing JSON\"]}", VAULT_OP_ENCRYPT,
         CMK_E_CONFIG, "BadRequest", CMK_RETRY_NO},
        {403,
         "{\"errors\":[\"2 errors occurred:\\n\\t* permission "
         "denied\\n\\t* invalid token\\n\\n\"]}",
         VAULT_OP_ENCRYPT, CMK_E_AUTH_REFRESH, "InvalidToken", CMK_RETRY_NO},
        {403, "{\"errors\":[\"permission denied\"]}", VAULT_OP_ENCRYPT,
         CMK_E_ACCESS_DENIED, "PermissionDenied", CMK_RETRY_NO},
        {404, "{\"errors\":[]}", VAULT_OP_READ, CMK_E_KEY_NOT_FOUND,
         "KeyNotFound", CMK_RETRY_NO},
        {404, "{\"errors\":[\"no handler for route\"]}", VAULT_OP_ENCRYPT,
         CMK_E_KEY_NOT_FOUND, "RouteNotFound", CMK_RETRY_NO},
        {405, "{\"errors\":[\"unsupported operation\"]}", VAULT_OP_ENCRYPT,
         CMK_E_CONFIG, "UnsupportedOperation", CMK_RETRY_NO},
        {412, "{\"errors\":[\"required index state not present\"]}",
         VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL, "IndexNotPresent",
         CMK_RETRY_TRANSIENT},
        {429, "{\"errors\":[\"rate limit quota exceeded\"]}", VAULT_OP_DECRYPT,
         CMK_E_THROTTLED, "RateLimited", CMK_RETRY_THROTTLE},
        {500, "{\"errors\":[\"internal error\"]}", VAULT_OP_DECRYPT,
         CMK_E_KMS_INTERNAL, "InternalError", CMK_RETRY_TRANSIENT},
        {501, "{\"errors\":[]}", VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL,
         "NotInitialized", CMK_RETRY_NO},
        {503, "{\"errors\":[\"Vault is sealed\"]}", VAULT_OP_DECRYPT,
         CMK_E_KMS_INTERNAL, "Sealed", CMK_RETRY_TRANSIENT},
        {503,
         "{\"errors\":[\"node not active but active cluster node not "
         "found\"]}",
         VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL, "Standby", CMK_RETRY_TRANSIENT},
        {503, "<html>busy</html>", VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL,
         "HTTP503", CMK_RETRY_TRANSIENT},
        {502, "<html>bad gateway</html>", VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL,
         "HTTP502", CMK_RETRY_TRANSIENT},
        {409, "", VAULT_OP_DECRYPT, CMK_E_KMS_INTERNAL, "HTTP409",
         CMK_RETRY_NO},
    };
    enum cmk_retry_class cls;
    char code[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        cls = CMK_RETRY_NO;
        assert_int_equal(cmk_vault_error_map(t[i].status, t[i].body,
                                             strlen(t[i].body), t[i].op, code,
                                             sizeof(code), &cls),
                         t[i].err);
        assert_string_equal(code, t[i].code);
        assert_int_equal(cls, t[i].cls);
        assert_true(cmk_vault_code_number(code) != CMK_DEV_OTHER);
    }
}

/* The CA: the global one, else vault.ca_file, else VAULT_CACERT. */
static void test_ca_choice(void **state)
{
    struct fx f;
    int i;

    (void)state;
    for (i = 0; i < 3; i++) {
        fx_setup(&f, "aes256-gcm96", true);
        f.http.ca_file = NULL;
        if (i == 0)
            f.v.ca_file = MUT(emu_ca());
        else if (i == 1)
            env_cacert = emu_ca();
        else
            env_cacert = emu_wrong_ca();
        fx_start(&f);
        req_reset(&f);
        if (i < 2) {
            assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
        } else {
            assert_int_equal(f.ops->health(f.st, &f.rq), CMK_E_NETWORK);
            assert_string_equal(f.rq.provider_code, "TlsError");
        }
        fx_close(&f);
    }
    /* the global one wins over both */
    fx_setup(&f, "aes256-gcm96", true);
    f.v.ca_file = MUT(emu_wrong_ca());
    env_cacert = emu_wrong_ca();
    fx_start(&f);
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    fx_close(&f);
}

/* Each static token source reaches Vault as X-Vault-Token: the call log
 * names the token's accessor (never the token). */
static void test_token_sources(void **state)
{
    char path[600], tok[128], acc[128];
    json_t *r, *c;
    struct fx f;
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        r = emu_ctl("vault_token", "{}");
        snprintf(tok, sizeof(tok), "%s",
                 json_string_value(json_object_get(r, "token")));
        snprintf(acc, sizeof(acc), "%s",
                 json_string_value(json_object_get(r, "accessor")));
        json_decref(r);
        fx_setup(&f, "aes256-gcm96", true);
        env_token = i == 0 ? "hvs.not-this-one" : tok;
        if (i == 0) {
            snprintf(path, sizeof(path), "%s/vault-token-%s", emu_tmp(),
                     f.name);
            emu_write_file(path, 0600, "%s\n", tok);
            f.v.auth.token_file = path;
        }
        fx_start(&f);
        emu_do("reset_calls", "{}");
        req_reset(&f);
        assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
        c = logged("VAULT.ReadKey", 0);
        assert_string_equal(str_of(c, "token_accessor"), acc);
        assert_string_equal(str_of(c, "token_sent"), "x-vault-token");
        assert_true(json_is_true(json_object_get(c, "x_vault_request")) ||
                    strcmp(str_of(c, "x_vault_request"), "true") == 0);
        json_decref(c);
        fx_close(&f);
    }
    /* VAULT_NAMESPACE when the tenant names none */
    emu_do("vault_namespace", "{\"path\":\"ns2\"}");
    r = emu_ctl("vault_token", "{\"namespace\":\"ns2\"}");
    snprintf(tok, sizeof(tok), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    fx_setup(&f, "aes256-gcm96", true);
    snprintf(f.name, sizeof(f.name), "nskey2");
    emu_do("vault_create_key",
           "{\"namespace\":\"ns2\",\"name\":\"nskey2\",\"derived\":true}");
    env_token = tok;
    env_ns = "ns2";
    fx_start(&f);
    emu_do("reset_calls", "{}");
    req_reset(&f);
    assert_int_equal(f.ops->health(f.st, &f.rq), CMK_OK);
    c = logged("VAULT.ReadKey", 0);
    assert_string_equal(str_of(c, "namespace"), "ns2");
    json_decref(c);
    fx_close(&f);
}

static int group_setup(void **state)
{
    const char *https = emu_https_url();
    json_t *r;

    (void)state;
    if (https == NULL)
        return -1;
    snprintf(addr, sizeof(addr), "%s", https);
    snprintf(alt_addr, sizeof(alt_addr), "https://localhost%s",
             strrchr(https, ':'));
    r = emu_ctl("vault_token", "{}");
    snprintf(root_token, sizeof(root_token), "%s",
             json_string_value(json_object_get(r, "token")));
    json_decref(r);
    return root_token[0] != '\0' ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_derived_round_trip),
        cmocka_unit_test(test_aead_round_trip),
        cmocka_unit_test(test_other_tenant),
        cmocka_unit_test(test_not_bindable),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_min_decryption_version),
        cmocka_unit_test(test_rewrap),
        cmocka_unit_test(test_batch_rewrap),
        cmocka_unit_test(test_batch_failures),
        cmocka_unit_test(test_is_latest),
        cmocka_unit_test(test_error_rows),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_redirect),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_ca_choice),
        cmocka_unit_test(test_token_sources),
    };

    if (emu_https_url() == NULL) {
        fprintf(stderr, "test_vault: run by emu_vault.sh\n");
        return 77;
    }
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
