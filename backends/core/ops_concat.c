/* Concat and Split: joining and cutting tensors along one axis. Both copy
 * bytes by element size, so they serve int64 shape arithmetic as well. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct axis_params {
    int axis;
};

/* Split keeps every part's size: an output nobody reads arrives at eval
 * without dims, yet the parts after it still start where it ends. */
struct split_params {
    int axis;
    int nparts;
    int64_t sizes[];
};

int shp_concat_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    if (n->nin < 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "expects at least 1 input");
    int rc = ir_node_inputs_check(g, n, n->nin, n->nin, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x0 = ir_node_input(g, n, 0);
    int rank = x0->shape.ndim;
    const struct ir_attr *a = ir_node_attr(n, "axis");
    if (!a || a->type != IR_ATTR_INT)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "attribute 'axis' is missing");
    int axis = ir_axis_normalize(a->i, rank);
    if (axis < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %lld is out of range for rank %d", (long long)a->i, rank);
    struct ir_shape s = x0->shape;
    s.dims[axis] = 0;
    for (int k = 0; k < n->nin; k++) {
        const struct ir_value *x = ir_node_input(g, n, k);
        char b0[160], bk[160];
        if (x->dtype != x0->dtype)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input %d '%s' has dtype %s, input 0 has %s", k, x->name,
                                 ir_dtype_name(x->dtype), ir_dtype_name(x0->dtype));
        bool same = x->shape.ndim == rank;
        for (int i = 0; same && i < rank; i++)
            if (i != axis && x->shape.dims[i] != x0->shape.dims[i]) same = false;
        if (!same)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input %d '%s' has shape %s, which does not match input 0 %s "
                                 "outside axis %d",
                                 k, x->name, ir_shape_str(&x->shape, bk, sizeof(bk)),
                                 ir_shape_str(&x0->shape, b0, sizeof(b0)), axis);
        if (__builtin_add_overflow(s.dims[axis], x->shape.dims[axis], &s.dims[axis]))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "concatenated axis overflows");
    }
    struct axis_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->axis = axis;
    return ir_node_output_set(g, n, 0, x0->dtype, &s, err, errlen);
}

int shp_concat_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                    int nout)
{
    const struct axis_params *p = params;
    size_t esize = ir_dtype_size(out[0].dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++) outer *= out[0].dims[i];
    for (int i = p->axis + 1; i < out[0].ndim; i++) inner *= out[0].dims[i];
    size_t out_row = (size_t)(out[0].dims[p->axis] * inner) * esize;
    size_t at = 0; /* byte offset of input k's block within an output row */
    for (int k = 0; k < nin; k++) {
        size_t row = (size_t)(in[k].dims[p->axis] * inner) * esize;
        if (row == 0) continue;
        const char *src = in[k].data;
        char *dst = (char *)out[0].data + at;
        for (int64_t o = 0; o < outer; o++) memcpy(dst + o * out_row, src + o * row, row);
        at += row;
    }
    return 0;
}

int shp_split_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, n->opset >= 13 ? 2 : 1, err, errlen);
    if (rc < 0) return rc;
    if (n->nout < 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "expects at least 1 output");
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t a = ir_node_attr_int(n, "axis", 0);
    int axis = ir_axis_normalize(a, rank);
    if (axis < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %lld is out of range for rank %d", (long long)a, rank);
    int64_t dim = x->shape.dims[axis];

    int64_t *sizes = calloc((size_t)n->nout, sizeof(*sizes));
    if (!sizes) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int count = 0;
    if (n->opset < 13) {
        const int64_t *attr;
        count = ir_node_attr_ints(n, "split", &attr);
        if (count > n->nout)
            count = -1;
        else if (count > 0)
            memcpy(sizes, attr, sizeof(*sizes) * (size_t)count);
    } else if (!shp_input_empty(g, n, 1)) {
        const struct ir_value *sv = ir_node_input(g, n, 1);
        if (ir_shape_numel(&sv->shape) > n->nout) {
            count = -1;
        } else {
            count = ir_node_input_ints(g, n, 1, sizes, n->nout, err, errlen);
            if (count < 0) {
                free(sizes);
                return count;
            }
        }
    }
    if (count != 0 && count != n->nout) {
        free(sizes);
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "'split' has %s entries than the %d outputs",
                             count < 0 ? "more" : "fewer", n->nout);
    }
    if (count == 0) {
        if (dim % n->nout != 0) {
            free(sizes);
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "axis %d of size %lld does not split into %d equal parts", axis,
                                 (long long)dim, n->nout);
        }
        for (int k = 0; k < n->nout; k++) sizes[k] = dim / n->nout;
    }
    int64_t sum = 0;
    for (int k = 0; k < n->nout; k++) {
        if (sizes[k] < 0 || __builtin_add_overflow(sum, sizes[k], &sum)) {
            sum = -1;
            break;
        }
    }
    if (sum != dim) {
        char buf[160];
        int shown = n->nout;
        shp_ints_str(sizes, shown, buf, sizeof(buf));
        free(sizes);
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "split sizes %s%s do not sum to the size %lld of axis %d", buf,
                             shown > IR_MAX_DIMS ? "..." : "", (long long)dim, axis);
    }
    struct split_params *p =
        ir_node_params_alloc(n, sizeof(*p) + sizeof(p->sizes[0]) * (size_t)n->nout);
    if (!p) {
        free(sizes);
        return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    }
    p->axis = axis;
    p->nparts = n->nout;
    memcpy(p->sizes, sizes, sizeof(*sizes) * (size_t)n->nout);
    free(sizes);
    for (int k = 0; k < n->nout; k++) {
        struct ir_shape s = x->shape;
        s.dims[axis] = p->sizes[k];
        rc = ir_node_output_set(g, n, k, x->dtype, &s, err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

int shp_split_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct split_params *p = params;
    if (nout != p->nparts) return INFERD_E_INTERNAL;
    size_t esize = ir_dtype_size(in[0].dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++) outer *= in[0].dims[i];
    for (int i = p->axis + 1; i < in[0].ndim; i++) inner *= in[0].dims[i];
    size_t in_row = (size_t)(in[0].dims[p->axis] * inner) * esize;
    size_t at = 0;
    for (int k = 0; k < nout; k++) {
        size_t row = (size_t)(p->sizes[k] * inner) * esize;
        if (row && out[k].data) {
            const char *src = (const char *)in[0].data + at;
            char *dst = out[k].data;
            for (int64_t o = 0; o < outer; o++) memcpy(dst + o * row, src + o * in_row, row);
        }
        at += row;
    }
    return 0;
}
