/* 2-D convolution on the packed GEMM with B read in place (cpu_conv.h):
 * Y[m][oy*ow+ox] = W[m][(c,ki,kj)] . X_col[(c,ki,kj)][oy*ow+ox], as in
 * cpu_conv.c, but the im2col blocks are never packed. The input is copied
 * once, zero-padded and split by column phase (stride sw: column x goes to
 * phase x % sw at x / sw), into xq[c][y][phase][wq]. Then at every tap
 * (c, ki, kj) the outputs ox0 .. ox0+47 of output row oy read consecutive
 * floats of xq: a register tile's B row at step k is xq + base(oy, ox0) +
 * boff[k], and the micro-kernel loads it as vectors (uk->tile_bind).
 *
 * That drops the packing pass, which for the first layer of a network (3
 * input channels, K = 27 or 147, 112x112 outputs) costs as much as the
 * arithmetic: the stride-2 gather of cpu_pack_conv is a scalar loop, the
 * phase split here is a copy. A 1x1 stride-1 convolution without padding
 * reads its input itself, with no copy at all, the plane taken as one row;
 * a strided one ("sub") reads the samples it needs, copied into the scratch
 * as a plane of their own, and is then run as a plain one.
 *
 * Tiles never cross an output row (plain and sub convolutions aside), so a row of
 * ow outputs runs ceil(ow / 16) vectors: full on 112 or 224-wide planes,
 * 7/8 on 56 or 28. Work is split over the threads by tiles; each thread runs
 * its tiles in bands whose input stays in L2 while every panel of weights
 * (in L1) sweeps them. */
#include "cpu_conv.h"

#include "cpu_sgemm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct conv_direct {
    struct cpu_conv_shape cs;
    int64_t cg, mg, k; /* per group: input, output channels; GEMM depth */
    bool plain;        /* 1x1, stride 1, no padding: B is the input itself */
    bool sub;          /* 1x1, strided, no padding: B is the input subsampled */
    bool tail;         /* plain, the plane not whole vectors: its last one masked */
    const struct cpu_ukernel *uk;
    float *wp; /* packed weights (A panels of mr rows), wp_group floats per group */
    size_t wp_group;
    int64_t kc;       /* k block depth of wp's layout */
    int32_t *boff;    /* per k: offset from a tile's base into xq */
    int64_t hq, wq;   /* xq: rows (padded input rows needed), floats per phase row */
    int64_t row_q;    /* floats per padded input row: sw * wq */
    int64_t plane_q;  /* floats per channel: hq * row_q */
    int64_t rows, ow; /* output rows and their length as tiles see them */
    int64_t nvec;     /* 16-float vectors per row */
    int64_t ntx;      /* tiles per output row: the vectors shared out evenly */
    int64_t band;     /* tiles per band */
    int threads;
    bool pf_b; /* the tiles prefetch the next tile's B (in place, from memory) */
};

static void conv_direct_free(void *p)
{
    struct conv_direct *d = p;
    if (!d) return;
    ir_free(d->wp);
    free(d->boff);
    free(d);
}

bool cpu_conv_direct_sub(const struct cpu_conv_shape *cs)
{
    return cs->kh == 1 && cs->kw == 1 && (cs->sh > 1 || cs->sw > 1) && cs->pt == 0 && cs->pl == 0 &&
           cs->pb == 0 && cs->pr == 0 && cs->dh == 1 && cs->dw == 1;
}

