/* The Winograd F(4x4, 3x3) transforms (cpu_winograd.h) in AVX-512, sixteen
 * tiles of a tile row per vector. A tile's window starts every 4 columns,
 * so the input transform splits 64 consecutive input columns into their
 * four phases (column 4j + r for lane j) with two-source permutes, and the
 * fifth and sixth window columns are the first two phases shifted by one
 * lane. The output transform interleaves its four column vectors back into
 * 64 consecutive outputs the same way. The arithmetic is that of
 * cpu_winograd_impl.h. */
#include "cpu_winograd.h"

#include "cpu_eltwise.h"
#include "cpu_eltwise_avx512.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE void bt6(const __m512 d[6], __m512 t[6])
{
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
    const __m512 p = _mm512_fnmadd_ps(four, d[2], d[4]), q = _mm512_fnmadd_ps(four, d[1], d[3]);
    const __m512 r = _mm512_sub_ps(d[4], d[2]);
    const __m512 s = _mm512_add_ps(_mm512_sub_ps(d[3], d[1]), _mm512_sub_ps(d[3], d[1]));
    t[0] = _mm512_add_ps(_mm512_fnmadd_ps(five, d[2], _mm512_mul_ps(four, d[0])), d[4]);
    t[1] = _mm512_add_ps(p, q);
    t[2] = _mm512_sub_ps(p, q);
    t[3] = _mm512_add_ps(r, s);
    t[4] = _mm512_sub_ps(r, s);
    t[5] = _mm512_add_ps(_mm512_fnmadd_ps(five, d[3], _mm512_mul_ps(four, d[1])), d[5]);
}

INLINE void at6(const __m512 m[6], __m512 o[4])
{
    const __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    const __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d, b);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), c, a);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d, b), m[5]);
}

static __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

void cpu_wino_input_avx512(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *x,
                           float *v, size_t vs, float *tmp);
void cpu_wino_output_avx512(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                            const float *m, size_t ms, float *y, float bias, const float *res,
                            const struct ir_act *act);

/* Columns [start, start + 16) of an input row of w floats, zero outside
 * it (the padding), or zero for a row outside the plane (xr NULL). */
INLINE __m512 row_cols(const float *xr, int64_t start, int64_t w)
{
    if (!xr) return _mm512_setzero_ps();
    if (start >= 0 && start + 16 <= w) return _mm512_loadu_ps(xr + start);
    const int64_t lo = start < 0 ? -start : 0, hi = w - start < 16 ? w - start : 16;
    if (hi <= lo) return _mm512_setzero_ps();
    const __mmask16 mk = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
    return _mm512_maskz_loadu_ps(mk, xr + start);
}

/* The rows transformed along x, t[row][k], transformed down the columns
 * and stored as V[xi][t0 + lane] for the lanes of mk. */
INLINE void store_v(__m512 t[6][6], float *v, size_t vs, int64_t t0, __mmask16 mk)
{
    for (int k = 0; k < 6; k++) {
        const __m512 col[6] = { t[0][k], t[1][k], t[2][k], t[3][k], t[4][k], t[5][k] };
        __m512 out[6];
        bt6(col, out);
        for (int i = 0; i < 6; i++)
            _mm512_mask_storeu_ps(v + (size_t)(i * 6 + k) * vs + t0, mk, out[i]);
    }
}

/* The input transform of a plane at most 7 tiles wide: 16 / tw tile rows
 * side by side in a vector, as V holds them, each row's six window columns
 * permuted out of its first 32 input columns (4 tw + 2 <= 30). */
static void input_rows(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *x,
                       float *v, size_t vs)
{
    const int64_t rows = 16 / p->tw;
    const __m512i lane4 =
        _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                           _mm512_set1_epi32(4));
    for (int64_t ty = ty0; ty < ty1; ty += rows) {
        const int64_t nrows = ty1 - ty < rows ? ty1 - ty : rows;
        __m512 t[6][6]; /* t[row][k]: the rows transformed along x */
        for (int r = 0; r < 6; r++) {
            __m512 d[6];
            for (int c = 0; c < 6; c++) d[c] = _mm512_setzero_ps();
            for (int64_t rr = 0; rr < nrows; rr++) {
                const int64_t iy = 4 * (ty + rr) - p->pt + r;
                if (iy < 0 || iy >= p->h) continue;
                const float *xr = x + iy * p->w;
                const __m512 v0 = row_cols(xr, -p->pl, p->w), v1 = row_cols(xr, 16 - p->pl, p->w);
                const __mmask16 k = (__mmask16)(lanes(p->tw) << (rr * p->tw));
                const __m512i base =
                    _mm512_sub_epi32(lane4, _mm512_set1_epi32((int)(4 * rr * p->tw)));
                for (int c = 0; c < 6; c++) {
                    const __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32(c));
                    d[c] = _mm512_mask_mov_ps(d[c], k, _mm512_permutex2var_ps(v0, idx, v1));
                }
            }
            bt6(d, t[r]);
        }
        store_v(t, v, vs, (ty - ty0) * p->tw, lanes(nrows * p->tw));
    }
}

