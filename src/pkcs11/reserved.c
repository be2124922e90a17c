/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11: the C_Initialize reserved pointer. PKCS#11 says it must be NULL;
 * p11-kit's x-init-reserved passes a string there, which we take to name
 * the config. The pointer comes from the application and may be anything
 * (a conformance suite passes (void *)1), so it is read through the kernel,
 * which answers EFAULT instead of letting us fault.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "pkcs11/reserved.h"

/* Below this no mapping can exist (vm.mmap_min_addr is at least 4096):
 * small integers passed as pointers are refused without a system call. */
#define LOWEST_ADDRESS 65536u
#define CHUNK 4096u

/* Can the first byte at src be read? The kernel answers EFAULT for an
 * unmapped or unreadable page instead of letting us fault. */
static bool probe(const int fd[2], const uint8_t *src)
{
    uint8_t b;
    ssize_t w, r;

    do
        w = write(fd[1], src, 1);
    while (w < 0 && errno == EINTR);
    if (w != 1)
        return false;
    do
        r = read(fd[0], &b, 1);
    while (r < 0 && errno == EINTR);
    return r == 1;
}

/* The string at p, NUL included, into buf[size]; false when unreadable
 * or not terminated within size bytes. Each page is probed through the
 * kernel once, then read up to the NUL or its end (a readable byte means
 * a readable page). */
static bool read_string(const void *p, char *buf, size_t size)
{
    const uint8_t *src = p;
    size_t off = 0;
    int fd[2];
    bool ok = false;

    if ((uintptr_t)p < LOWEST_ADDRESS || pipe2(fd, O_CLOEXEC) != 0)
        return false;
    while (off < size && !ok) {
        if (!probe(fd, src + off))
            break;
        do {
            buf[off] = (char)src[off];
            ok = buf[off] == '\0';
            off++;
        } while (!ok && off < size && ((uintptr_t)src + off) % CHUNK != 0);
    }
    (void)close(fd[0]);
    (void)close(fd[1]);
    return ok;
}

static bool is_printable(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

/* "config=/ABS" among space-separated words, or "/ABS" alone. The
 * config= word judged is the first one, which cmk_config_locate takes:
 * an absolute one after it must not let a relative one through. */
static bool is_documented_form(const char *s)
{
    const char *w = s, *e;

    while (*w == ' ' || *w == '\t')
        w++;
    if (*w == '\0')
        return true; /* nothing named */
    if (*w == '/' && strchr(w, '=') == NULL)
        return true;
    for (; *w != '\0'; w = e) {
        while (*w == ' ' || *w == '\t')
            w++;
        for (e = w; *e != '\0' && *e != ' ' && *e != '\t'; e++)
            ;
        if ((size_t)(e - w) > 7 && strncmp(w, "config=", 7) == 0)
            return w[7] == '/';
    }
    return false;
}

CK_RV cmk_reserved_copy(const void *p, char *buf, size_t size)
{
    if (p == NULL || buf == NULL || size == 0)
        return CKR_ARGUMENTS_BAD;
    if (!read_string(p, buf, size) || !is_printable(buf) ||
        !is_documented_form(buf)) {
        memset(buf, 0, size);
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}
