/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core: token objects on disk, one sealed file per object. Sealing is
 * XChaCha20-Poly1305 (libsodium) under HKDF-SHA256 of the tenant KEK
 * (mech, in the secure pool); writes are temp file + fsync + rename.
 */
#include <config.h> /* autoconf; "config.h" would find core/config.h */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/store.h"
#include "mech/mech.h"
#include "util/log.h"
#include "util/secmem.h"

#define MAGIC "CMKO"
#define MAGIC_LEN 4
#define FORMAT_VERSION 1
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HDR_LEN (MAGIC_LEN + 1 + NONCE_LEN)
#define FILE_MAX (1024 * 1024)
#define KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES
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

    randombytes_buf(r, sizeof(r));
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

/* AAD = tenant || 0x00 || "<name>.obj". */
static cmk_err make_aad(const char *tenant, const char *file,
                        struct cmk_buf *aad)
{
    size_t t = strlen(tenant), f = strlen(file);
    cmk_err err;

    err = cmk_buf_alloc(aad, t + 1 + f);
    if (err != CMK_OK)
        return err;
    memcpy(aad->p, tenant, t);
    aad->p[t] = 0;
    memcpy(aad->p + t + 1, file, f);
    return CMK_OK;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Payload: u32 count, then u64 type, u32 length, bytes per attribute. */
static cmk_err encode(const struct cmk_attrs *attrs, struct cmk_secret *pt)
{
    const size_t max = FILE_MAX - HDR_LEN - TAG_LEN; /* what load accepts */
    size_t i, len = 4, off = 4;
    cmk_err err;

    for (i = 0; i < attrs->n; i++) {
        if (attrs->v[i].len > max)
            return CMK_E_TOO_LARGE;
        len += ATTR_HDR + attrs->v[i].len;
        if (len > max)
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

static cmk_err seal(const char *tenant, const struct cmk_secret *key,
                    const char *file, const struct cmk_attrs *attrs,
                    struct cmk_buf *out)
{
    struct cmk_secret pt = {0};
    struct cmk_buf aad = {0};
    cmk_err err;

    err = encode(attrs, &pt);
    if (err == CMK_OK)
        err = make_aad(tenant, file, &aad);
    if (err == CMK_OK)
        err = cmk_buf_alloc(out, HDR_LEN + pt.len + TAG_LEN);
    if (err != CMK_OK)
        goto out;
    memcpy(out->p, MAGIC, MAGIC_LEN);
    out->p[MAGIC_LEN] = FORMAT_VERSION;
    randombytes_buf(out->p + MAGIC_LEN + 1, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out->p + HDR_LEN, NULL, pt.p,
                                               pt.len, aad.p, aad.len, NULL,
                                               out->p + MAGIC_LEN + 1, key->p);
out:
    cmk_secret_free(&pt);
    cmk_buf_free(&aad);
    return err;
}

/* Opens a file image; *why names the reason on failure (never content). */
static cmk_err unseal(const char *tenant, const struct cmk_secret *key,
                      const char *file, const struct cmk_buf *in,
                      struct cmk_attrs *out, const char **why)
{
    struct cmk_secret pt = {0};
    struct cmk_buf aad = {0};
    cmk_err err = CMK_E_BAD_BLOB;

    *why = "too short";
    if (in->len < HDR_LEN + TAG_LEN)
        goto out;
    *why = "not an object file (bad magic)";
    if (memcmp(in->p, MAGIC, MAGIC_LEN) != 0)
        goto out;
    *why = "unsupported format version";
    if (in->p[MAGIC_LEN] != FORMAT_VERSION)
        goto out;
    *why = "out of memory";
    err = make_aad(tenant, file, &aad);
    if (err == CMK_OK)
        err = cmk_secret_alloc(&pt, in->len - HDR_LEN - TAG_LEN);
    if (err != CMK_OK)
        goto out;
    *why = "authentication failed (other KEK or tenant, renamed or damaged)";
    err = CMK_E_BAD_CIPHERTEXT;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt.p, NULL, NULL, in->p + HDR_LEN, in->len - HDR_LEN, aad.p,
            aad.len, in->p + MAGIC_LEN + 1, key->p) != 0)
        goto out;
    *why = "malformed attribute list";
    err = decode(pt.p, pt.len, out);
out:
    cmk_secret_free(&pt);
    cmk_buf_free(&aad);
    return err;
}

/* ---- Files ---- */

static cmk_err write_all(int fd, const uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CMK_E_IO;
        p += n;
        len -= (size_t)n;
    }
    return CMK_OK;
}

static cmk_err fsync_dir(const char *dir)
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

static const char *errstr(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU variant (_GNU_SOURCE) */
}

/* mkdir -p with mode 0700 for every directory it creates. */
static cmk_err make_dir(const char *dir)
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
        return CMK_OK;
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
    err = write_all(fd, data->p, data->len);
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

