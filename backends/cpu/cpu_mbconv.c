/* A 1x1 expansion fused with the depthwise convolution that reads it
 * (MobileNet's inverted residual blocks), or with a grouped one of up to 64
 * channels a group (RegNet's first blocks, 16). The expanded tensor is the largest
 * of such a block (96 x 112 x 112 floats, 4.8 MB, in MobileNetV2), and
 * unfused it is written to memory by one layer only to be read back by the
 * next. Here it never leaves L2: each thread takes a share of the output
 * rows and walks it in bands; for each band the expansion computes the
 * input rows the window needs into a buffer of the thread's own, and the
 * depthwise window runs over that buffer. Rows the previous band computed
 * already are moved up rather than computed again.
 *
 * Taken where the depthwise layer has a stride of 2 or more and the expanded
 * tensor is larger than MB_MIN_BYTES (smaller ones stay in cache between the
 * two layers anyway), for any kernel size and padding, with the activations
 * of both. At stride 1 the fused pair measured no faster than the two
 * layers apart (mobilenet_v2's 56x56 blocks +7%): the depthwise layer reads
 * each expanded value once there, and both layers are bound by their
 * arithmetic rather than by memory. At stride 2 the blocks took 4-9% less
 * (mobilenet_v2, mnasnet, efficientnet at 1 thread). RegNet's first
 * block (1x1 32 -> 32 at 112x112, then 3x3 stride 2 in 2 groups of 16):
 * the pair alone took 3% less at 1 thread and 37% less at 2, where unfused
 * each thread read the 1.6 MB expanded tensor back from L3; in the
 * model's per-node profile 18% and about 40% less. */
#include "cpu_mbconv.h"

#include "cpu_eltwise.h"
#include "cpu_sgemm.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Expanded tensors (per image) below this many bytes are not fused. */
#define MB_MIN_BYTES ((size_t)512 * 1024)

struct mb_kernel {
    const struct cpu_ukernel *uk;
    const struct cpu_vec *vec;
    int64_t n, k, m;       /* batch, input channels, expanded channels */
    struct cpu_window win; /* the depthwise layer over the whole plane */
    float *wa;             /* the expansion's weights in A panels, k blocks of kc */
    int64_t kc;
    const float *bias_a; /* the expansion's bias (a constant), or NULL */
    struct ir_act act_a;
    struct cpu_band bands; /* the plan (cpu_band_plan) */
    size_t buf;            /* floats of the band buffer: m x rows_cap x w */
    /* A grouped second layer (group > 1, cg input channels a group): its
     * weights and bias packed for cpu_vec.gconv, blocks of ob outputs */
    int64_t group, cg, blocks;
    int ob;
    float *wg, *bg;
};

static void mb_kernel_free(void *p)
{
    struct mb_kernel *k = p;
    if (!k) return;
    ir_free(k->wa);
    ir_free(k->wg);
    ir_free(k->bg);
    free(k);
}

bool cpu_mbconv_pair(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *na,
                     const struct ir_node *nb)
{
    if (strcmp(na->op_type, "Conv") != 0 || strcmp(nb->op_type, "Conv") != 0) return false;
    const struct ir_conv_params *pa = na->params, *pb = nb->params;
    if (!pa || !pb || pa->transpose || pb->transpose || pa->nspatial != 2 || pb->nspatial != 2)
        return false;
    if (na->nout < 1 || na->out[0] < 0 || nb->nin < 2 || nb->in[0] != na->out[0]) return false;
    if (na->nin < 2 || na->in[0] < 0 || na->act.sum > 0 || nb->act.sum > 0) return false;
    /* the expansion: 1x1, stride 1, no padding, one group */
    if (pa->group != 1 || pa->kernel[0] != 1 || pa->kernel[1] != 1 || pa->strides[0] != 1 ||
        pa->strides[1] != 1)
        return false;
    for (int i = 0; i < 4; i++)
        if (pa->pads[i] != 0) return false;
    const struct ir_value *xv = &g->values[na->in[0]], *ev = &g->values[na->out[0]];
    const struct ir_value *yv = &g->values[nb->out[0]];
    if (xv->dtype != IR_DT_F32 || xv->shape.ndim != 4 || ev->shape.ndim != 4) return false;
    if (!cpu_value_const_f32(m, g, na->in[1]) || !cpu_value_const_f32(m, g, nb->in[1]))
        return false;
    if (na->nin > 2 && na->in[2] >= 0 && !cpu_value_const_f32(m, g, na->in[2])) return false;
    if (nb->nin > 2 && nb->in[2] >= 0 && !cpu_value_const_f32(m, g, nb->in[2])) return false;
    /* as many outputs as expanded channels, the window within the plane's
     * padding of less than a kernel */
    if (yv->shape.dims[1] != ev->shape.dims[1] || yv->shape.ndim != 4) return false;
    for (int i = 0; i < 2; i++)
        if (pb->pads[i] >= pb->kernel[i] * pb->dilations[i] ||
            pb->pads[2 + i] >= pb->kernel[i] * pb->dilations[i])
            return false;
    return cpu_value_read_once(g, na->out[0]);
}

