/* Element-wise step kernels: Add, Sub, Mul, Div of float32 tensors of the
 * same shape or with one side broadcast along whole axes (a scalar, a
 * per-channel vector, a trailing row), and the activation ops (Relu, Clip,
 * Sigmoid, HardSigmoid, ...) as ir_act. Both may run in place. The 1x1
 * convolutions of squeeze-excite blocks as matrix-vector products. Also the
 * table lookup, the task split and the epilogue helper the other kernels
 * share. */
#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Below this much work per task (multiply-adds, or elements) a split costs
 * more than it saves: waking a helper takes 5-20 us on the VMs measured, the
 * time of about 10^6 depthwise multiply-adds. */
#define TASK_MIN_WORK (1 << 16)

const struct cpu_vec *cpu_vec_get(int isa)
{
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) return &cpu_vec_avx512;
    if (isa >= CPU_ISA_AVX2) return &cpu_vec_avx2;
#endif
    (void)isa;
    return &cpu_vec_generic;
}

struct cpu_window cpu_window_of(const struct ir_value *x, const struct ir_value *y,
                                const int64_t *kernel, const int64_t *strides,
                                const int64_t *dilations, const int64_t *pads)
{
    return (struct cpu_window){
        .h = x->shape.dims[2],
        .w = x->shape.dims[3],
        .oh = y->shape.dims[2],
        .ow = y->shape.dims[3],
        .kh = kernel[0],
        .kw = kernel[1],
        .sh = strides[0],
        .sw = strides[1],
        .dh = dilations[0],
        .dw = dilations[1],
        .pt = pads[0],
        .pl = pads[1],
    };
}

void cpu_band_plan(struct cpu_band *b, const struct cpu_window *g, int64_t nch)
{
    const int64_t row_bytes = nch * g->w * (int64_t)sizeof(float);
    const int64_t halo = (g->kh - 1) * g->dh + 1;
    const int64_t rows = (int64_t)(cpu_cache_l2_bytes() / 2) / row_bytes;
    int64_t band = rows > halo ? (rows - halo) / g->sh + 1 : 1;
    if (band > g->oh) band = g->oh;
    b->band = band;
    b->rows_cap = (band - 1) * g->sh + halo;
    b->b0 = b->b1 = 0;
}

int64_t cpu_band_next(struct cpu_band *b, const struct cpu_window *g, int64_t oy0, int64_t oy1,
                      float *buf, int64_t rs, int64_t nch, int64_t *iy0, int64_t *iy1,
                      struct cpu_window *gw)
{
    const int64_t top = oy0 * g->sh - g->pt; /* the first input row oy0 reads */
    const int64_t y0 = top > 0 ? top : 0;
    int64_t y1 = (oy1 - 1) * g->sh - g->pt + (g->kh - 1) * g->dh + 1;
    if (y1 > g->h) y1 = g->h;
    if (y1 < y0) y1 = y0;
    int64_t keep = 0;
    if (b->b1 > y0 && b->b0 <= y0) {
        keep = b->b1 - y0;
        if (y0 > b->b0)
            for (int64_t c = 0; c < nch; c++)
                memmove(buf + c * rs, buf + c * rs + (y0 - b->b0) * g->w,
                        sizeof(float) * (size_t)(keep * g->w));
    }
    b->b0 = y0;
    b->b1 = y1;
    *iy0 = y0;
    *iy1 = y1;
    /* output row oy0 + r reads buffer row r * sh + ki * dh - pt' */
    *gw = *g;
    gw->h = y1 - y0;
    gw->oh = oy1 - oy0;
    gw->pt = y0 - top;
    return keep;
}

int cpu_window_flat(const struct cpu_window *g, uint16_t **mask, int64_t **off)
{
    const int64_t plane = g->oh * g->ow, nvec = (plane + 15) / 16, taps = g->kh * g->kw;
    uint16_t *mk = calloc((size_t)(nvec * taps), sizeof(uint16_t));
    int64_t *of = malloc(sizeof(int64_t) * (size_t)taps);
    if (!mk || !of) {
        free(mk);
        free(of);
        return -ENOMEM;
    }
    for (int64_t ki = 0; ki < g->kh; ki++)
        for (int64_t kj = 0; kj < g->kw; kj++) {
            const int64_t t = ki * g->kw + kj;
            of[t] = (ki * g->dh - g->pt) * g->w + kj * g->dw - g->pl;
            for (int64_t i = 0; i < plane; i++) {
                const int64_t iy = i / g->ow - g->pt + ki * g->dh;
                const int64_t ix = i % g->ow - g->pl + kj * g->dw;
                if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                    mk[i / 16 * taps + t] |= (uint16_t)(1u << (i % 16));
            }
        }
    *mask = mk;
    *off = of;
    return 0;
}

