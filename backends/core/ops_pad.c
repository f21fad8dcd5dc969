/* Pad: pads and value attributes before opset 11; pads and optional
 * constant_value inputs from 11 on. Modes constant, reflect and edge;
 * negative pads crop. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum pad_mode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE };

struct pad_params {
    int ndim;
    int mode;         /* enum pad_mode */
    bool value_input; /* constant value comes from input 2 when present */
    uint8_t value[8]; /* else this, in the data's dtype */
    int64_t begin[IR_MAX_DIMS];
};

int shp_pad_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    bool inputs = n->opset >= 11;
    int rc = ir_node_inputs_check(g, n, inputs ? 2 : 1, inputs ? 3 : 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t pads[2 * IR_MAX_DIMS];
    int count;
    if (inputs) {
        count = ir_node_input_ints(g, n, 1, pads, 2 * IR_MAX_DIMS, err, errlen);
        if (count < 0) return count;
    } else {
        const int64_t *a;
        count = ir_node_attr_ints(n, "pads", &a);
        if (!ir_node_attr(n, "pads"))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "attribute 'pads' is missing");
        if (count > 2 * IR_MAX_DIMS)
            count = 2 * IR_MAX_DIMS + 1;
        else if (count > 0)
            memcpy(pads, a, sizeof(*pads) * (size_t)count);
    }
    if (count != 2 * rank)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "pads has %d values, expected %d (2 x rank %d)", count, 2 * rank,
                             rank);

    struct pad_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->ndim = rank;
    const char *mode = ir_node_attr_string(n, "mode");
    if (!mode || strcmp(mode, "constant") == 0)
        p->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        p->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        p->mode = PAD_EDGE;
    else
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "mode '%s' is not supported (constant, reflect, edge)", mode);

    if (inputs) {
        const struct ir_value *v = ir_node_input(g, n, 2);
        if (v && ir_shape_numel(&v->shape) != 1 && !shp_input_empty(g, n, 2))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "constant_value '%s' must be a scalar", v->name);
        if (v && !shp_input_empty(g, n, 2) && v->dtype != x->dtype)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "constant_value '%s' has dtype %s, data has %s", v->name,
                                 ir_dtype_name(v->dtype), ir_dtype_name(x->dtype));
        p->value_input = v && !shp_input_empty(g, n, 2);
        /* Absent: zero, which the zeroed params already hold for every dtype. */
    } else {
        rc = shp_scalar_from_double(x->dtype, ir_node_attr_float(n, "value", 0.0f), p->value);
        if (rc < 0)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "dtype %s is not supported", ir_dtype_name(x->dtype));
    }

    struct ir_shape s = { .ndim = rank };
    for (int i = 0; i < rank; i++) {
        int64_t d = x->shape.dims[i], b = pads[i], e = pads[i + rank];
        if (__builtin_add_overflow(d, b, &s.dims[i]) ||
            __builtin_add_overflow(s.dims[i], e, &s.dims[i]) || s.dims[i] < 0) {
            char buf[160];
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "pads %s crop axis %d of size %lld below zero",
                                 shp_ints_str(pads, count, buf, sizeof(buf)), i, (long long)d);
        }
        if (p->mode != PAD_CONSTANT && d == 0 && s.dims[i] > 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "cannot pad empty axis %d in %s mode", i, mode);
        p->begin[i] = b;
    }
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

/* Source index along one axis for output position o, or -1 for the constant. */
static int64_t pad_source(int mode, int64_t o, int64_t begin, int64_t dim)
{
    int64_t i = o - begin;
    if (i >= 0 && i < dim) return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : dim - 1;
    case PAD_REFLECT: {
        if (dim == 1) return 0;
        /* Mirror without repeating the edge (numpy's reflect), periodically
         * for pads longer than the axis. */
        int64_t period = 2 * (dim - 1);
        int64_t m = i % period;
        if (m < 0) m += period;
        return m < dim ? m : period - m;
    }
    default: return -1;
    }
}

int shp_pad_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct pad_params *p = params;
    const struct ir_tensor *x = &in[0];
    size_t esize = ir_dtype_size(x->dtype);
    const void *value = p->value;
    if (p->value_input && nin > 2 && in[2].dtype == x->dtype && in[2].data) value = in[2].data;
    int nd = p->ndim;
    int64_t total = ir_tensor_numel(&out[0]);
    if (total == 0) return 0;
    if (nd == 0) {
        memcpy(out[0].data, x->data, esize);
        return 0;
    }

    /* Per axis, the source index of every output position (-1: constant). */
    int64_t nmap = 0, at[IR_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        at[i] = nmap;
        nmap += out[0].dims[i];
    }
    int64_t *map = malloc(sizeof(*map) * (size_t)nmap);
    if (!map) return -ENOMEM;
    for (int i = 0; i < nd; i++)
        for (int64_t o = 0; o < out[0].dims[i]; o++)
            map[at[i] + o] = pad_source(p->mode, o, p->begin[i], x->dims[i]);

    int64_t strides[IR_MAX_DIMS], idx[IR_MAX_DIMS] = { 0 };
    shp_strides(nd, x->dims, strides);
    int64_t inner = out[0].dims[nd - 1];
    const int64_t *inner_map = map + at[nd - 1];
    const char *src = x->data;
    char *dst = out[0].data;
    for (int64_t r = 0; r < total / inner; r++) {
        /* Source row offset, or -1 when an outer axis is in the padding. */
        int64_t row = 0;
        for (int i = 0; i < nd - 1 && row >= 0; i++) {
            int64_t s = map[at[i] + idx[i]];
            row = s < 0 ? -1 : row + s * strides[i];
        }
        for (int64_t j = 0; j < inner; j++, dst += esize) {
            int64_t s = row < 0 ? -1 : inner_map[j];
            memcpy(dst, s < 0 ? value : src + (size_t)(row + s) * esize, esize);
        }
        for (int i = nd - 2; i >= 0; i--) {
            if (++idx[i] < out[0].dims[i]) break;
            idx[i] = 0;
        }
    }
    free(map);
    return 0;
}
