/* AVX2+FMA sliding-window planes: the scheme of cpu_depthwise_avx512.c with
 * 8 columns per vector. Column stride 2 keeps the even inputs of 16 with
 * vshufps, which leaves them in the lane order 0 1 4 5 2 3 6 7: every tap
 * comes in that order, so the accumulators stay permuted and one vpermpd
 * puts them right before the epilogue. Masked loads use vmaskmovps (which
 * reads nothing in masked-off lanes) and a blend for the padding value. */
#include "cpu_eltwise_avx2.h"

#include <math.h>

/* The loops over rows and taps must unroll: their bounds are constants
 * after inlining, and their arrays must live in registers. */
#define UNROLL _Pragma("GCC unroll 32")
#define ROWS   4
#define KMAX   5 /* largest kernel side compiled fixed */

void cpu_window_avx2(int op, const struct cpu_window *g, const struct cpu_plane *p);

/* The tap vector of output columns [ox, ox + 8) for input row xr at tap
 * column offset ix, stride S (S = 2: in the permuted lane order). */
AVX2_INLINE __m256 tap_load(const float *xr, int64_t ix, int S, int masked, __m256i m0, __m256i m1,
                            __m256 fill)
{
    if (S == 1) return masked ? load_fill8(xr + ix, m0, fill) : _mm256_loadu_ps(xr + ix);
    __m256 lo = masked ? load_fill8(xr + ix, m0, fill) : _mm256_loadu_ps(xr + ix);
    __m256 hi = masked ? load_fill8(xr + ix + 8, m1, fill) : _mm256_loadu_ps(xr + ix + 8);
    return _mm256_shuffle_ps(lo, hi, 0x88);
}

/* Undoes the stride-2 lane order. */
AVX2_INLINE __m256 unpermute(__m256 v, int S)
{
    if (S == 1) return v;
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xd8));
}

AVX2_INLINE __m256 tap_apply(int op, __m256 acc, __m256 v, __m256 wk)
{
    if (op == CPU_WIN_DW) return _mm256_fmadd_ps(v, wk, acc);
    if (op == CPU_WIN_MAX) return _mm256_max_ps(v, acc); /* a NaN tap loses, as in the reference */
    return _mm256_add_ps(acc, v);
}

AVX2_INLINE void out_store(int op, const struct cpu_window *g, const struct cpu_plane *p,
                           int64_t oy, int64_t ox, int64_t nl, __m256 acc)
{
    const int64_t at = oy * g->ow + ox;
    const __m256i sm = tail_mask8(nl);
    if (op == CPU_WIN_DW) {
        if (p->sum)
            acc = _mm256_add_ps(acc, nl == 8 ? _mm256_loadu_ps(p->sum + at)
                                             : _mm256_maskload_ps(p->sum + at, sm));
        acc = act8(acc, p->act);
    } else if (op == CPU_WIN_AVG) {
        __m256 cs =
            nl == 8 ? _mm256_loadu_ps(p->colscale + ox) : _mm256_maskload_ps(p->colscale + ox, sm);
        acc = _mm256_mul_ps(acc, _mm256_mul_ps(_mm256_set1_ps(p->rowscale[oy]), cs));
    }
    if (nl == 8)
        _mm256_storeu_ps(p->y + at, acc);
    else
        _mm256_maskstore_ps(p->y + at, sm, acc);
}

/* R output rows from oy, every column, kernel KH x KW, strides S, no
 * dilation. */
AVX2_INLINE void rows_fixed(int op, const struct cpu_window *g, const struct cpu_plane *p,
                            int64_t oy, const int R, const int KH, const int KW, const int S)
{
    const __m256 init = op == CPU_WIN_DW    ? _mm256_set1_ps(p->bias)
                        : op == CPU_WIN_MAX ? _mm256_set1_ps(-INFINITY)
                                            : _mm256_setzero_ps();
    const __m256 fill = op == CPU_WIN_MAX ? _mm256_set1_ps(-INFINITY) : _mm256_setzero_ps();
    const int64_t w = g->w, ow = g->ow;
    for (int64_t ox = 0; ox < ow; ox += 8) {
        const int64_t nl = ow - ox < 8 ? ow - ox : 8;
        const int64_t ix0 = ox * S - g->pl;
        const int masked = ix0 < 0 || ix0 + (KW - 1) + 8 * S > w;
        __m256i mk[KMAX][2];
        UNROLL
        for (int kj = 0; kj < KW; kj++) {
            mk[kj][0] = masked ? range_mask8(ix0 + kj, w) : _mm256_setzero_si256();
            mk[kj][1] = masked ? range_mask8(ix0 + kj + 8, w) : _mm256_setzero_si256();
        }
        __m256 acc[ROWS];
        UNROLL
        for (int r = 0; r < R; r++) acc[r] = init;
        UNROLL
        for (int t = 0; t < (R - 1) * S + KH; t++) {
            const int64_t iy = oy * S - g->pt + t;
            if (iy < 0 || iy >= g->h) continue;
            const float *xr = p->x + iy * w;
            __m256 v[KMAX];
            UNROLL
            for (int kj = 0; kj < KW; kj++)
                v[kj] = tap_load(xr, ix0 + kj, S, masked, mk[kj][0], mk[kj][1], fill);
            if (op != CPU_WIN_DW) {
                /* pooling is separable: the row's taps combined once */
                __m256 h = fill;
                UNROLL
                for (int kj = 0; kj < KW; kj++) h = tap_apply(op, h, v[kj], fill);
                UNROLL
                for (int r = 0; r < R; r++) {
                    const int ki = t - r * S;
                    if (ki >= 0 && ki < KH) acc[r] = tap_apply(op, acc[r], h, fill);
                }
                continue;
            }
            UNROLL
            for (int r = 0; r < R; r++) {
                const int ki = t - r * S;
                if (ki < 0 || ki >= KH) continue;
                UNROLL
                for (int kj = 0; kj < KW; kj++)
                    acc[r] = tap_apply(op, acc[r], v[kj],
                                       op == CPU_WIN_DW ? _mm256_broadcast_ss(p->k + ki * KW + kj)
                                                        : fill);
            }
        }
        UNROLL
        for (int r = 0; r < R; r++) out_store(op, g, p, oy + r, ox, nl, unpermute(acc[r], S));
    }
}

