/* Gemm and MatMul for the CPU backend on the packed GEMM (cpu_sgemm.h).
 *
 * A constant B (the weights of a fully connected layer) is packed once at
 * compile time, with alpha folded in, into the kernel's B panels; a constant
 * C that broadcasts along rows or columns becomes the tile bias, with beta
 * folded in. The run-time operand A is packed whole into the scratch (it is
 * the small one: the batch). A single-row product (a batch-1 fully connected
 * layer) runs the matrix-vector kernel over the same panels: a product with
 * one row would leave all but one row of the register tile idle.
 *
 * Products whose B is not constant pack both operands at run time; MatMul
 * with a run-time B and a single row streams B as stored (gemv_rows). */
#include "cpu.h"
#include "cpu_sgemm.h"

#include "ops_nn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static const char *const gemv_names[3] = { "gemv_generic", "gemv_avx2", "gemv_avx512" };
static const char *const packed_names[3] = { "sgemm_generic", "sgemm_avx2", "sgemm_avx512" };

struct gemm_kernel {
    const struct cpu_ukernel *uk;
    struct ir_gemm_params p;
    float *bp;        /* packed alpha * B', or NULL when B is run-time */
    float *bias;      /* beta * C as a row or column bias, or NULL */
    bool bias_is_row; /* bias has m values (C is [M,1]) */
    bool prefill;     /* beta * C written into Y before the product */
    int64_t kc;       /* the product's k blocks (cpu_sgemm_kc) */
    int threads;
};

static void gemm_kernel_free(void *p)
{
    struct gemm_kernel *k = p;
    if (!k) return;
    ir_free(k->bp);
    free(k->bias);
    free(k);
}

/* --- batch-1 rows: the matrix-vector kernel over packed panels ----------- */

struct gemv_job {
    const struct cpu_ukernel *uk;
    int64_t k, n;
    const float *x, *b, *bias;
    float *y;
    const struct ir_act *act;
};

static void gemv_task(void *arg, int task, int ntasks)
{
    const struct gemv_job *j = arg;
    const int nr = j->uk->nr;
    const int64_t npn = cpu_ceil_div(j->n, nr);
    const int64_t q0 = npn * task / ntasks, q1 = npn * (task + 1) / ntasks;
    const int64_t c0 = q0 * nr, c1 = q1 * nr < j->n ? q1 * nr : j->n;
    if (c1 <= c0) return;
    j->uk->gemv(j->k, c1 - c0, j->x, j->b + q0 * j->k * nr, j->y + c0,
                j->bias ? j->bias + c0 : NULL, j->act);
}

static void gemv_run(const struct gemv_job *j, struct cpu_pool *pool, int threads)
{
    cpu_pool_run(pool, gemv_task, (void *)j, threads);
}

/* A product of n columns and depth k streams k * n weights from memory, at
 * about 25 GB/s a core: a second thread halves that once each thread's
 * share takes well over a hand-off inside a run (a microsecond or two to a
 * spinning helper; 256 KB take about 10 us). At 2 MB a thread, the bound
 * this replaced, the 1024 -> 1000 classifiers of googlenet, shufflenet and
 * mobilenet_v3_small (4 MB) ran on one thread: at 2 threads they made
 * mobilenet_v3_small 7.5% and shufflenet 1.7% slower than split. */
static int gemv_threads(int64_t n, int64_t k, int max)
{
    int t = (int)((double)n * (double)k / 65536.0);
    if (t < 1) t = 1;
    return t < max ? t : max;
}

/* Scratch of a product with a run-time A: A packed whole in the shared
 * scratch (the bytes returned), a run-time B's blocks in the tasks' own
 * (the model's per-task need raised). */
static size_t product_scratch(struct cpu_model *m, const struct cpu_ukernel *uk, int64_t pm,
                              int64_t pn, int64_t pk, bool b_packed)
{
    if (!b_packed) {
        const size_t task = cpu_sgemm_task_scratch(uk, pn, pk);
        if (task > m->task_scratch_size) m->task_scratch_size = task;
    }
    return cpu_pack_size(pk, pm, uk->mr) * sizeof(float);
}

