/* AVX-512 grouped convolution with few channels per group (RegNet's 16):
 * 16 output channels of a group at once, one accumulator each, over 16
 * output columns; every input vector loaded feeds 16 FMAs whose weights are
 * broadcast straight from memory, so the loads cost next to nothing and no
 * im2col copy is made. At stride 1 over planes whose rows are as wide as
 * the input's, the outputs run 16 in a row across row ends (precomputed tap
 * masks), so a 7x7 plane fills 49 of 64 lanes instead of 7 of 16. */
#include "cpu_depthwise_avx512.h"

#define OB 16 /* output channels per call */

/* The 16 accumulators are named variables: as an array GCC keeps them in
 * memory across the runtime loop over input channels. */
#define ACC_EACH(X)                                                                                \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ACC_DECL(o) __m512 a##o = _mm512_set1_ps(a->bias[o]);
#define ACC_FMA(o)  a##o = _mm512_fmadd_ps(xv, _mm512_set1_ps(wt[o]), a##o);
#define ACC_STORE(o)                                                                               \
    if (o < a->nout) output_store(a, a##o, o, at, m);

void cpu_gconv_avx512(const struct cpu_gconv *a);

/* Stores 16 outputs of output channel o from `at` (lane mask m). */
AVX512_INLINE void output_store(const struct cpu_gconv *a, __m512 v, int o, int64_t at, __mmask16 m)
{
    const int64_t off = o * a->yplane + at;
    if (a->sum) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, a->sum + off));
    _mm512_mask_storeu_ps(a->y + off, m, act16(v, a->act));
}

static void gconv_flat(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    const int64_t plane = g->oh * g->ow, xplane = a->xplane, taps = g->kh * g->kw;
    for (int64_t i0 = 0; i0 < plane; i0 += 16) {
        const int64_t n = plane - i0 < 16 ? plane - i0 : 16;
        const uint16_t *mk = a->flat + i0 / 16 * taps;
        ACC_EACH(ACC_DECL)
        for (int64_t ci = 0; ci < a->cg; ci++) {
            const float *xc = a->x + ci * xplane + i0;
            const float *wc = a->w + ci * taps * OB;
            for (int64_t t = 0; t < taps; t++) {
                const __m512 xv = _mm512_maskz_loadu_ps(mk[t], xc + a->flat_off[t]);
                const float *wt = wc + t * OB;
                ACC_EACH(ACC_FMA)
            }
        }
        const int64_t at = i0;
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        ACC_EACH(ACC_STORE)
    }
}

/* 16 output columns from ox of row oy; K x K kernel, stride S. */
AVX512_INLINE void chunk(const struct cpu_gconv *a, int64_t oy, int64_t ox, const int K,
                         const int S, const int MASKED, const __mmask16 *mk)
{
    const struct cpu_window *g = a->g;
    const int64_t xplane = a->xplane, ix0 = ox * S - g->pl;
    const __m512 zero = _mm512_setzero_ps();
    ACC_EACH(ACC_DECL)
    for (int64_t ci = 0; ci < a->cg; ci++) {
        UNROLL
        for (int ki = 0; ki < K; ki++) {
            const int64_t iy = oy * S - g->pt + ki;
            if (iy < 0 || iy >= g->h) continue;
            __m512 v[KMAX_TAPS];
            row_taps(v, a->x + ci * xplane + iy * g->w, ix0, K, S, MASKED, mk, zero);
            UNROLL
            for (int kj = 0; kj < K; kj++) {
                const __m512 xv = v[kj];
                const float *wt = a->w + ((ci * K + ki) * K + kj) * OB;
                ACC_EACH(ACC_FMA)
            }
        }
    }
    const int64_t nl = g->ow - ox < 16 ? g->ow - ox : 16, at = oy * g->ow + ox;
    const __mmask16 m = (__mmask16)((1u << nl) - 1u);
    ACC_EACH(ACC_STORE)
}

AVX512_INLINE void gconv_rows(const struct cpu_gconv *a, const int K, const int S)
{
    const struct cpu_window *g = a->g;
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t ox = 0; ox < g->ow; ox += 16) {
            const int64_t ix0 = ox * S - g->pl;
            const int64_t last = S == 1 ? ix0 + K + 14 : ix0 + 31 + S2_EXTRA(K);
            if (ix0 >= 0 && last < g->w) {
                chunk(a, oy, ox, K, S, 0, NULL);
                continue;
            }
            __mmask16 mk[KMAX_TAPS];
            if (S == 1) {
                UNROLL
                for (int kj = 0; kj < K; kj++) mk[kj] = range_mask16(ix0 + kj, g->w);
            } else {
                UNROLL
                for (int i = 0; i < 3; i++) mk[i] = range_mask16(ix0 + 16 * i, g->w);
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

void cpu_gconv_avx512(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    static void (*const rows[3][2])(const struct cpu_gconv *) = { { rows1s1, rows1s2 },
                                                                  { rows3s1, rows3s2 },
                                                                  { rows5s1, rows5s2 } };
    if (a->flat)
        gconv_flat(a);
    else
        rows[g->kh / 2][g->sh - 1](a);
    if (act16_scalar(a->act)) {
        const int64_t plane = g->oh * g->ow;
        for (int o = 0; o < a->nout; o++) ir_act_apply(a->act, a->y + o * a->yplane, (size_t)plane);
    }
}
