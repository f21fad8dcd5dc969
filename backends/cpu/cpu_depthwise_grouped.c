/* Grouped 2-D convolution with few channels per group (RegNet's group width
 * 16, ResNeXt's 4 to 32): a direct kernel per block of output channels of a
 * group (cpu_eltwise.h's gconv), no im2col, with bias, residual and
 * activation fused. Only where the instruction-set level has the kernel
 * (AVX2, AVX-512);
 * elsewhere (and for wide groups, which GEMM serves better) the Conv falls
 * to the next kernel in cpu_kernels.c. Blocks of (image, group, output
 * channels) are split over the instance's threads. */
#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>

/* Wider groups are a GEMM's business. */
#define GROUP_MAX_CHANNELS 64

struct gc_kernel {
    const struct cpu_vec *vec;
    struct cpu_window win;
    int64_t n, c, m, group, cg, mg;
    int64_t blocks; /* output-channel blocks per group */
    int ob;         /* output channels per block (the level's gconv_block) */
    float *w;       /* [group][blocks][cg][taps][ob] */
    float *b;       /* [group][blocks][ob] */
    uint16_t *flat; /* flat layout masks, or NULL */
    int64_t *flat_off;
};

static void gc_kernel_free(void *p)
{
    struct gc_kernel *k = p;
    if (!k) return;
    ir_free(k->w);
    ir_free(k->b);
    free(k->flat);
    free(k->flat_off);
    free(k);
}

struct gc_job {
    const struct gc_kernel *k;
    const struct ir_act *act;
    const float *x, *sum;
    float *y;
};

static void gc_task(void *arg, int t, int ntasks)
{
    const struct gc_job *j = arg;
    const struct gc_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t xplane = g->h * g->w, yplane = g->oh * g->ow, taps = g->kh * g->kw;
    const int64_t per_image = k->group * k->blocks;
    int64_t lo, hi;
    cpu_task_range(k->n * per_image, t, ntasks, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        const int64_t b = i / per_image, gb = i % per_image;
        const int64_t grp = gb / k->blocks, blk = gb % k->blocks;
        const int64_t o0 = grp * k->mg + blk * k->ob; /* first output channel */
        const int64_t nout = k->mg - blk * k->ob < k->ob ? k->mg - blk * k->ob : k->ob;
        const int64_t yoff = (b * k->m + o0) * yplane;
        if (i + 1 < hi) {
            /* the next block's output starts where this one's ends */
            const int64_t nblk = (i + 1) % per_image % k->blocks;
            const int64_t nnext = k->mg - nblk * k->ob < k->ob ? k->mg - nblk * k->ob : k->ob;
            cpu_prefetch_out(j->y + yoff + nout * yplane, nnext * yplane, ntasks);
        }
        struct cpu_gconv a = {
            .g = g,
            .cg = k->cg,
            .nout = (int)nout,
            .x = j->x + (b * k->c + grp * k->cg) * xplane,
            .xplane = xplane,
            .w = k->w + gb * k->cg * taps * k->ob,
            .bias = k->b + gb * k->ob,
            .sum = j->sum ? j->sum + yoff : NULL,
            .y = j->y + yoff,
            .yplane = yplane,
            .act = j->act,
            .flat = k->flat,
            .flat_off = k->flat_off,
        };
        k->vec->gconv(&a);
    }
}

static int gc_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct gc_kernel *k = s->kdata;
    struct gc_job j = {
        .k = k,
        .act = &s->act,
        .x = x->ptr[s->in[0]],
        .sum = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL,
        .y = x->ptr[s->out[0]],
    };
    (void)m;
    const struct cpu_window *g = &k->win;
    const int64_t units = k->n * k->group * k->blocks;
    const int64_t work = k->n * k->m * g->oh * g->ow * k->cg * g->kh * g->kw;
    cpu_pool_run(x->pool, gc_task, &j, cpu_tasks(x->pool, units, work));
    return 0;
}

bool cpu_grouped_channels_fit(int64_t group, int64_t c)
{
    const int64_t cg = group > 0 ? c / group : 0;
    return group >= 2 && c % group == 0 && cg >= 2 && cg <= GROUP_MAX_CHANNELS;
}

