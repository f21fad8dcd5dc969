/* The blocked GEMM driver (cpu_sgemm.h), the portable micro-kernels, and the
 * choice of kernel set per ISA level.
 *
 * Loop order, outermost first: a thread's columns in blocks of nc; k in
 * blocks of kc (B's kc x nc block packed here, then hot in L2); A's panels
 * of mr rows (each kc x mr, in L1 while it sweeps the block); B's panels of
 * nr columns: one micro-kernel call per register tile. Threads split the
 * columns, each packing its own B blocks; or the rows, each then packing all
 * of a run-time B (split_plan). */
#include "cpu_sgemm.h"

#include "cpu_eltwise.h"
#include "cpu_isa.h"

#include <string.h>

/* --- portable kernels -------------------------------------------------- */

#define GMR 4
#define GNR 8

void cpu_tile_act_rows(const struct cpu_tile *t)
{
    if (!(t->flags & CPU_TILE_LAST) || t->act->kind == IR_ACT_NONE) return;
    for (int i = 0; i < t->mr; i++) {
        float *row = t->c + i * t->ldc;
        cpu_vec_generic.unary(row, row, t->nr, t->act);
    }
}

void cpu_tile_act_cols(const struct cpu_tile *t)
{
    if (t->act->kind == IR_ACT_NONE) return;
    for (int j = 0; j < t->nr; j++) {
        float *col = t->ct + j * t->ldct;
        cpu_vec_generic.unary(col, col, t->mr, t->act);
    }
}

static void tile_generic(int64_t kc, const float *a, const float *b, const struct cpu_tile *t)
{
    float acc[GMR][GNR];
    memset(acc, 0, sizeof(acc));
    for (int64_t k = 0; k < kc; k++, a += GMR, b += t->ldb)
        for (int i = 0; i < GMR; i++)
            for (int j = 0; j < GNR; j++) acc[i][j] += a[i] * b[j];
    const bool last = t->flags & CPU_TILE_LAST;
    for (int i = 0; i < t->mr; i++) {
        float *c = t->c + i * t->ldc;
        for (int j = 0; j < t->nr; j++) {
            float x = acc[i][j];
            if (t->flags & CPU_TILE_ACC) x += c[j];
            if (last && t->bias_row) x += t->bias_row[i];
            if (last && t->bias_col) x += t->bias_col[j];
            if (last && t->res) x += t->res[i * t->ldres + j];
            c[j] = x;
        }
    }
    cpu_tile_act_rows(t);
}

static void gemv_generic(int64_t k, int64_t n, const float *x, const float *b, float *y,
                         const float *bias, const struct ir_act *act)
{
    for (int64_t j0 = 0; j0 < n; j0 += GNR, b += k * GNR) {
        float s[GNR] = { 0 };
        for (int64_t kk = 0; kk < k; kk++)
            for (int j = 0; j < GNR; j++) s[j] += x[kk] * b[kk * GNR + j];
        for (int j = 0; j < GNR && j0 + j < n; j++) y[j0 + j] = s[j] + (bias ? bias[j0 + j] : 0.0f);
    }
    cpu_vec_generic.unary(y, y, n, act);
}

const struct cpu_ukernel cpu_ukernel_generic = {
    .name = "generic",
    .isa = CPU_ISA_GENERIC,
    .mr = GMR,
    .nr = GNR,
    .kc_max = 512,
    .l2_block = 256 * 1024,
    .tile = tile_generic,
    .gemv = gemv_generic,
    .pack_kn = cpu_pack_kn,
    .pack_conv = cpu_pack_conv,
};

const struct cpu_ukernel *cpu_ukernel_get(int isa)
{
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) return &cpu_ukernel_avx512;
    if (isa >= CPU_ISA_AVX2) return &cpu_ukernel_avx2;
#else
    (void)isa;
#endif
    return &cpu_ukernel_generic;
}

const struct cpu_ukernel *const *cpu_ukernel_shapes(int isa, int *n)
{
#if defined(__x86_64__)
    static const struct cpu_ukernel *const avx512[] = { &cpu_ukernel_avx512,
                                                        &cpu_ukernel_avx512_7x48 };
    static const struct cpu_ukernel *const avx2[] = { &cpu_ukernel_avx2 };
    if (isa >= CPU_ISA_AVX512) {
        *n = 2;
        return avx512;
    }
    if (isa >= CPU_ISA_AVX2) {
        *n = 1;
        return avx2;
    }
#else
    (void)isa;
#endif
    static const struct cpu_ukernel *const generic[] = { &cpu_ukernel_generic };
    *n = 1;
    return generic;
}

