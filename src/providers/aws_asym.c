/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: key pairs in AWS KMS (providers/asym.h): GetPublicKey, Sign
 * (MessageType DIGEST or RAW) and Decrypt with RSAES_OAEP_SHA_1/256, on
 * the same state, signed calls, retries and error table as the CMK's
 * (aws.c, aws_call.c). Key specs RSA_2048/3072/4096 and
 * ECC_NIST_P256/P384/P521; every other spec (ECC_SECG_P256K1, SM2, HMAC,
 * SYMMETRIC_DEFAULT, ML-DSA ...) is refused as "UnsupportedKeySpec".
 * Every answer is checked before use: its KeyId names a key the
 * reference can name, GetPublicKey's SPKI parses and is the key its
 * KeySpec says, Sign's SigningAlgorithm and Decrypt's EncryptionAlgorithm
 * are the ones asked for.
 */
#include <config.h>

#include <jansson.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <string.h>

#include "mech/spki.h"
#include "net/json.h"
#include "providers/aws_cfg.h"
#include "providers/aws_int.h"
#include "providers/backends.h"

#define MAX_MESSAGE 4096u   /* Sign's Message: 1..4096 bytes */
#define MAX_SIGNATURE 1024u /* RSA-4096: 512; DER ECDSA P-521: <= 139 */
#define MAX_SPKI 2048u      /* RSA-4096: 550 */
#define RSA_MAX_CT 512u     /* an RSA-4096 ciphertext */

struct spec {
    const char *name;
    enum cmk_asym_kind kind;
    unsigned bits;
    int nid;
};

static const struct spec specs[] = {
    {"RSA_2048", CMK_ASYM_RSA, 2048, 0},
    {"RSA_3072", CMK_ASYM_RSA, 3072, 0},
    {"RSA_4096", CMK_ASYM_RSA, 4096, 0},
    {"ECC_NIST_P256", CMK_ASYM_EC, 256, NID_X9_62_prime256v1},
    {"ECC_NIST_P384", CMK_ASYM_EC, 384, NID_secp384r1},
    {"ECC_NIST_P521", CMK_ASYM_EC, 521, NID_secp521r1},
};

/* The algorithm names of the KMS, by scheme (or OAEP) and hash. */
struct alg {
    const char *name;
    int scheme; /* enum cmk_sig_scheme, 0 for RSAES-OAEP */
    enum cmk_hash hash;
};

static const struct alg algs[] = {
    {"RSASSA_PKCS1_V1_5_SHA_256", CMK_SIG_RSA_PKCS1, CMK_HASH_SHA256},
    {"RSASSA_PKCS1_V1_5_SHA_384", CMK_SIG_RSA_PKCS1, CMK_HASH_SHA384},
    {"RSASSA_PKCS1_V1_5_SHA_512", CMK_SIG_RSA_PKCS1, CMK_HASH_SHA512},
    {"RSASSA_PSS_SHA_256", CMK_SIG_RSA_PSS, CMK_HASH_SHA256},
    {"RSASSA_PSS_SHA_384", CMK_SIG_RSA_PSS, CMK_HASH_SHA384},
    {"RSASSA_PSS_SHA_512", CMK_SIG_RSA_PSS, CMK_HASH_SHA512},
    {"ECDSA_SHA_256", CMK_SIG_ECDSA, CMK_HASH_SHA256},
    {"ECDSA_SHA_384", CMK_SIG_ECDSA, CMK_HASH_SHA384},
    {"ECDSA_SHA_512", CMK_SIG_ECDSA, CMK_HASH_SHA512},
    {"RSAES_OAEP_SHA_1", 0, CMK_HASH_SHA1},
    {"RSAES_OAEP_SHA_256", 0, CMK_HASH_SHA256},
};

#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