/* --- Gemm --------------------------------------------------------------- */

static void gemm_prefill(const struct ir_gemm_params *p, const float *c, float *y)
{
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < p->n; j++)
            y[i * p->n + j] = p->beta * c[(p->c_m == 1 ? 0 : i) * p->c_n + (p->c_n == 1 ? 0 : j)];
}

static int gemm_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct gemm_kernel *k = s->kdata;
    const struct ir_gemm_params *p = &k->p;
    const struct cpu_ukernel *uk = k->uk;
    const float *a = x->ptr[s->in[0]];
    float *y = x->ptr[s->out[0]];
    float *scratch = x->scratch;
    (void)m;
    if (k->prefill) gemm_prefill(p, x->ptr[s->in[2]], y);
    if (p->m == 1 && k->bp && !k->prefill) {
        /* A' is one row: A [1,K] or A^T of [K,1], contiguous either way */
        struct gemv_job j = { uk, p->k, p->n, a, k->bp, k->bias, y, &s->act };
        gemv_run(&j, x->pool, k->threads);
        return 0;
    }
    /* A' [M x K] into A panels: rows of A, or columns of a transposed A */
    struct cpu_pack_mat am = { a, p->trans_a ? p->m : p->k, 1.0f };
    cpu_pack_blocked(p->trans_a ? uk->pack_kn : cpu_pack_nk, &am, p->k, p->m, uk->mr, k->kc,
                     scratch);
    struct cpu_pack_mat bm = { x->ptr[s->in[1]], p->trans_b ? p->k : p->n, p->alpha };
    struct cpu_sgemm gm = {
        .kc = k->kc,
        .uk = uk,
        .m = p->m,
        .n = p->n,
        .k = p->k,
        .a = scratch,
        .b = k->bp,
        .pack_b = p->trans_b ? cpu_pack_nk : uk->pack_kn,
        .pack_src = &bm,
        .c = y,
        .ldc = p->n,
        .accumulate = k->prefill,
        .bias_row = k->bias && k->bias_is_row ? k->bias : NULL,
        .bias_col = k->bias && !k->bias_is_row ? k->bias : NULL,
        .act = s->act,
        .task_scratch = x->task_scratch,
        .task_stride = x->task_stride,
    };
    cpu_sgemm_run(&gm, x->pool, k->threads);
    return 0;
}

/* beta * C as a bias vector when C is constant and broadcasts along a whole
 * axis ([N], [1,N], [M,1], a scalar); else Y is prefilled at run time. */
static int gemm_bias(struct gemm_kernel *k, struct cpu_model *m, const struct ir_graph *g,
                     const struct ir_node *n)
{
    const struct ir_gemm_params *p = &k->p;
    if (!p->has_c || p->beta == 0.0f) return 0;
    const struct ir_value *cv = &g->values[n->in[2]];
    const float *c = m->slots[n->in[2]].data;
    if (!(cv->flags & IR_VALUE_CONST) || cv->dtype != IR_DT_F32 || !c ||
        (p->c_m != 1 && p->c_n != 1)) {
        k->prefill = true;
        return 0;
    }
    k->bias_is_row = p->c_m != 1; /* [M,1]: one value per row */
    int64_t len = k->bias_is_row ? p->m : p->n;
    k->bias = malloc(sizeof(float) * (size_t)len);
    if (!k->bias) return -ENOMEM;
    for (int64_t i = 0; i < len; i++)
        k->bias[i] = p->beta * c[(p->c_m == 1 && p->c_n == 1) ? 0 : i];
    cpu_const_drop(m, g, n->in[2]);
    return 0;
}

