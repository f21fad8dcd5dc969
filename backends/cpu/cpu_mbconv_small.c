/* A 1x1 expansion fused with the depthwise convolution reading it, on
 * planes of at most 14x14 (the last stages of MobileNet-like networks).
 *
 * Run apart in channel planes, both layers fit such a plane badly: the
 * expansion's product has 49 or 196 columns, so either its last tile is 4
 * columns of 48 wide (as many cycles per step as 16 of them) or, computed
 * transposed, every tile goes back into channel planes through a transposed
 * store (7 positions to each of 48 planes); and the depthwise layer runs
 * 7- or 14-wide rows in 16-lane vectors. Here the expansion is computed
 * transposed (rows: plane positions, columns: channels) a panel of 48
 * channels at a time, its tiles stored as they are into a buffer of the
 * thread's own, position-major and padded for the depthwise window (50-60
 * KiB at 14x14), and the depthwise layer runs over that buffer with
 * vectors of 16 channels, no bounds to test, writing its output back into
 * channel planes once (cpu_dw_nhwc).
 *
 * Each thread takes whole panels, so the layer splits its channels, as a
 * depthwise layer does: the 1x1 product reading it then splits its depth
 * the same way (cpu_conv.c). Where the vector level has no cpu_dw_nhwc, or
 * the plane's rows are not a whole number of tile rows (a tile's
 * positions, read in place, lie in one row), the pair runs apart.
 *
 * Measured at 1 thread, the pair alone (inferd against ONNX Runtime, whose
 * time includes its layout reorders): 80 -> 480 at 14x14 then 3x3, 0.122
 * ms apart, 0.103 fused, ORT 0.097; 96 -> 576 at 7x7 then 5x5, 0.049,
 * 0.041, ORT 0.050; 192 -> 1152 at 7x7 then 3x3, 0.140, 0.129, ORT 0.123.
 * Whole models 1.5-4% faster (mnasnet, mobilenet_v2, efficientnet_b0). */
#include "cpu_mbconv.h"

#include "cpu_eltwise.h"
#include "cpu_sgemm.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Planes of at most this many positions (14x14). */
#define MBS_MAX_PLANE 196

struct mbs_kernel {
    const struct cpu_ukernel *uk;
    const struct cpu_vec *vec;
    int64_t n, k, m, p; /* batch, input channels, expanded channels, plane positions */
    struct cpu_window win;
    /* the buffer: the plane with its padding, rows of xrow positions, hp
     * rows, then the positions only unstored lanes read; pos in all */
    int64_t xrow, hp, pos;
    int32_t *aoff;       /* step i of the product reads input channel i: i * p */
    float *wb;           /* the expansion's weights as B panels, one k block */
    const float *bias_a; /* its bias (a constant), or NULL */
    struct ir_act act_a; /* and activation */
    float *wd, *bd;      /* depthwise weights [m / 16][taps][16] and bias, zero past m */
};

static int64_t mbs_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static void mbs_kernel_free(void *p)
{
    struct mbs_kernel *k = p;
    if (!k) return;
    ir_free(k->aoff);
    ir_free(k->wb);
    ir_free(k->wd);
    ir_free(k->bd);
    free(k);
}

/* The level's register tile whose rows a plane row of w positions fills
 * exactly (a tile's positions are consecutive in the input and in the
 * padded buffer) and that reads A in place; the widest such. NULL: none. */
static const struct cpu_ukernel *mbs_ukernel(int isa, int64_t w)
{
    int n;
    const struct cpu_ukernel *const *shapes = cpu_ukernel_shapes(isa, &n);
    const struct cpu_ukernel *best = NULL;
    for (int i = 0; i < n; i++) {
        const struct cpu_ukernel *uk = shapes[i];
        if (!uk->tile_ind || w % uk->mr != 0) continue;
        if (!best || uk->mr * uk->nr > best->mr * best->nr) best = uk;
    }
    return best;
}

