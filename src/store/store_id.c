/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store: the store's random id, "<dir>/store-id" (32 hex digits and a
 * newline, mode 0600), made once when the store is first opened writable
 * and checked on every read. Token serials are derived from it.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mech/mech.h"
#include "store/store.h"
#include "store/store_int.h"
#include "util/fdio.h"
#include "util/log.h"
#include "util/trust.h"

#define ID_HEX (CMK_STORE_ID_LEN * 2)
#define ID_FILE_LEN (ID_HEX + 1) /* with its newline */

/* Heap "<dir>/<file>". */
static char *path_of(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static bool is_hex(const uint8_t *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    }
    return true;
}

/* The file's bytes as an id (size already checked); a refusal names
 * the file and the fault. */
static cmk_err parse_id(const char *path, const uint8_t *buf,
                        uint8_t id[CMK_STORE_ID_LEN])
{
    if (!is_hex(buf, ID_HEX) || buf[ID_HEX] != '\n' ||
        sodium_hex2bin(id, CMK_STORE_ID_LEN, (const char *)buf, ID_HEX, NULL,
                       NULL, NULL) != 0) {
        cmk_log_error("%s: expected %u lowercase hex digits and a newline, "
                      "found other characters",
                      path, (unsigned)ID_HEX);
        return CMK_E_BAD_BLOB;
    }
    return CMK_OK;
}

static cmk_err read_open(const char *path, int fd, uint8_t id[CMK_STORE_ID_LEN])
{
    uint8_t buf[ID_FILE_LEN];
    struct stat st;
    char eb[128];

    if (fstat(fd, &st) != 0 || st.st_size != ID_FILE_LEN) {
        cmk_log_error("%s: expected %u lowercase hex digits and a newline "
                      "(%u bytes), found %lld bytes",
                      path, (unsigned)ID_HEX, (unsigned)ID_FILE_LEN,
                      (long long)st.st_size);
        return CMK_E_BAD_BLOB;
    }
    if (cmk_fd_read_exact(fd, buf, sizeof(buf)) == CMK_E_IO) {
        cmk_log_error("%s: read error: %s", path,
                      cmk_store_errstr(errno, eb, sizeof(eb)));
        return CMK_E_IO;
    }
    return parse_id(path, buf, id); /* a file that changed size: refused */
}

/* CMK_E_KEY_NOT_FOUND when there is none yet; other refusals logged. */
static cmk_err read_id(const char *path, uint8_t id[CMK_STORE_ID_LEN])
{
    char why[512];
    cmk_err err;
    int fd = -1;

    err = cmk_trust_open(path, O_RDONLY | O_NONBLOCK, 0, 0, &fd, why,
                         sizeof(why));
    if (err == CMK_E_KEY_NOT_FOUND)
        return err;
    if (err != CMK_OK) {
        cmk_log_error("store id %s", why);
        return err;
    }
    err = read_open(path, fd, id);
    close(fd);
    return err;
}

/* A new id in a temp file (0600, fsynced), linked to its name only if
 * that does not exist: of two processes making one at once, one wins and
 * both then read the winner's. CMK_E_CONFLICT when another id won. */
static cmk_err create_id(const char *dir, const char *path)
{
    uint8_t rnd[CMK_STORE_ID_LEN];
    char text[ID_FILE_LEN + 1], name[CMK_STORE_NAME_LEN + 1];
    char tmp_file[sizeof(".tmp-store-id-") + CMK_STORE_NAME_LEN];
    char *tmp, eb[128];
    cmk_err err = CMK_E_IO;
    int fd;

    cmk_random(rnd, sizeof(rnd));
    sodium_bin2hex(text, sizeof(text), rnd, sizeof(rnd));
    text[ID_HEX] = '\n';
    cmk_store_new_name(name);
    snprintf(tmp_file, sizeof(tmp_file), ".tmp-store-id-%s", name);
    tmp = path_of(dir, tmp_file);
    if (tmp == NULL)
        return CMK_E_NOMEM;
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 &&
        cmk_fd_write_all(fd, (const uint8_t *)text, ID_FILE_LEN) == CMK_OK &&
        fsync(fd) == 0)
        err = CMK_OK;
    if (fd >= 0 && close(fd) != 0)
        err = CMK_E_IO;
    if (err == CMK_OK && link(tmp, path) != 0)
        err = errno == EEXIST ? CMK_E_CONFLICT : CMK_E_IO;
    if (err == CMK_E_IO)
        cmk_log_error("%s: cannot be created: %s", path,
                      cmk_store_errstr(errno, eb, sizeof(eb)));
    unlink(tmp);
    free(tmp);
    if (err == CMK_OK)
        err = cmk_store_fsync_dir(dir);
    return err;
}

cmk_err cmk_store_id(const char *dir, uint8_t id[CMK_STORE_ID_LEN])
{
    char *path;
    cmk_err err;

    if (dir == NULL || id == NULL)
        return CMK_E_ARGS;
    path = path_of(dir, CMK_STORE_ID_FILE);
    if (path == NULL)
        return CMK_E_NOMEM;
    err = cmk_store_make_dir(dir); /* trusted, or refused and logged */
    if (err == CMK_OK)
        err = read_id(path, id);
    if (err == CMK_E_KEY_NOT_FOUND) {
        err = create_id(dir, path);
        if (err == CMK_OK || err == CMK_E_CONFLICT)
            err = read_id(path, id);
    }
    free(path);
    return err;
}
