/* Pooling step kernels: MaxPool and AveragePool over 2-D planes (the window
 * planes of cpu_eltwise.h), GlobalAveragePool, GlobalMaxPool and a
 * ReduceMean over trailing axes (how several exporters write a global
 * average pool) as one vector reduction per plane. Planes are split over the
 * instance's threads. float32 only; MaxPool's Indices output stays on the
 * reference kernel. The other Reduce* ops run here too, with their
 * accumulators in scratch. */
#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum pool_mode {
    POOL_WINDOW = 0,
    POOL_GLOBAL_AVG,
    POOL_GLOBAL_MAX,
};

struct pool_kernel {
    const struct cpu_vec *vec;
    int mode; /* enum pool_mode */
    int op;   /* POOL_WINDOW: CPU_WIN_MAX or CPU_WIN_AVG */
    int64_t planes, xplane, yplane;
    struct cpu_window win;
    float *rowscale, *colscale; /* AVG: 1 / taps counted, per row and per column */
};

static void pool_kernel_free(void *p)
{
    struct pool_kernel *k = p;
    if (!k) return;
    free(k->rowscale);
    free(k->colscale);
    free(k);
}

struct pool_job {
    const struct pool_kernel *k;
    const float *x;
    float *y;
};

static void pool_task(void *arg, int t, int ntasks)
{
    const struct pool_job *j = arg;
    const struct pool_kernel *k = j->k;
    int64_t lo, hi;
    cpu_task_range(k->planes, t, ntasks, &lo, &hi);
    if (k->mode == POOL_GLOBAL_AVG) {
        const float inv = 1.0f / (float)k->xplane;
        for (int64_t i = lo; i < hi; i++)
            j->y[i] = k->vec->sum(j->x + i * k->xplane, k->xplane) * inv;
        return;
    }
    if (k->mode == POOL_GLOBAL_MAX) {
        for (int64_t i = lo; i < hi; i++) j->y[i] = k->vec->max(j->x + i * k->xplane, k->xplane);
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        if (i + 1 < hi) {
            cpu_prefetch_out(j->y + (i + 1) * k->yplane, k->yplane, ntasks);
            cpu_prefetch_in(j->x + (i + 1) * k->xplane, k->xplane);
        }
        struct cpu_plane p = {
            .x = j->x + i * k->xplane,
            .y = j->y + i * k->yplane,
            .rowscale = k->rowscale,
            .colscale = k->colscale,
        };
        k->vec->window(k->op, &k->win, &p);
    }
}

static int pool_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct pool_kernel *k = s->kdata;
    struct pool_job j = { k, x->ptr[s->in[0]], x->ptr[s->out[0]] };
    (void)m;
    int64_t work = k->mode == POOL_WINDOW ? k->planes * k->yplane * k->win.kh * k->win.kw
                                          : k->planes * k->xplane;
    cpu_pool_run(x->pool, pool_task, &j, cpu_tasks(x->pool, k->planes, work));
    return 0;
}

/* 1 / (taps of a window counted by the average) along one axis: those inside
 * [0, n), or inside [0, n + pad_end) with count_include_pad. */
static void avg_scales(float *scale, int64_t on, int64_t n, int64_t k, int64_t s, int64_t d,
                       int64_t pb, int64_t pe, bool include_pad)
{
    const int64_t end = include_pad ? n + pe : n;
    const int64_t begin = include_pad ? -pb : 0;
    for (int64_t o = 0; o < on; o++) {
        int64_t count = 0;
        for (int64_t t = 0; t < k; t++) {
            int64_t pos = o * s - pb + t * d;
            if (pos >= begin && pos < end) count++;
        }
        scale[o] = count > 0 ? 1.0f / (float)count : 0.0f;
    }
}

static const char *const names[][3] = {
    { "pool_generic", "pool_avx2", "pool_avx512" },
    { "global_pool_generic", "global_pool_avx2", "global_pool_avx512" },
};

