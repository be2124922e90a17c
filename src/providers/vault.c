/* SPDX-License-Identifier: Apache-2.0 */
/*
 * providers: "vault", HashiCorp Vault / OpenBao transit keys over REST
 * (kms-protocols.md 4), tokens from net/vauth.h, the shared retry policy
 * (vault_call.c).
 *
 * The key reference is the transit key's name; the mount is vault.mount
 * ("transit" by default); key_id is "vault:" + mount + "/" + name. The
 * server is vault.address, else VAULT_ADDR (https, or http to this
 * machine); the namespace vault.namespace, else VAULT_NAMESPACE (sent as
 * X-Vault-Namespace); the CA the global http.ca_file, else vault.ca_file,
 * else VAULT_CACERT, else the system store. Init makes no network call.
 *
 * Encrypt posts the plaintext to <mount>/encrypt/<name>; the payload is
 * transit's ciphertext string "vault:v<N>:<base64>" as Vault returned it,
 * and sealed_by is key_id + ":v<N>": the version that sealed. The
 * tenant's context (cmk_context_encode bytes, "canonical" below) is bound
 * by the key (its GET answer, cached for key_info_ttl, vault_info.c):
 *   - a derived key: "context" = base64(canonical); transit derives a
 *     key per context, so another tenant's blob fails to authenticate.
 *     Nothing else is sent, so rewrap (which takes a context but no
 *     associated data) keeps the binding;
 *   - a key that is not derived, of an AEAD type (aes128-gcm96,
 *     aes256-gcm96, chacha20-poly1305): "associated_data" =
 *     base64(canonical). A server that does not take it (a 400 naming
 *     associated_data, or a warning that it ignored the parameter) is
 *     remembered and refused;
 *   - anything else (an RSA key, a server without associated data) binds
 *     no context: CMK_E_CONFIG "ContextNotBindable" at encrypt, decrypt
 *     and health, since such a key would let one tenant open another's
 *     blob.
 * Decrypt posts the payload with the same context to <mount>/decrypt;
 * the version it names must be the one the envelope's sealed-by names
 * (else CMK_E_BAD_BLOB "SealedByMismatch"; another key's:
 * CMK_E_KEY_NOT_FOUND "SealedByOtherKey"). Raising the key's
 * min_decryption_version is the revocation lever: Vault refuses older
 * versions ("disallowed by policy (too old)"), CMK_E_KEY_DISABLED
 * "VersionDisallowed", and the cached key info is purged.
 * Reencrypt (rotation) moves a payload to the latest version inside
 * Vault with <mount>/rewrap when the key is derived; an associated-data
 * key decrypts and encrypts (transit's rewrap takes no associated data).
 * The state changes after init only under its lock.
 */
#include <config.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/backends.h"
#include "providers/vault_int.h"
#include "util/log.h"

/* ---- init ---- */

