/* AVX-512 sliding-window planes: depthwise convolution, max and average
 * pooling. 16 output columns per vector and four output rows at once, so
 * each loaded input row feeds every output row it belongs to and four
 * accumulator chains hide the FMA latency. Column strides 1 and 2 (the
 * latter loads a row's inputs once and deals them out to the taps with
 * vpermt2ps and valignd).
 *
 * Border handling without per-element checks: a column chunk whose taps all
 * lie inside the row loads plainly; an edge chunk loads with a lane mask per
 * tap (masked-off lanes read nothing and hold the padding value: 0, or -inf
 * for max), and input rows outside the plane are skipped per row. The hot
 * 3x3 and 5x5 kernels are compiled with their size and stride fixed; other
 * sizes and dilations run the same scheme with loops. Pooling at stride 2
 * combines an output row's input rows as loaded and deals the result out to
 * its taps once (the AVX2 level deals every input row). With "same"
 * padding, 3x3 and 5x5 windows load each input row from the output column's
 * own input column rather than from the first tap's, and move lanes in
 * registers (row_taps_s1_mid, row_taps_s2_mid): a load that straddles two
 * cache lines costs about two on Zen 5. */
#include "cpu_depthwise_avx512.h"

#include <math.h>

#define ROWS 4
#define KMAX 5 /* largest kernel side compiled fixed */

AVX512_INLINE __m512 tap_apply(int op, __m512 acc, __m512 v, __m512 wk)
{
    if (op == CPU_WIN_DW) return _mm512_fmadd_ps(v, wk, acc);
    if (op == CPU_WIN_MAX) return _mm512_max_ps(v, acc); /* a NaN tap loses, as in the reference */
    return _mm512_add_ps(acc, v);
}

/* ACT: the activation kind compiled into the store, or ACT_LATER for one
 * left to a pass over the plane (plane_fixed). */
#define ACT_LATER (-1)

AVX512_INLINE void out_store(int op, const struct cpu_window *g, const struct cpu_plane *p,
                             int64_t oy, int64_t ox, __mmask16 sm, __m512 acc, const int ACT)
{
    const int64_t at = oy * g->ow + ox;
    if (op == CPU_WIN_DW) {
        if (p->sum) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(sm, p->sum + at));
        if (ACT != ACT_LATER) acc = act16k(acc, p->act, ACT);
    } else if (op == CPU_WIN_AVG) {
        __m512 cs = _mm512_maskz_loadu_ps(sm, p->colscale + ox);
        acc = _mm512_mul_ps(acc, _mm512_mul_ps(_mm512_set1_ps(p->rowscale[oy]), cs));
    }
    _mm512_mask_storeu_ps(p->y + at, sm, acc);
}

/* R output rows from oy, 16 columns from ox (lane mask sm), kernel KH x KW,
 * strides S, no dilation. MASKED: loads take the lane masks mk (row_taps);
 * else every tap lies inside the row. MID: "same" padding with a 3x3 or 5x5
 * kernel, at stride 1 or 2 (pooling at stride 2: 3x3 only): the row loaded
 * from the output column's own input column (row_taps_s1_mid,
 * row_taps_s2_mid, row_raw_s2_mid), MASKED then meaning mk[0..1] mask those
 * loads. */
