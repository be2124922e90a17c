/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: scratch directories under $TMPDIR that are gone when the test
 * program ends, whether its assertions passed or not.
 */
#ifndef CMK_TEST_SCRATCH_H
#define CMK_TEST_SCRATCH_H

#include <stddef.h>

/* Where scratch directories go: $TMPDIR with symbolic links resolved (the
 * module refuses paths reached through one), or /tmp when TMPDIR is unset,
 * empty, relative or missing. Writes it into base[size]; 0, or -1. */
int test_scratch_base(char *base, size_t size);

/*
 * Makes a new directory BASE/PREFIX-XXXXXX (mode 0700) and writes its path
 * into dir[size]. The process that made it removes it with everything in
 * it when it exits (atexit), so a failed assertion leaves nothing behind;
 * a forked child's exit leaves it alone. Call from the test's main thread.
 * 0 on success, -1 with errno set.
 */
int test_scratch_make(const char *prefix, char *dir, size_t size);

/* Removes dir and everything below it now, without following symbolic
 * links (read-only directories inside are made writable first), and
 * forgets it. 0 when it is gone. */
int test_scratch_remove(const char *dir);

#endif /* CMK_TEST_SCRATCH_H */
