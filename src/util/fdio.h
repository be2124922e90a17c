/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: whole reads and writes on a file descriptor, across short reads
 * and writes and signals.
 */
#ifndef CMK_FDIO_H
#define CMK_FDIO_H

#include <stddef.h>
#include "util/err.h"

/* Writes all len bytes of p to fd (retrying EINTR and short writes).
 * CMK_E_IO on any error; errno is then the write's. */
cmk_err cmk_fd_write_all(int fd, const void *p, size_t len) CMK_WUR;

/* Reads exactly len bytes into p and checks that nothing follows (a file
 * may grow between fstat and read). CMK_E_IO on a read error (errno is
 * the read's), CMK_E_BAD_BLOB when fewer or more bytes are there. The
 * probe byte read past the end is wiped; p is not (the caller owns it). */
cmk_err cmk_fd_read_exact(int fd, void *p, size_t len) CMK_WUR;

#endif /* CMK_FDIO_H */