static const char *env_of(const struct vault_state *st, const char *name)
{
    const char *v = st->getenv != NULL ? st->getenv(name) : secure_getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

void cmk_vault_fini(void *vst)
{
    struct vault_state *st = vst;

    cmk_vauth_free(st->auth);
    cmk_http_free(st->http);
    if (st->lock_ready)
        cmk_mutex_fini(&st->lock);
    free(st->ns);
    free(st->ca_file);
    sodium_memzero(st, sizeof(*st));
}

/* vault.address, else VAULT_ADDR, without a final '/'. */
static cmk_err pick_address(struct vault_state *st)
{
    const char *a =
        st->cfg->address != NULL ? st->cfg->address : env_of(st, "VAULT_ADDR");
    const char *why = NULL;
    size_t n;

    if (a == NULL) {
        cmk_log_once("vault: no server: set vault.address or VAULT_ADDR");
        return CMK_E_CONFIG;
    }
    n = strlen(a);
    while (n > 0 && a[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(st->address))
        return CMK_E_CONFIG;
    memcpy(st->address, a, n);
    st->address[n] = '\0';
    if (cmk_url_check(st->address, CMK_URL_HTTPS_ONLY, &why) != CMK_OK) {
        cmk_log_once("vault: VAULT_ADDR refused: %s", why != NULL ? why : "");
        return CMK_E_CONFIG;
    }
    return CMK_OK;
}

/* vault.namespace, else VAULT_NAMESPACE (trimmed of '/'). */
static cmk_err pick_namespace(struct vault_state *st)
{
    const char *ns =
        st->cfg->ns != NULL ? st->cfg->ns : env_of(st, "VAULT_NAMESPACE");
    size_t n;

    if (ns == NULL)
        return CMK_OK;
    while (*ns == '/')
        ns++;
    st->ns = cmk_strdup(ns);
    if (st->ns == NULL)
        return CMK_E_NOMEM;
    n = strlen(st->ns);
    while (n > 0 && st->ns[n - 1] == '/')
        st->ns[--n] = '\0';
    if (n == 0) {
        free(st->ns);
        st->ns = NULL;
        return CMK_OK;
    }
    return cmk_vault_mount_ok(st->ns) ? CMK_OK : CMK_E_CONFIG;
}

/* The global http.ca_file, else vault.ca_file, else VAULT_CACERT. */
static cmk_err pick_ca(struct vault_state *st, const struct cmk_kms_cfg *cfg)
{
    const char *ca;

    if (cfg->http != NULL)
        st->http_cfg = *cfg->http;
    else
        cmk_http_cfg_init(&st->http_cfg);
    ca = st->http_cfg.ca_file;
    if (ca == NULL)
        ca = st->cfg->ca_file != NULL ? st->cfg->ca_file
                                      : env_of(st, "VAULT_CACERT");
    if (ca != NULL && (st->ca_file = cmk_strdup(ca)) == NULL)
        return CMK_E_NOMEM;
    st->http_cfg.ca_file = st->ca_file;
    return CMK_OK;
}

static cmk_err make_clients(struct vault_state *st)
{
    struct cmk_vauth_env env;
    cmk_err err = cmk_http_new(&st->http_cfg, &st->http);

    if (err != CMK_OK)
        return err;
    memset(&env, 0, sizeof(env));
    env.http = st->http;
    env.address = st->address;
    env.ns = st->ns;
    env.cfg = &st->cfg->auth;
    env.getenv = st->getenv;
    env.now = st->now_unix;
    return cmk_vauth_new(&env, &st->auth);
}

cmk_err cmk_vault_init(void *vst, const struct cmk_kms_cfg *cfg,
                       const char *key_ref)
{
    struct vault_state *st = vst;
    cmk_err err;

    if (st == NULL || cfg == NULL)
        return CMK_E_ARGS;
    if (!cmk_vault_name_ok(key_ref))
        return CMK_E_CONFIG;
    st->dflt.ttl = VAULT_TTL_DEFAULT;
    st->cfg = cfg->provider_cfg != NULL ? cfg->provider_cfg : &st->dflt;
    snprintf(st->name, sizeof(st->name), "%s", key_ref);
    snprintf(st->mount, sizeof(st->mount), "%s",
             st->cfg->mount != NULL ? st->cfg->mount : "transit");
    snprintf(st->key_id, sizeof(st->key_id), VAULT_KEY_ID_PREFIX "%s/%s",
             st->mount, st->name);
    if (cmk_mutex_init(&st->lock) != CKR_OK)
        return CMK_E_NOMEM;
    st->lock_ready = true;
    err = pick_address(st);
    if (err == CMK_OK)
        err = pick_namespace(st);
    if (err == CMK_OK)
        err = pick_ca(st, cfg);
    if (err == CMK_OK)
        err = make_clients(st);
    if (err != CMK_OK)
        cmk_vault_fini(st);
    return err;
}

static cmk_err vault_key_id(void *vst, char id[256])
{
    struct vault_state *st = vst;

    memcpy(id, st->key_id, sizeof(st->key_id));
    return CMK_OK;
}

/* ---- encrypt, rewrap ---- */

struct ct_out {
    bool aad_sent;
    struct cmk_buf ct;
    unsigned long version;
};

static cmk_err parse_ct(struct cmk_http_resp *r, void *out, const char **code)
{
    struct ct_out *o = out;
    const char *body = (const char *)r->body.p;

    if (o->aad_sent && cmk_vault_warns_aad(body, r->body.len)) {
        *code = "AssociatedDataIgnored";
        return CMK_E_CONFIG;
    }
    return cmk_vault_parse_ct(body, r->body.len, &o->ct, &o->version);
}

static cmk_err post_ct(struct vault_state *st, struct cmk_req *rq,
                       enum vault_op op, const struct cmk_sb *body,
                       const struct vault_bind *b, struct cmk_buf *out)
{
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 16];
    struct ct_out o = {.aad_sent = b->aad};
    struct vault_call_req cr = {"POST", path, op, body, parse_ct, &o, false};
    cmk_err err;

    snprintf(path, sizeof(path), "%s/%s/%s", st->mount,
             op == VAULT_OP_ENCRYPT ? "encrypt" : "rewrap", st->name);
    err = cmk_vault_call(st, rq, &cr);
    if (err == CMK_E_CONFIG &&
        strcmp(rq->provider_code, "AssociatedDataIgnored") == 0) {
        cmk_buf_free(&o.ct);
        return cmk_vault_aad_refused(st, rq);
    }
    err = cmk_vault_after(st, rq, err, b);
    if (err == CMK_OK &&
        snprintf(rq->sealed_by, sizeof(rq->sealed_by), "%s:v%lu", st->key_id,
                 o.version) >= (int)sizeof(rq->sealed_by))
        err = cmk_vault_fail(rq, CMK_E_CONFIG, "KeyIdTooLong"); /* the limits
                                                                 * keep it in */
    if (err == CMK_OK)
        *out = o.ct; /* the caller owns it */
    else
        cmk_buf_free(&o.ct);
    return err;
}

static bool args_ok(void *st, struct cmk_req *rq, const uint8_t *in,
                    size_t in_len, const void *out)
{
    return st != NULL && rq != NULL && out != NULL &&
           (in != NULL || in_len == 0) && (rq->ctx != NULL || rq->n_ctx == 0);
}

static cmk_err vault_encrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_buf *out)
{
    struct vault_state *st = vst;
    struct cmk_buf ctx = {0};
    struct cmk_sb body = {0};
    struct vault_bind b;
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out) || in_len == 0)
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    if (in_len > VAULT_MAX_PT)
        return cmk_vault_fail(rq, CMK_E_TOO_LARGE, "TooLarge");
    err = cmk_vault_bound_context(st, rq, &ctx, &b);
    if (err == CMK_OK)
        err = cmk_vault_body(&body, true, in, in_len, &ctx, b.context, b.aad);
    if (err == CMK_OK)
        err = post_ct(st, rq, VAULT_OP_ENCRYPT, &body, &b, out);
    cmk_sb_free(&body); /* wipes: it held the plaintext */
    cmk_buf_free(&ctx);
    return err;
}

