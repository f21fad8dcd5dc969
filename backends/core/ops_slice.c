/* Slice: starts/ends/axes attributes before opset 10; from 10 on, inputs
 * starts, ends and optional axes and steps (negative steps walk backwards).
 * Out-of-range starts and ends are clamped as the ONNX spec says. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <string.h>

/* First element and step per axis of the input; the output's dims give the
 * counts. */
struct slice_params {
    int ndim;
    int64_t start[IR_MAX_DIMS];
    int64_t step[IR_MAX_DIMS];
};

/* Reads list `what` (attribute before opset 10, input k after) into v. Returns
 * the count or a negative code; *given tells whether the list exists. */
static int slice_list(struct ir_graph *g, const struct ir_node *n, const char *what, int k,
                      int64_t *v, bool *given, char *err, size_t errlen)
{
    if (n->opset < 10) {
        const int64_t *a;
        *given = ir_node_attr(n, what) != NULL;
        int count = ir_node_attr_ints(n, what, &a);
        if (count > IR_MAX_DIMS)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "'%s' has %d values, more than the input's rank", what, count);
        if (count > 0) memcpy(v, a, sizeof(*v) * (size_t)count);
        return count;
    }
    *given = ir_node_input(g, n, k) != NULL;
    if (!*given) return 0;
    if (shp_input_empty(g, n, k)) return 0;
    return ir_node_input_ints(g, n, k, v, IR_MAX_DIMS, err, errlen);
}

int shp_slice_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = n->opset < 10 ? ir_node_inputs_check(g, n, 1, 1, err, errlen)
                           : ir_node_inputs_check(g, n, 3, 5, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t starts[IR_MAX_DIMS], ends[IR_MAX_DIMS], axes[IR_MAX_DIMS], steps[IR_MAX_DIMS];
    bool has_starts, has_ends, has_axes, has_steps = false;
    int nstarts = slice_list(g, n, "starts", 1, starts, &has_starts, err, errlen);
    if (nstarts < 0) return nstarts;
    int nends = slice_list(g, n, "ends", 2, ends, &has_ends, err, errlen);
    if (nends < 0) return nends;
    int naxes = slice_list(g, n, "axes", 3, axes, &has_axes, err, errlen);
    if (naxes < 0) return naxes;
    int nsteps = 0;
    if (n->opset >= 10) {
        nsteps = slice_list(g, n, "steps", 4, steps, &has_steps, err, errlen);
        if (nsteps < 0) return nsteps;
    }
    if (!has_starts || !has_ends)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "'starts' and 'ends' are required");
    if (nstarts != nends || (has_axes && naxes != nstarts) || (has_steps && nsteps != nstarts))
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "starts, ends, axes and steps have different lengths (%d, %d, %d, "
                             "%d)",
                             nstarts, nends, has_axes ? naxes : nstarts,
                             has_steps ? nsteps : nstarts);
    if (nstarts > rank)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "%d axes sliced, input has rank %d", nstarts, rank);
    if (!has_axes)
        for (int i = 0; i < nstarts; i++) axes[i] = i;
    rc = shp_axes_normalize(g, n, "axes", axes, nstarts, rank, err, errlen);
    if (rc < 0) return rc;

    struct slice_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->ndim = rank;
    struct ir_shape s = x->shape;
    for (int i = 0; i < rank; i++) {
        p->start[i] = 0;
        p->step[i] = 1;
    }
    for (int i = 0; i < nstarts; i++) {
        int a = (int)axes[i];
        int64_t dim = x->shape.dims[a];
        int64_t step = has_steps ? steps[i] : 1;
        if (step == 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "step of axis %d is 0", a);
        /* A step longer than the axis takes one element at most; clamping it
         * keeps stride * step in range in eval without changing the result. */
        int64_t longest = dim > 1 ? dim : 1;
        if (step > longest) step = longest;
        if (step < -longest) step = -longest;
        int64_t start = starts[i], end = ends[i];
        if (start < 0) start += dim; /* cannot overflow: dim >= 0 */
        if (end < 0) end += dim;
        int64_t count;
        if (dim == 0) {
            count = 0;
        } else if (step > 0) {
            start = start < 0 ? 0 : start > dim ? dim : start;
            end = end < 0 ? 0 : end > dim ? dim : end;
            /* (end - start) fits: both are in [0, dim]. */
            count = end > start ? (end - start - 1) / step + 1 : 0;
        } else {
            start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
            end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
            count = start > end ? (start - end - 1) / -step + 1 : 0;
        }
        if (count == 0) start = 0;
        p->start[a] = start;
        p->step[a] = step;
        s.dims[a] = count;
    }
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_slice_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct slice_params *p = params;
    if (in[0].ndim != p->ndim) return INFERD_E_INTERNAL;
    int64_t in_strides[IR_MAX_DIMS], strides[IR_MAX_DIMS];
    shp_strides(p->ndim, in[0].dims, in_strides);
    int64_t offset = 0;
    for (int i = 0; i < p->ndim; i++) {
        strides[i] = in_strides[i] * p->step[i];
        if (out[0].dims[i] > 0) offset += p->start[i] * in_strides[i];
    }
    shp_strided_copy(out[0].data, in[0].data, ir_dtype_size(in[0].dtype), p->ndim, out[0].dims,
                     strides, offset);
    return 0;
}
