/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: import-key for a local tenant (import.h). The key is not replaced
 * in place: it goes into a new key file that becomes the tenant's "key",
 * the old file goes first in "previous_keys" as after a rotation (blobs
 * sealed under it keep opening), and the tenant KEK is sealed again under
 * the new key, all in one atomic config write. A failure leaves the
 * config as it was and removes the new file.
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

static cmk_err copy_kek(void *arg, const uint8_t *kek, size_t len)
{
    return cmk_secret_dup(arg, kek, len);
}

static void say(const struct cmk_tenant_cfg *t, const char *what, cmk_err err,
                const struct cmk_req *rq)
{
    tool_err("tenant \"%s\": %s: %s%s%s%s", t->kms.label, what,
             cmk_err_name(err), rq->provider_code[0] ? " (" : "",
             rq->provider_code, rq->provider_code[0] ? ")" : "");
}

/* The KEK through the current key, sealed under the new one (nk) and
 * opened again to check. blob64: the config's new "kek". */
static int reseal_kek(const struct cmk_tenant_cfg *t,
                      const struct cmk_kms_cfg *nk, char **blob64)
{
    struct cmk_secret kek = {0}, back = {0};
    struct cmk_cmk *old = NULL, *c = NULL;
    struct cmk_buf blob = {0};
    struct cmk_req rq;
    cmk_err err;

    memset(&rq, 0, sizeof(rq));
    err = cmk_cmk_open(&t->kms, 0, &old);
    if (err == CMK_OK)
        err = cmk_cmk_with_kek(old, copy_kek, &kek);
    if (err != CMK_OK) {
        say(t, "the tenant KEK does not open under the current key", err, &rq);
        goto out;
    }
    err = cmk_cmk_open(nk, 0, &c);
    if (err == CMK_OK)
        err = cmk_cmk_seal_for(c, &rq, CMK_PURPOSE_KEK, kek.p, kek.len, &blob);
    if (err == CMK_OK)
        err = cmk_cmk_unseal_for(c, &rq, CMK_PURPOSE_KEK, blob.p, blob.len,
                                 &back);
    if (err == CMK_OK &&
        (back.len != kek.len || sodium_memcmp(back.p, kek.p, kek.len) != 0))
        err = CMK_E_INTERNAL;
    if (err != CMK_OK) {
        say(t, "sealing the KEK under the imported key failed", err, &rq);
        goto out;
    }
    *blob64 = malloc(
        sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL));
    if (*blob64 == NULL)
        err = CMK_E_NOMEM;
    else
        sodium_bin2base64(
            *blob64,
            sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL),
            blob.p, blob.len, sodium_base64_VARIANT_ORIGINAL);
out:
    cmk_buf_free(&blob);
    cmk_secret_free(&back);
    cmk_secret_free(&kek);
    cmk_cmk_close(c);
    cmk_cmk_close(old);
    return err == CMK_OK ? 0 : -1;
}

/* The tenant as it will be: the new key, the old one first among the
 * previous ones. refs: n_previous + 1 slots. */
static void next_kms(const struct cmk_tenant_cfg *t, char *path, char **refs,
                     struct cmk_kms_cfg *nk)
{
    size_t i;

    *nk = t->kms;
    nk->key_ref = path;
    refs[0] = t->kms.key_ref;
    for (i = 0; i < t->kms.n_previous; i++)
        refs[i + 1] = t->kms.previous_key_refs[i];
    nk->previous_key_refs = refs;
    nk->n_previous = t->kms.n_previous + 1;
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

/* The new file is in place: the KEK and the config follow it. */
static int switch_config(const struct tool_import_args *a,
                         const struct cmk_tenant_cfg *t, char *path)
{
    char **refs = calloc(t->kms.n_previous + 1, sizeof(*refs));
    struct cmk_kms_cfg nk;
    struct tool_field f[1];
    char *kek64 = NULL;
    size_t n = 0;
    int rc = TOOL_FAIL;

    if (refs == NULL) {
        tool_err("out of memory");
        return TOOL_FAIL;
    }
    next_kms(t, path, refs, &nk);
    if (t->kms.kek_blob_len != 0) {
        if (reseal_kek(t, &nk, &kek64) != 0)
            goto out;
        f[n].name = "kek";
        f[n++].value = kek64;
    }
    rc = tool_set_tenant_key(a->config, t->kms.label, t->kms.key_ref, path, f,
                             n);
out:
    free(kek64);
    free(refs);
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
    char path[PATH_MAX];
    int rc;

    if (is_current(t, key)) {
        tool_err("tenant \"%s\": %s holds the tenant's current key already",
                 t->kms.label, a->key_file);
        return TOOL_FAIL;
    }
    if (new_key_file(a, t, key, path, sizeof(path)) != 0)
        return TOOL_FAIL;
    rc = trusted(path) == 0 ? switch_config(a, t, path) : TOOL_FAIL;
    if (rc != TOOL_OK) {
        unlink(path);
        return rc;
    }
    snprintf(done->key_old, sizeof(done->key_old), "%s", t->kms.key_ref);
    snprintf(done->key_new, sizeof(done->key_new), "%s", path);
    snprintf(done->detail, sizeof(done->detail),
             "origin: local key file; expiry: none; old key kept in "
             "previous_keys");
    return TOOL_OK;
}