int cpu_tasks(const struct cpu_pool *pool, int64_t units, int64_t work)
{
    int64_t t = cpu_pool_threads(pool);
    if (t > units) t = units;
    if (t > work / TASK_MIN_WORK) t = work / TASK_MIN_WORK;
    return t < 1 ? 1 : (int)t;
}

void cpu_epilogue(int isa, float *y, const float *sum, const float *bias, int64_t rows, int64_t len,
                  const struct ir_act *act)
{
    const struct cpu_vec *v = cpu_vec_get(isa);
    for (int64_t r = 0; r < rows; r++)
        v->epilogue(y + r * len, sum ? sum + r * len : NULL, len, bias ? bias[r] : 0.0f, act);
}

/* --- binary ops ---------------------------------------------------------- */

/* y viewed as rows of `inner` floats; row r reads a at r * inner and b at
 * (r % bmod) * bmul, stepping bstep (0 or 1) along the row. */
struct bin_kernel {
    const struct cpu_vec *vec;
    int op;
    int64_t rows, inner;
    int64_t bmod, bmul;
    int bstep;
};

struct bin_job {
    const struct bin_kernel *k;
    const struct ir_act *act;
    const float *a, *b;
    float *y;
};

static void bin_task(void *arg, int t, int ntasks)
{
    const struct bin_job *j = arg;
    const struct bin_kernel *k = j->k;
    if (k->rows == 1) {
        /* One long row: cut it, keeping 16-float pieces aligned alike. */
        int64_t lo, hi, chunks = (k->inner + 15) / 16;
        cpu_task_range(chunks, t, ntasks, &lo, &hi);
        lo *= 16;
        hi = hi * 16 > k->inner ? k->inner : hi * 16;
        if (hi > lo)
            k->vec->binary(k->op, j->y + lo, j->a + lo, j->b + lo * k->bstep, k->bstep, hi - lo,
                           j->act);
        return;
    }
    int64_t lo, hi;
    cpu_task_range(k->rows, t, ntasks, &lo, &hi);
    for (int64_t r = lo; r < hi; r++)
        k->vec->binary(k->op, j->y + r * k->inner, j->a + r * k->inner,
                       j->b + (r % k->bmod) * k->bmul, k->bstep, k->inner, j->act);
}

static int bin_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct bin_kernel *k = s->kdata;
    struct bin_job j = { k, &s->act, x->ptr[s->in[0]], x->ptr[s->in[1]], x->ptr[s->out[0]] };
    (void)m;
    int64_t units = k->rows == 1 ? (k->inner + 15) / 16 : k->rows;
    cpu_pool_run(x->pool, bin_task, &j, cpu_tasks(x->pool, units, k->rows * k->inner));
    return 0;
}

/* Whether b (right-aligned to y's rank) broadcasts along whole blocks of
 * axes in a way bin_kernel covers; fills the row layout. */
static bool bin_layout(const struct ir_shape *y, const struct ir_shape *b, struct bin_kernel *k)
{
    /* Classes of y's axes, size-1 axes dropped and equal neighbours merged:
     * 'B' where b has the axis, 'N' where b is 1 along it. */
    char cls[IR_MAX_DIMS];
    int64_t size[IR_MAX_DIMS];
    int nc = 0;
    int off = y->ndim - b->ndim;
    if (off < 0) return false;
    for (int d = 0; d < y->ndim; d++) {
        if (y->dims[d] == 1) continue;
        int64_t bd = d >= off ? b->dims[d - off] : 1;
        char c = bd == y->dims[d] ? 'B' : bd == 1 ? 'N' : '?';
        if (c == '?') return false;
        if (nc > 0 && cls[nc - 1] == c) {
            size[nc - 1] *= y->dims[d];
        } else {
            cls[nc] = c;
            size[nc++] = y->dims[d];
        }
    }
    k->bmod = 1;
    k->bmul = 0;
    if (nc == 0 || (nc == 1 && cls[0] == 'B')) { /* same shape (or one element) */
        k->rows = 1;
        k->inner = nc ? size[0] : 1;
        k->bstep = 1;
    } else if (nc == 1) { /* b is a scalar */
        k->rows = 1;
        k->inner = size[0];
        k->bstep = 0;
    } else if (nc == 2 && cls[0] == 'N') { /* b is a trailing row */
        k->rows = size[0];
        k->inner = size[1];
        k->bstep = 1;
    } else if (nc == 2 || (nc == 3 && cls[0] == 'N')) { /* b per channel */
        int mid = nc - 2;
        k->rows = (nc == 3 ? size[0] : 1) * size[mid];
        k->inner = size[mid + 1];
        k->bmod = size[mid];
        k->bmul = 1;
        k->bstep = 0;
    } else {
        return false;
    }
    return true;
}