static double fill_of(int64_t n, int64_t u)
{
    return (double)n / (double)(((n + u - 1) / u) * u);
}

const struct cpu_ukernel *cpu_ukernel_for(int isa, int64_t rows, int64_t cols, double *fill)
{
    int n;
    const struct cpu_ukernel *const *shapes = cpu_ukernel_shapes(isa, &n);
    const struct cpu_ukernel *best = shapes[0];
    double best_fill = 0;
    for (int i = 0; i < n; i++) {
        const int lanes = shapes[i]->nr % 16 == 0 ? 16 : 8;
        double f = fill_of(rows, shapes[i]->mr) * fill_of(cols, lanes);
        if (f > best_fill * 1.02) { /* the main shape unless another is clearly better */
            best = shapes[i];
            best_fill = f;
        }
    }
    if (fill) *fill = best_fill;
    return best;
}

/* --- blocking and threads ----------------------------------------------- */

/* kc: k split evenly into blocks of at most kc_max; nc: whole panels of B
 * filling the L2 budget at that depth, the columns split evenly into blocks
 * of that size. Every column block reads all of A again, so when the columns
 * fit the budget at a depth still worth a k block (128), the blocks get
 * shallower instead. */
size_t cpu_sgemm_l2_block(const struct cpu_ukernel *uk)
{
    /* L2 holds the block being swept, the next one arriving (prefetched
     * during the sweep), A's panels and the C tiles: a block of a fifth of
     * L2 measured 5% faster on resnet50 than one of 384 KiB in 1 MiB (the
     * prefetched block evicted the current one) */
    const size_t l2 = cpu_cache_l2_bytes() / 5;
    return l2 < uk->l2_block ? l2 : uk->l2_block;
}

static void blocking(const struct cpu_ukernel *uk, int64_t n, int64_t k, int64_t kc_fixed,
                     int64_t *kc, int64_t *nc)
{
    const int64_t npad = cpu_ceil_div(n, uk->nr) * uk->nr;
    const int64_t budget = (int64_t)(cpu_sgemm_l2_block(uk) / sizeof(float));
    int64_t kmax = uk->kc_max;
    if (npad * uk->kc_max > budget && npad * 128 <= budget) kmax = budget / npad;
    *kc = kc_fixed > 0 ? kc_fixed : cpu_ceil_div(k, cpu_ceil_div(k, kmax));
    int64_t cols = budget / *kc / uk->nr * uk->nr;
    if (cols < uk->nr) cols = uk->nr;
    const int64_t nblocks = cpu_ceil_div(npad, cols);
    *nc = cpu_ceil_div(cpu_ceil_div(npad, nblocks), uk->nr) * uk->nr;
}

int64_t cpu_sgemm_kc_deep(const struct cpu_ukernel *uk, int64_t k)
{
    const int64_t kmax = (int64_t)(cpu_sgemm_l2_block(uk) / sizeof(float)) / uk->nr;
    return cpu_ceil_div(k, cpu_ceil_div(k, kmax < uk->kc_max ? uk->kc_max : kmax));
}

int64_t cpu_sgemm_nc(const struct cpu_ukernel *uk, int64_t n, int64_t k, int64_t kc_fixed)
{
    int64_t kc, nc;
    blocking(uk, n, k, kc_fixed, &kc, &nc);
    return nc;
}

int64_t cpu_sgemm_kc(const struct cpu_ukernel *uk, int64_t n, int64_t k)
{
    int64_t kc, nc;
    blocking(uk, n, k, 0, &kc, &nc);
    return kc;
}

/* Vector columns a thread computes, most loaded thread first: the columns
 * split tn ways in whole panels (the edge panel counted in 16-lane
 * vectors, what it really costs). */
