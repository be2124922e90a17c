/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Google Cloud KMS REST v1 bodies (gcp_json.h). Requests are
 * written straight into wiped buffers; answers are read with jansson,
 * except plaintext, lifted out of the raw body into guarded memory first.
 */
#include <config.h>

#include <jansson.h>
#include <string.h>

#include "net/json.h"
#include "providers/gcp_json.h"
#include "util/crc32c.h"
#include "util/text.h"

cmk_err cmk_gcp_check_sizes(int level, size_t pt_len, size_t aad_len)
{
    if (pt_len > GCP_MAX_PLAINTEXT || aad_len > GCP_MAX_AAD)
        return CMK_E_TOO_LARGE;
    if (level == CMK_GCP_HSM && pt_len + aad_len > GCP_MAX_HSM_DATA)
        return CMK_E_TOO_LARGE;
    return CMK_OK;
}

/* ---- Requests ---- */

static void put_crc(struct cmk_sb *sb, const char *member, const uint8_t *p,
                    size_t n)
{
    cmk_sb_printf(sb, ",\"%s\":\"%lu\"", member,
                  (unsigned long)cmk_crc32c(p, n));
}

static cmk_err body(struct cmk_sb *sb, const char *member, const char *crc,
                    const uint8_t *p, size_t n, const uint8_t *aad,
                    size_t aad_len)
{
    cmk_sb_printf(sb, "{\"%s\":", member);
    cmk_json_put_b64(sb, p, n);
    if (aad_len > 0) {
        cmk_sb_puts(sb, ",\"additionalAuthenticatedData\":");
        cmk_json_put_b64(sb, aad, aad_len);
    }
    put_crc(sb, crc, p, n);
    if (aad_len > 0)
        put_crc(sb, "additionalAuthenticatedDataCrc32c", aad, aad_len);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_gcp_body_encrypt(struct cmk_sb *sb, const uint8_t *pt,
                             size_t pt_len, const uint8_t *aad, size_t aad_len)
{
    return body(sb, "plaintext", "plaintextCrc32c", pt, pt_len, aad, aad_len);
}

cmk_err cmk_gcp_body_decrypt(struct cmk_sb *sb, const uint8_t *ct,
                             size_t ct_len, const uint8_t *aad, size_t aad_len)
{
    return body(sb, "ciphertext", "ciphertextCrc32c", ct, ct_len, aad, aad_len);
}

cmk_err cmk_gcp_body_sign(struct cmk_sb *sb, const char *member,
                          const uint8_t *digest, size_t len)
{
    cmk_sb_printf(sb, "{\"digest\":{\"%s\":", member);
    cmk_json_put_b64(sb, digest, len);
    cmk_sb_putc(sb, '}');
    put_crc(sb, "digestCrc32c", digest, len);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_gcp_body_asym_decrypt(struct cmk_sb *sb, const uint8_t *ct,
                                  size_t len)
{
    return body(sb, "ciphertext", "ciphertextCrc32c", ct, len, NULL, 0);
}

/* ---- Answer members ---- */

/* An int64 CRC32C, as proto3 JSON writes it (a decimal string) or as a
 * number; required. */
static cmk_err get_crc(json_t *obj, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    uint64_t x = 0;
    size_t i, n;

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            return CMK_E_BAD_RESPONSE;
        *out = (uint32_t)json_integer_value(v);
        return CMK_OK;
    }
    n = s != NULL ? json_string_length(v) : 0;
    if (n == 0 || n > 10)
        return CMK_E_BAD_RESPONSE;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return CMK_E_BAD_RESPONSE;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > UINT32_MAX)
        return CMK_E_BAD_RESPONSE;
    *out = (uint32_t)x;
    return CMK_OK;
}

/* A bool; absent is false (proto3 JSON omits false). */
static cmk_err get_bool(json_t *obj, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);

    if (v != NULL && !json_is_boolean(v))
        return CMK_E_BAD_RESPONSE;
    *out = json_is_true(v);
    return CMK_OK;
}