void cpu_wino_input_avx512(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *x,
                           float *v, size_t vs, float *tmp)
{
    const int64_t groups = (p->tw + 15) / 16;
    (void)tmp; /* rows are read in place, the padding masked */
    if (p->tw <= 7 && p->tw > 0) {
        input_rows(p, ty0, ty1, x, v, vs);
        return;
    }
    /* lane j of phase r reads column 4j + r of a 32-column pair */
    __m512i ph[4];
    for (int r = 0; r < 4; r++) {
        int32_t idx[16];
        for (int j = 0; j < 16; j++) idx[j] = (4 * j + r) & 31;
        ph[r] = _mm512_loadu_si512(idx);
    }
    for (int64_t ty = ty0; ty < ty1; ty++) {
        /* the six input rows of this tile row, NULL outside the plane */
        const float *xr[6];
        for (int r = 0; r < 6; r++) {
            const int64_t iy = 4 * ty - p->pt + r;
            xr[r] = iy >= 0 && iy < p->h ? x + iy * p->w : NULL;
        }
        for (int64_t gi = 0; gi < groups; gi++) {
            __m512 t[6][6]; /* t[row][k]: the rows transformed along x */
            for (int r = 0; r < 6; r++) {
                const int64_t c0 = 64 * gi - p->pl;
                const __m512 r0 = row_cols(xr[r], c0, p->w), r1 = row_cols(xr[r], c0 + 16, p->w);
                const __m512 r2 = row_cols(xr[r], c0 + 32, p->w);
                const __m512 r3 = row_cols(xr[r], c0 + 48, p->w);
                const __m512 r4 = row_cols(xr[r], c0 + 64, p->w);
                __m512 d[6];
                for (int c = 0; c < 4; c++) {
                    const __m512 lo = _mm512_permutex2var_ps(r0, ph[c], r1);
                    const __m512 hi = _mm512_permutex2var_ps(r2, ph[c], r3);
                    d[c] = _mm512_shuffle_f32x4(lo, hi, 0x44);
                }
                const __m512i n4 = _mm512_castps_si512(r4);
                d[4] = _mm512_castsi512_ps(_mm512_alignr_epi32(n4, _mm512_castps_si512(d[0]), 1));
                d[5] = _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_alignr_epi32(n4, n4, 1),
                                                               _mm512_castps_si512(d[1]), 1));
                bt6(d, t[r]);
            }
            store_v(t, v, vs, (ty - ty0) * p->tw + gi * 16, lanes(p->tw - gi * 16));
        }
    }
}

/* Stores output row r of the tiles of nrows tile rows from ty, side by
 * side in out (tile j's four columns at 4j..4j+3, j counting across the
 * rows), with the residual and the activation. */
static void out_rows(const struct cpu_wino_plane *p, const __m512 out[4], int64_t ty, int64_t nrows,
                     int r, float *y, const float *res, const struct ir_act *act, int kind,
                     bool simd)
{
    float buf[64];
    for (int q = 0; q < 4; q++) _mm512_storeu_ps(buf + 16 * q, out[q]);
    for (int64_t rr = 0; rr < nrows; rr++) {
        const int64_t oy = 4 * (ty + rr) + r;
        if (oy >= p->oh) break;
        const float *src = buf + 4 * p->tw * rr;
        for (int64_t x = 0; x < p->ow; x += 16) {
            const __mmask16 mq = lanes(p->ow - x);
            __m512 val = _mm512_maskz_loadu_ps(mq, src + x);
            if (res) val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(mq, res + oy * p->ow + x));
            if (simd) val = act16k(val, act, kind);
            _mm512_mask_storeu_ps(y + oy * p->ow + x, mq, val);
        }
    }
}

