/* Gather, and the ops that make tensors out of shapes or attributes: Shape,
 * Constant, ConstantOfShape. Shape and Constant make their output a constant
 * during infer, since everything they need is known at load. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <string.h>

struct gather_params {
    int axis;
};

static int64_t index_at(const struct ir_tensor *t, int64_t i)
{
    if (t->dtype == IR_DT_I32) return ((const int32_t *)t->data)[i];
    return ((const int64_t *)t->data)[i];
}

int shp_gather_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    const struct ir_value *idx = ir_node_input(g, n, 1);
    int rank = x->shape.ndim;
    if (rank < 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input 0 '%s' is a scalar; Gather needs rank >= 1", x->name);
    if (idx->dtype != IR_DT_I64 && idx->dtype != IR_DT_I32)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "indices '%s' have dtype %s, expected int64 or int32", idx->name,
                             ir_dtype_name(idx->dtype));
    int64_t a = ir_node_attr_int(n, "axis", 0);
    int axis = ir_axis_normalize(a, rank);
    if (axis < 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %lld is out of range for rank %d", (long long)a, rank);
    int out_rank = rank - 1 + idx->shape.ndim;
    if (out_rank > IR_MAX_DIMS)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "output would have rank %d (at most %d supported)", out_rank,
                             IR_MAX_DIMS);
    int64_t dim = x->shape.dims[axis];
    if ((idx->flags & IR_VALUE_CONST) && idx->data) {
        struct ir_tensor t;
        ir_value_tensor(g, n->in[1], &t);
        int64_t count = ir_tensor_numel(&t);
        for (int64_t i = 0; i < count; i++) {
            int64_t v = index_at(&t, i);
            if (v < -dim || v >= dim)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "index %lld is out of range for axis %d of size %lld",
                                     (long long)v, axis, (long long)dim);
        }
    }
    struct gather_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->axis = axis;
    struct ir_shape s = { .ndim = out_rank };
    int k = 0;
    for (int i = 0; i < axis; i++) s.dims[k++] = x->shape.dims[i];
    for (int i = 0; i < idx->shape.ndim; i++) s.dims[k++] = idx->shape.dims[i];
    for (int i = axis + 1; i < rank; i++) s.dims[k++] = x->shape.dims[i];
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_gather_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                    int nout)
{
    const struct gather_params *p = params;
    const struct ir_tensor *x = &in[0], *idx = &in[1];
    size_t esize = ir_dtype_size(x->dtype);
    int64_t outer = 1, inner = 1, dim = x->dims[p->axis];
    for (int i = 0; i < p->axis; i++) outer *= x->dims[i];
    for (int i = p->axis + 1; i < x->ndim; i++) inner *= x->dims[i];
    int64_t count = ir_tensor_numel(idx);
    size_t chunk = (size_t)inner * esize;
    const char *src = x->data;
    char *dst = out[0].data;
    /* Check every index before writing anything. */
    for (int64_t j = 0; j < count; j++) {
        int64_t v = index_at(idx, j);
        if (v < -dim || v >= dim) return INFERD_E_BAD_INPUT;
    }
    if (chunk == 0) return 0;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < count; j++) {
            int64_t v = index_at(idx, j);
            if (v < 0) v += dim;
            memcpy(dst, src + (size_t)(o * dim + v) * chunk, chunk);
            dst += chunk;
        }
    }
    return 0;
}

/* --- Shape ------------------------------------------------------------- */

struct shape_params {
    int start, end;
};

int shp_shape_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    int64_t start = 0, end = rank;
    if (n->opset >= 15) {
        start = ir_node_attr_int(n, "start", 0);
        end = ir_node_attr_int(n, "end", rank);
    }
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    if (end < start) end = start;
    struct shape_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->start = (int)start;
    p->end = (int)end;
    struct ir_shape s = { .ndim = 1, .dims = { end - start } };
    rc = ir_node_output_set(g, n, 0, IR_DT_I64, &s, err, errlen);
    if (rc < 0 || n->out[0] < 0) return rc;
    int64_t *data = ir_alloc(sizeof(int64_t) * (size_t)s.dims[0]);
    if (!data) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    for (int64_t i = start; i < end; i++) data[i - start] = x->shape.dims[i];
    ir_value_set_const(g, n->out[0], &s, data, sizeof(int64_t) * (size_t)s.dims[0]);
    return 0;
}

int shp_shape_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct shape_params *p = params;
    int64_t *dst = out[0].data;
    for (int i = p->start; i < p->end && i < in[0].ndim; i++) dst[i - p->start] = in[0].dims[i];
    return 0;
}

/* --- Constant ---------------------------------------------------------- */

