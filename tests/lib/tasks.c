/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: threads by name (tasks.h).
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/tasks.h"

/* Whether thread tid's comm is name. */
static int named(const char *tid, const char *name)
{
    char path[sizeof("/proc/self/task//comm") + 256], comm[32];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0; /* it ended meanwhile */
    n = fread(comm, 1, sizeof(comm) - 1, f);
    fclose(f);
    comm[n] = '\0';
    if (n > 0 && comm[n - 1] == '\n')
        comm[n - 1] = '\0';
    return strcmp(comm, name) == 0;
}

int test_threads_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int count = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            count += named(e->d_name, name);
    }
    closedir(d);
    return count;
}
