/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: a token's objects on disk. Every store access needs the tenant
 * KEK, which comes through the KMS, so a revoked CMK makes the store
 * unreadable once the KEK's cache TTL has passed.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "core/object.h"
#include "core/store.h"
#include "core/token.h"
#include "util/log.h"

struct known {
    char (*names)[CMK_STORE_NAME_LEN + 1];
    bool *seen;
    size_t n;
    size_t cap;
};

struct sync_ctx {
    struct cmk_token *t;
    struct known k;
    bool logged_in;
};

static void note_known(void *arg, struct cmk_object *o)
{
    struct known *k = arg;

    if (!o->is_token || o->is_cmk || o->store_name[0] == '\0')
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 32;
        void *names = realloc(k->names, cap * sizeof(*k->names));
        void *seen;

        if (names == NULL)
            return;
        k->names = names;
        seen = realloc(k->seen, cap * sizeof(*k->seen));
        if (seen == NULL)
            return;
        k->seen = seen;
        k->cap = cap;
    }
    memcpy(k->names[k->n], o->store_name, sizeof(k->names[0]));
    k->seen[k->n++] = false;
}

static bool mark_seen(struct known *k, const char *name)
{
    size_t i;

    for (i = 0; i < k->n; i++) {
        if (strcmp(k->names[i], name) == 0) {
            k->seen[i] = true;
            return true;
        }
    }
    return false;
}

static void on_file(void *arg, const char *name, struct cmk_attrs *attrs)
{
    struct sync_ctx *c = arg;
    bool priv = cmk_attrs_bool(attrs, CKA_PRIVATE, true);

    if (mark_seen(&c->k, name) || (priv && !c->logged_in) ||
        !cmk_attrs_bool(attrs, CKA_TOKEN, false)) {
        cmk_attrs_clear(attrs);
        return;
    }
    if (cmk_object_add(c->t, 0, name, attrs, NULL) != CKR_OK)
        cmk_attrs_clear(attrs);
}

static cmk_err load_with_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct sync_ctx *c = arg;

    return cmk_store_load_all(c->t->cfg->store_dir, c->t->cfg->label, kek,
                              kek_len, on_file, c);
}

static bool vanished(void *arg, struct cmk_object *o)
{
    struct known *k = arg;
    size_t i;

    if (!o->is_token || o->is_cmk)
        return false;
    for (i = 0; i < k->n; i++) {
        if (!k->seen[i] && strcmp(k->names[i], o->store_name) == 0)
            return true;
    }
    return false;
}

static bool has_kek(const struct cmk_token *t)
{
    return t->cfg->kek_blob_len != 0;
}

CK_RV cmk_token_sync_store(struct cmk_token *t)
{
    struct sync_ctx c = {.t = t};
    cmk_err err;

    if (!has_kek(t))
        return CKR_OK; /* no KEK: no token objects */
    c.logged_in = cmk_token_is_logged_in(t);
    cmk_object_each(t, note_known, &c.k);
    err = cmk_cmk_with_kek(t->cmk, load_with_kek, &c);
    if (err == CMK_OK) /* objects whose files another process removed */
        cmk_object_remove_if(t, vanished, &c.k);
    free(c.k.names);
    free(c.k.seen);
    if (err != CMK_OK) {
        cmk_log_debug("tenant %s: object store not loaded: %s",
                      t->cfg->label, cmk_err_name(err));
        return cmk_err_rv(err);
    }
    return CKR_OK;
}

struct save_ctx {
    struct cmk_token *t;
    const char *name;
    const struct cmk_attrs *attrs;
};

static cmk_err save_with_kek(void *arg, const uint8_t *kek, size_t kek_len)
{
    struct save_ctx *c = arg;

    return cmk_store_write(c->t->cfg->store_dir, c->t->cfg->label, kek,
                           kek_len, c->name, c->attrs);
}

/* Seals attrs into the file `name` (a new random name when name is
 * empty, written back). */
CK_RV cmk_token_save_attrs(struct cmk_token *t, char *name,
                           const struct cmk_attrs *attrs)
{
    struct save_ctx c = {t, name, attrs};
    cmk_err err;

    if (!has_kek(t)) {
        cmk_log_error("tenant %s has no KEK: token objects need one "
                      "(cmk-tool provision)", t->cfg->label);
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if (name[0] == '\0')
        cmk_store_new_name(name);
    err = cmk_cmk_with_kek(t->cmk, save_with_kek, &c);
    return err == CMK_OK ? CKR_OK : cmk_err_rv(err);
}

CK_RV cmk_token_save_object(struct cmk_token *t, struct cmk_object *o)
{
    return cmk_token_save_attrs(t, o->store_name, &o->attrs);
}

CK_RV cmk_token_delete_object(struct cmk_token *t, struct cmk_object *o)
{
    cmk_err err = cmk_store_remove(t->cfg->store_dir, o->store_name);

    return err == CMK_OK ? CKR_OK : cmk_err_rv(err);
}