bool cpu_grouped_rows_fit(const struct cpu_window *win)
{
    return win->kh == win->kw && (win->kh == 1 || win->kh == 3 || win->kh == 5) &&
           win->sh == win->sw && (win->sh == 1 || win->sh == 2) && win->dh == 1 && win->dw == 1;
}

int cpu_grouped_pack(int64_t m, int64_t group, int64_t cg, int64_t taps, int ob, const float *w,
                     const float *bias, float **wp, float **bp)
{
    const int64_t mg = m / group, blocks = (mg + ob - 1) / ob, nblk = group * blocks;
    *wp = ir_alloc((size_t)(nblk * cg * taps * ob) * sizeof(float));
    *bp = ir_alloc((size_t)(nblk * ob) * sizeof(float));
    if (!*wp || !*bp) return -ENOMEM;
    for (int64_t o = 0; o < m; o++) {
        const int64_t grp = o / mg, blk = (o % mg) / ob, lane = (o % mg) % ob;
        const int64_t gb = grp * blocks + blk;
        for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t t = 0; t < taps; t++)
                (*wp)[((gb * cg + ci) * taps + t) * ob + lane] = w[(o * cg + ci) * taps + t];
        (*bp)[gb * ob + lane] = bias ? bias[o] : 0.0f;
    }
    return 0;
}

static int gc_pack(struct gc_kernel *k, const float *w, const float *bias)
{
    return cpu_grouped_pack(k->m, k->group, k->cg, k->win.kh * k->win.kw, k->ob, w, bias, &k->w,
                            &k->b);
}

/* Tap masks of the flat layout (stride 1, ow == w): output i reads input
 * i + off[t] for tap t when that tap lies inside the input. */
static int gc_flat(struct gc_kernel *k)
{
    return cpu_window_flat(&k->win, &k->flat, &k->flat_off);
}

int cpu_grouped_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                        const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_conv_params *p = n->params;
    const struct cpu_vec *vec = cpu_vec_get(m->be->isa);
    (void)err, (void)errlen;
    if (!vec->gconv || !p || p->transpose || p->nspatial != 2 || n->nin < 2 || n->in[0] < 0 ||
        n->in[1] < 0)
        return 0;
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    const int64_t c = xv->shape.dims[1], cg = c / p->group;
    if (!cpu_grouped_channels_fit(p->group, c)) return 0;
    const struct cpu_slot *ws = &m->slots[n->in[1]];
    const struct cpu_slot *bs = n->nin > 2 && n->in[2] >= 0 ? &m->slots[n->in[2]] : NULL;
    if (xv->dtype != IR_DT_F32 || ws->kind != CPU_SLOT_CONST || ws->dtype != IR_DT_F32 || !ws->data)
        return 0;
    if (bs && (bs->kind != CPU_SLOT_CONST || !bs->data)) return 0;
    if (n->act.sum > 0 && (n->act.sum >= n->nin || n->in[n->act.sum] < 0)) return 0;
    const struct cpu_window win =
        cpu_window_of(xv, yv, p->kernel, p->strides, p->dilations, p->pads);
    /* The flat layout takes any kernel at stride 1 over rows as wide as
     * the input's; rows take square 1x1, 3x3 and 5x5 kernels at stride 1
     * or 2. */
    const bool flat = win.sh == 1 && win.sw == 1 && win.ow == win.w;
    const bool rows = cpu_grouped_rows_fit(&win);
    if (!flat && !rows) return 0;

    struct gc_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = gc_kernel_free;
    k->vec = vec;
    k->win = win;
    k->n = xv->shape.dims[0];
    k->c = c;
    k->m = yv->shape.dims[1];
    k->group = p->group;
    k->cg = cg;
    k->mg = k->m / p->group;
    k->ob = vec->gconv_block;
    k->blocks = (k->mg + k->ob - 1) / k->ob;
    int rc = gc_pack(k, ws->data, bs ? bs->data : NULL);
    if (rc == 0 && flat) rc = gc_flat(k);
    if (rc < 0) return rc;
    static const char *const names[] = { "grouped_generic", "grouped_avx2", "grouped_avx512" };
    s->kernel = names[vec->level];
    s->run = gc_run;
    s->fuses_sum = true;
    return 1;
}
