/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: what the fuzz targets share: the libFuzzer entry point, a
 * reader that turns input bytes into choices, a per-process scratch
 * directory and the invariant check that turns a wrong answer into a crash.
 */
#ifndef CMK_FUZZ_H
#define CMK_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The target (one per program), called by libFuzzer or by replay.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input bytes consumed front to back; an exhausted reader gives zeros. */
struct fz {
    const uint8_t *p;
    size_t n;
};

uint8_t fz_u8(struct fz *f);
uint16_t fz_u16(struct fz *f);
uint32_t fz_u32(struct fz *f);
uint64_t fz_u64(struct fz *f);
/* Up to max bytes (fewer when the input runs out); *len gets the count. */
const uint8_t *fz_bytes(struct fz *f, size_t max, size_t *len);

/* A heap copy of p[0..n) with a NUL after it, sized exactly so that a read
 * past the NUL is caught by ASan. Aborts when out of memory. */
char *fz_strndup(const uint8_t *p, size_t n);

/* A directory under $TMPDIR (default /tmp) made on first use and removed
 * when the process exits normally. */
const char *fz_scratch(void);
/* Writes p[0..n) to dir/name (mode 0600, replaced if it exists); the path
 * goes to out[out_len]. Aborts on failure. */
void fz_write(const char *dir, const char *name, const void *p, size_t n,
              char *out, size_t out_len);

/* Aborts with what on stderr unless ok: a broken invariant is a crash
 * for libFuzzer and a failure for the replay. */
void fz_check(bool ok, const char *what);

#endif /* CMK_FUZZ_H */