AVX512_INLINE void block(int op, const struct cpu_window *g, const struct cpu_plane *p,
                         const __m512 *wk, int64_t oy, int64_t ox, __mmask16 sm,
                         const __mmask16 *mk, const int R, const int KH, const int KW, const int S,
                         const int MASKED, const int MID, const int ACT)
{
    const __m512 fill = op == CPU_WIN_MAX ? _mm512_set1_ps(-INFINITY) : _mm512_setzero_ps();
    const __m512 init = op == CPU_WIN_DW ? _mm512_set1_ps(p->bias) : fill;
    const int64_t ix0 = ox * S - g->pl;
    __m512 acc[2 * ROWS];
    UNROLL
    for (int r = 0; r < R; r++) acc[r] = init;
    if (op != CPU_WIN_DW && S == 2) {
        /* Pooling at stride 2, separable the other way round: the input
         * rows of each output row combined first, as loaded, and the
         * combined row dealt out to its taps once, where dealing each input
         * row took a third of the permutes every output row needs (about
         * 2 input rows an output row) */
        __m512 lo[2 * ROWS], hi[2 * ROWS], ex[2 * ROWS];
        UNROLL
        for (int r = 0; r < R; r++) lo[r] = hi[r] = ex[r] = fill;
        UNROLL
        for (int t = 0; t < (R - 1) * S + KH; t++) {
            const int64_t iy = oy * S - g->pt + t;
            if (iy < 0 || iy >= g->h) continue;
            __m512 l, h, e;
            if (MID)
                row_raw_s2_mid(&l, &h, &e, p->x + iy * g->w, ox * 2, g->w, MASKED, mk, fill,
                               op == CPU_WIN_MAX ? -INFINITY : 0.0f);
            else
                row_raw_s2(&l, &h, &e, p->x + iy * g->w, ix0, KW, MASKED, mk, fill);
            UNROLL
            for (int r = 0; r < R; r++) {
                const int ki = t - r * S;
                if (ki < 0 || ki >= KH) continue;
                lo[r] = tap_apply(op, lo[r], l, fill);
                hi[r] = tap_apply(op, hi[r], h, fill);
                if (KW > 2) ex[r] = tap_apply(op, ex[r], e, fill);
            }
        }
        UNROLL
        for (int r = 0; r < R; r++) {
            __m512 v[KMAX];
            if (MID)
                row_deal_s2_mid(v, lo[r], hi[r], ex[r]);
            else
                row_deal_s2(v, lo[r], hi[r], ex[r], KW);
            UNROLL
            for (int kj = 0; kj < KW; kj++) acc[r] = tap_apply(op, acc[r], v[kj], fill);
            out_store(op, g, p, oy + r, ox, sm, acc[r], ACT);
        }
        return;
    }
    UNROLL
    for (int t = 0; t < (R - 1) * S + KH; t++) {
        const int64_t iy = oy * S - g->pt + t;
        if (iy < 0 || iy >= g->h) continue;
        const float *xr = p->x + iy * g->w;
        __m512 v[KMAX];
        if (MID && S == 2)
            row_taps_s2_mid(v, xr, ox * 2, g->w, KW, MASKED, mk);
        else if (MID)
            row_taps_s1_mid(v, xr, ox, g->w, KW, MASKED, mk, fill,
                            op == CPU_WIN_MAX ? -INFINITY : 0.0f);
        else
            row_taps(v, xr, ix0, KW, S, MASKED, mk, fill);
        if (op != CPU_WIN_DW) {
            /* pooling is separable: the row's taps combined once, then
             * into every output row that reads this input row (9 max per
             * output became about 5 at 3x3) */
            __m512 h = fill;
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
                acc[r] = tap_apply(op, acc[r], v[kj], op == CPU_WIN_DW ? wk[ki * KW + kj] : fill);
        }
    }
    UNROLL
    for (int r = 0; r < R; r++) out_store(op, g, p, oy + r, ox, sm, acc[r], ACT);
}

/* R output rows from oy, every column. */
AVX512_INLINE void rows_fixed(int op, const struct cpu_window *g, const struct cpu_plane *p,
                              int64_t oy, const int R, const int KH, const int KW, const int S,
                              const int ACT)
{
    __m512 wk[KMAX * KMAX];
    UNROLL
    for (int i = 0; i < KH * KW; i++)
        wk[i] = op == CPU_WIN_DW ? _mm512_set1_ps(p->k[i]) : _mm512_setzero_ps();
    const int64_t w = g->w, ow = g->ow;
    const bool mid =
        (S == 1 || op == CPU_WIN_DW || KW == 3) && (KW == 3 || KW == 5) && g->pl == (KW - 1) / 2;
    for (int64_t ox = 0; ox < ow; ox += 16) {
        const int64_t nl = ow - ox < 16 ? ow - ox : 16;
        const __mmask16 sm = (__mmask16)((1u << nl) - 1u);
        const int64_t ix0 = ox * S - g->pl;
        const int64_t last = S == 1 ? ix0 + KW + 14 : ix0 + 31 + S2_EXTRA(KW);
        if (ix0 >= 0 && last < w) {
            if (mid)
                block(op, g, p, wk, oy, ox, sm, NULL, R, KH, KW, S, 0, 1, ACT);
            else
                block(op, g, p, wk, oy, ox, sm, NULL, R, KH, KW, S, 0, 0, ACT);
            continue;
        }
        __mmask16 mk[KMAX];
        if (mid) {
            mk[0] = range_mask16(ox * S, w);
            mk[1] = range_mask16(ox * S + 16, w);
            block(op, g, p, wk, oy, ox, sm, mk, R, KH, KW, S, 1, 1, ACT);
            continue;
        }
        if (S == 1) {
            UNROLL
            for (int kj = 0; kj < KW; kj++) mk[kj] = range_mask16(ix0 + kj, w);
        } else {
            UNROLL
            for (int i = 0; i < 3; i++) mk[i] = range_mask16(ix0 + 16 * i, w);
        }
        block(op, g, p, wk, oy, ox, sm, mk, R, KH, KW, S, 1, 0, ACT);
    }
}

