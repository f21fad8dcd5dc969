/* 1x1 convolutions on planes of 49 positions, or a few times 49 (7x7,
 * 14x14), where the level has an 8 x 49 register tile (cpu_ukernel.tile49).
 *
 * In channel planes the GEMM's other tiles fit these planes badly: 49 or
 * 196 columns as tiles of 48 leave a last tile of 1 or 4 columns that takes
 * as long per step as 16; computed transposed (rows: positions, 7 a tile)
 * there is no edge, but every tile goes back into the output planes
 * channel by channel, 7 floats to each of 48 planes. A tile of 8 output
 * channels by 49 positions covers a 7x7 plane exactly and stores its rows
 * as they are. The weights are packed once into 8-row panels of one k
 * block, B (the input) is read in place, a plane's quarter at a time on
 * 14x14, and each thread takes whole panels: the weights stream once, the
 * input stays in L2.
 *
 * Taken where the input, read again for every panel, fits half of L2.
 * Whole models at 1 thread, alternating runs pinned to one CPU: regnet_x
 * 6.09 -> 5.43 ms, mnasnet 4.88 -> 4.62, shufflenet_v2 2.23 -> 2.08,
 * mobilenet_v2 4.28 -> 4.10, googlenet 12.83 -> 12.35, resnet50 41.4 ->
 * 40.6; at 2 threads regnet_x 3.57 -> 3.08, googlenet 8.90 -> 8.49. */
#include "cpu_conv.h"

#include "cpu_eltwise.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>

struct p49_kernel {
    const struct cpu_ukernel *uk;
    int64_t n, c, m, plane; /* batch, input and output channels, positions */
    float *wp;              /* weights: 8-row panels, one k block of c */
};

static void p49_kernel_free(void *p)
{
    struct p49_kernel *k = p;
    if (!k) return;
    ir_free(k->wp);
    free(k);
}

bool cpu_conv_p49_fits(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *n)
{
    const struct ir_conv_params *p = n->params;
    const struct cpu_ukernel *uk = cpu_ukernel_get(m->be->isa);
    if (!uk->tile49 || !p || p->transpose || p->nspatial != 2 || p->group != 1) return false;
    if (p->kernel[0] != 1 || p->kernel[1] != 1 || p->strides[0] != 1 || p->strides[1] != 1)
        return false;
    for (int i = 0; i < 4; i++)
        if (p->pads[i] != 0) return false;
    if (n->nin < 2 || !cpu_value_const_f32(m, g, n->in[1])) return false;
    if (n->nin > 2 && n->in[2] >= 0 && !cpu_value_const_f32(m, g, n->in[2])) return false;
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || xv->shape.ndim != 4 || yv->shape.ndim != 4) return false;
    const int64_t plane = xv->shape.dims[2] * xv->shape.dims[3];
    if (plane % 49 != 0 || plane > 196) return false;
    return (size_t)(xv->shape.dims[1] * plane) * sizeof(float) <= cpu_sgemm_l2_block(uk) * 5 / 2;
}

struct p49_job {
    const struct p49_kernel *k;
    const float *x, *bias, *res;
    float *y;
    const struct ir_act *act;
};

static void p49_task(void *arg, int t, int ntasks)
{
    const struct p49_job *j = arg;
    const struct p49_kernel *k = j->k;
    const struct cpu_ukernel *uk = k->uk;
    const int64_t panels = cpu_ceil_div(k->m, uk->mr), cols = k->plane / 49;
    int64_t lo, hi;
    cpu_task_range(panels, t, ntasks, &lo, &hi);
    struct cpu_tile tile = {
        .ldc = k->plane,
        .ldb = k->plane,
        .ldres = k->plane,
        .nr = 49,
        .flags = CPU_TILE_LAST,
        .act = j->act,
    };
    for (int64_t p = lo; p < hi; p++) {
        const int64_t i0 = p * uk->mr;
        const float *a = k->wp + p * k->c * uk->mr;
        tile.mr = (int)cpu_imin(uk->mr, k->m - i0);
        tile.bias_row = j->bias ? j->bias + i0 : NULL;
        for (int64_t q = 0; q < cols; q++) {
            /* the next panel's weights, a step's line at a time, during the
             * plane's last tile */
            const bool ahead = q + 1 == cols && p + 1 < hi;
            tile.pf = ahead ? (const char *)(a + k->c * uk->mr) : NULL;
            tile.pf_lines = ahead ? k->c * uk->mr * (int64_t)sizeof(float) / 64 : 0;
            tile.c = j->y + i0 * k->plane + 49 * q;
            tile.res = j->res ? j->res + i0 * k->plane + 49 * q : NULL;
            uk->tile49(k->c, a, j->x + 49 * q, &tile);
        }
    }
}

static int p49_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct p49_kernel *k = s->kdata;
    (void)m;
    struct p49_job j = {
        .k = k,
        .bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL,
        .act = &s->act,
    };
    const float *in = x->ptr[s->in[0]];
    const float *res = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL;
    float *out = x->ptr[s->out[0]];
    const int tasks = cpu_tasks(x->pool, cpu_ceil_div(k->m, k->uk->mr), k->m * k->c * k->plane);
    for (int64_t b = 0; b < k->n; b++) {
        j.x = in + b * k->c * k->plane;
        j.y = out + b * k->m * k->plane;
        j.res = res ? res + b * k->m * k->plane : NULL;
        cpu_pool_run(x->pool, p49_task, &j, tasks);
    }
    return 0;
}

int cpu_conv_p49_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                         const struct ir_node *n)
{
    const struct ir_value *xv = &g->values[n->in[0]], *yv = &g->values[n->out[0]];
    struct p49_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = p49_kernel_free;
    k->uk = cpu_ukernel_get(m->be->isa);
    k->n = xv->shape.dims[0];
    k->c = xv->shape.dims[1];
    k->m = yv->shape.dims[1];
    k->plane = xv->shape.dims[2] * xv->shape.dims[3];
    k->wp = ir_alloc(sizeof(float) * cpu_pack_size(k->c, k->m, k->uk->mr));
    if (!k->wp) return -ENOMEM;
    const struct cpu_pack_mat mat = { m->slots[n->in[1]].data, k->c, 1.0f };
    cpu_pack_blocked(cpu_pack_nk, &mat, k->c, k->m, k->uk->mr, k->c, k->wp);
    cpu_const_drop(m, g, n->in[1]);
    static const char *const names[3] = { "conv_p49_generic", "conv_p49_avx2", "conv_p49_avx512" };
    s->kernel = names[k->uk->isa];
    s->run = p49_run;
    s->fuses_sum = true;
    return 1;
}