/* tmp "<dir>/.tmp-<name>-<random>" never matches the object pattern. */
static cmk_err write_atomic(const char *dir, const char *name,
                            const struct cmk_buf *data)
{
    char rnd[CMK_STORE_NAME_LEN + 1];
    char tail[2 * CMK_STORE_NAME_LEN + sizeof(SUFFIX) + 2];
    char *final = NULL, *tmp = NULL;
    char eb[128];
    cmk_err err = CMK_E_NOMEM;

    cmk_store_new_name(rnd);
    snprintf(tail, sizeof(tail), "%s-%s", name, rnd);
    tmp = cat3(dir, "/.tmp-", tail);
    snprintf(tail, sizeof(tail), "%s%s", name, SUFFIX);
    final = cat3(dir, "/", tail);
    if (tmp == NULL || final == NULL)
        goto out;
    err = replace_file(dir, tmp, final, data);
    if (err != CMK_OK)
        cmk_log_error("object store %s: cannot write %s: %s", dir, tail,
                      errstr(errno, eb, sizeof(eb)));
out:
    free(final);
    free(tmp);
    return err;
}

static bool args_ok(const char *dir, const char *tenant, const uint8_t *kek,
                    size_t kek_len)
{
    return dir != NULL && dir[0] != '\0' && tenant != NULL && kek != NULL &&
           kek_len != 0;
}

cmk_err cmk_store_write(const char *dir, const char *tenant, const uint8_t *kek,
                        size_t kek_len, const char *name,
                        const struct cmk_attrs *attrs)
{
    struct cmk_secret key = {0};
    struct cmk_buf data = {0};
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    cmk_err err;

    if (!args_ok(dir, tenant, kek, kek_len) || name == NULL || !is_name(name) ||
        attrs == NULL)
        return CMK_E_ARGS;
    snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
    err = make_dir(dir);
    if (err == CMK_OK)
        err = derive_key(kek, kek_len, &key);
    if (err == CMK_OK)
        err = seal(tenant, &key, file, attrs, &data);
    if (err == CMK_OK)
        err = write_atomic(dir, name, &data);
    cmk_secret_free(&key);
    cmk_buf_free(&data);
    return err;
}

cmk_err cmk_store_remove(const char *dir, const char *name)
{
    char file[CMK_STORE_NAME_LEN + sizeof(SUFFIX)];
    char *path;
    cmk_err err = CMK_OK;

    if (dir == NULL || name == NULL || !is_name(name))
        return CMK_E_ARGS;
    snprintf(file, sizeof(file), "%s%s", name, SUFFIX);
    path = cat3(dir, "/", file);
    if (path == NULL)
        return CMK_E_NOMEM;
    if (unlink(path) == 0)
        err = fsync_dir(dir);
    else if (errno != ENOENT)
        err = CMK_E_IO;
    free(path);
    return err;
}

/* ---- Loading ---- */

/* Reads a whole object file (regular, at most FILE_MAX bytes). */
static cmk_err read_obj(int dfd, const char *file, struct cmk_buf *out,
                        const char **why)
{
    struct stat st;
    size_t got = 0;
    ssize_t n;
    cmk_err err = CMK_E_IO;
    int fd;

    *why = "cannot open";
    /* O_NONBLOCK: a FIFO planted under an object name must not hang us. */
    fd = openat(dfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return CMK_E_IO;
    *why = "not a regular file";
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    *why = "larger than 1 MiB";
    if (st.st_size > FILE_MAX)
        goto out;
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

static void load_one(int dfd, const char *dir, const char *tenant,
                     const struct cmk_secret *key, const char *file,
                     cmk_store_cb cb, void *arg)
{
    char name[CMK_STORE_NAME_LEN + 1];
    struct cmk_attrs attrs = {0};
    struct cmk_buf data = {0};
    const char *why = NULL;
    cmk_err err;

    err = read_obj(dfd, file, &data, &why);
    if (err == CMK_OK)
        err = unseal(tenant, key, file, &data, &attrs, &why);
    cmk_buf_free(&data);
    if (err != CMK_OK) {
        cmk_log_error("object store %s: file %s skipped: %s", dir, file, why);
        return;
    }
    memcpy(name, file, CMK_STORE_NAME_LEN);
    name[CMK_STORE_NAME_LEN] = '\0';
    cb(arg, name, &attrs); /* takes ownership of attrs */
}

cmk_err cmk_store_load_all(const char *dir, const char *tenant,
                           const uint8_t *kek, size_t kek_len, cmk_store_cb cb,
                           void *arg)
{
    struct cmk_secret key = {0};
    struct dirent *de;
    char eb[128];
    DIR *d = NULL;
    cmk_err err;
    int dfd;

    if (!args_ok(dir, tenant, kek, kek_len) || cb == NULL)
        return CMK_E_ARGS;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == ENOENT)
        return CMK_OK; /* no store yet */
    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        cmk_log_error("object store %s: cannot open: %s", dir,
                      errstr(errno, eb, sizeof(eb)));
        if (dfd >= 0)
            close(dfd);
        return CMK_E_IO;
    }
    err = derive_key(kek, kek_len, &key);
    while (err == CMK_OK && (de = readdir(d)) != NULL) {
        if (is_obj_file(de->d_name))
            load_one(dfd, dir, tenant, &key, de->d_name, cb, arg);
    }
    closedir(d); /* closes dfd */
    cmk_secret_free(&key);
    return err;
}
