/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: Google Cloud KMS bodies (providers/gcp_json.h): request bodies
 * byte for byte; encrypt, decrypt and GET cryptoKey answers with CRC32C
 * as string and number, missing and false verified flags, wrong CRCs
 * (CMK_E_INTEGRITY) against malformed answers (CMK_E_BAD_RESPONSE); GET
 * cryptoKeyVersion answers; every error status; the size limits at their
 * boundaries; the key pairs' bodies and answers (getPublicKey,
 * asymmetricSign, asymmetricDecrypt) with their checksums and flags.
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

#include "providers/gcp_json.h"

#define NAME "projects/p/locations/l/keyRings/r/cryptoKeys/k"
#define VER NAME "/cryptoKeyVersions/3"

static void test_request_bodies(void **state)
{
    struct cmk_sb sb = {0};

    (void)state;
    assert_int_equal(cmk_gcp_body_encrypt(&sb, (const uint8_t *)"hello", 5,
                                          (const uint8_t *)"ctx", 3),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"plaintext\":\"aGVsbG8=\","
                              "\"additionalAuthenticatedData\":\"Y3R4\","
                              "\"plaintextCrc32c\":\"2591144780\","
                              "\"additionalAuthenticatedDataCrc32c\":"
                              "\"2801377629\"}");
    cmk_sb_free(&sb);
    assert_int_equal(cmk_gcp_body_decrypt(&sb, (const uint8_t *)"\1\2\3", 3,
                                          (const uint8_t *)"ctx", 3),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"ciphertext\":\"AQID\","
                              "\"additionalAuthenticatedData\":\"Y3R4\","
                              "\"ciphertextCrc32c\":\"4046516766\","
                              "\"additionalAuthenticatedDataCrc32c\":"
                              "\"2801377629\"}");
    cmk_sb_free(&sb);
    /* No AAD: neither AAD member. */
    assert_int_equal(
        cmk_gcp_body_encrypt(&sb, (const uint8_t *)"hello", 5, NULL, 0),
        CMK_OK);
    assert_string_equal(
        sb.p,
        "{\"plaintext\":\"aGVsbG8=\",\"plaintextCrc32c\":\"2591144780\"}");
    cmk_sb_free(&sb);
}

static cmk_err enc(const char *body, bool aad_sent,
                   struct cmk_gcp_encrypted *out)
{
    return cmk_gcp_parse_encrypt(body, strlen(body), aad_sent, out);
}

#define ENC_HEAD "{\"name\":\"" VER "\",\"ciphertext\":\"AQID\","

static void test_encrypt_answer(void **state)
{
    struct cmk_gcp_encrypted e;

    (void)state;
    assert_int_equal(enc(ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                                  "\"verifiedPlaintextCrc32c\":true,"
                                  "\"verifiedAdditionalAuthenticatedDataCrc32c"
                                  "\":true,\"protectionLevel\":\"HSM\"}",
                         true, &e),
                     CMK_OK);
    assert_string_equal(e.version, VER);
    assert_int_equal(e.ct.len, 3);
    assert_memory_equal(e.ct.p, "\1\2\3", 3);
    assert_int_equal(e.level, CMK_GCP_HSM);
    cmk_buf_free(&e.ct);
    /* CRC as a number, level as a number, AAD flag absent with no AAD. */
    assert_int_equal(enc(ENC_HEAD "\"ciphertextCrc32c\":4046516766,"
                                  "\"verifiedPlaintextCrc32c\":true,"
                                  "\"protectionLevel\":1}",
                         false, &e),
                     CMK_OK);
    assert_int_equal(e.level, CMK_GCP_SOFTWARE);
    cmk_buf_free(&e.ct);
}

