/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: writes members of one tenant into the JSON config (provision's
 * "kek" and "kek_commitment", kek-commit's "kek_commitment", a new "key"
 * with the old one first in "previous_keys"), replacing the file
 * atomically and keeping its mode.
 */
#include <config.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool/tool.h"

/* The tenants[] member with that label, or NULL. */
static json_t *find_tenant(json_t *root, const char *label)
{
    json_t *tenants = json_object_get(root, "tenants"), *t, *l;
    size_t i;

    json_array_foreach(tenants, i, t)
    {
        l = json_object_get(t, "label");
        if (json_is_string(l) && strcmp(json_string_value(l), label) == 0)
            return t;
    }
    return NULL;
}

static int set_fields(json_t *t, const struct tool_field *f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (json_object_set_new(t, f[i].name, json_string(f[i].value)) != 0)
            return -1;
    }
    return 0;
}

/* The document as the file gets it: two-space indent, a final newline. */
static char *dump(json_t *root, size_t *len)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    char *out = NULL;
    size_t n;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    out = malloc(n + 2);
    if (out != NULL) {
        memcpy(out, text, n);
        out[n] = '\n';
        out[n + 1] = '\0';
        *len = n + 1;
    }
    free(text);
    return out;
}

/* "key" becomes new_ref and old_ref goes first in "previous_keys", only
 * if "key" still is old_ref. */
static int move_key(const char *path, json_t *t, const char *old_ref,
                    const char *new_ref)
{
    json_t *key = json_object_get(t, "key");
    json_t *prev = json_object_get(t, "previous_keys");

    if (!json_is_string(key) || strcmp(json_string_value(key), old_ref) != 0) {
        tool_err("%s: the tenant's \"key\" changed meanwhile; nothing written",
                 path);
        return -1;
    }
    if (prev == NULL) {
        prev = json_array();
        if (prev == NULL || json_object_set_new(t, "previous_keys", prev) != 0)
            return -1;
    }
    if (!json_is_array(prev) ||
        json_array_insert_new(prev, 0, json_string(old_ref)) != 0 ||
        json_object_set_new(t, "key", json_string(new_ref)) != 0) {
        tool_err("%s: cannot update \"key\" and \"previous_keys\"", path);
        return -1;
    }
    return 0;
}

/* Loads path, applies the changes to the tenant, writes it back. */
static int update(const char *path, const char *label, const char *old_ref,
                  const char *new_ref, const struct tool_field *f, size_t n)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *t;
    char *out = NULL;
    struct stat st;
    int rc = TOOL_FAIL;
    size_t len = 0;

    if (root == NULL) {
        tool_err("%s:%d: %s", path, je.line, je.text);
        return TOOL_FAIL;
    }
    t = find_tenant(root, label);
    if (t != NULL && new_ref != NULL &&
        move_key(path, t, old_ref, new_ref) != 0)
        goto out;
    if (t == NULL || set_fields(t, f, n) != 0 || stat(path, &st) != 0) {
        tool_err("%s: cannot update tenant \"%s\"", path, label);
        goto out;
    }
    out = dump(root, &len);
    if (out == NULL) {
        tool_err("out of memory");
        goto out;
    }
    if (tool_replace_file(path, out, len, st.st_mode & 07777) == 0)
        rc = TOOL_OK;
out:
    free(out);
    json_decref(root);
    return rc;
}

int tool_set_tenant_fields(const char *path, const char *label,
                           const struct tool_field *f, size_t n)
{
    return update(path, label, NULL, NULL, f, n);
}

int tool_set_tenant_key(const char *path, const char *label,
                        const char *old_ref, const char *new_ref,
                        const struct tool_field *f, size_t n)
{
    if (old_ref == NULL || new_ref == NULL)
        return TOOL_FAIL;
    return update(path, label, old_ref, new_ref, f, n);
}
