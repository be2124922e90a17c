/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: Vault's batch bodies and answers (providers/vault_json_batch.c)
 * and the array scanner under them (net/json.c cmk_json_array_next): a
 * batch_input body byte for byte; batch_results with ciphertexts, with
 * plaintexts (lifted out, the body's characters overwritten) and with
 * per-item errors mapped by the error table; answers of the wrong
 * length, with a malformed item or a ciphertext that is not a transit
 * string refused whole, nothing left behind; the scanner's element spans
 * and its refusals; the key pairs' sign body byte for byte, the key
 * read's public key of a version, and the "vault:vN:" signature
 * (providers/vault_json_asym.c).
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

#include "net/json.h"
#include "providers/vault_int.h"

/* The spans of text's elements joined by '|', or "!" on a refusal. */
static void elements(const char *text, char *out, size_t n)
{
    char *buf = strdup(text), *e;
    size_t pos = 0, len = 0, used = 0;

    assert_non_null(buf);
    out[0] = '\0';
    for (;;) {
        if (cmk_json_array_next(buf, strlen(buf), &pos, &e, &len) != CMK_OK) {
            snprintf(out, n, "!");
            break;
        }
        if (e == NULL)
            break;
        used += (size_t)snprintf(out + used, n - used, "%s%.*s",
                                 used > 0 ? "|" : "", (int)len, e);
    }
    free(buf);
}

static void test_array_scanner(void **state)
{
    static const struct {
        const char *in, *want;
    } t[] = {
        {"[]", ""},
        {" [ ] ", ""},
        {"[1]", "1"},
        {"[ 1 , \"a,]\" ,{\"k\":[1,2]}, [3] ,null]",
         "1|\"a,]\"|{\"k\":[1,2]}|[3]|null"},
        {"[{}]", "{}"},
        {"[1,]", "!"},
        {"[,1]", "!"},
        {"[1 2]", "!"},
        {"[1", "!"},
        {"{\"a\":1}", "!"},
        {"", "!"},
        {"[\"unterminated]", "!"},
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
         "]",
         "!"}, /* deeper than the scanner goes */
    };
    char got[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        elements(t[i].in, got, sizeof(got));
        assert_string_equal(got, t[i].want);
    }
}

static void test_batch_body(void **state)
{
    const uint8_t *vals[2] = {(const uint8_t *)"vault:v1:AAAA",
                              (const uint8_t *)"vault:v2:BBBB"};
    const size_t lens[2] = {13, 13};
    const uint8_t ctx_bytes[3] = {1, 2, 3};
    struct cmk_buf ctx = {(uint8_t *)(uintptr_t)ctx_bytes, 3};
    struct cmk_sb sb = {0};

    (void)state;
    assert_int_equal(
        cmk_vault_batch_body(&sb, false, vals, lens, 2, &ctx, true, false),
        CMK_OK);
    assert_string_equal(sb.p, "{\"batch_input\":["
                              "{\"ciphertext\":\"vault:v1:AAAA\","
                              "\"context\":\"AQID\"},"
                              "{\"ciphertext\":\"vault:v2:BBBB\","
                              "\"context\":\"AQID\"}]}");
    cmk_sb_free(&sb);
    assert_int_equal(
        cmk_vault_batch_body(&sb, true, vals, lens, 1, &ctx, false, true),
        CMK_OK);
    assert_string_equal(sb.p, "{\"batch_input\":["
                              "{\"plaintext\":\"dmF1bHQ6djE6QUFBQQ==\","
                              "\"associated_data\":\"AQID\"}]}");
    cmk_sb_free(&sb);
}

static cmk_err parse(const char *text, bool pt, struct vault_result *res,
                     size_t n, char **body)
{
    *body = strdup(text);
    assert_non_null(*body);
    return cmk_vault_parse_batch(*body, strlen(*body), pt, res, n);
}