bool cpu_mbconv_fits(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *na,
                     const struct ir_node *nb)
{
    if (!cpu_mbconv_pair(m, g, na, nb)) return false;
    const struct ir_conv_params *pb = nb->params;
    const struct ir_value *ev = &g->values[na->out[0]], *yv = &g->values[nb->out[0]];
    /* the depthwise layer, one output channel per expanded channel; or a
     * grouped one of the shapes cpu_vec.gconv runs row by row */
    const int64_t c = ev->shape.dims[1];
    if (pb->strides[0] < 2) return false;
    if (pb->group != c) {
        const struct cpu_window win =
            cpu_window_of(ev, yv, pb->kernel, pb->strides, pb->dilations, pb->pads);
        if (!cpu_vec_get(m->be->isa)->gconv || !cpu_grouped_channels_fit(pb->group, c) ||
            !cpu_grouped_rows_fit(&win))
            return false;
    }
    const size_t bytes = (size_t)(c * ev->shape.dims[2] * ev->shape.dims[3]) * sizeof(float);
    return bytes >= MB_MIN_BYTES;
}

/* --- run ---------------------------------------------------------------- */

struct mb_job {
    const struct mb_kernel *k;
    const float *x;  /* the expansion's input: k planes of h x w */
    const float *wd; /* the depthwise weights, m x taps */
    const float *bd; /* and bias, or NULL */
    float *y;
    const struct ir_act *act; /* the depthwise layer's */
    const struct cpu_exec *exec;
};

/* The grouped layer over a band: the expanded rows in buf (channels rs
 * floats apart) into output rows from oy0. */
static void mb_grouped_band(const struct mb_job *j, const struct cpu_window *gw, const float *buf,
                            int64_t rs, int64_t oy0)
{
    const struct mb_kernel *k = j->k;
    const int64_t taps = gw->kh * gw->kw, mg = k->m / k->group;
    const int64_t yplane = k->win.oh * k->win.ow;
    for (int64_t gb = 0; gb < k->group * k->blocks; gb++) {
        const int64_t grp = gb / k->blocks, blk = gb % k->blocks, o0 = grp * mg + blk * k->ob;
        const struct cpu_gconv a = {
            .g = gw,
            .cg = k->cg,
            .nout = (int)cpu_imin(k->ob, mg - blk * k->ob),
            .x = buf + grp * k->cg * rs,
            .xplane = rs,
            .w = k->wg + gb * k->cg * taps * k->ob,
            .bias = k->bg + gb * k->ob,
            .y = j->y + o0 * yplane + oy0 * gw->ow,
            .yplane = yplane,
            .act = j->act,
        };
        k->vec->gconv(&a);
    }
}

static void mb_task(void *arg, int t, int ntasks)
{
    const struct mb_job *j = arg;
    const struct mb_kernel *k = j->k;
    const struct cpu_window *g = &k->win;
    const int64_t taps = g->kh * g->kw, rs = k->bands.rows_cap * g->w; /* buffer: channel stride */
    float *buf = cpu_exec_task_scratch(j->exec, t), *blocks = buf + k->buf;
    int64_t lo, hi;
    cpu_task_range(g->oh, t, ntasks, &lo, &hi);
    struct cpu_band band = k->bands;
    for (int64_t oy0 = lo; oy0 < hi; oy0 += band.band) {
        const int64_t oy1 = cpu_imin(oy0 + band.band, hi);
        int64_t iy0, iy1;
        struct cpu_window gw;
        const int64_t keep = cpu_band_next(&band, g, oy0, oy1, buf, rs, k->m, &iy0, &iy1, &gw);
        if (iy1 > iy0 + keep) {
            const struct cpu_pack_mat mat = { j->x + (iy0 + keep) * g->w, g->h * g->w, 1.0f };
            struct cpu_sgemm gm = {
                .kc = k->kc,
                .uk = k->uk,
                .m = k->m,
                .n = (iy1 - iy0 - keep) * g->w,
                .k = k->k,
                .a = k->wa,
                .pack_b = k->uk->pack_kn,
                .pack_src = &mat,
                .c = buf + keep * g->w,
                .ldc = rs,
                .bias_row = k->bias_a,
                .act = k->act_a,
            };
            if (gm.n % 16 == 0) {
                /* rows of whole vectors: B read in place, no packing
                 * (measured: mobilenet_v2's fused blocks at 112x112 and
                 * 56x56 2% faster, regnet's 6%) */
                gm.b = mat.p;
                gm.ldb = mat.ld;
                gm.pack_b = NULL;
            }
            cpu_sgemm_run1(&gm, blocks);
        }
        if (k->group > 1) {
            mb_grouped_band(j, &gw, buf, rs, oy0);
            continue;
        }
        for (int64_t c = 0; c < k->m; c++) {
            if (c + 1 < k->m)
                cpu_prefetch_out(j->y + (c + 1) * g->oh * g->ow + oy0 * g->ow, (oy1 - oy0) * g->ow,
                                 ntasks);
            const struct cpu_plane p = {
                .x = buf + c * rs,
                .y = j->y + c * g->oh * g->ow + oy0 * g->ow,
                .k = j->wd + c * taps,
                .bias = j->bd ? j->bd[c] : 0.0f,
                .act = j->act,
            };
            k->vec->window(CPU_WIN_DW, &gw, &p);
        }
    }
}

