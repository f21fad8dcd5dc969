/* AVX-512 depthwise planes in the flat layout (cpu_eltwise.h, cpu_dw_flat):
 * a plane of up to 64 floats (7x7, 8x8) is at most four vectors, every tap
 * one masked load per vector at a fixed offset, with no transposition into
 * channel lanes (the blocked path's two passes) and no per-row masks. Two
 * channels at a time give eight independent accumulator chains. */
#include "cpu_eltwise_avx512.h"

#define UNROLL _Pragma("GCC unroll 8")

void cpu_dw_flat_avx512(const struct cpu_dw_flat *a);

/* Channels c and c + 1 (C of them: 1 or 2), NV vectors per plane. Each
 * plane is loaded once into registers between zero vectors (rows above
 * and below the plane read zero); tap t's input is the plane shifted by
 * off[t], taken from two neighbouring registers with vpermt2ps, and its lane
 * mask keeps the outputs whose column the tap leaves (a shift wraps rows). */
AVX512_INLINE void flat_channels(const struct cpu_dw_flat *a, int64_t c, const int C, const int NV)
{
    const __m512 zero = _mm512_setzero_ps();
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc[2][4], xp[2][4 + 4];
    UNROLL
    for (int q = 0; q < C; q++) {
        const __m512 b = _mm512_set1_ps(a->bias ? a->bias[c + q] : 0.0f);
        const float *x = a->x + (c + q) * a->xplane;
        xp[q][0] = xp[q][1] = zero;
        UNROLL
        for (int v = 0; v < NV; v++) {
            const int64_t n = a->xplane - 16 * v;
            const __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
            xp[q][2 + v] = _mm512_maskz_loadu_ps(m, x + 16 * v);
            acc[q][v] = b;
        }
        xp[q][2 + NV] = xp[q][3 + NV] = zero;
    }
    const float *w = a->w + c * a->taps;
    for (int64_t t = 0; t < a->taps; t++) {
        const uint16_t *mk = a->mask + t;
        const int64_t off = a->off[t];
        const __m512i idx = _mm512_add_epi32(iota, _mm512_set1_epi32((int)(off & 15)));
        const int blk = (int)(off >> 4); /* -2 .. 1 (cpu_dw_flat_fits) */
        __m512 wk[2];
        UNROLL
        for (int q = 0; q < C; q++) wk[q] = _mm512_set1_ps(w[q * a->taps + t]);
#define FLAT_TAP(B)                                                                                \
    UNROLL                                                                                         \
    for (int q = 0; q < C; q++) {                                                                  \
        UNROLL                                                                                     \
        for (int v = 0; v < NV; v++) {                                                             \
            const __m512 xv = _mm512_permutex2var_ps(xp[q][2 + v + (B)], idx, xp[q][3 + v + (B)]); \
            acc[q][v] = _mm512_mask3_fmadd_ps(xv, wk[q], acc[q][v], mk[v * a->taps]);              \
        }                                                                                          \
    }
        switch (blk) {
        case -2: FLAT_TAP(-2) break;
        case -1: FLAT_TAP(-1) break;
        case 0: FLAT_TAP(0) break;
        default: FLAT_TAP(1) break;
        }
#undef FLAT_TAP
    }
    UNROLL
    for (int q = 0; q < C; q++) {
        float *y = a->y + (c + q) * a->yplane;
        const float *sum = a->sum ? a->sum + (c + q) * a->yplane : NULL;
        UNROLL
        for (int v = 0; v < NV; v++) {
            const int64_t n = a->yplane - 16 * v;
            const __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
            __m512 r = acc[q][v];
            if (sum) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, sum + 16 * v));
            _mm512_mask_storeu_ps(y + 16 * v, m, act16(r, a->act));
        }
    }
}

AVX512_INLINE void flat_run(const struct cpu_dw_flat *a, const int NV)
{
    int64_t c = 0;
    for (; c + 2 <= a->nch; c += 2) flat_channels(a, c, 2, NV);
    if (c < a->nch) flat_channels(a, c, 1, NV);
}

void cpu_dw_flat_avx512(const struct cpu_dw_flat *a)
{
    switch ((a->yplane + 15) / 16) {
    case 1: flat_run(a, 1); break;
    case 2: flat_run(a, 2); break;
    case 3: flat_run(a, 3); break;
    default: flat_run(a, 4); break;
    }
    if (act16_scalar(a->act))
        for (int64_t c = 0; c < a->nch; c++)
            ir_act_apply(a->act, a->y + c * a->yplane, (size_t)a->yplane);
}
