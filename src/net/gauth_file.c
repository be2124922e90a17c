/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net: a Google credential file (gauth_int.h), whatever its type: read
 * once into guarded memory from a file the module trusts as it trusts a
 * key (owner-only, not a symlink: util/trust.h), its secret members
 * (private_key, client_secret, refresh_token) lifted out into guarded
 * memory before jansson parses the rest, and its "type" checked. The
 * sources (gauth_sa.c, gauth_user.c, gauth_ext.c) read their fields from
 * the result.
 */
#include <config.h>

#include <string.h>

#include "net/creds_int.h"
#include "net/gauth_int.h"
#include "net/json.h"
#include "util/text.h"

static const char *const secret_keys[] = {"private_key", "client_secret",
                                          "refresh_token"};

static struct cmk_secret *secret_slot(struct cmk_gauth_file *f, size_t i)
{
    struct cmk_secret *slots[] = {&f->private_key, &f->client_secret,
                                  &f->refresh_token};

    return slots[i];
}

void cmk_gauth_file_free(struct cmk_gauth_file *f)
{
    size_t i;

    if (f == NULL)
        return;
    json_decref(f->root);
    for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
        cmk_secret_free(secret_slot(f, i)); /* wipes */
    memset(f, 0, sizeof(*f));
}

const char *cmk_gauth_file_str(const struct cmk_gauth_file *f, const char *key)
{
    const char *s = json_string_value(json_object_get(f->root, key));

    return s != NULL && s[0] != '\0' ? s : NULL;
}

static bool is_known_type(const char *type)
{
    return strcmp(type, "service_account") == 0 ||
           strcmp(type, "authorized_user") == 0 ||
           strcmp(type, "external_account") == 0;
}

static cmk_err take_secrets(char *text, size_t len, struct cmk_gauth_file *f)
{
    bool found;
    size_t i;
    cmk_err err = CMK_OK;

    for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
        err = cmk_json_take_secret(text, len, secret_keys[i], secret_slot(f, i),
                                   &found);
        if (err != CMK_OK)
            break;
    }
    return err;
}

cmk_err cmk_gauth_file_parse(char *text, size_t len, const char *path,
                             struct cmk_cred_status *st,
                             struct cmk_gauth_file *f)
{
    memset(f, 0, sizeof(*f));
    if (take_secrets(text, len, f) != CMK_OK ||
        (f->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) ==
            NULL ||
        !json_is_object(f->root)) {
        cmk_gauth_file_free(f);
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: not a JSON credential file", path);
    }
    f->type = json_string_value(json_object_get(f->root, "type"));
    if (f->type == NULL) {
        cmk_gauth_file_free(f);
        return cmk_creds_refuse_why(st, CMK_E_CONFIG, "GcpCredentialFile",
                                    "%s: no \"type\"", path);
    }
    if (!is_known_type(f->type)) {
        /* The type is the file's text: print only what a type name
         * holds, so a control character cannot reach the log. */
        char shown[41];

        cmk_code_copy(f->type, strlen(f->type), shown, sizeof(shown));
        cmk_gauth_file_free(f);
        return cmk_creds_refuse_why(
            st, CMK_E_CONFIG, "UnsupportedCredentialType",
            "%s: credentials of type \"%s\" are not supported "
            "(service_account, authorized_user, external_account)",
            path, shown);
    }
    return CMK_OK;
}

cmk_err cmk_gauth_file_read(const char *path, bool optional,
                            struct cmk_cred_status *st,
                            struct cmk_gauth_file *f)
{
    char why[300] = "";
    char *text = NULL;
    size_t len = 0;
    cmk_err err;

    memset(f, 0, sizeof(*f));
    err = cmk_creds_read_file(path, CMK_GAUTH_FILE_MAX, true, &text, &len, why,
                              sizeof(why));
    if (err == CMK_E_KEY_NOT_FOUND && optional)
        return CMK_OK; /* absent: the chain goes on */
    if (err != CMK_OK)
        return cmk_creds_refuse_why(
            st,
            err == CMK_E_KEY_NOT_FOUND || err == CMK_E_IO ? CMK_E_CONFIG : err,
            "GcpCredentialFile", "%s", why);
    err = cmk_gauth_file_parse(text, len, path, st, f);
    cmk_creds_free_file(text); /* wipes */
    return err;
}
