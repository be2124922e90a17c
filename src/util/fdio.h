/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: whole writes to a file descriptor, across short writes and
 * signals.
 */
#ifndef CMK_FDIO_H
#define CMK_FDIO_H

#include <stddef.h>
#include "util/err.h"

/* Writes all len bytes of p to fd (retrying EINTR and short writes).
 * CMK_E_IO on any error; errno is then the write's. */
cmk_err cmk_fd_write_all(int fd, const void *p, size_t len) CMK_WUR;

#endif /* CMK_FDIO_H */