static void test_encrypt_integrity(void **state)
{
    static const struct {
        const char *body;
        bool aad_sent;
    } bad[] = {
        /* wrong CRC, string and number */
        {ENC_HEAD "\"ciphertextCrc32c\":\"4046516767\","
                  "\"verifiedPlaintextCrc32c\":true}",
         false},
        {ENC_HEAD "\"ciphertextCrc32c\":0,\"verifiedPlaintextCrc32c\":true}",
         false},
        /* verified flags missing or false */
        {ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\"}", false},
        {ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                  "\"verifiedPlaintextCrc32c\":false}",
         false},
        {ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                  "\"verifiedPlaintextCrc32c\":true}",
         true},
        {ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                  "\"verifiedPlaintextCrc32c\":true,"
                  "\"verifiedAdditionalAuthenticatedDataCrc32c\":false}",
         true},
    };
    struct cmk_gcp_encrypted e;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(enc(bad[i].body, bad[i].aad_sent, &e),
                         CMK_E_INTEGRITY);
        assert_null(e.ct.p);
    }
}

static void test_encrypt_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"name\":\"" VER "\"",
        /* missing members */
        "{\"ciphertext\":\"AQID\",\"ciphertextCrc32c\":\"4046516766\","
        "\"verifiedPlaintextCrc32c\":true}",
        "{\"name\":\"" VER "\",\"ciphertextCrc32c\":\"4046516766\","
        "\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"verifiedPlaintextCrc32c\":true}",
        /* bad base64, empty ciphertext */
        "{\"name\":\"" VER "\",\"ciphertext\":\"AQI*\",\"ciphertextCrc32c\":"
        "\"0\",\"verifiedPlaintextCrc32c\":true}",
        "{\"name\":\"" VER "\",\"ciphertext\":\"\",\"ciphertextCrc32c\":"
        "\"0\",\"verifiedPlaintextCrc32c\":true}",
        /* wrong types */
        "{\"name\":3,\"ciphertext\":\"AQID\",\"ciphertextCrc32c\":"
        "\"4046516766\",\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"ciphertextCrc32c\":true,\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                 "\"verifiedPlaintextCrc32c\":\"true\"}",
        ENC_HEAD "\"ciphertextCrc32c\":4046516766.0,"
                 "\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"ciphertextCrc32c\":\"4046516766\","
                 "\"verifiedPlaintextCrc32c\":true,\"protectionLevel\":[]}",
        /* CRC out of range or not decimal */
        ENC_HEAD "\"ciphertextCrc32c\":\"4294967296\","
                 "\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"ciphertextCrc32c\":-1,\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD
        "\"ciphertextCrc32c\":\"-1\",\"verifiedPlaintextCrc32c\":true}",
        ENC_HEAD "\"ciphertextCrc32c\":\"0x10\","
                 "\"verifiedPlaintextCrc32c\":true}",
        /* name with characters a resource name cannot hold */
        "{\"name\":\"a b\",\"ciphertext\":\"AQID\",\"ciphertextCrc32c\":"
        "\"4046516766\",\"verifiedPlaintextCrc32c\":true}",
        /* duplicate member */
        ENC_HEAD "\"ciphertext\":\"AQID\",\"ciphertextCrc32c\":\"4046516766\","
                 "\"verifiedPlaintextCrc32c\":true}",
    };
    struct cmk_gcp_encrypted e;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (enc(bad[i], false, &e) != CMK_E_BAD_RESPONSE)
            fail_msg("case %zu accepted or wrong error", i);
        assert_null(e.ct.p);
    }
}

