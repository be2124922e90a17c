/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: token objects on disk, one sealed file per object. Sealing is
 * mech's XChaCha20-Poly1305 (mech/seal.h) under HKDF-SHA256 of the tenant
 * KEK (mech, in the secure pool); writes are temp file + fsync + rename.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"
#include "mech/mech.h"
#include "mech/seal.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/secmem.h"
#include "util/trust.h"

#define MAGIC "CMKO"
#define MAGIC_LEN 4
#define FORMAT_VERSION 2             /* written */
#define FORMAT_V1 1                  /* read for migration */
#define HDR1_LEN (MAGIC_LEN + 1)     /* magic, format */
#define HDR2_LEN (MAGIC_LEN + 1 + 8) /* magic, format, version */
#define FILE_MAX CMK_STORE_FILE_MAX
#define KEY_LEN CMK_SEAL_KEY_LEN
#define HKDF_INFO "cmk-pkcs11 object store v1"
#define SUFFIX ".obj"
#define ATTR_HDR 12 /* u64 type + u32 length */

/* ---- Names and paths ---- */

static bool is_name(const char *s)
{
    size_t i;

    for (i = 0; i < CMK_STORE_NAME_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return s[CMK_STORE_NAME_LEN] == '\0';
}

/* "<hex16>.obj" exactly. */
static bool is_obj_file(const char *s)
{
    char name[CMK_STORE_NAME_LEN + 1];

    if (strlen(s) != CMK_STORE_NAME_LEN + sizeof(SUFFIX) - 1 ||
        strcmp(s + CMK_STORE_NAME_LEN, SUFFIX) != 0)
        return false;
    memcpy(name, s, CMK_STORE_NAME_LEN);
    name[CMK_STORE_NAME_LEN] = '\0';
    return is_name(name);
}

void cmk_store_new_name(char name[CMK_STORE_NAME_LEN + 1])
{
    uint8_t r[CMK_STORE_NAME_LEN / 2];

    cmk_random(r, sizeof(r));
    sodium_bin2hex(name, CMK_STORE_NAME_LEN + 1, r, sizeof(r));
}

/* Heap "<a><b><c>". */
static char *cat3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s%s%s", a, b, c);
    return p;
}

/* ---- Key derivation and sealing ---- */

/* key = HKDF-SHA256(IKM kek, no salt, info HKDF_INFO), RFC 5869; the
 * derivation runs in the secure pool (mech/kdf.c). */
static cmk_err derive_key(const uint8_t *kek, size_t kek_len,
                          struct cmk_secret *key)
{
    CK_RV rv =
        cmk_hkdf_sha256(NULL, 0, kek, kek_len, (const uint8_t *)HKDF_INFO,
                        sizeof(HKDF_INFO) - 1, KEY_LEN, key);

    if (rv == CKR_OK)
        return CMK_OK;
    return rv == CKR_HOST_MEMORY ? CMK_E_NOMEM : CMK_E_CRYPTO;
}

/* AAD = tenant || 0x00 || file, then 0x00 || header when the header is
 * bound (format 2 objects, the manifest; format 1 bound only the name). */
static cmk_err make_aad(const char *tenant, const char *file,
                        const uint8_t *hdr, size_t hdr_len, struct cmk_buf *aad)
{
    size_t t = strlen(tenant), f = strlen(file);
    size_t extra = hdr_len ? 1 + hdr_len : 0;
    cmk_err err;

    err = cmk_buf_alloc(aad, t + 1 + f + extra);
    if (err != CMK_OK)
        return err;
    memcpy(aad->p, tenant, t);
    aad->p[t] = 0;
    memcpy(aad->p + t + 1, file, f);
    if (hdr_len != 0) {
        aad->p[t + 1 + f] = 0;
        memcpy(aad->p + t + 2 + f, hdr, hdr_len);
    }
    return CMK_OK;
}