static const char *alg_name(int scheme, enum cmk_hash h)
{
    size_t i;

    for (i = 0; i < N_ALGS; i++) {
        if (algs[i].scheme == scheme && algs[i].hash == h)
            return algs[i].name;
    }
    return NULL;
}

static size_t hash_len(enum cmk_hash h)
{
    switch (h) {
    case CMK_HASH_SHA256:
        return 32;
    case CMK_HASH_SHA384:
        return 48;
    case CMK_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

/* ---- init ---- */

/* The key reference must have a key reference's form (as the config
 * loader's check_key_ref); then the CMK's init, which makes no call. */
static cmk_err asym_init(void *st, const struct cmk_kms_cfg *cfg,
                         const char *key_ref)
{
    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    if (!cmk_aws_cfg_is_key_ref(key_ref))
        return CMK_E_CONFIG;
    return cmk_aws_init(st, cfg, key_ref);
}

/* ---- GetPublicKey ---- */

/* A string member into out[n] ("" when absent, not a string or too
 * long). */
static void get_str(json_t *obj, const char *name, char *out, size_t n)
{
    json_t *v = json_object_get(obj, name);

    out[0] = '\0';
    if (json_is_string(v) && json_string_length(v) < n &&
        strlen(json_string_value(v)) == json_string_length(v))
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
}

/* The hashes of the algorithms of list (a JSON array of names) that fit
 * the key's kind and usage, and their schemes into *schemes; names the
 * module does not use are passed over. */
static unsigned list_hashes(json_t *list, const struct spec *sp, unsigned usage,
                            unsigned *schemes)
{
    unsigned hashes = 0;
    size_t i, j;
    int s;

    *schemes = 0;

    for (i = 0; i < json_array_size(list); i++) {
        for (j = 0; j < N_ALGS; j++) {
            s = algs[j].scheme;
            if (!json_is_string(json_array_get(list, i)) ||
                strcmp(json_string_value(json_array_get(list, i)),
                       algs[j].name) != 0)
                continue;
            if ((usage == CMK_ASYM_USE_DECRYPT && s == 0) ||
                (usage == CMK_ASYM_USE_SIGN && sp->kind == CMK_ASYM_RSA &&
                 (s == CMK_SIG_RSA_PKCS1 || s == CMK_SIG_RSA_PSS)) ||
                (usage == CMK_ASYM_USE_SIGN && sp->kind == CMK_ASYM_EC &&
                 s == CMK_SIG_ECDSA)) {
                hashes |= 1u << algs[j].hash;
                *schemes |= s != 0 ? 1u << s : 0;
            }
        }
    }
    return hashes;
}

/* KeySpec and KeyUsage as the module can use them: kind, size, usage. */
static cmk_err pick_spec(json_t *root, struct cmk_pubkey *out,
                         const struct spec **sp, const char **code)
{
    char spec[40], usage[40];
    size_t i;

    get_str(root, "KeySpec", spec, sizeof(spec));
    get_str(root, "KeyUsage", usage, sizeof(usage));
    if (spec[0] == '\0' || usage[0] == '\0')
        return CMK_E_BAD_RESPONSE;
    *code = "UnsupportedKeySpec";
    for (i = 0, *sp = NULL; i < sizeof(specs) / sizeof(specs[0]); i++) {
        if (strcmp(specs[i].name, spec) == 0)
            *sp = &specs[i];
    }
    if (*sp == NULL)
        return CMK_E_CONFIG;
    if (strcmp(usage, "SIGN_VERIFY") == 0)
        out->usage = CMK_ASYM_USE_SIGN;
    else if (strcmp(usage, "ENCRYPT_DECRYPT") == 0 &&
             (*sp)->kind == CMK_ASYM_RSA)
        out->usage = CMK_ASYM_USE_DECRYPT;
    else
        return CMK_E_CONFIG; /* KEY_AGREEMENT, GENERATE_VERIFY_MAC ... */
    out->kind = (*sp)->kind;
    out->bits = (*sp)->bits;
    out->curve_nid = (*sp)->nid;
    if (out->usage == CMK_ASYM_USE_SIGN)
        out->hashes = list_hashes(json_object_get(root, "SigningAlgorithms"),
                                  *sp, out->usage, &out->schemes);
    else
        out->oaep_hashes =
            list_hashes(json_object_get(root, "EncryptionAlgorithms"), *sp,
                        out->usage, &out->schemes);
    return out->hashes != 0 || out->oaep_hashes != 0 ? CMK_OK : CMK_E_CONFIG;
}

/* PublicKey, decoded, must be the key KeySpec says. */
static cmk_err check_spki(json_t *root, const struct spec *sp,
                          struct cmk_pubkey *out, const char **code)
{
    json_t *v = json_object_get(root, "PublicKey");
    struct cmk_spki_info info;
    cmk_err err;

    *code = "MalformedResponse";
    if (!json_is_string(v) || json_string_length(v) == 0)
        return CMK_E_BAD_RESPONSE;
    err =
        cmk_b64_to_buf(json_string_value(v), json_string_length(v), &out->spki);
    if (err != CMK_OK || out->spki.len > MAX_SPKI)
        return CMK_E_BAD_RESPONSE;
    err = cmk_spki_describe(out->spki.p, out->spki.len, &info);
    if (err != CMK_OK)
        return err == CMK_E_BAD_RESPONSE ? err : CMK_E_CRYPTO;
    if (info.kind != (int)sp->kind || info.bits != sp->bits ||
        (sp->kind == CMK_ASYM_EC && info.curve_nid != sp->nid)) {
        *code = "KeySpecMismatch";
        return CMK_E_BAD_RESPONSE;
    }
    return CMK_OK;
}

static cmk_err parse_pub(struct aws_state *st, struct cmk_http_resp *r,
                         void *vout, const char **code)
{
    struct cmk_pubkey *out = vout;
    char id[CMK_AWS_KEY_ARN_MAX + 1];
    const struct spec *sp = NULL;
    json_t *root = cmk_aws_json_answer(r);
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (root != NULL)
        err = cmk_aws_answer_key(st, r, id, sizeof(id), true, NULL, code);
    if (err == CMK_OK)
        err = pick_spec(root, out, &sp, code);
    if (err == CMK_OK)
        err = check_spki(root, sp, out, code);
    json_decref(root);
    if (err != CMK_OK)
        cmk_pubkey_free(out);
    return err;
}

/* A key of another kind is a configuration error whether the module or
 * the KMS finds it out (GetPublicKey of a symmetric key). */
static bool is_kind_refusal(const char *code)
{
    return strcmp(code, "UnsupportedOperationException") == 0 ||
           strcmp(code, "InvalidKeyUsageException") == 0;
}

static cmk_err asym_get_public_key(void *vst, struct cmk_req *rq,
                                   struct cmk_pubkey *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    cmk_err err;

    if (st == NULL || rq == NULL || out == NULL)
        return CMK_E_ARGS;
    memset(out, 0, sizeof(*out));
    err =
        cmk_aws_run(st, rq, "GetPublicKey", &body,
                    cmk_aws_body_describe(&body, st->key_ref), parse_pub, out);
    if (err != CMK_OK && is_kind_refusal(rq->provider_code))
        err = CMK_E_CONFIG;
    return err;
}

/* ---- Sign ---- */

struct signed_ans {
    struct cmk_buf *sig;
    const char *alg;
};

static cmk_err parse_sig(struct aws_state *st, struct cmk_http_resp *r,
                         void *vout, const char **code)
{
    struct signed_ans *s = vout;
    char id[CMK_AWS_KEY_ARN_MAX + 1], alg[40];
    json_t *root = cmk_aws_json_answer(r), *v;
    cmk_err err = CMK_E_BAD_RESPONSE;

    if (root == NULL)
        return err;
    err = cmk_aws_answer_key(st, r, id, sizeof(id), true, NULL, code);
    get_str(root, "SigningAlgorithm", alg, sizeof(alg));
    if (err == CMK_OK && strcmp(alg, s->alg) != 0) {
        *code = "UnexpectedAlgorithm";
        err = CMK_E_BAD_RESPONSE;
    }
    v = json_object_get(root, "Signature");
    if (err == CMK_OK && (!json_is_string(v) || json_string_length(v) == 0))
        err = CMK_E_BAD_RESPONSE;
    if (err == CMK_OK)
        err =
            cmk_b64_to_buf(json_string_value(v), json_string_length(v), s->sig);
    if (err == CMK_OK && (s->sig->len == 0 || s->sig->len > MAX_SIGNATURE))
        err = CMK_E_BAD_RESPONSE;
    if (err != CMK_OK)
        cmk_buf_free(s->sig);
    json_decref(root);
    return err;
}

static cmk_err asym_sign(void *vst, struct cmk_req *rq, enum cmk_sig_scheme s,
                         enum cmk_hash h, bool digest, const uint8_t *msg,
                         size_t len, struct cmk_buf *sig)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct signed_ans ans = {sig, alg_name((int)s, h)};

    if (st == NULL || rq == NULL || sig == NULL || msg == NULL || len == 0 ||
        s == 0 || ans.alg == NULL) /* scheme 0 names RSAES-OAEP here */
        return CMK_E_ARGS;
    if (digest && len != hash_len(h))
        return CMK_E_ARGS;
    if (!digest && len > MAX_MESSAGE) /* KMS would refuse it: do not ask */
        return fail(rq, CMK_E_TOO_LARGE, "MessageTooLarge");
    return cmk_aws_run(
        st, rq, "Sign", &body,
        cmk_aws_body_sign(&body, st->key_ref, ans.alg, digest, msg, len),
        parse_sig, &ans);
}

/* ---- Decrypt ---- */

struct opened_ans {
    struct cmk_secret *pt;
    const char *alg;
};

static cmk_err parse_pt(struct aws_state *st, struct cmk_http_resp *r,
                        void *vout, const char **code)
{
    struct opened_ans *o = vout;
    char id[CMK_AWS_KEY_ARN_MAX + 1], alg[40];
    json_t *root;
    cmk_err err = cmk_aws_parse_plaintext(r, o->pt); /* wipes the base64 */

    if (err != CMK_OK)
        return err;
    err = cmk_aws_answer_key(st, r, id, sizeof(id), true, NULL, code);
    root = cmk_aws_json_answer(r);
    get_str(root, "EncryptionAlgorithm", alg, sizeof(alg));
    json_decref(root);
    if (err == CMK_OK && strcmp(alg, o->alg) != 0) {
        *code = "UnexpectedAlgorithm";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err != CMK_OK)
        cmk_secret_free(o->pt); /* wipes */
    return err;
}

static cmk_err asym_decrypt(void *vst, struct cmk_req *rq, enum cmk_hash h,
                            const uint8_t *ct, size_t len,
                            struct cmk_secret *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct opened_ans o = {out, alg_name(0, h)};

    if (st == NULL || rq == NULL || out == NULL || o.alg == NULL ||
        (ct == NULL && len != 0))
        return CMK_E_ARGS;
    if (len == 0 || len > RSA_MAX_CT)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    return cmk_aws_run(
        st, rq, "Decrypt", &body,
        cmk_aws_body_asym_decrypt(&body, st->key_ref, o.alg, ct, len), parse_pt,
        &o);
}

const struct cmk_asym_ops cmk_aws_asym = {
    .state_size = sizeof(struct aws_state),
    .init = asym_init,
    .fini = cmk_aws_fini,
    .get_public_key = asym_get_public_key,
    .sign = asym_sign,
    .decrypt = asym_decrypt,
};
