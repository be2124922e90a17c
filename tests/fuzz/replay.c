/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: the main() of a fuzz target built without libFuzzer. Runs
 * LLVMFuzzerTestOneInput once per file: the files and directories named
 * on the command line, or the target's committed corpus
 * (tests/fuzz/corpus/FUZZ_NAME under $top_srcdir) when none are named,
 * which is how `make check` runs it. Exit 0 when every file ran, 99 on an
 * empty corpus or an unreadable file; a crash or broken invariant aborts.
 */
#include <config.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX (1024 * 1024)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL, *copy = NULL;
    size_t n = 0;
    int rc = 99;

    buf = malloc(REPLAY_MAX);
    if (f == NULL || buf == NULL)
        goto out;
    n = fread(buf, 1, REPLAY_MAX, f);
    if (ferror(f) || !feof(f))
        goto out;
    /* An exact-size copy, so a read past the input is caught by ASan. */
    copy = malloc(n > 0 ? n : 1);
    if (copy == NULL)
        goto out;
    if (n > 0)
        memcpy(copy, buf, n);
    printf("%s (%zu bytes)\n", path, n);
    fflush(stdout);
    (void)LLVMFuzzerTestOneInput(copy, n);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "replay: cannot read %s\n", path);
    if (f != NULL)
        fclose(f);
    free(copy);
    free(buf);
    return rc;
}

static int skip_dot(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Every file of dir, in name order; *count grows by the files run. */
static int run_dir(const char *dir, size_t *count)
{
    struct dirent **ents = NULL;
    char path[4096];
    int n, i, rc = 0;

    n = scandir(dir, &ents, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot read directory %s\n", dir);
        return 99;
    }
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if (rc == 0)
            rc = run_file(path);
        (*count)++;
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int run_arg(const char *path, size_t *count)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file %s\n", path);
        return 99;
    }
    if (S_ISDIR(st.st_mode))
        return run_dir(path, count);
    (*count)++;
    return run_file(path);
}

int main(int argc, char **argv)
{
    const char *top = getenv("top_srcdir");
    char dflt[4096];
    size_t count = 0;
    int i, rc = 0;

    if (top == NULL || top[0] == '\0')
        top = SRCDIR;
    snprintf(dflt, sizeof(dflt), "%s/tests/fuzz/corpus/%s", top, FUZZ_NAME);
    if (argc < 2)
        rc = run_arg(dflt, &count);
    for (i = 1; i < argc && rc == 0; i++)
        rc = run_arg(argv[i], &count);
    if (rc == 0 && count == 0) {
        fprintf(stderr, "replay: no input files\n");
        rc = 99;
    }
    if (rc == 0)
        printf("%s: %zu inputs replayed\n", FUZZ_NAME, count);
    return rc;
}