int cpu_binary_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen)
{
    static const char *const ops[] = { "Add", "Sub", "Mul", "Div" };
    (void)err, (void)errlen;
    int op = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(n->op_type, ops[i]) == 0) op = i;
    if (op < 0 || n->nin != 2 || n->in[0] < 0 || n->in[1] < 0 || n->out[0] < 0 || n->act.sum)
        return 0;
    const struct ir_value *a = &g->values[n->in[0]], *b = &g->values[n->in[1]];
    const struct ir_value *y = &g->values[n->out[0]];
    if (a->dtype != IR_DT_F32 || b->dtype != IR_DT_F32 || y->dtype != IR_DT_F32) return 0;
    int64_t ny = ir_shape_numel(&y->shape);
    if (ny < 1) return 0;
    bool swap = false;
    if (ir_shape_numel(&a->shape) != ny) {
        /* a is the broadcast side: only a commutative op may swap. */
        if (op == CPU_BIN_SUB || op == CPU_BIN_DIV || ir_shape_numel(&b->shape) != ny) return 0;
        swap = true;
    }
    struct bin_kernel k = { .vec = cpu_vec_get(m->be->isa), .op = op };
    if (!bin_layout(&y->shape, swap ? &a->shape : &b->shape, &k)) return 0;
    struct bin_kernel *kk = malloc(sizeof(*kk));
    if (!kk) return -ENOMEM;
    *kk = k;
    if (swap) {
        int t = s->in[0];
        s->in[0] = s->in[1];
        s->in[1] = t;
    }
    static const char *const names[][3] = {
        { "binary_generic", "binary_avx2", "binary_avx512" },
        { "binary_bcast_generic", "binary_bcast_avx2", "binary_bcast_avx512" },
    };
    s->kernel = names[k.bstep == 1 && k.rows == 1 ? 0 : 1][k.vec->level];
    s->kdata = kk;
    s->kdata_free = free;
    s->run = bin_run;
    s->inplace = true;
    return 1;
}

/* --- activation ops ------------------------------------------------------ */

struct un_kernel {
    const struct cpu_vec *vec;
    struct ir_act act;
    int64_t n;
};

struct un_job {
    const struct un_kernel *k;
    const float *x;
    float *y;
};

static void un_task(void *arg, int t, int ntasks)
{
    const struct un_job *j = arg;
    int64_t lo, hi, chunks = (j->k->n + 15) / 16;
    cpu_task_range(chunks, t, ntasks, &lo, &hi);
    lo *= 16;
    hi = hi * 16 > j->k->n ? j->k->n : hi * 16;
    if (hi > lo) j->k->vec->unary(j->y + lo, j->x + lo, hi - lo, &j->k->act);
}

static int un_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct un_kernel *k = s->kdata;
    struct un_job j = { k, x->ptr[s->in[0]], x->ptr[s->out[0]] };
    (void)m;
    cpu_pool_run(x->pool, un_task, &j, cpu_tasks(x->pool, (k->n + 15) / 16, k->n));
    return 0;
}

/* Clip's bounds from opset 11 are inputs, whose constant blocks the model's
 * slots hold by now (the graph's values gave them up). */
static bool clip_read(const struct cpu_model *m, const struct ir_node *n, struct ir_act *act)
{
    act->kind = IR_ACT_CLIP;
    act->a = -FLT_MAX;
    act->b = FLT_MAX;
    for (int k = 1; k < 3 && k < n->nin; k++) {
        if (n->in[k] < 0) continue;
        const struct cpu_slot *sl = &m->slots[n->in[k]];
        if (sl->kind != CPU_SLOT_CONST || sl->dtype != IR_DT_F32 || sl->nbytes != sizeof(float) ||
            !sl->data)
            return false;
        *(k == 1 ? &act->a : &act->b) = *(const float *)sl->data;
    }
    return true;
}

