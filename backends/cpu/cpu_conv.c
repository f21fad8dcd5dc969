/* 2-D convolution for the CPU backend on the packed GEMM (cpu_sgemm.h):
 * Y[m][oy*ow+ox] = W[m][(c,ki,kj)] . X_col[(c,ki,kj)][oy*ow+ox] per group.
 * The weights are packed once at compile time; the im2col matrix is never
 * built: its blocks are packed straight from the input into the micro-kernel
 * layout (for a 1x1 stride-1 convolution that is a plain copy of the input
 * rows). Bias and the fused activation are applied on each finished register
 * tile.
 *
 * When the output plane is small (7x7 = 49 columns leave a quarter of a
 * 16-lane kernel idle) the product runs transposed, Y^T = X_col^T W^T, with
 * the output channels in the vector lanes. Where the level's tiles can
 * (cpu_ukernel.store_t), each finished tile is stored transposed, channel by
 * channel, straight into Y; elsewhere Y^T goes to scratch and is transposed
 * back in a pass of its own.
 * A residual Add fused into the Conv (ir_act.sum) is added with the bias,
 * before the activation. Depthwise and narrow grouped convolutions are
 * cpu_depthwise*.c's; other ranks and non-constant weights stay on the
 * reference kernel. */
#include "cpu.h"
#include "cpu_conv.h"
#include "cpu_eltwise.h"
#include "cpu_mbconv.h"
#include "cpu_sgemm.h"
#include "cpu_winograd.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum conv_mode {
    CONV_GEMM,   /* Y = W X_col: weights in A panels, input in B panels */
    CONV_GEMM_T, /* Y^T = X_col^T W^T: input in A panels, weights in B panels */
};

struct conv_kernel {
    int mode;
    int64_t n, c, h, w; /* input */
    int64_t m, oh, ow;  /* output */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    int64_t group, cg, mg; /* channels per group in and out */
    int64_t k;             /* GEMM depth: cg * kh * kw */
    bool plain;            /* 1x1, stride 1, no padding: X_col is X */
    const struct cpu_ukernel *uk;
    float *wp;    /* packed weights, wp_group floats per group */
    int32_t *tab; /* small planes: the im2col offsets (cpu_pack_conv_table) */
    size_t wp_group;
    int threads;  /* threads the product is worth */
    int64_t kc;   /* the product's k blocks (cpu_sgemm_kc): packed operands' layout */
    size_t c_off; /* CONV_GEMM_T: where Y^T goes in the scratch */
    /* CONV_GEMM_T with rows of whole tiles: A read in place from the input
     * zero-padded to hpad x wpad (plain: the input itself), step k at a_off[k]
     * (cpu_sgemm.a_off); no im2col at all. At stride 2 the padded input is
     * stored as its phases (even and odd rows and columns: up to four planes
     * of hpad x wpad per channel), where each tap reads at stride 1. */
    int32_t *a_off;
    int64_t hpad, wpad;
    int64_t phr, phc; /* row and column phases stored: 1, or 2 at stride 2 */
    int64_t cstride;  /* floats per channel of the padded input */
    bool rows_local;  /* cpu_sgemm.rows_local */
    /* The input comes from a layer that split its channels over the threads
     * (a depthwise or grouped convolution) */
    bool input_by_channels;
    bool direct_fits; /* cpu_conv_direct_fits: the direct kernel can take it */
    /* CONV_GEMM_T in place, 1x1: thread t multiplies the input channels
     * [t * ksplit, (t + 1) * ksplit) into its own partial Y^T (c_off + t *
     * plane * mg in the scratch); the finish adds the partials */
    int64_t ksplit;
    /* CONV_GEMM_T in place, its product split by rows on more than one
     * thread, its output not read by channels: each task takes whole output
     * rows through the product and puts back its own rows of Y^T
     * (conv_rows_task) */
    bool by_rows;
    /* cpu_sgemm.k_outer: the in-place A is read once, C once a k block */
    bool k_outer;
};

static void conv_kernel_free(void *p)
{
    struct conv_kernel *k = p;
    if (!k) return;
    ir_free(k->wp);
    ir_free(k->tab);
    free(k->a_off);
    free(k);
}

/* The im2col source of one group's input. */
static void conv_source(const struct conv_kernel *k, const float *xg, struct cpu_pack_conv *cv,
                        struct cpu_pack_mat *mat, cpu_pack_fn *fn, const void **src)
{
    if (k->plain) {
        *mat = (struct cpu_pack_mat){ xg, k->h * k->w, 1.0f };
        *fn = k->uk->pack_kn;
        *src = mat;
        return;
    }
    *cv = (struct cpu_pack_conv){ xg,    k->h,  k->w,  k->oh, k->ow, k->kh, k->kw,
                                  k->sh, k->sw, k->dh, k->dw, k->pt, k->pl, k->tab };
    *fn = k->uk->pack_conv;
    *src = cv;
}

