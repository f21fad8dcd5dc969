/* Reduce* (Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp)
 * and ArgMax / ArgMin. */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *op;
    int kind;
} reduce_ops[] = {
    { "ReduceSum", IR_REDUCE_SUM },        { "ReduceMean", IR_REDUCE_MEAN },
    { "ReduceMax", IR_REDUCE_MAX },        { "ReduceMin", IR_REDUCE_MIN },
    { "ReduceProd", IR_REDUCE_PROD },      { "ReduceL1", IR_REDUCE_L1 },
    { "ReduceL2", IR_REDUCE_L2 },          { "ReduceSumSquare", IR_REDUCE_SUM_SQUARE },
    { "ReduceLogSum", IR_REDUCE_LOG_SUM }, { "ReduceLogSumExp", IR_REDUCE_LOG_SUM_EXP },
};

int ir_reduce_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_reduce_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = -1;
    for (size_t i = 0; i < sizeof(reduce_ops) / sizeof(reduce_ops[0]); i++)
        if (strcmp(n->op_type, reduce_ops[i].op) == 0) p->kind = reduce_ops[i].kind;
    if (p->kind < 0) return ir_node_error(g, n, INFERD_E_INTERNAL, err, errlen, "not a reduction");
    /* Axes moved from an attribute to an optional input: ReduceSum at opset
     * 13, the others at opset 18. */
    bool axes_input = n->opset >= (p->kind == IR_REDUCE_SUM ? 13 : 18);
    int rc = ir_node_inputs_check(g, n, 1, axes_input ? 2 : 1, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 0, err, errlen);
    if (rc < 0) return rc;
    const struct ir_shape *s = &ir_node_input(g, n, 0)->shape;
    p->ndim = s->ndim;

    int64_t axes[IR_MAX_DIMS];
    int naxes = 0;
    if (axes_input && ir_node_input(g, n, 1)) {
        naxes = ir_node_input_ints(g, n, 1, axes, IR_MAX_DIMS, err, errlen);
        if (naxes < 0) return naxes;
    } else if (!axes_input) {
        const int64_t *a = NULL;
        naxes = ir_node_attr_ints(n, "axes", &a);
        if (naxes > IR_MAX_DIMS)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "attribute axes has %d values, the input has rank %d", naxes,
                                 s->ndim);
        if (naxes > 0) memcpy(axes, a, sizeof(int64_t) * (size_t)naxes);
    }
    bool keepdims = ir_node_attr_int(n, "keepdims", 1) != 0;
    if (naxes == 0) {
        /* No axes: everything, unless noop_with_empty_axes asks for a copy. */
        p->noop = axes_input && ir_node_attr_int(n, "noop_with_empty_axes", 0) != 0;
        for (int i = 0; i < s->ndim; i++) p->reduced[i] = !p->noop;
    }
    for (int i = 0; i < naxes; i++) {
        int ax = ir_axis_normalize(axes[i], s->ndim);
        if (ax < 0 || p->reduced[ax]) {
            char ss[160];
            return ir_node_error(
                g, n, INFERD_E_BAD_MODEL, err, errlen, "axis %" PRId64 " is %s for input shape %s",
                axes[i], ax < 0 ? "out of range" : "repeated", ir_shape_str(s, ss, sizeof(ss)));
        }
        p->reduced[ax] = true;
    }
    struct ir_shape out = { .ndim = 0 };
    for (int i = 0; i < s->ndim; i++) {
        if (!p->reduced[i])
            out.dims[out.ndim++] = s->dims[i];
        else if (keepdims)
            out.dims[out.ndim++] = 1;
    }
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

