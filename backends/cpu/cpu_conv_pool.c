/* A network's first convolution fused with the max pooling that reads it
 * (ResNet, GoogLeNet, SqueezeNet, ShuffleNet stems), or with the depthwise
 * convolution that reads it (MobileNet, MnasNet, EfficientNet stems). The
 * first layer's output is the largest tensor of those networks (64 x 112 x
 * 112 floats, 3 MB; 32 x 112 x 112, 1.6 MB), and the window after it, whose
 * arithmetic is a few operations a value, took three to four times as long
 * reading it back from memory as from cache. Here each thread takes a share
 * of the window's output rows and walks it in bands: the convolution
 * (cpu_conv_direct.c, its input read in place) computes the rows a band's
 * windows need into a buffer of the thread's own that fits L2, and the
 * window runs over it; a row the previous band computed already is moved up
 * rather than computed again. The convolution's output is never stored. */
#include "cpu_conv_pool.h"

#include "cpu_conv.h"
#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Convolution outputs (per image) below this many bytes are not fused: they
 * stay in cache for the pooling anyway. */
#define CP_MIN_BYTES ((size_t)512 * 1024)

struct cp_kernel {
    void *conv; /* cpu_conv_direct_prepare's kernel data */
    void (*conv_free)(void *);
    const struct cpu_vec *vec;
    int64_t n, c, h, w;    /* the convolution's input */
    int64_t m;             /* its output channels */
    struct cpu_window win; /* the window op over its output plane */
    int op;                /* CPU_WIN_MAX, or CPU_WIN_DW */
    const float *bias;     /* the convolution's (a constant), or NULL */
    struct ir_act act;     /* and its activation */
    /* CPU_WIN_DW: the depthwise layer's weights (kh x kw a channel, as
     * stored), bias (or NULL) and activation */
    const float *dw_w, *dw_b;
    struct ir_act dw_act;
    struct cpu_band bands; /* the plan (cpu_band_plan) */
};

static void cp_kernel_free(void *p)
{
    struct cp_kernel *k = p;
    if (!k) return;
    if (k->conv_free) k->conv_free(k->conv);
    free(k);
}

static bool cp_shape(const struct ir_graph *g, const struct ir_node *na, struct cpu_conv_shape *cs)
{
    const struct ir_conv_params *p = na->params;
    if (!p || p->transpose || p->nspatial != 2) return false;
    const struct ir_value *xv = &g->values[na->in[0]], *yv = &g->values[na->out[0]];
    if (xv->shape.ndim != 4 || yv->shape.ndim != 4) return false;
    *cs = (struct cpu_conv_shape){
        .n = xv->shape.dims[0],
        .c = xv->shape.dims[1],
        .h = xv->shape.dims[2],
        .w = xv->shape.dims[3],
        .m = yv->shape.dims[1],
        .oh = yv->shape.dims[2],
        .ow = yv->shape.dims[3],
        .kh = p->kernel[0],
        .kw = p->kernel[1],
        .sh = p->strides[0],
        .sw = p->strides[1],
        .dh = p->dilations[0],
        .dw = p->dilations[1],
        .pt = p->pads[0],
        .pl = p->pads[1],
        .pb = p->pads[2],
        .pr = p->pads[3],
        .group = p->group,
    };
    return true;
}

/* nb's window: a max pooling, or a depthwise convolution (one output
 * channel an input channel, constant weights, no residual); false when nb
 * is neither. */