/* The steps around the transposed product, split over the threads as the
 * product is: what one thread did alone took a tenth of the layer, more on
 * two threads than on one as the product halves. */
struct conv_side_job {
    const struct cpu_model *m;
    const struct conv_kernel *k;
    const struct cpu_step *s;
    const float *x;  /* conv_pad_task: the input */
    float *xp;       /* conv_pad_task: the padded input */
    float *yt;       /* conv_finish_task: Y^T (with ksplit: the partials) */
    float *yg;       /* conv_finish_task: the group's output */
    const float *rg; /* conv_finish_task: its residual, or NULL */
    const float *bg; /* conv_finish_task with ksplit: the group's bias, or NULL */
    int nsplit;      /* partials of Y^T after yt (ksplit) */
};

/* One channel's phases at stride 2: phase (a, b) holds the padded input's
 * rows a, a + 2, ... and columns b, b + 2, ..., so that output (oy, ox) reads
 * tap (ki, kj) at row oy + ki / 2, column ox + kj / 2 of phase (ki % 2,
 * kj % 2). */
static void conv_phase_channel(const struct conv_kernel *k, const float *x, float *q)
{
    const int64_t hq = k->hpad, wq = k->wpad;
    for (int64_t a = 0; a < k->phr; a++) {
        for (int64_t b = 0; b < k->phc; b++, q += hq * wq) {
            /* columns [v0, v1) read inside the input row */
            const int64_t ix0 = b - k->pl;
            int64_t v0 = ix0 >= 0 ? 0 : (1 - ix0) / 2;
            int64_t v1 = (k->w - ix0 + 1) / 2;
            if (v1 > wq) v1 = wq;
            if (v0 > v1) v0 = v1;
            for (int64_t u = 0; u < hq; u++) {
                float *row = q + u * wq;
                const int64_t iy = 2 * u + a - k->pt;
                if (iy < 0 || iy >= k->h) {
                    memset(row, 0, sizeof(float) * (size_t)wq);
                    continue;
                }
                const float *xr = x + iy * k->w + ix0;
                for (int64_t v = 0; v < v0; v++) row[v] = 0.0f;
                cpu_copy_even(row + v0, xr + 2 * v0, v1 - v0);
                for (int64_t v = v1; v < wq; v++) row[v] = 0.0f;
            }
        }
    }
}

/* The input zero-padded so that output (oy, ox) reads row oy + ki*dh,
 * column ox + kj*dw at tap (ki, kj): a share of the channels. */
static void conv_pad_task(void *arg, int task, int ntasks)
{
    const struct conv_side_job *j = arg;
    const struct conv_kernel *k = j->k;
    const int64_t c0 = k->c * task / ntasks, c1 = k->c * (task + 1) / ntasks;
    if (k->sh == 2) {
        for (int64_t c = c0; c < c1; c++)
            conv_phase_channel(k, j->x + c * k->h * k->w, j->xp + c * k->cstride);
        return;
    }
    for (int64_t c = c0; c < c1; c++) {
        for (int64_t y = 0; y < k->hpad; y++) {
            float *row = j->xp + (c * k->hpad + y) * k->wpad;
            const int64_t iy = y - k->pt;
            if (iy < 0 || iy >= k->h) {
                memset(row, 0, sizeof(float) * (size_t)k->wpad);
                continue;
            }
            memset(row, 0, sizeof(float) * (size_t)k->pl);
            memcpy(row + k->pl, j->x + (c * k->h + iy) * k->w, sizeof(float) * (size_t)k->w);
            memset(row + k->pl + k->w, 0, sizeof(float) * (size_t)(k->wpad - k->pl - k->w));
        }
    }
}

/* The output rows [oy0, oy1) of task `task` (by_rows). */
static void conv_rows_of(const struct conv_kernel *k, int task, int ntasks, int64_t *oy0,
                         int64_t *oy1)
{
    *oy0 = k->oh * task / ntasks;
    *oy1 = k->oh * (task + 1) / ntasks;
}

struct conv_rows_job {
    const struct cpu_model *m;
    const struct conv_kernel *k;
    const struct cpu_step *s;
    const struct cpu_sgemm *gm; /* the whole product */
    float *yg;
    const float *rg;
};