AVX2_INLINE void plane_fixed(int op, const struct cpu_window *g, const struct cpu_plane *p,
                             const int KH, const int KW, const int S)
{
    int64_t oy = 0;
    for (; oy + ROWS <= g->oh; oy += ROWS) rows_fixed(op, g, p, oy, ROWS, KH, KW, S);
    for (; oy < g->oh; oy++) rows_fixed(op, g, p, oy, 1, KH, KW, S);
}

/* Any kernel size and dilation, column stride 1 or 2: one output row at a
 * time, taps in loops. */
static void plane_loops(int op, const struct cpu_window *g, const struct cpu_plane *p)
{
    const __m256 init = op == CPU_WIN_DW    ? _mm256_set1_ps(p->bias)
                        : op == CPU_WIN_MAX ? _mm256_set1_ps(-INFINITY)
                                            : _mm256_setzero_ps();
    const __m256 fill = op == CPU_WIN_MAX ? _mm256_set1_ps(-INFINITY) : _mm256_setzero_ps();
    const int64_t w = g->w, ow = g->ow, span = (g->kw - 1) * g->dw;
    const int S = (int)g->sw;
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t ox = 0; ox < ow; ox += 8) {
            const int64_t nl = ow - ox < 8 ? ow - ox : 8;
            const int64_t ix0 = ox * S - g->pl;
            const int masked = ix0 < 0 || ix0 + span + 8 * S > w;
            __m256 acc = init;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const int64_t iy = oy * g->sh - g->pt + ki * g->dh;
                if (iy < 0 || iy >= g->h) continue;
                const float *xr = p->x + iy * w;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const int64_t ix = ix0 + kj * g->dw;
                    __m256i m0 = _mm256_setzero_si256(), m1 = m0;
                    if (masked) {
                        m0 = range_mask8(ix, w);
                        m1 = range_mask8(ix + 8, w);
                    }
                    __m256 v = S == 1 ? tap_load(xr, ix, 1, masked, m0, m1, fill)
                                      : tap_load(xr, ix, 2, masked, m0, m1, fill);
                    __m256 wk = op == CPU_WIN_DW ? _mm256_set1_ps(p->k[ki * g->kw + kj]) : fill;
                    acc = tap_apply(op, acc, v, wk);
                }
            }
            out_store(op, g, p, oy, ox, nl, S == 1 ? acc : unpermute(acc, 2));
        }
    }
}

#define PLANE_FIXED(name, OP, K, S)                                                                \
    static void name(const struct cpu_window *g, const struct cpu_plane *p)                        \
    {                                                                                              \
        plane_fixed(OP, g, p, K, K, S);                                                            \
    }
PLANE_FIXED(dw3s1, CPU_WIN_DW, 3, 1)
PLANE_FIXED(dw3s2, CPU_WIN_DW, 3, 2)
PLANE_FIXED(dw5s1, CPU_WIN_DW, 5, 1)
PLANE_FIXED(dw5s2, CPU_WIN_DW, 5, 2)
PLANE_FIXED(max3s1, CPU_WIN_MAX, 3, 1)
PLANE_FIXED(max3s2, CPU_WIN_MAX, 3, 2)
PLANE_FIXED(max2s2, CPU_WIN_MAX, 2, 2)
PLANE_FIXED(avg3s1, CPU_WIN_AVG, 3, 1)
PLANE_FIXED(avg3s2, CPU_WIN_AVG, 3, 2)
PLANE_FIXED(avg2s2, CPU_WIN_AVG, 2, 2)

void cpu_window_avx2(int op, const struct cpu_window *g, const struct cpu_plane *p)
{
    if (g->sw > 2) {
        cpu_window_generic(op, g, p);
        return;
    }
    const bool square = g->kh == g->kw && g->sh == g->sw && g->dh == 1 && g->dw == 1;
    const int64_t k = square ? g->kh : 0, s = g->sh;
    void (*fixed)(const struct cpu_window *, const struct cpu_plane *) = NULL;
    if (op == CPU_WIN_DW) {
        if (k == 3) fixed = s == 1 ? dw3s1 : dw3s2;
        if (k == 5) fixed = s == 1 ? dw5s1 : dw5s2;
    } else if (op == CPU_WIN_MAX) {
        if (k == 3) fixed = s == 1 ? max3s1 : max3s2;
        if (k == 2 && s == 2) fixed = max2s2;
    } else {
        if (k == 3) fixed = s == 1 ? avg3s1 : avg3s2;
        if (k == 2 && s == 2) fixed = avg2s2;
    }
    if (fixed)
        fixed(g, p);
    else
        plane_loops(op, g, p);
    if (op == CPU_WIN_DW && act8_scalar(p->act))
        ir_act_apply(p->act, p->y, (size_t)(g->oh * g->ow));
}