struct enum_name {
    const char *name;
    int value;
};

static const struct enum_name levels[] = {{"PROTECTION_LEVEL_UNSPECIFIED", 0},
                                          {"SOFTWARE", 1},
                                          {"HSM", 2},
                                          {"EXTERNAL", 3},
                                          {"EXTERNAL_VPC", 4},
                                          {NULL, 0}};
static const struct enum_name states[] = {
    {"CRYPTO_KEY_VERSION_STATE_UNSPECIFIED", 0},
    {"ENABLED", 1},
    {"DISABLED", 2},
    {"DESTROYED", 3},
    {"DESTROY_SCHEDULED", 4},
    {"PENDING_GENERATION", 5},
    {"PENDING_IMPORT", 6},
    {"IMPORT_FAILED", 7},
    {"GENERATION_FAILED", 8},
    {"PENDING_EXTERNAL_DESTRUCTION", 9},
    {"EXTERNAL_DESTRUCTION_FAILED", 10},
    {NULL, 0}};
static const struct enum_name purposes[] = {
    {"CRYPTO_KEY_PURPOSE_UNSPECIFIED", 0},
    {"ENCRYPT_DECRYPT", 1},
    {"ASYMMETRIC_SIGN", 5},
    {"ASYMMETRIC_DECRYPT", 6},
    {"RAW_ENCRYPT_DECRYPT", 7},
    {"MAC", 9},
    {NULL, 0}};
static const struct enum_name algorithms[] = {
    {"CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", 0},
    {"GOOGLE_SYMMETRIC_ENCRYPTION", 1},
    {"RSA_SIGN_PSS_2048_SHA256", 2},
    {"RSA_SIGN_PSS_3072_SHA256", 3},
    {"RSA_SIGN_PSS_4096_SHA256", 4},
    {"RSA_SIGN_PSS_4096_SHA512", 15},
    {"RSA_SIGN_PKCS1_2048_SHA256", 5},
    {"RSA_SIGN_PKCS1_3072_SHA256", 6},
    {"RSA_SIGN_PKCS1_4096_SHA256", 7},
    {"RSA_SIGN_PKCS1_4096_SHA512", 16},
    {"RSA_DECRYPT_OAEP_2048_SHA256", 8},
    {"RSA_DECRYPT_OAEP_3072_SHA256", 9},
    {"RSA_DECRYPT_OAEP_4096_SHA256", 10},
    {"RSA_DECRYPT_OAEP_4096_SHA512", 17},
    {"RSA_DECRYPT_OAEP_2048_SHA1", 37},
    {"RSA_DECRYPT_OAEP_3072_SHA1", 38},
    {"RSA_DECRYPT_OAEP_4096_SHA1", 39},
    {"EC_SIGN_P256_SHA256", 12},
    {"EC_SIGN_P384_SHA384", 13},
    {NULL, 0}};

/* An enum as its name or its number; absent is 0, an unknown name
 * CMK_GCP_UNKNOWN. */
static cmk_err get_enum(json_t *obj, const char *key, const struct enum_name *t,
                        int *out)
{
    json_t *v = json_object_get(obj, key);
    json_int_t n;

    *out = 0;
    if (v == NULL)
        return CMK_OK;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
        if (n < 0 || n > INT32_MAX)
            return CMK_E_BAD_RESPONSE;
        *out = (int)n;
        return CMK_OK;
    }
    if (!json_is_string(v))
        return CMK_E_BAD_RESPONSE;
    *out = CMK_GCP_UNKNOWN;
    for (; t->name != NULL; t++) {
        if (strcmp(t->name, json_string_value(v)) == 0)
            *out = t->value;
    }
    return CMK_OK;
}

/* A resource name: required, shorter than GCP_NAME_MAX, made of the
 * characters resource IDs may hold (so it is safe to log and audit). */