/* A share of whole output rows through the product, then the rows of Y^T
 * it wrote transposed into the output, with the residual and activation:
 * one hand-off instead of two, and no thread reads Y^T the other core
 * wrote. Split by channels, the put-back read half of Y^T from the other
 * core, which took 4 times its 1-thread time at 14x14 (resnet50's layer3). */
static void conv_rows_task(void *arg, int task, int ntasks)
{
    const struct conv_rows_job *j = arg;
    const struct conv_kernel *k = j->k;
    const int64_t plane = k->oh * k->ow;
    int64_t oy0, oy1;
    conv_rows_of(k, task, ntasks, &oy0, &oy1);
    if (oy1 <= oy0) return;
    struct cpu_sgemm gm = *j->gm;
    const int64_t i0 = oy0 * k->ow, rows = (oy1 - oy0) * k->ow;
    gm.m = rows;
    gm.a += oy0 * gm.a_row;
    gm.c += i0 * gm.ldc;
    if (gm.ct) {
        gm.ct += i0;
        if (gm.res) gm.res += i0;
    }
    cpu_sgemm_run1(&gm, NULL);
    if (gm.ct) return;
    const struct cpu_vec *vec = cpu_vec_get(j->m->be->isa);
    vec->transpose(gm.c, rows, k->mg, 0, k->mg, j->yg + i0, plane);
    if (j->rg)
        for (int64_t c = 0; c < k->mg; c++)
            cpu_epilogue(j->m->be->isa, j->yg + c * plane + i0, j->rg + c * plane + i0, NULL, 1,
                         rows, &j->s->act);
}

/* Has the product store Y itself (cpu_sgemm.ct), with the bias, residual and
 * activation, where the kernels can: no Y^T to put back. */
static void conv_store_t(const struct conv_kernel *k, const struct cpu_step *s,
                         struct cpu_sgemm *gm, float *yg, const float *rg)
{
    const int64_t plane = k->oh * k->ow;
    gm->ct = yg;
    gm->ldct = plane;
    gm->res = rg;
    gm->ldres = plane;
    gm->act = s->act;
}

/* Y^T comes out of the product: a share of the output channels transposed
 * into the group's output, then a fused residual and the activation (which
 * the product left out) over them. Shares are whole 16-channel blocks. */
static void conv_finish_task(void *arg, int task, int ntasks)
{
    const struct conv_side_job *j = arg;
    const struct conv_kernel *k = j->k;
    const int64_t plane = k->oh * k->ow, nb = (k->mg + 15) / 16;
    const int64_t c0 = nb * task / ntasks * 16, c1 = nb * (task + 1) / ntasks * 16;
    const int64_t end = c1 < k->mg ? c1 : k->mg;
    if (end <= c0) return;
    const struct cpu_vec *vec = cpu_vec_get(j->m->be->isa);
    if (!j->rg && !j->nsplit) {
        vec->transpose(j->yt, plane, k->mg, c0, end, j->yg, plane);
        return;
    }
    /* 8 channels at a time, the partials added, then the bias, residual sum
     * and activation while the rows just written are still in L1 */
    for (int64_t c = c0; c < end; c += 8) {
        const int64_t ce = c + 8 < end ? c + 8 : end;
        for (int p = 1; p <= j->nsplit; p++) {
            const float *part = j->yt + (size_t)p * (size_t)(plane * k->mg);
            for (int64_t r = 0; r < plane; r++)
                for (int64_t i = c; i < ce; i++) j->yt[r * k->mg + i] += part[r * k->mg + i];
        }
        vec->transpose(j->yt, plane, k->mg, c, ce, j->yg, plane);
        cpu_epilogue(j->m->be->isa, j->yg + c * plane, j->rg ? j->rg + c * plane : NULL,
                     j->bg ? j->bg + c : NULL, ce - c, plane, &j->s->act);
    }
}

static void conv_finish_t(const struct cpu_model *m, const struct conv_kernel *k,
                          const struct cpu_step *s, struct cpu_exec *x, float *yt, float *yg,
                          const float *rg)
{
    struct conv_side_job j = { .m = m, .k = k, .s = s, .yt = yt, .yg = yg, .rg = rg };
    cpu_pool_run(x->pool, conv_finish_task, &j, k->threads);
}

struct conv_ksplit_job {
    const struct conv_kernel *k;
    const struct cpu_sgemm *gm; /* the whole product */
};

/* Input channels [task * ksplit, ...) times their rows of W^T, into the
 * task's own partial Y^T: only the channels this thread's share of the
 * previous layer wrote, in its own cache. */