bool cpu_conv_direct_fits(const struct cpu_ukernel *uk, const struct cpu_conv_shape *cs)
{
    if (!uk->tile_bind) return false;
    const bool plain = cs->kh == 1 && cs->kw == 1 && cs->sh == 1 && cs->sw == 1 && cs->pt == 0 &&
                       cs->pl == 0 && cs->pb == 0 && cs->pr == 0;
    /* in place, the last channel's last tile reads whole vectors: only up
     * to the end of the plane */
    const int64_t k = cs->c / cs->group * cs->kh * cs->kw, mg = cs->m / cs->group;
    /* Measured on the zoo: B in place beats B packed when each of its rows
     * is used by few A panels (no more outputs than inputs: the packing is
     * then a large share of the work), and on shallow products (a network's
     * first layer); deeper, the in-place rows are too many streams for the
     * prefetchers and the packed blocks win. As many outputs as inputs
     * (RegNet's 32 -> 32 at 112x112, ShuffleNet's 58 -> 58 at 28x28) ran
     * 10% faster in place; on two threads, where a split by output
     * channels made each thread pack all of B, 8% faster still. */
    /* Planes that are not whole vectors (55x55, 27x27) read their last
     * vector masked where the level can (bind_tail); from 14x14 down the
     * transposed product in place stays ahead (googlenet's 14x14 1x1
     * layers 1.03-1.27 times slower direct) */
    if (plain)
        return k >= mg && cs->c * cs->h * cs->w <= INT32_MAX &&
               ((cs->oh * cs->ow) % 16 == 0 || (uk->bind_tail && cs->oh * cs->ow >= 512));
    if (cpu_conv_direct_sub(cs))
        return (cs->oh * cs->ow) % 16 == 0 && cs->c * cs->oh * cs->ow <= INT32_MAX;
    if ((cs->kh == 1 && cs->kw == 1) || k > 256) return false;
    const int64_t owr = cpu_ceil_div(cs->ow, 16) * 16;
    const int64_t wq = owr + (cs->kw - 1) * cs->dw / cs->sw + 1;
    const int64_t hq = (cs->oh - 1) * cs->sh + (cs->kh - 1) * cs->dh + 1;
    return cs->c * hq * cs->sw * wq <= INT32_MAX;
}

/* The padded, phase-split input: a share of the channels. */
struct split_job {
    const struct conv_direct *d;
    const float *x;
    float *xq;
};

/* The padded input rows [y0, y1) of xq, every channel, that task `task`
 * of the product reads first: the rows from its first output row's to the
 * next task's (the last task to the end). Splitting the copy as the product
 * is split keeps most of what a thread reads in its own cache; split by
 * channels instead, a thread's product read two thirds of a first layer's
 * input from the other core and took as long as the whole product on one. */
static void conv_direct_rows(const struct conv_direct *d, int task, int ntasks, int64_t *y0,
                             int64_t *y1)
{
    const int64_t ntiles = d->rows * d->ntx;
    *y0 = task == 0 ? 0 : ntiles * task / ntasks / d->ntx * d->cs.sh;
    *y1 = task == ntasks - 1 ? d->hq : ntiles * (task + 1) / ntasks / d->ntx * d->cs.sh;
    if (*y1 > d->hq) *y1 = d->hq;
}

/* A share of the padded rows of xq (conv_direct_rows). */
static void conv_direct_split_task(void *arg, int task, int ntasks)
{
    const struct split_job *j = arg;
    const struct conv_direct *d = j->d;
    const struct cpu_conv_shape *cs = &d->cs;
    int64_t y0, y1;
    conv_direct_rows(d, task, ntasks, &y0, &y1);
    const int64_t sw = cs->sw, wq = d->wq;
    for (int64_t r = 0; r < cs->c * (y1 - y0); r++) {
        const int64_t c = r / (y1 - y0), y = y0 + r % (y1 - y0);
        float *row = j->xq + c * d->plane_q + y * d->row_q;
        const int64_t iy = y - cs->pt;
        if (iy < 0 || iy >= cs->h) {
            memset(row, 0, sizeof(float) * (size_t)d->row_q);
            continue;
        }
        const float *src = j->x + (c * cs->h + iy) * cs->w;
        for (int64_t ph = 0; ph < sw; ph++) {
            /* q holds padded column q * sw + ph, input column q * sw + ph - pl:
             * zeros, then [lo, hi) from the input, then zeros */
            float *dst = row + ph * wq;
            const int64_t first = cs->pl - ph; /* input column 0 at q * sw == first */
            int64_t lo = first <= 0 ? 0 : (first + sw - 1) / sw;
            int64_t hi = (cs->w + cs->pl - ph + sw - 1) / sw;
            if (lo > wq) lo = wq;
            if (hi > wq) hi = wq;
            if (hi < lo) hi = lo;
            memset(dst, 0, sizeof(float) * (size_t)lo);
            const float *s = src + lo * sw + ph - cs->pl;
            if (sw == 1)
                memcpy(dst + lo, s, sizeof(float) * (size_t)(hi - lo));
            else if (sw == 2)
                cpu_copy_even(dst + lo, s, hi - lo);
            else
                for (int64_t q = 0; q < hi - lo; q++) dst[lo + q] = s[q * sw];
            memset(dst + hi, 0, sizeof(float) * (size_t)(wq - hi));
        }
    }
}

