/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the audit file's space grown by appending 0x00 (agrow.h).
 *
 * Why appending: a writer copies its record into a shared mapping of the
 * file, so the file's pages must exist before the copy. Faulting in
 * fallocated (unwritten) pages goes through the kernel's read and
 * page_mkwrite paths page by page; a write builds the same pages in
 * large folios, at a third of the CPU time. A write at an offset could
 * overwrite a record another process copied there meanwhile; an
 * appending write lands past everything in the file when it is made, and
 * every record lies within the file's size (space is handed out only
 * within it).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "audit/agrow.h"

/* Per write: the inode lock is held that long at a time. */
#define ZERO_BYTES ((size_t)64 << 10)

/* Never written: its pages are the kernel's zero page. */
static char zeros[ZERO_BYTES];

#ifdef RWF_APPEND
/* len bytes of 0x00 appended. EOPNOTSUPP: not on this kernel. */
static int append_zeros(int fd, uint64_t len)
{
    struct iovec iov;
    ssize_t w;

    while (len > 0) {
        iov.iov_base = zeros;
        iov.iov_len = len < ZERO_BYTES ? (size_t)len : ZERO_BYTES;
        /* the offset is ignored with RWF_APPEND (not -1: the file
         * position stays where it is) */
        w = pwritev2(fd, &iov, 1, 0, RWF_APPEND);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == EINVAL ? EOPNOTSUPP : errno;
        if (w == 0)
            return EIO;
        len -= (uint64_t)w;
    }
    return 0;
}
#else
static int append_zeros(int fd, uint64_t len)
{
    (void)fd;
    (void)len;
    return EOPNOTSUPP;
}
#endif

static int size_of(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return errno;
    *size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

int cmk_agrow(int fd, uint64_t from, uint64_t len)
{
    uint64_t size = 0, want = from + len;
    int e;

    /* The blocks, in one extent where it can, also under holes in the
     * size (KEEP_SIZE: what appending finds there is its to fill). */
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)len) != 0)
        return errno;
    e = size_of(fd, &size);
    if (e != 0 || size >= want) /* grown by another writer meanwhile */
        return e;
    e = append_zeros(fd, want - size);
    /* whoever's write it was: another writer appending at the same time
     * may have taken the last of the space (ENOSPC, EFBIG) for both */
    if (size_of(fd, &size) == 0 && size >= want)
        return 0;
    if (e != 0 && e != EOPNOTSUPP)
        return e;
    /* Not appended, or cut short under its writers meanwhile: the size
     * itself, as it is. */
    return fallocate(fd, 0, (off_t)from, (off_t)len) == 0 ? 0 : errno;
}
