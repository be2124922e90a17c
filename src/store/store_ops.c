/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: store operations under the store's file lock: reads checked
 * against the manifest, compare-and-swap writes (manifest with the
 * pending version, object file, manifest with the committed version),
 * deletes (manifest first, then the file), and the adoption of a
 * format-1 store that has no manifest yet.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/log.h"
#include "util/trust.h"

#define SUFFIX ".obj"

/* An open, locked store: directory, lock file and its manifest. */
struct locked {
    int dfd; /* -1: no directory (empty store) */
    int lfd;
    struct cmk_manifest m;
};

static void unlock(struct locked *c)
{
    if (c->lfd >= 0)
        close(c->lfd); /* releases the flock */
    if (c->dfd >= 0)
        close(c->dfd);
    c->lfd = c->dfd = -1;
    cmk_manifest_clear(&c->m);
}

/* Writers hold the lock for a few fsyncs; anyone who can open the lock
 * file could hold it for ever, so the wait is bounded (LOCK_WAIT_MS) and
 * then the call fails instead of hanging the application. */
#define LOCK_WAIT_MS 10000
#define LOCK_STEP_US 2000

static cmk_err take_lock(int lfd, int how, const char *dir)
{
    long waited_us = 0;

    while (flock(lfd, how | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return CMK_E_IO;
        if (waited_us >= LOCK_WAIT_MS * 1000L) {
            cmk_log_error("object store %s: locked by another process for "
                          "%d s: giving up",
                          dir, LOCK_WAIT_MS / 1000);
            return CMK_E_IO;
        }
        usleep(LOCK_STEP_US);
        waited_us += LOCK_STEP_US;
    }
    return CMK_OK;
}

static uint64_t max_seen(const struct cmk_store_loc *loc)
{
    return loc->max_gen == NULL
               ? 0
               : __atomic_load_n(loc->max_gen, __ATOMIC_ACQUIRE);
}

static void file_of(const char *name, char file[CMK_STORE_NAME_LEN + 5])
{
    snprintf(file, CMK_STORE_NAME_LEN + sizeof(SUFFIX), "%s%s", name, SUFFIX);
}

/* Opens data with the first key of ks that authenticates it (*which). */
static cmk_err unseal_any(const struct cmk_store_loc *loc,
                          struct cmk_store_keys *ks, const char *name,
                          const struct cmk_buf *data, uint64_t *version,
                          struct cmk_attrs *attrs, size_t *which,
                          const char **why)
{
    const struct cmk_secret *key;
    cmk_err err = CMK_E_BAD_CIPHERTEXT;
    size_t i;

    for (i = 0; i < CMK_STORE_KEYS && err == CMK_E_BAD_CIPHERTEXT; i++) {
        key = cmk_store_keys_at(ks, i);
        if (key == NULL)
            continue;
        err = cmk_store_unseal_obj(loc->tenant, key, name, data, version, attrs,
                                   why);
        if (which != NULL)
            *which = i;
    }
    return err;
}

/* Reads and opens one object file; *why on failure. */
static cmk_err open_obj(int dfd, const struct cmk_store_loc *loc,
                        struct cmk_store_keys *ks, const char *name,
                        struct cmk_attrs *attrs, uint64_t *version,
                        bool *format1, struct cmk_store_stamp *st,
                        const char **why)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    struct cmk_buf data = {0};
    cmk_err err;

    file_of(name, file);
    err = cmk_store_read_file(dfd, file, &data, st, why);
    if (err == CMK_OK)
        err = unseal_any(loc, ks, name, &data, version, attrs, NULL, why);
    if (err == CMK_OK && format1 != NULL)
        *format1 = cmk_store_is_format1(&data);
    cmk_buf_free(&data);
    return err;
}

/* The version the version rules accept for e, or 0 for none. */
static bool version_ok(const struct cmk_manifest_entry *e, uint64_t v)
{
    return (e->committed != 0 && v == e->committed) ||
           (e->pending != 0 && v == e->pending);
}

