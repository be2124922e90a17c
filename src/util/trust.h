/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: checks on the files and directories the module trusts (config,
 * PIN verifier, key and credential files, store and audit directories).
 * DESIGN.md, "Security rules": each is owned by the process's user or root,
 * not writable by group or others, and not reached through a symlink.
 *
 * Every directory above a trusted file or directory, as written and as
 * resolved by realpath(3), must be owned by the process's user or root and
 * must not be writable by group or others unless it has the sticky bit
 * (as /tmp): otherwise another user could rename the file away and put
 * their own in its place. Symlinks among those directories are accepted
 * (/var/run -> /run) since the directories holding them are checked too.
 *
 * Errors are one line "PATH: problem" naming the file or directory at
 * fault, written into why (always NUL-terminated when why_len > 0):
 *   "/etc/cmk/config.json: owned by uid 1001, must be owned by root"
 *   "/etc/cmk/config.json: writable by group or others (mode 0666)"
 *   "/var/log/cmk/audit.jsonl: is a symbolic link"
 * All functions return CMK_OK, CMK_E_CONFIG for a refused file,
 * CMK_E_KEY_NOT_FOUND when a file to open does not exist (why is still
 * set), CMK_E_IO for other system errors, CMK_E_ARGS for NULL arguments.
 */
#ifndef CMK_TRUST_H
#define CMK_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "util/err.h"

/* Secret content (keys, credentials, PIN verifier): no group/other
 * access at all, i.e. mode 0600 or stricter. */
#define CMK_TRUST_SECRET 0x1u
/* The last component may be a symlink; its target is checked (the AWS
 * shared files, which the SDKs follow, see README). */
#define CMK_TRUST_FOLLOW 0x2u

/*
 * Opens path with oflags | O_CLOEXEC | O_NOCTTY (| O_NOFOLLOW unless
 * CMK_TRUST_FOLLOW) and mode (for O_CREAT), then checks the open file
 * (cmk_trust_fd) and its directories (cmk_trust_parents). *fd is -1
 * unless CMK_OK; the caller closes it.
 */
cmk_err cmk_trust_open(const char *path, int oflags, mode_t mode,
                       unsigned flags, int *fd, char *why,
                       size_t why_len) CMK_WUR;

/* The open file: a regular file, owned by geteuid() or root, not writable
 * by group or others (not accessible at all with CMK_TRUST_SECRET). path
 * only names it in messages. */
cmk_err cmk_trust_fd(int fd, const char *path, unsigned flags, char *why,
                     size_t why_len) CMK_WUR;

/* The directories above path (path itself is not checked). */
cmk_err cmk_trust_parents(const char *path, char *why, size_t why_len) CMK_WUR;

/*
 * A directory the module writes into (store, audit): not a symlink
 * (lstat), a directory, owned by geteuid() or root, not writable by group
 * or others (the sticky bit does not excuse it), and its parents trusted.
 * With create, missing directories are made first (mode 0700, as mkdir -p).
 * CMK_E_KEY_NOT_FOUND when it does not exist and create is false.
 */
cmk_err cmk_trust_dir(const char *path, bool create, char *why,
                      size_t why_len) CMK_WUR;

/* The same checks on an open directory (after O_DIRECTORY|O_NOFOLLOW). */
cmk_err cmk_trust_dir_fd(int fd, const char *path, char *why,
                         size_t why_len) CMK_WUR;

/* cmk_trust_dir, the refusal written with cmk_log_error ("what PATH:
 * problem"), for callers that only return a code. */
cmk_err cmk_trust_dir_log(const char *what, const char *path,
                          bool create) CMK_WUR;
/* cmk_trust_fd and cmk_trust_parents on an open file, logged the same
 * way. */
cmk_err cmk_trust_fd_log(const char *what, int fd, const char *path,
                         unsigned flags) CMK_WUR;

#endif /* CMK_TRUST_H */
