/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "aws", AWS KMS over the JSON 1.1 protocol with SigV4, the
 * tenant's encryption context on every call, and the SDKs' credential
 * chain and standard retry mode (see aws_call.c, net/creds.h).
 *
 * key_id is "aws:" + the configured key reference (key ARN, key id, alias
 * name or alias ARN), not the ARN KMS answers with: it must be known
 * without a network call at init and stay the same for as long as the
 * configuration does, since envelope blobs name their CMK version by it.
 * The key ARN Encrypt answers with (checked against the reference) goes
 * out as sealed_by into the blob, and Decrypt names that ARN, so a blob
 * made through an alias still opens after the alias moves to another key
 * (aws_arn.c has the checks). Init makes no network call. Every op may
 * run from several threads: state is read-only after init except the
 * credential cache and the clock skew, which have their own
 * synchronisation.
 */
#include <config.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws_cfg.h"
#include "providers/aws_int.h"
#include "providers/backends.h"
#include "util/log.h"

static cmk_err fail(struct cmk_req *rq, cmk_err err, const char *code)
{
    snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", code);
    rq->http_status = 0;
    rq->request_id[0] = '\0';
    return err;
}

/* ---- init ---- */

static cmk_err pick_region(const struct cmk_kms_cfg *cfg, char **out)
{
    const char *r = cfg->region;

    if (r == NULL)
        r = secure_getenv("AWS_REGION");
    if (r == NULL || r[0] == '\0')
        r = secure_getenv("AWS_DEFAULT_REGION");
    if (r == NULL || r[0] == '\0') {
        cmk_log_error("tenant \"%s\": no AWS region: set \"region\" or "
                      "AWS_REGION",
                      cfg->label != NULL ? cfg->label : "?");
        return CMK_E_CONFIG;
    }
    *out = cmk_strdup(r);
    return *out != NULL ? CMK_OK : CMK_E_NOMEM;
}