static void conv_ksplit_task(void *arg, int task, int ntasks)
{
    const struct conv_ksplit_job *j = arg;
    const struct conv_kernel *k = j->k;
    const int64_t k0 = task * k->ksplit, k1 = cpu_imin(k0 + k->ksplit, k->k);
    const int64_t npad = cpu_ceil_div(k->mg, k->uk->nr) * k->uk->nr;
    (void)ntasks;
    if (k1 <= k0) return;
    struct cpu_sgemm gm = *j->gm;
    gm.k = k1 - k0;
    gm.a_off = k->a_off + k0;
    gm.b += k0 * npad; /* whole k blocks: ksplit is a multiple of kc */
    gm.c += (size_t)task * (size_t)(gm.m * gm.ldc);
    cpu_sgemm_run1(&gm, NULL);
}

static void conv_run_indirect(const struct cpu_model *m, const struct conv_kernel *k,
                              const struct cpu_step *s, struct cpu_exec *x, const float *xb,
                              const float *bias, const float *rb, float *yb)
{
    const int64_t plane = k->oh * k->ow;
    float *scratch = x->scratch;
    const float *xp = xb;
    if (!k->plain) {
        struct conv_side_job j = { .k = k, .x = xb, .xp = scratch };
        cpu_pool_run(x->pool, conv_pad_task, &j, k->threads);
        xp = scratch;
    }
    float *yt = scratch + k->c_off;
    for (int64_t g = 0; g < k->group; g++) {
        struct cpu_sgemm gm = {
            .kc = k->kc,
            .uk = k->uk,
            .m = plane,
            .n = k->mg,
            .k = k->k,
            .a = xp + g * k->cg * k->cstride,
            .a_off = k->a_off,
            .a_per_row = k->ow / k->uk->mr,
            .a_row = k->wpad,
            .b = k->wp + (size_t)g * k->wp_group,
            .c = yt,
            .ldc = k->mg,
            .bias_col = bias ? bias + g * k->mg : NULL,
            .act = rb ? (struct ir_act){ 0 } : s->act,
            .k_outer = k->k_outer,
        };
        float *yg = yb + g * k->mg * plane;
        const float *rg = rb ? rb + g * k->mg * plane : NULL;
        if (k->uk->store_t && !k->ksplit) conv_store_t(k, s, &gm, yg, rg);
        if (k->by_rows) {
            struct conv_rows_job rj = { m, k, s, &gm, yg, rg };
            cpu_pool_run(x->pool, conv_rows_task, &rj, k->threads);
            continue;
        }
        if (k->ksplit) {
            gm.bias_col = NULL;
            gm.act = (struct ir_act){ 0 };
            struct conv_ksplit_job kj = { k, &gm };
            const int parts = (int)cpu_ceil_div(k->k, k->ksplit);
            cpu_pool_run(x->pool, conv_ksplit_task, &kj, parts);
            struct conv_side_job j = { .m = m,
                                       .k = k,
                                       .s = s,
                                       .yt = yt,
                                       .yg = yg,
                                       .rg = rg,
                                       .bg = bias ? bias + g * k->mg : NULL,
                                       .nsplit = parts - 1 };
            cpu_pool_run(x->pool, conv_finish_task, &j, k->threads);
            continue;
        }
        cpu_sgemm_run(&gm, x->pool, k->threads);
        if (!gm.ct) conv_finish_t(m, k, s, x, yt, yg, rg);
    }
}

