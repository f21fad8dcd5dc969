/* Winograd F(4x4, 3x3) convolution (cpu_winograd.h): the weight transform,
 * the run (input transform, 36 GEMMs, output transform, each phase split
 * over the instance's threads), the choice against the direct GEMM, and the
 * portable transforms. */
#include "cpu_winograd.h"

#include "cpu_eltwise.h"

#include "cpu.h"
#include "cpu_sgemm.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WINO_FN(name) name##_generic
void cpu_wino_input_generic(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                            const float *x, float *v, size_t vs, float *tmp);
void cpu_wino_output_generic(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1,
                             const float *m, size_t ms, float *y, float bias, const float *res,
                             const struct ir_act *act);
#define WINO_VEC cpu_vec_generic
#include "cpu_winograd_impl.h"

void cpu_wino_weights_generic(const float *w9, int64_t kb, int mr, float *u, size_t us);
#include "cpu_winograd_u_impl.h"

const struct cpu_wino_fns cpu_wino_generic = { cpu_wino_input_generic, cpu_wino_output_generic,
                                               cpu_wino_weights_generic };

size_t cpu_wino_tmp_floats(const struct cpu_wino_plane *p)
{
    return (size_t)(6 * cpu_wino_row_width(p));
}

static const struct cpu_wino_fns *wino_fns(int isa)
{
#if defined(__x86_64__)
    if (isa >= CPU_ISA_AVX512) return &cpu_wino_avx512;
    if (isa >= CPU_ISA_AVX2) return &cpu_wino_avx2;
#else
    (void)isa;
#endif
    return &cpu_wino_generic;
}

bool cpu_winograd_fits(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                       int64_t group)
{
    return kh == 3 && kw == 3 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && group == 1;
}

struct wino_kernel {
    struct cpu_wino_conv cv;
    const struct cpu_ukernel *uk;
    const struct cpu_wino_fns *fns;
    float *u; /* 36 packed A operands, u_size floats each; or NULL (lazy) */
    /* lazy: U is transformed at run time from w9, the taps in panels of mr
     * output channels and pairs of input channels (cpu_wino_fns.weights) */
    float *w9;
    bool lazy;
    size_t u_size;
    int64_t kc;          /* U's k blocks (cpu_sgemm_kc over all tiles) */
    int64_t tpad;        /* tiles rounded up to whole vectors (wino_buf) */
    size_t v_off, m_off; /* shared scratch layout, floats */
    int64_t chunk_rows;  /* bands: tile rows a band runs at a time */
    int64_t band_tpad;   /* bands: tiles of a chunk, rounded up */
    size_t band_size;    /* bands: floats of scratch each */
    int threads;
    bool bands; /* threads take bands of tile rows through all phases */
};

static void wino_kernel_free(void *p)
{
    struct wino_kernel *k = p;
    if (!k) return;
    ir_free(k->u);
    ir_free(k->w9);
    free(k);
}

/* --- weights: U = G g G^T, in double ------------------------------------ */