/* No manifest: adopt a format-1 store (first-use trust), refuse one with
 * format-2 files (its manifest was removed). Exclusive lock held. */
static cmk_err adopt(struct locked *c, const struct cmk_store_loc *loc,
                     struct cmk_store_keys *ks)
{
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_manifest_entry *e;
    struct cmk_attrs attrs = {0};
    struct dirent *de;
    const char *why;
    uint64_t v;
    bool f1;
    int fd = dup(c->dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    cmk_err err = CMK_OK;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return CMK_E_IO;
    }
    rewinddir(d); /* a dup shares the position of earlier scans */
    while (err == CMK_OK && (de = readdir(d)) != NULL) {
        if (!cmk_store_is_obj_file(de->d_name))
            continue;
        memcpy(name, de->d_name, CMK_STORE_NAME_LEN);
        name[CMK_STORE_NAME_LEN] = '\0';
        if (open_obj(c->dfd, loc, ks, name, &attrs, &v, &f1, NULL, &why) !=
            CMK_OK) {
            cmk_log_error("object store %s: file %s skipped: %s", loc->dir,
                          de->d_name, why);
            continue;
        }
        cmk_attrs_clear(&attrs);
        if (!f1) {
            cmk_log_error("object store %s: the manifest is missing but "
                          "%s is in the current format: the manifest was "
                          "removed; store refused (restore the manifest)",
                          loc->dir, de->d_name);
            err = CMK_E_ROLLBACK;
            break;
        }
        err = cmk_manifest_add(&c->m, name, &e);
        if (err == CMK_OK)
            e->committed = 1;
    }
    closedir(d);
    if (err == CMK_OK && c->m.n != 0) {
        err = cmk_manifest_write(loc, &ks->k[0], &c->m);
        if (err == CMK_OK)
            cmk_log_debug("object store %s: %zu format-1 objects adopted "
                          "into a new manifest",
                          loc->dir, c->m.n);
    }
    if (err != CMK_OK)
        cmk_manifest_clear(&c->m);
    return err;
}

static bool has_obj_files(int dfd)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    bool any = false;

    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return true; /* let adopt() report the error */
    }
    rewinddir(d);
    while (!any && (de = readdir(d)) != NULL)
        any = cmk_store_is_obj_file(de->d_name);
    closedir(d);
    return any;
}

enum mode { READ, WRITE, DELETE };

/* Opens dir (creating it for WRITE), takes the lock (exclusive for WRITE
 * and DELETE) and reads the manifest, adopting a format-1 store on the
 * way. */
static cmk_err open_locked(const struct cmk_store_loc *loc,
                           struct cmk_store_keys *ks, enum mode mode,
                           struct locked *c)
{
    bool write = mode != READ;
    char eb[128];
    cmk_err err;

