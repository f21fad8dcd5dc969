#include "cpu_isa.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int cpu_isa_detect(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CPU_ISA_GENERIC;
    bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
    if (!osxsave || !avx || !fma) return CPU_ISA_GENERIC;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return CPU_ISA_GENERIC; /* OS saves XMM and YMM */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return CPU_ISA_GENERIC;
    bool avx2 = b & (1u << 5);
    if (!avx2) return CPU_ISA_GENERIC;
    bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
    if (avx512 && (xcr0 & 0xe6) == 0xe6) return CPU_ISA_AVX512; /* opmask, ZMM state */
    return CPU_ISA_AVX2;
}
#else
int cpu_isa_detect(void)
{
    return CPU_ISA_GENERIC;
}
#endif

int cpu_isa_parse(const char *name)
{
    if (!name) return -1;
    if (strcmp(name, "generic") == 0) return CPU_ISA_GENERIC;
    if (strcmp(name, "avx2") == 0) return CPU_ISA_AVX2;
    if (strcmp(name, "avx512") == 0) return CPU_ISA_AVX512;
    return -1;
}

const char *cpu_isa_name(int isa)
{
    switch (isa) {
    case CPU_ISA_AVX2: return "avx2";
    case CPU_ISA_AVX512: return "avx512";
    default: return "generic";
    }
}

size_t cpu_cache_l2_bytes(void)
{
    static _Atomic size_t cached; /* every thread computes the same value */
    size_t bytes = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!bytes) {
        long v = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
        v = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        bytes = v >= 64 * 1024 ? (size_t)v : 512 * 1024;
        atomic_store_explicit(&cached, bytes, memory_order_relaxed);
    }
    return bytes;
}

int cpu_isa_default(void)
{
    int best = cpu_isa_detect();
    int forced = cpu_isa_parse(getenv("INFERD_CPU_ISA"));
    return forced >= 0 && forced < best ? forced : best;
}
