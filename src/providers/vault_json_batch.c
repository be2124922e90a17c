/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: transit's batch_input bodies and batch_results answers
 * (vault_int.h). An answer's items are read in place, one span each
 * (net/json.h), so a plaintext is lifted out into guarded memory without
 * a copy in a parser's heap; an item's error text is only matched
 * against the error table (vault_errors.c), never kept.
 */
#include <config.h>

#include <jansson.h>
#include <string.h>

#include "net/json.h"
#include "providers/vault_int.h"

cmk_err cmk_vault_batch_body(struct cmk_sb *sb, bool pt,
                             const uint8_t *const *vals, const size_t *lens,
                             size_t n, const struct cmk_buf *ctx, bool context,
                             bool aad)
{
    cmk_err err = CMK_OK;
    size_t i;

    cmk_sb_puts(sb, "{\"batch_input\":[");
    for (i = 0; i < n && err == CMK_OK; i++) {
        if (i > 0)
            cmk_sb_putc(sb, ',');
        err = cmk_vault_body(sb, pt, vals[i], lens[i], ctx, context, aad);
    }
    cmk_sb_puts(sb, "]}");
    return err == CMK_OK ? cmk_sb_status(sb) : err;
}

/* data.batch_results' span, NULL when absent. */
static cmk_err results_span(char *body, size_t len, char **arr, size_t *alen)
{
    char *data = NULL;
    size_t dlen = 0;
    cmk_err err = cmk_json_member_span(body, len, "data", &data, &dlen);

    *arr = NULL;
    if (err != CMK_OK || data == NULL || *data != '{')
        return err;
    return cmk_json_member_span(data, dlen, "batch_results", arr, alen);
}

bool cmk_vault_has_batch_results(char *body, size_t len)
{
    char *arr = NULL;
    size_t alen = 0;

    return body != NULL && results_span(body, len, &arr, &alen) == CMK_OK &&
           arr != NULL && *arr == '[';
}

/* The item's "error" member, when it is a non-empty string: mapped. */
static cmk_err item_error(char *it, size_t n, struct vault_result *r,
                          bool *failed)
{
    char *v = NULL;
    size_t vlen = 0;
    json_t *e;
    cmk_err err = cmk_json_member_span(it, n, "error", &v, &vlen);

    *failed = false;
    if (err != CMK_OK || v == NULL)
        return err;
    e = json_loadb(v, vlen, JSON_DECODE_ANY, NULL);
    if (json_is_string(e) && json_string_length(e) > 0) {
        r->err = cmk_vault_item_error_map(json_string_value(e), r->code,
                                          sizeof(r->code));
        *failed = true;
    } else if (!json_is_string(e)) {
        err = CMK_E_BAD_RESPONSE;
    }
    json_decref(e);
    return err;
}

/* A ciphertext item: {"ciphertext": "vault:vN:...", "key_version": N}. */
static cmk_err item_ct(const char *it, size_t n, struct vault_result *r)
{
    json_t *o = cmk_json_load_object(it, n);
    json_t *c = json_object_get(o, "ciphertext");
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (json_is_string(c) && json_string_length(c) <= VAULT_MAX_PT * 2 &&
        cmk_vault_ct_version((const uint8_t *)json_string_value(c),
                             json_string_length(c), &r->version))
        err = cmk_buf_dup(&r->ct, (const uint8_t *)json_string_value(c),
                          json_string_length(c));
    json_decref(o);
    return err;
}

/* A plaintext item: {"plaintext": "<base64>"}, lifted out. */
static cmk_err item_pt(char *it, size_t n, struct vault_result *r)
{
    struct cmk_secret b64 = {0};
    bool found = false;
    cmk_err err = cmk_json_take_secret(it, n, "plaintext", &b64, &found);

    if (err == CMK_OK && !found)
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err = cmk_b64_to_secret((const char *)b64.p, b64.len, &r->pt);
    cmk_secret_free(&b64);
    return err == CMK_OK ? CMK_OK : CMK_E_BAD_RESPONSE;
}

static cmk_err one_item(char *it, size_t n, bool pt, struct vault_result *r)
{
    bool failed = false;
    cmk_err err;

    if (*it != '{')
        return CMK_E_BAD_RESPONSE;
    err = item_error(it, n, r, &failed);
    if (err != CMK_OK || failed)
        return err;
    return pt ? item_pt(it, n, r) : item_ct(it, n, r);
}

cmk_err cmk_vault_parse_batch(char *body, size_t len, bool pt,
                              struct vault_result *res, size_t n)
{
    char *arr = NULL, *it = NULL;
    size_t alen = 0, pos = 0, ilen = 0, i = 0;
    cmk_err err;

    if (body == NULL || res == NULL)
        return CMK_E_ARGS;
    memset(res, 0, n * sizeof(*res));
    err = results_span(body, len, &arr, &alen);
    if (err == CMK_OK && arr == NULL)
        err = CMK_E_BAD_RESPONSE;
    while (err == CMK_OK) {
        err = cmk_json_array_next(arr, alen, &pos, &it, &ilen);
        if (err != CMK_OK || it == NULL)
            break;
        err = i < n ? one_item(it, ilen, pt, &res[i]) : CMK_E_BAD_RESPONSE;
        i++;
    }
    if (err == CMK_OK && i != n)
        err = CMK_E_BAD_RESPONSE;
    if (err != CMK_OK) {
        cmk_vault_results_free(res, n);
        return CMK_E_BAD_RESPONSE;
    }
    return CMK_OK;
}

void cmk_vault_results_free(struct vault_result *res, size_t n)
{
    size_t i;

    if (res == NULL)
        return;
    for (i = 0; i < n; i++) {
        cmk_buf_free(&res[i].ct);
        cmk_secret_free(&res[i].pt);
    }
    memset(res, 0, n * sizeof(*res));
}