    memset(c, 0, sizeof(*c));
    c->dfd = c->lfd = -1;
    if (mode == WRITE && (err = cmk_store_make_dir(loc->dir)) != CMK_OK)
        return err;
    c->dfd = open(loc->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (c->dfd >= 0 && mode != WRITE &&
        cmk_trust_dir_log("object store", loc->dir, false) != CMK_OK) {
        unlock(c);
        return CMK_E_CONFIG; /* not ours, or a link: nothing is read */
    }
    if (c->dfd < 0 && errno == ENOENT && mode != WRITE) {
        if (max_seen(loc) == 0)
            return CMK_OK; /* no store yet */
        cmk_log_error("object store %s: directory gone although this "
                      "process saw it: refused",
                      loc->dir);
        return CMK_E_ROLLBACK;
    }
    if (c->dfd >= 0)
        c->lfd = openat(c->dfd, CMK_STORE_LOCK,
                        O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (c->dfd < 0 || c->lfd < 0) {
        cmk_log_error("object store %s: cannot open%s: %s", loc->dir,
                      c->dfd < 0 ? "" : " the lock file",
                      cmk_store_errstr(errno, eb, sizeof(eb)));
        unlock(c);
        return CMK_E_IO;
    }
    err = take_lock(c->lfd, write ? LOCK_EX : LOCK_SH, loc->dir);
    if (err == CMK_OK)
        err = cmk_manifest_read(c->dfd, loc, ks, &c->m);
    if (err != CMK_OK || c->m.exists)
        goto out;
    if (max_seen(loc) != 0) {
        cmk_log_error("object store %s: manifest missing although this "
                      "process saw generation %llu: refused",
                      loc->dir, (unsigned long long)max_seen(loc));
        err = CMK_E_ROLLBACK;
        goto out;
    }
    if (!has_obj_files(c->dfd))
        goto out; /* empty store: the first write makes the manifest */
    if (!write) { /* adoption writes: upgrade, then look again */
        err = take_lock(c->lfd, LOCK_EX, loc->dir);
        if (err == CMK_OK)
            err = cmk_manifest_read(c->dfd, loc, ks, &c->m);
        if (err != CMK_OK || c->m.exists)
            goto out;
    }
    err = adopt(c, loc, ks);
out:
    if (err != CMK_OK)
        unlock(c);
    return err;
}

/* The object as the manifest vouches for it; logged when refused. */
static cmk_err get_locked(struct locked *c, const struct cmk_store_loc *loc,
                          struct cmk_store_keys *ks, const char *name,
                          struct cmk_attrs *attrs, struct cmk_store_meta *meta)
{
    struct cmk_manifest_entry *e = cmk_manifest_find(&c->m, name);
    const char *why = NULL;
    uint64_t v = 0;
    cmk_err err;

    if (c->dfd < 0)
        return CMK_E_KEY_NOT_FOUND;
    err = open_obj(c->dfd, loc, ks, name, attrs, &v, NULL, &meta->stamp, &why);
    if (err == CMK_E_KEY_NOT_FOUND) {
        if (e != NULL && e->committed != 0)
            cmk_log_error("object store %s: %s.obj is listed in the "
                          "manifest but missing (deleted)",
                          loc->dir, name);
        return err;
    }
    if (err != CMK_OK) {
        cmk_log_error("object store %s: file %s.obj skipped: %s", loc->dir,
                      name, why);
        return err;
    }
    if (e == NULL || !version_ok(e, v)) {
        cmk_attrs_clear(attrs);
        if (e == NULL) {
            cmk_log_error("object store %s: file %s.obj refused: not in the "
                          "manifest (deleted object replayed?)",
                          loc->dir, name);
            return CMK_E_KEY_NOT_FOUND;
        }
        cmk_log_error("object store %s: file %s.obj refused: version %llu, "
                      "manifest has %llu (stale or replayed)",
                      loc->dir, name, (unsigned long long)v,
                      (unsigned long long)e->committed);
        return CMK_E_ROLLBACK;
    }
    meta->version = v;
    return CMK_OK;
}

/* The version on disk for a compare-and-swap: the manifest's, or, while
 * a write is in flight, whichever of the two the file holds. */
static uint64_t current(struct locked *c, const struct cmk_store_loc *loc,
                        struct cmk_store_keys *ks,
                        const struct cmk_manifest_entry *e)
{
    struct cmk_attrs attrs = {0};
    const char *why;
    uint64_t v = 0;

    if (e == NULL)
        return 0;
    if (e->pending == 0)
        return e->committed;
    if (open_obj(c->dfd, loc, ks, e->name, &attrs, &v, NULL, NULL, &why) !=
            CMK_OK ||
        !version_ok(e, v))
        v = e->committed;
    cmk_attrs_clear(&attrs);
    return v;
}

static bool args_ok(const struct cmk_store_loc *loc)
{
    return loc != NULL && loc->dir != NULL && loc->dir[0] != '\0' &&
           loc->tenant != NULL && loc->kek != NULL && loc->kek_len != 0;
}

static cmk_err put_locked(struct locked *c, const struct cmk_store_loc *loc,
                          struct cmk_store_keys *ks, const char *name,
                          uint64_t base, const struct cmk_attrs *attrs,
                          struct cmk_store_meta *meta)
{
    struct cmk_manifest_entry *e = cmk_manifest_find(&c->m, name);
    const struct cmk_secret *key = &ks->k[0]; /* writes: the current KEK */
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    struct cmk_buf data = {0};
    uint64_t cur = current(c, loc, ks, e), next;
    cmk_err err;

    if (base != CMK_STORE_ANY && base != cur)
        return CMK_E_CONFLICT;
    next =
        (e == NULL ? 0
                   : (e->committed > e->pending ? e->committed : e->pending)) +
        1;
    err = cmk_store_seal_obj(loc->tenant, key, name, next, attrs, &data);
    if (err == CMK_OK && e == NULL)
        err = cmk_manifest_add(&c->m, name, &e);
    if (err != CMK_OK)
        goto out;
    e->committed = cur;
    e->pending = next;
    err = cmk_manifest_write(loc, key, &c->m); /* 1: in flight */
    if (err != CMK_OK)
        goto out;
    file_of(name, file);
    err = cmk_store_write_atomic(loc->dir, file, &data, &meta->stamp);
    if (err != CMK_OK) { /* best effort: back to the old state */
        e->pending = 0;
        if (cur == 0)
            cmk_manifest_del(&c->m, name);
        if (cmk_manifest_write(loc, key, &c->m) != CMK_OK)
            cmk_log_debug("object store %s: write of %s stays pending",
                          loc->dir, name);
        goto out;
    }
    e->committed = next;
    e->pending = 0;
    err = cmk_manifest_write(loc, key, &c->m); /* 2: committed */
    meta->version = next;
out:
    cmk_buf_free(&data);
    return err;
}

cmk_err cmk_store_put(const struct cmk_store_loc *loc, const char *name,
                      uint64_t base, const struct cmk_attrs *attrs,
                      struct cmk_store_meta *meta)
{
    struct cmk_store_meta m = {0};
    struct cmk_store_keys ks;
    struct locked c;
    cmk_err err;

    if (!args_ok(loc) || name == NULL || !cmk_store_is_name(name) ||
        attrs == NULL)
        return CMK_E_ARGS;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK)
        err = open_locked(loc, &ks, WRITE, &c);
    if (err == CMK_OK) {
        err = put_locked(&c, loc, &ks, name, base, attrs, &m);
        unlock(&c);
    }
    cmk_store_keys_fini(&ks);
    if (err == CMK_OK && meta != NULL)
        *meta = m;
    return err;
}

cmk_err cmk_store_delete(const struct cmk_store_loc *loc, const char *name,
                         uint64_t base)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    struct cmk_manifest_entry *e;
    struct cmk_store_keys ks;
    struct locked c;
    cmk_err err;