/* A ciphertext and a name one byte over their caps. */
static void test_encrypt_oversized(void **state)
{
    size_t b64 = (GCP_MAX_CIPHERTEXT + 3) / 3 * 4, n = b64 + GCP_NAME_MAX + 200;
    char *body = malloc(n), *p;
    struct cmk_gcp_encrypted e;

    (void)state;
    assert_non_null(body);
    p = body + sprintf(body, "{\"name\":\"" VER "\",\"ciphertext\":\"");
    memset(p, 'A', b64);
    sprintf(p + b64, "\",\"ciphertextCrc32c\":\"0\","
                     "\"verifiedPlaintextCrc32c\":true}");
    assert_int_equal(enc(body, false, &e), CMK_E_BAD_RESPONSE);
    p = body + sprintf(body, "{\"name\":\"");
    memset(p, 'a', GCP_NAME_MAX);
    sprintf(p + GCP_NAME_MAX, "\",\"ciphertext\":\"AQID\",\"ciphertextCrc32c"
                              "\":\"4046516766\",\"verifiedPlaintextCrc32c\":"
                              "true}");
    assert_int_equal(enc(body, false, &e), CMK_E_BAD_RESPONSE);
    p[GCP_NAME_MAX - 1] = '"';
    memmove(p + GCP_NAME_MAX, p + GCP_NAME_MAX + 1, strlen(p + GCP_NAME_MAX));
    assert_int_equal(enc(body, false, &e), CMK_OK);
    assert_int_equal(strlen(e.version), GCP_NAME_MAX - 1);
    cmk_buf_free(&e.ct);
    free(body);
}

static cmk_err dec(const char *text, struct cmk_gcp_decrypted *out)
{
    char *copy = strdup(text);
    cmk_err err;

    assert_non_null(copy);
    err = cmk_gcp_parse_decrypt(copy, strlen(copy), out);
    if (strstr(text, "c2VjcmV0LWRlaw==") != NULL)
        assert_null(strstr(copy, "c2VjcmV0LWRlaw==")); /* blanked */
    free(copy);
    return err;
}

static void test_decrypt_answer(void **state)
{
    struct cmk_gcp_decrypted d;

    (void)state;
    assert_int_equal(dec("{\"plaintext\":\"c2VjcmV0LWRlaw==\","
                         "\"plaintextCrc32c\":\"1284403678\","
                         "\"usedPrimary\":true,\"protectionLevel\":"
                         "\"SOFTWARE\"}",
                         &d),
                     CMK_OK);
    assert_int_equal(d.pt.len, 10);
    assert_memory_equal(d.pt.p, "secret-dek", 10);
    assert_true(d.used_primary);
    assert_int_equal(d.level, CMK_GCP_SOFTWARE);
    cmk_secret_free(&d.pt);
    /* CRC as a number, usedPrimary absent (false), level by number. */
    assert_int_equal(dec("{\"plaintext\":\"c2VjcmV0LWRlaw==\","
                         "\"plaintextCrc32c\":1284403678,"
                         "\"protectionLevel\":2}",
                         &d),
                     CMK_OK);
    assert_false(d.used_primary);
    assert_int_equal(d.level, CMK_GCP_HSM);
    cmk_secret_free(&d.pt);
    /* Empty plaintext, omitted by proto3: CRC 0. */
    assert_int_equal(dec("{\"plaintextCrc32c\":\"0\"}", &d), CMK_OK);
    assert_int_equal(d.pt.len, 0);
    cmk_secret_free(&d.pt);
}

static void test_decrypt_refused(void **state)
{
    static const struct {
        const char *body;
        cmk_err err;
    } bad[] = {
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\",\"plaintextCrc32c\":"
         "\"1284403679\"}",
         CMK_E_INTEGRITY},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\",\"plaintextCrc32c\":1}",
         CMK_E_INTEGRITY},
        {"{\"plaintextCrc32c\":\"5\"}", CMK_E_INTEGRITY},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\"}", CMK_E_BAD_RESPONSE},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw=\",\"plaintextCrc32c\":"
         "\"1284403678\"}",
         CMK_E_BAD_RESPONSE},
        {"{\"plaintext\":7,\"plaintextCrc32c\":\"0\"}", CMK_E_BAD_RESPONSE},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\",\"plaintextCrc32c\":"
         "\"1284403678\",\"usedPrimary\":1}",
         CMK_E_BAD_RESPONSE},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\",\"plaintextCrc32c\":"
         "\"1284403678\"",
         CMK_E_BAD_RESPONSE},
        {"{\"plaintext\":\"c2VjcmV0LWRlaw==\",\"plaintext\":\"AQID\","
         "\"plaintextCrc32c\":\"1284403678\"}",
         CMK_E_BAD_RESPONSE},
        {"[\"plaintext\"]", CMK_E_BAD_RESPONSE},
    };
    struct cmk_gcp_decrypted d;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dec(bad[i].body, &d) != bad[i].err)
            fail_msg("case %zu: wrong result", i);
        assert_null(d.pt.p);
        assert_int_equal(d.pt.len, 0);
    }
    assert_int_equal(cmk_gcp_parse_decrypt(NULL, 0, &d), CMK_E_BAD_RESPONSE);
}

