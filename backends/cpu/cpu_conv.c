/* 2-D convolution for the CPU backend: 1x1 as a plain GEMM over the input,
 * depthwise as a direct loop, everything else as im2col + OpenBLAS sgemm;
 * bias and the fused activation applied per output channel while its rows are
 * still in cache. Other ranks and non-constant weights stay on the reference
 * kernel. */
#include "cpu.h"

#include "ops_nn.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum conv_mode {
    CONV_POINTWISE, /* 1x1, stride 1, no padding: Y = W * X per group */
    CONV_DEPTHWISE, /* one input channel per group */
    CONV_IM2COL,
};

struct conv_kernel {
    int mode;
    int64_t n, c, h, w; /* input */
    int64_t m, oh, ow;  /* output */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    int64_t group, cg, mg; /* channels per group in and out */
    int64_t k;             /* GEMM depth: cg * kh * kw */
};

static void conv_epilogue(const struct ir_act *act, const float *bias, float *y, int64_t m,
                          int64_t plane)
{
    for (int64_t o = 0; o < m; o++) {
        float *row = y + o * plane;
        if (bias) {
            float b = bias[o];
            for (int64_t i = 0; i < plane; i++) row[i] += b;
        }
        if (act->kind != IR_ACT_NONE) ir_act_apply(act, row, (size_t)plane);
    }
}

/* Lays out the receptive fields of channels [c0, c0 + cg) as a
 * [cg*kh*kw, oh*ow] matrix; taps in the padding are 0. */
static void im2col(const struct conv_kernel *k, const float *x, float *col)
{
    const int64_t plane = k->oh * k->ow;
    for (int64_t c = 0; c < k->cg; c++) {
        const float *xc = x + c * k->h * k->w;
        for (int64_t ki = 0; ki < k->kh; ki++) {
            for (int64_t kj = 0; kj < k->kw; kj++) {
                float *row = col + ((c * k->kh + ki) * k->kw + kj) * plane;
                for (int64_t oy = 0; oy < k->oh; oy++) {
                    int64_t iy = oy * k->sh - k->pt + ki * k->dh;
                    float *dst = row + oy * k->ow;
                    if (iy < 0 || iy >= k->h) {
                        memset(dst, 0, sizeof(float) * (size_t)k->ow);
                        continue;
                    }
                    const float *src = xc + iy * k->w;
                    int64_t ix0 = -k->pl + kj * k->dw;
                    for (int64_t ox = 0; ox < k->ow; ox++) {
                        int64_t ix = ix0 + ox * k->sw;
                        dst[ox] = (ix >= 0 && ix < k->w) ? src[ix] : 0.0f;
                    }
                }
            }
        }
    }
}

static void conv_depthwise(const struct conv_kernel *k, const float *x, const float *w,
                           const float *bias, float *y)
{
    const int64_t mult = k->mg; /* output channels per input channel */
    for (int64_t o = 0; o < k->m; o++) {
        const float *xc = x + (o / mult) * k->h * k->w;
        const float *wk = w + o * k->kh * k->kw;
        float *yo = y + o * k->oh * k->ow;
        const float b = bias ? bias[o] : 0.0f;
        for (int64_t oy = 0; oy < k->oh; oy++) {
            for (int64_t ox = 0; ox < k->ow; ox++) {
                float sum = b;
                for (int64_t ki = 0; ki < k->kh; ki++) {
                    int64_t iy = oy * k->sh - k->pt + ki * k->dh;
                    if (iy < 0 || iy >= k->h) continue;
                    const float *xr = xc + iy * k->w;
                    for (int64_t kj = 0; kj < k->kw; kj++) {
                        int64_t ix = ox * k->sw - k->pl + kj * k->dw;
                        if (ix >= 0 && ix < k->w) sum += xr[ix] * wk[ki * k->kw + kj];
                    }
                }
                yo[oy * k->ow + ox] = sum;
            }
        }
    }
}

