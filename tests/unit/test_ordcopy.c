/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: the copy in address order (util/ordcopy.h). It copies exactly
 * (every length 0..300 at every alignment 0..15 of source and
 * destination, nothing written outside), and a copy stopped part way
 * leaves a prefix of the source: the destination ends k bytes before an
 * inaccessible page, for every k below the length, and the fault that
 * stops the copy must find src[0..j) written, nothing after it, and j
 * less than one store (16 bytes) short of k. glibc's memcpy fails that
 * check: its stores are 32 bytes wide, and it stores the end of a 129-256
 * byte copy before its middle, which is what left a killed audit writer's
 * record as two bad lines (a head, 0x00, then a headless tail).
 */
#include <config.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/ordcopy.h"

#define MAX_LEN 300
#define STORE 16 /* the widest store the copy makes */

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(1 + (i * 7 + seed) % 255); /* never 0x00 */
}

static void test_exact(void **state)
{
    unsigned char src[MAX_LEN + 32], dst[MAX_LEN + 64];

    (void)state;
    for (size_t n = 0; n <= MAX_LEN; n++) {
        for (size_t so = 0; so < 16; so++) {
            for (size_t d_o = 0; d_o < 16; d_o++) {
                fill(src, sizeof(src), (unsigned)(n + so));
                memset(dst, 0xEE, sizeof(dst));
                cmk_copy_ascending(dst + 16 + d_o, src + so, n);
                assert_memory_equal(dst + 16 + d_o, src + so, n);
                for (size_t i = 0; i < 16 + d_o; i++)
                    assert_int_equal(dst[i], 0xEE);
                for (size_t i = 16 + d_o + n; i < sizeof(dst); i++)
                    assert_int_equal(dst[i], 0xEE);
            }
        }
    }
}

static sigjmp_buf g_fault;

static void on_fault(int sig)
{
    (void)sig;
    siglongjmp(g_fault, 1);
}

/* Copies n bytes to end - k (end: the start of an inaccessible page) and
 * checks what a fault left: a prefix of src, at most one store short. */
static void stopped_at(unsigned char *end, const unsigned char *src, size_t n,
                       size_t k)
{
    unsigned char *dst = end - k;
    volatile int faulted = 0;
    size_t j;

    memset(dst, 0, k);
    if (sigsetjmp(g_fault, 1) == 0)
        cmk_copy_ascending(dst, src, n);
    else
        faulted = 1;
    if (!faulted)
        fail_msg("copy of %zu bytes ending past the page did not fault", n);
    for (j = 0; j < k && dst[j] == src[j]; j++)
        ;
    for (size_t i = j; i < k; i++) {
        if (dst[i] != 0)
            fail_msg("n %zu, %zu bytes before the page: byte %zu written "
                     "after byte %zu was not (not a prefix)",
                     n, k, i, j);
    }
    if (k - j >= STORE)
        fail_msg("n %zu, %zu bytes before the page: only %zu written when "
                 "the copy stopped",
                 n, k, j);
}

static void test_prefix_when_stopped(void **state)
{
    long page = sysconf(_SC_PAGESIZE);
    struct sigaction sa, old_segv, old_bus;
    unsigned char src[MAX_LEN], *map;
    static const size_t lens[] = {1,   7,   8,   15,  16,  17,  31,     64,
                                  100, 129, 200, 236, 256, 257, MAX_LEN};

    (void)state;
    map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGSEGV, &sa, &old_segv), 0);
    assert_int_equal(sigaction(SIGBUS, &sa, &old_bus), 0);
    for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
        fill(src, lens[l], (unsigned)l);
        for (size_t k = 0; k < lens[l]; k++)
            stopped_at(map + page, src, lens[l], k);
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    munmap(map, (size_t)page * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_prefix_when_stopped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