static int64_t column_load(int64_t n, int nr, int tn)
{
    const int64_t npn = cpu_ceil_div(n, nr);
    int64_t worst = 0;
    for (int i = 0; i < tn; i++) {
        int64_t q0 = npn * i / tn, q1 = npn * (i + 1) / tn;
        int64_t cols = cpu_imin(q1 * nr, n) - q0 * nr;
        if (cols < 0) cols = 0;
        int64_t vec = cpu_ceil_div(cols, 16);
        if (vec > worst) worst = vec;
    }
    return worst;
}

/* How a product splits over nthreads: the task grid. */
struct sgemm_split {
    int tm, tn;
};

static void split_plan(const struct cpu_ukernel *uk, int64_t m, int64_t n, int64_t k, int pack_cost,
                       bool rows_local, int nthreads, struct sgemm_split *sp)
{
    *sp = (struct sgemm_split){ .tm = 1, .tn = 1 };
    if (nthreads <= 1) return;
    /* Split the columns unless splitting the rows leaves the busiest thread
     * less to do: its multiply-adds, in register tiles, and for a run-time
     * B its packing (each thread packs the columns it reads, all of them
     * when the rows split). A vector of B packed costs about 3 cycles as a
     * plain copy and 12-16 through an im2col gather (measured in squeezenet
     * and regnet), 6 and 24 vector multiply-adds' time. */
    const int64_t npm = cpu_ceil_div(m, uk->mr), nvec = cpu_ceil_div(n, 16);
    int64_t by_cols = column_load(n, uk->nr, nthreads) * npm * uk->mr;
    int64_t by_rows = cpu_ceil_div(npm, nthreads) * nvec * uk->mr;
    by_cols += pack_cost * cpu_ceil_div(nvec, nthreads);
    by_rows += pack_cost * nvec;
    /* Rows split, a B packed at run time is packed whole by every thread
     * rather than once by all of them into shared scratch: read back, the
     * other thread's half of a shared B would come from the other core,
     * which costs more on this hardware than packing it again (measured:
     * squeezenet's 13x13 layers and regnet's 14x14 ones 25-30% faster).
     *
     * A thread that computes whole output channels leaves them in its cache
     * for a reader that splits them alike (rows_local: a depthwise or grouped
     * convolution), and so does an expansion (more rows than depth: MobileNet
     * 1x1 layers before their depthwise one): data written by the other core
     * reads at half the speed or worse, so the rows split there even at up
     * to 5% more work. */
    const bool rows_first = rows_local || (pack_cost > 0 && m > k);
    if (rows_first ? by_rows * 20 <= by_cols * 21 : by_rows < by_cols)
        sp->tm = nthreads;
    else
        sp->tn = nthreads;
}

size_t cpu_sgemm_task_scratch(const struct cpu_ukernel *uk, int64_t n, int64_t k)
{
    if (n <= 0 || k <= 0) return 0;
    int64_t kc, nc;
    blocking(uk, n, k, 0, &kc, &nc);
    /* The largest block any product of up to n columns at this depth
     * packs: a narrower one may take its columns in one block wider than
     * each of n's (n split in two blocks of nc, n' < n in one of up to
     * the budget's columns). */
    const int64_t npad = cpu_ceil_div(n, uk->nr) * uk->nr;
    int64_t cols = (int64_t)(cpu_sgemm_l2_block(uk) / sizeof(float)) / kc / uk->nr * uk->nr;
    if (cols < uk->nr) cols = uk->nr;
    return (size_t)(kc * cpu_imin(cols, npad)) * sizeof(float);
}

int cpu_sgemm_threads(int64_t m, int64_t n, int64_t k, int max)
{
    /* Within a run a helper spins for the next job (cpu_pool.h), so a
     * hand-off and join cost about a microsecond: a share of under ~1 MFLOP
     * (5 us at 200 GFLOP/s) is done sooner by fewer threads. */
    double flops = 2.0 * (double)m * (double)n * (double)k;
    int t = (int)(flops / 1e6);
    if (t < 1) t = 1;
    return t < max ? t : max;
}

struct sgemm_job {
    const struct cpu_sgemm *g;
    int64_t kc, nc;
    int tm, tn; /* the task grid: rows split tm ways, columns tn ways */
};

