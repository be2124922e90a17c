/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: import-key for a local tenant (import.h). The key is not replaced
 * in place: it goes into a new key file that becomes the tenant's "key",
 * the old file goes first in "previous_keys" as after a rotation (blobs
 * sealed under it keep opening), and the tenant KEK is sealed again under
 * the new key, all in one atomic config write: the steps of rotate-cmk
 * (rotate_cmk.h). A failure leaves the config as it was and removes the
 * new file.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys/cmk.h"
#include "tool/import.h"
#include "tool/rotate_cmk.h"
#include "tool/tool.h"
#include "util/fdio.h"
#include "util/trust.h"

#define NAME_TRIES 100

/* LABEL-imported-TIME[-N].key beside the current key file (N from 2 for
 * the n-th try within one second). */
static int default_path(const struct cmk_tenant_cfg *t, int n, char *out,
                        size_t len)
{
    char dir[PATH_MAX], when[32], nth[16] = "";
    time_t now = time(NULL);
    struct tm tm;

    snprintf(dir, sizeof(dir), "%s", t->kms.key_ref);
    if (gmtime_r(&now, &tm) == NULL ||
        strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm) == 0)
        return -1;
    if (n > 1)
        snprintf(nth, sizeof(nth), "-%d", n);
    if (snprintf(out, len, "%s/%s-imported-%s%s.key", dirname(dir),
                 t->kms.label, when, nth) >= (int)len) {
        tool_err("%s: path too long", t->kms.key_ref);
        return -1;
    }
    return 0;
}

/* The current key file's bytes equal key: nothing would change. */
static int is_current(const struct cmk_tenant_cfg *t,
                      const struct cmk_secret *key)
{
    struct cmk_secret cur = {0};
    struct stat st;
    int fd, same = 0;

    fd = open(t->kms.key_ref, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) == 0 && st.st_size == (off_t)key->len &&
        cmk_secret_alloc(&cur, key->len) == CMK_OK &&
        cmk_fd_read_exact(fd, cur.p, cur.len) == CMK_OK)
        same = sodium_memcmp(cur.p, key->p, key->len) == 0;
    cmk_secret_free(&cur);
    close(fd);
    return same;
}

/* Creates path (never replacing a file) with the key, mode 0600, synced.
 * 0, -1 with a message, or 1 when path exists and quiet is set. */
static int write_key(const char *path, const struct cmk_secret *key, bool quiet)
{
    int fd, rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && quiet)
        return 1;
    if (fd < 0) {
        tool_err("%s: %s", path,
                 errno == EEXIST ? "already exists; refusing to overwrite it"
                                 : strerror(errno));
        return -1;
    }
    if (fchmod(fd, 0600) != 0 || tool_write_all(fd, key->p, key->len) != 0 ||
        fsync(fd) != 0) {
        tool_err("%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && tool_fsync_parent(path) != 0)
        tool_err("warning: %s created, but syncing its directory failed", path);
    if (rc != 0)
        unlink(path);
    return rc;
}

/* The module will refuse a key file another user could swap (a --out in
 * a directory writable by others): check it as the config loader will. */
static int trusted(const char *path)
{
    char why[512];
    int fd = -1;

    if (cmk_trust_open(path, O_RDONLY, 0, CMK_TRUST_SECRET, &fd, why,
                       sizeof(why)) != CMK_OK) {
        tool_err("%s", why);
        return -1;
    }
    close(fd);
    return 0;
}

/* The new file is in place: the KEK and the config follow it, as
 * rotate-cmk --to PATH would take them (the KEK re-encrypted and checked
 * against its commitment, the config backed up and replaced, the old key
 * first in previous_keys). */
static int switch_config(const struct tool_import_args *a,
                         const struct cmk_tenant_cfg *t, const char *path,
                         char *backup, size_t backup_len)
{
    struct rotate_args ra = {a->config, t->kms.label, path, a->force};
    struct rotation r;
    int rc;

    memset(&r, 0, sizeof(r));
    r.a = &ra;
    r.t = t;
    r.to = path;
    rc = tool_rotate_cmk_prepare(&r, a->config);
    if (rc == TOOL_OK)
        rc = tool_rotate_cmk_open(&r);
    if (rc == TOOL_OK)
        rc = tool_rotate_cmk_kek(&r);
    if (rc == TOOL_OK)
        rc = tool_rotate_cmk_write(&r);
    if (rc == TOOL_OK)
        snprintf(backup, backup_len, "%s", r.backup);
    tool_rotate_cmk_free(&r);
    return rc;
}

/* --out, or the first free default name. */
static int new_key_file(const struct tool_import_args *a,
                        const struct cmk_tenant_cfg *t,
                        const struct cmk_secret *key, char *path, size_t len)
{
    int n, rc = 1;

    if (a->out != NULL) {
        snprintf(path, len, "%s", a->out);
        return write_key(path, key, false);
    }
    for (n = 1; rc == 1 && n <= NAME_TRIES; n++) {
        if (default_path(t, n, path, len) != 0)
            return -1;
        rc = write_key(path, key, n < NAME_TRIES);
    }
    return rc;
}

int tool_import_local(const struct tool_import_args *a,
                      const struct cmk_tenant_cfg *t,
                      const struct cmk_secret *key,
                      struct tool_import_done *done)
{
    char path[PATH_MAX], backup[PATH_MAX];
    int rc;

    if (is_current(t, key)) {
        tool_err("tenant \"%s\": %s holds the tenant's current key already",
                 t->kms.label, a->key_file);
        return TOOL_FAIL;
    }
    if (new_key_file(a, t, key, path, sizeof(path)) != 0)
        return TOOL_FAIL;
    rc = trusted(path) == 0 ? switch_config(a, t, path, backup, sizeof(backup))
                            : TOOL_FAIL;
    if (rc != TOOL_OK) {
        unlink(path);
        return rc;
    }
    snprintf(done->key_old, sizeof(done->key_old), "%s", t->kms.key_ref);
    snprintf(done->key_new, sizeof(done->key_new), "%s", path);
    snprintf(done->detail, sizeof(done->detail),
             "origin: local key file; expiry: none; old key kept in "
             "previous_keys");
    printf("backup of the previous config: %s\n", backup);
    return TOOL_OK;
}
