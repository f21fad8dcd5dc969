/* Ops whose output is their input's bytes under another shape: Flatten,
 * Reshape, Squeeze, Unsqueeze, Identity, Dropout (inference). Their rows carry
 * IR_OP_ALIAS so backends may skip the copy; the copying eval serves constant
 * folding (int64 shape arithmetic runs through Reshape/Squeeze/Unsqueeze). */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <string.h>

int shp_alias_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    (void)params;
    if (nin < 1 || nout < 1) return INFERD_E_INTERNAL;
    size_t nbytes = shp_tensor_bytes(&out[0]);
    if (nbytes != shp_tensor_bytes(&in[0])) return INFERD_E_INTERNAL;
    if (nbytes && out[0].data != in[0].data) memcpy(out[0].data, in[0].data, nbytes);
    return 0;
}

int shp_flatten_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t axis = ir_node_attr_int(n, "axis", 1);
    /* Flatten's axis ranges over [-r, r]: axis == r gives [numel, 1]. */
    if (axis < -rank || axis > rank)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %lld is out of range for rank %d", (long long)axis, rank);
    if (axis < 0) axis += rank;
    struct ir_shape s = { .ndim = 2 };
    if (shp_prod(x->shape.dims, 0, (int)axis, &s.dims[0]) < 0 ||
        shp_prod(x->shape.dims, (int)axis, rank, &s.dims[1]) < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input dims overflow when flattened");
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_reshape_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int64_t req[IR_MAX_DIMS];
    int count = ir_node_input_ints(g, n, 1, req, IR_MAX_DIMS, err, errlen);
    if (count < 0) return count;
    bool allowzero = n->opset >= 14 && ir_node_attr_int(n, "allowzero", 0) != 0;

    char from[160], to[160];
    ir_shape_str(&x->shape, from, sizeof(from));
    shp_ints_str(req, count, to, sizeof(to));
    int64_t numel = ir_shape_numel(&x->shape);
    struct ir_shape s = { .ndim = count };
    int infer_at = -1;
    bool has_zero = false;
    int64_t known = 1;
    for (int i = 0; i < count; i++) {
        int64_t d = req[i];
        if (d == -1) {
            if (infer_at >= 0)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "shape %s has more than one -1", to);
            infer_at = i;
            continue;
        }
        if (d < -1)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "shape %s has invalid dim %lld", to, (long long)d);
        if (d == 0 && !allowzero) {
            if (i >= x->shape.ndim)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "shape %s copies dim %d (0) but the input %s has rank %d", to,
                                     i, from, x->shape.ndim);
            d = x->shape.dims[i];
        }
        if (d == 0) has_zero = true;
        s.dims[i] = d;
        if (__builtin_mul_overflow(known, d, &known))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "shape %s overflows", to);
    }
    if (allowzero && has_zero && infer_at >= 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "shape %s has both 0 and -1 with allowzero=1", to);
    if (infer_at >= 0) {
        if (known == 0 || numel % known != 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "cannot reshape %s (%lld elements) to %s", from, (long long)numel,
                                 to);
        s.dims[infer_at] = numel / known;
        known = numel;
    }
    if (known != numel)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "cannot reshape %s (%lld elements) to %s", from, (long long)numel, to);
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_squeeze_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, n->opset >= 13 ? 2 : 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t axes[IR_MAX_DIMS];
    int count = shp_axes_read(g, n, "axes", 13, 1, axes, IR_MAX_DIMS, err, errlen);
    if (count < 0) return count;
    rc = shp_axes_normalize(g, n, "axes", axes, count, rank, err, errlen);
    if (rc < 0) return rc;
    bool drop[IR_MAX_DIMS] = { false };
    if (count == 0) {
        for (int i = 0; i < rank; i++) drop[i] = x->shape.dims[i] == 1;
    } else {
        for (int i = 0; i < count; i++) {
            if (x->shape.dims[axes[i]] != 1) {
                char buf[160];
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "cannot squeeze axis %d of input %s: its size is not 1",
                                     (int)axes[i], ir_shape_str(&x->shape, buf, sizeof(buf)));
            }
            drop[axes[i]] = true;
        }
    }
    struct ir_shape s = { .ndim = 0 };
    for (int i = 0; i < rank; i++)
        if (!drop[i]) s.dims[s.ndim++] = x->shape.dims[i];
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_unsqueeze_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc =
        ir_node_inputs_check(g, n, n->opset >= 13 ? 2 : 1, n->opset >= 13 ? 2 : 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int64_t axes[IR_MAX_DIMS];
    int count = shp_axes_read(g, n, "axes", 13, 1, axes, IR_MAX_DIMS, err, errlen);
    if (count < 0) return count;
    if (count == 0 && n->opset < 13 && !ir_node_attr(n, "axes"))
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "attribute 'axes' is missing");
    int rank = x->shape.ndim + count;
    if (rank > IR_MAX_DIMS)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "output would have rank %d (at most %d supported)", rank, IR_MAX_DIMS);
    rc = shp_axes_normalize(g, n, "axes", axes, count, rank, err, errlen);
    if (rc < 0) return rc;
    bool inserted[IR_MAX_DIMS] = { false };
    for (int i = 0; i < count; i++) inserted[axes[i]] = true;
    struct ir_shape s = { .ndim = rank };
    int k = 0;
    for (int i = 0; i < rank; i++) s.dims[i] = inserted[i] ? 1 : x->shape.dims[k++];
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_identity_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    return ir_node_output_set(g, n, 0, x->dtype, &x->shape, err, errlen);
}

