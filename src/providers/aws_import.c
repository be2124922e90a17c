/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: key material import into an AWS KMS key with Origin
 * EXTERNAL (the ops table's import_params and import_material):
 * DescribeKey, GetParametersForImport and ImportKeyMaterial, with their
 * request bodies as the KMS API reference gives them.
 */
#include <config.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "providers/aws_int.h"
#include "util/text.h"

#define MAX_PUBLIC_KEY 4096u /* DER of an RSA-4096 key is 550 bytes */

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    return err;
}

/* One call; parse reads the 200 answer into out. */
static cmk_err
call(struct aws_state *st, struct cmk_req *rq, const char *op,
     struct cmk_sb *body,
     cmk_err (*parse)(const struct aws_state *st, struct cmk_http_resp *r,
                      struct cmk_import_params *p, const char **code),
     struct cmk_import_params *p)
{
    struct cmk_http_resp resp;
    const char *code = "MalformedResponse";
    cmk_err err = cmk_sb_status(body);

    memset(&resp, 0, sizeof(resp));
    if (err == CMK_OK)
        err = cmk_aws_call(st, rq, op, body, &resp);
    if (err == CMK_OK && parse != NULL) {
        err = parse(st, &resp, p, &code);
        if (err != CMK_OK)
            fail(rq, err, code);
    }
    cmk_http_resp_free(&resp);
    cmk_sb_free(body); /* wipes: ImportKeyMaterial's held wrapped material */
    return err;
}

/* A string member into out[n]; false when absent, not a string or too
 * long. */
