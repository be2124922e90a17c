/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: whole writes to a file descriptor (store files, the PIN counter).
 */
#include <config.h>

#include <errno.h>
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
