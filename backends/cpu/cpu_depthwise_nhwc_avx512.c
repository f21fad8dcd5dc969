/* AVX-512 depthwise rows over a position-major buffer (cpu_eltwise.h,
 * cpu_dw_nhwc): one accumulator per output position, each a vector of 16
 * channels, every tap one load and one multiply-add per position, with no
 * lane shifts; the finished positions go back into channel planes through a
 * 16 x 16 transposition. Output rows of 8 columns or fewer run two at a
 * time, so that a 7x7 plane's row fills 14 of the 16 accumulators. */
#include "cpu_eltwise_avx512.h"

#define UNROLL _Pragma("GCC unroll 16")

void cpu_dw_nhwc_avx512(const struct cpu_dw_nhwc *a);

/* r[i] holds 16 channels of position i; afterwards r[j] holds channel j's
 * 16 positions. Pairs of rows unpacked, then each 128-bit lane's four rows
 * gathered (u[4b + c]: lane l holds column 4l + c of rows 4b..4b + 3), then
 * the lanes of four such vectors paired twice. */
AVX512_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    UNROLL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    UNROLL
    for (int b = 0; b < 4; b++) {
        u[4 * b] = _mm512_shuffle_ps(t[4 * b], t[4 * b + 2], 0x44);
        u[4 * b + 1] = _mm512_shuffle_ps(t[4 * b], t[4 * b + 2], 0xee);
        u[4 * b + 2] = _mm512_shuffle_ps(t[4 * b + 1], t[4 * b + 3], 0x44);
        u[4 * b + 3] = _mm512_shuffle_ps(t[4 * b + 1], t[4 * b + 3], 0xee);
    }
    UNROLL
    for (int c = 0; c < 4; c++) {
        const __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);
        const __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
        const __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

/* R output rows from oy0 (R = 1, or 2 for rows of at most 8 columns) at
 * column stride SW: accumulator r * (16 / R) + ox is row oy0 + r, column
 * ox. Every tap of every accumulator is one multiply-add from memory at a
 * constant offset from the tap's first position. */
AVX512_INLINE void dw_rows(const struct cpu_dw_nhwc *a, int64_t oy0, const int R, const int SW)
{
    const struct cpu_window *g = a->g;
    const int CW = 16 / R;
    const int64_t ld = CPU_DW_NHWC_LD, ow = g->ow;
    const __m512 bias = _mm512_loadu_ps(a->bias);
    __m512 acc[16];
    UNROLL
    for (int i = 0; i < 16; i++) acc[i] = bias;
    UNROLL
    for (int r = 0; r < R; r++) {
        const float *xr = a->x + (oy0 + r) * g->sh * a->xrow * ld;
        const float *wt = a->w;
        for (int64_t ky = 0; ky < g->kh; ky++, xr += g->dh * a->xrow * ld) {
            const float *xk = xr;
            for (int64_t kx = 0; kx < g->kw; kx++, xk += g->dw * ld, wt += 16) {
                const __m512 wv = _mm512_loadu_ps(wt);
                UNROLL
                for (int ox = 0; ox < CW; ox++)
                    acc[r * CW + ox] =
                        _mm512_fmadd_ps(_mm512_loadu_ps(xk + ox * SW * ld), wv, acc[r * CW + ox]);
            }
        }
    }
    const bool simd = !act16_scalar(a->act);
    if (simd) {
        UNROLL
        for (int i = 0; i < 16; i++) acc[i] = act16(acc[i], a->act);
    }
    transpose16(acc);
    const __mmask16 m = (__mmask16)((1u << ow) - 1u);
    const bool second = R == 2 && oy0 + 1 < g->oh;
    UNROLL
    for (int j = 0; j < 16; j++) {
        if (j >= a->nch) break;
        float *y = a->y + j * a->yplane + oy0 * ow;
        _mm512_mask_storeu_ps(y, m, acc[j]);
        /* the second row's columns from lane 8 on, moved down to lane 0 */
        if (second) _mm512_mask_storeu_ps(y + ow, m, _mm512_shuffle_f32x4(acc[j], acc[j], 0x4e));
    }
    if (!simd) {
        const int64_t rows = second ? 2 : 1;
        for (int j = 0; j < a->nch; j++)
            ir_act_apply(a->act, a->y + j * a->yplane + oy0 * ow, (size_t)(rows * ow));
    }
}

AVX512_INLINE void dw_plane(const struct cpu_dw_nhwc *a, const int SW)
{
    const struct cpu_window *g = a->g;
    if (g->ow <= 8) {
        for (int64_t oy = 0; oy < g->oh; oy += 2) dw_rows(a, oy, 2, SW);
    } else {
        for (int64_t oy = 0; oy < g->oh; oy++) dw_rows(a, oy, 1, SW);
    }
}

void cpu_dw_nhwc_avx512(const struct cpu_dw_nhwc *a)
{
    if (a->g->sw == 1)
        dw_plane(a, 1);
    else
        dw_plane(a, 2);
}