static cmk_err get_name(json_t *obj, const char *key, char *out)
{
    json_t *v = json_object_get(obj, key);
    const char *s = json_string_value(v);
    size_t n = s != NULL ? json_string_length(v) : 0;

    out[0] = '\0';
    if (n == 0 || n >= GCP_NAME_MAX ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789._-/") != n)
        return CMK_E_BAD_RESPONSE;
    memcpy(out, s, n + 1);
    return CMK_OK;
}

/* ---- Answers ---- */

static cmk_err get_ciphertext(json_t *root, struct cmk_buf *ct)
{
    json_t *v = json_object_get(root, "ciphertext");
    uint32_t crc = 0;
    cmk_err err;

    if (!json_is_string(v))
        return CMK_E_BAD_RESPONSE;
    err = cmk_b64_to_buf(json_string_value(v), json_string_length(v), ct);
    if (err == CMK_OK && (ct->len == 0 || ct->len > GCP_MAX_CIPHERTEXT))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = get_crc(root, "ciphertextCrc32c", &crc);
    if (err == CMK_OK && cmk_crc32c(ct->p, ct->len) != crc)
        err = CMK_E_INTEGRITY;
    return err;
}

/* The KMS says it checked the CRC32Cs we sent. */
static cmk_err check_verified(json_t *root, bool aad_sent)
{
    bool pt = false, aad = false;

    if (get_bool(root, "verifiedPlaintextCrc32c", &pt) != CMK_OK ||
        get_bool(root, "verifiedAdditionalAuthenticatedDataCrc32c", &aad) !=
            CMK_OK)
        return CMK_E_BAD_RESPONSE;
    return pt && (aad || !aad_sent) ? CMK_OK : CMK_E_INTEGRITY;
}

cmk_err cmk_gcp_parse_encrypt(const char *body, size_t len, bool aad_sent,
                              struct cmk_gcp_encrypted *out)
{
    json_t *root = cmk_json_load_object(body, len);
    cmk_err err = root != NULL ? CMK_OK : CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (err == CMK_OK)
        err = get_name(root, "name", out->version);
    if (err == CMK_OK)
        err = get_enum(root, "protectionLevel", levels, &out->level);
    if (err == CMK_OK)
        err = get_ciphertext(root, &out->ct);
    if (err == CMK_OK)
        err = check_verified(root, aad_sent);
    if (err != CMK_OK) {
        cmk_buf_free(&out->ct);
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return err;
}

/* A base64 payload member (1 to max bytes) and its required CRC32C. */
static cmk_err get_payload(json_t *root, const char *key, const char *crc_key,
                           size_t max, struct cmk_buf *out)
{
    json_t *v = json_object_get(root, key);
    uint32_t crc = 0;
    cmk_err err;

    if (!json_is_string(v))
        return CMK_E_BAD_RESPONSE;
    err = cmk_b64_to_buf(json_string_value(v), json_string_length(v), out);
    if (err == CMK_OK && (out->len == 0 || out->len > max))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = get_crc(root, crc_key, &crc);
    if (err == CMK_OK && cmk_crc32c(out->p, out->len) != crc)
        err = CMK_E_INTEGRITY;
    if (err != CMK_OK)
        cmk_buf_free(out);
    return err;
}

/* The PEM as text: its CRC32C covers the string's bytes. */
static cmk_err get_pem(json_t *root, struct cmk_buf *out)
{
    json_t *v = json_object_get(root, "pem");
    uint32_t crc = 0;
    cmk_err err;

    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > 16384)
        return CMK_E_BAD_RESPONSE;
    err = get_crc(root, "pemCrc32c", &crc);
    if (err == CMK_OK)
        err = cmk_buf_dup(out, (const uint8_t *)json_string_value(v),
                          json_string_length(v));
    if (err == CMK_OK && cmk_crc32c(out->p, out->len) != crc) {
        cmk_buf_free(out);
        err = CMK_E_INTEGRITY;
    }
    return err;
}

cmk_err cmk_gcp_parse_public_key(const char *body, size_t len,
                                 struct cmk_gcp_public_key *out)
{
    json_t *root = cmk_json_load_object(body, len);
    cmk_err err = root != NULL ? CMK_OK : CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (err == CMK_OK)
        err = get_name(root, "name", out->version);
    if (err == CMK_OK)
        err = get_enum(root, "algorithm", algorithms, &out->algorithm);
    if (err == CMK_OK && out->algorithm == 0)
        err = CMK_E_BAD_RESPONSE; /* required */
    if (err == CMK_OK)
        err = get_pem(root, &out->pem);
    if (err != CMK_OK) {
        cmk_buf_free(&out->pem);
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return err;
}

cmk_err cmk_gcp_parse_sign(const char *body, size_t len,
                           struct cmk_gcp_signed *out)
{
    json_t *root = cmk_json_load_object(body, len);
    cmk_err err = root != NULL ? CMK_OK : CMK_E_BAD_RESPONSE;
    bool verified = false;

    memset(out, 0, sizeof(*out));
    if (err == CMK_OK)
        err = get_name(root, "name", out->version);
    if (err == CMK_OK)
        err = get_bool(root, "verifiedDigestCrc32c", &verified);
    if (err == CMK_OK)
        err =
            get_payload(root, "signature", "signatureCrc32c", 1024, &out->sig);
    if (err == CMK_OK && !verified)
        err = CMK_E_INTEGRITY;
    if (err != CMK_OK) {
        cmk_buf_free(&out->sig);
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return err;
}

/* The plaintext's base64 (b64, lifted out of the body) decoded into pt. */
static cmk_err decode_plaintext(const struct cmk_secret *b64, bool found,
                                struct cmk_secret *pt)
{
    if (!found || b64->len == 0)
        return cmk_secret_alloc(pt, 0); /* proto3 omits empty bytes */
    return cmk_b64_to_secret((const char *)b64->p, b64->len, pt);
}

static cmk_err check_plaintext(json_t *root, struct cmk_gcp_decrypted *out)
{
    uint32_t crc = 0;
    cmk_err err;

    err = get_crc(root, "plaintextCrc32c", &crc);
    if (err == CMK_OK && cmk_crc32c(out->pt.p, out->pt.len) != crc)
        err = CMK_E_INTEGRITY;
    if (err == CMK_OK)
        err = get_bool(root, "usedPrimary", &out->used_primary);
    if (err == CMK_OK)
        err = get_enum(root, "protectionLevel", levels, &out->level);
    return err;
}

/* A decrypt or asymmetricDecrypt answer; flag, when not NULL, names the
 * boolean that must be true. */
static cmk_err parse_opened(char *body, size_t len, const char *flag,
                            struct cmk_gcp_decrypted *out)
{
    struct cmk_secret b64 = {0};
    json_t *root = NULL;
    bool found = false, verified = true;
    cmk_err err = CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (body != NULL)
        err = cmk_json_take_secret(body, len, "plaintext", &b64, &found);
    /* The rest must be a well-formed answer too: a cut body is refused. */
    if (err == CMK_OK && (root = cmk_json_load_object(body, len)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = decode_plaintext(&b64, found, &out->pt);
    if (err == CMK_OK)
        err = check_plaintext(root, out);
    if (err == CMK_OK && flag != NULL)
        err = get_bool(root, flag, &verified);
    if (err == CMK_OK && !verified)
        err = CMK_E_INTEGRITY;
    if (err != CMK_OK) {
        cmk_secret_free(&out->pt);
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    cmk_secret_free(&b64);
    return err;
}

cmk_err cmk_gcp_parse_decrypt(char *body, size_t len,
                              struct cmk_gcp_decrypted *out)
{
    return parse_opened(body, len, NULL, out);
}

cmk_err cmk_gcp_parse_asym_decrypt(char *body, size_t len,
                                   struct cmk_gcp_decrypted *out)
{
    return parse_opened(body, len, "verifiedCiphertextCrc32c", out);
}

/* A CryptoKeyVersion object v: name (required), state, protectionLevel. */
static cmk_err read_version(json_t *v, struct cmk_gcp_key_info *out)
{
    cmk_err err = json_is_object(v) ? CMK_OK : CMK_E_BAD_RESPONSE;

    if (err == CMK_OK)
        err = get_name(v, "name", out->version);
    if (err == CMK_OK)
        err = get_enum(v, "state", states, &out->state);
    if (err == CMK_OK)
        err = get_enum(v, "protectionLevel", levels, &out->level);
    return err;
}

cmk_err cmk_gcp_parse_key(const char *body, size_t len,
                          struct cmk_gcp_key_info *out)
{
    json_t *root = cmk_json_load_object(body, len), *primary;
    cmk_err err = root != NULL ? CMK_OK : CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    primary = json_object_get(root, "primary");
    if (err == CMK_OK)
        err = get_enum(root, "purpose", purposes, &out->purpose);
    if (err == CMK_OK && primary != NULL)
        err = read_version(primary, out);
    if (err != CMK_OK)
        memset(out, 0, sizeof(*out));
    json_decref(root);
    return err;
}

cmk_err cmk_gcp_parse_version(const char *body, size_t len,
                              struct cmk_gcp_key_info *out)
{
    json_t *root = cmk_json_load_object(body, len);
    cmk_err err = root != NULL ? CMK_OK : CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (err == CMK_OK)
        err = read_version(root, out);
    if (err != CMK_OK)
        memset(out, 0, sizeof(*out));
    json_decref(root);
    return err;
}

/* ---- Errors ---- */

static const struct {
    const char *status;
    cmk_err err;
    enum cmk_retry_class cls;
} statuses[] = {
    {"FAILED_PRECONDITION", CMK_E_KEY_DISABLED, CMK_RETRY_NO},
    {"PERMISSION_DENIED", CMK_E_ACCESS_DENIED, CMK_RETRY_NO},
    {"NOT_FOUND", CMK_E_KEY_NOT_FOUND, CMK_RETRY_NO},
    {"UNAUTHENTICATED", CMK_E_AUTH_REFRESH, CMK_RETRY_NO},
    {"RESOURCE_EXHAUSTED", CMK_E_THROTTLED, CMK_RETRY_THROTTLE_SLOW},
    {"UNAVAILABLE", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {"INTERNAL", CMK_E_KMS_INTERNAL, CMK_RETRY_TRANSIENT},
    {"DEADLINE_EXCEEDED", CMK_E_TIMEOUT, CMK_RETRY_TRANSIENT},
};

static cmk_err map_status(const char *s, enum cmk_gcp_op op,
                          enum cmk_retry_class *cls)
{
    size_t i;

    *cls = CMK_RETRY_NO;
    if (s == NULL)
        return CMK_E_BAD_RESPONSE;
    if (op == CMK_GCP_OP_DECRYPT && strcmp(s, "INVALID_ARGUMENT") == 0)
        return CMK_E_BAD_CIPHERTEXT;
    if (op == CMK_GCP_OP_SIGN && strcmp(s, "INVALID_ARGUMENT") == 0)
        return CMK_E_ACCESS_DENIED;
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        if (strcmp(statuses[i].status, s) == 0) {
            *cls = statuses[i].cls;
            return statuses[i].err;
        }
    }
    return CMK_E_BAD_RESPONSE;
}

cmk_err cmk_gcp_error_map(long http, const char *body, size_t len,
                          enum cmk_gcp_op op, struct cmk_gcp_error *rec,
                          enum cmk_retry_class *cls)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *v = json_object_get(json_object_get(root, "error"), "status");
    const char *s = json_string_value(v);
    cmk_err err;

    /* A status with a NUL inside is none we know. */
    if (s != NULL && strlen(s) != json_string_length(v))
        s = NULL;
    rec->http = http;
    rec->status[0] = '\0';
    if (s != NULL)
        cmk_code_copy(s, strlen(s), rec->status, sizeof(rec->status));
    err = map_status(s, op, cls);
    json_decref(root);
    return err;
}