static int conv_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct conv_kernel *k = s->kdata;
    const float *in = x->ptr[s->in[0]];
    const float *bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL;
    float *out = x->ptr[s->out[0]];
    const float *res = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL;
    float *scratch = x->scratch;
    const int64_t plane = k->oh * k->ow, in_plane = k->h * k->w;
    for (int64_t b = 0; b < k->n; b++) {
        const float *xb = in + b * k->c * in_plane;
        const float *rb = res ? res + b * k->m * plane : NULL;
        float *yb = out + b * k->m * plane;
        if (k->a_off) {
            conv_run_indirect(m, k, s, x, xb, bias, rb, yb);
            continue;
        }
        for (int64_t g = 0; g < k->group; g++) {
            struct cpu_pack_conv cv;
            struct cpu_pack_mat mat;
            cpu_pack_fn fn;
            const void *src;
            conv_source(k, xb + g * k->cg * in_plane, &cv, &mat, &fn, &src);
            const float *wg = k->wp + (size_t)g * k->wp_group;
            const float *bg = bias ? bias + g * k->mg : NULL;
            const float *rg = rb ? rb + g * k->mg * plane : NULL;
            float *yg = yb + g * k->mg * plane;
            if (k->mode == CONV_GEMM) {
                struct cpu_sgemm gm = { .kc = k->kc,
                                        .uk = k->uk,
                                        .m = k->mg,
                                        .n = plane,
                                        .k = k->k,
                                        .a = wg,
                                        .pack_b = fn,
                                        .pack_src = src,
                                        .c = yg,
                                        .ldc = plane,
                                        .bias_row = bg,
                                        .res = rg,
                                        .ldres = plane,
                                        .act = s->act,
                                        .task_scratch = x->task_scratch,
                                        .task_stride = x->task_stride,
                                        .rows_local = k->rows_local };
                cpu_sgemm_run(&gm, x->pool, k->threads);
            } else {
                cpu_pack_blocked_mt(x->pool, k->threads, fn, src, k->k, plane, k->uk->mr, k->kc,
                                    scratch);
                float *yt = scratch + k->c_off;
                struct cpu_sgemm gm = { .kc = k->kc,
                                        .uk = k->uk,
                                        .m = plane,
                                        .n = k->mg,
                                        .k = k->k,
                                        .a = scratch,
                                        .b = wg,
                                        .c = yt,
                                        .ldc = k->mg,
                                        .bias_col = bg,
                                        .act = rg ? (struct ir_act){ 0 } : s->act };
                if (k->uk->store_t) conv_store_t(k, s, &gm, yg, rg);
                cpu_sgemm_run(&gm, x->pool, k->threads);
                if (!gm.ct) conv_finish_t(m, k, s, x, yt, yg, rg);
            }
        }
    }
    return 0;
}

/* Strides the in-place A can read: 1, or 2 through the phases (undilated). */
static bool conv_strides_in_place(const struct conv_kernel *k)
{
    if (k->sh == 1 && k->sw == 1) return true;
    return k->sh == 2 && k->sw == 2 && k->dh == 1 && k->dw == 1;
}

/* Whether the transposed product can read its A operand in place (see
 * conv_kernel.a_off); sets a_off, hpad, wpad when it can. */
static bool conv_plan_indirect(struct conv_kernel *k)
{
    const struct cpu_ukernel *uk = k->uk;
    if (!uk->tile_ind || k->ow % uk->mr != 0 || !conv_strides_in_place(k)) return false;
    const int64_t taps = k->kh * k->kw;
    k->phr = k->phc = 1;
    if (k->sh == 2) {
        /* phases (conv_phase_channel) */
        k->phr = k->kh > 1 ? 2 : 1;
        k->phc = k->kw > 1 ? 2 : 1;
        k->hpad = k->oh + (k->kh - 1) / 2;
        k->wpad = k->ow + (k->kw - 1) / 2;
    } else {
        k->hpad = k->plain ? k->h : k->oh + (k->kh - 1) * k->dh;
        k->wpad = k->plain ? k->w : k->ow + (k->kw - 1) * k->dw;
    }
    k->cstride = k->phr * k->phc * k->hpad * k->wpad;
    if (k->c * k->cstride > INT32_MAX) return false;
    k->a_off = malloc(sizeof(int32_t) * (size_t)k->k);
    if (!k->a_off) return false; /* the packing path needs nothing more */
    for (int64_t i = 0; i < k->k; i++) {
        const int64_t c = i / taps, ki = i % taps / k->kw, kj = i % taps % k->kw;
        int64_t off;
        if (k->sh == 2)
            off = ((ki % 2) * k->phc + kj % 2) * k->hpad * k->wpad + ki / 2 * k->wpad + kj / 2;
        else
            off = ki * k->dh * k->wpad + kj * k->dw;
        k->a_off[i] = (int32_t)(c * k->cstride + off);
    }
    return true;
}

/* Chooses the product's orientation and blocking; returns the scratch bytes
 * it needs (left to the caller: a direct kernel may take the step instead). */
