/* AVX-512 sliding windows over 16 channels at once, for small planes (14x14,
 * 7x7: a row fills at most one vector, most lanes of the per-plane kernel
 * would idle or mask). The 16 input planes are transposed into a scratch
 * image with the channels as the vector lanes and the padding written out,
 * the window runs over it with no masks or bounds at all (four output
 * positions at a time, weights in registers), and the result is transposed
 * back into the 16 output planes. */
#include "cpu_eltwise_avx512.h"

#include <math.h>

#define UNROLL _Pragma("GCC unroll 32")
#define KMAX   5 /* largest kernel side compiled fixed */

/* The classic 16x16 transpose in four shuffle stages: r[i] lane j becomes
 * r[j] lane i. */
AVX512_INLINE void transpose16(__m512 *r)
{
    __m512 t[16];
    UNROLL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    UNROLL
    for (int i = 0; i < 16; i += 4) {
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    UNROLL
    for (int i = 0; i < 16; i += 8) {
        UNROLL
        for (int j = 0; j < 4; j++) {
            t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
            t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xdd);
        }
    }
    UNROLL
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
}

/* Writes the nch input planes into the image: row iy of the input at image
 * row iy + pt, column ix at ix + pl, 16 floats (channels) per position; the
 * rest of the image holds `fill`. */
static void image_in(const struct cpu_window *g, const struct cpu_block *b, float *img, int64_t ph,
                     int64_t pw, __m512 fill)
{
    /* the border only, its bounds in locals (read through g after every
     * store, they cost a quarter of this function) */
    const int64_t pt = g->pt, pl = g->pl, h = g->h, w = g->w;
    for (int64_t r = 0; r < ph; r++) {
        float *row = img + r * pw * 16;
        const bool inside = r >= pt && r < pt + h;
        const int64_t c0 = inside ? pl : pw, c1 = inside ? pl + w : pw;
        for (int64_t c = 0; c < c0; c++) _mm512_store_ps(row + c * 16, fill);
        for (int64_t c = c1; c < pw; c++) _mm512_store_ps(row + c * 16, fill);
    }
    const int64_t plane = g->h * g->w;
    for (int64_t iy = 0; iy < g->h; iy++) {
        float *row = img + ((iy + g->pt) * pw + g->pl) * 16;
        for (int64_t ix0 = 0; ix0 < g->w; ix0 += 16) {
            const int64_t n = g->w - ix0 < 16 ? g->w - ix0 : 16;
            const __mmask16 m = (__mmask16)((1u << n) - 1u);
            const float *src = b->x + iy * g->w + ix0;
            __m512 v[16];
            UNROLL
            for (int ch = 0; ch < 16; ch++)
                v[ch] = ch < b->nch ? _mm512_maskz_loadu_ps(m, src + ch * plane) : fill;
            transpose16(v);
            /* unrolled, so that v stays in registers: a loop to n made
             * GCC spill v and copy it out with rep movsq, 14% of the
             * kernel */
            UNROLL
            for (int j = 0; j < 16; j++)
                if (j < n) _mm512_store_ps(row + (ix0 + j) * 16, v[j]);
        }
    }
}

/* Writes the result image (oh * ow positions of 16 channels) into the nch
 * output planes, adding the residual planes and applying the activation
 * when they were left for here. */
static void image_out(const struct cpu_window *g, const struct cpu_block *b, const float *res,
                      bool epilogue)
{
    const int64_t plane = g->oh * g->ow;
    for (int64_t p0 = 0; p0 < plane; p0 += 16) {
        const int64_t n = plane - p0 < 16 ? plane - p0 : 16;
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        __m512 v[16];
        UNROLL
        for (int j = 0; j < 16; j++)
            v[j] = j < n ? _mm512_load_ps(res + (p0 + j) * 16) : _mm512_setzero_ps();
        transpose16(v);
        for (int ch = 0; ch < b->nch; ch++) {
            float *dst = b->y + ch * plane + p0;
            __m512 y = v[ch];
            if (epilogue) {
                if (b->sum)
                    y = _mm512_add_ps(y, _mm512_maskz_loadu_ps(m, b->sum + ch * plane + p0));
                y = act16(y, b->act);
            }
            _mm512_mask_storeu_ps(dst, m, y);
        }
    }
    if (epilogue && act16_scalar(b->act))
        for (int ch = 0; ch < b->nch; ch++) ir_act_apply(b->act, b->y + ch * plane, (size_t)plane);
}

AVX512_INLINE __m512 tap16(int op, __m512 acc, __m512 v, __m512 w)
{
    if (op == CPU_WIN_DW) return _mm512_fmadd_ps(v, w, acc);
    if (op == CPU_WIN_MAX) return _mm512_max_ps(v, acc);
    return _mm512_add_ps(acc, v);
}