int shp_constant_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 0, 0, err, errlen);
    if (rc < 0) return rc;
    const struct ir_attr *a = NULL;
    int nattrs = 0;
    for (int i = 0; i < n->nattr; i++) {
        const char *name = n->attrs[i].name;
        if (strcmp(name, "value") == 0 || strcmp(name, "sparse_value") == 0 ||
            strncmp(name, "value_", 6) == 0) {
            a = &n->attrs[i];
            nattrs++;
        }
    }
    if (nattrs != 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "needs exactly one value attribute, has %d", nattrs);
    struct ir_shape s = { .ndim = 0 };
    int dtype;
    const void *src;
    int64_t count = 1;
    if (strcmp(a->name, "value") == 0 && a->type == IR_ATTR_TENSOR && a->t) {
        const struct ir_tensor *t = a->t;
        dtype = t->dtype;
        if (t->ndim < 0 || t->ndim > IR_MAX_DIMS)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "value has rank %d (at most %d supported)", t->ndim, IR_MAX_DIMS);
        s.ndim = t->ndim;
        memcpy(s.dims, t->dims, sizeof(s.dims[0]) * (size_t)t->ndim);
        count = ir_shape_numel(&s);
        if (ir_dtype_size(dtype) == 0)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "value has unsupported dtype %s", ir_dtype_name(dtype));
        if (count < 0 || (uint64_t)count > SIZE_MAX / ir_dtype_size(dtype) ||
            (size_t)count * ir_dtype_size(dtype) != t->nbytes || (count > 0 && !t->data))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "value holds %zu bytes, its dims and dtype say otherwise",
                                 t->nbytes);
        src = t->data;
    } else if (strcmp(a->name, "value_float") == 0 && a->type == IR_ATTR_FLOAT && n->opset >= 12) {
        dtype = IR_DT_F32;
        src = &a->f;
    } else if (strcmp(a->name, "value_floats") == 0 && a->type == IR_ATTR_FLOATS &&
               n->opset >= 12) {
        dtype = IR_DT_F32;
        s.ndim = 1;
        s.dims[0] = count = a->n;
        src = a->floats;
    } else if (strcmp(a->name, "value_int") == 0 && a->type == IR_ATTR_INT && n->opset >= 12) {
        dtype = IR_DT_I64;
        src = &a->i;
    } else if (strcmp(a->name, "value_ints") == 0 && a->type == IR_ATTR_INTS && n->opset >= 12) {
        dtype = IR_DT_I64;
        s.ndim = 1;
        s.dims[0] = count = a->n;
        src = a->ints;
    } else {
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "attribute '%s' is not supported", a->name);
    }
    rc = ir_node_output_set(g, n, 0, dtype, &s, err, errlen);
    if (rc < 0 || n->out[0] < 0) return rc;
    size_t nbytes = (size_t)count * ir_dtype_size(dtype);
    void *data = ir_alloc(nbytes);
    if (!data) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    if (nbytes) memcpy(data, src, nbytes);
    ir_value_set_const(g, n->out[0], &s, data, nbytes);
    return 0;
}

/* --- ConstantOfShape -------------------------------------------------- */

struct constant_of_shape_params {
    uint8_t value[8];
};

int shp_constant_of_shape_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (x->shape.ndim != 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input '%s' must be 1-D, has rank %d", x->name, x->shape.ndim);
    struct ir_shape s = { .ndim = 0 };
    if (x->shape.dims[0] > 0) {
        s.ndim = ir_node_input_ints(g, n, 0, s.dims, IR_MAX_DIMS, err, errlen);
        if (s.ndim < 0) return s.ndim;
    }
    struct constant_of_shape_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int dtype = IR_DT_F32; /* default: float 0, which the zeroed params hold */
    const struct ir_attr *a = ir_node_attr(n, "value");
    if (a) {
        const struct ir_tensor *t = a->type == IR_ATTR_TENSOR ? a->t : NULL;
        size_t esize = t ? ir_dtype_size(t->dtype) : 0;
        if (!t || esize == 0 || ir_tensor_numel(t) != 1 || t->nbytes != esize || !t->data)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "attribute 'value' must be a one-element tensor");
        dtype = t->dtype;
        memcpy(p->value, t->data, esize);
    }
    return ir_node_output_set(g, n, 0, dtype, &s, err, errlen);
}

int shp_constant_of_shape_eval(const void *params, const struct ir_tensor *in, int nin,
                               struct ir_tensor *out, int nout)
{
    const struct constant_of_shape_params *p = params;
    shp_fill(out[0].data, p->value, ir_dtype_size(out[0].dtype), ir_tensor_numel(&out[0]));
    return 0;
}