int cpu_gemm_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_gemm_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || g->values[n->in[0]].dtype != IR_DT_F32 || p->m <= 0 || p->n <= 0 || p->k <= 0)
        return 0;
    const struct ir_value *bv = &g->values[n->in[1]];
    if (bv->dtype != IR_DT_F32) return 0;
    struct gemm_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = gemm_kernel_free;
    k->p = *p;
    k->uk = cpu_ukernel_get(m->be->isa);
    const struct cpu_ukernel *uk = k->uk;
    int rc = gemm_bias(k, m, g, n);
    if (rc < 0) return rc;
    k->kc = cpu_sgemm_kc(uk, p->n, p->k);
    const bool gemv =
        p->m == 1 && !k->prefill && (bv->flags & IR_VALUE_CONST) && m->slots[n->in[1]].data;
    if ((bv->flags & IR_VALUE_CONST) && m->slots[n->in[1]].data) {
        k->bp = ir_alloc(sizeof(float) * cpu_pack_size(p->k, p->n, uk->nr));
        if (!k->bp) return -ENOMEM;
        /* the matrix-vector kernel reads each panel whole, the product by k blocks */
        struct cpu_pack_mat bm = { m->slots[n->in[1]].data, p->trans_b ? p->k : p->n, p->alpha };
        cpu_pack_blocked(p->trans_b ? cpu_pack_nk : cpu_pack_kn, &bm, p->k, p->n, uk->nr,
                         gemv ? p->k : k->kc, k->bp);
        cpu_const_drop(m, g, n->in[1]);
    }
    size_t need;
    if (p->m == 1 && k->bp && !k->prefill) {
        k->threads = gemv_threads(p->n, p->k, m->be->threads);
        need = 0;
        s->kernel = gemv_names[uk->isa];
    } else {
        k->threads = cpu_sgemm_threads(p->m, p->n, p->k, m->be->threads);
        need = product_scratch(m, uk, p->m, p->n, p->k, k->bp != NULL);
        s->kernel = packed_names[uk->isa];
    }
    if (need > m->scratch_size) m->scratch_size = need;
    s->run = gemm_run;
    return 1;
}

/* --- MatMul ------------------------------------------------------------- */

struct matmul_kernel {
    const struct cpu_ukernel *uk;
    struct ir_matmul_params p;
    float *bp;  /* packed B when constant and shared by every batch, else NULL */
    int64_t kc; /* the product's k blocks (cpu_sgemm_kc) */
    int threads;
};

static void matmul_kernel_free(void *p)
{
    struct matmul_kernel *k = p;
    if (!k) return;
    ir_free(k->bp);
    free(k);
}

/* y = x B for a row x of k and B stored [k][n]: memory-bound, so B is read
 * once, as stored, a block of columns at a time (that block of y stays in
 * L1 while every row of B adds to it). The compiler leaves the loop scalar
 * at -O2; SSE2 is in every x86-64 and enough to keep up with memory. */
static void gemv_rows(const float *restrict x, const float *restrict b, int64_t k, int64_t n,
                      float *restrict y)
{
    enum { BLOCK = 2048 };
    for (int64_t j0 = 0; j0 < n; j0 += BLOCK) {
        const int64_t nj = n - j0 < BLOCK ? n - j0 : BLOCK;
        float *restrict yj = y + j0;
        memset(yj, 0, sizeof(float) * (size_t)nj);
        for (int64_t kk = 0; kk < k; kk++) {
            const float xk = x[kk];
            const float *restrict bk = b + kk * n + j0;
            int64_t j = 0;
#if defined(__SSE2__)
            const __m128 xv = _mm_set1_ps(xk);
            for (; j + 4 <= nj; j += 4)
                _mm_storeu_ps(
                    yj + j, _mm_add_ps(_mm_loadu_ps(yj + j), _mm_mul_ps(xv, _mm_loadu_ps(bk + j))));
#endif
            for (; j < nj; j++) yj[j] += xk * bk[j];
        }
    }
}

