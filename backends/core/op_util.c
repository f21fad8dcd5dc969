/* Helpers shared by the operators' infer functions. */
#include "ops.h"

#include "inferd_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ir_value *ir_node_input(struct ir_graph *g, const struct ir_node *n, int k)
{
    if (k < 0 || k >= n->nin || n->in[k] < 0) return NULL;
    return &g->values[n->in[k]];
}

int ir_node_inputs_check(struct ir_graph *g, const struct ir_node *n, int min, int max, char *err,
                         size_t errlen)
{
    int count = n->nin;
    while (count > 0 && n->in[count - 1] < 0) count--;
    if (count < min || count > max) {
        if (min == max)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "expects %d input%s, got %d", min, min == 1 ? "" : "s", count);
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "expects %d to %d inputs, got %d", min, max, count);
    }
    for (int k = 0; k < min; k++)
        if (n->in[k] < 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "required input %d is missing", k);
    for (int k = 0; k < count; k++)
        if (n->in[k] >= 0 && !g->values[n->in[k]].shape_known)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "shape of input '%s' is not known at load",
                                 g->values[n->in[k]].name);
    return 0;
}

int ir_node_input_dtype_check(struct ir_graph *g, const struct ir_node *n, int k, int dtype,
                              char *err, size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    if (!v) return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input %d is missing", k);
    if (v->dtype != dtype)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' has dtype %s, not supported here (expected %s)", k,
                             v->name, ir_dtype_name(v->dtype), ir_dtype_name(dtype));
    return 0;
}

int ir_node_output_set(struct ir_graph *g, struct ir_node *n, int k, int dtype,
                       const struct ir_shape *shape, char *err, size_t errlen)
{
    if (k < 0 || k >= n->nout || n->out[k] < 0) return 0; /* optional output not wanted */
    if (shape->ndim < 0 || shape->ndim > IR_MAX_DIMS)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "output %d would have rank %d (at most %d supported)", k, shape->ndim,
                             IR_MAX_DIMS);
    char buf[160];
    int64_t numel = ir_shape_numel(shape);
    if (numel < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "output %d shape %s has a negative dim or overflows", k,
                             ir_shape_str(shape, buf, sizeof(buf)));
    if (numel > g->limits.max_elements)
        return ir_node_error(g, n, INFERD_E_TOO_LARGE, err, errlen,
                             "output %d shape %s has %lld elements, over the limit of %lld", k,
                             ir_shape_str(shape, buf, sizeof(buf)), (long long)numel,
                             (long long)g->limits.max_elements);
    if (ir_dtype_size(dtype) == 0)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "output %d would have unsupported dtype %s", k, ir_dtype_name(dtype));
    struct ir_value *v = &g->values[n->out[k]];
    v->dtype = dtype;
    v->shape = *shape;
    v->shape_known = true;
    return 0;
}

int ir_node_input_ints(struct ir_graph *g, const struct ir_node *n, int k, int64_t *out, int max,
                       char *err, size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    if (!v) return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input %d is missing", k);
    if (!(v->flags & IR_VALUE_CONST) || !v->data) {
        if (v->flags & IR_VALUE_INPUT) g->const_wanted = n->in[k];
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' must be constant at load (dynamic shapes are not "
                             "supported)",
                             k, v->name);
    }
    int64_t count = ir_shape_numel(&v->shape);
    if (count < 0 || count > max)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' has %lld values, at most %d supported", k, v->name,
                             (long long)count, max);
    if (v->dtype == IR_DT_I64) {
        memcpy(out, v->data, (size_t)count * sizeof(int64_t));
    } else if (v->dtype == IR_DT_I32) {
        const int32_t *src = v->data;
        for (int64_t i = 0; i < count; i++) out[i] = src[i];
    } else {
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input %d '%s' has dtype %s, expected int64", k, v->name,
                             ir_dtype_name(v->dtype));
    }
    return (int)count;
}

int ir_node_input_floats(struct ir_graph *g, const struct ir_node *n, int k, float *out, int max,
                         char *err, size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    if (!v) return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input %d is missing", k);
    if (!(v->flags & IR_VALUE_CONST) || !v->data) {
        if (v->flags & IR_VALUE_INPUT) g->const_wanted = n->in[k];
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' must be constant at load", k, v->name);
    }
    if (v->dtype != IR_DT_F32)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' has dtype %s, not supported here (expected float32)", k,
                             v->name, ir_dtype_name(v->dtype));
    int64_t count = ir_shape_numel(&v->shape);
    if (count < 0 || count > max)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "input %d '%s' has %lld values, at most %d supported", k, v->name,
                             (long long)count, max);
    memcpy(out, v->data, (size_t)count * sizeof(float));
    return (int)count;
}

int ir_shape_broadcast(const struct ir_shape *a, const struct ir_shape *b, struct ir_shape *out)
{
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    struct ir_shape r = { .ndim = nd };
    for (int i = 0; i < nd; i++) {
        int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            r.dims[i] = da;
        else if (da == 1)
            r.dims[i] = db;
        else
            return -1;
    }
    *out = r;
    return 0;
}

int ir_axis_normalize(int64_t axis, int rank)
{
    if (axis < -rank || axis >= rank) return -1;
    return (int)(axis < 0 ? axis + rank : axis);
}

void *ir_node_params_alloc(struct ir_node *n, size_t size)
{
    free(n->params);
    n->params = calloc(1, size ? size : 1);
    return n->params;
}