static int pool_kernel_install(struct cpu_step *s, struct pool_kernel *k)
{
    s->kernel = names[k->mode == POOL_WINDOW ? 0 : 1][k->vec->level];
    s->kdata = k;
    s->kdata_free = pool_kernel_free;
    s->run = pool_run;
    return 1;
}

int cpu_pool_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_pool_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || n->nin < 1 || n->in[0] < 0 || n->out[0] < 0 || n->act.kind != IR_ACT_NONE) return 0;
    for (int k = 1; k < n->nout; k++)
        if (n->out[k] >= 0) return 0; /* Indices wanted */
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || xv->shape.ndim < 3) return 0;
    struct pool_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->vec = cpu_vec_get(m->be->isa);
    k->planes = xv->shape.dims[0] * xv->shape.dims[1];
    k->xplane = ir_shape_numel(&xv->shape) / (k->planes ? k->planes : 1);
    k->yplane = ir_shape_numel(&yv->shape) / (k->planes ? k->planes : 1);
    if (p->global) {
        k->mode = p->kind == IR_POOL_MAX ? POOL_GLOBAL_MAX : POOL_GLOBAL_AVG;
        if (k->planes < 1 || k->xplane < 1) goto decline;
        return pool_kernel_install(s, k);
    }
    if (p->nspatial != 2 || k->planes < 1 || k->yplane < 1) goto decline;
    k->mode = POOL_WINDOW;
    k->op = p->kind == IR_POOL_MAX ? CPU_WIN_MAX : CPU_WIN_AVG;
    k->win = cpu_window_of(xv, yv, p->kernel, p->strides, p->dilations, p->pads);
    if (k->op == CPU_WIN_AVG) {
        const struct cpu_window *w = &k->win;
        k->rowscale = malloc(sizeof(float) * (size_t)w->oh);
        k->colscale = malloc(sizeof(float) * (size_t)w->ow);
        if (!k->rowscale || !k->colscale) {
            pool_kernel_free(k);
            return -ENOMEM;
        }
        avg_scales(k->rowscale, w->oh, w->h, w->kh, w->sh, w->dh, p->pads[0], p->pads[2],
                   p->count_include_pad);
        avg_scales(k->colscale, w->ow, w->w, w->kw, w->sw, w->dw, p->pads[1], p->pads[3],
                   p->count_include_pad);
    }
    return pool_kernel_install(s, k);
decline:
    pool_kernel_free(k);
    return 0;
}

/* Any Reduce* of float32 as the reference computes it (double
 * accumulators, LogSumExp shifted by the maximum), the accumulators in the
 * instance's scratch instead of a buffer allocated per run. */
struct reduce_kernel {
    struct ir_reduce_params p;
    int64_t dims[IR_MAX_DIMS];
    int64_t nx, ny;
};

