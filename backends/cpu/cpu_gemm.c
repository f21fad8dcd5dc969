/* Gemm and MatMul for the CPU backend through OpenBLAS. A single-row product
 * (a batch-1 fully connected layer) goes to sgemv, several times faster than
 * sgemm with one row in OpenBLAS 0.3.21. */
#include "cpu.h"

#include "ops_nn.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int gemm_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct ir_gemm_params *p = s->kdata;
    const float *a = x->ptr[s->in[0]], *b = x->ptr[s->in[1]];
    const float *c = p->has_c ? x->ptr[s->in[2]] : NULL;
    float *y = x->ptr[s->out[0]];
    const int mm = (int)p->m, nn = (int)p->n, kk = (int)p->k;
    float beta = 0.0f;
    (void)m;
    if (c && p->beta != 0.0f) {
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++)
                y[i * p->n + j] = c[(p->c_m == 1 ? 0 : i) * p->c_n + (p->c_n == 1 ? 0 : j)];
        beta = p->beta;
    }
    if (mm == 1) {
        /* y[n] = alpha * B' a + beta * y, with B' = B^T ([K,N] stored) or B ([N,K] stored). */
        if (p->trans_b)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, nn, kk, p->alpha, b, kk, a, 1, beta, y, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasTrans, kk, nn, p->alpha, b, nn, a, 1, beta, y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans,
                    p->trans_b ? CblasTrans : CblasNoTrans, mm, nn, kk, p->alpha, a,
                    p->trans_a ? mm : kk, b, p->trans_b ? kk : nn, beta, y, nn);
    }
    if (s->act.kind != IR_ACT_NONE) ir_act_apply(&s->act, y, (size_t)(p->m * p->n));
    return 0;
}

static bool dims_fit_int(int64_t a, int64_t b, int64_t c)
{
    return a <= INT32_MAX && b <= INT32_MAX && c <= INT32_MAX;
}

int cpu_gemm_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                     const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_gemm_params *p = n->params;
    (void)m, (void)err, (void)errlen;
    if (!p || g->values[n->in[0]].dtype != IR_DT_F32 || !dims_fit_int(p->m, p->n, p->k)) return 0;
    struct ir_gemm_params *k = malloc(sizeof(*k));
    if (!k) return -ENOMEM;
    *k = *p;
    s->kdata = k;
    s->kdata_free = free;
    s->run = gemm_run;
    s->kernel = p->m == 1 ? "gemm_sgemv" : "gemm_sgemm";
    return 1;
}

static int matmul_run(const struct cpu_model *m, const struct cpu_step *s, struct cpu_exec *x)
{
    const struct ir_matmul_params *p = s->kdata;
    const float *a = x->ptr[s->in[0]], *b = x->ptr[s->in[1]];
    float *y = x->ptr[s->out[0]];
    const int mm = (int)p->m, nn = (int)p->n, kk = (int)p->k;
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
        if (mm == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, kk, nn, 1.0f, b + boff, nn, a + aoff, 1, 0.0f,
                        yb, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, mm, nn, kk, 1.0f, a + aoff, kk,
                        b + boff, nn, 0.0f, yb, nn);
    }
    if (s->act.kind != IR_ACT_NONE) ir_act_apply(&s->act, y, (size_t)(nb * p->m * p->n));
    return 0;
}

int cpu_matmul_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *n, char *err, size_t errlen)
{
    const struct ir_matmul_params *p = n->params;
    (void)m, (void)err, (void)errlen;
    if (!p || g->values[n->in[0]].dtype != IR_DT_F32 || !dims_fit_int(p->m, p->n, p->k)) return 0;
    struct ir_matmul_params *k = malloc(sizeof(*k));
    if (!k) return -ENOMEM;
    *k = *p;
    s->kdata = k;
    s->kdata_free = free;
    s->run = matmul_run;
    s->kernel = p->m == 1 ? "matmul_sgemv" : "matmul_sgemm";
    return 1;
}