AVX512_INLINE void plane_act(int op, const struct cpu_window *g, const struct cpu_plane *p,
                             const int KH, const int KW, const int S, const int ACT)
{
    /* Eight rows per pass pay off at stride 1 over tall planes (about 10%
     * at 56x56 and 112x112), four elsewhere (min of 8 interleaved runs). */
    int64_t oy = 0;
    if (S == 1 && g->oh >= 28)
        for (; oy + 2 * ROWS <= g->oh; oy += 2 * ROWS)
            rows_fixed(op, g, p, oy, 2 * ROWS, KH, KW, S, ACT);
    for (; oy + ROWS <= g->oh; oy += ROWS) rows_fixed(op, g, p, oy, ROWS, KH, KW, S, ACT);
    for (; oy + ROWS / 2 <= g->oh; oy += ROWS / 2)
        rows_fixed(op, g, p, oy, ROWS / 2, KH, KW, S, ACT);
    for (; oy < g->oh; oy++) rows_fixed(op, g, p, oy, 1, KH, KW, S, ACT);
}

/* The plane with its activation compiled into the stores for the kinds
 * networks fuse into depthwise convolutions (ReLU, ReLU6; SiLU, HardSwish
 * with 3x3 kernels), the others in one pass over the finished plane:
 * compiling every kind into every store made the kernel four times the size
 * and 10-15% slower, and the long sigmoid code next to 25 weights in
 * registers is 10% slower than the separate pass. */
AVX512_INLINE void plane_fixed(int op, const struct cpu_window *g, const struct cpu_plane *p,
                               const int KH, const int KW, const int S)
{
    const int kind = op == CPU_WIN_DW ? p->act->kind : IR_ACT_NONE;
    if (kind == IR_ACT_NONE) {
        plane_act(op, g, p, KH, KW, S, IR_ACT_NONE);
    } else if (kind == IR_ACT_RELU) {
        plane_act(op, g, p, KH, KW, S, IR_ACT_RELU);
    } else if (kind == IR_ACT_CLIP) {
        plane_act(op, g, p, KH, KW, S, IR_ACT_CLIP);
    } else if (kind == IR_ACT_SILU && KH * KW <= 9) {
        plane_act(op, g, p, KH, KW, S, IR_ACT_SILU);
    } else if (kind == IR_ACT_HARD_SWISH && KH * KW <= 9) {
        plane_act(op, g, p, KH, KW, S, IR_ACT_HARD_SWISH);
    } else {
        plane_act(op, g, p, KH, KW, S, ACT_LATER);
        cpu_vec_avx512.unary(p->y, p->y, g->oh * g->ow, p->act);
    }
}

/* Any kernel size and dilation, column stride 1 or 2: one output row at a
 * time, taps in loops. */
static void plane_loops(int op, const struct cpu_window *g, const struct cpu_plane *p)
{
    const __m512i even = s2_even();
    const __m512 init = op == CPU_WIN_DW    ? _mm512_set1_ps(p->bias)
                        : op == CPU_WIN_MAX ? _mm512_set1_ps(-INFINITY)
                                            : _mm512_setzero_ps();
    const __m512 fill = op == CPU_WIN_MAX ? _mm512_set1_ps(-INFINITY) : _mm512_setzero_ps();
    const int64_t w = g->w, ow = g->ow, span = (g->kw - 1) * g->dw;
    const int S = (int)g->sw;
    for (int64_t oy = 0; oy < g->oh; oy++) {
        for (int64_t ox = 0; ox < ow; ox += 16) {
            const int64_t nl = ow - ox < 16 ? ow - ox : 16;
            const __mmask16 sm = (__mmask16)((1u << nl) - 1u);
            const int64_t ix0 = ox * S - g->pl;
            const int masked = ix0 < 0 || ix0 + span + 16 * S > w;
            __m512 acc = init;
            for (int64_t ki = 0; ki < g->kh; ki++) {
                const int64_t iy = oy * g->sh - g->pt + ki * g->dh;
                if (iy < 0 || iy >= g->h) continue;
                const float *xr = p->x + iy * w;
                for (int64_t kj = 0; kj < g->kw; kj++) {
                    const int64_t ix = ix0 + kj * g->dw;
                    __mmask16 m0 = 0, m1 = 0;
                    if (masked) {
                        m0 = range_mask16(ix, w);
                        m1 = range_mask16(ix + 16, w);
                    }
                    __m512 v = S == 1 ? tap_load(xr, ix, 1, masked, m0, m1, fill, even)
                                      : tap_load(xr, ix, 2, masked, m0, m1, fill, even);
                    __m512 wk = op == CPU_WIN_DW ? _mm512_set1_ps(p->k[ki * g->kw + kj]) : fill;
                    acc = tap_apply(op, acc, v, wk);
                }
            }
            out_store(op, g, p, oy, ox, sm, acc, op == CPU_WIN_DW ? p->act->kind : IR_ACT_NONE);
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

void cpu_window_avx512(int op, const struct cpu_window *g, const struct cpu_plane *p);

void cpu_window_avx512(int op, const struct cpu_window *g, const struct cpu_plane *p)
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
    if (fixed) {
        fixed(g, p);
        return;
    }
    plane_loops(op, g, p);
    if (op == CPU_WIN_DW && act16_scalar(p->act))
        ir_act_apply(p->act, p->y, (size_t)(g->oh * g->ow));
}