static cmk_err key(const char *body, struct cmk_gcp_key_info *k)
{
    return cmk_gcp_parse_key(body, strlen(body), k);
}

static void test_key_answer(void **state)
{
    struct cmk_gcp_key_info k;

    (void)state;
    assert_int_equal(key("{\"name\":\"" NAME "\",\"purpose\":"
                         "\"ENCRYPT_DECRYPT\",\"primary\":{\"name\":\"" VER
                         "\",\"state\":\"ENABLED\",\"protectionLevel\":"
                         "\"HSM\",\"algorithm\":\"GOOGLE_SYMMETRIC_"
                         "ENCRYPTION\"},\"labels\":{}}",
                         &k),
                     CMK_OK);
    assert_string_equal(k.version, VER);
    assert_int_equal(k.state, CMK_GCP_ENABLED);
    assert_int_equal(k.level, CMK_GCP_HSM);
    assert_int_equal(k.purpose, CMK_GCP_ENCRYPT_DECRYPT);
    assert_int_equal(key("{\"purpose\":1,\"primary\":{\"name\":\"" VER
                         "\",\"state\":2,\"protectionLevel\":1}}",
                         &k),
                     CMK_OK);
    assert_int_equal(k.state, CMK_GCP_DISABLED);
    assert_int_equal(key("{\"purpose\":\"ENCRYPT_DECRYPT\",\"primary\":{"
                         "\"name\":\"" VER "\",\"state\":\"NEW_STATE\"}}",
                         &k),
                     CMK_OK);
    assert_int_equal(k.state, CMK_GCP_UNKNOWN);
    assert_int_equal(key("{\"purpose\":\"MAC\"}", &k), CMK_OK);
    assert_int_equal(k.purpose, CMK_GCP_MAC);
    assert_string_equal(k.version, "");
    assert_int_equal(k.state, 0);
    assert_int_equal(key("{\"primary\":[]}", &k), CMK_E_BAD_RESPONSE);
    assert_int_equal(key("{\"primary\":{\"state\":\"ENABLED\"}}", &k),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(key("{\"purpose\":true}", &k), CMK_E_BAD_RESPONSE);
    assert_int_equal(key("{\"purpose\":-1}", &k), CMK_E_BAD_RESPONSE);
    assert_int_equal(
        key("{\"primary\":{\"name\":\"" VER "\",\"state\":1.5}}", &k),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(key("{", &k), CMK_E_BAD_RESPONSE);
}

static cmk_err ver(const char *body, struct cmk_gcp_key_info *k)
{
    return cmk_gcp_parse_version(body, strlen(body), k);
}

/* A CryptoKeyVersion, as GET cryptoKeyVersion answers it. */
static void test_version_answer(void **state)
{
    static const char *const bad[] = {
        "{\"state\":\"ENABLED\"}",                       /* no name */
        "{\"name\":\"\",\"state\":\"ENABLED\"}",         /* empty name */
        "{\"name\":\"" VER "\",\"state\":true}",         /* not an enum */
        "{\"name\":\"" VER "\",\"state\":-2}",           /* negative */
        "{\"name\":\"" VER "\",\"protectionLevel\":{}}", /* an object */
        "{\"name\":\"" VER " x\",\"state\":1}",          /* a space */
        "{\"name\":7}",
        "[{\"name\":\"" VER "\"}]",
        "{\"name\":\"" VER "\"",
        "",
    };
    struct cmk_gcp_key_info k;
    size_t i;

    (void)state;
    assert_int_equal(ver("{\"name\":\"" VER "\",\"state\":\"DISABLED\","
                         "\"protectionLevel\":\"HSM\",\"algorithm\":"
                         "\"GOOGLE_SYMMETRIC_ENCRYPTION\",\"createTime\":"
                         "\"2026-01-01T00:00:00.000000Z\"}",
                         &k),
                     CMK_OK);
    assert_string_equal(k.version, VER);
    assert_int_equal(k.state, CMK_GCP_DISABLED);
    assert_int_equal(k.level, CMK_GCP_HSM);
    assert_int_equal(k.purpose, 0);
    /* enums as numbers (enum-encoding=int), absent ones 0 */
    assert_int_equal(ver("{\"name\":\"" VER "\",\"state\":3}", &k), CMK_OK);
    assert_int_equal(k.state, CMK_GCP_DESTROYED);
    assert_int_equal(k.level, 0);
    assert_int_equal(ver("{\"name\":\"" VER "\",\"state\":\"LATER\"}", &k),
                     CMK_OK);
    assert_int_equal(k.state, CMK_GCP_UNKNOWN);
    /* a cryptoKey answer is no version: its primary is not read */
    assert_int_equal(ver("{\"name\":\"" NAME "\",\"primary\":{\"name\":\"" VER
                         "\",\"state\":\"ENABLED\"}}",
                         &k),
                     CMK_OK);
    assert_string_equal(k.version, NAME);
    assert_int_equal(k.state, 0);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&k, 0x5a, sizeof(k));
        if (ver(bad[i], &k) != CMK_E_BAD_RESPONSE)
            fail_msg("case %zu: accepted", i);
        assert_string_equal(k.version, "");
        assert_int_equal(k.state, 0);
        assert_int_equal(k.level, 0);
    }
    assert_int_equal(cmk_gcp_parse_version(NULL, 0, &k), CMK_E_BAD_RESPONSE);
}