static const double wino_g[6][3] = {
    { 1.0 / 4, 0, 0 },
    { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
    { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
    { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
    { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
    { 0, 0, 1 },
};

/* Lazy: only the taps, regrouped into panels of mr output channels (zero
 * past the last) and pairs of input channels (fns->weights), for the
 * transform before each product. */
static int wino_weights_lazy(struct wino_kernel *k, const float *w)
{
    const int64_t mo = k->cv.m, ci = k->cv.c, mr = k->uk->mr;
    const int64_t panels = cpu_ceil_div(mo, mr), cpad = ci + (ci & 1);
    k->w9 = ir_alloc(sizeof(float) * (size_t)(panels * mr * cpad * 9));
    if (!k->w9) return -ENOMEM;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t c = 0; c < cpad; c++)
            for (int t = 0; t < 9; t++)
                for (int64_t i = 0; i < mr; i++) {
                    const int64_t o = p * mr + i;
                    const size_t at =
                        (size_t)((((p * cpad + (c & ~1)) * 9 + 2 * t) * mr) + (c & 1) * mr + i);
                    k->w9[at] = o < mo && c < ci ? w[(o * ci + c) * 9 + t] : 0;
                }
    /* k blocks start at even channels, a pair's first */
    k->kc = cpu_sgemm_kc(k->uk, k->cv.plane.th * k->cv.plane.tw, ci);
    if (k->kc < ci && (k->kc & 1)) k->kc++;
    return 0;
}

static int wino_weights(struct wino_kernel *k, const float *w)
{
    if (k->lazy) return wino_weights_lazy(k, w);
    const int64_t mo = k->cv.m, ci = k->cv.c;
    float *t = malloc(sizeof(float) * 36 * (size_t)(mo * ci));
    if (!t) return -ENOMEM;
    /* t[xi][o][c], then each xi's [o][c] matrix packed into A panels */
    for (int64_t o = 0; o < mo; o++) {
        for (int64_t c = 0; c < ci; c++) {
            const float *g = w + (o * ci + c) * 9;
            double gg[6][3];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 3; j++)
                    gg[i][j] = wino_g[i][0] * g[0 * 3 + j] + wino_g[i][1] * g[1 * 3 + j] +
                               wino_g[i][2] * g[2 * 3 + j];
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    double u =
                        gg[i][0] * wino_g[j][0] + gg[i][1] * wino_g[j][1] + gg[i][2] * wino_g[j][2];
                    t[((size_t)(i * 6 + j) * (size_t)mo + (size_t)o) * (size_t)ci + (size_t)c] =
                        (float)u;
                }
        }
    }
    k->u_size = cpu_pack_size(ci, mo, k->uk->mr);
    k->u = ir_alloc(sizeof(float) * 36 * k->u_size);
    if (!k->u) {
        free(t);
        return -ENOMEM;
    }
    const int64_t tiles = k->cv.plane.th * k->cv.plane.tw;
    const int64_t kc = k->kc = cpu_sgemm_kc(k->uk, tiles, ci);
    for (int xi = 0; xi < 36; xi++) {
        struct cpu_pack_mat mat = { t + (size_t)xi * (size_t)(mo * ci), ci, 1.0f };
        cpu_pack_blocked(cpu_pack_nk, &mat, ci, mo, k->uk->mr, kc, k->u + (size_t)xi * k->u_size);
    }
    free(t);
    return 0;
}

/* --- run ---------------------------------------------------------------- */

struct wino_job {
    const struct wino_kernel *k;
    const float *x;
    float *y;
    const float *bias;
    const float *res; /* a fused residual, laid out as y; or NULL */
    const struct ir_act *act;
    float *scratch;              /* shared: V and M of the whole plane */
    const struct cpu_exec *exec; /* the tasks' own buffers */
};

/* Where V and M live for a set of tile rows: rows of tpad floats (its
 * tiles rounded up to whole vectors) for each channel and xi, V's (c, xi)
 * at v + c * v_c + xi * v_xi, M's (o, xi) at m + o * m_m + xi * m_xi. */
struct wino_buf {
    float *v, *m;
    size_t v_c, v_xi, m_m, m_xi;
    int64_t ty0, ty1, tiles, tpad;
};

static void wino_buf_layout(struct wino_buf *b, int64_t c, int64_t mo, int64_t ty0, int64_t ty1,
                            int64_t tw, int64_t tpad)
{
    b->ty0 = ty0;
    b->ty1 = ty1;
    b->tiles = (ty1 - ty0) * tw;
    b->tpad = tpad;
    const size_t tp = (size_t)tpad;
    if (tpad >= 32) {
        /* many tiles: a channel's 36 rows together, so each transform
         * touches one block */
        b->v_c = b->m_m = 36 * tp;
        b->v_xi = b->m_xi = tp;
    } else {
        /* few: each xi's matrix together, so its product's B rows (not a
         * cache line each) lie close; a cache line between the matrices, so
         * that the transforms' 36 streams are not 2^n bytes apart (all in
         * one L1 set: measured 2 times slower) */
        b->v_c = b->m_m = tp;
        b->v_xi = (size_t)c * tp + 16;
        b->m_xi = (size_t)mo * tp + 16;
    }
}

/* Floats of V (rows = c) or M (rows = mo) in wino_buf_layout's layout. */
static size_t wino_buf_floats(int64_t rows, int64_t tpad)
{
    return 36 * ((size_t)rows * (size_t)tpad + (tpad >= 32 ? 0 : 16));
}

static void wino_input_channel(const struct wino_job *j, const struct wino_buf *b, int64_t c,
                               float *tmp)
{
    const struct wino_kernel *k = j->k;
    const struct cpu_wino_plane *p = &k->cv.plane;
    float *vc = b->v + (size_t)c * b->v_c;
    k->fns->input(p, b->ty0, b->ty1, j->x + c * p->h * p->w, vc, b->v_xi, tmp);
    /* columns past the last tile feed only discarded outputs; keep them
     * finite so they cost nothing */
    if (b->tpad > b->tiles)
        for (int xi = 0; xi < 36; xi++)
            memset(vc + (size_t)xi * b->v_xi + b->tiles, 0,
                   sizeof(float) * (size_t)(b->tpad - b->tiles));
}

static void wino_gemm(const struct wino_job *j, const struct wino_buf *b, int xi)
{
    const struct wino_kernel *k = j->k;
    struct cpu_sgemm gm = {
        .kc = k->kc,
        .uk = k->uk,
        .m = k->cv.m,
        .n = b->tiles,
        .k = k->cv.c,
        .a = k->u + (size_t)xi * k->u_size,
        .b = b->v + (size_t)xi * b->v_xi,
        .ldb = (int64_t)b->v_c,
        .c = b->m + (size_t)xi * b->m_xi,
        .ldc = (int64_t)b->m_m,
    };
    cpu_sgemm_run1(&gm, NULL);
}

static void wino_output_channel(const struct wino_job *j, const struct wino_buf *b, int64_t o)
{
    const struct wino_kernel *k = j->k;
    const struct cpu_wino_plane *p = &k->cv.plane;
    k->fns->output(p, b->ty0, b->ty1, b->m + (size_t)o * b->m_m, b->m_xi, j->y + o * p->oh * p->ow,
                   j->bias ? j->bias[o] : 0.0f, j->res ? j->res + o * p->oh * p->ow : NULL, j->act);
}

/* The whole plane in one buffer, the phases split between the threads:
 * channels, then the 36 products, then output channels (a hand-off each). */
static void wino_whole(const struct wino_job *j, struct wino_buf *b)
{
    const struct wino_kernel *k = j->k;
    wino_buf_layout(b, k->cv.c, k->cv.m, 0, k->cv.plane.th, k->cv.plane.tw, k->tpad);
    b->v = j->scratch + k->v_off;
    b->m = j->scratch + k->m_off;
}

static void wino_input_task(void *arg, int task, int ntasks)
{
    const struct wino_job *j = arg;
    struct wino_buf b;
    wino_whole(j, &b);
    const int64_t c0 = j->k->cv.c * task / ntasks, c1 = j->k->cv.c * (task + 1) / ntasks;
    float *tmp = cpu_exec_task_scratch(j->exec, task);
    for (int64_t c = c0; c < c1; c++) wino_input_channel(j, &b, c, tmp);
}

/* Floats from one of a lazy layer's U panels to the next: a whole k block
 * and a cache line more, so that the 36 panels the transform writes side by
 * side do not all fall into the same L1 set (at 2^n bytes apart they would,
 * and 36 streams thrash a 12-way set: measured 3 times slower). */
static size_t wino_u_stride(const struct wino_kernel *k)
{
    return (size_t)(k->kc * k->uk->mr) + 16;
}

/* Lazy: the products of output-channel panels [p0, p1): for each panel and
 * k block, U's 36 A panels are transformed into u (36 * wino_u_stride
 * floats of the task's own), then run against every xi's tiles. */
static void wino_gemm_lazy(const struct wino_job *j, const struct wino_buf *b, int64_t p0,
                           int64_t p1, float *u)
{
    static const struct ir_act none = { .kind = IR_ACT_NONE };
    const struct wino_kernel *k = j->k;
    const struct cpu_ukernel *uk = k->uk;
    const int64_t mr = uk->mr, nr = uk->nr, ci = k->cv.c, mo = k->cv.m;
    const size_t us = wino_u_stride(k);
    const int64_t cpad = ci + (ci & 1);
    /* the taps come from memory: the products of one block ask for the
     * next block's, a slice each (cpu_tile.pf) */
    const int64_t calls = 36 * cpu_ceil_div(b->tiles, nr);
    for (int64_t p = p0; p < p1; p++) {
        for (int64_t k0 = 0; k0 < ci; k0 += k->kc) {
            const int64_t kb = cpu_imin(k->kc, ci - k0);
            const float *w9 = k->w9 + (size_t)((p * cpad + k0) * 9 * mr);
            k->fns->weights(w9, kb, (int)mr, u, us);
            const int64_t nk0 = k0 + k->kc < ci ? k0 + k->kc : 0, np = nk0 ? p : p + 1;
            const int64_t nkb = cpu_imin(k->kc, ci - nk0);
            const char *next =
                np < p1 ? (const char *)(k->w9 + (size_t)((np * cpad + nk0) * 9 * mr)) : NULL;
            const int64_t slice = cpu_ceil_div((nkb + 1) / 2 * 2 * 9 * mr / 16, calls);
            int64_t call = 0;
            for (int xi = 0; xi < 36; xi++) {
                for (int64_t q = 0; q < b->tiles; q += nr, call++) {
                    const struct cpu_tile t = {
                        .c = b->m + (size_t)xi * b->m_xi + (size_t)(p * mr) * b->m_m + q,
                        .ldc = (int64_t)b->m_m,
                        .ldb = (int64_t)b->v_c,
                        .mr = (int)cpu_imin(mr, mo - p * mr),
                        .nr = (int)cpu_imin(nr, b->tiles - q),
                        .flags = k0 > 0 ? CPU_TILE_ACC : 0,
                        .act = &none,
                        .pf = next ? next + 64 * slice * call : NULL,
                        .pf_lines = next ? slice : 0,
                    };
                    uk->tile(kb, u + (size_t)xi * us,
                             b->v + (size_t)xi * b->v_xi + (size_t)k0 * b->v_c + q, &t);
                }
            }
        }
    }
}

static void wino_gemm_task(void *arg, int task, int ntasks)
{
    const struct wino_job *j = arg;
    struct wino_buf b;
    wino_whole(j, &b);
    if (j->k->lazy) {
        /* the tasks split the panels of output channels */
        const int64_t panels = cpu_ceil_div(j->k->cv.m, j->k->uk->mr);
        wino_gemm_lazy(j, &b, panels * task / ntasks, panels * (task + 1) / ntasks,
                       cpu_exec_task_scratch(j->exec, task));
        return;
    }
    const int x0 = 36 * task / ntasks, x1 = 36 * (task + 1) / ntasks;
    for (int xi = x0; xi < x1; xi++) wino_gemm(j, &b, xi);
}

static void wino_output_task(void *arg, int task, int ntasks)
{
    const struct wino_job *j = arg;
    struct wino_buf b;
    wino_whole(j, &b);
    const int64_t m0 = j->k->cv.m * task / ntasks, m1 = j->k->cv.m * (task + 1) / ntasks;
    for (int64_t o = m0; o < m1; o++) wino_output_channel(j, &b, o);
}

/* A band of tile rows per thread, through all three phases in a buffer of
 * its own: one hand-off, and no cache line of V or M shared between threads.
 * The band goes in chunks of chunk_rows tile rows, so that a chunk's V and
 * M stay in L2 from the transform that writes them to the one that reads
 * them. */
static void wino_band_task(void *arg, int task, int ntasks)
{
    const struct wino_job *j = arg;
    const struct wino_kernel *k = j->k;
    const struct cpu_wino_plane *p = &k->cv.plane;
    const int64_t ty0 = p->th * task / ntasks, ty1 = p->th * (task + 1) / ntasks;
    float *base = cpu_exec_task_scratch(j->exec, task);
    for (int64_t cy = ty0; cy < ty1; cy += k->chunk_rows) {
        const int64_t cy1 = cy + k->chunk_rows < ty1 ? cy + k->chunk_rows : ty1;
        struct wino_buf b;
        wino_buf_layout(&b, k->cv.c, k->cv.m, cy, cy1, p->tw, k->band_tpad);
        b.v = base;
        b.m = base + wino_buf_floats(k->cv.c, k->band_tpad);
        float *tmp = b.m + wino_buf_floats(k->cv.m, k->band_tpad);
        for (int64_t c = 0; c < k->cv.c; c++) wino_input_channel(j, &b, c, tmp);
        if (k->lazy) /* U where the input transform's rows were */
            wino_gemm_lazy(j, &b, 0, cpu_ceil_div(k->cv.m, k->uk->mr), tmp);
        else
            for (int xi = 0; xi < 36; xi++) wino_gemm(j, &b, xi);
        for (int64_t o = 0; o < k->cv.m; o++) wino_output_channel(j, &b, o);
    }
}

static int wino_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct wino_kernel *k = s->kdata;
    const struct cpu_wino_plane *p = &k->cv.plane;
    const float *in = x->ptr[s->in[0]];
    float *out = x->ptr[s->out[0]];
    (void)m;
    struct wino_job j = {
        .k = k,
        .bias = s->nin > 2 && s->in[2] >= 0 ? x->ptr[s->in[2]] : NULL,
        .act = &s->act,
        .scratch = x->scratch,
        .exec = x,
    };
    const float *res = s->act.sum > 0 ? x->ptr[s->in[s->act.sum]] : NULL;
    for (int64_t b = 0; b < k->cv.n; b++) {
        j.x = in + b * k->cv.c * p->h * p->w;
        j.y = out + b * k->cv.m * p->oh * p->ow;
        j.res = res ? res + b * k->cv.m * p->oh * p->ow : NULL;
        if (k->bands) {
            cpu_pool_run(x->pool, wino_band_task, &j, k->threads);
        } else {
            cpu_pool_run(x->pool, wino_input_task, &j, k->threads);
            cpu_pool_run(x->pool, wino_gemm_task, &j, k->threads);
            cpu_pool_run(x->pool, wino_output_task, &j, k->threads);
        }
    }
    return 0;
}