void cpu_wino_output_avx512(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                            const float *m, size_t ms, float *y, float bias, const float *res,
                            const struct ir_act *act)
{
    const int64_t groups = (p->tw + 15) / 16;
    const int kind = act->kind;
    const bool simd = !act16_scalar(act); /* the others in registers */
    const __m512 vb = _mm512_set1_ps(bias);
    /* interleave: pairs (c, c+1) of lanes j..j+7, then pairs of pairs */
    __m512i pair_lo, pair_hi, quad_lo, quad_hi;
    {
        int32_t a[16], b[16], c[16], d[16];
        for (int j = 0; j < 8; j++)
            for (int e = 0; e < 2; e++) {
                a[2 * j + e] = e * 16 + j;
                b[2 * j + e] = e * 16 + 8 + j;
            }
        for (int j = 0; j < 4; j++)
            for (int e = 0; e < 4; e++) {
                c[4 * j + e] = e < 2 ? 2 * j + e : 16 + 2 * j + e - 2;
                d[4 * j + e] = e < 2 ? 8 + 2 * j + e : 24 + 2 * j + e - 2;
            }
        pair_lo = _mm512_loadu_si512(a);
        pair_hi = _mm512_loadu_si512(b);
        quad_lo = _mm512_loadu_si512(c);
        quad_hi = _mm512_loadu_si512(d);
    }
    /* A plane narrower than 16 tiles runs several tile rows side by side
     * in a vector (M holds them consecutively): squeezenet's 13x13 planes
     * are 4 tiles wide, and a vector of one row left 12 lanes idle. */
    const int64_t rows = p->tw < 16 ? 16 / p->tw : 1;
    /* the output rows a few row groups ahead of the stores (at 1 thread
     * they are this core's already, and the requests cost 2-4%) */
    const int64_t ahead = p->out_shared ? CPU_WINO_OUT_AHEAD * rows : 0;
    if (ahead) cpu_wino_out_prefetch(p, y, ty0, ty0 + ahead < ty1 ? ty0 + ahead : ty1);
    for (int64_t ty = ty0; ty < ty1; ty += rows) {
        const int64_t nrows = ty1 - ty < rows ? ty1 - ty : rows;
        if (ahead && ty + ahead < ty1)
            cpu_wino_out_prefetch(p, y, ty + ahead,
                                  ty + ahead + rows < ty1 ? ty + ahead + rows : ty1);
        for (int64_t gi = 0; gi < groups; gi++) {
            const int64_t t0 = (ty - ty0) * p->tw + gi * 16;
            const __mmask16 mk = lanes(rows > 1 ? nrows * p->tw : p->tw - gi * 16);
            __m512 z[4][6]; /* columns transformed: z[out row][k] */
            for (int k = 0; k < 6; k++) {
                __m512 col[6], o[4];
                for (int i = 0; i < 6; i++)
                    col[i] = _mm512_maskz_loadu_ps(mk, m + (size_t)(i * 6 + k) * ms + t0);
                at6(col, o);
                for (int r = 0; r < 4; r++) z[r][k] = o[r];
            }
            const int64_t x0 = 64 * gi, cols = p->ow - x0;
            for (int r = 0; r < 4; r++) {
                const int64_t oy = 4 * ty + r;
                if (oy >= p->oh) break;
                __m512 o[4];
                at6(z[r], o);
                for (int c = 0; c < 4; c++) o[c] = _mm512_add_ps(o[c], vb);
                const __m512 l01 = _mm512_permutex2var_ps(o[0], pair_lo, o[1]);
                const __m512 h01 = _mm512_permutex2var_ps(o[0], pair_hi, o[1]);
                const __m512 l23 = _mm512_permutex2var_ps(o[2], pair_lo, o[3]);
                const __m512 h23 = _mm512_permutex2var_ps(o[2], pair_hi, o[3]);
                __m512 out[4] = {
                    _mm512_permutex2var_ps(l01, quad_lo, l23),
                    _mm512_permutex2var_ps(l01, quad_hi, l23),
                    _mm512_permutex2var_ps(h01, quad_lo, h23),
                    _mm512_permutex2var_ps(h01, quad_hi, h23),
                };
                if (rows > 1) {
                    out_rows(p, out, ty, nrows, r, y, res, act, kind, simd);
                    continue;
                }
                float *dst = y + oy * p->ow + x0;
                for (int q = 0; q < 4; q++) {
                    if (cols <= 16 * q) break;
                    const __mmask16 mq = lanes(cols - 16 * q);
                    __m512 val = out[q];
                    if (res)
                        val = _mm512_add_ps(
                            val, _mm512_maskz_loadu_ps(mq, res + oy * p->ow + x0 + 16 * q));
                    if (simd) val = act16k(val, act, kind);
                    _mm512_mask_storeu_ps(dst + 16 * q, mq, val);
                }
            }
        }
    }
    if (!simd) { /* Tanh: over the output rows of tile rows [ty0, ty1) */
        const int64_t r0 = 4 * ty0, r1 = 4 * ty1 < p->oh ? 4 * ty1 : p->oh;
        if (r1 > r0) ir_act_apply(act, y + r0 * p->ow, (size_t)((r1 - r0) * p->ow));
    }
}

/* The portable parts, built with the AVX-512 flags: the run-time weight
 * transform and F(2x2, 3x3). */
#define WINO_FN(name) name##_avx512
#define WINO_VEC      cpu_vec_avx512

void cpu_wino_weights_avx512(const float *w9, int64_t kb, int mr, float *u, size_t us);
#include "cpu_winograd_u_impl.h"

const struct cpu_wino_fns cpu_wino_avx512 = { cpu_wino_input_avx512, cpu_wino_output_avx512,
                                              cpu_wino_weights_avx512 };