static void test_batch_ciphertexts(void **state)
{
    struct vault_result res[3];
    char *body;

    (void)state;
    assert_int_equal(
        parse("{\"request_id\":\"r\",\"data\":{\"batch_results\":["
              "{\"ciphertext\":\"vault:v3:AAAA\",\"key_version\":3},"
              "{\"error\":\"cipher: message authentication failed\","
              "\"reference\":\"\"},"
              "{\"error\":\"ciphertext or signature version is disallowed "
              "by policy (too old)\"}]}}",
              false, res, 3, &body),
        CMK_OK);
    assert_int_equal(res[0].err, CMK_OK);
    assert_int_equal(res[0].version, 3);
    assert_int_equal(res[0].ct.len, 13);
    assert_memory_equal(res[0].ct.p, "vault:v3:AAAA", 13);
    assert_int_equal(res[1].err, CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(res[1].code, "AuthenticationFailed");
    assert_null(res[1].ct.p);
    assert_int_equal(res[2].err, CMK_E_KEY_DISABLED);
    assert_string_equal(res[2].code, "VersionDisallowed");
    cmk_vault_results_free(res, 3);
    free(body);
    /* an empty error is no error; an unknown one is BadRequest */
    assert_int_equal(parse("{\"data\":{\"batch_results\":["
                           "{\"ciphertext\":\"vault:v1:AAAA\",\"error\":\"\"},"
                           "{\"error\":\"something new\"}]}}",
                           false, res, 2, &body),
                     CMK_OK);
    assert_int_equal(res[0].err, CMK_OK);
    assert_int_equal(res[1].err, CMK_E_CONFIG);
    assert_string_equal(res[1].code, "BadRequest");
    cmk_vault_results_free(res, 2);
    free(body);
}

static void test_batch_plaintexts(void **state)
{
    struct vault_result res[2];
    char *body;

    (void)state;
    assert_int_equal(parse("{\"data\":{\"batch_results\":["
                           "{\"plaintext\":\"c2VjcmV0\"},"
                           "{\"plaintext\":\"\",\"error\":\"invalid "
                           "ciphertext: no prefix\"}]}}",
                           true, res, 2, &body),
                     CMK_OK);
    assert_int_equal(res[0].err, CMK_OK);
    assert_int_equal(res[0].pt.len, 6);
    assert_memory_equal(res[0].pt.p, "secret", 6);
    assert_null(strstr(body, "c2VjcmV0")); /* overwritten in the body */
    assert_int_equal(res[1].err, CMK_E_BAD_CIPHERTEXT);
    assert_string_equal(res[1].code, "InvalidCiphertext");
    assert_null(res[1].pt.p);
    cmk_vault_results_free(res, 2);
    assert_null(res[0].pt.p);
    free(body);
}

/* Refused whole, nothing kept. */
static void test_batch_refused(void **state)
{
    static const char *const bad[] = {
        "{\"data\":{\"batch_results\":[{\"ciphertext\":\"vault:v1:AAAA\"}]}}",
        "{\"data\":{\"batch_results\":[{\"ciphertext\":\"vault:v1:AAAA\"},"
        "{\"ciphertext\":\"vault:v1:AAAA\"},{\"ciphertext\":\"vault:v1:A"
        "AAA\"}]}}",
        "{\"data\":{\"batch_results\":[{\"ciphertext\":\"vault:v1:AAAA\"},"
        "{\"ciphertext\":\"v1:AAAA\"}]}}",
        "{\"data\":{\"batch_results\":[{\"ciphertext\":\"vault:v1:AAAA\"},"
        "\"x\"]}}",
        "{\"data\":{\"batch_results\":[{\"ciphertext\":\"vault:v1:AAAA\"},"
        "{\"error\":7}]}}",
        "{\"data\":{\"batch_results\":{}}}",
        "{\"data\":{\"ciphertext\":\"vault:v1:AAAA\"}}",
        "{\"data\":null}",
        "{\"errors\":[\"permission denied\"]}",
        "[]",
    };
    struct vault_result res[2];
    char *body;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(bad[i], false, res, 2, &body),
                         CMK_E_BAD_RESPONSE);
        assert_null(res[0].ct.p);
        assert_null(res[1].ct.p);
        /* the first five still list items: a batch's 400 reaches parse */
        assert_int_equal(cmk_vault_has_batch_results(body, strlen(body)),
                         i < 5);
        free(body);
    }
    /* a plaintext that is not base64 */
    assert_int_equal(parse("{\"data\":{\"batch_results\":[{\"plaintext\":"
                           "\"c2Vj!\"},{\"plaintext\":\"c2Vj\"}]}}",
                           true, res, 2, &body),
                     CMK_E_BAD_RESPONSE);
    assert_null(res[0].pt.p);
    assert_null(res[1].pt.p);
    free(body);
}

/* ---- key pairs ---- */

static void test_sign_body(void **state)
{
    struct cmk_sb sb = {0};

    (void)state;
    assert_int_equal(cmk_vault_body_sign(&sb, (const uint8_t *)"abc", 3,
                                         "sha2-256", true, true, 2),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"input\":\"YWJj\",\"prehashed\":true,"
                              "\"hash_algorithm\":\"sha2-256\","
                              "\"key_version\":2,\"signature_algorithm\":"
                              "\"pss\",\"salt_length\":\"hash\"}");
    cmk_sb_free(&sb);
    assert_int_equal(cmk_vault_body_sign(&sb, (const uint8_t *)"abc", 3,
                                         "sha2-512", true, false, 1),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"input\":\"YWJj\",\"prehashed\":true,"
                              "\"hash_algorithm\":\"sha2-512\","
                              "\"key_version\":1,\"signature_algorithm\":"
                              "\"pkcs1v15\"}");
    cmk_sb_free(&sb);
    assert_int_equal(cmk_vault_body_sign(&sb, (const uint8_t *)"abc", 3,
                                         "sha2-384", false, false, 7),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"input\":\"YWJj\",\"prehashed\":true,"
                              "\"hash_algorithm\":\"sha2-384\","
                              "\"key_version\":7,\"marshaling_algorithm\":"
                              "\"asn1\"}");
    cmk_sb_free(&sb);
}