/* sub: the task's share of the subsampled rows, xq[c][oy][ox] =
 * x[c][oy * sh][ox * sw]: the rows whose first output lies in its tiles. */
static void conv_direct_sub_task(void *arg, int task, int ntasks)
{
    const struct split_job *j = arg;
    const struct conv_direct *d = j->d;
    const struct cpu_conv_shape *cs = &d->cs;
    const int64_t plane = cs->oh * cs->ow;
    const int64_t t0 = d->ntx * task / ntasks, t1 = d->ntx * (task + 1) / ntasks;
    const int64_t p0 = cpu_imin(d->nvec * t0 / d->ntx * 16, plane);
    const int64_t p1 = task == ntasks - 1 ? plane : cpu_imin(d->nvec * t1 / d->ntx * 16, plane);
    const int64_t oy0 = cpu_ceil_div(p0, cs->ow), oy1 = cpu_ceil_div(p1, cs->ow);
    for (int64_t c = 0; c < cs->c; c++) {
        for (int64_t oy = oy0; oy < oy1; oy++) {
            const float *src = j->x + (c * cs->h + oy * cs->sh) * cs->w;
            float *dst = j->xq + c * plane + oy * cs->ow;
            /* every sh-th row: too short a stream for the prefetchers */
            if (oy + 2 < oy1)
                for (int64_t o = 0; o < cs->ow * cs->sw; o += 16)
                    __builtin_prefetch(src + 2 * cs->sh * cs->w + o);
            if (cs->sw == 2)
                cpu_copy_even(dst, src, cs->ow);
            else
                for (int64_t q = 0; q < cs->ow; q++) dst[q] = src[q * cs->sw];
        }
    }
}

struct direct_job {
    const struct conv_direct *d;
    const float *xq; /* the group's first channel of B */
    const float *wp; /* the group's packed weights */
    const float *bias, *res;
    float *y;
    const struct ir_act *act;
};

/* What the kernel prefetches for tile ti (pf_b, so a plain layer: B and the
 * residual at the same column): its columns of B while the first panel
 * runs, its residual rows of the panel at i0. */
static void direct_tile_next(const struct direct_job *j, int64_t ti, int64_t p, int64_t i0,
                             struct cpu_tile *t)
{
    const struct conv_direct *d = j->d;
    const int64_t col = ti / d->ntx * d->ow + d->nvec * (ti % d->ntx) / d->ntx * 16;
    t->bpf = p == 0 ? j->xq + col : NULL;
    t->rpf = j->res ? j->res + i0 * d->cs.oh * d->cs.ow + col : NULL;
}

/* Tiles [t0, t1) (row-major: output row ti / ntx) of the group in j, each
 * written to y + channel * ldc + (oy - row0) * ow + ox. */
static void direct_tiles(const struct direct_job *j, int64_t t0, int64_t t1, float *y, int64_t ldc,
                         int64_t row0)
{
    const struct conv_direct *d = j->d;
    const struct cpu_ukernel *uk = d->uk;
    const int mr = uk->mr;
    const int64_t plane = d->cs.oh * d->cs.ow, mpad = cpu_ceil_div(d->mg, mr) * mr;
    const int64_t npm = mpad / mr;
    const int64_t in_row = d->plain || d->sub ? 0 : d->cs.sh * d->row_q;
    struct cpu_tile t = { .ldc = ldc, .ldres = plane, .act = j->act, .pf_lines = 0 };
    for (int64_t b0 = t0; b0 < t1; b0 += d->band) {
        const int64_t b1 = cpu_imin(b0 + d->band, t1);
        for (int64_t k0 = 0; k0 < d->k; k0 += d->kc) {
            const int64_t kb = cpu_imin(d->kc, d->k - k0);
            t.flags = (k0 > 0 ? CPU_TILE_ACC : 0) | (k0 + kb >= d->k ? CPU_TILE_LAST : 0);
            for (int64_t p = 0; p < npm; p++) {
                const int64_t i0 = p * mr;
                const float *ap = j->wp + k0 * mpad + p * kb * mr;
                t.mr = (int)cpu_imin(mr, d->mg - i0);
                t.bias_row = j->bias ? j->bias + i0 : NULL;
                for (int64_t ti = b0; ti < b1; ti++) {
                    const int64_t oy = ti / d->ntx, tx = ti % d->ntx;
                    const int64_t ox0 = d->nvec * tx / d->ntx * 16;
                    const int64_t ox1 = cpu_imin(d->nvec * (tx + 1) / d->ntx * 16, d->ow);
                    const int64_t col = oy * d->ow + ox0;
                    t.nr = (int)(ox1 - ox0);
                    if (d->tail) /* the plane's last vector: only to its end */
                        t.bmask = ox1 == d->ow ? (uint16_t)((1u << (t.nr % 16)) - 1u) : 0;
                    t.c = y + i0 * ldc + (oy - row0) * d->ow + ox0;
                    t.res = j->res ? j->res + i0 * plane + col : NULL;
                    const float *bp = d->plain || d->sub ? j->xq + col : j->xq + oy * in_row + ox0;
                    if (d->pf_b && ti + 1 < b1)
                        direct_tile_next(j, ti + 1, p, i0, &t);
                    else if (d->pf_b)
                        t.bpf = t.rpf = NULL;
                    uk->tile_bind(kb, ap, bp, d->boff + k0, &t);
                }
            }
        }
    }
}