    if (!args_ok(loc) || name == NULL || !cmk_store_is_name(name))
        return CMK_E_ARGS;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK)
        err = open_locked(loc, &ks, DELETE, &c);
    if (err != CMK_OK)
        goto out;
    err = CMK_E_KEY_NOT_FOUND;
    if (c.dfd < 0 || (e = cmk_manifest_find(&c.m, name)) == NULL)
        goto unlock;
    err = CMK_E_CONFLICT;
    if (base != CMK_STORE_ANY && base != current(&c, loc, &ks, e))
        goto unlock;
    cmk_manifest_del(&c.m, name);
    err = cmk_manifest_write(loc, &ks.k[0], &c.m);
    file_of(name, file);
    if (err == CMK_OK && unlinkat(c.dfd, file, 0) != 0 && errno != ENOENT)
        err = CMK_E_IO; /* listed nowhere: refused if it ever loads */
    if (err == CMK_OK)
        err = cmk_store_fsync_dir(loc->dir);
unlock:
    unlock(&c);
out:
    cmk_store_keys_fini(&ks);
    return err;
}

cmk_err cmk_store_get(const struct cmk_store_loc *loc, const char *name,
                      struct cmk_attrs *attrs, struct cmk_store_meta *meta)
{
    struct cmk_store_keys ks;
    struct cmk_store_meta m = {0};
    struct cmk_attrs a = {0};
    struct locked c;
    cmk_err err;

