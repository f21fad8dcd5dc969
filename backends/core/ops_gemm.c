/* Gemm and MatMul: shape inference and plain triple-loop reference kernels
 * (accumulating in double, so they can serve as the yardstick for BLAS). */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int ir_gemm_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_gemm_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    /* C became optional in opset 11. */
    int rc = ir_node_inputs_check(g, n, n->opset < 11 ? 3 : 2, 3, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *a = ir_node_input(g, n, 0), *b = ir_node_input(g, n, 1);
    const struct ir_value *c = ir_node_input(g, n, 2);
    char as[160], bs[160], cs[160];
    ir_shape_str(&a->shape, as, sizeof(as));
    ir_shape_str(&b->shape, bs, sizeof(bs));
    if (a->shape.ndim != 2 || b->shape.ndim != 2)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "A %s and B %s must both be matrices", as, bs);
    p->trans_a = ir_node_attr_int(n, "transA", 0) != 0;
    p->trans_b = ir_node_attr_int(n, "transB", 0) != 0;
    p->alpha = ir_node_attr_float(n, "alpha", 1.0f);
    p->beta = ir_node_attr_float(n, "beta", 1.0f);
    p->m = a->shape.dims[p->trans_a ? 1 : 0];
    p->k = a->shape.dims[p->trans_a ? 0 : 1];
    int64_t kb = b->shape.dims[p->trans_b ? 1 : 0];
    p->n = b->shape.dims[p->trans_b ? 0 : 1];
    if (kb != p->k)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "inner dimensions differ: A %s (transA=%d) gives K=%" PRId64
                             ", B %s (transB=%d) gives K=%" PRId64,
                             as, p->trans_a, p->k, bs, p->trans_b, kb);
    if (c) {
        /* C broadcasts one way only, to [M, N]. */
        const struct ir_shape *s = &c->shape;
        int64_t cm = s->ndim == 2 ? s->dims[0] : 1;
        int64_t cn = s->ndim >= 1 ? s->dims[s->ndim - 1] : 1;
        if (s->ndim > 2 || (cm != 1 && cm != p->m) || (cn != 1 && cn != p->n))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "C shape %s does not broadcast to [%" PRId64 ",%" PRId64 "]",
                                 ir_shape_str(s, cs, sizeof(cs)), p->m, p->n);
        p->has_c = true;
        p->c_m = cm;
        p->c_n = cn;
    }
    struct ir_shape out = { .ndim = 2, .dims = { p->m, p->n } };
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

int ir_gemm_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct ir_gemm_params *p = params;
    (void)nout;
    const float *a = in[0].data, *b = in[1].data;
    const float *c = p->has_c && nin > 2 && in[2].dtype != IR_DT_UNDEFINED ? in[2].data : NULL;
    float *y = out[0].data;
    for (int64_t i = 0; i < p->m; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double acc = 0.0;
            for (int64_t q = 0; q < p->k; q++) {
                float av = p->trans_a ? a[q * p->m + i] : a[i * p->k + q];
                float bv = p->trans_b ? b[j * p->k + q] : b[q * p->n + j];
                acc += (double)av * bv;
            }
            acc *= p->alpha;
            if (c)
                acc += (double)p->beta * c[(p->c_m == 1 ? 0 : i) * p->c_n + (p->c_n == 1 ? 0 : j)];
            y[i * p->n + j] = (float)acc;
        }
    return 0;
}

int ir_matmul_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_matmul_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_shape *a = &ir_node_input(g, n, 0)->shape;
    const struct ir_shape *b = &ir_node_input(g, n, 1)->shape;
    char as[160], bs[160];
    ir_shape_str(a, as, sizeof(as));
    ir_shape_str(b, bs, sizeof(bs));
    if (a->ndim < 1 || b->ndim < 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "A %s and B %s must have at least one dimension", as, bs);
    /* numpy: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the added
     * dim is dropped from the result. */
    p->m = a->ndim >= 2 ? a->dims[a->ndim - 2] : 1;
    p->k = a->dims[a->ndim - 1];
    int64_t kb = b->ndim >= 2 ? b->dims[b->ndim - 2] : b->dims[0];
    p->n = b->ndim >= 2 ? b->dims[b->ndim - 1] : 1;
    if (kb != p->k)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "inner dimensions differ: A %s has K=%" PRId64 ", B %s has K=%" PRId64,
                             as, p->k, bs, kb);
    struct ir_shape ab = { .ndim = a->ndim > 2 ? a->ndim - 2 : 0 };
    struct ir_shape bb = { .ndim = b->ndim > 2 ? b->ndim - 2 : 0 };
    memcpy(ab.dims, a->dims, sizeof(int64_t) * (size_t)ab.ndim);
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)bb.ndim);
    struct ir_shape batch;
    if (ir_shape_broadcast(&ab, &bb, &batch) < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "batch dimensions of A %s and B %s do not broadcast", as, bs);
    p->nbatch = batch.ndim;
    memcpy(p->batch, batch.dims, sizeof(p->batch));
    int64_t a_step = p->m * p->k, b_step = p->k * p->n;
    for (int i = batch.ndim - 1; i >= 0; i--) {
        int ia = i - (batch.ndim - ab.ndim), ib = i - (batch.ndim - bb.ndim);
        bool a_bc = ia < 0 || ab.dims[ia] == 1, b_bc = ib < 0 || bb.dims[ib] == 1;
        p->a_stride[i] = a_bc ? 0 : a_step;
        p->b_stride[i] = b_bc ? 0 : b_step;
        if (ia >= 0) a_step *= ab.dims[ia];
        if (ib >= 0) b_step *= bb.dims[ib];
    }
    struct ir_shape out = batch;
    if (a->ndim >= 2) out.dims[out.ndim++] = p->m;
    if (b->ndim >= 2) out.dims[out.ndim++] = p->n;
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

int ir_matmul_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct ir_matmul_params *p = params;
    (void)nin;
    (void)nout;
    const float *a = in[0].data, *b = in[1].data;
    float *y = out[0].data;
    if (ir_tensor_numel(&out[0]) == 0) return 0;
    int64_t idx[IR_MAX_DIMS] = { 0 };
    do {
        const float *am = a, *bm = b;
        for (int i = 0; i < p->nbatch; i++) {
            am += idx[i] * p->a_stride[i];
            bm += idx[i] * p->b_stride[i];
        }
        for (int64_t i = 0; i < p->m; i++)
            for (int64_t j = 0; j < p->n; j++) {
                double acc = 0.0;
                for (int64_t q = 0; q < p->k; q++)
                    acc += (double)am[i * p->k + q] * bm[q * p->n + j];
                *y++ = (float)acc;
            }
    } while (nn_next(idx, p->batch, p->nbatch));
    return 0;
}