/* Output positions [ox, ox + Q) of row oy into res. KH, KW: fixed kernel
 * size (0: read g's, with dilation). */
AVX512_INLINE void positions(int op, const struct cpu_window *g, const struct cpu_block *b,
                             const float *img, int64_t pw, const __m512 *wk, float *res, int64_t oy,
                             int64_t ox, const int Q, const int KH, const int KW, bool act_here)
{
    const int64_t kh = KH ? KH : g->kh, kw = KW ? KW : g->kw;
    const int64_t dh = KH ? 1 : g->dh, dw = KW ? 1 : g->dw;
    const int64_t sw16 = g->sw * 16;
    __m512 init = op == CPU_WIN_DW    ? _mm512_loadu_ps(b->bias)
                  : op == CPU_WIN_MAX ? _mm512_set1_ps(-INFINITY)
                                      : _mm512_setzero_ps();
    __m512 acc[4];
    UNROLL
    for (int q = 0; q < Q; q++) acc[q] = init;
    UNROLL
    for (int64_t ki = 0; ki < kh; ki++) {
        const float *row = img + ((oy * g->sh + ki * dh) * pw + ox * g->sw) * 16;
        UNROLL
        for (int64_t kj = 0; kj < kw; kj++) {
            const __m512 w = op != CPU_WIN_DW ? init
                             : KH             ? wk[ki * KW + kj]
                                              : _mm512_load_ps(b->k + (ki * kw + kj) * 16);
            UNROLL
            for (int q = 0; q < Q; q++)
                acc[q] = tap16(op, acc[q], _mm512_load_ps(row + kj * dw * 16 + q * sw16), w);
        }
    }
    UNROLL
    for (int q = 0; q < Q; q++) {
        __m512 a = acc[q];
        if (op == CPU_WIN_AVG)
            a = _mm512_mul_ps(a, _mm512_set1_ps(b->rowscale[oy] * b->colscale[ox + q]));
        else if (op == CPU_WIN_DW && act_here)
            a = act16(a, b->act);
        _mm512_store_ps(res + (oy * g->ow + ox + q) * 16, a);
    }
}

AVX512_INLINE void image_window(int op, const struct cpu_window *g, const struct cpu_block *b,
                                const float *img, int64_t pw, float *res, const int KH,
                                const int KW, bool act_here)
{
    __m512 wk[KMAX * KMAX];
    if (KH && op == CPU_WIN_DW) {
        UNROLL
        for (int i = 0; i < KH * KW; i++) wk[i] = _mm512_load_ps(b->k + i * 16);
    }
    for (int64_t oy = 0; oy < g->oh; oy++) {
        int64_t ox = 0;
        for (; ox + 4 <= g->ow; ox += 4)
            positions(op, g, b, img, pw, wk, res, oy, ox, 4, KH, KW, act_here);
        for (; ox < g->ow; ox++) positions(op, g, b, img, pw, wk, res, oy, ox, 1, KH, KW, act_here);
    }
}

#define IMAGE_WINDOW(name, K)                                                                      \
    static void name(int op, const struct cpu_window *g, const struct cpu_block *b,                \
                     const float *img, int64_t pw, float *res, bool act_here)                      \
    {                                                                                              \
        if (op == CPU_WIN_DW)                                                                      \
            image_window(CPU_WIN_DW, g, b, img, pw, res, K, K, act_here);                          \
        else if (op == CPU_WIN_MAX)                                                                \
            image_window(CPU_WIN_MAX, g, b, img, pw, res, K, K, act_here);                         \
        else                                                                                       \
            image_window(CPU_WIN_AVG, g, b, img, pw, res, K, K, act_here);                         \
    }
IMAGE_WINDOW(window_k3, 3)
IMAGE_WINDOW(window_k5, 5)
IMAGE_WINDOW(window_any, 0)

void cpu_window_block_avx512(int op, const struct cpu_window *g, const struct cpu_block *b);

void cpu_window_block_avx512(int op, const struct cpu_window *g, const struct cpu_block *b)
{
    int64_t ph, pw;
    cpu_window_image_size(g, &ph, &pw);
    float *img = b->scratch, *res = b->scratch + ph * pw * 16;
    image_in(g, b, img, ph, pw, _mm512_set1_ps(op == CPU_WIN_MAX ? -INFINITY : 0.0f));
    /* Without a residual the activation goes on in the image. */
    const bool act_here = op == CPU_WIN_DW && !b->sum && !act16_scalar(b->act);
    const bool fixed = g->dh == 1 && g->dw == 1 && g->kh == g->kw;
    if (fixed && g->kh == 3)
        window_k3(op, g, b, img, pw, res, act_here);
    else if (fixed && g->kh == 5)
        window_k5(op, g, b, img, pw, res, act_here);
    else
        window_any(op, g, b, img, pw, res, act_here);
    image_out(g, b, res, op == CPU_WIN_DW && !act_here);
}
