/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: KMS JSON 1.1 bodies. Requests are written straight into
 * wiped buffers (a plaintext's base64 never passes through jansson);
 * answers are read with jansson, except Plaintext, which is lifted out of
 * the raw body into guarded memory before jansson sees the rest.
 */
#include <config.h>

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "providers/aws_int.h"
#include "util/text.h"

/* "EncryptionContext":{"k":"v",...} (nothing when the context is empty). */
static void put_context(struct cmk_sb *sb, const char *member,
                        const struct cmk_req *rq)
{
    size_t i;

    if (rq->n_ctx == 0)
        return;
    cmk_sb_printf(sb, ",\"%s\":{", member);
    for (i = 0; i < rq->n_ctx; i++) {
        if (i > 0)
            cmk_sb_putc(sb, ',');
        cmk_json_put_str(sb, rq->ctx[i].key);
        cmk_sb_putc(sb, ':');
        cmk_json_put_str(sb, rq->ctx[i].value);
    }
    cmk_sb_putc(sb, '}');
}

static void put_member_str(struct cmk_sb *sb, const char *name, const char *v)
{
    cmk_sb_printf(sb, "\"%s\":", name);
    cmk_json_put_str(sb, v);
}

cmk_err cmk_aws_body_encrypt(struct cmk_sb *sb, const char *key,
                             const struct cmk_req *rq, const uint8_t *pt,
                             size_t n)
{
    cmk_sb_putc(sb, '{');
    put_member_str(sb, "KeyId", key);
    cmk_sb_puts(sb, ",\"Plaintext\":");
    cmk_json_put_b64(sb, pt, n);
    put_context(sb, "EncryptionContext", rq);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_aws_body_decrypt(struct cmk_sb *sb, const char *key,
                             const struct cmk_req *rq, const uint8_t *ct,
                             size_t n)
{
    cmk_sb_puts(sb, "{\"CiphertextBlob\":");
    cmk_json_put_b64(sb, ct, n);
    if (key != NULL) {
        cmk_sb_putc(sb, ',');
        put_member_str(sb, "KeyId", key); /* a blob of another key: refused */
    }
    put_context(sb, "EncryptionContext", rq);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

/* To key from src (NULL: the key the blob names); the context stays the
 * same. */
cmk_err cmk_aws_body_reencrypt(struct cmk_sb *sb, const char *src,
                               const char *key, const struct cmk_req *rq,
                               const uint8_t *ct, size_t n)
{
    cmk_sb_puts(sb, "{\"CiphertextBlob\":");
    cmk_json_put_b64(sb, ct, n);
    if (src != NULL) {
        cmk_sb_putc(sb, ',');
        put_member_str(sb, "SourceKeyId", src);
    }
    cmk_sb_putc(sb, ',');
    put_member_str(sb, "DestinationKeyId", key);
    put_context(sb, "SourceEncryptionContext", rq);
    put_context(sb, "DestinationEncryptionContext", rq);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_aws_body_generate(struct cmk_sb *sb, const char *key,
                              const struct cmk_req *rq, size_t len)
{
    cmk_sb_putc(sb, '{');
    put_member_str(sb, "KeyId", key);
    cmk_sb_printf(sb, ",\"NumberOfBytes\":%zu", len);
    put_context(sb, "EncryptionContext", rq);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_aws_body_describe(struct cmk_sb *sb, const char *key)
{
    cmk_sb_putc(sb, '{');
    put_member_str(sb, "KeyId", key);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_aws_body_sign(struct cmk_sb *sb, const char *key, const char *alg,
                          bool digest, const uint8_t *msg, size_t n)
{
    cmk_sb_putc(sb, '{');
    put_member_str(sb, "KeyId", key);
    cmk_sb_puts(sb, ",\"Message\":");
    cmk_json_put_b64(sb, msg, n);
    cmk_sb_printf(sb, ",\"MessageType\":\"%s\",", digest ? "DIGEST" : "RAW");
    put_member_str(sb, "SigningAlgorithm", alg);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

cmk_err cmk_aws_body_asym_decrypt(struct cmk_sb *sb, const char *key,
                                  const char *alg, const uint8_t *ct, size_t n)
{
    cmk_sb_puts(sb, "{\"CiphertextBlob\":");
    cmk_json_put_b64(sb, ct, n);
    cmk_sb_putc(sb, ',');
    put_member_str(sb, "KeyId", key);
    cmk_sb_putc(sb, ',');
    put_member_str(sb, "EncryptionAlgorithm", alg);
    cmk_sb_putc(sb, '}');
    return cmk_sb_status(sb);
}

/* ---- Answers ---- */

json_t *cmk_aws_json_answer(const struct cmk_http_resp *r)
{
    json_t *root;

    if (r->body.p == NULL || r->body.len == 0)
        return NULL;
    root = json_loadb((const char *)r->body.p, r->body.len,
                      JSON_REJECT_DUPLICATES, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

cmk_err cmk_aws_parse_ciphertext(struct cmk_http_resp *r, struct cmk_buf *out)
{
    json_t *root = cmk_aws_json_answer(r), *v;
    cmk_err err = CMK_E_BAD_RESPONSE;

    v = json_object_get(root, "CiphertextBlob");
    if (json_is_string(v) && json_string_length(v) > 0)
        err = cmk_b64_to_buf(json_string_value(v), json_string_length(v), out);
    if (err == CMK_OK && (out->len == 0 || out->len > AWS_MAX_CIPHERTEXT)) {
        cmk_buf_free(out);
        err = CMK_E_BAD_RESPONSE;
    }
    json_decref(root);
    return err;
}

cmk_err cmk_aws_parse_plaintext(struct cmk_http_resp *r, struct cmk_secret *out)
{
    struct cmk_secret b64 = {0};
    json_t *root = NULL;
    bool found = false;
    cmk_err err;

    if (r->body.p == NULL)
        return CMK_E_BAD_RESPONSE;
    err = cmk_json_take_secret((char *)r->body.p, r->body.len, "Plaintext",
                               &b64, &found);
    if (err == CMK_OK && !found)
        err = CMK_E_BAD_RESPONSE;
    /* The rest must be a well-formed answer too: a cut body is refused. */
    if (err == CMK_OK && (root = cmk_aws_json_answer(r)) == NULL)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_b64_to_secret((const char *)b64.p, b64.len, out);
    json_decref(root);
    cmk_secret_free(&b64);
    return err;
}

static cmk_err parse_id(const struct cmk_http_resp *r, const char *member,
                        char *id, size_t n)
{
    json_t *root = cmk_aws_json_answer(r), *v;
    cmk_err err = CMK_E_BAD_RESPONSE;

    id[0] = '\0';
    v = json_object_get(root, member);
    if (root != NULL && v == NULL) {
        err = CMK_OK;
    } else if (json_is_string(v) && json_string_length(v) < n &&
               strlen(json_string_value(v)) == json_string_length(v)) {
        memcpy(id, json_string_value(v), json_string_length(v) + 1);
        err = CMK_OK;
    }
    json_decref(root);
    return err;
}

cmk_err cmk_aws_parse_key_id(const struct cmk_http_resp *r, char *id, size_t n)
{
    return parse_id(r, "KeyId", id, n);
}

cmk_err cmk_aws_parse_source_key_id(const struct cmk_http_resp *r, char *id,
                                    size_t n)
{
    return parse_id(r, "SourceKeyId", id, n);
}

cmk_err cmk_aws_parse_key_state(struct cmk_http_resp *r, char *state, size_t n)
{
    json_t *root = cmk_aws_json_answer(r), *v;
    cmk_err err = CMK_E_BAD_RESPONSE;

    v = json_object_get(json_object_get(root, "KeyMetadata"), "KeyState");
    if (json_is_string(v)) {
        snprintf(state, n, "%s", json_string_value(v));
        err = CMK_OK;
    }
    json_decref(root);
    return err;
}

/* Keeps what may be shown: letters, digits and '.', '_', '-'. */
void cmk_aws_parse_error_code(const struct cmk_http_resp *r, char *code,
                              size_t n)
{
    json_t *root = cmk_aws_json_answer(r);
    const char *t = json_string_value(json_object_get(root, "__type"));
    const char *hash;

    code[0] = '\0';
    if (t != NULL) {
        hash = strrchr(t, '#');
        t = hash != NULL ? hash + 1 : t;
        cmk_code_copy(t, strlen(t), code, n);
    } else if (r->error_type[0] != '\0') {
        cmk_code_copy(r->error_type, strcspn(r->error_type, ":"), code, n);
    }
    json_decref(root);
}