static void sgemm_range(const struct cpu_sgemm *g, int64_t kc, int64_t nc, int64_t p0, int64_t p1,
                        int64_t q0, int64_t q1, float *buf)
{
    const struct cpu_ukernel *uk = g->uk;
    const int mr = uk->mr, nr = uk->nr;
    const int64_t n_end = cpu_imin(q1 * nr, g->n);
    const int64_t mpad = cpu_ceil_div(g->m, mr) * mr, npad = cpu_ceil_div(g->n, nr) * nr;
    struct cpu_tile t = { .ldc = g->ldc, .act = &g->act };
    /* Blocks of (columns, depth), in the order the product asks: the
     * columns outer (a B block swept by every row panel before the next
     * one's), or the depth outer (k_outer) */
    const int64_t jstart = q0 * nr;
    const int64_t njb = n_end > jstart ? cpu_ceil_div(n_end - jstart, nc) : 0;
    const int64_t kblocks = cpu_ceil_div(g->k, kc), nblocks = njb * kblocks;
    for (int64_t bi = 0; bi < nblocks; bi++) {
        const int64_t jb = g->k_outer ? bi % njb : bi / kblocks;
        const int64_t kbi = g->k_outer ? bi / njb : bi % kblocks;
        const int64_t j0 = jstart + jb * nc, k0 = kbi * kc;
        const int64_t nj = cpu_imin(nc, n_end - j0);
        const int64_t kb = cpu_imin(kc, g->k - k0);
        const float *bb;
        int64_t bstride; /* floats between B panels */
        if (g->b && g->ldb) {
            bb = g->b + k0 * g->ldb + j0;
            bstride = nr;
            t.ldb = g->ldb;
        } else if (g->b) {
            bb = g->b + k0 * npad + (j0 / nr) * kb * nr;
            bstride = kb * nr;
            t.ldb = nr;
        } else {
            g->pack_b(g->pack_src, k0, kb, j0, nj, nr, buf);
            bb = buf;
            bstride = kb * nr;
            t.ldb = nr;
        }
        t.flags =
            (k0 > 0 || g->accumulate ? CPU_TILE_ACC : 0) | (k0 + kb >= g->k ? CPU_TILE_LAST : 0);
        /* A packed B block comes from memory once, while the first row
         * panel sweeps it: the other panels' tiles prefetch the next
         * block, a slice each. */
        const char *bnext = NULL;
        int64_t bslice = 0;
        if (g->b && !g->ldb && bi + 1 < nblocks) {
            const int64_t b1 = bi + 1;
            const int64_t nj0 = jstart + (g->k_outer ? b1 % njb : b1 / kblocks) * nc;
            const int64_t nk0 = (g->k_outer ? b1 / njb : b1 % kblocks) * kc;
            const int64_t nkb = cpu_imin(kc, g->k - nk0);
            int64_t ntiles = (p1 - p0 - 1) * ((nj + nr - 1) / nr);
            int64_t lines = (cpu_imin(nc, n_end - nj0) + nr - 1) / nr * nkb * nr / 16;
            bnext = (const char *)(g->b + nk0 * npad + (nj0 / nr) * nkb * nr);
            bslice = ntiles > 0 ? (lines + ntiles - 1) / ntiles : 0;
        }
        int64_t tile_index = 0;
        for (int64_t p = p0; p < p1; p++) {
            const int64_t i0 = p * mr;
            const float *ap = g->a_off
                                  ? g->a + (p / g->a_per_row) * g->a_row + (p % g->a_per_row) * mr
                                  : g->a + k0 * mpad + p * kb * mr;
            t.mr = (int)cpu_imin(mr, g->m - i0);
            t.bias_row = g->bias_row ? g->bias_row + i0 : NULL;
            t.ldres = g->ldres;
            for (int64_t jj = 0; jj < nj; jj += nr) {
                t.c = g->c + i0 * g->ldc + j0 + jj;
                t.nr = (int)cpu_imin(nr, nj - jj);
                t.bias_col = g->bias_col ? g->bias_col + j0 + jj : NULL;
                if (g->ct) {
                    const bool last = t.flags & CPU_TILE_LAST;
                    t.ct = last ? g->ct + (j0 + jj) * g->ldct + i0 : NULL;
                    t.ldct = g->ldct;
                    t.res = last && g->res ? g->res + (j0 + jj) * g->ldres + i0 : NULL;
                } else
                    t.res = g->res ? g->res + i0 * g->ldres + j0 + jj : NULL;
                if (jj == 0 && p + 1 < p1 && !g->a_off) {
                    /* the next A panel's block, while this one sweeps */
                    t.pf = (const char *)(ap + kb * mr);
                    t.pf_lines = kb * mr / 16;
                } else if (bnext && p > p0) {
                    t.pf = bnext + 64 * bslice * tile_index++;
                    t.pf_lines = bslice;
                } else {
                    t.pf_lines = 0;
                }
                const float *bp = bb + (jj / nr) * bstride;
                if (g->a_off)
                    uk->tile_ind(kb, ap, g->a_off + k0, bp, &t);
                else
                    uk->tile(kb, ap, bp, &t);
            }
        }
    }
}