void cmk_store_put_be(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

uint64_t cmk_store_get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

#define put_be cmk_store_put_be
#define get_be cmk_store_get_be

size_t cmk_store_file_size(size_t hdr_len, size_t pt_len)
{
    size_t sealed = cmk_seal_size(pt_len);

    return sealed > SIZE_MAX - hdr_len ? SIZE_MAX : hdr_len + sealed;
}

/* Payload: u32 count, then u64 type, u32 length, bytes per attribute.
 * The file it makes must stay within what load accepts (FILE_MAX). */
static cmk_err encode(const struct cmk_attrs *attrs, struct cmk_secret *pt)
{
    size_t i, len = 4, off = 4;
    cmk_err err;

    for (i = 0; i < attrs->n; i++) {
        if (attrs->v[i].len > FILE_MAX) /* keeps len from overflowing */
            return CMK_E_TOO_LARGE;
        len += ATTR_HDR + attrs->v[i].len;
        if (cmk_store_file_size(HDR2_LEN, len) > FILE_MAX)
            return CMK_E_TOO_LARGE;
    }
    err = cmk_secret_alloc(pt, len);
    if (err != CMK_OK)
        return err;
    put_be(pt->p, attrs->n, 4);
    for (i = 0; i < attrs->n; i++) {
        put_be(pt->p + off, attrs->v[i].type, 8);
        put_be(pt->p + off + 8, attrs->v[i].len, 4);
        off += ATTR_HDR;
        if (attrs->v[i].len != 0)
            memcpy(pt->p + off, attrs->v[i].val, attrs->v[i].len);
        off += attrs->v[i].len;
    }
    return CMK_OK;
}

static cmk_err decode(const uint8_t *p, size_t len, struct cmk_attrs *out)
{
    struct cmk_attrs a = {0};
    size_t count, i, off = 4, alen;
    CK_ATTRIBUTE_TYPE type;
    cmk_err err = CMK_E_BAD_BLOB;

    if (len < 4)
        goto out;
    count = (size_t)get_be(p, 4);
    if (count > (len - 4) / ATTR_HDR)
        goto out;
    for (i = 0; i < count; i++) {
        if (len - off < ATTR_HDR)
            goto out;
        type = (CK_ATTRIBUTE_TYPE)get_be(p + off, 8);
        alen = (size_t)get_be(p + off + 8, 4);
        off += ATTR_HDR;
        if (alen > len - off || cmk_attrs_get(&a, type) != NULL)
            goto out;
        err = cmk_attrs_set(&a, type, p + off, alen);
        if (err != CMK_OK)
            goto out;
        err = CMK_E_BAD_BLOB;
        off += alen;
    }
    if (off != len)
        goto out;
    *out = a;
    a = (struct cmk_attrs){0}; /* caller owns it */
    err = CMK_OK;
out:
    cmk_attrs_clear(&a);
    return err;
}

/* out = hdr | nonce | seal(pt); the header is bound as AAD. */
cmk_err cmk_store_seal_raw(const char *tenant, const struct cmk_secret *key,
                           const char *file, const uint8_t *hdr, size_t hdr_len,
                           const uint8_t *pt, size_t pt_len,
                           struct cmk_buf *out)
{
    struct cmk_buf aad = {0};
    cmk_err err;

    err = make_aad(tenant, file, hdr, hdr_len, &aad);
    if (err == CMK_OK)
        err = cmk_buf_alloc(out, cmk_store_file_size(hdr_len, pt_len));
    if (err != CMK_OK)
        goto out;
    memcpy(out->p, hdr, hdr_len);
    err = cmk_seal(key->p, aad.p, aad.len, pt, pt_len, out->p + hdr_len);
    if (err != CMK_OK)
        cmk_buf_free(out);
out:
    cmk_buf_free(&aad);
    return err;
}

/* Reverse of cmk_store_seal_raw for a header of hdr_len bytes (bound as
 * AAD when bind is set). */
cmk_err cmk_store_unseal_raw(const char *tenant, const struct cmk_secret *key,
                             const char *file, const struct cmk_buf *in,
                             size_t hdr_len, bool bind, struct cmk_secret *pt)
{
    struct cmk_buf aad = {0};
    size_t empty = cmk_store_file_size(hdr_len, 0);
    cmk_err err;

    if (in->len < empty)
        return CMK_E_BAD_BLOB;
    err = make_aad(tenant, file, in->p, bind ? hdr_len : 0, &aad);
    if (err == CMK_OK)
        err = cmk_secret_alloc(pt, in->len - empty);
    if (err != CMK_OK)
        goto out;
    err = cmk_seal_open(key->p, aad.p, aad.len, in->p + hdr_len,
                        in->len - hdr_len, pt->p);
out:
    cmk_buf_free(&aad);
    if (err != CMK_OK)
        cmk_secret_free(pt);
    return err;
}

static cmk_err seal(const char *tenant, const struct cmk_secret *key,
                    const char *file, uint64_t version,
                    const struct cmk_attrs *attrs, struct cmk_buf *out)
{
    struct cmk_secret pt = {0};
    uint8_t hdr[HDR2_LEN];
    cmk_err err;

    memcpy(hdr, MAGIC, MAGIC_LEN);
    hdr[MAGIC_LEN] = FORMAT_VERSION;
    put_be(hdr + MAGIC_LEN + 1, version, 8);
    err = encode(attrs, &pt);
    if (err == CMK_OK)
        err = cmk_store_seal_raw(tenant, key, file, hdr, sizeof(hdr), pt.p,
                                 pt.len, out);
    cmk_secret_free(&pt);
    return err;
}

/* Opens a file image of either format (format 1 counts as version 1);
 * *why names the reason on failure (never content). */
static cmk_err unseal(const char *tenant, const struct cmk_secret *key,
                      const char *file, const struct cmk_buf *in,
                      uint64_t *version, struct cmk_attrs *out,
                      const char **why)
{
    struct cmk_secret pt = {0};
    size_t hdr_len = HDR1_LEN;
    cmk_err err = CMK_E_BAD_BLOB;

    *why = "too short";
    if (in->len < cmk_store_file_size(HDR1_LEN, 0))
        goto out;
    *why = "not an object file (bad magic)";
    if (memcmp(in->p, MAGIC, MAGIC_LEN) != 0)
        goto out;
    *why = "unsupported format version";
    if (in->p[MAGIC_LEN] != FORMAT_VERSION && in->p[MAGIC_LEN] != FORMAT_V1)
        goto out;
    *version = 1;
    if (in->p[MAGIC_LEN] == FORMAT_VERSION) {
        hdr_len = HDR2_LEN;
        *why = "too short";
        if (in->len < cmk_store_file_size(HDR2_LEN, 0))
            goto out;
        *version = get_be(in->p + MAGIC_LEN + 1, 8);
    }
    *why = "authentication failed (other KEK or tenant, renamed or damaged)";
    err = cmk_store_unseal_raw(tenant, key, file, in, hdr_len,
                               in->p[MAGIC_LEN] == FORMAT_VERSION, &pt);
    if (err == CMK_E_NOMEM)
        *why = "out of memory";
    if (err != CMK_OK)
        goto out;
    *why = "malformed attribute list";
    err = decode(pt.p, pt.len, out);
out:
    cmk_secret_free(&pt);
    return err;
}

cmk_err cmk_store_seal_obj(const char *tenant, const struct cmk_secret *key,
                           const char *name, uint64_t version,
                           const struct cmk_attrs *attrs, struct cmk_buf *out)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];

    snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
    return seal(tenant, key, file, version, attrs, out);
}

