/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool commands and the helpers they share (messages, config
 * loading, atomic file replacement). Commands return the process exit code.
 */
#ifndef CMK_TOOL_H
#define CMK_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/settings.h"

/* Exit codes of every command. */
#define TOOL_OK 0
#define TOOL_FAIL 1  /* the operation failed */
#define TOOL_USAGE 2 /* bad arguments or configuration */

/* Each command gets argv[0] = its own name. */
int cmd_local_key(int argc, char **argv);
int cmd_pin_hash(int argc, char **argv);
int cmd_pin_reset(int argc, char **argv);
int cmd_provision(int argc, char **argv);
int cmd_kek_commit(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_rotate_cmk(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_rekey(int argc, char **argv);
int cmd_rotate_kek(int argc, char **argv);
int cmd_import_key(int argc, char **argv);
int cmd_azure_key(int argc, char **argv);
int cmd_rewrap(int argc, char **argv);

/* "cmk-tool: <message>" on stderr. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads path; on failure prints the loader's message and returns NULL. */
struct cmk_config *tool_load_config(const char *path);
/* The tenant with that label, or NULL (with a message). */
struct cmk_tenant_cfg *tool_find_tenant(struct cmk_config *cfg,
                                        const char *label);
/* Loads config, finds the tenant labelled label and returns fn(arg, cfg,
 * tenant); TOOL_USAGE (with a message) when either is missing. The
 * config is freed before returning. */
typedef int (*tool_tenant_fn)(void *arg, const struct cmk_config *cfg,
                              const struct cmk_tenant_cfg *t);
int tool_on_tenant(const char *config, const char *label, tool_tenant_fn fn,
                   void *arg);
/* While tool_on_tenant runs fn: the config that holds t; else NULL. */
const struct cmk_config *tool_tenant_config(const struct cmk_tenant_cfg *t);
/* While tool_on_tenant runs fn: whether the config file that holds t has
 * changed (replaced, edited, removed) since it was read, as a key change
 * another process finished meanwhile would; false outside
 * tool_on_tenant. */
bool tool_config_changed(const struct cmk_tenant_cfg *t);

/* Writes all of p to fd, retrying on EINTR. -1 on error (errno set). */
int tool_write_all(int fd, const uint8_t *p, size_t len);
/* fsync of the directory holding path, so a create or rename is durable. */
int tool_fsync_parent(const char *path);
/* Replaces path with data: temp file in the same directory, given mode,
 * fsync, rename, fsync of the directory. -1 on error (message printed). */
int tool_replace_file(const char *path, const char *data, size_t len,
                      mode_t mode);

/* One string member of a tenant in the config file; "object.name" sets
 * a member of the tenant's object member of that name. */
struct tool_field {
    const char *name;
    const char *value;
};
/* Sets the n members f in the tenant labelled label of the JSON config at
 * path and replaces the file atomically, keeping its mode (config_write.c).
 * TOOL_OK, or TOOL_FAIL with a message printed. */
int tool_set_tenant_fields(const char *path, const char *label,
                           const struct tool_field *f, size_t n);
/* The general form: edit(t, arg) changes the tenant's JSON object t
 * (jansson) and returns 0, or -1 to leave the file as it was. */
struct json_t;
typedef int (*tool_tenant_edit)(struct json_t *t, void *arg);
int tool_edit_tenant(const char *path, const char *label, tool_tenant_edit edit,
                     void *arg);

/* One array-of-strings member of a tenant. */
struct tool_list {
    const char *name;
    const char *const *values;
    size_t n;
};
/* What tool_update_tenant changes in the tenant labelled label: string
 * members, then array members (an existing member keeps its place, a new
 * one goes last). With backup set, the file as it was is first copied
 * beside it (tool_backup_file) and the copy's path put in backup. */
struct tool_update {
    const char *label;
    const struct tool_field *fields;
    size_t n_fields;
    const struct tool_list *lists;
    size_t n_lists;
    tool_tenant_edit edit; /* NULL: none; after fields and lists */
    void *edit_arg;
    char *backup; /* NULL: no backup */
    size_t backup_len;
};
/* Reads the config at path once, changes it as u says and replaces it
 * atomically, keeping its mode; on any failure the file is as it was.
 * TOOL_OK, or TOOL_FAIL with a message printed. */
int tool_update_tenant(const char *path, const struct tool_update *u);

/* backup.c: writes data (the content of path, of mode mode) to
 * "PATH.bak.YYYYMMDDTHHMMSSZ" (UTC; "-2", "-3" ... appended when that
 * exists: a backup is never overwritten), with mode's owner and group
 * bits only, synced with its directory. 0 with the name in name[len], or
 * -1 with a message printed and no file left. */
int tool_backup_file(const char *path, const char *data, size_t len,
                     mode_t mode, char *name, size_t name_len);

#endif /* CMK_TOOL_H */
