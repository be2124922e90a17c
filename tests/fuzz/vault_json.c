/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Vault answers (providers/vault_json.c: an encrypt or rewrap
 * answer's data.ciphertext, a decrypt answer's data.plaintext lifted out
 * as a secret, the keys/<name> read, warnings and request_id), the error
 * body (vault_errors.c) and a login answer's auth (net/vauth_token.c).
 * A batch answer's data.batch_results (vault_json_batch.c), its items
 * counted against jansson's reading of the same text.
 * A key pair's key read (one version's public_key) and signature
 * (vault_json_asym.c).
 * Input: one mode byte (high bit set: a batch answer, bit 0 plaintexts,
 * bits 1-3 the items expected; else bit 6 set: a key pair's answer, bit
 * 0 which, bits 2-3 the version asked for; else the low two bits:
 * which), then the text. A refused answer leaves no output; a kept ciphertext
 * is a transit string; codes and request ids are sanitised (they reach audit
 * records).
 */
#include <config.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "net/vauth.h"
#include "net/vauth_int.h"
#include "providers/vault_int.h"
#include "tests/fuzz/fuzz.h"

#define CODE_CHARS                                                             \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static bool all_in(const char *s, size_t cap, const char *set)
{
    size_t n = strnlen(s, cap);

    return n < cap && strspn(s, set) == n;
}

static void ciphertext(const char *text, size_t n)
{
    struct cmk_buf ct = {0};
    unsigned long v = 0, v2 = 0;
    char id[128];

    cmk_vault_request_id(text, n, id, sizeof(id));
    fz_check(all_in(id, sizeof(id), "0123456789abcdefABCDEF-"),
             "request id not sanitised");
    (void)cmk_vault_warns_aad(text, n);
    if (cmk_vault_parse_ct(text, n, &ct, &v) != CMK_OK) {
        fz_check(ct.p == NULL, "a refused answer left output");
        return;
    }
    fz_check(cmk_vault_ct_version(ct.p, ct.len, &v2) && v2 == v && v >= 1,
             "kept a ciphertext that is not a transit string");
    cmk_buf_free(&ct);
}

static void plaintext(char *text, size_t n)
{
    struct cmk_secret pt = {0};

    if (cmk_vault_parse_pt(text, n, &pt) != CMK_OK) {
        fz_check(pt.p == NULL, "a refused answer left output");
        return;
    }
    fz_check(pt.len <= n, "plaintext longer than the answer");
    cmk_secret_free(&pt);
}

static void key_and_errors(const char *text, size_t n)
{
    static const long statuses[] = {400, 403, 404, 412, 429, 500, 503};
    struct vault_key_info k;
    enum cmk_retry_class cls;
    char code[64];
    size_t i;

    if (cmk_vault_parse_key(text, n, &k) == CMK_OK)
        fz_check(k.latest_version >= 1 &&
                     strnlen(k.type, sizeof(k.type)) < sizeof(k.type),
                 "key info out of range");
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        (void)cmk_vault_error_map(statuses[i], text, n, VAULT_OP_DECRYPT, code,
                                  sizeof(code), &cls);
        fz_check(all_in(code, sizeof(code), CODE_CHARS) && code[0] != '\0',
                 "code not sanitised");
    }
}

/* jansson's count of data.batch_results, -1 when it reads none. */
static long jansson_items(const char *text, size_t n)
{
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    json_t *a = json_object_get(json_object_get(root, "data"), "batch_results");
    long count = json_is_array(a) ? (long)json_array_size(a) : -1;

    json_decref(root);
    return count;
}

static void batch(uint8_t mode, char *text, size_t n)
{
    struct vault_result res[8];
    size_t want = (mode >> 1) & 7, i;
    long count = jansson_items(text, n);
    bool pt = (mode & 1) != 0;
    unsigned long v = 0;

    if (cmk_vault_parse_batch(text, n, pt, res, want) != CMK_OK) {
        for (i = 0; i < want; i++)
            fz_check(res[i].ct.p == NULL && res[i].pt.p == NULL,
                     "a refused answer left output");
        return;
    }
    fz_check(count < 0 || count == (long)want,
             "the scanner and jansson count different items");
    for (i = 0; i < want; i++) {
        fz_check(all_in(res[i].code, sizeof(res[i].code), CODE_CHARS),
                 "code not sanitised");
        fz_check(res[i].err == CMK_OK ||
                     (res[i].ct.p == NULL && res[i].pt.p == NULL),
                 "a failed item kept output");
        if (res[i].ct.p != NULL)
            fz_check(cmk_vault_ct_version(res[i].ct.p, res[i].ct.len, &v) &&
                         v == res[i].version,
                     "kept a ciphertext that is not a transit string");
    }
    cmk_vault_results_free(res, want);
}

static void login(const uint8_t *data, size_t n)
{
    struct cmk_http_resp r;
    struct cmk_creds *tok = NULL;
    bool renewable = false;

    memset(&r, 0, sizeof(r));
    r.status = 200;
    if (cmk_buf_dup(&r.body, data, n) != CMK_OK)
        return;
    if (cmk_vauth_parse_auth(&r, "fuzz", 1000, &tok, &renewable) == CMK_OK) {
        fz_check(tok != NULL && cmk_vauth_token(tok)[0] != '\0',
                 "an accepted login without a token");
        fz_check(tok->expires == 0 || tok->expires > 1000,
                 "expiry before the login");
    } else {
        fz_check(tok == NULL, "a refused login left a token");
    }
    cmk_creds_unref(tok);
    cmk_http_resp_free(&r);
}

/* The key read of version want (0: the latest), or a signature. */
static void key_pair(uint8_t mode, const char *text, size_t n)
{
    struct vault_pair_info pi;
    struct cmk_buf sig = {0};
    unsigned long v = 0;
    const char *code = "";

    if ((mode & 1) == 0) {
        if (cmk_vault_parse_pair(text, n, (mode >> 2) & 3, &pi, &code) !=
            CMK_OK) {
            fz_check(pi.pem.p == NULL, "a refused key read left output");
            return;
        }
        fz_check(pi.version >= 1 && pi.pem.len >= 1 && pi.pem.len <= n,
                 "a key read out of range");
        fz_check(((mode >> 2) & 3) == 0 || pi.version == ((mode >> 2) & 3),
                 "another version than asked for");
        cmk_buf_free(&pi.pem);
        return;
    }
    if (cmk_vault_parse_sig(text, n, &v, &sig) != CMK_OK) {
        fz_check(sig.p == NULL && v == 0, "a refused signature left output");
        return;
    }
    fz_check(v >= 1 && sig.len >= 1 && sig.len <= n, "signature out of range");
    cmk_buf_free(&sig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1)
        return 0;
    text = fz_strndup(data + 1, size - 1);
    if (data[0] & 0x80) {
        batch(data[0], text, size - 1);
        free(text);
        return 0;
    }
    if (data[0] & 0x40) {
        key_pair(data[0], text, size - 1);
        free(text);
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        ciphertext(text, size - 1);
        break;
    case 1:
        plaintext(text, size - 1);
        break;
    case 2:
        key_and_errors(text, size - 1);
        break;
    default:
        login(data + 1, size - 1);
    }
    free(text);
    return 0;
}