cmk_err cmk_store_unseal_obj(const char *tenant, const struct cmk_secret *key,
                             const char *name, const struct cmk_buf *in,
                             uint64_t *version, struct cmk_attrs *out,
                             const char **why)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];

    snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
    return unseal(tenant, key, file, in, version, out, why);
}

bool cmk_store_is_format1(const struct cmk_buf *in)
{
    return in->len > MAGIC_LEN && memcmp(in->p, MAGIC, MAGIC_LEN) == 0 &&
           in->p[MAGIC_LEN] == FORMAT_V1;
}

bool cmk_store_is_name(const char *s)
{
    return is_name(s);
}

bool cmk_store_is_obj_file(const char *s)
{
    return is_obj_file(s);
}

cmk_err cmk_store_derive_key(const uint8_t *kek, size_t kek_len,
                             struct cmk_secret *key)
{
    return derive_key(kek, kek_len, key);
}

/* ---- Files ---- */

cmk_err cmk_store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cmk_err err = CMK_OK;

    if (fd < 0)
        return CMK_E_IO;
    if (fsync(fd) != 0)
        err = CMK_E_IO;
    close(fd);
    return err;
}

const char *cmk_store_errstr(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE) */
}

#define errstr cmk_store_errstr
#define fsync_dir cmk_store_fsync_dir