static bool get_str(json_t *obj, const char *name, char *out, size_t n)
{
    json_t *v = json_object_get(obj, name);

    if (!json_is_string(v) || json_string_length(v) >= n ||
        strlen(json_string_value(v)) != json_string_length(v))
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* DescribeKey: the key ARN (one the reference can name), Origin and
 * KeyState. */
static cmk_err parse_meta(const struct aws_state *st, struct cmk_http_resp *r,
                          struct cmk_import_params *p, const char **code)
{
    json_t *root = cmk_aws_json_answer(r),
           *meta = json_object_get(root, "KeyMetadata");
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (get_str(meta, "Arn", p->key_arn, sizeof(p->key_arn)) &&
        get_str(meta, "Origin", p->origin, sizeof(p->origin)) &&
        get_str(meta, "KeyState", p->key_state, sizeof(p->key_state))) {
        err = CMK_OK;
        if (cmk_aws_arn_fits(st->key_ref, st->region, p->key_arn,
                             strlen(p->key_arn)) != CMK_AWS_FITS) {
            *code = "UnexpectedKeyId";
            err = CMK_E_BAD_RESPONSE;
        }
    }
    json_decref(root);
    return err;
}

static cmk_err get_blob(json_t *root, const char *name, size_t max,
                        struct cmk_buf *out)
{
    json_t *v = json_object_get(root, name);
    cmk_err err;

    if (!json_is_string(v) || json_string_length(v) == 0)
        return CMK_E_BAD_RESPONSE;
    err = cmk_b64_to_buf(json_string_value(v), json_string_length(v), out);
    if (err == CMK_OK && (out->len == 0 || out->len > max)) {
        cmk_buf_free(out);
        err = CMK_E_BAD_RESPONSE;
    }
    return err;
}

/* GetParametersForImport: KeyId (the key asked for), ImportToken,
 * PublicKey and ParametersValidTo (a JSON 1.1 timestamp: seconds). */
static cmk_err parse_params(const struct aws_state *st, struct cmk_http_resp *r,
                            struct cmk_import_params *p, const char **code)
{
    json_t *root = cmk_aws_json_answer(r),
           *v = json_object_get(root, "ParametersValidTo");
    char id[sizeof(p->key_arn)];
    cmk_err err = CMK_E_BAD_RESPONSE;

    (void)st;
    if (!get_str(root, "KeyId", id, sizeof(id)) || !json_is_number(v) ||
        !isfinite(json_number_value(v)) || json_number_value(v) < 0 ||
        json_number_value(v) > 1e12)
        goto out;
    if (strcmp(id, p->key_arn) != 0) {
        *code = "UnexpectedKeyId";
        goto out;
    }
    p->valid_to = (int64_t)json_number_value(v);
    err = get_blob(root, "ImportToken", AWS_MAX_CIPHERTEXT, &p->token);
    if (err == CMK_OK)
        err = get_blob(root, "PublicKey", MAX_PUBLIC_KEY, &p->public_key);
out:
    json_decref(root);
    return err;
}

/* Whether a key in this state may take material: a new key or one whose
 * material expired (PendingImport), or the same material again. */
static bool state_takes_material(const char *s)
{
    return strcmp(s, "PendingImport") == 0 || strcmp(s, "Enabled") == 0 ||
           strcmp(s, "Disabled") == 0;
}

static cmk_err check_key(struct cmk_req *rq, const struct cmk_import_params *p)
{
    char code[64];

    if (strcmp(p->origin, "EXTERNAL") != 0)
        return fail(rq, CMK_E_ACCESS_DENIED, "NotExternalKey");
    if (!state_takes_material(p->key_state)) {
        snprintf(code, sizeof(code), "KeyState:%s", p->key_state);
        return fail(rq, CMK_E_KEY_DISABLED, code);
    }
    return CMK_OK;
}

cmk_err cmk_aws_import_params(void *vst, struct cmk_req *rq, unsigned rsa_bits,
                              struct cmk_import_params *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL ||
        (rsa_bits != 2048 && rsa_bits != 4096))
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    out->rsa_bits = rsa_bits;
    /* GetParametersForImport takes a key id or key ARN only: an alias is
     * resolved first, and the key's origin and state checked. */
    err = cmk_aws_body_describe(&body, st->key_ref);
    if (err == CMK_OK)
        err = call(st, rq, "DescribeKey", &body, parse_meta, out);
    cmk_sb_free(&body);
    if (err == CMK_OK)
        err = check_key(rq, out);
    if (err == CMK_OK) {
        cmk_sb_puts(&body, "{\"KeyId\":");
        cmk_json_put_str(&body, out->key_arn);
        cmk_sb_printf(&body,
                      ",\"WrappingAlgorithm\":\"RSAES_OAEP_SHA_256\""
                      ",\"WrappingKeySpec\":\"RSA_%u\"}",
                      rsa_bits);
        err = call(st, rq, "GetParametersForImport", &body, parse_params, out);
    }
    if (err != CMK_OK) {
        cmk_buf_free(&out->public_key);
        cmk_buf_free(&out->token);
    }
    return err;
}

cmk_err cmk_aws_import_material(void *vst, struct cmk_req *rq,
                                const struct cmk_import_params *p,
                                const uint8_t *wrapped, size_t wrapped_len,
                                int64_t valid_to)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};

    if (st == NULL || rq == NULL || p == NULL || wrapped == NULL ||
        wrapped_len == 0 || p->token.p == NULL || valid_to < 0)
        return CMK_E_ARGS;
    cmk_sb_puts(&body, "{\"KeyId\":");
    cmk_json_put_str(&body, p->key_arn);
    cmk_sb_puts(&body, ",\"ImportToken\":");
    cmk_json_put_b64(&body, p->token.p, p->token.len);
    cmk_sb_puts(&body, ",\"EncryptedKeyMaterial\":");
    cmk_json_put_b64(&body, wrapped, wrapped_len);
    if (valid_to != 0)
        cmk_sb_printf(&body,
                      ",\"ExpirationModel\":\"KEY_MATERIAL_EXPIRES\""
                      ",\"ValidTo\":%lld}",
                      (long long)valid_to);
    else
        cmk_sb_puts(&body,
                    ",\"ExpirationModel\":\"KEY_MATERIAL_DOES_NOT_EXPIRE\"}");
    return call(st, rq, "ImportKeyMaterial", &body, NULL, NULL);
}
