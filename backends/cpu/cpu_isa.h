/* Run-time CPU dispatch: which instruction-set variant of a kernel to use,
 * decided once from cpuid (and the OS's saved-state support), so one build
 * runs on every x86-64 hub without SIGILL. INFERD_CPU_ISA=generic|avx2|avx512
 * in the environment (or the backend option isa=...) forces a lower level,
 * which the tests use to run the zoo on every path.
 *
 * Variants live in files compiled with their own flags (cpu_*_avx2.c with
 * -mavx2 -mfma, cpu_*_avx512.c with -mavx512f ...); nothing outside those
 * files may use their intrinsics. Arm gets a NEON level beside these. */
#ifndef INFERD_CPU_ISA_H
#define INFERD_CPU_ISA_H

#include <stddef.h>

enum cpu_isa {
    CPU_ISA_GENERIC = 0, /* portable C (the compiler may still use SSE2) */
    CPU_ISA_AVX2 = 1,    /* AVX2 + FMA */
    CPU_ISA_AVX512 = 2,  /* AVX-512 F, BW, VL, DQ */
};

/* The best level this CPU and OS support. */
int cpu_isa_detect(void);
/* Parses "generic", "avx2", "avx512"; -1 when unknown. */
int cpu_isa_parse(const char *name);
const char *cpu_isa_name(int isa);
/* The level kernels use: detect(), lowered by $INFERD_CPU_ISA when set. */
int cpu_isa_default(void);

/* Bytes of one core's L2 cache as the C library reports it; 512 KiB when it
 * reports nothing (the smallest L2 of the x86-64 cores with AVX2). */
size_t cpu_cache_l2_bytes(void);

#endif