int ir_reduce_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct ir_reduce_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data;
    float *y = out[0].data;
    int64_t nx = ir_tensor_numel(&in[0]), ny = ir_tensor_numel(&out[0]);
    if (p->noop) {
        if (nx > 0) memcpy(y, x, (size_t)nx * sizeof(float));
        return 0;
    }
    if (ny == 0) return 0;
    double *acc = malloc((size_t)ny * sizeof(double));
    double *max = malloc((size_t)ny * sizeof(double));
    if (!acc || !max) {
        free(acc);
        free(max);
        return -ENOMEM;
    }
    /* Output strides over the input axes, 0 along reduced ones. */
    int64_t ostride[IR_MAX_DIMS];
    int64_t step = 1;
    for (int i = p->ndim - 1; i >= 0; i--) {
        ostride[i] = p->reduced[i] ? 0 : step;
        if (!p->reduced[i]) step *= in[0].dims[i];
    }
    double init = 0.0;
    if (p->kind == IR_REDUCE_PROD) init = 1.0;
    if (p->kind == IR_REDUCE_MAX) init = -INFINITY;
    if (p->kind == IR_REDUCE_MIN) init = INFINITY;
    for (int64_t j = 0; j < ny; j++) {
        acc[j] = init;
        max[j] = -INFINITY;
    }
    /* Two passes over x: the first finds each group's max (LogSumExp shifts
     * by it to stay finite), the second accumulates. */
    for (int pass = 0; pass < 2 && nx > 0; pass++) {
        if (pass == 0 && p->kind != IR_REDUCE_LOG_SUM_EXP) continue;
        int64_t idx[IR_MAX_DIMS] = { 0 };
        int64_t i = 0;
        do {
            int64_t o = 0;
            for (int d = 0; d < p->ndim; d++) o += idx[d] * ostride[d];
            double v = x[i++];
            if (pass == 0) {
                if (v > max[o]) max[o] = v;
                continue;
            }
            switch (p->kind) {
            case IR_REDUCE_SUM:
            case IR_REDUCE_MEAN:
            case IR_REDUCE_LOG_SUM: acc[o] += v; break;
            case IR_REDUCE_MAX: acc[o] = v > acc[o] ? v : acc[o]; break;
            case IR_REDUCE_MIN: acc[o] = v < acc[o] ? v : acc[o]; break;
            case IR_REDUCE_PROD: acc[o] *= v; break;
            case IR_REDUCE_L1: acc[o] += fabs(v); break;
            case IR_REDUCE_L2:
            case IR_REDUCE_SUM_SQUARE: acc[o] += v * v; break;
            case IR_REDUCE_LOG_SUM_EXP: acc[o] += exp(v - max[o]); break;
            default: break;
            }
        } while (nn_next(idx, in[0].dims, p->ndim));
    }
    int64_t count = nx / ny;
    for (int64_t j = 0; j < ny; j++) {
        double r = acc[j];
        switch (p->kind) {
        case IR_REDUCE_MEAN: r = r / (double)count; break;
        case IR_REDUCE_L2: r = sqrt(r); break;
        case IR_REDUCE_LOG_SUM: r = log(r); break;
        case IR_REDUCE_LOG_SUM_EXP: r = isinf(max[j]) ? max[j] : log(r) + max[j]; break;
        default: break;
        }
        y[j] = (float)r;
    }
    free(acc);
    free(max);
    return 0;
}

int ir_argmax_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_argmax_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 0, err, errlen);
    if (rc < 0) return rc;
    p->min = strcmp(n->op_type, "ArgMin") == 0;
    p->select_last_index = ir_node_attr_int(n, "select_last_index", 0) != 0;
    const struct ir_shape *s = &ir_node_input(g, n, 0)->shape;
    char ss[160];
    int64_t attr = ir_node_attr_int(n, "axis", 0);
    int axis = ir_axis_normalize(attr, s->ndim);
    if (axis < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %" PRId64 " is out of range for input shape %s", attr,
                             ir_shape_str(s, ss, sizeof(ss)));
    if (s->dims[axis] < 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %" PRId64 " of input shape %s is empty", attr,
                             ir_shape_str(s, ss, sizeof(ss)));
    p->outer = nn_prod(s->dims, 0, axis);
    p->len = s->dims[axis];
    p->inner = nn_prod(s->dims, axis + 1, s->ndim);
    struct ir_shape out = *s;
    if (ir_node_attr_int(n, "keepdims", 1) != 0) {
        out.dims[axis] = 1;
    } else {
        memmove(out.dims + axis, out.dims + axis + 1,
                sizeof(int64_t) * (size_t)(s->ndim - axis - 1));
        out.ndim--;
    }
    return ir_node_output_set(g, n, 0, IR_DT_I64, &out, err, errlen);
}

int ir_argmax_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct ir_argmax_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data;
    int64_t *y = out[0].data;
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            const float *xr = x + o * p->len * p->inner + i;
            int64_t best = 0;
            for (int64_t j = 1; j < p->len; j++) {
                float v = xr[j * p->inner], b = xr[best * p->inner];
                bool better = p->min ? v < b : v > b;
                if (better || (p->select_last_index && v == b)) best = j;
            }
            y[o * p->inner + i] = best;
        }
    return 0;
}