static void sgemm_task(void *arg, int task, int ntasks)
{
    const struct sgemm_job *job = arg;
    const struct cpu_sgemm *g = job->g;
    const int64_t npm = cpu_ceil_div(g->m, g->uk->mr), npn = cpu_ceil_div(g->n, g->uk->nr);
    const int im = task / job->tn, in = task % job->tn;
    (void)ntasks;
    float *blocks =
        g->task_scratch ? (float *)(g->task_scratch + (size_t)task * g->task_stride) : NULL;
    sgemm_range(g, job->kc, job->nc, npm * im / job->tm, npm * (im + 1) / job->tm,
                npn * in / job->tn, npn * (in + 1) / job->tn, blocks);
}

struct pack_job {
    cpu_pack_fn fn;
    const void *src;
    int64_t k, n, kc;
    int w;
    float *dst;
};

/* Task i packs its share of the panels, at every k block. */
static void pack_task(void *arg, int task, int ntasks)
{
    const struct pack_job *j = arg;
    const int64_t np = cpu_ceil_div(j->n, j->w), npad = np * j->w;
    const int64_t q0 = np * task / ntasks, q1 = np * (task + 1) / ntasks;
    if (q1 <= q0) return;
    const int64_t j0 = q0 * j->w, nj = cpu_imin(q1 * j->w, j->n) - j0;
    for (int64_t k0 = 0; k0 < j->k; k0 += j->kc) {
        const int64_t kb = cpu_imin(j->kc, j->k - k0);
        j->fn(j->src, k0, kb, j0, nj, j->w, j->dst + k0 * npad + q0 * kb * j->w);
    }
}

void cpu_pack_blocked_mt(struct cpu_pool *pool, int nthreads, cpu_pack_fn fn, const void *src,
                         int64_t k, int64_t n, int w, int64_t kc, float *dst)
{
    struct pack_job j = { fn, src, k, n, kc, w, dst };
    const int64_t np = cpu_ceil_div(n, w);
    cpu_pool_run(pool, pack_task, &j, (int)cpu_imin(nthreads, np));
}

bool cpu_sgemm_packed_splits_rows(const struct cpu_ukernel *uk, int64_t m, int64_t n, int64_t k,
                                  int nthreads)
{
    struct sgemm_split sp;
    split_plan(uk, m, n, k, 0, false, nthreads, &sp);
    return sp.tm > 1;
}

void cpu_sgemm_run(const struct cpu_sgemm *g, struct cpu_pool *pool, int nthreads)
{
    if (g->m <= 0 || g->n <= 0) return;
    struct sgemm_job job = { .g = g };
    blocking(g->uk, g->n, g->k, g->kc, &job.kc, &job.nc);
    struct sgemm_split sp;
    const int pack_cost = g->b ? 0 : g->pack_b == g->uk->pack_kn ? 6 : 24;
    split_plan(g->uk, g->m, g->n, g->k, pack_cost, g->rows_local, nthreads, &sp);
    job.tm = sp.tm;
    job.tn = sp.tn;
    cpu_pool_run(pool, sgemm_task, &job, job.tm * job.tn);
}

void cpu_sgemm_run1(const struct cpu_sgemm *g, float *scratch)
{
    if (g->m <= 0 || g->n <= 0) return;
    int64_t kc, nc;
    blocking(g->uk, g->n, g->k, g->kc, &kc, &nc);
    sgemm_range(g, kc, nc, 0, cpu_ceil_div(g->m, g->uk->mr), 0, cpu_ceil_div(g->n, g->uk->nr),
                scratch);
}
