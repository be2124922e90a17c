/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz: helpers shared by the fuzz targets (fuzz.h): the input
 * reader, exact-size string copies, the scratch directory, invariants.
 */
#include <config.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"

/* The module says every refusal on stderr and to syslog. A fuzz run makes
 * millions of refusals: they stay out of the host's log. Definitions in
 * the program take precedence over the C library's; <syslog.h> is not
 * included, as _FORTIFY_SOURCE turns syslog into __syslog_chk there. */
void syslog(int prio, const char *fmt, ...);
void __syslog_chk(int prio, int flag, const char *fmt, ...);

void syslog(int prio, const char *fmt, ...)
{
    (void)prio;
    (void)fmt;
}

void __syslog_chk(int prio, int flag, const char *fmt, ...)
{
    (void)prio;
    (void)flag;
    (void)fmt;
}

uint8_t fz_u8(struct fz *f)
{
    uint8_t v = 0;

    if (f->n > 0) {
        v = f->p[0];
        f->p++;
        f->n--;
    }
    return v;
}

uint16_t fz_u16(struct fz *f)
{
    uint16_t hi = fz_u8(f);

    return (uint16_t)(hi << 8 | fz_u8(f));
}

uint32_t fz_u32(struct fz *f)
{
    uint32_t hi = fz_u16(f);

    return hi << 16 | fz_u16(f);
}

uint64_t fz_u64(struct fz *f)
{
    uint64_t hi = fz_u32(f);

    return hi << 32 | fz_u32(f);
}

const uint8_t *fz_bytes(struct fz *f, size_t max, size_t *len)
{
    const uint8_t *p = f->p;

    *len = max < f->n ? max : f->n;
    f->p += *len;
    f->n -= *len;
    return p;
}

char *fz_strndup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    fz_check(s != NULL, "out of memory");
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static char g_scratch[512];

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path);
    return 0;
}

static void rm_scratch(void)
{
    if (g_scratch[0] != '\0')
        (void)nftw(g_scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_scratch(void)
{
    const char *tmp = getenv("TMPDIR");

    if (g_scratch[0] != '\0')
        return g_scratch;
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    snprintf(g_scratch, sizeof(g_scratch), "%s/cmk-fuzz-XXXXXX", tmp);
    fz_check(mkdtemp(g_scratch) != NULL, "cannot make a scratch directory");
    fz_check(atexit(rm_scratch) == 0, "atexit");
    return g_scratch;
}

void fz_write(const char *dir, const char *name, const void *p, size_t n,
              char *out, size_t out_len)
{
    int fd;
    bool ok;

    fz_check((size_t)snprintf(out, out_len, "%s/%s", dir, name) < out_len,
             "path too long");
    fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    fz_check(fd >= 0, "cannot write a scratch file");
    ok = n == 0 || write(fd, p, n) == (ssize_t)n;
    ok = close(fd) == 0 && ok;
    fz_check(ok, "short write to a scratch file");
}

void fz_check(bool ok, const char *what)
{
    if (ok)
        return;
    /* Also on stdout: libFuzzer's -close_fd_mask=2 closes stderr. */
    printf("fuzz invariant broken: %s\n", what);
    fflush(stdout);
    fprintf(stderr, "fuzz invariant broken: %s\n", what);
    abort();
}