static bool cp_window(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *nb,
                      const int64_t **kernel, const int64_t **strides, const int64_t **dilations,
                      const int64_t **pads)
{
    if (strcmp(nb->op_type, "MaxPool") == 0) {
        const struct ir_pool_params *pp = nb->params;
        if (!pp || pp->global || pp->nspatial != 2 || pp->kind != IR_POOL_MAX) return false;
        if (nb->act.kind != IR_ACT_NONE) return false;
        for (int k = 1; k < nb->nout; k++)
            if (nb->out[k] >= 0) return false; /* Indices wanted */
        *kernel = pp->kernel, *strides = pp->strides, *dilations = pp->dilations;
        *pads = pp->pads;
        return true;
    }
    if (strcmp(nb->op_type, "Conv") != 0) return false;
    const struct ir_conv_params *cp = nb->params;
    if (!cp || cp->transpose || cp->nspatial != 2 || nb->nin < 2 || nb->act.sum > 0) return false;
    const struct ir_value *xv = &g->values[nb->in[0]], *yv = &g->values[nb->out[0]];
    if (xv->shape.ndim != 4 || yv->shape.ndim != 4 || cp->group != xv->shape.dims[1] ||
        yv->shape.dims[1] != cp->group)
        return false;
    if (!cpu_value_const_f32(m, g, nb->in[1])) return false;
    if (nb->nin > 2 && nb->in[2] >= 0 && !cpu_value_const_f32(m, g, nb->in[2])) return false;
    *kernel = cp->kernel, *strides = cp->strides, *dilations = cp->dilations, *pads = cp->pads;
    return true;
}

bool cpu_conv_pool_fits(const struct cpu_model *m, const struct ir_graph *g,
                        const struct ir_node *na, const struct ir_node *nb)
{
    if (strcmp(na->op_type, "Conv") != 0) return false;
    if (nb->nin < 1 || nb->nout < 1 || nb->in[0] != na->out[0] || nb->out[0] < 0) return false;
    const int64_t *kernel, *strides, *dilations, *pads;
    if (!cp_window(m, g, nb, &kernel, &strides, &dilations, &pads)) return false;
    if (na->nin < 2 || na->in[0] < 0 || na->nout < 1 || na->out[0] < 0 || na->act.sum > 0)
        return false;
    if (g->values[na->in[0]].dtype != IR_DT_F32 || !cpu_value_const_f32(m, g, na->in[1]))
        return false;
    if (na->nin > 2 && na->in[2] >= 0 && !cpu_value_const_f32(m, g, na->in[2])) return false;
    struct cpu_conv_shape cs;
    if (!cp_shape(g, na, &cs)) return false;
    /* a network's first layer: a few input channels, strided, one group */
    if (cs.group != 1 || cs.c > 4 || cs.sh < 2 || (cs.kh == 1 && cs.kw == 1)) return false;
    if (!cpu_conv_direct_fits(cpu_ukernel_get(m->be->isa), &cs)) return false;
    /* the windows within the plane's padding of less than a window */
    for (int i = 0; i < 2; i++)
        if (pads[i] >= kernel[i] * dilations[i] || pads[2 + i] >= kernel[i] * dilations[i] ||
            strides[i] < 1)
            return false;
    if ((size_t)(cs.m * cs.oh * cs.ow) * sizeof(float) < CP_MIN_BYTES) return false;
    return cpu_value_read_once(g, na->out[0]); /* nb reads it, no one else */
}

/* --- run ---------------------------------------------------------------- */

struct cp_job {
    const struct cp_kernel *k;
    const float *xq; /* the convolution's padded input (cpu_conv_direct_input) */
    float *y;
    const struct cpu_exec *exec;
};

static void cp_task(void *arg, int t, int ntasks)
{
    const struct cp_job *j = arg;
    const struct cp_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t rs = k->bands.rows_cap * g->w; /* buffer: channel stride */
    float *buf = cpu_exec_task_scratch(j->exec, t);
    int64_t lo, hi;
    cpu_task_range(g->oh, t, ntasks, &lo, &hi);
    struct cpu_band band = k->bands;
    for (int64_t oy0 = lo; oy0 < hi; oy0 += band.band) {
        const int64_t oy1 = cpu_imin(oy0 + band.band, hi);
        int64_t iy0, iy1;
        struct cpu_window gw;
        const int64_t keep = cpu_band_next(&band, g, oy0, oy1, buf, rs, k->m, &iy0, &iy1, &gw);
        if (iy1 > iy0 + keep)
            cpu_conv_direct_rows(k->conv, j->xq, k->bias, &k->act, iy0 + keep, iy1,
                                 buf + keep * g->w, rs);
        const int64_t taps = g->kh * g->kw;
        for (int64_t c = 0; c < k->m; c++) {
            /* (not before a depthwise window: 1.01-1.04 there, measured
             * on the 112x112 first blocks of three MobileNets) */
            if (c + 1 < k->m && !k->dw_w)
                cpu_prefetch_out(j->y + (c + 1) * g->oh * g->ow + oy0 * g->ow, (oy1 - oy0) * g->ow,
                                 ntasks);
            const struct cpu_plane p = {
                .x = buf + c * rs,
                .y = j->y + c * g->oh * g->ow + oy0 * g->ow,
                .k = k->dw_w ? k->dw_w + c * taps : NULL,
                .bias = k->dw_b ? k->dw_b[c] : 0.0f,
                .act = &k->dw_act,
            };
            k->vec->window(k->op, &gw, &p);
        }
    }
}