/* --- choice and prepare ------------------------------------------------- */

/* The run-time weight transform (lazy), in multiply-adds' time per channel
 * pair: about 10 vector operations of 16 lanes, and the taps' first read. */
#define WINO_U_TRANSFORM 200.0
/* Phases instead of bands at 2 threads or more: about 7 us, in
 * multiply-adds' time at ~90 G a second (per thread, like the rest). At 40
 * us squeezenet's 13x13 64 -> 256 layers stayed direct at 2 threads, 0.206
 * ms against 0.143-0.147 in phases; at 20 us its 48 -> 192 layers did,
 * 0.100 ms against 0.076 in phases. googlenet's 14x14 32 -> 128 layer,
 * next in line, stays direct (1.06 times slower in phases); those
 * squeezenet layers are the only ones in the zoo that change. */
#define WINO_PHASES 0.6e6

static double fill(int64_t n, int64_t u)
{
    return (double)n / (double)(((n + u - 1) / u) * u);
}

/* How a layer runs: bands of tile rows per thread, in chunks, or the whole
 * plane phase by phase; and whether U is transformed at run time. */
struct wino_plan {
    bool bands, lazy;
    int threads;
    int64_t band_rows, chunk_rows;
};

static struct wino_plan wino_plan_make(const struct cpu_model *m, const struct cpu_wino_conv *cv)
{
    const struct cpu_wino_plane *p = &cv->plane;
    const int64_t tiles = p->th * p->tw;
    const double flops = 2.0 * 36.0 * (double)(cv->m * cv->c * tiles);
    struct wino_plan pl = { 0 };
    /* Bands of tile rows when each thread gets 16 tiles or more (a product
     * over fewer leaves vector lanes idle): one hand-off to the helpers per
     * run, and each thread reads and writes the rows of the plane that a
     * layer split by pixels (cpu_sgemm's columns) has in its cache. Else the
     * three phases split by channels and products (cpu_sgemm_threads), with
     * a hand-off each, each reading what the other core wrote. At 2 threads,
     * resnet18's 28x28 layers (49 tiles, 128 + 128 channels) took 0.42-0.47
     * ms in bands, each thread transforming all of U (lazy), against
     * 0.56-0.58 in phases; with U stored and read from memory by both
     * threads, bands had been 4% slower there. */
    const int t = m->be->threads;
    pl.band_rows = (p->th + t - 1) / t;
    pl.bands = tiles / t >= 16 && (t == 1 || flops > 1e6);
    pl.threads = pl.bands || flops > 3e6 ? t : 1;
    if (pl.bands) {
        /* a band runs in chunks of tile rows whose V and M fit half of L2,
         * but of 32 tiles at least */
        const int64_t row_bytes = 36 * (cv->c + cv->m) * p->tw * (int64_t)sizeof(float);
        int64_t rows = (int64_t)(cpu_cache_l2_bytes() / 2) / row_bytes;
        const int64_t min_rows = (32 + p->tw - 1) / p->tw;
        if (rows < min_rows) rows = min_rows;
        if (rows > pl.band_rows) rows = pl.band_rows;
        /* equal chunks: 7 rows run as 4 + 3, not 6 + 1 */
        const int64_t nchunks = (pl.band_rows + rows - 1) / rows;
        pl.chunk_rows = (pl.band_rows + nchunks - 1) / nchunks;
    }
    /* Where each thread runs its products once (the whole plane, or a band
     * in one chunk), U is transformed just before them instead of read, 4
     * times the taps' size, from memory (cpu_winograd_u_impl.h). */
    pl.lazy = (!pl.bands || pl.chunk_rows == pl.band_rows) && cpu_ukernel_get(m->be->isa)->mr <= 8;
    return pl;
}