static void conv_direct_task(void *arg, int task, int ntasks)
{
    const struct direct_job *j = arg;
    const struct conv_direct *d = j->d;
    const int64_t ntiles = d->rows * d->ntx;
    direct_tiles(j, ntiles * task / ntasks, ntiles * (task + 1) / ntasks, j->y, d->cs.oh * d->cs.ow,
                 0);
}

void cpu_conv_direct_input(const void *kdata, struct cpu_pool *pool, const float *x, float *xq)
{
    const struct conv_direct *d = kdata;
    struct split_job sj = { d, x, xq };
    cpu_pool_run(pool, conv_direct_split_task, &sj, d->threads);
}

void cpu_conv_direct_rows(const void *kdata, const float *xq, const float *bias,
                          const struct ir_act *act, int64_t oy0, int64_t oy1, float *dst,
                          int64_t ld)
{
    const struct conv_direct *d = kdata;
    const struct direct_job j = { .d = d, .xq = xq, .wp = d->wp, .bias = bias, .act = act };
    direct_tiles(&j, oy0 * d->ntx, oy1 * d->ntx, dst, ld, oy0);
}

static int conv_direct_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct conv_direct *d = s->kdata;
    const struct cpu_conv_shape *cs = &d->cs;
    const float *in = x->ptr[s->in[0]];
    const float *bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL;
    const float *res = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL;
    float *out = x->ptr[s->out[0]];
    const int64_t plane = cs->oh * cs->ow, in_plane = cs->h * cs->w;
    (void)m;
    for (int64_t b = 0; b < cs->n; b++) {
        const float *xb = in + b * cs->c * in_plane;
        const float *xq = xb;
        int64_t gstride = d->cg * in_plane;
        if (!d->plain) {
            struct split_job sj = { d, xb, x->scratch };
            cpu_pool_run(x->pool, d->sub ? conv_direct_sub_task : conv_direct_split_task, &sj,
                         d->threads);
            xq = x->scratch;
            gstride = d->cg * d->plane_q;
        }
        for (int64_t g = 0; g < cs->group; g++) {
            struct direct_job j = {
                .d = d,
                .xq = xq + g * gstride,
                .wp = d->wp + (size_t)g * d->wp_group,
                .bias = bias ? bias + g * d->mg : NULL,
                .res = res ? res + (b * cs->m + g * d->mg) * plane : NULL,
                .y = out + (b * cs->m + g * d->mg) * plane,
                .act = &s->act,
            };
            cpu_pool_run(x->pool, conv_direct_task, &j, d->threads);
        }
    }
    return 0;
}