static int cp_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct cp_kernel *k = s->kdata;
    const struct cpu_window *g = &k->win;
    (void)m;
    const float *in = x->ptr[s->in[0]];
    float *out = x->ptr[s->out[0]];
    struct cp_job j = { .k = k, .xq = x->scratch, .exec = x };
    const int tasks = cpu_tasks(x->pool, g->oh, k->m * g->h * g->w * 16);
    for (int64_t b = 0; b < k->n; b++) {
        cpu_conv_direct_input(k->conv, x->pool, in + b * k->c * k->h * k->w, x->scratch);
        j.y = out + b * k->m * g->oh * g->ow;
        cpu_pool_run(x->pool, cp_task, &j, tasks);
    }
    return 0;
}

/* --- prepare ------------------------------------------------------------ */

int cpu_conv_pool_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *na, const struct ir_node *nb)
{
    const int64_t *kernel, *strides, *dilations, *pads;
    struct cpu_conv_shape cs;
    if (!cp_shape(g, na, &cs) || !cp_window(m, g, nb, &kernel, &strides, &dilations, &pads))
        return -EINVAL;
    struct cp_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = cp_kernel_free;
    struct cpu_step conv = { 0 };
    int rc = cpu_conv_direct_prepare(m, &conv, &cs, m->slots[na->in[1]].data);
    k->conv = conv.kdata;
    k->conv_free = conv.kdata_free;
    if (rc < 0) return rc;
    cpu_const_drop(m, g, na->in[1]);
    k->vec = cpu_vec_get(m->be->isa);
    k->n = cs.n;
    k->c = cs.c;
    k->h = cs.h;
    k->w = cs.w;
    k->m = cs.m;
    k->bias = na->nin > 2 && na->in[2] >= 0 ? m->slots[na->in[2]].data : NULL;
    k->act = na->act;
    /* over the convolution's output, nb's input until the caller rewires it */
    k->win = cpu_window_of(&g->values[nb->in[0]], &g->values[nb->out[0]], kernel, strides,
                           dilations, pads);
    k->op = CPU_WIN_MAX;
    if (strcmp(nb->op_type, "Conv") == 0) {
        k->op = CPU_WIN_DW;
        k->dw_w = m->slots[nb->in[1]].data;
        k->dw_b = nb->nin > 2 && nb->in[2] >= 0 ? m->slots[nb->in[2]].data : NULL;
        k->dw_act = nb->act;
    }
    cpu_band_plan(&k->bands, &k->win, k->m);
    const size_t need = sizeof(float) * (size_t)(k->m * k->bands.rows_cap * k->win.w);
    if (need > m->task_scratch_size) m->task_scratch_size = need;

    static const char *const names[2][3] = {
        { "conv_pool_generic", "conv_pool_avx2", "conv_pool_avx512" },
        { "conv_dw_generic", "conv_dw_avx2", "conv_dw_avx512" },
    };
    s->kernel = names[k->op == CPU_WIN_DW][k->vec->level];
    s->run = cp_run;
    s->fuses_sum = true; /* neither window takes a residual (cp_window) */
    return 1;
}
