/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the Vault logins (vauth.h sources 4-6), tried in order when
 * configured: AppRole ({role_id, secret_id}, both from owner-only files),
 * Kubernetes ({role, jwt}, the service account token from jwt_file, which
 * may be a symlink as Kubernetes mounts it), cert ({name?} with the TLS
 * client certificate). Each posts to /v1/auth/<mount>/login; the body,
 * which holds the secret, lives in a wiped buffer. The answer's token
 * goes through cmk_vauth_parse_auth.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "net/json.h"
#include "net/vauth_int.h"

/* A file's text (trimmed of final white space) into guarded memory. */
static cmk_err read_text(const char *path, bool private_only, const char *what,
                         struct cmk_cred_status *st, char **text)
{
    char why[256] = "";
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(path, CMK_VAUTH_FILE_MAX, private_only, text,
                              &len, why, sizeof(why));
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "LoginFileUnusable",
                                    "%s %s", what, why[0] != '\0' ? why : path);
    while (len > 0 && ((*text)[len - 1] == '\n' || (*text)[len - 1] == '\r' ||
                       (*text)[len - 1] == ' '))
        (*text)[--len] = '\0';
    if (len == 0) {
        cmk_creds_free_file(*text);
        *text = NULL;
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "LoginFileUnusable",
                                    "%s %s: empty", what, path);
    }
    return CMK_OK;
}

/* POST auth/<mount>/login with body; the token out of the answer. */
static cmk_err login(const struct cmk_vauth *va, const char *mount,
                     struct cmk_sb *body, const struct cmk_http_client_cert *cc,
                     const char *source, struct cmk_cred_status *st,
                     struct cmk_creds **out, bool *renewable)
{
    struct cmk_http_resp resp;
    struct cmk_sb path = {0};
    char code[sizeof(st->code)];
    cmk_err err;

    cmk_sb_printf(&path, "auth/%s/login", mount);
    err = cmk_sb_status(&path);
    if (err == CMK_OK)
        err = cmk_sb_status(body);
    if (err == CMK_OK)
        err = cmk_vauth_post(va, path.p, body, NULL, cc, st, &resp);
    if (err == CMK_E_ACCESS_DENIED) { /* said once, for the operator */
        memcpy(code, st->code, sizeof(code));
        err = cmk_creds_refuse_why(st, err, code,
                                   "%s login at %s refused (HTTP %ld)", source,
                                   path.p, st->http_status);
    }
    if (err == CMK_OK) {
        err = cmk_vauth_parse_auth(&resp, source, cmk_creds_now(&va->cache.env),
                                   out, renewable);
        if (err != CMK_OK)
            err = cmk_creds_refuse(st, err, "LoginAnswerMalformed");
    }
    cmk_http_resp_free(&resp); /* wipes */
    cmk_sb_free(&path);
    return err;
}

static cmk_err approle(const struct cmk_vauth *va, struct cmk_cred_status *st,
                       struct cmk_creds **out, bool *renewable)
{
    const struct cmk_vauth_cfg *c = va->env.cfg;
    char *role = NULL, *secret = NULL;
    struct cmk_sb body = {0};
    cmk_err err;

    err = read_text(c->approle_role_id_file, true, "approle.role_id_file", st,
                    &role);
    if (err == CMK_OK && c->approle_secret_id_file != NULL)
        err = read_text(c->approle_secret_id_file, true,
                        "approle.secret_id_file", st, &secret);
    if (err == CMK_OK) {
        cmk_sb_puts(&body, "{\"role_id\":");
        cmk_json_put_str(&body, role);
        if (secret != NULL) {
            cmk_sb_puts(&body, ",\"secret_id\":");
            cmk_json_put_str(&body, secret);
        }
        cmk_sb_putc(&body, '}');
        err = login(va, c->approle_mount != NULL ? c->approle_mount : "approle",
                    &body, NULL, "approle", st, out, renewable);
    }
    cmk_sb_free(&body); /* wipes the secret id */
    cmk_creds_free_file(role);
    cmk_creds_free_file(secret);
    return err;
}

static cmk_err kubernetes(const struct cmk_vauth *va,
                          struct cmk_cred_status *st, struct cmk_creds **out,
                          bool *renewable)
{
    const struct cmk_vauth_cfg *c = va->env.cfg;
    char *jwt = NULL;
    struct cmk_sb body = {0};
    cmk_err err;

    err =
        read_text(c->k8s_jwt_file != NULL ? c->k8s_jwt_file : CMK_VAUTH_K8S_JWT,
                  false, "kubernetes.jwt_file", st, &jwt);
    if (err == CMK_OK) {
        cmk_sb_puts(&body, "{\"role\":");
        cmk_json_put_str(&body, c->k8s_role);
        cmk_sb_puts(&body, ",\"jwt\":");
        cmk_json_put_str(&body, jwt);
        cmk_sb_putc(&body, '}');
        err = login(va, c->k8s_mount != NULL ? c->k8s_mount : "kubernetes",
                    &body, NULL, "kubernetes", st, out, renewable);
    }
    cmk_sb_free(&body); /* wipes the JWT */
    cmk_creds_free_file(jwt);
    return err;
}

static cmk_err cert(const struct cmk_vauth *va, struct cmk_cred_status *st,
                    struct cmk_creds **out, bool *renewable)
{
    const struct cmk_vauth_cfg *c = va->env.cfg;
    struct cmk_http_client_cert cc = {c->cert_file, c->cert_key_file};
    struct cmk_sb body = {0};
    cmk_err err;

    cmk_sb_putc(&body, '{');
    if (c->cert_name != NULL) {
        cmk_sb_puts(&body, "\"name\":");
        cmk_json_put_str(&body, c->cert_name);
    }
    cmk_sb_putc(&body, '}');
    err = login(va, c->cert_mount != NULL ? c->cert_mount : "cert", &body, &cc,
                "cert", st, out, renewable);
    cmk_sb_free(&body);
    return err;
}

cmk_err cmk_vauth_login(const struct cmk_vauth *va, struct cmk_cred_status *st,
                        struct cmk_creds **out, bool *renewable)
{
    const struct cmk_vauth_cfg *c = va->env.cfg;

    *out = NULL;
    *renewable = false;
    if (c == NULL)
        return CMK_OK;
    if (c->approle_role_id_file != NULL)
        return approle(va, st, out, renewable);
    if (c->k8s_role != NULL)
        return kubernetes(va, st, out, renewable);
    if (c->cert_file != NULL && c->cert_key_file != NULL)
        return cert(va, st, out, renewable);
    return CMK_OK;
}