    if (!args_ok(loc) || name == NULL || !cmk_store_is_name(name) ||
        attrs == NULL || meta == NULL)
        return CMK_E_ARGS;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK)
        err = open_locked(loc, &ks, READ, &c);
    if (err == CMK_OK) {
        err = get_locked(&c, loc, &ks, name, &a, &m);
        unlock(&c);
    }
    cmk_store_keys_fini(&ks);
    if (err == CMK_OK) {
        *attrs = a;
        *meta = m;
    }
    return err;
}

cmk_err cmk_store_load_all(const struct cmk_store_loc *loc, cmk_store_cb cb,
                           void *arg, struct cmk_store_stamp *manifest)
{
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_store_keys ks;
    struct cmk_store_meta meta;
    struct cmk_attrs attrs;
    struct dirent *de;
    struct locked c;
    bool *seen = NULL;
    DIR *d = NULL;
    size_t i;
    cmk_err err;
    int fd;

    if (!args_ok(loc) || cb == NULL)
        return CMK_E_ARGS;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK)
        err = open_locked(loc, &ks, READ, &c);
    if (err != CMK_OK)
        goto out;
    if (manifest != NULL)
        *manifest = c.m.stamp; /* zero when there is none */
    if (c.dfd < 0)
        goto unlock;
    fd = dup(c.dfd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    seen = calloc(c.m.n + 1, sizeof(*seen));
    if (d == NULL || seen == NULL) {
        if (d == NULL && fd >= 0)
            close(fd);
        err = CMK_E_NOMEM;
        goto unlock;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (!cmk_store_is_obj_file(de->d_name))
            continue;
        memcpy(name, de->d_name, CMK_STORE_NAME_LEN);
        name[CMK_STORE_NAME_LEN] = '\0';
        attrs = (struct cmk_attrs){0};
        if (get_locked(&c, loc, &ks, name, &attrs, &meta) != CMK_OK)
            continue;
        seen[cmk_manifest_find(&c.m, name) - c.m.v] = true;
        cb(arg, name, &meta, &attrs); /* takes ownership of attrs */
    }
    for (i = 0; i < c.m.n; i++) {
        if (!seen[i] && c.m.v[i].committed != 0)
            cmk_log_error("object store %s: %s.obj is listed in the "
                          "manifest but missing (deleted)",
                          loc->dir, c.m.v[i].name);
    }
unlock:
    if (d != NULL)
        closedir(d);
    free(seen);
    unlock(&c);
out:
    cmk_store_keys_fini(&ks);
    return err;
}

/* ---- Data-key rotation: re-sealing under the current KEK ---- */

/* name's file under key 0 at the version it has, when an older key
 * opened it; *moved says whether it was rewritten. Exclusive lock held. */
