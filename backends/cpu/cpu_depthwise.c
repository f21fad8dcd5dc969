/* Depthwise 2-D convolution (one input channel per group, any channel
 * multiplier): a direct sliding window per output channel (cpu_eltwise.h's
 * window planes), with the bias, the fused residual sum and the activation
 * applied as each vector is stored. Small planes go 16 channels at a time
 * where the level has a blocked path (weights packed per block of 16 here).
 * Output channels are split over the instance's threads. */
#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>

struct dw_kernel {
    const struct cpu_vec *vec;
    struct cpu_window win;
    int64_t n, c, m, mult; /* batch, input and output channels, m / c */
    /* Blocked path: per block of 16 channels, the weights as [taps][16] and
     * the biases (zero past the last channel); scratch per task. */
    float *kblock, *bblock;
    size_t scratch;
    /* Flat path (cpu_dw_flat): small planes at stride 1, rows as wide as the
     * input's. */
    uint16_t *flat;
    int64_t *flat_off;
};

static void dw_kernel_free(void *p)
{
    struct dw_kernel *k = p;
    if (!k) return;
    ir_free(k->kblock);
    ir_free(k->bblock);
    free(k->flat);
    free(k->flat_off);
    free(k);
}

struct dw_job {
    const struct dw_kernel *k;
    const struct ir_act *act;
    const float *x, *w, *bias, *sum;
    float *y;
};

/* Output channels [lo, hi) in the flat layout, one call per image's run of
 * them (mult is 1 there: output channel i reads input plane i). */
static void dw_flat_runs(const struct dw_job *j, int64_t lo, int64_t hi)
{
    const struct dw_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t xplane = g->h * g->w, yplane = g->oh * g->ow, taps = g->kh * g->kw;
    for (int64_t i = lo; i < hi;) {
        const int64_t o = i % k->m, run = k->m - o < hi - i ? k->m - o : hi - i;
        struct cpu_dw_flat a = {
            .xplane = xplane,
            .yplane = yplane,
            .taps = taps,
            .mask = k->flat,
            .off = k->flat_off,
            .x = j->x + i * xplane,
            .w = j->w + o * taps,
            .bias = j->bias ? j->bias + o : NULL,
            .sum = j->sum ? j->sum + i * yplane : NULL,
            .y = j->y + i * yplane,
            .act = j->act,
            .nch = run,
        };
        k->vec->dw_flat(&a);
        i += run;
    }
}

/* A share of the output channels, plane by plane or flat. */
static void dw_task(void *arg, int t, int ntasks)
{
    const struct dw_job *j = arg;
    const struct dw_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t xplane = g->h * g->w, yplane = g->oh * g->ow, taps = g->kh * g->kw;
    int64_t lo, hi;
    cpu_task_range(k->n * k->m, t, ntasks, &lo, &hi);
    if (k->flat) {
        dw_flat_runs(j, lo, hi);
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        if (i + 1 < hi) cpu_prefetch_out(j->y + (i + 1) * yplane, yplane, ntasks);
        const int64_t b = i / k->m, o = i % k->m;
        struct cpu_plane p = {
            .x = j->x + (b * k->c + o / k->mult) * xplane,
            .y = j->y + i * yplane,
            .k = j->w + o * taps,
            .bias = j->bias ? j->bias[o] : 0.0f,
            .sum = j->sum ? j->sum + i * yplane : NULL,
            .act = j->act,
        };
        k->vec->window(CPU_WIN_DW, g, &p);
    }
}

struct dw_block_job {
    const struct dw_job *j;
    const struct cpu_exec *exec; /* each task's image in its own scratch */
};

static void dw_block_task(void *arg, int t, int ntasks)
{
    const struct dw_block_job *bj = arg;
    const struct dw_job *j = bj->j;
    const struct dw_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t xplane = g->h * g->w, yplane = g->oh * g->ow, taps = g->kh * g->kw;
    const int64_t blocks = (k->m + 15) / 16;
    int64_t lo, hi;
    cpu_task_range(k->n * blocks, t, ntasks, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        const int64_t b = i / blocks, c0 = i % blocks * 16;
        if (i + 1 < hi) {
            const int64_t b1 = (i + 1) / blocks, c1 = (i + 1) % blocks * 16;
            cpu_prefetch_out(j->y + (b1 * k->m + c1) * yplane,
                             (k->m - c1 < 16 ? k->m - c1 : 16) * yplane, ntasks);
        }
        struct cpu_block blk = {
            .x = j->x + (b * k->c + c0) * xplane,
            .y = j->y + (b * k->m + c0) * yplane,
            .k = k->kblock + c0 * taps,
            .bias = k->bblock + c0,
            .sum = j->sum ? j->sum + (b * k->m + c0) * yplane : NULL,
            .act = j->act,
            .nch = (int)(k->m - c0 < 16 ? k->m - c0 : 16),
            .scratch = cpu_exec_task_scratch(bj->exec, t),
        };
        k->vec->window_block(CPU_WIN_DW, g, &blk);
    }
}