static int matmul_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct matmul_kernel *k = s->kdata;
    const struct ir_matmul_params *p = &k->p;
    const struct cpu_ukernel *uk = k->uk;
    const float *a = x->ptr[s->in[0]], *b = x->ptr[s->in[1]];
    float *y = x->ptr[s->out[0]];
    float *scratch = x->scratch;
    int64_t nb = 1;
    (void)m;
    for (int d = 0; d < p->nbatch; d++) nb *= p->batch[d];
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t rem = bi, aoff = 0, boff = 0;
        for (int d = p->nbatch - 1; d >= 0; d--) {
            int64_t idx = rem % p->batch[d];
            rem /= p->batch[d];
            aoff += idx * p->a_stride[d];
            boff += idx * p->b_stride[d];
        }
        float *yb = y + bi * p->m * p->n;
        if (p->m == 1 && k->bp) {
            struct gemv_job j = { uk, p->k, p->n, a + aoff, k->bp, NULL, yb, &s->act };
            gemv_run(&j, x->pool, k->threads);
            continue;
        }
        if (p->m == 1) {
            gemv_rows(a + aoff, b + boff, p->k, p->n, yb);
            if (s->act.kind != IR_ACT_NONE) ir_act_apply(&s->act, yb, (size_t)p->n);
            continue;
        }
        struct cpu_pack_mat am = { a + aoff, p->k, 1.0f };
        cpu_pack_blocked(cpu_pack_nk, &am, p->k, p->m, uk->mr, k->kc, scratch);
        struct cpu_pack_mat bm = { b + boff, p->n, 1.0f };
        struct cpu_sgemm gm = {
            .kc = k->kc,
            .uk = uk,
            .m = p->m,
            .n = p->n,
            .k = p->k,
            .a = scratch,
            .b = k->bp,
            .pack_b = uk->pack_kn,
            .pack_src = &bm,
            .c = yb,
            .ldc = p->n,
            .act = s->act,
            .task_scratch = x->task_scratch,
            .task_stride = x->task_stride,
        };
        cpu_sgemm_run(&gm, x->pool, k->threads);
    }
    return 0;
}

int cpu_matmul_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_matmul_params *p = n->params;
    (void)err, (void)errlen;
    if (!p || g->values[n->in[0]].dtype != IR_DT_F32 || p->m <= 0 || p->n <= 0 || p->k <= 0)
        return 0;
    struct matmul_kernel *k = calloc(1, sizeof(*k));
    if (!k) return -ENOMEM;
    s->kdata = k;
    s->kdata_free = matmul_kernel_free;
    k->p = *p;
    k->uk = cpu_ukernel_get(m->be->isa);
    const struct cpu_ukernel *uk = k->uk;
    k->kc = cpu_sgemm_kc(uk, p->n, p->k);
    bool b_shared = true; /* every batch reads the same B */
    for (int d = 0; d < p->nbatch; d++)
        if (p->batch[d] > 1 && p->b_stride[d] != 0) b_shared = false;
    const struct ir_value *bv = &g->values[n->in[1]];
    if (b_shared && (bv->flags & IR_VALUE_CONST) && m->slots[n->in[1]].data) {
        k->bp = ir_alloc(sizeof(float) * cpu_pack_size(p->k, p->n, uk->nr));
        if (!k->bp) return -ENOMEM;
        /* the matrix-vector kernel reads each panel whole, the product by k blocks */
        struct cpu_pack_mat bm = { m->slots[n->in[1]].data, p->n, 1.0f };
        cpu_pack_blocked(cpu_pack_kn, &bm, p->k, p->n, uk->nr, p->m == 1 ? p->k : k->kc, k->bp);
        cpu_const_drop(m, g, n->in[1]);
    }
    size_t need = 0;
    if (p->m == 1 && k->bp) {
        k->threads = gemv_threads(p->n, p->k, m->be->threads);
        s->kernel = gemv_names[uk->isa];
    } else if (p->m == 1) {
        s->kernel = "gemv_rows";
    } else {
        k->threads = cpu_sgemm_threads(p->m, p->n, p->k, m->be->threads);
        need = product_scratch(m, uk, p->m, p->n, p->k, k->bp != NULL);
        s->kernel = packed_names[uk->isa];
    }
    if (need > m->scratch_size) m->scratch_size = need;
    s->run = matmul_run;
    return 1;
}