int cpu_conv_direct_prepare(struct cpu_model *m, struct cpu_step *s,
                            const struct cpu_conv_shape *cs, const float *w)
{
    struct conv_direct *d = calloc(1, sizeof(*d));
    if (!d) return -ENOMEM;
    d->cs = *cs;
    d->cg = cs->c / cs->group;
    d->mg = cs->m / cs->group;
    d->k = d->cg * cs->kh * cs->kw;
    d->uk = cpu_ukernel_get(m->be->isa);
    d->plain = cs->kh == 1 && cs->kw == 1 && cs->sh == 1 && cs->sw == 1 && cs->pt == 0 &&
               cs->pl == 0 && cs->pb == 0 && cs->pr == 0;
    d->sub = cpu_conv_direct_sub(cs);
    d->tail = d->plain && (cs->oh * cs->ow) % 16 != 0;
    const int64_t plane = cs->oh * cs->ow;
    const int nr = d->uk->nr;
    if (d->plain || d->sub) {
        d->rows = 1;
        d->ow = plane;
        d->plane_q = d->plain ? cs->h * cs->w : plane;
    } else {
        d->rows = cs->oh;
        d->ow = cs->ow;
        d->wq = cpu_ceil_div(cs->ow, 16) * 16 + (cs->kw - 1) * cs->dw / cs->sw + 1;
        d->hq = (cs->oh - 1) * cs->sh + (cs->kh - 1) * cs->dh + 1;
        d->row_q = cs->sw * d->wq;
        d->plane_q = d->hq * d->row_q;
    }
    /* 112 columns run as 32 + 32 + 48, not 48 + 48 + 16: a one-vector tile
     * does as many broadcasts as multiplies */
    d->nvec = cpu_ceil_div(d->ow, 16);
    d->ntx = cpu_ceil_div(d->nvec * 16, nr);
    d->kc = cpu_sgemm_kc(d->uk, plane, d->k);
    /* a band's B at one k block, as if packed, fills the L2 share a packed
     * B block would */
    d->band = (int64_t)cpu_sgemm_l2_block(d->uk) / (int64_t)sizeof(float) / (d->kc * nr);
    if (d->band < 1) d->band = 1;
    /* A plain layer's B is the previous layer's output, in place: read
     * from L3 when larger than a quarter of L2, a stream per input
     * channel, too many for the prefetchers; a fused residual is another
     * stream per output channel, read at the end of the tile. Each tile
     * asks for the next one's: its columns of B (first panel only) and its
     * residual rows. RegNet's block1-0 f.c (32 -> 32 at 56x56, 400 KB
     * each) took 0.68 of its time at 1 thread in the model, 0.74 at 2; on
     * inputs that stay in L2 the requests cost 2-5%, and on deep ones
     * (MnasNet's 72 -> 24 and 240 -> 40 projections, 0.75-0.9 MB) 4-8%:
     * their long k loop reads each row of B long enough for the
     * prefetchers. */
    d->pf_b = d->plain && d->k <= 64 &&
              (size_t)(cs->c * plane) * sizeof(float) > cpu_cache_l2_bytes() / 4;
    d->threads = cpu_sgemm_threads(d->mg, plane, d->k, m->be->threads);
    if (d->threads > d->rows * d->ntx) d->threads = (int)(d->rows * d->ntx);

    s->kdata = d;
    s->kdata_free = conv_direct_free;
    s->run = conv_direct_run;
    d->boff = malloc(sizeof(int32_t) * (size_t)d->k);
    if (!d->boff) return -ENOMEM;
    const int64_t taps = cs->kh * cs->kw;
    for (int64_t i = 0; i < d->k; i++) {
        const int64_t c = i / taps, r = i % taps, ki = r / cs->kw, kj = r % cs->kw;
        const int64_t xoff = kj * cs->dw;
        d->boff[i] = (int32_t)(c * d->plane_q + ki * cs->dh * d->row_q + (xoff % cs->sw) * d->wq +
                               xoff / cs->sw);
    }
    d->wp_group = cpu_pack_size(d->k, d->mg, d->uk->mr);
    d->wp = ir_alloc(sizeof(float) * d->wp_group * (size_t)cs->group);
    if (!d->wp) return -ENOMEM;
    for (int64_t g = 0; g < cs->group; g++) {
        struct cpu_pack_mat mat = { w + g * d->mg * d->k, d->k, 1.0f };
        cpu_pack_blocked(cpu_pack_nk, &mat, d->k, d->mg, d->uk->mr, d->kc,
                         d->wp + (size_t)g * d->wp_group);
    }
    if (!d->plain) {
        const size_t need = sizeof(float) * (size_t)(cs->c * d->plane_q);
        if (need > m->scratch_size) m->scratch_size = need;
    }
    static const char *const names[] = { "conv_direct_generic", "conv_direct_avx2",
                                         "conv_direct_avx512" };
    s->kernel = names[d->uk->isa];
    s->fuses_sum = true;
    return 1;
}
