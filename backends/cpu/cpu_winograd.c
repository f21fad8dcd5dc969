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

const struct cpu_wino_fns cpu_wino_generic = { cpu_wino_input_generic, cpu_wino_output_generic };

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
    float *u; /* 36 packed A operands, u_size floats each */
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

static int wino_weights(struct wino_kernel *k, const float *w)
{
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
         * cache line each) lie close */
        b->v_c = b->m_m = tp;
        b->v_xi = (size_t)c * tp;
        b->m_xi = (size_t)mo * tp;
    }
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

static void wino_gemm_task(void *arg, int task, int ntasks)
{
    const struct wino_job *j = arg;
    struct wino_buf b;
    wino_whole(j, &b);
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
        b.m = base + 36 * (size_t)k->cv.c * (size_t)k->band_tpad;
        float *tmp = b.m + 36 * (size_t)k->cv.m * (size_t)k->band_tpad;
        for (int64_t c = 0; c < k->cv.c; c++) wino_input_channel(j, &b, c, tmp);
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

static double fill(int64_t n, int64_t u)
{
    return (double)n / (double)(((n + u - 1) / u) * u);
}

double cpu_winograd_gain(const struct cpu_model *m, const struct cpu_wino_conv *cv)
{
    const struct cpu_ukernel *uk = cpu_ukernel_get(m->be->isa);
    const struct cpu_wino_plane *p = &cv->plane;
    const double plane = (double)(p->oh * p->ow), tiles = (double)(p->th * p->tw);
    const double mc = (double)cv->m * (double)cv->c;
    /* Multiply-adds as the kernels run them, edges of the register tiles
     * included, the better of the two orientations for the direct product. */
    double fm = fill(cv->m, uk->mr), fp = fill(p->oh * p->ow, 16);
    double ft = fill(p->oh * p->ow, uk->mr) * fill(cv->m, 16);
    double direct = 9.0 * mc * plane / (fm * fp > ft ? fm * fp : ft);
    /* Winograd: 36 products over the tiles, slower when a tile row is a
     * single vector (measured: about 1.6 times), plus the transforms at about
     * 720 multiply-adds' time per tile and channel (measured on AVX-512 and
     * AVX2 at 56x56 and 28x28). */
    double wino = 36.0 * mc * tiles / (fm * fill(p->th * p->tw, 16));
    if (p->th * p->tw <= 16) wino *= 1.6;
    wino += 720.0 * tiles * (double)(cv->c + cv->m);
    /* Both stream their weights from memory once per run (a model's weights
     * seldom fit the last-level cache): 4 multiply-adds' time per byte at
     * the ~25 GB/s one core reads, and Winograd's are 4 times larger. */
    direct += 4.0 * 4.0 * 9.0 * mc;
    wino += 4.0 * 4.0 * 36.0 * mc;
    return wino / direct;
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
    int rc = wino_weights(k, w);
    if (rc < 0) return rc;
    const struct cpu_wino_plane *p = &cv->plane;
    const int64_t tiles = p->th * p->tw;
    k->tpad = (tiles + 15) / 16 * 16;
    double flops = 2.0 * 36.0 * (double)(cv->m * cv->c * tiles);
    /* Bands of tile rows when each thread gets 32 tiles or more (a product
     * over fewer leaves vector lanes idle): one hand-off to the helpers per
     * run, and each thread reads and writes the rows of the plane that a
     * layer split by pixels (cpu_sgemm's columns) has in its cache. Else the
     * three phases split by channels and products (cpu_sgemm_threads), with
     * a hand-off each, each reading what the other core wrote. Down to 16
     * tiles a thread, bands still win where a thread's whole band fits L2:
     * squeezenet's 27x27 layers (49 tiles on 2 threads, 32 + 128 channels)
     * measured 12-23% faster, resnet18's 28x28 ones (128 + 128 channels, a
     * band of 1.2 MB) 4% slower. A band runs in chunks of tile rows whose V
     * and M fit half of L2, but of 32 tiles at least. */
    const int t = m->be->threads;
    const int64_t band_rows = (p->th + t - 1) / t;
    const double band_bytes = 36.0 * (double)(cv->c + cv->m) *
                              (double)((band_rows * p->tw + 15) / 16 * 16) * sizeof(float);
    k->bands =
        (tiles / t >= 32 || (tiles / t >= 16 && band_bytes <= (double)cpu_cache_l2_bytes())) &&
        (t == 1 || flops > 1e6);
    k->threads = k->bands || flops > 3e6 ? t : 1;
    if (k->bands) {
        const int64_t row_bytes = 36 * (cv->c + cv->m) * p->tw * (int64_t)sizeof(float);
        int64_t rows = (int64_t)(cpu_cache_l2_bytes() / 2) / row_bytes;
        const int64_t min_rows = (32 + p->tw - 1) / p->tw;
        if (rows < min_rows) rows = min_rows;
        if (rows > band_rows) rows = band_rows;
        /* equal chunks: 7 rows run as 4 + 3, not 6 + 1 */
        const int64_t nchunks = (band_rows + rows - 1) / rows;
        k->chunk_rows = (band_rows + nchunks - 1) / nchunks;
    }
    const size_t tmp = (cpu_wino_tmp_floats(p) + 15) / 16 * 16;
    size_t need = 0, task_need;
    if (k->bands) {
        k->band_tpad = (k->chunk_rows * p->tw + 15) / 16 * 16;
        k->band_size = 36 * (size_t)(cv->c + cv->m) * (size_t)k->band_tpad + tmp;
        task_need = k->band_size;
    } else {
        k->v_off = 0;
        k->m_off = k->v_off + 36 * (size_t)(cv->c * k->tpad);
        /* and a vector's slack: the output transform loads whole vectors
         * of a tile row's M, past the last tile of the last row */
        need = k->m_off + 36 * (size_t)(cv->m * k->tpad) + 16;
        task_need = tmp;
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
