/* BatchNormalization (inference form), InstanceNormalization, LRN. */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Fails unless input k holds exactly `count` elements (a per-channel vector). */
static int vector_check(struct ir_graph *g, const struct ir_node *n, int k, const char *what,
                        int64_t count, char *err, size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    if (ir_shape_numel(&v->shape) == count && v->shape.ndim >= 1) return 0;
    char vs[160];
    return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                         "%s shape %s does not match %" PRId64 " channels", what,
                         ir_shape_str(&v->shape, vs, sizeof(vs)), count);
}

int ir_batchnorm_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    static const char *const names[] = { "scale", "bias", "mean", "var" };
    struct ir_batchnorm_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 5, 5, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 4, err, errlen);
    if (rc < 0) return rc;
    if (ir_node_attr_int(n, "training_mode", 0) != 0)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "training_mode=1 is not supported: inferd runs inference only");
    for (int k = 1; k < n->nout; k++)
        if (n->out[k] >= 0)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "output %d '%s' (running or saved statistics) is not supported: "
                                 "inferd runs inference only",
                                 k, g->values[n->out[k]].name);
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (x->shape.ndim < 2) {
        char xs[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input shape %s: expected [N,C,...]",
                             ir_shape_str(&x->shape, xs, sizeof(xs)));
    }
    /* Opset 7's spatial=0 keeps statistics per activation ([C, D...]). */
    p->per_activation = n->opset < 9 && ir_node_attr_int(n, "spatial", 1) == 0;
    p->epsilon = ir_node_attr_float(n, "epsilon", 1e-5f);
    int64_t count = p->per_activation ? nn_prod(x->shape.dims, 1, x->shape.ndim) : x->shape.dims[1];
    for (int k = 1; k < 5; k++) {
        rc = vector_check(g, n, k, names[k - 1], count, err, errlen);
        if (rc < 0) return rc;
    }
    return ir_node_output_set(g, n, 0, IR_DT_F32, &x->shape, err, errlen);
}

int ir_batchnorm_eval(const void *params, const struct ir_tensor *in, int nin,
                      struct ir_tensor *out, int nout)
{
    const struct ir_batchnorm_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data, *scale = in[1].data, *bias = in[2].data;
    const float *mean = in[3].data, *var = in[4].data;
    float *y = out[0].data;
    int64_t batch = in[0].dims[0], c = in[0].dims[1];
    int64_t inner = nn_prod(in[0].dims, 2, in[0].ndim);
    for (int64_t nb = 0; nb < batch; nb++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t i = (nb * c + ch) * inner + j;
                int64_t s = p->per_activation ? ch * inner + j : ch;
                double v = ((double)x[i] - mean[s]) / sqrt((double)var[s] + p->epsilon);
                y[i] = (float)(v * scale[s] + bias[s]);
            }
    return 0;
}

int ir_instancenorm_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_instancenorm_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 3, 3, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (x->shape.ndim < 3) {
        char xs[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input shape %s: expected [N,C,D...] with at least one spatial axis",
                             ir_shape_str(&x->shape, xs, sizeof(xs)));
    }
    rc = vector_check(g, n, 1, "scale", x->shape.dims[1], err, errlen);
    if (rc == 0) rc = vector_check(g, n, 2, "bias", x->shape.dims[1], err, errlen);
    if (rc < 0) return rc;
    p->epsilon = ir_node_attr_float(n, "epsilon", 1e-5f);
    return ir_node_output_set(g, n, 0, IR_DT_F32, &x->shape, err, errlen);
}

int ir_instancenorm_eval(const void *params, const struct ir_tensor *in, int nin,
                         struct ir_tensor *out, int nout)
{
    const struct ir_instancenorm_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data, *scale = in[1].data, *bias = in[2].data;
    float *y = out[0].data;
    int64_t batch = in[0].dims[0], c = in[0].dims[1];
    int64_t inner = nn_prod(in[0].dims, 2, in[0].ndim);
    if (inner == 0) return 0;
    for (int64_t nb = 0; nb < batch; nb++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float *xp = x + (nb * c + ch) * inner;
            float *yp = y + (nb * c + ch) * inner;
            double mean = 0.0, var = 0.0;
            for (int64_t j = 0; j < inner; j++) mean += xp[j];
            mean /= (double)inner;
            for (int64_t j = 0; j < inner; j++) var += (xp[j] - mean) * (xp[j] - mean);
            var /= (double)inner;
            double inv = 1.0 / sqrt(var + p->epsilon);
            for (int64_t j = 0; j < inner; j++)
                yp[j] = (float)((xp[j] - mean) * inv * scale[ch] + bias[ch]);
        }
    return 0;
}

int ir_lrn_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_lrn_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 0, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (x->shape.ndim < 3) {
        char xs[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input shape %s: expected [N,C,D...] with at least one spatial axis",
                             ir_shape_str(&x->shape, xs, sizeof(xs)));
    }
    if (!ir_node_attr(n, "size"))
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "attribute size is required");
    p->size = ir_node_attr_int(n, "size", 1);
    if (p->size < 1 || p->size > NN_ATTR_MAX)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "size %" PRId64 " must be positive", p->size);
    p->alpha = ir_node_attr_float(n, "alpha", 1e-4f);
    p->beta = ir_node_attr_float(n, "beta", 0.75f);
    p->bias = ir_node_attr_float(n, "bias", 1.0f);
    return ir_node_output_set(g, n, 0, IR_DT_F32, &x->shape, err, errlen);
}

int ir_lrn_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                int nout)
{
    const struct ir_lrn_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data;
    float *y = out[0].data;
    int64_t batch = in[0].dims[0], c = in[0].dims[1];
    int64_t inner = nn_prod(in[0].dims, 2, in[0].ndim);
    int64_t before = (p->size - 1) / 2, after = p->size - 1 - before;
    for (int64_t nb = 0; nb < batch; nb++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t j = 0; j < inner; j++) {
                int64_t lo = ch - before < 0 ? 0 : ch - before;
                int64_t hi = ch + after >= c ? c - 1 : ch + after;
                double sq = 0.0;
                for (int64_t q = lo; q <= hi; q++) {
                    double v = x[(nb * c + q) * inner + j];
                    sq += v * v;
                }
                double den = pow(p->bias + p->alpha / (double)p->size * sq, p->beta);
                int64_t i = (nb * c + ch) * inner + j;
                y[i] = (float)(x[i] / den);
            }
    return 0;
}