#define READ(keys)                                                             \
    "{\"request_id\":\"r\",\"data\":{\"type\":\"ecdsa-p256\","                 \
    "\"latest_version\":2,\"keys\":" keys "}}"

static cmk_err pair(const char *body, unsigned long want,
                    struct vault_pair_info *pi, const char **code)
{
    *code = "";
    return cmk_vault_parse_pair(body, strlen(body), want, pi, code);
}

static void test_pair_read(void **state)
{
    static const char two[] =
        READ("{\"1\":{\"name\":\"P-256\",\"public_key\":\"one\"},"
             "\"2\":{\"name\":\"P-256\",\"public_key\":\"two\"}}");
    struct vault_pair_info pi;
    const char *code;

    (void)state;
    assert_int_equal(pair(two, 0, &pi, &code), CMK_OK);
    assert_string_equal(pi.type, "ecdsa-p256");
    assert_int_equal(pi.version, 2);
    assert_int_equal(pi.pem.len, 3);
    assert_memory_equal(pi.pem.p, "two", 3);
    cmk_buf_free(&pi.pem);
    assert_int_equal(pair(two, 1, &pi, &code), CMK_OK);
    assert_int_equal(pi.version, 1);
    assert_memory_equal(pi.pem.p, "one", 3);
    cmk_buf_free(&pi.pem);
    /* a version beyond the latest, or trimmed away */
    assert_int_equal(pair(two, 3, &pi, &code), CMK_E_KEY_NOT_FOUND);
    assert_string_equal(code, "KeyVersionNotFound");
    assert_int_equal(
        pair(READ("{\"2\":{\"public_key\":\"two\"}}"), 1, &pi, &code),
        CMK_E_KEY_NOT_FOUND);
    assert_string_equal(code, "KeyVersionNotFound");
    assert_null(pi.pem.p);
    /* a symmetric key's entries (times), no public_key, an empty one */
    assert_int_equal(pair(READ("{\"2\":1700000000}"), 0, &pi, &code),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(pair(READ("{\"2\":{\"name\":\"P-256\"}}"), 0, &pi, &code),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(pair(READ("{\"2\":{\"public_key\":\"\"}}"), 0, &pi, &code),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(
        pair("{\"data\":{\"latest_version\":1,\"keys\":{}}}", 0, &pi, &code),
        CMK_E_BAD_RESPONSE);
}

static cmk_err sig_of(const char *body, unsigned long *v, struct cmk_buf *sig)
{
    return cmk_vault_parse_sig(body, strlen(body), v, sig);
}

static void test_signature(void **state)
{
    struct cmk_buf sig = {0};
    unsigned long v = 0;

    (void)state;
    assert_int_equal(sig_of("{\"data\":{\"signature\":\"vault:v12:YWJj\","
                            "\"key_version\":12}}",
                            &v, &sig),
                     CMK_OK);
    assert_int_equal(v, 12);
    assert_int_equal(sig.len, 3);
    assert_memory_equal(sig.p, "abc", 3);
    cmk_buf_free(&sig);
    /* no prefix, version 0, base64url (jws), empty, not a string */
    assert_int_equal(sig_of("{\"data\":{\"signature\":\"YWJj\"}}", &v, &sig),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(
        sig_of("{\"data\":{\"signature\":\"vault:v0:YWJj\"}}", &v, &sig),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(
        sig_of("{\"data\":{\"signature\":\"vault:v1:YW-_\"}}", &v, &sig),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(
        sig_of("{\"data\":{\"signature\":\"vault:v1:\"}}", &v, &sig),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(sig_of("{\"data\":{\"signature\":1}}", &v, &sig),
                     CMK_E_BAD_RESPONSE);
    assert_null(sig.p);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_scanner),
        cmocka_unit_test(test_batch_body),
        cmocka_unit_test(test_batch_ciphertexts),
        cmocka_unit_test(test_batch_plaintexts),
        cmocka_unit_test(test_batch_refused),
        cmocka_unit_test(test_sign_body),
        cmocka_unit_test(test_pair_read),
        cmocka_unit_test(test_signature),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
