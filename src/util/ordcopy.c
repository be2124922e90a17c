/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: the copy in address order (ordcopy.h). The empty asm between
 * stores stops the compiler from merging, reordering or turning the loop
 * into a memcpy call; the CPU retires stores in program order, and a
 * retired store reaches memory even when the process is killed after it.
 */
#include <config.h>

#include <stdint.h>
#include <string.h>

#include "util/ordcopy.h"

#ifdef __SSE2__
#include <emmintrin.h>
#define STEP 16
static inline void store_step(char *d, const char *s)
{
    _mm_storeu_si128((__m128i *)(void *)d,
                     _mm_loadu_si128((const __m128i *)(const void *)s));
}
#else
#define STEP 8
static inline void store_step(char *d, const char *s)
{
    uint64_t w;

    memcpy(&w, s, sizeof(w));
    memcpy(d, &w, sizeof(w));
}
#endif

#define IN_ORDER() __asm__ volatile("" ::: "memory")

void cmk_copy_ascending(void *dst, const void *src, size_t n)
{
    char *d = dst;
    const char *s = src;
    size_t i = 0;

    if (n < STEP) {
        for (; i < n; i++) {
            d[i] = s[i];
            IN_ORDER();
        }
        return;
    }
    for (; i + STEP <= n; i += STEP) {
        store_step(d + i, s + i);
        IN_ORDER();
    }
    /* the last step ends at n, rewriting bytes already there with the
     * same values: what is written is still a prefix */
    if (i < n)
        store_step(d + n - STEP, s + n - STEP);
}