static int dw_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct dw_kernel *k = s->kdata;
    struct dw_job j = {
        .k = k,
        .act = &s->act,
        .x = x->ptr[s->in[0]],
        .w = x->ptr[s->in[1]],
        .bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL,
        .sum = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL,
        .y = x->ptr[s->out[0]],
    };
    (void)m;
    const struct cpu_window *g = &k->win;
    const int64_t work = k->n * k->m * g->oh * g->ow * g->kh * g->kw;
    if (k->kblock) {
        struct dw_block_job bj = { &j, x };
        int64_t units = k->n * ((k->m + 15) / 16);
        cpu_pool_run(x->pool, dw_block_task, &bj, cpu_tasks(x->pool, units, work));
        return 0;
    }
    cpu_pool_run(x->pool, dw_task, &j, cpu_tasks(x->pool, k->n * k->m, work));
    return 0;
}

/* Packs the weights and biases per block of 16 channels for the blocked
 * path: block b holds [taps][16] weights, channel c at lane c % 16. */
static int dw_block_pack(struct dw_kernel *k, const float *w, const float *bias)
{
    const int64_t taps = k->win.kh * k->win.kw, cpad = (k->m + 15) / 16 * 16;
    k->kblock = ir_alloc((size_t)(cpad * taps) * sizeof(float));
    k->bblock = ir_alloc((size_t)cpad * sizeof(float));
    if (!k->kblock || !k->bblock) return -ENOMEM;
    for (int64_t c = 0; c < k->m; c++) {
        float *blk = k->kblock + c / 16 * 16 * taps;
        for (int64_t t = 0; t < taps; t++) blk[t * 16 + c % 16] = w[c * taps + t];
        k->bblock[c] = bias ? bias[c] : 0.0f;
    }
    return 0;
}

/* The flat path (cpu_dw_flat) where it fits: the level has it, stride 1
 * with the output plane the input's ("same" padding), at most
 * CPU_DW_FLAT_MAX floats, every tap within two vectors of its output.
 * Leaves k->flat NULL when it does not fit. */
static int dw_flat_plan(struct dw_kernel *k)
{
    const struct cpu_window *g = &k->win;
    if (!k->vec->dw_flat || k->mult != 1 || g->sh != 1 || g->sw != 1 || g->oh != g->h ||
        g->ow != g->w || g->oh * g->ow > CPU_DW_FLAT_MAX)
        return 0;
    int rc = cpu_window_flat(g, &k->flat, &k->flat_off);
    if (rc < 0) return rc;
    for (int64_t t = 0; t < g->kh * g->kw; t++) {
        if (k->flat_off[t] < -32 || k->flat_off[t] >= 32) {
            free(k->flat);
            free(k->flat_off);
            k->flat = NULL;
            k->flat_off = NULL;
            return 0;
        }
    }
    return 0;
}

int cpu_depthwise_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_conv_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || p->transpose || p->nspatial != 2 || n->nin < 2 || n->in[0] < 0 || n->in[1] < 0)
        return 0;
    const struct ir_value *xv = &g->values[n->in[0]], *wv = &g->values[n->in[1]];
    const struct ir_value *yv = &g->values[n->out[0]];
    const int64_t c = xv->shape.dims[1];
    if (p->group < 2 || p->group != c) return 0; /* not depthwise */
    if (xv->dtype != IR_DT_F32 || !(wv->flags & IR_VALUE_CONST) || wv->dtype != IR_DT_F32) return 0;
    if (n->nin > 2 && n->in[2] >= 0 && !(g->values[n->in[2]].flags & IR_VALUE_CONST)) return 0;
    if (n->act.sum > 0 && (n->act.sum >= n->nin || n->in[n->act.sum] < 0)) return 0;

    struct dw_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->vec = cpu_vec_get(m->be->isa);
    k->n = xv->shape.dims[0];
    k->c = c;
    k->m = yv->shape.dims[1];
    k->mult = k->m / c;
    k->win = cpu_window_of(xv, yv, p->kernel, p->strides, p->dilations, p->pads);
    s->kdata = k;
    s->kdata_free = dw_kernel_free;
    /* 16 channels at a time where a row fills half a vector or less (ir_alloc
     * zeroes the lanes past the last channel). */
    const struct cpu_slot *ws = &m->slots[n->in[1]];
    const struct cpu_slot *bs = n->nin > 2 && n->in[2] >= 0 ? &m->slots[n->in[2]] : NULL;
    /* Small planes at stride 1 go flat (weights read as stored), other
     * small planes 16 channels at a time. */
    int rc = dw_flat_plan(k);
    if (rc < 0) return rc;
    if (!k->flat && k->vec->window_block && k->mult == 1 && k->win.ow <= 8 && ws->data &&
        (!bs || bs->data)) {
        rc = dw_block_pack(k, ws->data, bs ? bs->data : NULL);
        if (rc < 0) return rc;
        k->scratch = (cpu_window_block_scratch(&k->win) + 63) / 64 * 64;
        if (k->scratch > m->task_scratch_size) m->task_scratch_size = k->scratch;
    }
    static const char *const names[][3] = {
        { "depthwise_generic", "depthwise_avx2", "depthwise_avx512" },
        { "depthwise_generic", "depthwise_avx2", "depthwise_block_avx512" },
    };
    s->kernel = k->flat ? "depthwise_flat_avx512" : names[k->kblock != NULL][k->vec->level];
    s->run = dw_run;
    s->fuses_sum = true;
    return 1;
}
