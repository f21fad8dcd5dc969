/* AVX-512 grouped convolution with few channels per group (RegNet's 16):
 * 16 output channels of a group at once, one accumulator each, over 16
 * output columns; every input vector loaded feeds 16 FMAs whose weights are
 * broadcast straight from memory, so the loads cost next to nothing and no
 * im2col copy is made. At stride 1 over planes whose rows are as wide as
 * the input's, the outputs run 16 in a row across row ends (precomputed tap
 * masks), so a 7x7 plane fills 49 of 64 lanes instead of 7 of 16; at
 * stride 2 onto planes of at most 15 columns, the same through the input's
 * phases (gconv_phase). */
#include "cpu_depthwise_avx512.h"

#define OB 16 /* output channels per call */

/* The 16 accumulators are named variables: as an array GCC keeps them in
 * memory across the runtime loop over input channels. */
#define ACC_EACH(X)                                                                                \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define ACC_DECL(o) __m512 a##o = _mm512_set1_ps(a->bias[o]);
#define ACC_FMA(o)  a##o = _mm512_fmadd_ps(xv, _mm512_set1_ps(wt[o]), a##o);
#define ACC_STORE(o)                                                                               \
    if (o < a->nout) output_store(a, a##o, o, at, m, false);

void cpu_gconv_avx512(const struct cpu_gconv *a);

static inline int64_t cpu_ceil_div16(int64_t n)
{
    return (n + 15) / 16;
}

/* Stores the outputs of output channel o from `at`: lanes m, or with
 * packed the lanes m compressed into consecutive outputs (gconv_phase). */
AVX512_INLINE void output_store(const struct cpu_gconv *a, __m512 v, int o, int64_t at, __mmask16 m,
                                const bool packed)
{
    const int64_t off = o * a->yplane + at;
    if (a->sum)
        v = _mm512_add_ps(v, packed ? _mm512_maskz_expandloadu_ps(m, a->sum + off)
                                    : _mm512_maskz_loadu_ps(m, a->sum + off));
    if (packed)
        _mm512_mask_compressstoreu_ps(a->y + off, m, act16(v, a->act));
    else
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

/* Stride 2 onto small planes (RegNet's 14x14 -> 7x7), through the phases:
 * the group's input, zero-padded, is split into its four phases (even and
 * odd padded rows and columns), planes of PH x PW with PW = ow + K/2, where
 * every tap reads at stride 1. Outputs then run 16 in a row across row ends
 * as in gconv_flat, PW to a row of which ow are kept: a 7x7 plane fills 56
 * of 64 lanes instead of 7 of 16 a row. The kept lanes are compressed into
 * the output rows. RegNet's block4-0 f.b alone: 0.71 of its time row by
 * row; in the model 0.80 at 1 thread, 0.78 at 2. */
#define PHASE_FLOATS 8192 /* the phases on the stack: 32 KiB at most */

static bool gconv_phase_fits(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    const int64_t pw = g->ow + g->kw / 2, ph = g->oh + g->kh / 2;
    if (g->sh != 2 || g->sw != 2 || g->kh != g->kw || g->kh % 2 == 0 || g->dh != 1 || g->dw != 1)
        return false;
    if (pw > 16 || g->w > 32 || a->cg * 4 * ph * pw + 64 > PHASE_FLOATS) return false;
    /* fewer vectors than row by row */
    return cpu_ceil_div16(g->oh * pw) < g->oh * cpu_ceil_div16(g->ow);
}

#define ACC_PSTORE(o)                                                                              \
    if (o < a->nout) output_store(a, a##o, o, dst, m, true);

static void gconv_phase(const struct cpu_gconv *a)
{
    const struct cpu_window *g = a->g;
    const int K = (int)g->kh, half = K / 2;
    const int64_t pw = g->ow + half, ph = g->oh + half, pp = ph * pw, cs = 4 * pp;
    float q[PHASE_FLOATS] __attribute__((aligned(64)));
    /* the phases: row r of phase (pa, pb) holds padded row 2r + pa, columns
     * 2c + pb, that is input (2r + pa - pt, 2c + pb - pl) */
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __mmask16 row_m = (__mmask16)((1u << pw) - 1u);
    __m512i idx[2];
    __mmask16 in_m[2];
    for (int pb = 0; pb < 2; pb++) {
        idx[pb] = _mm512_add_epi32(_mm512_slli_epi32(lane, 1), _mm512_set1_epi32(pb - (int)g->pl));
        in_m[pb] = row_m & _mm512_cmpge_epi32_mask(idx[pb], _mm512_setzero_si512()) &
                   _mm512_cmplt_epi32_mask(idx[pb], _mm512_set1_epi32((int)g->w));
    }
    const __mmask16 lo_m = (__mmask16)(g->w >= 16 ? 0xffffu : (1u << g->w) - 1u);
    const __mmask16 hi_m = (__mmask16)(g->w <= 16 ? 0u : (1u << (g->w - 16)) - 1u);
    for (int64_t ci = 0; ci < a->cg; ci++) {
        const float *xc = a->x + ci * a->xplane;
        float *qc = q + ci * cs;
        for (int pa = 0; pa < 2; pa++) {
            for (int64_t r = 0; r < ph; r++) {
                const int64_t iy = 2 * r + pa - g->pt;
                float *q0 = qc + (2 * pa) * pp + r * pw, *q1 = q0 + pp;
                if (iy < 0 || iy >= g->h) {
                    _mm512_mask_storeu_ps(q0, row_m, _mm512_setzero_ps());
                    _mm512_mask_storeu_ps(q1, row_m, _mm512_setzero_ps());
                    continue;
                }
                const float *xr = xc + iy * g->w;
                const __m512 lo = _mm512_maskz_loadu_ps(lo_m, xr);
                const __m512 hi = _mm512_maskz_loadu_ps(hi_m, xr + 16);
                _mm512_mask_storeu_ps(q0, row_m,
                                      _mm512_maskz_permutex2var_ps(in_m[0], lo, idx[0], hi));
                _mm512_mask_storeu_ps(q1, row_m,
                                      _mm512_maskz_permutex2var_ps(in_m[1], lo, idx[1], hi));
            }
        }
    }
    /* lanes past the last phase row read the slack: keep it finite */
    for (int64_t i = a->cg * cs; i < a->cg * cs + 64; i += 16)
        _mm512_storeu_ps(q + i, _mm512_setzero_ps());
    int64_t off[KMAX_TAPS * KMAX_TAPS];
    for (int ki = 0; ki < K; ki++)
        for (int kj = 0; kj < K; kj++)
            off[ki * K + kj] = ((ki & 1) * 2 + (kj & 1)) * pp + (ki >> 1) * pw + (kj >> 1);
    const int taps = K * K;
    for (int64_t i0 = 0; i0 < g->oh * pw; i0 += 16) {
        __mmask16 m = 0;
        for (int l = 0; l < 16; l++)
            if ((i0 + l) % pw < g->ow && (i0 + l) / pw < g->oh) m |= (__mmask16)(1u << l);
        const int64_t dst = i0 / pw * g->ow + (i0 % pw < g->ow ? i0 % pw : g->ow);
        ACC_EACH(ACC_DECL)
        for (int64_t ci = 0; ci < a->cg; ci++) {
            const float *qc = q + ci * cs + i0;
            const float *wc = a->w + ci * taps * OB;
            for (int t = 0; t < taps; t++) {
                const __m512 xv = _mm512_loadu_ps(qc + off[t]);
                const float *wt = wc + t * OB;
                ACC_EACH(ACC_FMA)
            }
        }
        ACC_EACH(ACC_PSTORE)
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
    else if (gconv_phase_fits(a))
        gconv_phase(a);
    else
        rows[g->kh / 2][g->sh - 1](a);
    if (act16_scalar(a->act)) {
        const int64_t plane = g->oh * g->ow;
        for (int o = 0; o < a->nout; o++) ir_act_apply(a->act, a->y + o * a->yplane, (size_t)plane);
    }
}