/* ---- decrypt ---- */

static cmk_err parse_pt(struct cmk_http_resp *r, void *out, const char **code)
{
    (void)code;
    return cmk_vault_parse_pt((char *)r->body.p, r->body.len, out);
}

static cmk_err decrypt_bound(struct vault_state *st, struct cmk_req *rq,
                             const struct vault_bind *b,
                             const struct cmk_buf *ctx, const uint8_t *in,
                             size_t in_len, struct cmk_secret *out)
{
    char path[VAULT_MOUNT_MAX + VAULT_NAME_MAX + 16];
    struct vault_call_req cr = {"POST", path, VAULT_OP_DECRYPT, NULL, parse_pt,
                                out,    false};
    struct cmk_sb body = {0};
    cmk_err err;

    snprintf(path, sizeof(path), "%s/decrypt/%s", st->mount, st->name);
    err = cmk_vault_body(&body, false, in, in_len, ctx, b->context, b->aad);
    cr.body = &body;
    if (err == CMK_OK)
        err = cmk_vault_after(st, rq, cmk_vault_call(st, rq, &cr), b);
    cmk_sb_free(&body);
    return err;
}

static cmk_err vault_decrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                             size_t in_len, struct cmk_secret *out)
{
    struct vault_state *st = vst;
    struct cmk_buf ctx = {0};
    struct vault_bind b;
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    err = cmk_vault_check_blob(st, rq, in, in_len);
    if (err == CMK_OK)
        err = cmk_vault_bound_context(st, rq, &ctx, &b);
    if (err == CMK_OK)
        err = decrypt_bound(st, rq, &b, &ctx, in, in_len, out);
    cmk_buf_free(&ctx);
    return err;
}