static cmk_err reseal_locked(struct locked *c, const struct cmk_store_loc *loc,
                             struct cmk_store_keys *ks, const char *name,
                             bool *moved)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    struct cmk_manifest_entry *e = cmk_manifest_find(&c->m, name);
    struct cmk_buf data = {0}, out = {0};
    struct cmk_attrs attrs = {0};
    const char *why = NULL;
    size_t which = 0;
    uint64_t v = 0;
    cmk_err err;

    if (e == NULL)
        return CMK_E_KEY_NOT_FOUND; /* deleted meanwhile */
    file_of(name, file);
    err = cmk_store_read_file(c->dfd, file, &data, NULL, &why);
    if (err == CMK_E_KEY_NOT_FOUND && e->committed == 0)
        return err; /* a creation that never happened: nothing to move */
    if (err == CMK_OK)
        err = unseal_any(loc, ks, name, &data, &v, &attrs, &which, &why);
    if (err == CMK_OK && !version_ok(e, v)) {
        why = "not at the version the manifest lists (stale or replayed)";
        err = CMK_E_ROLLBACK;
    }
    if (err == CMK_OK && which != 0)
        err = cmk_store_seal_obj(loc->tenant, &ks->k[0], name, v, &attrs, &out);
    if (err == CMK_OK && which != 0)
        err = cmk_store_write_atomic(loc->dir, file, &out, NULL);
    if (err != CMK_OK && why != NULL)
        cmk_log_error("object store %s: %s not re-sealed: %s", loc->dir, file,
                      why);
    *moved = err == CMK_OK && which != 0;
    cmk_attrs_clear(&attrs);
    cmk_buf_free(&data);
    cmk_buf_free(&out);
    return err;
}

cmk_err cmk_store_reseal(const struct cmk_store_loc *loc, const char *name,
                         bool *moved)
{
    struct cmk_store_keys ks;
    struct locked c;
    cmk_err err;

    if (!args_ok(loc) || moved == NULL ||
        (name != NULL && !cmk_store_is_name(name)))
        return CMK_E_ARGS;
    *moved = false;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK) /* exclusive, and no directory is made */
        err = open_locked(loc, &ks, DELETE, &c);
    if (err != CMK_OK)
        goto out;
    if (c.m.exists && c.m.key != 0) /* at the same entries */
        err = cmk_manifest_write(loc, &ks.k[0], &c.m);
    if (err == CMK_OK && name != NULL)
        err = c.dfd < 0 ? CMK_E_KEY_NOT_FOUND
                        : reseal_locked(&c, loc, &ks, name, moved);
    unlock(&c);
out:
    cmk_store_keys_fini(&ks);
    return err;
}

cmk_err cmk_store_names(const struct cmk_store_loc *loc,
                        struct cmk_store_name **out, size_t *n)
{
    struct cmk_store_keys ks;
    struct locked c;
    size_t i;
    cmk_err err;

    if (!args_ok(loc) || out == NULL || n == NULL)
        return CMK_E_ARGS;
    *out = NULL;
    *n = 0;
    err = cmk_store_keys_init(&ks, loc);
    if (err == CMK_OK)
        err = open_locked(loc, &ks, READ, &c);
    if (err != CMK_OK)
        goto out;
    if (c.m.n != 0 && (*out = calloc(c.m.n, sizeof(**out))) == NULL)
        err = CMK_E_NOMEM;
    for (i = 0; err == CMK_OK && i < c.m.n; i++)
        memcpy((*out)[i].s, c.m.v[i].name, sizeof((*out)[i].s));
    if (err == CMK_OK)
        *n = c.m.n;
    unlock(&c);
out:
    cmk_store_keys_fini(&ks);
    return err;
}

cmk_err cmk_store_write(const char *dir, const char *tenant, const uint8_t *kek,
                        size_t kek_len, const char *name,
                        const struct cmk_attrs *attrs)
{
    struct cmk_store_loc loc = {dir, tenant, kek, kek_len, NULL, NULL, NULL};

    return cmk_store_put(&loc, name, CMK_STORE_ANY, attrs, NULL);
}

cmk_err cmk_store_remove(const char *dir, const char *tenant,
                         const uint8_t *kek, size_t kek_len, const char *name)
{
    struct cmk_store_loc loc = {dir, tenant, kek, kek_len, NULL, NULL, NULL};
    cmk_err err = cmk_store_delete(&loc, name, CMK_STORE_ANY);

    return err == CMK_E_KEY_NOT_FOUND ? CMK_OK : err;
}
