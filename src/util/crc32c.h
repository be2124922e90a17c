/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: CRC32C (Castagnoli, reflected polynomial 0x82F63B78, RFC 3720
 * appendix B.4), the checksum Google Cloud KMS puts on request and answer
 * payloads. Uses the SSE4.2 crc32 instruction when the CPU has it (checked
 * at run time, so the build needs no -msse4.2) and a table otherwise.
 * No state, no locks: safe from any thread.
 */
#ifndef CMK_CRC32C_H
#define CMK_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC32C of p[0..n) continued from crc, the CRC32C of the bytes
 * before (0 for none): update(update(0, a), b) == cmk_crc32c(a || b).
 * p may be NULL when n is 0. */
uint32_t cmk_crc32c_update(uint32_t crc, const void *p, size_t n);
/* The CRC32C of p[0..n): cmk_crc32c("123456789", 9) == 0xE3069283. */
uint32_t cmk_crc32c(const void *p, size_t n);

/* The two implementations behind cmk_crc32c_update, for tests. The
 * hardware one may be called only when cmk_crc32c_has_hw() is true. */
uint32_t cmk_crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t cmk_crc32c_hw(uint32_t crc, const void *p, size_t n);
/* True when this CPU has the SSE4.2 crc32 instruction. */
bool cmk_crc32c_has_hw(void);

#endif /* CMK_CRC32C_H */
