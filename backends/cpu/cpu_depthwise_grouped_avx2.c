/* AVX2+FMA grouped convolution: the scheme of cpu_depthwise_grouped_avx512.c
 * with 8 output channels over 8 output columns per call (16 registers).
 * Stride 2 keeps its taps in the lane order vshufps leaves (0 1 4 5 2 3 6
 * 7) and puts the accumulators right at the store; the flat layout reads
 * its 16-bit tap masks 8 bits at a time. */
#include "cpu_eltwise_avx2.h"

#define UNROLL _Pragma("GCC unroll 32")
#define OB     8 /* output channels per call */
#define KMAX   5

/* Named accumulators: an array would live in memory across the runtime
 * loop over input channels. */
#define ACC_EACH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ACC_DECL(o) __m256 a##o = _mm256_set1_ps(a->bias[o]);
#define ACC_FMA(o)  a##o = _mm256_fmadd_ps(xv, _mm256_broadcast_ss(wt + o), a##o);
#define ACC_STORE(o)                                                                               \
    if (o < a->nout) output_store(a, unpermute(a##o, S), o, at, n);

void cpu_gconv_avx2(const struct cpu_gconv *a);

AVX2_INLINE __m256 tap_load(const float *xr, int64_t ix, int S, int masked, __m256i m0, __m256i m1)
{
    const __m256 zero = _mm256_setzero_ps();
    if (S == 1) return masked ? load_fill8(xr + ix, m0, zero) : _mm256_loadu_ps(xr + ix);
    __m256 lo = masked ? load_fill8(xr + ix, m0, zero) : _mm256_loadu_ps(xr + ix);
    __m256 hi = masked ? load_fill8(xr + ix + 8, m1, zero) : _mm256_loadu_ps(xr + ix + 8);
    return _mm256_shuffle_ps(lo, hi, 0x88);
}

AVX2_INLINE __m256 unpermute(__m256 v, int S)
{
    if (S == 1) return v;
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xd8));
}

/* Stores n outputs of output channel o from `at`. */
AVX2_INLINE void output_store(const struct cpu_gconv *a, __m256 v, int o, int64_t at, int64_t n)
{
    const int64_t off = o * a->yplane + at;
    const __m256i m = tail_mask8(n);
    if (a->sum)
        v = _mm256_add_ps(v, n == 8 ? _mm256_loadu_ps(a->sum + off)
                                    : _mm256_maskload_ps(a->sum + off, m));
    v = act8(v, a->act);
    if (n == 8)
        _mm256_storeu_ps(a->y + off, v);
    else
        _mm256_maskstore_ps(a->y + off, m, v);
}

static void gconv_flat(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    const int64_t plane = g->oh * g->ow, xplane = a->xplane, taps = g->kh * g->kw;
    const __m256i bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const int S = 1;
    for (int64_t i0 = 0; i0 < plane; i0 += 8) {
        const int64_t n = plane - i0 < 8 ? plane - i0 : 8, at = i0;
        const uint16_t *mk = a->flat + i0 / 16 * taps;
        const int shift = (int)(i0 % 16);
        ACC_EACH(ACC_DECL)
        for (int64_t ci = 0; ci < a->cg; ci++) {
            const float *xc = a->x + ci * xplane + i0;
            const float *wc = a->w + ci * taps * OB;
            for (int64_t t = 0; t < taps; t++) {
                const __m256i lanes = _mm256_set1_epi32((mk[t] >> shift) & 0xff);
                const __m256i m = _mm256_cmpeq_epi32(_mm256_and_si256(lanes, bits), bits);
                const __m256 xv = _mm256_maskload_ps(xc + a->flat_off[t], m);
                const float *wt = wc + t * OB;
                ACC_EACH(ACC_FMA)
            }
        }
        ACC_EACH(ACC_STORE)
    }
}

/* 8 output columns from ox of row oy; K x K kernel, stride S. */
AVX2_INLINE void chunk(const struct cpu_gconv *a, int64_t oy, int64_t ox, const int K, const int S,
                       const int MASKED, const __m256i *mk)
{
    const struct cpu_window *g = a->g;
    const int64_t xplane = a->xplane, ix0 = ox * S - g->pl;
    const __m256i none = _mm256_setzero_si256();
    ACC_EACH(ACC_DECL)
    for (int64_t ci = 0; ci < a->cg; ci++) {
        UNROLL
        for (int ki = 0; ki < K; ki++) {
            const int64_t iy = oy * S - g->pt + ki;
            if (iy < 0 || iy >= g->h) continue;
            const float *xr = a->x + ci * xplane + iy * g->w;
            UNROLL
            for (int kj = 0; kj < K; kj++) {
                const __m256 xv = tap_load(xr, ix0 + kj, S, MASKED, MASKED ? mk[2 * kj] : none,
                                           MASKED ? mk[2 * kj + 1] : none);
                const float *wt = a->w + ((ci * K + ki) * K + kj) * OB;
                ACC_EACH(ACC_FMA)
            }
        }
    }
    const int64_t n = g->ow - ox < 8 ? g->ow - ox : 8, at = oy * g->ow + ox;
    ACC_EACH(ACC_STORE)
}

AVX2_INLINE void gconv_rows(const struct cpu_gconv *a, const int K, const int S)
{
    const struct cpu_window *g = a->g;
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t ox = 0; ox < g->ow; ox += 8) {
            const int64_t ix0 = ox * S - g->pl;
            if (ix0 >= 0 && ix0 + (K - 1) + 8 * S <= g->w) {
                chunk(a, oy, ox, K, S, 0, NULL);
                continue;
            }
            __m256i mk[2 * KMAX];
            UNROLL
            for (int kj = 0; kj < K; kj++) {
                mk[2 * kj] = range_mask8(ix0 + kj, g->w);
                mk[2 * kj + 1] = range_mask8(ix0 + kj + 8, g->w);
            }
            chunk(a, oy, ox, K, S, 1, mk);
        }
    }
}

#define GCONV_ROWS(name, K, S)                                                                     \
    static void name(const struct cpu_gconv *a)                                                    \
    {                                                                                              \
        gconv_rows(a, K, S);                                                                       \
    }
GCONV_ROWS(rows1s1, 1, 1)
GCONV_ROWS(rows1s2, 1, 2)
GCONV_ROWS(rows3s1, 3, 1)
GCONV_ROWS(rows3s2, 3, 2)
GCONV_ROWS(rows5s1, 5, 1)
GCONV_ROWS(rows5s2, 5, 2)

void cpu_gconv_avx2(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    static void (*const rows[3][2])(const struct cpu_gconv *) = { { rows1s1, rows1s2 },
                                                                  { rows3s1, rows3s2 },
                                                                  { rows5s1, rows5s2 } };
    if (a->flat)
        gconv_flat(a);
    else
        rows[g->kh / 2][g->sh - 1](a);
    if (act8_scalar(a->act)) {
        const int64_t plane = g->oh * g->ow;
        for (int o = 0; o < a->nout; o++) ir_act_apply(a->act, a->y + o * a->yplane, (size_t)plane);
    }
}