static cmk_err pick_url(const struct cmk_kms_cfg *cfg, const char *region,
                        char **out)
{
    struct cmk_sb sb = {0};
    cmk_err err;

    if (cfg->endpoint != NULL)
        cmk_sb_puts(&sb, cfg->endpoint);
    else
        cmk_sb_printf(&sb, "https://kms.%s.amazonaws.com%s/", region,
                      strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
    err = cmk_sb_take(&sb, out);
    cmk_sb_free(&sb);
    if (err == CMK_OK &&
        cmk_url_check(*out, CMK_URL_HTTPS_ONLY, NULL) != CMK_OK)
        err = CMK_E_CONFIG;
    return err;
}

/* Host header ("host" or "host:port") and path, as curl will send them. */
static cmk_err split_url(struct aws_state *st)
{
    char *host = NULL, *port = NULL, *path = NULL;
    struct cmk_sb sb = {0};
    CURLU *u = curl_url();
    cmk_err err = CMK_E_CONFIG;

    if (u == NULL)
        return CMK_E_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, st->url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
        (void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* none: NULL */
        cmk_sb_printf(&sb, "%s%s%s", host, port != NULL ? ":" : "",
                      port != NULL ? port : "");
        err = cmk_sb_take(&sb, &st->host);
        if (err == CMK_OK && (st->path = cmk_strdup(path)) == NULL)
            err = CMK_E_NOMEM;
    }
    cmk_sb_free(&sb);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return err;
}

static cmk_err set_key(struct aws_state *st, const char *key_ref)
{
    int n;

    if (key_ref == NULL || key_ref[0] == '\0')
        return CMK_E_CONFIG;
    n = snprintf(st->key_id, sizeof(st->key_id), AWS_KEY_ID_PREFIX "%s",
                 key_ref);
    if (n < 0 || (size_t)n >= sizeof(st->key_id))
        return CMK_E_CONFIG; /* envelope key ids hold at most 255 bytes */
    st->key_ref = cmk_strdup(key_ref);
    return st->key_ref != NULL ? CMK_OK : CMK_E_NOMEM;
}

void cmk_aws_fini(void *vst)
{
    struct aws_state *st = vst;

    if (st->creds_ready)
        cmk_cred_cache_fini(&st->creds);
    cmk_sigv4_free(st->sv);
    cmk_http_free(st->http);
    free(st->key_ref);
    free(st->region);
    free(st->url);
    free(st->host);
    free(st->path);
    memset(st, 0, sizeof(*st));
}

cmk_err cmk_aws_init(void *vst, const struct cmk_kms_cfg *cfg,
                     const char *key_ref)
{
    struct aws_state *st = vst;
    const struct cmk_aws_cfg *a;
    struct cmk_cred_env env;
    cmk_err err;

    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    a = cfg->provider_cfg; /* NULL: the tenant has no "aws" object */
    atomic_init(&st->skew_s, 0);
    err = set_key(st, key_ref);
    if (err == CMK_OK)
        err = pick_region(cfg, &st->region);
    if (err == CMK_OK)
        err = pick_url(cfg, st->region, &st->url);
    if (err == CMK_OK)
        err = split_url(st);
    if (err == CMK_OK)
        err = cmk_http_new(cfg->http, &st->http);
    if (err == CMK_OK)
        err = cmk_sigv4_new(&st->sv);
    if (err == CMK_OK) {
        memset(&env, 0, sizeof(env));
        env.http = st->http;
        env.cfg = a != NULL ? &a->creds : NULL;
        env.region = st->region;
        err = cmk_cred_cache_init(&st->creds, &env);
        st->creds_ready = err == CMK_OK;
    }
    if (err != CMK_OK)
        cmk_aws_fini(st);
    return err;
}

static cmk_err aws_key_id(void *vst, char id[256])
{
    struct aws_state *st = vst;

    memcpy(id, st->key_id, sizeof(st->key_id));
    return CMK_OK;
}

/* ---- operations ---- */

static cmk_err parse_ct(struct aws_state *st, struct cmk_http_resp *r,
                        void *out, const char **code)
{
    (void)st;
    (void)code;
    return cmk_aws_parse_ciphertext(r, out);
}

/* What Encrypt answers: the ciphertext and the key ARN that sealed it. */
struct sealed {
    struct cmk_buf *ct;
    char *arn; /* rq->sealed_by */
    size_t arn_size;
};

static cmk_err parse_sealed(struct aws_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct sealed *s = out;
    cmk_err err = cmk_aws_parse_ciphertext(r, s->ct);

    if (err == CMK_OK)
        err = cmk_aws_answer_key(st, r, s->arn, s->arn_size, true, NULL, code);
    if (err != CMK_OK) {
        cmk_buf_free(s->ct);
        s->arn[0] = '\0';
    }
    return err;
}

/* What Decrypt answers: the plaintext, from the key asked for (want) or,
 * when no KeyId was sent (need_key), from a key the reference can name. */
struct opened {
    struct cmk_secret *pt;
    const char *want;
    bool need_key;
};

static cmk_err parse_opened(struct aws_state *st, struct cmk_http_resp *r,
                            void *out, const char **code)
{
    struct opened *o = out;
    char id[CMK_AWS_KEY_ARN_MAX + 1];
    cmk_err err = cmk_aws_parse_plaintext(r, o->pt);

    if (err == CMK_OK)
        err = cmk_aws_answer_key(st, r, id, sizeof(id), o->need_key, o->want,
                                 code);
    if (err != CMK_OK)
        cmk_secret_free(o->pt); /* wipes */
    return err;
}

static bool args_ok(void *st, struct cmk_req *rq, const uint8_t *in,
                    size_t in_len, const void *out)
{
    return st != NULL && rq != NULL && out != NULL &&
           (in != NULL || in_len == 0) && (rq->ctx != NULL || rq->n_ctx == 0);
}

/* Encrypt with the configured reference; rq->sealed_by gets the key ARN
 * KMS answers with (an alias resolves to its key of the moment). */
static cmk_err aws_encrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                           size_t in_len, struct cmk_buf *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct sealed s;

    if (!args_ok(st, rq, in, in_len, out) || in_len == 0)
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    if (in_len > AWS_MAX_PLAINTEXT) /* KMS would refuse it: do not ask */
        return fail(rq, CMK_E_TOO_LARGE, "PlaintextTooLarge");
    s.ct = out;
    s.arn = rq->sealed_by;
    s.arn_size = sizeof(rq->sealed_by);
    return cmk_aws_run(st, rq, "Encrypt", &body,
                       cmk_aws_body_encrypt(&body, st->key_ref, rq, in, in_len),
                       parse_sealed, &s);
}

