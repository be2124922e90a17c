/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/bench: the resident memory of the bench's own process, for the
 * cost curves (cmk-grow, cmk-curve).
 */
#include <config.h>

#include <stdio.h>

#include "bench.h"

long bench_rss_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb;
}