static int mb_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct mb_kernel *k = s->kdata;
    const struct cpu_window *g = &k->win;
    struct mb_job j = {
        .k = k,
        .wd = x->ptr[s->in[1]],
        .bd = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL,
        .act = &s->act,
        .exec = x,
    };
    (void)m;
    const int64_t work = k->m * (g->h * g->w * k->k + g->oh * g->ow * g->kh * g->kw * k->cg);
    const int tasks = cpu_tasks(x->pool, g->oh, work);
    const float *in = x->ptr[s->in[0]];
    float *out = x->ptr[s->out[0]];
    for (int64_t b = 0; b < k->n; b++) {
        j.x = in + b * k->k * g->h * g->w;
        j.y = out + b * k->m * g->oh * g->ow;
        cpu_pool_run(x->pool, mb_task, &j, tasks);
    }
    return 0;
}

bool cpu_mbconv_runs(const struct cpu_step *s)
{
    return s->run == mb_run;
}

/* --- prepare ------------------------------------------------------------ */

int cpu_mbconv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *na, const struct ir_node *nb)
{
    const struct ir_conv_params *pb = nb->params;
    const struct ir_value *xv = &g->values[na->in[0]], *ev = &g->values[na->out[0]];
    const struct ir_value *yv = &g->values[nb->out[0]];
    struct mb_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = mb_kernel_free;
    k->uk = cpu_ukernel_get(m->be->isa);
    k->vec = cpu_vec_get(m->be->isa);
    k->n = xv->shape.dims[0];
    k->k = xv->shape.dims[1];
    k->m = ev->shape.dims[1];
    k->win = cpu_window_of(ev, yv, pb->kernel, pb->strides, pb->dilations, pb->pads);
    const struct cpu_window *w = &k->win;
    /* bands whose buffer takes about half of L2; the other half holds the
     * expansion's B blocks, its weights and the output rows */
    cpu_band_plan(&k->bands, w, k->m);
    k->buf = ((size_t)(k->m * k->bands.rows_cap * w->w) + 15) / 16 * 16;
    const int64_t nmax = k->bands.rows_cap * w->w;
    k->kc = cpu_sgemm_kc(k->uk, nmax, k->k);
    const size_t need = k->buf * sizeof(float) + cpu_sgemm_task_scratch(k->uk, nmax, k->k);
    if (need > m->task_scratch_size) m->task_scratch_size = need;

    k->wa = ir_alloc(sizeof(float) * cpu_pack_size(k->k, k->m, k->uk->mr));
    if (!k->wa) return -ENOMEM;
    const struct cpu_pack_mat mat = { m->slots[na->in[1]].data, k->k, 1.0f };
    cpu_pack_blocked(cpu_pack_nk, &mat, k->k, k->m, k->uk->mr, k->kc, k->wa);
    k->bias_a = na->nin > 2 && na->in[2] >= 0 ? m->slots[na->in[2]].data : NULL;
    k->group = nb->params ? ((const struct ir_conv_params *)nb->params)->group : 1;
    k->cg = k->m / k->group;
    if (k->group == k->m) {
        k->group = k->cg = 1; /* depthwise: the window kernel, one plane at a time */
    } else {
        k->ob = k->vec->gconv_block;
        k->blocks = (k->m / k->group + k->ob - 1) / k->ob;
        const float *bb = nb->nin > 2 && nb->in[2] >= 0 ? m->slots[nb->in[2]].data : NULL;
        int rc = cpu_grouped_pack(k->m, k->group, k->cg, w->kh * w->kw, k->ob,
                                  m->slots[nb->in[1]].data, bb, &k->wg, &k->bg);
        if (rc < 0) return rc;
    }
    k->act_a = na->act;
    cpu_const_drop(m, g, na->in[1]);

    static const char *const names[3] = { "mbconv_generic", "mbconv_avx2", "mbconv_avx512" };
    s->kernel = names[k->vec->level];
    s->run = mb_run;
    s->fuses_sum = true; /* no residual: cpu_mbconv_fits */
    return 1;
}