/* mkdir -p with mode 0700 for every directory it creates. */
cmk_err cmk_store_make_dir(const char *dir)
{
    char *p = cmk_strdup(dir);
    char eb[128];
    struct stat st;
    size_t i;
    int e = ENOTDIR;

    if (p == NULL)
        return CMK_E_NOMEM;
    for (i = 1; p[i] != '\0'; i++) {
        if (p[i] != '/')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            goto fail;
        p[i] = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        goto fail;
    free(p);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return cmk_trust_dir_log("object store", dir, false);
    goto log;
fail:
    e = errno;
    free(p);
log:
    cmk_log_error("object store %s: cannot create directory: %s", dir,
                  errstr(e, eb, sizeof(eb)));
    return CMK_E_IO;
}

/* Writes data to a fresh temp file, fsyncs, renames over final. */
static cmk_err replace_file(const char *dir, const char *tmp, const char *final,
                            const struct cmk_buf *data)
{
    cmk_err err;
    int fd, e;

    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return CMK_E_IO;
    err = cmk_fd_write_all(fd, data->p, data->len);
    if (err == CMK_OK && fsync(fd) != 0)
        err = CMK_E_IO;
    if (close(fd) != 0 && err == CMK_OK)
        err = CMK_E_IO;
    if (err == CMK_OK && rename(tmp, final) != 0)
        err = CMK_E_IO;
    if (err != CMK_OK) {
        e = errno;
        unlink(tmp); /* the old file, if any, stays as it was */
        errno = e;
        return err;
    }
    return fsync_dir(dir);
}

/* tmp "<dir>/.tmp-<file>-<random>" never matches the object pattern. */
cmk_err cmk_store_write_atomic(const char *dir, const char *file,
                               const struct cmk_buf *data,
                               struct cmk_store_stamp *st)
{
    char rnd[CMK_STORE_NAME_LEN + 1];
    char *final = NULL, *tmp = NULL, *tail = NULL;
    char eb[128];
    cmk_err err = CMK_E_NOMEM;

    cmk_store_new_name(rnd);
    tail = cat3(file, "-", rnd);
    tmp = tail != NULL ? cat3(dir, "/.tmp-", tail) : NULL;
    final = cat3(dir, "/", file);
    if (tmp == NULL || final == NULL)
        goto out;
    err = replace_file(dir, tmp, final, data);
    if (err != CMK_OK)
        cmk_log_error("object store %s: cannot write %s: %s", dir, file,
                      errstr(errno, eb, sizeof(eb)));
    if (err == CMK_OK && st != NULL)
        err = cmk_store_lstat(final, st);
out:
    free(tail);
    free(final);
    free(tmp);
    return err;
}

void cmk_store_stamp_of(const struct stat *s, struct cmk_store_stamp *st)
{
    st->dev = (uint64_t)s->st_dev;
    st->ino = (uint64_t)s->st_ino;
    st->size = (uint64_t)s->st_size;
    st->mtime_ns = (int64_t)s->st_mtim.tv_sec * 1000000000 + s->st_mtim.tv_nsec;
    st->ctime_ns = (int64_t)s->st_ctim.tv_sec * 1000000000 + s->st_ctim.tv_nsec;
}

cmk_err cmk_store_lstat(const char *path, struct cmk_store_stamp *st)
{
    struct stat s;

    if (lstat(path, &s) != 0)
        return errno == ENOENT || errno == ENOTDIR ? CMK_E_KEY_NOT_FOUND
                                                   : CMK_E_IO;
    cmk_store_stamp_of(&s, st);
    return CMK_OK;
}

bool cmk_store_stamp_equal(const struct cmk_store_stamp *a,
                           const struct cmk_store_stamp *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

cmk_err cmk_store_stat(const char *dir, const char *name,
                       struct cmk_store_stamp *st)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    char *path;
    cmk_err err;

    if (dir == NULL || name == NULL || !is_name(name))
        return CMK_E_ARGS;
    snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
    path = cat3(dir, "/", file);
    if (path == NULL)
        return CMK_E_NOMEM;
    err = cmk_store_lstat(path, st);
    free(path);
    return err;
}

cmk_err cmk_store_stat_manifest(const char *dir, struct cmk_store_stamp *st)
{
    char *path = cat3(dir, "/", CMK_STORE_MANIFEST);
    cmk_err err;

    if (path == NULL)
        return CMK_E_NOMEM;
    err = cmk_store_lstat(path, st);
    free(path);
    if (err == CMK_E_KEY_NOT_FOUND) {
        memset(st, 0, sizeof(*st));
        err = CMK_OK;
    }
    return err;
}

/* ---- Loading ---- */

/* Reads a whole file (regular, at most FILE_MAX bytes). CMK_E_KEY_NOT_FOUND
 * when it does not exist. */
cmk_err cmk_store_read_file(int dfd, const char *file, struct cmk_buf *out,
                            struct cmk_store_stamp *stamp, const char **why)
{
    struct stat st;
    size_t got = 0;
    ssize_t n;
    cmk_err err = CMK_E_IO;
    int fd;

    *why = "cannot open";
    /* O_NONBLOCK: a FIFO planted under an object name must not hang us. */
    fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            *why = "missing";
            return CMK_E_KEY_NOT_FOUND;
        }
        return CMK_E_IO;
    }
    *why = "not a regular file";
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    *why = "larger than 1 MiB";
    if (st.st_size > FILE_MAX)
        goto out;
    if (stamp != NULL)
        cmk_store_stamp_of(&st, stamp);
    *why = "out of memory";
    err = cmk_buf_alloc(out, (size_t)st.st_size);
    if (err != CMK_OK)
        goto out;
    *why = "read error";
    while (got < out->len) {
        n = read(fd, out->p + got, out->len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* shrank under us: only rename replaces files */
            err = CMK_E_IO;
            goto out;
        }
        got += (size_t)n;
    }
    err = CMK_OK;
out:
    close(fd);
    if (err != CMK_OK)
        cmk_buf_free(out);
    return err;
}