bool cpu_mbconv_small_fits(const struct cpu_model *m, const struct ir_graph *g,
                           const struct ir_node *na, const struct ir_node *nb)
{
    if (!cpu_mbconv_pair(m, g, na, nb)) return false;
    const struct ir_conv_params *pb = nb->params;
    const struct ir_value *xv = &g->values[na->in[0]], *ev = &g->values[na->out[0]];
    const struct ir_value *yv = &g->values[nb->out[0]];
    const int64_t c = ev->shape.dims[1], p = ev->shape.dims[2] * ev->shape.dims[3];
    if (pb->group != c || !cpu_vec_get(m->be->isa)->dw_nhwc) return false;
    if (p > MBS_MAX_PLANE || yv->shape.dims[3] > 16 || pb->strides[1] > 2) return false;
    const struct cpu_ukernel *uk = mbs_ukernel(m->be->isa, ev->shape.dims[3]);
    /* one k block: a panel's weights stay in L1 across the plane's tiles */
    return uk && uk->nr == CPU_DW_NHWC_LD && xv->shape.dims[1] <= uk->kc_max &&
           xv->shape.dims[1] * p <= INT32_MAX;
}

/* --- run ---------------------------------------------------------------- */

struct mbs_job {
    const struct mbs_kernel *k;
    const float *x; /* the expansion's input: k planes of p positions */
    float *y;
    const struct ir_act *act; /* the depthwise layer's */
    const struct cpu_exec *exec;
};

static void mbs_task(void *arg, int t, int ntasks)
{
    const struct mbs_job *j = arg;
    const struct mbs_kernel *k = j->k;
    const struct cpu_ukernel *uk = k->uk;
    const int64_t nr = uk->nr, taps = k->win.kh * k->win.kw, yplane = k->win.oh * k->win.ow;
    const struct cpu_window *g = &k->win;
    float *buf = cpu_exec_task_scratch(j->exec, t); /* position i's channels at buf + i * nr */
    int64_t lo, hi;
    cpu_task_range(cpu_ceil_div(k->m, nr), t, ntasks, &lo, &hi);
    if (lo >= hi) return;
    /* the padding, once a run: the tiles write only the plane */
    const int64_t first = g->pt * k->xrow + g->pl;
    memset(buf, 0, sizeof(float) * (size_t)(first * nr));
    for (int64_t y = 0; y < g->h; y++) {
        const int64_t z0 = first + y * k->xrow + g->w;
        const int64_t z1 = y + 1 < g->h ? first + (y + 1) * k->xrow : k->hp * k->xrow;
        memset(buf + z0 * nr, 0, sizeof(float) * (size_t)((z1 - z0) * nr));
    }
    for (int64_t q = lo; q < hi; q++) {
        const int64_t c0 = q * nr, cols = cpu_imin(nr, k->m - c0);
        /* filled once a panel: built afresh for each tile, the struct's
         * zeroing cost 7% of the layer */
        struct cpu_tile tile = {
            .ldc = nr,
            .ldb = nr,
            .mr = uk->mr,
            .nr = (int)cols,
            .flags = CPU_TILE_LAST,
            .bias_col = k->bias_a ? k->bias_a + c0 : NULL,
            .act = &k->act_a,
        };
        for (int64_t r = 0; r < k->p; r += uk->mr) {
            tile.c = buf + (first + r / g->w * k->xrow + r % g->w) * nr;
            uk->tile_ind(k->k, j->x + r, k->aoff, k->wb + q * k->k * nr, &tile);
        }
        for (int64_t c = 0; c < cols; c += 16) {
            const struct cpu_dw_nhwc d = {
                .g = g,
                .x = buf + c,
                .xrow = k->xrow,
                .w = k->wd + (c0 + c) * taps,
                .bias = k->bd + c0 + c,
                .y = j->y + (c0 + c) * yplane,
                .yplane = yplane,
                .nch = (int)cpu_imin(16, cols - c),
                .act = j->act,
            };
            k->vec->dw_nhwc(&d);
        }
    }
}

static int mbs_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct mbs_kernel *k = s->kdata;
    const struct cpu_window *g = &k->win;
    struct mbs_job j = { .k = k, .act = &s->act, .exec = x };
    (void)m;
    const int64_t work = k->m * (k->p * k->k + g->oh * g->ow * g->kh * g->kw);
    const int tasks = cpu_tasks(x->pool, cpu_ceil_div(k->m, k->uk->nr), work);
    const float *in = x->ptr[s->in[0]];
    float *out = x->ptr[s->out[0]];
    for (int64_t b = 0; b < k->n; b++) {
        j.x = in + b * k->k * k->p;
        j.y = out + b * k->m * g->oh * g->ow;
        cpu_pool_run(x->pool, mbs_task, &j, tasks);
    }
    return 0;
}