/* Winograd's estimated time relative to the direct product's. */
static double wino_gain(const struct cpu_model *m, const struct cpu_wino_conv *cv)
{
    const struct cpu_ukernel *uk = cpu_ukernel_get(m->be->isa);
    const struct cpu_wino_plane *p = &cv->plane;
    const struct wino_plan pl = wino_plan_make(m, cv);
    const double plane = (double)(p->oh * p->ow), tiles = (double)(p->th * p->tw);
    const double mc = (double)cv->m * (double)cv->c;
    /* Multiply-adds as the kernels run them, edges of the register tiles
     * included, the better of the two orientations for the direct product. */
    double fm = fill(cv->m, uk->mr), fp = fill(p->oh * p->ow, 16);
    double ft = fill(p->oh * p->ow, uk->mr) * fill(cv->m, 16);
    double direct = 9.0 * mc * plane / (fm * fp > ft ? fm * fp : ft);
    /* Winograd: 36 products over the tiles, plus the transforms at about
     * 720 multiply-adds' time per tile and channel (measured on AVX-512 and
     * AVX2 at 56x56 and 28x28). */
    double wino = 36.0 * mc * tiles / (fm * fill(p->th * p->tw, 16));
    wino += 720.0 * tiles * (double)(cv->c + cv->m);
    /* Both stream their weights from memory once per run (a model's weights
     * seldom fit the last-level cache): 4 multiply-adds' time per byte at
     * the ~25 GB/s one core reads. Stored, U is 4 times the taps, and
     * products of a single vector of tiles wait on it (measured: about 1.6
     * times slower). Lazy, each thread that runs all the products (bands)
     * transforms all of U. */
    direct += 4.0 * 4.0 * 9.0 * mc;
    if (pl.lazy) {
        wino += 4.0 * 4.0 * 9.0 * mc + WINO_U_TRANSFORM * mc * (pl.bands ? pl.threads : 1);
    } else {
        if (p->th * p->tw <= 16) wino += 0.6 * 36.0 * mc * tiles / fm;
        wino += 4.0 * 4.0 * 36.0 * mc;
    }
    /* The whole plane on more than one thread runs in three phases, each
     * handing off and reading what the other core wrote: googlenet's 14x14
     * 24 -> 64 layer took 0.074-0.078 ms so at 2 threads, against 0.033 in
     * one band at 1 thread (0.033-0.040 direct at 2). */
    if (!pl.bands && pl.threads > 1) wino += WINO_PHASES * pl.threads;
    /* Each on the threads it would get: a small layer runs Winograd on one
     * thread (pl.threads) where the direct product may still split. */
    const int dt = cpu_sgemm_threads(cv->m, p->oh * p->ow, 9 * cv->c, m->be->threads);
    return (wino / pl.threads) / (direct / dt);
}

