/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the bodies and answers of a vault key pair (vault_int.h):
 * the key read's public key of one version, the sign request and its
 * "vault:v<N>:" signature.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "providers/vault_int.h"

/* Most bytes of a public key's PEM taken (RSA 4096: about 800). */
#define PEM_MAX 16384u

static json_t *data_of(json_t *root, const char *key)
{
    return json_object_get(json_object_get(root, "data"), key);
}

/* The version's entry of data.keys: an object with a public_key. */
static cmk_err read_version(json_t *keys, unsigned long v,
                            struct vault_pair_info *out, const char **code)
{
    char num[24];
    json_t *pk;

    snprintf(num, sizeof(num), "%lu", v);
    if (!json_is_object(keys))
        return CMK_E_BAD_RESPONSE;
    if (json_object_get(keys, num) == NULL) {
        *code = "KeyVersionNotFound";
        return CMK_E_KEY_NOT_FOUND;
    }
    pk = json_object_get(json_object_get(keys, num), "public_key");
    if (!json_is_string(pk) || json_string_length(pk) == 0 ||
        json_string_length(pk) > PEM_MAX)
        return CMK_E_BAD_RESPONSE;
    out->version = v;
    return cmk_buf_dup(&out->pem, (const uint8_t *)json_string_value(pk),
                       json_string_length(pk));
}

cmk_err cmk_vault_parse_pair(const char *body, size_t len, unsigned long want,
                             struct vault_pair_info *out, const char **code)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *type = data_of(root, "type"), *latest;
    cmk_err err = CMK_E_BAD_RESPONSE;
    json_int_t v;

    memset(out, 0, sizeof(*out));
    latest = data_of(root, "latest_version");
    v = json_integer_value(latest);
    if (json_is_string(type) && json_string_length(type) > 0 &&
        json_string_length(type) < sizeof(out->type) &&
        json_is_integer(latest) && v >= 1) {
        memcpy(out->type, json_string_value(type), json_string_length(type));
        err = CMK_OK;
    }
    if (err == CMK_OK && want > (unsigned long)v) {
        *code = "KeyVersionNotFound";
        err = CMK_E_KEY_NOT_FOUND;
    }
    if (err == CMK_OK)
        err = read_version(data_of(root, "keys"),
                           want != 0 ? want : (unsigned long)v, out, code);
    if (err != CMK_OK) {
        cmk_buf_free(&out->pem);
        memset(out, 0, sizeof(*out));
    }
    json_decref(root);
    return err;
}

cmk_err cmk_vault_body_sign(struct cmk_sb *sb, const uint8_t *digest,
                            size_t len, const char *hash, bool rsa, bool pss,
                            unsigned long version)
{
    cmk_sb_puts(sb, "{\"input\":");
    cmk_json_put_b64(sb, digest, len);
    cmk_sb_printf(sb,
                  ",\"prehashed\":true,\"hash_algorithm\":\"%s\","
                  "\"key_version\":%lu",
                  hash, version);
    if (rsa && pss)
        cmk_sb_puts(sb, ",\"signature_algorithm\":\"pss\","
                        "\"salt_length\":\"hash\"");
    else if (rsa)
        cmk_sb_puts(sb, ",\"signature_algorithm\":\"pkcs1v15\"");
    else
        cmk_sb_puts(sb, ",\"marshaling_algorithm\":\"asn1\"");
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_vault_parse_sig(const char *body, size_t len,
                            unsigned long *version, struct cmk_buf *sig)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *s = data_of(root, "signature");
    const char *p = json_string_value(s), *b64;
    size_t n = p != NULL ? json_string_length(s) : 0;
    cmk_err err = CMK_E_BAD_RESPONSE;

    memset(sig, 0, sizeof(*sig));
    *version = 0;
    /* The prefix as a ciphertext's: "vault:v<N>:" and standard base64. */
    if (p != NULL && strlen(p) == n && n <= 4096 &&
        cmk_vault_ct_version((const uint8_t *)p, n, version)) {
        b64 = strchr(p + 7, ':') + 1;
        err = cmk_b64_to_buf(b64, n - (size_t)(b64 - p), sig);
    }
    if (err == CMK_OK && sig->len == 0)
        err = CMK_E_BAD_RESPONSE;
    if (err != CMK_OK) {
        cmk_buf_free(sig);
        *version = 0;
        err = CMK_E_BAD_RESPONSE;
    }
    json_decref(root);
    return err;
}