int cpu_unary_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                      const struct ir_node *n, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    struct ir_act act;
    memset(&act, 0, sizeof(act));
    if (n->nin < 1 || n->in[0] < 0 || n->out[0] < 0 || n->act.kind != IR_ACT_NONE) return 0;
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || yv->dtype != IR_DT_F32) return 0;
    if (strcmp(n->op_type, "Clip") == 0 && n->opset >= 11) {
        if (!clip_read(m, n, &act)) return 0;
    } else if (!ir_act_read(g, n, &act)) {
        return 0;
    }
    int64_t numel = ir_shape_numel(&yv->shape);
    if (numel < 1) return 0;
    struct un_kernel *k = malloc(sizeof(*k));
    if (!k) return -ENOMEM;
    k->vec = cpu_vec_get(m->be->isa);
    k->act = act;
    k->n = numel;
    static const char *const names[] = { "activation_generic", "activation_avx2",
                                         "activation_avx512" };
    s->kernel = names[k->vec->level];
    s->kdata = k;
    s->kdata_free = free;
    s->run = un_run;
    s->inplace = true;
    return 1;
}

/* --- squeeze-excite convolutions ------------------------------------------ */

/* A 1x1 convolution over a 1x1 plane (the squeeze and excite steps after a
 * global pool) is a matrix-vector product: GEMM libraries run it at a
 * fraction of their speed, so the weights are stored transposed here and
 * the product runs as broadcast-input FMAs over rows of outputs. */
struct gemv_kernel {
    const struct cpu_vec *vec;
    int64_t n, c, m, ldw;
    float *wt, *bias; /* [c][ldw], [ldw] */
};

static void gemv_kernel_free(void *p)
{
    struct gemv_kernel *k = p;
    if (!k) return;
    ir_free(k->wt);
    ir_free(k->bias);
    free(k);
}

static int gemv_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct gemv_kernel *k = s->kdata;
    const float *in = x->ptr[s->in[0]];
    float *y = x->ptr[s->out[0]];
    (void)m;
    for (int64_t b = 0; b < k->n; b++)
        k->vec->gemv(y + b * k->m, k->wt, in + b * k->c, k->bias, k->m, k->c, k->ldw, &s->act);
    return 0;
}

int cpu_gemv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_conv_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || p->transpose || p->group != 1 || n->nin < 2 || n->in[0] < 0 || n->in[1] < 0) return 0;
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || xv->shape.ndim < 3) return 0;
    for (int d = 2; d < xv->shape.ndim; d++)
        if (xv->shape.dims[d] != 1 || yv->shape.dims[d] != 1) return 0;
    const struct cpu_slot *ws = &m->slots[n->in[1]];
    const struct cpu_slot *bs = n->nin > 2 && n->in[2] >= 0 ? &m->slots[n->in[2]] : NULL;
    if (ws->kind != CPU_SLOT_CONST || ws->dtype != IR_DT_F32 || !ws->data) return 0;
    if (bs && (bs->kind != CPU_SLOT_CONST || !bs->data)) return 0;
    const int64_t c = xv->shape.dims[1], mo = yv->shape.dims[1];
    if ((int64_t)(ws->nbytes / sizeof(float)) != c * mo) return 0; /* kernel 1x1 */
    struct gemv_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = gemv_kernel_free;
    k->vec = cpu_vec_get(m->be->isa);
    k->n = xv->shape.dims[0];
    k->c = c;
    k->m = mo;
    k->ldw = (mo + 15) / 16 * 16;
    k->wt = ir_alloc((size_t)(c * k->ldw) * sizeof(float));
    k->bias = ir_alloc((size_t)k->ldw * sizeof(float));
    if (!k->wt || !k->bias) return -ENOMEM;
    const float *w = ws->data, *b = bs ? bs->data : NULL;
    for (int64_t o = 0; o < mo; o++) {
        for (int64_t j = 0; j < c; j++) k->wt[j * k->ldw + o] = w[o * c + j];
        k->bias[o] = b ? b[o] : 0.0f;
    }
    static const char *const names[] = { "gemv_generic", "gemv_avx2", "gemv_avx512" };
    s->kernel = names[k->vec->level];
    s->run = gemv_run;
    return 1;
}
