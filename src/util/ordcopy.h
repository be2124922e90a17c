/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: a copy whose stores land in address order. A process killed (or a
 * thread stopped by a fault) while copying leaves a prefix of the source
 * at the destination, never a later part without the bytes before it:
 * memcpy makes no such promise (glibc's stores the last 32-byte blocks of
 * a 129-256 byte copy before the middle ones). The audit writer copies
 * each record into the shared file with it, so a writer killed in the
 * middle leaves one torn line followed by 0x00, which the verifier reads
 * as one bad region, not as a torn head and a separate headless tail.
 */
#ifndef CMK_ORDCOPY_H
#define CMK_ORDCOPY_H

#include <stddef.h>

/* Copies src[0..n) to dst[0..n) (not overlapping), 16 bytes a store where
 * the CPU has SSE2 and 8 otherwise, each store after the one before in
 * program order. Stopped at any point, dst holds src[0..k) for some k and
 * its old bytes after; a store that faults on a page boundary is refused
 * whole, so k may stop up to one store short of the boundary. */
void cmk_copy_ascending(void *dst, const void *src, size_t n);

#endif /* CMK_ORDCOPY_H */