static void test_error_statuses(void **state)
{
    static const struct {
        const char *status;
        enum cmk_gcp_op op;
        cmk_err err;
        enum cmk_retry_class cls;
    } t[] = {
        {"FAILED_PRECONDITION", CMK_GCP_OP_ENCRYPT, CMK_E_KEY_DISABLED,
         CMK_RETRY_NO},
        {"PERMISSION_DENIED", CMK_GCP_OP_DECRYPT, CMK_E_ACCESS_DENIED,
         CMK_RETRY_NO},
        {"INVALID_ARGUMENT", CMK_GCP_OP_DECRYPT, CMK_E_BAD_CIPHERTEXT,
         CMK_RETRY_NO},
        {"INVALID_ARGUMENT", CMK_GCP_OP_ENCRYPT, CMK_E_BAD_RESPONSE,
         CMK_RETRY_NO},
        {"NOT_FOUND", CMK_GCP_OP_GET, CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO},
        {"UNAUTHENTICATED", CMK_GCP_OP_ENCRYPT, CMK_E_AUTH_REFRESH,
         CMK_RETRY_NO},
        {"RESOURCE_EXHAUSTED", CMK_GCP_OP_ENCRYPT, CMK_E_THROTTLED,
         CMK_RETRY_THROTTLE_SLOW},
        {"UNAVAILABLE", CMK_GCP_OP_DECRYPT, CMK_E_KMS_INTERNAL,
         CMK_RETRY_TRANSIENT},
        {"DEADLINE_EXCEEDED", CMK_GCP_OP_DECRYPT, CMK_E_TIMEOUT,
         CMK_RETRY_TRANSIENT},
        {"INTERNAL", CMK_GCP_OP_GET, CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
        {"ABORTED", CMK_GCP_OP_GET, CMK_E_BAD_RESPONSE, CMK_RETRY_NO},
        {"not_found", CMK_GCP_OP_GET, CMK_E_BAD_RESPONSE, CMK_RETRY_NO},
    };
    struct cmk_gcp_error rec;
    enum cmk_retry_class cls;
    char body[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":400,\"message\":\"NOT_FOUND "
                 "UNAUTHENTICATED\",\"status\":\"%s\"}}",
                 t[i].status);
        cls = CMK_RETRY_TIMEOUT;
        assert_int_equal(
            cmk_gcp_error_map(403, body, strlen(body), t[i].op, &rec, &cls),
            t[i].err);
        assert_int_equal(cls, t[i].cls);
        assert_int_equal(rec.http, 403);
        assert_string_equal(rec.status, t[i].status);
    }
}

