/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: the subject token of an external_account (gauth_ext.c), read on
 * every refresh since it rotates: from a file (trusted as the AWS web
 * identity token file: owned by the user or root, not writable by
 * others, a symlink followed, as Kubernetes mounts tokens through
 * "..data" links) or from a URL (GET with the file's headers), then taken
 * as text or as a member of a JSON object. The token lives in guarded
 * memory and wiped request and answer buffers only.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"
#include "net/json.h"

#define SRC_TIMEOUT_MS 5000u
#define SRC_ATTEMPTS 3u
#define SRC_HEADERS_MAX 16u

cmk_err cmk_gauth_ext_token(const struct cmk_gauth_ext *x, char *text,
                            size_t len, struct cmk_secret *tok)
{
    bool found = false;
    cmk_err err;

    memset(tok, 0, sizeof(*tok));
    if (x->field != NULL) {
        err = cmk_json_take_secret(text, len, x->field, tok, &found);
        if (err == CMK_OK && (!found || tok->len == 0 ||
                              strlen((const char *)tok->p) != tok->len))
            err = CMK_E_BAD_RESPONSE;
        if (err != CMK_OK)
            cmk_secret_free(tok);
        return err;
    }
    while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
        len--;
    if (len == 0 || memchr(text, '\0', len) != NULL)
        return CMK_E_BAD_RESPONSE;
    if (cmk_secret_alloc(tok, len + 1) != CMK_OK)
        return CMK_E_NOMEM;
    memcpy(tok->p, text, len);
    tok->p[len] = '\0';
    tok->len = len;
    return CMK_OK;
}

static cmk_err malformed(const struct cmk_gauth_ext *x, const char *path,
                         struct cmk_cred_status *st)
{
    if (x->field != NULL)
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "SubjectTokenMalformed",
            "%s: the subject token from %s has no string member \"%s\"", path,
            x->kind == CMK_GAUTH_SRC_FILE ? x->file : x->url, x->field);
    return cmk_creds_refuse_why(st, CMK_E_CONFIG, "SubjectTokenEmpty",
                                "%s: the subject token from %s is empty", path,
                                x->kind == CMK_GAUTH_SRC_FILE ? x->file
                                                              : x->url);
}

static cmk_err from_file(const struct cmk_gauth_ext *x, const char *path,
                         struct cmk_cred_status *st, struct cmk_secret *tok)
{
    char why[400] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    err = cmk_creds_read_file(x->file, CMK_GAUTH_SUBJECT_MAX, false, &text,
                              &len, why, sizeof(why));
    if (err == CMK_E_NOMEM)
        return cmk_creds_refuse(st, err, "SubjectTokenUnreadable");
    if (err != CMK_OK)
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "SubjectTokenUnreadable",
                                    "%s: credential_source.file %s", path, why);
    err = cmk_gauth_ext_token(x, text, len, tok);
    cmk_creds_free_file(text); /* wipes */
    if (err == CMK_E_BAD_RESPONSE)
        return malformed(x, path, st);
    return err;
}

static void headers_free(char **lines, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        cmk_str_free(lines[i]);
}

/* "Name: value" lines of credential_source.headers (checked by
 * gauth_ext.c); *n of them. */
static cmk_err headers(const struct cmk_gauth_ext *x, char **lines, size_t *n)
{
    struct cmk_sb sb = {0};
    const char *name;
    json_t *v;
    cmk_err err = CMK_OK;

    *n = 0;
    json_object_foreach(x->headers, name, v)
    {
        if (*n == SRC_HEADERS_MAX)
            return CMK_E_CONFIG;
        cmk_sb_printf(&sb, "%s: %s", name, json_string_value(v));
        err = cmk_sb_take(&sb, &lines[*n]);
        cmk_sb_free(&sb);
        if (err != CMK_OK)
            return err;
        (*n)++;
    }
    return err;
}

static cmk_err url_answer(const struct cmk_gauth_ext *x, const char *path,
                          struct cmk_http_resp *resp,
                          struct cmk_cred_status *st, struct cmk_secret *tok)
{
    cmk_err err;

    st->http_status = resp->status;
    if (resp->status != 200)
        return cmk_creds_refuse_why(st, CMK_E_ACCESS_DENIED,
                                    "SubjectTokenRefused",
                                    "%s: credential_source.url %s answered "
                                    "HTTP %ld",
                                    path, x->url, resp->status);
    if (resp->body.p == NULL)
        return malformed(x, path, st);
    err = cmk_gauth_ext_token(x, (char *)resp->body.p, resp->body.len, tok);
    return err == CMK_E_BAD_RESPONSE ? malformed(x, path, st) : err;
}

static cmk_err from_url(const struct cmk_cred_env *env,
                        const struct cmk_gauth_ext *x, const char *path,
                        struct cmk_cred_status *st, struct cmk_secret *tok)
{
    char *lines[SRC_HEADERS_MAX];
    size_t n = 0;
    struct cmk_http_req rq = {
        "GET",          x->url, NULL, 0, NULL, 0, CMK_URL_METADATA_HTTP,
        SRC_TIMEOUT_MS, 0};
    struct cmk_http_resp resp;
    cmk_err err;

    err = headers(x, lines, &n);
    if (err == CMK_E_CONFIG)
        err = cmk_creds_refuse_why(st, err, "GcpCredentialFile",
                                   "%s: credential_source.headers: more than "
                                   "16",
                                   path);
    rq.headers = (const char *const *)lines;
    rq.n_headers = n;
    if (err == CMK_OK)
        err = cmk_creds_fetch(env, &rq, SRC_ATTEMPTS, st, &resp);
    if (err == CMK_OK) {
        err = url_answer(x, path, &resp, st, tok);
        cmk_http_resp_free(&resp); /* wipes */
    }
    headers_free(lines, n);
    return err;
}

cmk_err cmk_gauth_ext_subject(const struct cmk_cred_env *env,
                              const struct cmk_gauth_ext *x, const char *path,
                              struct cmk_cred_status *st,
                              struct cmk_secret *tok)
{
    if (x->kind == CMK_GAUTH_SRC_FILE)
        return from_file(x, path, st, tok);
    return from_url(env, x, path, st, tok);
}