/* ---- reencrypt ---- */

/* An associated-data key: decrypt, then encrypt to the latest version. */
static cmk_err reseal(struct vault_state *st, struct cmk_req *rq,
                      const struct vault_bind *b, const struct cmk_buf *ctx,
                      const uint8_t *in, size_t in_len, struct cmk_buf *out)
{
    struct cmk_secret pt = {0};
    struct cmk_sb body = {0};
    cmk_err err;

    err = decrypt_bound(st, rq, b, ctx, in, in_len, &pt);
    if (err == CMK_OK)
        err =
            cmk_vault_body(&body, true, pt.p, pt.len, ctx, b->context, b->aad);
    cmk_secret_free(&pt);
    if (err == CMK_OK)
        err = post_ct(st, rq, VAULT_OP_ENCRYPT, &body, b, out);
    cmk_sb_free(&body); /* wipes: it held the plaintext */
    return err;
}

static cmk_err vault_reencrypt(void *vst, struct cmk_req *rq, const uint8_t *in,
                               size_t in_len, struct cmk_buf *out)
{
    struct vault_state *st = vst;
    struct cmk_buf ctx = {0};
    struct cmk_sb body = {0};
    struct vault_bind b;
    cmk_err err;

    if (!args_ok(st, rq, in, in_len, out))
        return CMK_E_ARGS;
    rq->sealed_by[0] = '\0';
    err = cmk_vault_check_blob(st, rq, in, in_len);
    if (err == CMK_OK)
        err = cmk_vault_bound_context(st, rq, &ctx, &b);
    if (err == CMK_OK && b.aad)
        err = reseal(st, rq, &b, &ctx, in, in_len, out);
    else if (err == CMK_OK) {
        err = cmk_vault_body(&body, false, in, in_len, &ctx, b.context, false);
        if (err == CMK_OK)
            err = post_ct(st, rq, VAULT_OP_REWRAP, &body, &b, out);
    }
    cmk_sb_free(&body);
    cmk_buf_free(&ctx);
    return err;
}

/* "vault:v" + 10 digits + ":" + base64 of nonce (12) | ct | tag (16), or
 * of an RSA-4096 ciphertext (512). */
static size_t vault_ct_bound(size_t in_len)
{
    size_t raw = in_len + 28 > 512 ? in_len + 28 : 512;

    return 4 * ((raw + 2) / 3) + 24;
}

const struct cmk_provider_ops cmk_provider_vault = {
    .name = "vault",
    .id = CMK_PROV_VAULT,
    .caps =
        CMK_CAP_HEALTH | CMK_CAP_SEALED_BY | CMK_CAP_REENCRYPT | CMK_CAP_REMOTE,
    .state_size = sizeof(struct vault_state),
    .init = cmk_vault_init,
    .fini = cmk_vault_fini,
    .key_id = vault_key_id,
    .encrypt = vault_encrypt,
    .decrypt = vault_decrypt,
    .reencrypt = vault_reencrypt,
    .health = cmk_vault_health,
    .reencrypt_batch = cmk_vault_reencrypt_batch,
    .batch_max = VAULT_BATCH_MAX,
    .is_latest = cmk_vault_is_latest,
    .generate_key = NULL,
    .ct_bound = vault_ct_bound,
    .code_number = cmk_vault_code_number,
    .health_reason = cmk_vault_health_reason,
    .check_key_ref = cmk_vault_cfg_key_ref,
    .cfg_parse = cmk_vault_cfg_parse,
    .cfg_free = cmk_vault_cfg_free,
};