/* --- Dropout ------------------------------------------------------------- */

/* Which dtype the mask output has: the input's before opset 10, bool after. */
struct dropout_params {
    int mask_dtype;
};

int shp_dropout_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, n->opset >= 12 ? 3 : 1, err, errlen);
    if (rc < 0) return rc;
    if (n->nout > 2)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "expects at most 2 outputs, got %d", n->nout);
    const struct ir_value *x = ir_node_input(g, n, 0);
    const struct ir_value *training = ir_node_input(g, n, 2);
    if (training) {
        /* Inference only: training_mode must be known false at load, or true
         * with a ratio of exactly 0 (which drops nothing). */
        if (!(training->flags & IR_VALUE_CONST) || !training->data)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "input 2 '%s' (training_mode) must be constant at load",
                                 training->name);
        if (training->dtype != IR_DT_BOOL || ir_shape_numel(&training->shape) != 1)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input 2 '%s' (training_mode) must be one bool", training->name);
        if (*(const uint8_t *)training->data) {
            float ratio = 0.5f;
            if (!shp_input_empty(g, n, 1)) {
                rc = shp_input_floats(g, n, 1, &ratio, 1, err, errlen);
                if (rc < 0) return rc;
            }
            if (ratio != 0.0f)
                return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                     "training mode (random dropout) is not supported");
        }
    }
    struct dropout_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->mask_dtype = n->opset >= 10 ? IR_DT_BOOL : x->dtype;
    rc = ir_node_output_set(g, n, 0, x->dtype, &x->shape, err, errlen);
    if (rc < 0) return rc;
    return ir_node_output_set(g, n, 1, p->mask_dtype, &x->shape, err, errlen);
}

int shp_dropout_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                     int nout)
{
    int rc = shp_alias_eval(params, in, nin, out, 1);
    if (rc < 0 || nout < 2 || !out[1].data) return rc;
    /* Nothing is dropped at inference: the mask is all true (1 of the input's
     * type before opset 10). */
    uint8_t one[8];
    rc = shp_scalar_from_double(out[1].dtype, 1.0, one);
    if (rc < 0) return rc;
    shp_fill(out[1].data, one, ir_dtype_size(out[1].dtype), ir_tensor_numel(&out[1]));
    return 0;
}