static size_t conv_plan(struct cpu_model *m, struct conv_kernel *k)
{
    const int64_t plane = k->oh * k->ow;
    double direct, transposed;
    const struct cpu_ukernel *ud = cpu_ukernel_for(m->be->isa, k->mg, plane, &direct);
    const struct cpu_ukernel *ut = cpu_ukernel_for(m->be->isa, plane, k->mg, &transposed);

    /* Transposed, the input is packed whole and the result transposed back,
     * about 10% (measured at 14x14), unless its A is read in place (stride 1,
     * or 2 through the phases; output rows of whole tiles): then it packs
     * nothing but a padded copy, where the direct product packs its im2col
     * matrix (at stride 2 with short runs or gathers: 30% of resnet50's
     * layer2.0.conv2, 1.51 -> 1.23 ms in place). On planes over 28x28 the
     * transposition and the scattered reads of A outweigh that (measured at
     * 56x56). A 1x1
     * convolution packs B by plain copies, K x N of them against M x N for
     * the transposition: in place only when it has fewer outputs than inputs
     * (MobileNet's expansions are the other way round), and the direct
     * product cannot read B in place either (cpu_conv_direct.c: it takes
     * those 1x1 layers with as many inputs as outputs or more, on planes of
     * whole vectors). Against the transposition in place, direct read
     * googlenet's 28x28 1x1 layers 7-41% faster, resnet50's layer3.0.conv1
     * (512 -> 256) 0.99 against 1.08 ms. */
    bool in_place = false;
    if (conv_strides_in_place(k) && plane <= 784 &&
        (!k->plain || (k->mg < k->k && !k->direct_fits))) {
        int n;
        const struct cpu_ukernel *const *shapes = cpu_ukernel_shapes(m->be->isa, &n);
        for (int i = 0; i < n && !in_place; i++) {
            const struct cpu_ukernel *u = shapes[i];
            if (!u->tile_ind || k->ow % u->mr) continue;
            double f = (double)plane / (double)((plane + u->mr - 1) / u->mr * u->mr);
            f *= (double)k->mg / (double)((k->mg + 15) / 16 * 16);
            if (f >= 0.95 * direct && f >= transposed / 1.02) {
                ut = u;
                transposed = f;
                in_place = true;
            }
        }
    }
    k->mode = transposed > 1.12 * direct || in_place ? CONV_GEMM_T : CONV_GEMM;
    k->uk = k->mode == CONV_GEMM_T ? ut : ud;
    const struct cpu_ukernel *uk = k->uk;
    int threads = m->be->threads;
    size_t need;
    if (k->mode == CONV_GEMM) {
        k->kc = cpu_sgemm_kc(uk, plane, k->k);
        k->threads = cpu_sgemm_threads(k->mg, plane, k->k, threads);
        need = 0;
        const size_t task_need = cpu_sgemm_task_scratch(uk, plane, k->k);
        if (task_need > m->task_scratch_size) m->task_scratch_size = task_need;
    } else {
        k->kc = cpu_sgemm_kc(uk, k->mg, k->k);
        k->threads = cpu_sgemm_threads(plane, k->mg, k->k, threads);
        int64_t parts = 1;
        if (conv_plan_indirect(k)) {
            k->kc = cpu_sgemm_kc_deep(uk, k->k);
            k->c_off = k->plain ? 0 : ((size_t)(k->c * k->cstride) + 15) / 16 * 16;
            /* A 1x1 layer after one that split its channels (MobileNet's
             * projections after their depthwise layer) splits its depth
             * instead: each thread reads only the channels its own core
             * wrote, and the partial products, a fraction of the input's
             * size, are what crosses to the other core. Only where they
             * are at most half of it: with as many outputs as inputs
             * (RegNet's block4 f.c, 400 -> 400 at 7x7; ShuffleNet's stage4)
             * as much crosses either way, and the split by rows saves the
             * pass that adds the partials: RegNet's twelve f.c layers took
             * 0.85-0.90 of their time at 2 threads, the model 0.955-0.975.
             * A deep layer of a larger kernel on a small plane splits its
             * depth too: each thread reads only the channels its share of
             * the padded copy wrote, and half the weights, where split by
             * channels both threads read all of the copy, and split by rows
             * all of the weights. At 2 threads resnet50's layer4.0.conv2
             * (512 -> 512, 3x3 stride 2, 7x7, k 4608) took 0.78 against 1.07
             * ms, resnet18's 7x7 and 14x14 layers 0.03-0.07 ms less each; on
             * 28x28 planes the partials cost more than that (resnet50's
             * layer2.0.conv2 +0.03 ms), and so they did with under 512 of
             * depth a thread (googlenet's 3x3 layers of 16-32 inputs). */
            const bool deep_small = !k->plain && k->oh * k->ow <= 196 && k->k >= 512 * k->threads;
            if ((k->plain ? k->input_by_channels && k->k >= 64 * k->threads : deep_small) &&
                k->group == 1 && k->threads > 1 && k->k >= 2 * k->mg) {
                const int64_t per = cpu_ceil_div(k->k, k->threads);
                k->kc = cpu_sgemm_kc_deep(uk, per);
                k->ksplit = cpu_ceil_div(per, k->kc) * k->kc;
                parts = cpu_ceil_div(k->k, k->ksplit);
            }
            /* Column blocks outermost read all of A once each, k blocks
             * outermost all of C (Y^T) once each: whichever is less. A
             * stride-2 layer's A holds its whole input (the phases), four
             * times the output plane: resnet50's layer4.0.conv2 (A 512 KB,
             * 11 column blocks) took 10% less at 1 thread, about 25% at 2. */
            const int64_t nc = cpu_sgemm_nc(uk, k->mg, k->k, k->kc);
            const double a_bytes = (double)(k->cg * k->cstride) * sizeof(float);
            const double c_bytes = (double)(plane * k->mg) * sizeof(float);
            k->k_outer = (double)cpu_ceil_div(k->mg, nc) * a_bytes >
                         (double)cpu_ceil_div(k->k, k->kc) * c_bytes;
            /* An output read by channels (a depthwise or grouped reader)
             * is better put back by channels, on the core that reads them */
            k->by_rows = !k->ksplit && !k->rows_local && k->group == 1 && k->threads > 1 &&
                         k->oh >= 2 * k->threads &&
                         cpu_sgemm_packed_splits_rows(uk, plane, k->mg, k->k, k->threads);
        } else
            k->c_off = (cpu_pack_size(k->k, plane, uk->mr) + 15) / 16 * 16;
        need = k->c_off + (size_t)(parts * plane * k->mg);
    }
    return need * sizeof(float);
}

