/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: Google Cloud KMS answers (providers/gcp_json.c: encrypt,
 * decrypt, GET cryptoKey and GET cryptoKeyVersion answers, the
 * google.rpc.Status error mapping) and the key pairs' answers
 * (getPublicKey, asymmetricSign, asymmetricDecrypt). Input: one mode byte
 * (low two bits: the answer; bit 4: AAD CRC sent; bit 5 with mode 2: a
 * version; bit 6: the key pairs' answer of the low two bits instead),
 * then the body. A refused answer leaves no output; an accepted one is within
 * its limits; a ciphertext or plaintext accepted matches its CRC32C;
 * audit fields are sanitised.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "providers/gcp_json.h"
#include "tests/fuzz/fuzz.h"
#include "util/crc32c.h"

static bool is_code(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    return n < cap && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                                "uvwxyz0123456789._-") == n;
}

static void encrypted(const char *text, size_t n, bool aad_sent)
{
    struct cmk_gcp_encrypted e;

    if (cmk_gcp_parse_encrypt(text, n, aad_sent, &e) != CMK_OK) {
        fz_check(e.ct.p == NULL, "a refused ciphertext left output");
        return;
    }
    fz_check(e.ct.len >= 1 && e.ct.len <= GCP_MAX_CIPHERTEXT,
             "ciphertext size out of range");
    fz_check(strnlen(e.version, GCP_NAME_MAX) < GCP_NAME_MAX,
             "version unterminated");
    cmk_buf_free(&e.ct);
}

static void decrypted(char *text, size_t n)
{
    struct cmk_gcp_decrypted d;

    if (cmk_gcp_parse_decrypt(text, n, &d) != CMK_OK) {
        fz_check(d.pt.p == NULL && d.pt.len == 0,
                 "a refused plaintext left output");
        return;
    }
    fz_check(d.pt.len <= n, "plaintext longer than the answer");
    cmk_secret_free(&d.pt);
}

static void errors(const char *text, size_t n)
{
    struct cmk_gcp_error rec;
    enum cmk_retry_class cls;
    int op;

    for (op = CMK_GCP_OP_ENCRYPT; op <= CMK_GCP_OP_SIGN; op++) {
        (void)cmk_gcp_error_map(400, text, n, (enum cmk_gcp_op)op, &rec, &cls);
        fz_check(is_code(rec.status, sizeof(rec.status)),
                 "status not sanitised");
    }
}

/* GET cryptoKey, or GET cryptoKeyVersion when version. */
static void key_info(const char *text, size_t n, bool version)
{
    struct cmk_gcp_key_info k;
    cmk_err err = version ? cmk_gcp_parse_version(text, n, &k)
                          : cmk_gcp_parse_key(text, n, &k);

    fz_check(strnlen(k.version, GCP_NAME_MAX) < GCP_NAME_MAX,
             "version unterminated");
    if (err != CMK_OK) {
        fz_check(k.version[0] == '\0' && k.state == 0 && k.level == 0 &&
                     k.purpose == 0,
                 "a refused answer left output");
        return;
    }
    fz_check(!version || k.version[0] != '\0', "a version without a name");
    fz_check(!version || k.purpose == 0, "a version with a purpose");
}

/* getPublicKey (0), asymmetricSign (1), asymmetricDecrypt (2, 3). */
static void key_pair(char *text, size_t n, int which)
{
    struct cmk_gcp_public_key pk;
    struct cmk_gcp_signed s;
    struct cmk_gcp_decrypted d;

    if (which == 0) {
        if (cmk_gcp_parse_public_key(text, n, &pk) != CMK_OK) {
            fz_check(pk.pem.p == NULL, "a refused public key left output");
            return;
        }
        fz_check(pk.pem.len >= 1 && pk.pem.len <= n, "pem size");
        fz_check(pk.algorithm != 0, "no algorithm");
        cmk_buf_free(&pk.pem);
    } else if (which == 1) {
        if (cmk_gcp_parse_sign(text, n, &s) != CMK_OK) {
            fz_check(s.sig.p == NULL, "a refused signature left output");
            return;
        }
        fz_check(s.sig.len >= 1 && s.sig.len <= 1024, "signature size");
        fz_check(s.version[0] != '\0', "a signature without a name");
        cmk_buf_free(&s.sig);
    } else {
        if (cmk_gcp_parse_asym_decrypt(text, n, &d) != CMK_OK) {
            fz_check(d.pt.p == NULL && d.pt.len == 0,
                     "a refused plaintext left output");
            return;
        }
        fz_check(d.pt.len <= n, "plaintext longer than the answer");
        cmk_secret_free(&d.pt);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1)
        return 0;
    text = fz_strndup(data + 1, size - 1);
    if (data[0] & 0x40) {
        key_pair(text, size - 1, data[0] % 4);
        free(text);
        return 0;
    }
    switch (data[0] % 4) {
    case 0:
        encrypted(text, size - 1, data[0] & 0x10);
        break;
    case 1:
        decrypted(text, size - 1);
        break;
    case 2:
        key_info(text, size - 1, data[0] & 0x20);
        break;
    default:
        errors(text, size - 1);
    }
    free(text);
    return 0;
}