/* Decrypt's KeyId: the key the blob names (checked against the
 * reference before any call), else the configured reference, else, for
 * a blob that names no key under an alias, none at all: the alias may
 * have moved since, and KMS takes the key the ciphertext names, which
 * the answer's KeyId must then show to be one the alias can name. */
static cmk_err pick_key(struct aws_state *st, struct cmk_req *rq,
                        struct opened *o, const char **key)
{
    if (rq->open_with == NULL) {
        o->need_key = cmk_aws_ref_is_alias(st->key_ref);
        *key = o->need_key ? NULL : st->key_ref;
        return CMK_OK;
    }
    switch (cmk_aws_arn_fits(st->key_ref, st->region, rq->open_with,
                             strnlen(rq->open_with, CMK_AWS_KEY_ARN_MAX + 1))) {
    case CMK_AWS_FITS:
        o->want = *key = rq->open_with;
        return CMK_OK;
    case CMK_AWS_OTHER_KEY:
        return fail(rq, CMK_E_KEY_NOT_FOUND, "SealedByOtherKey");
    default:
        return fail(rq, CMK_E_BAD_BLOB, "SealedByInvalid");
    }
}

static cmk_err aws_decrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                           size_t in_len, struct cmk_secret *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct opened o = {out, NULL, false};
    const char *key = NULL;
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    if (in_len == 0 || in_len > AWS_MAX_CIPHERTEXT)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    err = pick_key(st, rq, &o, &key);
    if (err != CMK_OK)
        return err;
    return cmk_aws_run(st, rq, "Decrypt", &body,
                       cmk_aws_body_decrypt(&body, key, rq, in, in_len),
                       parse_opened, &o);
}

/* What ReEncrypt answers: the new ciphertext and the key that sealed it
 * (as Encrypt's), and the key it came from, which must be the one asked
 * for when the blob named it. */
struct moved {
    struct sealed to;
    const char *from;
};

static cmk_err parse_moved(struct aws_state *st, struct cmk_http_resp *r,
                           void *out, const char **code)
{
    char src[CMK_AWS_KEY_ARN_MAX + 1];
    struct moved *m = out;
    cmk_err err = parse_sealed(st, r, &m->to, code);

    if (err != CMK_OK || m->from == NULL)
        return err;
    err = cmk_aws_parse_source_key_id(r, src, sizeof(src));
    if (err == CMK_OK && strcmp(src, m->from) != 0) {
        *code = "UnexpectedKeyId";
        err = CMK_E_BAD_RESPONSE;
    }
    if (err != CMK_OK) {
        cmk_buf_free(m->to.ct);
        m->to.arn[0] = '\0';
    }
    return err;
}

/* To this instance's key, from the key the blob names (rq->open_with,
 * sent as SourceKeyId: KMS refuses a ciphertext of any other key) or, for
 * a blob that names none, from whichever key KMS finds in it. */