/* Whether the output's only reader is a depthwise or grouped convolution,
 * which splits its channels over the threads. */
static bool conv_feeds_channel_split(const struct ir_graph *g, const struct ir_node *n)
{
    const int v = n->out[0];
    const struct ir_node *reader = NULL;
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == v) return false;
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *r = &g->nodes[i];
        if (r->dead) continue;
        for (int j = 0; j < r->nin; j++) {
            if (r->in[j] != v) continue;
            if (reader || j != 0) return false;
            reader = r;
        }
    }
    if (!reader || strcmp(reader->op_type, "Conv") != 0 || !reader->params) return false;
    const struct ir_conv_params *p = reader->params;
    return !p->transpose && p->group > 1;
}

/* Whether input 0 comes from a depthwise or grouped convolution (not one run
 * fused with its expansion, which splits rows: cpu_mbconv.c). */
static bool conv_reads_channel_split(const struct cpu_model *m, const struct ir_graph *g,
                                     const struct ir_node *n)
{
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *w = &g->nodes[i];
        if (w->dead || w->nout < 1 || w->out[0] != n->in[0]) continue;
        if (strcmp(w->op_type, "Conv") != 0 || !w->params) return false;
        if (cpu_mbconv_runs(&m->steps[i])) return false;
        const struct ir_conv_params *p = w->params;
        return !p->transpose && p->group > 1;
    }
    return false;
}

static int conv_pack_weights(struct conv_kernel *k, const float *w)
{
    const int width = k->mode == CONV_GEMM ? k->uk->mr : k->uk->nr;
    k->wp_group = cpu_pack_size(k->k, k->mg, width);
    k->wp = ir_alloc(sizeof(float) * k->wp_group * (size_t)k->group);
    if (!k->wp) return -ENOMEM;
    for (int64_t g = 0; g < k->group; g++) {
        struct cpu_pack_mat mat = { w + g * k->mg * k->k, k->k, 1.0f };
        cpu_pack_blocked(cpu_pack_nk, &mat, k->k, k->mg, width, k->kc,
                         k->wp + (size_t)g * k->wp_group);
    }
    return 0;
}