/* --- prepare ------------------------------------------------------------ */

int cpu_mbconv_small_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                             const struct ir_node *na, const struct ir_node *nb)
{
    const struct ir_conv_params *pb = nb->params;
    const struct ir_value *xv = &g->values[na->in[0]], *ev = &g->values[na->out[0]];
    const struct ir_value *yv = &g->values[nb->out[0]];
    struct mbs_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = mbs_kernel_free;
    k->vec = cpu_vec_get(m->be->isa);
    k->n = xv->shape.dims[0];
    k->k = xv->shape.dims[1];
    k->m = ev->shape.dims[1];
    k->p = ev->shape.dims[2] * ev->shape.dims[3];
    k->uk = mbs_ukernel(m->be->isa, ev->shape.dims[3]);
    k->win = cpu_window_of(ev, yv, pb->kernel, pb->strides, pb->dilations, pb->pads);
    const struct cpu_window *w = &k->win;
    const int64_t nr = k->uk->nr, taps = w->kh * w->kw, m16 = cpu_ceil_div(k->m, 16) * 16;
    /* rows and columns the outputs read, padding included (cpu_dw_nhwc);
     * then, computed 16 outputs at a time (rows of 8 or fewer two at a
     * time), reads run on to the last row's stride (an odd row count) and
     * 16 columns' worth past its first output */
    const int64_t cw = w->ow <= 8 ? 8 : 16, rows = w->ow <= 8 ? (w->oh + 1) / 2 * 2 : w->oh;
    k->xrow = mbs_max(w->pl + w->w, (w->ow - 1) * w->sw + (w->kw - 1) * w->dw + 1);
    k->hp = mbs_max(w->pt + w->h, (w->oh - 1) * w->sh + (w->kh - 1) * w->dh + 1);
    k->pos = mbs_max(k->hp * k->xrow, ((rows - 1) * w->sh + (w->kh - 1) * w->dh) * k->xrow +
                                          (cw - 1) * w->sw + (w->kw - 1) * w->dw + 1);

    k->aoff = ir_alloc(sizeof(int32_t) * (size_t)k->k);
    k->wb = ir_alloc(sizeof(float) * cpu_pack_size(k->k, k->m, (int)nr));
    k->wd = ir_alloc(sizeof(float) * (size_t)(m16 * taps));
    k->bd = ir_alloc(sizeof(float) * (size_t)m16);
    if (!k->aoff || !k->wb || !k->wd || !k->bd) return -ENOMEM;
    for (int64_t i = 0; i < k->k; i++) k->aoff[i] = (int32_t)(i * k->p);
    const struct cpu_pack_mat mat = { m->slots[na->in[1]].data, k->k, 1.0f };
    cpu_pack_blocked(cpu_pack_nk, &mat, k->k, k->m, (int)nr, k->k, k->wb);
    k->bias_a = na->nin > 2 && na->in[2] >= 0 ? m->slots[na->in[2]].data : NULL;
    k->act_a = na->act;

    const float *wd = m->slots[nb->in[1]].data;
    const float *bd = nb->nin > 2 && nb->in[2] >= 0 ? m->slots[nb->in[2]].data : NULL;
    for (int64_t c = 0; c < k->m; c++) {
        for (int64_t t = 0; t < taps; t++)
            k->wd[(c / 16 * taps + t) * 16 + c % 16] = wd[c * taps + t];
        if (bd) k->bd[c] = bd[c];
    }

    const size_t need = sizeof(float) * (size_t)(k->pos * nr);
    if (need > m->task_scratch_size) m->task_scratch_size = need;
    cpu_const_drop(m, g, na->in[1]);
    cpu_const_drop(m, g, nb->in[1]);

    static const char *const names[3] = { "mbconv_small_generic", "mbconv_small_avx2",
                                          "mbconv_small_avx512" };
    s->kernel = names[k->vec->level];
    s->run = mbs_run;
    s->fuses_sum = true; /* no residual: cpu_mbconv_pair */
    return 1;
}
