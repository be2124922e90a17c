/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: cmk-tool commands and the helpers they share (messages, config
 * loading, atomic file replacement). Commands return the process exit code.
 */
#ifndef CMK_TOOL_H
#define CMK_TOOL_H

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

/* Writes all of p to fd, retrying on EINTR. -1 on error (errno set). */
int tool_write_all(int fd, const uint8_t *p, size_t len);
/* fsync of the directory holding path, so a create or rename is durable. */
int tool_fsync_parent(const char *path);
/* Replaces path with data: temp file in the same directory, given mode,
 * fsync, rename, fsync of the directory. -1 on error (message printed). */
int tool_replace_file(const char *path, const char *data, size_t len,
                      mode_t mode);

/* One string member of a tenant in the config file. */
struct tool_field {
    const char *name;
    const char *value;
};
/* Sets the n members f in the tenant labelled label of the JSON config at
 * path and replaces the file atomically, keeping its mode (config_write.c).
 * TOOL_OK, or TOOL_FAIL with a message printed. */
int tool_set_tenant_fields(const char *path, const char *label,
                           const struct tool_field *f, size_t n);

#endif /* CMK_TOOL_H */
