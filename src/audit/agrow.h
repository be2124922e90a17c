/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: growing the audit file's allocated space (afile.c's extend).
 */
#ifndef CMK_AUDIT_AGROW_H
#define CMK_AUDIT_AGROW_H

#include <stdint.h>

/* [from, from + len) of the file allocated and its size at least
 * from + len. The new space is written with 0x00 by appending at the
 * file's end, whatever that end is when the write lands, so the page
 * cache holds it ready to map (a third of the kernel's work of faulting
 * in fallocated pages one by one) and no record anyone has written is
 * ever overwritten. Where appending is not available, the space is
 * fallocated as it is. Returns 0, EOPNOTSUPP when the file system has no
 * fallocate (the caller writes with pwrite), or another errno (ENOSPC,
 * EFBIG; the space is not there). */
int cmk_agrow(int fd, uint64_t from, uint64_t len);

#endif