static cmk_err aws_reencrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_buf *out)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct moved m;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    if (in_len == 0 || in_len > AWS_MAX_CIPHERTEXT)
        return fail(rq, CMK_E_BAD_CIPHERTEXT, "CiphertextLength");
    if (rq->open_with != NULL &&
        !cmk_aws_is_key_arn(rq->open_with,
                            strnlen(rq->open_with, CMK_AWS_KEY_ARN_MAX + 1)))
        return fail(rq, CMK_E_BAD_BLOB, "SealedByInvalid");
    m.to.ct = out;
    m.to.arn = rq->sealed_by;
    m.to.arn_size = sizeof(rq->sealed_by);
    m.from = rq->open_with;
    return cmk_aws_run(st, rq, "ReEncrypt", &body,
                       cmk_aws_body_reencrypt(&body, rq->open_with, st->key_ref,
                                              rq, in, in_len),
                       parse_moved, &m);
}

static cmk_err aws_generate_key(void *vst, struct cmk_req *rq, size_t len,
                                struct cmk_buf *ct)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};

    if (!args_ok(st, rq, NULL, 0, ct))
        return CMK_E_ARGS;
    if (len == 0 || len > AWS_MAX_DATA_KEY)
        return fail(rq, CMK_E_TOO_LARGE, "DataKeyLength");
    return cmk_aws_run(st, rq, "GenerateDataKeyWithoutPlaintext", &body,
                       cmk_aws_body_generate(&body, st->key_ref, rq, len),
                       parse_ct, ct);
}

struct key_state {
    char s[40];
    const char *use; /* a wrong spec or usage (aws_health.c), or NULL */
};

static cmk_err parse_state(struct aws_state *st, struct cmk_http_resp *r,
                           void *out, const char **code)
{
    struct key_state *ks = out;

    (void)st;
    (void)code;
    ks->use = cmk_aws_wrong_key_use(r);
    return cmk_aws_parse_key_state(r, ks->s, sizeof(ks->s));
}

/* DescribeKey: usable only in KeyState "Enabled", and only a symmetric
 * encryption key (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT). */
static cmk_err aws_health(void *vst, struct cmk_req *rq)
{
    struct aws_state *st = vst;
    struct cmk_sb body = {0};
    struct key_state ks = {"", NULL};
    cmk_err err;

    if (st == NULL || rq == NULL)
        return CMK_E_ARGS;
    err = cmk_aws_run(st, rq, "DescribeKey", &body,
                      cmk_aws_body_describe(&body, st->key_ref), parse_state,
                      &ks);
    if (err != CMK_OK)
        return err;
    if (strcmp(ks.s, "Enabled") != 0) {
        snprintf(rq->provider_code, sizeof(rq->provider_code), "KeyState:%s",
                 ks.s);
        return CMK_E_KEY_DISABLED;
    }
    if (ks.use != NULL) { /* a key of another kind */
        snprintf(rq->provider_code, sizeof(rq->provider_code), "%s", ks.use);
        return CMK_E_ACCESS_DENIED;
    }
    return CMK_OK;
}

/* KMS documents CiphertextBlob as at most 6144 bytes (Decrypt's limit). */
static size_t aws_ct_bound(size_t in_len)
{
    (void)in_len;
    return 6144;
}

const struct cmk_provider_ops cmk_provider_aws = {
    .name = "aws",
    .id = CMK_PROV_AWS,
    .caps = CMK_CAP_REENCRYPT | CMK_CAP_HEALTH | CMK_CAP_SEALED_BY |
            CMK_CAP_REENCRYPT_MOVE | CMK_CAP_REMOTE,
    .state_size = sizeof(struct aws_state),
    .init = cmk_aws_init,
    .fini = cmk_aws_fini,
    .key_id = aws_key_id,
    .encrypt = aws_encrypt,
    .decrypt = aws_decrypt,
    .reencrypt = aws_reencrypt,
    .health = aws_health,
    .generate_key = aws_generate_key,
    .import_params = cmk_aws_import_params,
    .import_material = cmk_aws_import_material,
    .ct_bound = aws_ct_bound,
    .code_number = cmk_aws_code_number,
    .health_reason = cmk_aws_health_reason,
    .check_key_ref = cmk_aws_cfg_key_ref,
    .cfg_parse = cmk_aws_cfg_parse,
    .cfg_free = cmk_aws_cfg_free,
};