/* No status, a message alone, and a status too long or unsafe for the
 * audit record (kept truncated and filtered, mapped as unknown). */
static void test_error_other(void **state)
{
    static const char *const none[] = {
        "", "<html>503</html>", "{\"error\":{\"message\":\"NOT_FOUND\"}}",
        "{\"error\":\"UNAVAILABLE\"}", "{\"error\":{\"status\":404}}"};
    struct cmk_gcp_error rec;
    enum cmk_retry_class cls;
    const char *b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        assert_int_equal(cmk_gcp_error_map(503, none[i], strlen(none[i]),
                                           CMK_GCP_OP_GET, &rec, &cls),
                         CMK_E_BAD_RESPONSE);
        assert_int_equal(cls, CMK_RETRY_NO);
        assert_int_equal(rec.http, 503);
        assert_string_equal(rec.status, "");
    }
    b = "{\"error\":{\"status\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789\"}}";
    assert_int_equal(
        cmk_gcp_error_map(400, b, strlen(b), CMK_GCP_OP_GET, &rec, &cls),
        CMK_E_BAD_RESPONSE);
    assert_string_equal(rec.status, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123");
    b = "{\"error\":{\"status\":\"NOT\\u0000FOUND\"}}";
    assert_int_equal(
        cmk_gcp_error_map(404, b, strlen(b), CMK_GCP_OP_GET, &rec, &cls),
        CMK_E_BAD_RESPONSE);
    assert_string_equal(rec.status, "");
    b = "{\"error\":{\"status\":\"NOT_FOUND\\n\\\"x\"}}";
    assert_int_equal(
        cmk_gcp_error_map(404, b, strlen(b), CMK_GCP_OP_GET, &rec, &cls),
        CMK_E_BAD_RESPONSE);
    assert_string_equal(rec.status, "NOT_FOUNDx");
}

static void test_sizes(void **state)
{
    (void)state;
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_SOFTWARE, 65536, 65536),
                     CMK_OK);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_SOFTWARE, 65537, 0),
                     CMK_E_TOO_LARGE);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_EXTERNAL, 0, 65537),
                     CMK_E_TOO_LARGE);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_HSM, 8192, 0), CMK_OK);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_HSM, 4096, 4096), CMK_OK);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_HSM, 4096, 4097),
                     CMK_E_TOO_LARGE);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_HSM, 8193, 0),
                     CMK_E_TOO_LARGE);
    assert_int_equal(cmk_gcp_check_sizes(CMK_GCP_HSM, SIZE_MAX, SIZE_MAX),
                     CMK_E_TOO_LARGE);
}

/* ---- key pairs ---- */

static void test_asym_bodies(void **state)
{
    uint8_t d[32];
    struct cmk_sb sb = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)i;
    assert_int_equal(cmk_gcp_body_sign(&sb, "sha256", d, sizeof(d)), CMK_OK);
    assert_string_equal(sb.p,
                        "{\"digest\":{\"sha256\":"
                        "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"},"
                        "\"digestCrc32c\":\"1188919630\"}");
    cmk_sb_free(&sb);
    assert_int_equal(cmk_gcp_body_asym_decrypt(&sb, (const uint8_t *)"ct", 2),
                     CMK_OK);
    assert_string_equal(sb.p, "{\"ciphertext\":\"Y3Q=\",\"ciphertextCrc32c\":"
                              "\"4078451039\"}");
    cmk_sb_free(&sb);
}