int cpu_conv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_conv_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || p->transpose || p->nspatial != 2) return 0;
    const struct ir_value *xv = &g->values[n->in[0]];
    const struct ir_value *wv = &g->values[n->in[1]];
    const struct ir_value *yv = &g->values[n->out[0]];
    if (xv->dtype != IR_DT_F32 || !(wv->flags & IR_VALUE_CONST)) return 0;
    /* Depthwise convolutions are cpu_depthwise.c's (chosen before this one). */
    if (p->group > 1 && xv->shape.dims[1] == p->group) return 0;
    if (n->nin > 2 && n->in[2] >= 0 && !(g->values[n->in[2]].flags & IR_VALUE_CONST)) return 0;
    if (ir_shape_numel(&xv->shape) <= 0 || ir_shape_numel(&yv->shape) <= 0) return 0;
    /* before the depth split after a depthwise layer too (conv_gemm_tk): at
     * 2 threads mobilenet_v2 2.74 against 3.09 ms, mnasnet 2.94 against
     * 3.00, efficientnet_b0 and mobilenet_v3_small the same */
    if (cpu_conv_p49_fits(m, g, n)) return cpu_conv_p49_prepare(m, s, g, n);

    if (m->be->winograd != CPU_WINO_OFF &&
        cpu_winograd_fits(p->kernel[0], p->kernel[1], p->strides[0], p->strides[1], p->dilations[0],
                          p->dilations[1], p->group)) {
        struct cpu_wino_conv wc = {
            .n = xv->shape.dims[0],
            .c = xv->shape.dims[1],
            .m = yv->shape.dims[1],
            .plane = { .h = xv->shape.dims[2],
                       .w = xv->shape.dims[3],
                       .oh = yv->shape.dims[2],
                       .ow = yv->shape.dims[3],
                       .pt = p->pads[0],
                       .pl = p->pads[1] },
        };
        wc.plane.th = (wc.plane.oh + 3) / 4;
        wc.plane.tw = (wc.plane.ow + 3) / 4;
        if (m->be->winograd == CPU_WINO_ON || cpu_winograd_wins(m, &wc)) {
            int rc = cpu_winograd_prepare(m, s, &wc, m->slots[n->in[1]].data);
            if (rc < 0) return rc;
            cpu_const_drop(m, g, n->in[1]);
            return 1;
        }
    }

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
    k->uk = cpu_ukernel_get(m->be->isa);
    k->plain = k->kh == 1 && k->kw == 1 && k->sh == 1 && k->sw == 1 && k->pt == 0 && k->pl == 0 &&
               p->pads[2] == 0 && p->pads[3] == 0;
    k->rows_local = conv_feeds_channel_split(g, n);
    k->input_by_channels = conv_reads_channel_split(m, g, n);
    const struct cpu_conv_shape cs = { k->n,  k->c,  k->h,  k->w,       k->m,       k->oh,
                                       k->ow, k->kh, k->kw, k->sh,      k->sw,      k->dh,
                                       k->dw, k->pt, k->pl, p->pads[2], p->pads[3], k->group };
    k->direct_fits = cpu_conv_direct_fits(cpu_ukernel_get(m->be->isa), &cs);
    const size_t need = conv_plan(m, k);
    /* A strided 1x1 layer on planes of whole vectors goes direct whichever
     * orientation the product chose: subsampled once, by the rows the
     * thread then multiplies, its input is a plain layer's. Per node, at 1
     * and 2 threads: RegNet's block2-0 proj 0.70 and 0.87 of its time
     * transposed in place, block1-0's 0.91 and 0.98 of it packed;
     * resnet18's layer2.0.downsample 0.92 and 0.85, resnet50's 0.98 and
     * 0.91. On 14x14 and 7x7 planes the transposed product stays ahead
     * (RegNet's block4-0 proj 1.16 and 1.46 direct). */
    if ((k->mode == CONV_GEMM || (!k->plain && !k->a_off) || cpu_conv_direct_sub(&cs)) &&
        k->direct_fits) {
        /* no packing of the input at all (cpu_conv_direct.c) */
        conv_kernel_free(k);
        int rc = cpu_conv_direct_prepare(m, s, &cs, m->slots[n->in[1]].data);
        if (rc < 0) return rc;
        cpu_const_drop(m, g, n->in[1]);
        return 1;
    }
    if (need > m->scratch_size) m->scratch_size = need;
    s->kdata = k;
    s->kdata_free = conv_kernel_free;
    s->run = conv_run;
    int rc = conv_pack_weights(k, m->slots[n->in[1]].data);
    if (rc < 0) return rc;
    if (!k->plain && !k->a_off && k->ow < 32 && (k->mode == CONV_GEMM || k->ow % k->uk->mr)) {
        /* output rows shorter than two vectors make runs too short to copy
         * well: gather through a table of offsets instead */
        struct cpu_pack_conv cv;
        struct cpu_pack_mat mat;
        cpu_pack_fn fn;
        const void *src;
        conv_source(k, NULL, &cv, &mat, &fn, &src);
        k->tab = cpu_pack_conv_table(&cv);
        if (!k->tab) return -ENOMEM;
    }
    cpu_const_drop(m, g, n->in[1]);
    static const char *const names[4][3] = {
        { "conv_gemm_generic", "conv_gemm_avx2", "conv_gemm_avx512" },
        { "conv_gemm_t_generic", "conv_gemm_t_avx2", "conv_gemm_t_avx512" },
        { "conv_gemm_tk_generic", "conv_gemm_tk_avx2", "conv_gemm_tk_avx512" },
        { "conv_gemm_tr_generic", "conv_gemm_tr_avx2", "conv_gemm_tr_avx512" },
    };
    s->kernel = names[k->ksplit ? 2 : k->by_rows ? 3 : k->mode][k->uk->isa];
    s->fuses_sum = true;
    return 1;
}
