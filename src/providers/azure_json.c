/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: Key Vault REST bodies and answers (azure_int.h). Binary
 * members are base64url without padding (RFC 7515 2), decoded strictly:
 * '+' and '/' refused, padding tolerated, as the vault itself does.
 * Requests are written straight into wiped buffers; a secret answer
 * (unwrapkey's key, decrypt's plaintext) is lifted out of the raw body
 * into guarded memory before jansson sees the rest (net/json.h).
 */
#include <config.h>

#include <jansson.h>
#include <openssl/obj_mac.h>
#include <sodium.h>
#include <string.h>

#include "net/json.h"
#include "providers/azure_int.h"

static const char *const alg_names[] = {
    [AZ_ALG_RSA_OAEP_256] = "RSA-OAEP-256",
    [AZ_ALG_RSA_OAEP] = "RSA-OAEP",
    [AZ_ALG_A256KW] = "A256KW",
    [AZ_ALG_KWP] = "CKM_AES_KEY_WRAP_PAD",
    [AZ_ALG_A256GCM] = "A256GCM",
};

const char *cmk_azure_alg_name(enum cmk_azure_alg alg)
{
    if ((unsigned)alg == 0 ||
        (unsigned)alg >= sizeof(alg_names) / sizeof(alg_names[0]))
        return NULL;
    return alg_names[alg];
}

/* ---- base64url ---- */

cmk_err cmk_azure_b64url_decode(const char *s, size_t n, uint8_t *out,
                                size_t max, size_t *len)
{
    const char *end = NULL;
    size_t pad = 0;

    while (pad < 2 && n > 0 && s[n - 1] == '=') {
        n--;
        pad++;
    }
    if (n == 0 || (pad != 0 && (n + pad) % 4 != 0))
        return CMK_E_BAD_RESPONSE;
    if (sodium_base642bin(out, max, s, n, NULL, len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + n)
        return CMK_E_BAD_RESPONSE;
    return CMK_OK;
}

/* ---- Requests ---- */

cmk_err cmk_azure_body_op(struct cmk_sb *sb, enum cmk_azure_alg alg,
                          const uint8_t *v, size_t v_len, const uint8_t *iv,
                          const uint8_t *tag, const uint8_t *aad,
                          size_t aad_len)
{
    cmk_sb_puts(sb, "{\"alg\":");
    cmk_json_put_str(sb, cmk_azure_alg_name(alg));
    cmk_sb_puts(sb, ",\"value\":");
    cmk_json_put_b64url(sb, v, v_len);
    if (iv != NULL) {
        cmk_sb_puts(sb, ",\"iv\":");
        cmk_json_put_b64url(sb, iv, AZ_IV_LEN);
    }
    if (tag != NULL) {
        cmk_sb_puts(sb, ",\"tag\":");
        cmk_json_put_b64url(sb, tag, AZ_TAG_LEN);
    }
    if (aad != NULL && aad_len > 0) {
        cmk_sb_puts(sb, ",\"aad\":");
        cmk_json_put_b64url(sb, aad, aad_len);
    }
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

/* ---- Answers ---- */

static cmk_err get_kid(json_t *obj, char kid[AZ_KID_MAX])
{
    json_t *v = json_object_get(obj, "kid");

    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) >= AZ_KID_MAX)
        return CMK_E_BAD_RESPONSE;
    memcpy(kid, json_string_value(v), json_string_length(v) + 1);
    return CMK_OK;
}

/* A base64url member of exactly want bytes (want 0: up to max). */
static cmk_err get_bin(json_t *obj, const char *key, uint8_t *out, size_t max,
                       size_t want, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    size_t n = 0;
    cmk_err err;

    if (!json_is_string(v))
        return CMK_E_BAD_RESPONSE;
    err = cmk_azure_b64url_decode(json_string_value(v), json_string_length(v),
                                  out, max, &n);
    if (err == CMK_OK && want != 0 && n != want)
        err = CMK_E_BAD_RESPONSE;
    if (len != NULL)
        *len = n;
    return err;
}

static cmk_err take_secret_value(char *body, size_t len, struct cmk_secret *out)
{
    struct cmk_secret text = {0};
    size_t n = 0;
    bool found = false;
    cmk_err err;

    err = cmk_json_take_secret(body, len, "value", &text, &found);
    if (err == CMK_OK && !found)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_secret_alloc(out, text.len);
    if (err == CMK_OK)
        err = cmk_azure_b64url_decode((const char *)text.p, text.len, out->p,
                                      out->len, &n);
    if (err == CMK_OK)
        out->len = n;
    else
        cmk_secret_free(out);
    cmk_secret_free(&text);
    return err;
}

static cmk_err plain_value(json_t *root, size_t max, struct cmk_buf *out)
{
    json_t *v = json_object_get(root, "value");
    size_t n = 0;
    cmk_err err;

    if (!json_is_string(v))
        return CMK_E_BAD_RESPONSE;
    err = cmk_buf_alloc(out, json_string_length(v));
    if (err == CMK_OK)
        err = cmk_azure_b64url_decode(
            json_string_value(v), json_string_length(v), out->p, out->len, &n);
    if (err == CMK_OK && n > max)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        out->len = n;
    else
        cmk_buf_free(out);
    return err;
}