#define PEM "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n"

static cmk_err public_key(const char *body, struct cmk_gcp_public_key *pk)
{
    return cmk_gcp_parse_public_key(body, strlen(body), pk);
}

static void test_public_key_answer(void **state)
{
    struct cmk_gcp_public_key pk;

    (void)state;
    assert_int_equal(
        public_key("{\"pem\":\"" PEM "\",\"algorithm\":\"EC_SIGN_P256_SHA256\","
                   "\"pemCrc32c\":\"1901040767\",\"name\":\"" VER "\","
                   "\"protectionLevel\":\"HSM\"}",
                   &pk),
        CMK_OK);
    assert_string_equal(pk.version, VER);
    assert_int_equal(pk.algorithm, CMK_GCP_EC_SIGN_P256_SHA256);
    assert_int_equal(pk.pem.len, 57);
    assert_memory_equal(pk.pem.p, "-----BEGIN PUBLIC KEY-----\nAAAA\n", 32);
    cmk_buf_free(&pk.pem);
    /* the algorithm as its number; one this module does not list */
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"algorithm\":13,"
                                "\"pemCrc32c\":1901040767,\"name\":\"" VER
                                "\"}",
                                &pk),
                     CMK_OK);
    assert_int_equal(pk.algorithm, CMK_GCP_EC_SIGN_P384_SHA384);
    cmk_buf_free(&pk.pem);
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"algorithm\":"
                                "\"EC_SIGN_ED25519\",\"pemCrc32c\":"
                                "\"1901040767\",\"name\":\"" VER "\"}",
                                &pk),
                     CMK_OK);
    assert_int_equal(pk.algorithm, CMK_GCP_UNKNOWN);
    cmk_buf_free(&pk.pem);
    /* a CRC that does not match; none; no algorithm, pem or name */
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"algorithm\":13,"
                                "\"pemCrc32c\":\"1901040768\",\"name\":\"" VER
                                "\"}",
                                &pk),
                     CMK_E_INTEGRITY);
    assert_null(pk.pem.p);
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"algorithm\":13,"
                                "\"name\":\"" VER "\"}",
                                &pk),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"pemCrc32c\":"
                                "\"1901040767\",\"name\":\"" VER "\"}",
                                &pk),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(public_key("{\"algorithm\":13,\"pemCrc32c\":\"0\","
                                "\"name\":\"" VER "\"}",
                                &pk),
                     CMK_E_BAD_RESPONSE);
    assert_int_equal(public_key("{\"pem\":\"" PEM "\",\"algorithm\":13,"
                                "\"pemCrc32c\":\"1901040767\"}",
                                &pk),
                     CMK_E_BAD_RESPONSE);
}

static cmk_err signed_answer(const char *body, struct cmk_gcp_signed *s)
{
    return cmk_gcp_parse_sign(body, strlen(body), s);
}