static int reduce_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct reduce_kernel *k = s->kdata;
    const struct ir_reduce_params *p = &k->p;
    const float *in = x->ptr[s->in[0]];
    float *y = x->ptr[s->out[0]];
    double *acc = x->scratch, *max = acc + k->ny;
    (void)m;
    if (p->noop) {
        memcpy(y, in, (size_t)k->nx * sizeof(float));
        return 0;
    }
    int64_t ostride[IR_MAX_DIMS], step = 1;
    for (int i = p->ndim - 1; i >= 0; i--) {
        ostride[i] = p->reduced[i] ? 0 : step;
        if (!p->reduced[i]) step *= k->dims[i];
    }
    double init = 0.0;
    if (p->kind == IR_REDUCE_PROD) init = 1.0;
    if (p->kind == IR_REDUCE_MAX) init = -INFINITY;
    if (p->kind == IR_REDUCE_MIN) init = INFINITY;
    for (int64_t j = 0; j < k->ny; j++) {
        acc[j] = init;
        max[j] = -INFINITY;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0 && p->kind != IR_REDUCE_LOG_SUM_EXP) continue;
        int64_t idx[IR_MAX_DIMS] = { 0 }, o = 0;
        for (int64_t i = 0; i < k->nx; i++) {
            const double v = in[i];
            if (pass == 0) {
                if (v > max[o]) max[o] = v;
            } else {
                switch (p->kind) {
                case IR_REDUCE_SUM:
                case IR_REDUCE_MEAN:
                case IR_REDUCE_LOG_SUM: acc[o] += v; break;
                case IR_REDUCE_MAX: acc[o] = v > acc[o] ? v : acc[o]; break;
                case IR_REDUCE_MIN: acc[o] = v < acc[o] ? v : acc[o]; break;
                case IR_REDUCE_PROD: acc[o] *= v; break;
                case IR_REDUCE_L1: acc[o] += fabs(v); break;
                case IR_REDUCE_L2:
                case IR_REDUCE_SUM_SQUARE: acc[o] += v * v; break;
                case IR_REDUCE_LOG_SUM_EXP: acc[o] += exp(v - max[o]); break;
                default: break;
                }
            }
            /* Next input index, row-major, tracking the output offset. */
            for (int d = p->ndim - 1; d >= 0; d--) {
                o += ostride[d];
                if (++idx[d] < k->dims[d]) break;
                o -= ostride[d] * idx[d];
                idx[d] = 0;
            }
        }
    }
    const int64_t count = k->nx / k->ny;
    for (int64_t j = 0; j < k->ny; j++) {
        double r = acc[j];
        switch (p->kind) {
        case IR_REDUCE_MEAN: r = r / (double)count; break;
        case IR_REDUCE_L2: r = sqrt(r); break;
        case IR_REDUCE_LOG_SUM: r = log(r); break;
        case IR_REDUCE_LOG_SUM_EXP: r = isinf(max[j]) ? max[j] : log(r) + max[j]; break;
        default: break;
        }
        y[j] = (float)r;
    }
    return 0;
}

static int reduce_general(struct cpu_model *m, struct cpu_step *s, const struct ir_node *n,
                          const struct ir_value *xv, const struct ir_value *yv)
{
    const struct ir_reduce_params *p = n->params;
    struct reduce_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->p = *p;
    memcpy(k->dims, xv->shape.dims, sizeof(k->dims));
    k->nx = ir_shape_numel(&xv->shape);
    k->ny = ir_shape_numel(&yv->shape);
    size_t need = (size_t)k->ny * 2 * sizeof(double);
    if (need > m->scratch_size) m->scratch_size = need;
    s->kernel = "reduce";
    s->kdata = k;
    s->kdata_free = free;
    s->run = reduce_run;
    return 1;
}

/* Reduce*: a ReduceMean over trailing axes only (keepdims either way) is a
 * global average pool over planes of the reduced block; the rest run the
 * general kernel above. */
int cpu_reduce_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_reduce_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || n->nin < 1 || n->in[0] < 0 || n->out[0] < 0 || n->act.kind != IR_ACT_NONE) return 0;
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || yv->dtype != IR_DT_F32 || xv->shape.ndim != p->ndim) return 0;
    const int64_t nx = ir_shape_numel(&xv->shape), ny = ir_shape_numel(&yv->shape);
    if (nx < 1 || ny < 1) return 0; /* empty: the reference's business */
    if (p->noop || p->kind != IR_REDUCE_MEAN) return reduce_general(m, s, n, xv, yv);
    int first = p->ndim;
    while (first > 0 && p->reduced[first - 1]) first--;
    for (int d = 0; d < first; d++)
        if (p->reduced[d]) return reduce_general(m, s, n, xv, yv); /* not trailing */
    int64_t planes = 1, plane = 1;
    for (int d = 0; d < p->ndim; d++) {
        if (d < first)
            planes *= xv->shape.dims[d];
        else
            plane *= xv->shape.dims[d];
    }
    if (first == p->ndim || planes < 1 || plane < 1) return reduce_general(m, s, n, xv, yv);
    struct pool_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    k->vec = cpu_vec_get(m->be->isa);
    k->mode = POOL_GLOBAL_AVG;
    k->planes = planes;
    k->xplane = plane;
    k->yplane = 1;
    return pool_kernel_install(s, k);
}
