/* Sliding-window planes in plain C: depthwise convolution, max and average
 * pooling over any kernel, stride, dilation and padding. Each output row
 * accumulates tap by tap over the range of columns whose tap lies inside the
 * input, so the inner loops carry no bounds checks and vectorize. */
#include "cpu_eltwise.h"

#include <math.h>

/* The outputs o in [*lo, *hi) (within [0, on)) whose tap o * s + off lies in
 * [0, n). */
static void tap_range(int64_t off, int64_t s, int64_t n, int64_t on, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    if (b > on) b = on;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* One tap over outputs [lo, hi) of a row: the stride-1 form with restrict
 * pointers is what compilers vectorize. */
static void tap_row(int op, float *restrict yr, const float *restrict xr, int64_t off, int64_t s,
                    int64_t lo, int64_t hi, float wk)
{
    if (s == 1) {
        if (op == CPU_WIN_DW) {
            for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox + off] * wk;
        } else if (op == CPU_WIN_MAX) {
            for (int64_t ox = lo; ox < hi; ox++) {
                const float v = xr[ox + off];
                yr[ox] = v > yr[ox] ? v : yr[ox];
            }
        } else {
            for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox + off];
        }
        return;
    }
    if (op == CPU_WIN_DW) {
        for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox * s + off] * wk;
    } else if (op == CPU_WIN_MAX) {
        for (int64_t ox = lo; ox < hi; ox++) {
            const float v = xr[ox * s + off];
            yr[ox] = v > yr[ox] ? v : yr[ox];
        }
    } else {
        for (int64_t ox = lo; ox < hi; ox++) yr[ox] += xr[ox * s + off];
    }
}

void cpu_window_generic(int op, const struct cpu_window *g, const struct cpu_plane *p)
{
    const float init = op == CPU_WIN_DW ? p->bias : op == CPU_WIN_MAX ? -INFINITY : 0.0f;
    for (int64_t oy = 0; oy < g->oh; oy++) {
        float *yr = p->y + oy * g->ow;
        for (int64_t ox = 0; ox < g->ow; ox++) yr[ox] = init;
        for (int64_t ki = 0; ki < g->kh; ki++) {
            int64_t iy = oy * g->sh - g->pt + ki * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            const float *xr = p->x + iy * g->w;
            for (int64_t kj = 0; kj < g->kw; kj++) {
                const int64_t off = kj * g->dw - g->pl, s = g->sw;
                int64_t lo, hi;
                tap_range(off, s, g->w, g->ow, &lo, &hi);
                tap_row(op, yr, xr, off, s, lo, hi, op == CPU_WIN_DW ? p->k[ki * g->kw + kj] : 0);
            }
        }
        if (op == CPU_WIN_DW) {
            cpu_vec_generic.epilogue(yr, p->sum ? p->sum + oy * g->ow : NULL, g->ow, 0.0f, p->act);
        } else if (op == CPU_WIN_AVG) {
            const float rs = p->rowscale[oy];
            for (int64_t ox = 0; ox < g->ow; ox++) yr[ox] *= rs * p->colscale[ox];
        }
    }
}

void cpu_window_image_size(const struct cpu_window *g, int64_t *ph, int64_t *pw)
{
    int64_t rows = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    int64_t cols = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    *ph = rows > g->pt + g->h ? rows : g->pt + g->h;
    *pw = cols > g->pl + g->w ? cols : g->pl + g->w;
}

size_t cpu_window_block_scratch(const struct cpu_window *g)
{
    int64_t ph, pw;
    cpu_window_image_size(g, &ph, &pw);
    return (size_t)(ph * pw + g->oh * g->ow) * 16 * sizeof(float);
}
