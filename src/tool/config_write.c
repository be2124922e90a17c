/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: writes members of one tenant into the JSON config (provision's
 * "kek" and "kek_commitment", kek-commit's "kek_commitment", rotate-cmk's
 * and import-key's "key", "previous_keys" and "kek"), replacing the file
 * atomically and keeping its mode, optionally after a backup of what it
 * replaces.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/tool.h"
#include "util/fdio.h"

#define CONFIG_MAX (16u << 20) /* more is not a config file */

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

/* name, or "object.name" for a member of the tenant's object member
 * (dual_control.kek), which must exist. */
static int set_field(json_t *t, const char *name, const char *value)
{
    const char *dot = strchr(name, '.');
    char obj[64];

    if (dot == NULL)
        return json_object_set_new(t, name, json_string(value));
    if ((size_t)(dot - name) >= sizeof(obj))
        return -1;
    memcpy(obj, name, (size_t)(dot - name));
    obj[dot - name] = '\0';
    t = json_object_get(t, obj);
    if (!json_is_object(t))
        return -1;
    return json_object_set_new(t, dot + 1, json_string(value));
}

static int set_fields(json_t *t, const struct tool_field *f, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (set_field(t, f[i].name, f[i].value) != 0)
            return -1;
    }
    return 0;
}

/* An array member replaced in place (a new one goes last). */
static int set_lists(json_t *t, const struct tool_list *l, size_t n)
{
    json_t *a;
    size_t i, j;

    for (i = 0; i < n; i++) {
        a = json_array();
        if (a == NULL)
            return -1;
        for (j = 0; j < l[i].n; j++) {
            if (json_array_append_new(a, json_string(l[i].values[j])) != 0) {
                json_decref(a);
                return -1;
            }
        }
        if (json_object_set_new(t, l[i].name, a) != 0)
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

/* The whole file, as it is now, and its mode. */
static char *read_config(const char *path, size_t *len, mode_t *mode)
{
    struct stat st;
    char *text = NULL;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        tool_err("%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (size_t)st.st_size > CONFIG_MAX) {
        tool_err("%s: not a regular file of at most 16 MiB", path);
    } else if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        tool_err("out of memory");
    } else if (cmk_fd_read_exact(fd, text, (size_t)st.st_size) != CMK_OK) {
        tool_err("%s: cannot be read", path);
        free(text);
        text = NULL;
    } else {
        text[st.st_size] = '\0';
        *len = (size_t)st.st_size;
        *mode = st.st_mode & 07777;
    }
    close(fd);
    return text;
}

/* The new document, with the tenant's members changed. */
static char *rewrite(const char *path, const char *text, size_t len,
                     const struct tool_update *u, size_t *out_len)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je), *t;
    char *out = NULL;

    if (root == NULL) {
        tool_err("%s:%d: %s", path, je.line, je.text);
        return NULL;
    }
    t = find_tenant(root, u->label);
    if (t == NULL || set_fields(t, u->fields, u->n_fields) != 0 ||
        set_lists(t, u->lists, u->n_lists) != 0 ||
        (u->edit != NULL && u->edit(t, u->edit_arg) != 0))
        tool_err("%s: cannot update tenant \"%s\"", path, u->label);
    else if ((out = dump(root, out_len)) == NULL)
        tool_err("out of memory");
    json_decref(root);
    return out;
}

int tool_update_tenant(const char *path, const struct tool_update *u)
{
    char *text = NULL, *out = NULL;
    size_t len = 0, out_len = 0;
    mode_t mode = 0;
    int rc = TOOL_FAIL;

    text = read_config(path, &len, &mode);
    if (text != NULL)
        out = rewrite(path, text, len, u, &out_len);
    if (out == NULL)
        goto out;
    if (u->backup != NULL &&
        tool_backup_file(path, text, len, mode, u->backup, u->backup_len) != 0)
        goto out;
    if (tool_replace_file(path, out, out_len, mode) == 0)
        rc = TOOL_OK;
out:
    free(out);
    free(text);
    return rc;
}

int tool_set_tenant_fields(const char *path, const char *label,
                           const struct tool_field *f, size_t n)
{
    struct tool_update u;

    memset(&u, 0, sizeof(u));
    u.label = label;
    u.fields = f;
    u.n_fields = n;
    return tool_update_tenant(path, &u);
}

int tool_edit_tenant(const char *path, const char *label, tool_tenant_edit edit,
                     void *arg)
{
    struct tool_update u;

    memset(&u, 0, sizeof(u));
    u.label = label;
    u.edit = edit;
    u.edit_arg = arg;
    return tool_update_tenant(path, &u);
}
