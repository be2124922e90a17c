/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: whole reads and writes on a file descriptor (store files, the PIN
 * counter, key files).
 */
#include <config.h>

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <unistd.h>

#include "util/fdio.h"

cmk_err cmk_fd_write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    ssize_t n;

    while (len > 0) {
        n = write(fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CMK_E_IO;
        b += n;
        len -= (size_t)n;
    }
    return CMK_OK;
}

cmk_err cmk_fd_read_exact(int fd, void *p, size_t len)
{
    uint8_t *b = p, extra = 0;
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        n = read(fd, b + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return CMK_E_IO;
        if (n == 0)
            return CMK_E_BAD_BLOB;
        got += (size_t)n;
    }
    do {
        n = read(fd, &extra, 1);
    } while (n < 0 && errno == EINTR);
    sodium_memzero(&extra, sizeof(extra));
    if (n < 0)
        return CMK_E_IO;
    return n == 0 ? CMK_OK : CMK_E_BAD_BLOB;
}
