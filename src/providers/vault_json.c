/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: the vault provider's request bodies and the parts of
 * transit's answers it reads (vault_int.h). Ciphertexts are transit's
 * strings "vault:v<N>:<standard base64>", checked before they are kept;
 * a plaintext is lifted out of the body into guarded memory.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/json.h"
#include "providers/vault_int.h"

cmk_err cmk_vault_body(struct cmk_sb *sb, bool pt, const uint8_t *v,
                       size_t v_len, const struct cmk_buf *ctx, bool context,
                       bool aad)
{
    if (pt) {
        cmk_sb_puts(sb, "{\"plaintext\":");
        cmk_json_put_b64(sb, v, v_len);
    } else {
        cmk_sb_puts(sb, "{\"ciphertext\":\"");
        cmk_sb_add(sb, (const char *)v, v_len); /* checked: no quote */
        cmk_sb_putc(sb, '"');
    }
    if (ctx != NULL && context) {
        cmk_sb_puts(sb, ",\"context\":");
        cmk_json_put_b64(sb, ctx->p, ctx->len);
    }
    if (ctx != NULL && aad) {
        cmk_sb_puts(sb, ",\"associated_data\":");
        cmk_json_put_b64(sb, ctx->p, ctx->len);
    }
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

static bool is_b64(const uint8_t *p, size_t n)
{
    size_t i, pad = 0;

    if (n == 0 || n % 4 != 0)
        return false;
    for (i = 0; i < n; i++) {
        uint8_t c = p[i];

        if (c == '=' && i >= n - 2)
            pad++;
        else if (pad != 0 ||
                 !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                   (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    }
    return true;
}

bool cmk_vault_ct_version(const uint8_t *ct, size_t len, unsigned long *version)
{
    static const char pre[] = "vault:v";
    size_t i = sizeof(pre) - 1;
    unsigned long v = 0;

    if (ct == NULL || len <= i || memcmp(ct, pre, i) != 0)
        return false;
    if (ct[i] < '1' || ct[i] > '9')
        return false;
    for (; i < len && ct[i] >= '0' && ct[i] <= '9'; i++) {
        if (v > 100000000UL)
            return false;
        v = v * 10 + (unsigned long)(ct[i] - '0');
    }
    if (i >= len || ct[i] != ':' || !is_b64(ct + i + 1, len - i - 1))
        return false;
    *version = v;
    return true;
}

static json_t *data_of(json_t *root, const char *key)
{
    return json_object_get(json_object_get(root, "data"), key);
}

cmk_err cmk_vault_parse_ct(const char *body, size_t len, struct cmk_buf *out,
                           unsigned long *version)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *c = data_of(root, "ciphertext");
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (json_is_string(c) && json_string_length(c) <= VAULT_MAX_PT * 2 &&
        cmk_vault_ct_version((const uint8_t *)json_string_value(c),
                             json_string_length(c), version))
        err = cmk_buf_dup(out, (const uint8_t *)json_string_value(c),
                          json_string_length(c));
    json_decref(root);
    return err;
}

cmk_err cmk_vault_parse_pt(char *body, size_t len, struct cmk_secret *out)
{
    struct cmk_secret b64 = {0};
    char *data;
    size_t dlen;
    bool found = false;
    cmk_err err;

    err = cmk_json_member_span(body, len, "data", &data, &dlen);
    if (err == CMK_OK && data == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_json_take_secret(data, dlen, "plaintext", &b64, &found);
    if (err == CMK_OK && !found)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_b64_to_secret((const char *)b64.p, b64.len, out);
    cmk_secret_free(&b64);
    return err == CMK_OK ? CMK_OK : CMK_E_BAD_RESPONSE;
}

bool cmk_vault_warns_aad(const char *body, size_t len)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *w = json_object_get(root, "warnings"), *e;
    bool hit = false;
    size_t i;

    json_array_foreach(w, i, e)
    {
        if (json_is_string(e) &&
            strstr(json_string_value(e), "associated_data") != NULL)
            hit = true;
    }
    json_decref(root);
    return hit;
}

void cmk_vault_request_id(const char *body, size_t len, char *id, size_t n)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *r = json_object_get(root, "request_id");
    const char *s = json_string_value(r);

    id[0] = '\0';
    if (s != NULL && json_string_length(r) < n &&
        strspn(s, "0123456789abcdefABCDEF-") == json_string_length(r))
        snprintf(id, n, "%s", s);
    json_decref(root);
}

static bool type_aead(const char *t)
{
    return strcmp(t, "aes256-gcm96") == 0 || strcmp(t, "aes128-gcm96") == 0 ||
           strcmp(t, "chacha20-poly1305") == 0;
}

static bool version_of(json_t *v, unsigned long *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (unsigned long)json_integer_value(v);
    return true;
}

cmk_err cmk_vault_parse_key(const char *body, size_t len,
                            struct vault_key_info *out)
{
    json_t *root = cmk_json_load_object(body, len);
    json_t *t = data_of(root, "type"), *d = data_of(root, "derived");
    json_t *se = data_of(root, "supports_encryption");
    json_t *sd = data_of(root, "supports_decryption");
    cmk_err err = CMK_E_BAD_RESPONSE;

    memset(out, 0, sizeof(*out));
    if (json_is_string(t) && json_string_length(t) < sizeof(out->type) &&
        json_is_boolean(d) && json_is_boolean(se) && json_is_boolean(sd) &&
        version_of(data_of(root, "latest_version"), &out->latest_version) &&
        version_of(data_of(root, "min_decryption_version"),
                   &out->min_decryption_version) &&
        out->latest_version >= 1) {
        snprintf(out->type, sizeof(out->type), "%s", json_string_value(t));
        out->derived = json_is_true(d);
        out->aead = type_aead(out->type);
        out->supports_encryption = json_is_true(se);
        out->supports_decryption = json_is_true(sd);
        err = CMK_OK;
    }
    json_decref(root);
    return err;
}