cmk_err cmk_azure_parse_result(char *body, size_t len, bool secret, size_t max,
                               bool want_iv_tag, struct az_result *r)
{
    json_t *root;
    cmk_err err = CMK_OK;

    memset(r, 0, sizeof(*r));
    if (secret)
        err = take_secret_value(body, len, &r->secret);
    root = err == CMK_OK ? cmk_json_load_object(body, len) : NULL;
    if (root == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = get_kid(root, r->kid);
    if (err == CMK_OK && !secret)
        err = plain_value(root, max, &r->value);
    if (err == CMK_OK && want_iv_tag) {
        err = get_bin(root, "iv", r->iv, sizeof(r->iv), AZ_IV_LEN, NULL);
        if (err == CMK_OK)
            err =
                get_bin(root, "tag", r->tag, sizeof(r->tag), AZ_TAG_LEN, NULL);
        r->has_iv_tag = err == CMK_OK;
    }
    json_decref(root);
    if (err != CMK_OK)
        cmk_azure_result_free(r);
    return err;
}

void cmk_azure_result_free(struct az_result *r)
{
    cmk_buf_free(&r->value);
    cmk_secret_free(&r->secret);
    sodium_memzero(r, sizeof(*r));
}

/* ---- KeyBundle ---- */

static enum az_kty kty_of(const char *s)
{
    if (s == NULL)
        return AZ_KTY_OTHER;
    if (strcmp(s, "RSA") == 0 || strcmp(s, "RSA-HSM") == 0)
        return AZ_KTY_RSA;
    if (strcmp(s, "oct-HSM") == 0 || strcmp(s, "oct") == 0)
        return AZ_KTY_OCT;
    if (strcmp(s, "EC") == 0 || strcmp(s, "EC-HSM") == 0)
        return AZ_KTY_EC;
    return AZ_KTY_OTHER;
}

static cmk_err get_ops(json_t *key, unsigned *ops)
{
    static const char *const names[] = {"encrypt",   "decrypt", "wrapKey",
                                        "unwrapKey", "sign",    "verify"};
    json_t *a = json_object_get(key, "key_ops"), *v;
    size_t i, k;

    *ops = 0;
    if (a == NULL)
        return CMK_OK;
    if (!json_is_array(a))
        return CMK_E_BAD_RESPONSE;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return CMK_E_BAD_RESPONSE;
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (strcmp(json_string_value(v), names[k]) == 0)
                *ops |= 1u << k;
        }
    }
    return CMK_OK;
}

/* A Unix time member; absent is 0. */
static cmk_err get_time(json_t *attrs, const char *key, int64_t *out)
{
    json_t *v = json_object_get(attrs, key);

    *out = 0;
    if (v == NULL || json_is_null(v))
        return CMK_OK;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return CMK_E_BAD_RESPONSE;
    *out = (int64_t)json_integer_value(v);
    return CMK_OK;
}

static cmk_err get_attrs(json_t *root, struct az_key_info *out)
{
    json_t *a = json_object_get(root, "attributes");
    json_t *en = json_object_get(a, "enabled");
    cmk_err err;

    if (!json_is_object(a) || !json_is_boolean(en))
        return CMK_E_BAD_RESPONSE;
    out->enabled = json_is_true(en);
    err = get_time(a, "nbf", &out->nbf);
    if (err == CMK_OK)
        err = get_time(a, "exp", &out->exp);
    return err;
}

static cmk_err get_rsa(json_t *key, struct az_key_info *out)
{
    cmk_err err;

    err = get_bin(key, "n", out->n, sizeof(out->n), 0, &out->n_len);
    if (err == CMK_OK)
        err = get_bin(key, "e", out->e, sizeof(out->e), 0, &out->e_len);
    if (err == CMK_OK && (out->n_len < 256 || out->n[0] == 0))
        err = CMK_E_BAD_RESPONSE;
    return err;
}

/* The curves the module takes (RFC 7518 6.2.1.1 names); P-256K and any
 * other curve: nid 0. */
static int curve_of(const char *crv, size_t *coord_len)
{
    static const struct {
        const char *name;
        int nid;
        size_t len;
    } curves[] = {{"P-256", NID_X9_62_prime256v1, 32},
                  {"P-384", NID_secp384r1, 48},
                  {"P-521", NID_secp521r1, 66}};
    size_t i;

    for (i = 0; crv != NULL && i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (strcmp(crv, curves[i].name) == 0) {
            *coord_len = curves[i].len;
            return curves[i].nid;
        }
    }
    *coord_len = 0;
    return 0;
}

/* crv, and x and y of exactly the curve's size (RFC 7518 6.2.1.2). No
 * crv, or one not taken, leaves nid 0: the key is of no use to the module
 * (health: WrongKeyType, a key pair: UnsupportedKeySpec), not malformed. */
static cmk_err get_ec(json_t *key, struct az_key_info *out)
{
    cmk_err err;

    out->curve_nid = curve_of(json_string_value(json_object_get(key, "crv")),
                              &out->coord_len);
    if (out->curve_nid == 0)
        return CMK_OK; /* refused by the caller, by name */
    err = get_bin(key, "x", out->x, sizeof(out->x), out->coord_len, NULL);
    if (err == CMK_OK)
        err = get_bin(key, "y", out->y, sizeof(out->y), out->coord_len, NULL);
    return err;
}

cmk_err cmk_azure_parse_key(const char *body, size_t len,
                            struct az_key_info *out)
{
    json_t *root = cmk_json_load_object(body, len), *key;
    cmk_err err = CMK_OK;

    memset(out, 0, sizeof(*out));
    key = json_object_get(root, "key");
    if (!json_is_object(key))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = get_kid(key, out->kid);
    if (err == CMK_OK) {
        out->kty = kty_of(json_string_value(json_object_get(key, "kty")));
        err = get_ops(key, &out->ops);
    }
    if (err == CMK_OK && out->kty == AZ_KTY_RSA)
        err = get_rsa(key, out);
    if (err == CMK_OK && out->kty == AZ_KTY_EC)
        err = get_ec(key, out);
    if (err == CMK_OK)
        err = get_attrs(root, out);
    json_decref(root);
    return err;
}
