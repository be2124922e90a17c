/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tool: reads and vets a customer's key file for import-key (keyfile.h).
 * Every refusal says which rule the file breaks and never shows a byte
 * of its content.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool/keyfile.h"
#include "tool/tool.h"
#include "util/fdio.h"

size_t tool_key_period(const uint8_t *k, size_t n)
{
    size_t p, i;

    for (p = 1; p <= TOOL_KEY_PERIOD_MAX && p < n; p++) {
        for (i = 0; i + p < n && k[i] == k[i + p]; i++)
            ;
        if (i + p == n)
            return p;
    }
    return 0;
}

static int open_key(const char *path)
{
    int fd =
        open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd >= 0)
        return fd;
    if (errno == ELOOP)
        tool_err("%s: is a symbolic link: give the key file itself", path);
    else
        tool_err("%s: cannot open: %s", path, strerror(errno));
    return -1;
}

/* Kind, owner, mode and size, before a byte is read. */
static int check_file(int fd, const char *path)
{
    struct stat st;

    if (fstat(fd, &st) != 0) {
        tool_err("%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        tool_err("%s: not a regular file", path);
        return -1;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        tool_err("%s: owned by uid %ld, must be owned by you or root", path,
                 (long)st.st_uid);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        tool_err("%s: readable or writable by group or others (mode %04o): "
                 "key material must be mode 0600",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    if (st.st_size != (off_t)TOOL_IMPORT_KEY_LEN) {
        tool_err("%s: %lld bytes: key material must be exactly %u bytes "
                 "(a raw AES-256 key)",
                 path, (long long)st.st_size, TOOL_IMPORT_KEY_LEN);
        return -1;
    }
    return 0;
}

static int check_content(const char *path, const uint8_t *k, size_t n)
{
    size_t p;

    if (sodium_is_zero(k, n)) {
        tool_err("%s: all %zu bytes are zero: not key material", path, n);
        return -1;
    }
    p = tool_key_period(k, n);
    if (p == 1) {
        tool_err("%s: one byte repeated %zu times: not random key material",
                 path, n);
        return -1;
    }
    if (p != 0) {
        tool_err("%s: a pattern of %zu bytes repeated: not random key "
                 "material",
                 path, p);
        return -1;
    }
    return 0;
}

int tool_keyfile_read(const char *path, struct cmk_secret *key)
{
    uint8_t extra;
    int fd, rc = -1;

    key->p = NULL;
    key->len = 0;
    fd = open_key(path);
    if (fd < 0)
        return TOOL_USAGE;
    if (check_file(fd, path) != 0)
        goto out;
    if (cmk_secret_alloc(key, TOOL_IMPORT_KEY_LEN) != CMK_OK) {
        tool_err("out of memory");
        goto out;
    }
    /* Exactly 32 bytes, also if the file changed since fstat. */
    if (cmk_fd_read_exact(fd, key->p, key->len) != CMK_OK ||
        read(fd, &extra, 1) != 0) {
        tool_err("%s: changed while read: key material must be exactly %u "
                 "bytes",
                 path, TOOL_IMPORT_KEY_LEN);
        goto out;
    }
    rc = check_content(path, key->p, key->len);
out:
    close(fd);
    if (rc != 0)
        cmk_secret_free(key);
    return rc == 0 ? TOOL_OK : TOOL_USAGE;
}
