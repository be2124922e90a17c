/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Key Vault answers (providers/azure_json.c: an operation's
 * {kid, value, iv, tag}, with the value kept as a ciphertext or lifted
 * out as a secret, and the KeyBundle of GET key, RSA, EC or oct), the
 * error body
 * (azure_errors.c) and a 401's WWW-Authenticate (azure_challenge.c).
 * Input: one mode byte (low two bits: which; bit 4: iv and tag wanted),
 * then the text. A refused answer leaves no output; accepted sizes are
 * in range; codes, tenants and resources are sanitised (they reach audit
 * records and token requests).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "providers/azure_int.h"
#include "tests/fuzz/fuzz.h"

static bool all_in(const char *s, size_t cap, const char *set)
{
    size_t n = strnlen(s, cap);

    return n < cap && strspn(s, set) == n;
}

#define CODE_CHARS                                                             \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static void result(char *text, size_t n, bool secret, bool iv_tag)
{
    struct az_result r;

    if (cmk_azure_parse_result(text, n, secret, AZ_RSA_MAX, iv_tag, &r) !=
        CMK_OK) {
        fz_check(r.value.p == NULL && r.secret.p == NULL && r.kid[0] == '\0',
                 "a refused answer left output");
        return;
    }
    fz_check(strnlen(r.kid, AZ_KID_MAX) < AZ_KID_MAX && r.kid[0] != '\0',
             "kid unterminated or empty");
    fz_check(secret || r.value.len <= AZ_RSA_MAX, "value over its limit");
    fz_check(!secret || r.secret.len <= n, "secret longer than the answer");
    fz_check(r.has_iv_tag == iv_tag, "iv and tag not as asked");
    cmk_azure_result_free(&r);
}

static void key_bundle(const char *text, size_t n)
{
    struct az_key_info k;

    if (cmk_azure_parse_key(text, n, &k) != CMK_OK)
        return;
    fz_check(strnlen(k.kid, AZ_KID_MAX) < AZ_KID_MAX, "kid unterminated");
    fz_check(k.kty != AZ_KTY_RSA || (k.n_len >= 256 && k.n[0] != 0),
             "an RSA key without a usable modulus");
    fz_check(k.ops <= 0x3f, "key_ops out of range");
    fz_check(k.kty != AZ_KTY_EC || k.curve_nid == 0 || k.coord_len == 32 ||
                 k.coord_len == 48 || k.coord_len == 66,
             "an EC point of no curve's size");
    fz_check(k.kty == AZ_KTY_EC || k.curve_nid == 0, "a curve on a non-EC key");
}

static void errors_and_challenge(const char *text, size_t n)
{
    char code[64], t[CMK_AZAUTH_TENANT_MAX], r[CMK_AZAUTH_RESOURCE_MAX];
    enum cmk_retry_class cls;
    int op;

    for (op = AZ_OP_GET; op <= AZ_OP_DECRYPT; op++) {
        (void)cmk_azure_error_map(403, text, n, (enum az_op)op, code,
                                  sizeof(code), &cls);
        fz_check(all_in(code, sizeof(code), CODE_CHARS) && code[0] != '\0',
                 "code not sanitised");
    }
    if (cmk_azure_challenge_parse(text, t, r) != CMK_OK)
        return;
    fz_check(all_in(t, sizeof(t), CODE_CHARS) && t[0] != '\0',
             "tenant not sanitised");
    fz_check(strnlen(r, sizeof(r)) < sizeof(r) && r[0] != '\0' &&
                 strpbrk(r, " \"\r\n") == NULL,
             "resource not sanitised");
    (void)cmk_azure_resource_ok(r, "myvault.vault.azure.net", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1)
        return 0;
    text = fz_strndup(data + 1, size - 1);
    switch (data[0] % 4) {
    case 0:
        result(text, size - 1, false, data[0] & 0x10);
        break;
    case 1:
        result(text, size - 1, true, false);
        break;
    case 2:
        key_bundle(text, size - 1);
        break;
    default:
        errors_and_challenge(text, size - 1);
    }
    free(text);
    return 0;
}