bool cpu_winograd_wins(const struct cpu_model *m, const struct cpu_wino_conv *cv)
{
    /* A clear gain only, the model being rough; clearer still where the
     * transformed weights are stored, 4 times the taps' memory. At 1 thread
     * the lazy layers between 0.7 and 0.8 (googlenet's 14x14 and 28x28
     * 3x3 layers of 16 to 32 input channels, squeezenet's 13x13 48 -> 192)
     * measured 10-40% faster than direct. */
    return wino_gain(m, cv) < (wino_plan_make(m, cv).lazy ? 0.8 : 0.7);
}

int cpu_winograd_prepare(struct cpu_model *m, struct cpu_step *s, const struct cpu_wino_conv *cv,
                         const float *w)
{
    struct wino_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = wino_kernel_free;
    k->cv = *cv;
    k->uk = cpu_ukernel_get(m->be->isa);
    k->fns = wino_fns(m->be->isa);
    const struct wino_plan pl = wino_plan_make(m, cv);
    k->bands = pl.bands;
    k->threads = pl.threads;
    k->chunk_rows = pl.chunk_rows;
    k->lazy = pl.lazy;
    k->cv.plane.out_shared = pl.threads > 1;
    int rc = wino_weights(k, w);
    if (rc < 0) return rc;
    const struct cpu_wino_plane *p = &cv->plane;
    const int64_t tiles = p->th * p->tw;
    k->tpad = (tiles + 15) / 16 * 16;
    const size_t tmp = (cpu_wino_tmp_floats(p) + 15) / 16 * 16;
    /* lazy: a task's U panels, for one panel of output channels */
    const size_t un = k->lazy ? 36 * wino_u_stride(k) : 0;
    size_t need = 0, task_need;
    if (k->bands) {
        k->band_tpad = (k->chunk_rows * p->tw + 15) / 16 * 16;
        k->band_size = wino_buf_floats(cv->c, k->band_tpad) + wino_buf_floats(cv->m, k->band_tpad);
        task_need = k->band_size + (tmp > un ? tmp : un);
    } else {
        k->v_off = 0;
        k->m_off = k->v_off + wino_buf_floats(cv->c, k->tpad);
        /* and a vector's slack: the output transform loads whole vectors
         * of a tile row's M, past the last tile of the last row */
        need = k->m_off + wino_buf_floats(cv->m, k->tpad) + 16;
        task_need = tmp > un ? tmp : un;
    }
    need *= sizeof(float);
    task_need *= sizeof(float);
    if (need > m->scratch_size) m->scratch_size = need;
    if (task_need > m->task_scratch_size) m->task_scratch_size = task_need;
    static const char *const names[3] = { "conv_winograd_generic", "conv_winograd_avx2",
                                          "conv_winograd_avx512" };
    s->kernel = names[k->uk->isa];
    s->run = wino_run;
    s->fuses_sum = true;
    return 1;
}
