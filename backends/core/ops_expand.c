/* Expand (bidirectional broadcast to a shape) and Tile (repeat along each
 * axis): both read the input through a view whose repeated dims have stride 0. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <string.h>

int shp_expand_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    struct ir_shape want = { .ndim = 0 };
    want.ndim = ir_node_input_ints(g, n, 1, want.dims, IR_MAX_DIMS, err, errlen);
    if (want.ndim < 0) return want.ndim;
    char b0[160], b1[160];
    for (int i = 0; i < want.ndim; i++)
        if (want.dims[i] < 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "shape %s has a negative dim",
                                 ir_shape_str(&want, b1, sizeof(b1)));
    struct ir_shape s;
    if (ir_shape_broadcast(&x->shape, &want, &s) < 0)
        return ir_node_error(
            g, n, INFERD_E_BAD_MODEL, err, errlen, "input %s cannot be broadcast to shape %s",
            ir_shape_str(&x->shape, b0, sizeof(b0)), ir_shape_str(&want, b1, sizeof(b1)));
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_expand_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                    int nout)
{
    const struct ir_tensor *x = &in[0];
    int nd = out[0].ndim, lead = nd - x->ndim;
    if (lead < 0) return INFERD_E_INTERNAL;
    int64_t in_strides[IR_MAX_DIMS], strides[IR_MAX_DIMS];
    shp_strides(x->ndim, x->dims, in_strides);
    for (int i = 0; i < nd; i++) {
        int j = i - lead;
        strides[i] = j < 0 || x->dims[j] == 1 ? 0 : in_strides[j];
    }
    shp_strided_copy(out[0].data, x->data, ir_dtype_size(x->dtype), nd, out[0].dims, strides, 0);
    return 0;
}

int shp_tile_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t repeats[IR_MAX_DIMS];
    int count = ir_node_input_ints(g, n, 1, repeats, IR_MAX_DIMS, err, errlen);
    if (count < 0) return count;
    char buf[160];
    if (count != rank)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "repeats %s has %d values, input has rank %d",
                             shp_ints_str(repeats, count, buf, sizeof(buf)), count, rank);
    struct ir_shape s = { .ndim = rank };
    for (int i = 0; i < rank; i++) {
        if (repeats[i] < 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "repeats %s has a negative value",
                                 shp_ints_str(repeats, count, buf, sizeof(buf)));
        if (__builtin_mul_overflow(x->shape.dims[i], repeats[i], &s.dims[i]))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "output dims overflow");
    }
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_tile_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                  int nout)
{
    const struct ir_tensor *x = &in[0];
    if (out[0].ndim != x->ndim) return INFERD_E_INTERNAL;
    if (ir_tensor_numel(&out[0]) == 0) return 0;
    /* Output [r0, d0, r1, d1, ...] read with stride 0 over each r. */
    int64_t in_strides[IR_MAX_DIMS], dims[SHP_MAX_VIEW_DIMS], strides[SHP_MAX_VIEW_DIMS];
    shp_strides(x->ndim, x->dims, in_strides);
    for (int i = 0; i < x->ndim; i++) {
        dims[2 * i] = out[0].dims[i] / x->dims[i];
        strides[2 * i] = 0;
        dims[2 * i + 1] = x->dims[i];
        strides[2 * i + 1] = in_strides[i];
    }
    shp_strided_copy(out[0].data, x->data, ir_dtype_size(x->dtype), 2 * x->ndim, dims, strides, 0);
    return 0;
}
