/* SPDX-License-Identifier: Apache-2.0 */
/*
 * util: clears the vector registers after keyed work. AES-NI and
 * GHASH code keeps round keys and H in XMM/YMM/ZMM registers, and a core
 * dump saves every thread's register file (NT_X86_XSTATE), so a schedule
 * kept only in protected memory would still reach the dump through them.
 */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>

#include "util/regs.h"

#if defined(__x86_64__) && defined(__GNUC__)
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_avx, g_avx512;

/* libgcc checks XCR0 too: a feature counts only if the OS saves it. */
static void probe(void)
{
    __builtin_cpu_init();
    g_avx = __builtin_cpu_supports("avx") != 0;
    g_avx512 = __builtin_cpu_supports("avx512f") != 0;
}

#define XMM_CLOBBERS                                                           \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/* VZEROALL clears YMM0-15 and, with AVX-512, bits 511:256 of ZMM0-15;
 * ZMM16-31 need their own instructions. */
__attribute__((noinline, target("avx512f"))) static void wipe_avx512(void)
{
    __asm__ volatile("vzeroall\n\t"
                     "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
                     "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                     "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
                     "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                     "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
                     "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                     "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
                     "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                     "vpxord %%zmm24, %%zmm24, %%zmm24\n\t"
                     "vpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                     "vpxord %%zmm26, %%zmm26, %%zmm26\n\t"
                     "vpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                     "vpxord %%zmm28, %%zmm28, %%zmm28\n\t"
                     "vpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                     "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
                     "vpxord %%zmm31, %%zmm31, %%zmm31"
                     :
                     :
                     : XMM_CLOBBERS, "xmm16", "xmm17", "xmm18", "xmm19",
                       "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
                       "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

__attribute__((noinline, target("avx"))) static void wipe_avx(void)
{
    __asm__ volatile("vzeroall" : : : XMM_CLOBBERS);
}

__attribute__((noinline)) static void wipe_sse(void)
{
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
                     "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
                     "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                     "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
                     "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
                     "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                     "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
                     "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
                     :
                     :
                     : XMM_CLOBBERS);
}

void cmk_regs_wipe(void)
{
    (void)pthread_once(&g_once, probe);
    if (g_avx512)
        wipe_avx512();
    else if (g_avx)
        wipe_avx();
    else
        wipe_sse();
}
#else
void cmk_regs_wipe(void)
{
}
#endif