static void test_sign_answer(void **state)
{
    struct cmk_gcp_signed s;

    (void)state;
    assert_int_equal(
        signed_answer("{\"signature\":\"c2lnLWJ5dGVz\",\"signatureCrc32c\":"
                      "\"2276569637\",\"verifiedDigestCrc32c\":true,"
                      "\"name\":\"" VER "\",\"protectionLevel\":\"HSM\"}",
                      &s),
        CMK_OK);
    assert_string_equal(s.version, VER);
    assert_int_equal(s.sig.len, 9);
    assert_memory_equal(s.sig.p, "sig-bytes", 9);
    cmk_buf_free(&s.sig);
    /* the flag absent or false; the CRC off; none; no signature */
    assert_int_equal(
        signed_answer("{\"signature\":\"c2lnLWJ5dGVz\",\"signatureCrc32c\":"
                      "\"2276569637\",\"name\":\"" VER "\"}",
                      &s),
        CMK_E_INTEGRITY);
    assert_null(s.sig.p);
    assert_int_equal(
        signed_answer("{\"signature\":\"c2lnLWJ5dGVz\",\"signatureCrc32c\":"
                      "\"2276569637\",\"verifiedDigestCrc32c\":false,"
                      "\"name\":\"" VER "\"}",
                      &s),
        CMK_E_INTEGRITY);
    assert_int_equal(
        signed_answer("{\"signature\":\"c2lnLWJ5dGVz\",\"signatureCrc32c\":"
                      "\"2276569638\",\"verifiedDigestCrc32c\":true,"
                      "\"name\":\"" VER "\"}",
                      &s),
        CMK_E_INTEGRITY);
    assert_int_equal(
        signed_answer("{\"signature\":\"c2lnLWJ5dGVz\","
                      "\"verifiedDigestCrc32c\":true,\"name\":\"" VER "\"}",
                      &s),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(
        signed_answer("{\"signatureCrc32c\":\"0\",\"verifiedDigestCrc32c\":"
                      "true,\"name\":\"" VER "\"}",
                      &s),
        CMK_E_BAD_RESPONSE);
    assert_int_equal(signed_answer("{\"signature\":\"c2lnLWJ5dGVz\","
                                   "\"signatureCrc32c\":\"2276569637\","
                                   "\"verifiedDigestCrc32c\":true}",
                                   &s),
                     CMK_E_BAD_RESPONSE);
}

static cmk_err opened(const char *text, struct cmk_gcp_decrypted *d)
{
    char body[512];

    snprintf(body, sizeof(body), "%s", text);
    return cmk_gcp_parse_asym_decrypt(body, strlen(body), d);
}

static void test_asym_decrypt_answer(void **state)
{
    struct cmk_gcp_decrypted d;

    (void)state;
    assert_int_equal(opened("{\"plaintext\":\"ZGVr\",\"plaintextCrc32c\":"
                            "\"4250966105\",\"verifiedCiphertextCrc32c\":"
                            "true,\"protectionLevel\":\"SOFTWARE\"}",
                            &d),
                     CMK_OK);
    assert_int_equal(d.pt.len, 3);
    assert_memory_equal(d.pt.p, "dek", 3);
    cmk_secret_free(&d.pt);
    assert_int_equal(opened("{\"plaintext\":\"ZGVr\",\"plaintextCrc32c\":"
                            "\"4250966105\"}",
                            &d),
                     CMK_E_INTEGRITY);
    assert_null(d.pt.p);
    assert_int_equal(opened("{\"plaintext\":\"ZGVr\",\"plaintextCrc32c\":"
                            "\"4250966106\",\"verifiedCiphertextCrc32c\":"
                            "true}",
                            &d),
                     CMK_E_INTEGRITY);
}

static void test_sign_errors(void **state)
{
    static const char bad[] =
        "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\"}}";
    struct cmk_gcp_error rec;
    enum cmk_retry_class cls;

    (void)state;
    assert_int_equal(
        cmk_gcp_error_map(400, bad, strlen(bad), CMK_GCP_OP_SIGN, &rec, &cls),
        CMK_E_ACCESS_DENIED);
    assert_string_equal(rec.status, "INVALID_ARGUMENT");
    assert_int_equal(cls, CMK_RETRY_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bodies),
        cmocka_unit_test(test_encrypt_answer),
        cmocka_unit_test(test_encrypt_integrity),
        cmocka_unit_test(test_encrypt_malformed),
        cmocka_unit_test(test_encrypt_oversized),
        cmocka_unit_test(test_decrypt_answer),
        cmocka_unit_test(test_decrypt_refused),
        cmocka_unit_test(test_key_answer),
        cmocka_unit_test(test_version_answer),
        cmocka_unit_test(test_error_statuses),
        cmocka_unit_test(test_error_other),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_asym_bodies),
        cmocka_unit_test(test_public_key_answer),
        cmocka_unit_test(test_sign_answer),
        cmocka_unit_test(test_asym_decrypt_answer),
        cmocka_unit_test(test_sign_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