static int conv_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct conv_kernel *k = s->kdata;
    const float *in = x->ptr[s->in[0]];
    const float *w = x->ptr[s->in[1]];
    const float *bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL;
    float *out = x->ptr[s->out[0]];
    const int64_t plane = k->oh * k->ow, in_plane = k->h * k->w;
    (void)m;
    for (int64_t b = 0; b < k->n; b++) {
        const float *xb = in + b * k->c * in_plane;
        float *yb = out + b * k->m * plane;
        if (k->mode == CONV_DEPTHWISE) {
            conv_depthwise(k, xb, w, NULL, yb);
            conv_epilogue(&s->act, bias, yb, k->m, plane);
            continue;
        }
        for (int64_t g = 0; g < k->group; g++) {
            const float *xg = xb + g * k->cg * in_plane;
            const float *wg = w + g * k->mg * k->k;
            float *yg = yb + g * k->mg * plane;
            const float *col = xg;
            if (k->mode == CONV_IM2COL) {
                im2col(k, xg, x->scratch);
                col = x->scratch;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k->mg, (int)plane,
                        (int)k->k, 1.0f, wg, (int)k->k, col, (int)plane, 0.0f, yg, (int)plane);
        }
        conv_epilogue(&s->act, bias, yb, k->m, plane);
    }
    return 0;
}

int cpu_conv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_conv_params *p = n->params;
    if (!p || p->transpose || p->nspatial != 2) return 0;
    const struct ir_value *xv = &g->values[n->in[0]];
    const struct ir_value *wv = &g->values[n->in[1]];
    const struct ir_value *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || !(wv->flags & IR_VALUE_CONST)) return 0;
    /* Depthwise convolutions are cpu_depthwise.c's (chosen before this one). */
    if (p->group > 1 && xv->shape.dims[1] == p->group) return 0;
    if (n->nin > 2 && n->in[2] >= 0 && !(g->values[n->in[2]].flags & IR_VALUE_CONST)) return 0;
    /* Int sizes for BLAS. */
    for (int d = 0; d < 4; d++)
        if (xv->shape.dims[d] > INT32_MAX / 4 || yv->shape.dims[d] > INT32_MAX / 4) return 0;

    struct conv_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->n = xv->shape.dims[0];
    k->c = xv->shape.dims[1];
    k->h = xv->shape.dims[2];
    k->w = xv->shape.dims[3];
    k->m = yv->shape.dims[1];
    k->oh = yv->shape.dims[2];
    k->ow = yv->shape.dims[3];
    k->kh = p->kernel[0];
    k->kw = p->kernel[1];
    k->sh = p->strides[0];
    k->sw = p->strides[1];
    k->dh = p->dilations[0];
    k->dw = p->dilations[1];
    k->pt = p->pads[0];
    k->pl = p->pads[1];
    k->group = p->group;
    k->cg = k->c / k->group;
    k->mg = k->m / k->group;
    k->k = k->cg * k->kh * k->kw;
    if (k->cg == 1 && k->group > 1) {
        k->mode = CONV_DEPTHWISE;
    } else if (k->kh == 1 && k->kw == 1 && k->sh == 1 && k->sw == 1 && k->pt == 0 && k->pl == 0 &&
               p->pads[2] == 0 && p->pads[3] == 0) {
        k->mode = CONV_POINTWISE;
    } else {
        k->mode = CONV_IM2COL;
        size_t need = (size_t)(k->k * k->oh * k->ow) * sizeof(float);
        if (need > m->scratch_size) m->scratch_size = need;
    }
    static const char *const names[] = { "conv1x1_sgemm", "conv_depthwise", "conv_im2col_sgemm" };
    s->kernel = names[k->mode];
    s->kdata = k;
    s->kdata_free = free;
    s->run = conv_run;
    (void)err;
    (void)errlen;
    return 1;
}
