/* Graph inputs: their tensor types, symbolic dims, and the bindings that
 * give them shapes or freeze them into constants. */
#include "onnx_importer.h"

#include "inferd_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- graph inputs -------------------------------------------------------- */

/* The binding for graph input `name`, which is runtime input number pos (-1
 * for an initializer): by name, or else a nameless binding at position pos. */
static const struct ir_import_input *binding_find(struct importer *im, const char *name, long pos)
{
    for (size_t i = 0; i < im->opts->ninputs; i++) {
        const struct ir_import_input *b = &im->opts->inputs[i];
        if (b->name && strcmp(b->name, name) == 0) {
            im->bound[i] = true;
            return b;
        }
    }
    if (pos >= 0 && (size_t)pos < im->opts->ninputs && !im->opts->inputs[pos].name) {
        im->bound[pos] = true;
        return &im->opts->inputs[pos];
    }
    return NULL;
}

static int input_error(struct importer *im, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int input_error(struct importer *im, int code, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ir_graph_error(im->g, code, im->err, im->errlen, "%s", msg);
}

/* The tensor type of vi into dtype, shape (symbolic dims filled in) and
 * fixed[] (dims the model gives a number). *have_shape is false when the
 * model leaves the rank open. */
static int input_type(struct importer *im, const Onnx__ValueInfoProto *vi, int *dtype,
                      struct ir_shape *shape, bool *fixed, bool *have_shape)
{
    const char *name = vi->name;
    int64_t sym = im->opts->symbolic_dim > 0 ? im->opts->symbolic_dim : 1;
    *dtype = IR_DT_UNDEFINED;
    *have_shape = false;
    if (!vi->type) return 0;
    const Onnx__TypeProto__Tensor *tt =
        vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? vi->type->tensor_type : NULL;
    if (!tt)
        return input_error(im, INFERD_E_UNSUPPORTED,
                           "graph input '%s' is not a tensor (sequences, maps and optionals are "
                           "not supported)",
                           name);
    *dtype = tt->has_elem_type ? tt->elem_type : IR_DT_UNDEFINED;
    if (!tt->shape) return 0;
    if (tt->shape->n_dim > IR_MAX_DIMS)
        return input_error(im, INFERD_E_UNSUPPORTED,
                           "graph input '%s' has rank %zu (at most %d is supported)", name,
                           tt->shape->n_dim, IR_MAX_DIMS);
    shape->ndim = (int)tt->shape->n_dim;
    for (int i = 0; i < shape->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        /* Some exporters write -1 for "unknown": treat it as a named dim. */
        fixed[i] = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                   d->dim_value >= 0;
        shape->dims[i] = fixed[i] ? d->dim_value : sym;
    }
    *have_shape = true;
    return 0;
}

static int input_bind(struct importer *im, const char *name, const struct ir_import_input *b,
                      int *dtype, struct ir_shape *shape, const bool *fixed, bool *have_shape)
{
    const struct ir_tensor *t = b->tensor;
    if (!t) return input_error(im, INFERD_E_BAD_INPUT, "input '%s' is bound to no tensor", name);
    if (*dtype != IR_DT_UNDEFINED && t->dtype != *dtype)
        return input_error(im, INFERD_E_BAD_INPUT,
                           "input '%s' is %s, but the tensor bound to it is %s", name,
                           onnx_dtype_name(*dtype), onnx_dtype_name(t->dtype));
    if (t->ndim < 0 || t->ndim > IR_MAX_DIMS)
        return input_error(im, INFERD_E_BAD_INPUT,
                           "the tensor bound to input '%s' has rank %d (at most %d is supported)",
                           name, t->ndim, IR_MAX_DIMS);
    if (*have_shape && t->ndim != shape->ndim)
        return input_error(im, INFERD_E_BAD_INPUT,
                           "input '%s' has rank %d, but the tensor bound to it has rank %d", name,
                           shape->ndim, t->ndim);
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < 0)
            return input_error(im, INFERD_E_BAD_INPUT,
                               "the tensor bound to input '%s' has a negative dim", name);
        if (*have_shape && fixed[i] && shape->dims[i] != t->dims[i]) {
            char want[160], got[160];
            struct ir_shape ts = { .ndim = t->ndim };
            memcpy(ts.dims, t->dims, sizeof(ts.dims));
            ir_shape_str(shape, want, sizeof(want));
            ir_shape_str(&ts, got, sizeof(got));
            return input_error(im, INFERD_E_BAD_INPUT,
                               "input '%s' has shape %s, but the tensor bound to it has %s (dim "
                               "%d differs)",
                               name, want, got, i);
        }
    }
    *dtype = t->dtype;
    shape->ndim = t->ndim;
    memcpy(shape->dims, t->dims, sizeof(shape->dims));
    *have_shape = true;
    return 0;
}

static int input_setup(struct importer *im, int v, const Onnx__ValueInfoProto *vi, long pos)
{
    struct ir_graph *g = im->g;
    const char *name = vi->name;
    struct ir_shape shape = { 0 };
    bool fixed[IR_MAX_DIMS] = { false };
    bool have_shape;
    int dtype;
    int rc = input_type(im, vi, &dtype, &shape, fixed, &have_shape);
    if (rc < 0) return rc;
    const struct ir_import_input *b = binding_find(im, name, pos);
    if (b) {
        rc = input_bind(im, name, b, &dtype, &shape, fixed, &have_shape);
        if (rc < 0) return rc;
    }
    if (dtype == IR_DT_UNDEFINED)
        return input_error(im, INFERD_E_BAD_MODEL, "graph input '%s' has no data type", name);
    if (ir_dtype_size(dtype) == 0)
        return input_error(im, INFERD_E_UNSUPPORTED,
                           "graph input '%s' has data type %s, which is not supported", name,
                           onnx_dtype_name(dtype));
    if (!have_shape)
        return input_error(im, INFERD_E_UNSUPPORTED,
                           "graph input '%s' has no shape (bind a tensor to it to give one)", name);
    char dims[160];
    int64_t numel = ir_shape_numel(&shape);
    if (numel < 0)
        return input_error(im, INFERD_E_BAD_MODEL,
                           "graph input '%s' dims %s overflow (their product does not fit in 64 "
                           "bits)",
                           name, ir_shape_str(&shape, dims, sizeof(dims)));
    if (numel > g->limits.max_elements)
        return input_error(im, INFERD_E_TOO_LARGE,
                           "graph input '%s' dims %s have %lld elements, which exceeds the limit "
                           "of %lld",
                           name, ir_shape_str(&shape, dims, sizeof(dims)), (long long)numel,
                           (long long)g->limits.max_elements);
    struct ir_value *val = &g->values[v];
    val->dtype = dtype;
    val->shape = shape;
    val->shape_known = true;
    if (b && b->freeze) {
        size_t nbytes = (size_t)numel * ir_dtype_size(dtype);
        if (!b->tensor->data || b->tensor->nbytes != nbytes)
            return input_error(im, INFERD_E_BAD_INPUT,
                               "the tensor frozen into input '%s' has %zu bytes of data, its dims "
                               "need %zu",
                               name, b->tensor->data ? b->tensor->nbytes : 0, nbytes);
        void *p = ir_alloc(nbytes);
        if (!p) return onnx_import_oom(im);
        if (nbytes) memcpy(p, b->tensor->data, nbytes);
        ir_value_set_const(g, v, &shape, p, nbytes);
        return 0;
    }
    val->flags |= IR_VALUE_INPUT;
    g->inputs[g->ninputs++] = v;
    return 0;
}

int onnx_import_inputs(struct importer *im)
{
    struct ir_graph *g = im->g;
    g->inputs = malloc(sizeof(int) * (im->inputs.n ? im->inputs.n : 1));
    if (!g->inputs) return onnx_import_oom(im);
    long runtime_pos = 0; /* position among inputs that are not initializers */
    for (size_t i = 0; i < im->inputs.n; i++) {
        const struct span *s = &im->inputs.a[i];
        Onnx__ValueInfoProto *vi =
            onnx__value_info_proto__unpack(&im->alloc, s->len, im->buf + s->off);
        if (!vi) return onnx_import_undecodable(im, "graph input", i);
        int rc = 0;
        const char *name = vi->name;
        if (!name || !*name) {
            rc = onnx_import_bad(im, "graph input %zu has no name", i);
            goto next;
        }
        if (onnx_import_is_initializer(im, name)) {
            /* An old-style input with an initializer: a constant, not fed at run. */
            if (binding_find(im, name, -1))
                rc = input_error(im, INFERD_E_BAD_INPUT,
                                 "input '%s' is an initializer (a constant) and cannot be bound",
                                 name);
            goto next;
        }
        int v = onnx_import_value_ref(im, name);
        if (v < 0) {
            rc = onnx_import_oom(im);
            goto next;
        }
        if (g->values[v].flags & IR_VALUE_INPUT) {
            rc = onnx_import_bad(im, "graph input '%s' is listed twice", name);
            goto next;
        }
        rc = input_setup(im, v, vi, runtime_pos++);
    next:
        protobuf_c_message_free_unpacked(&vi->base, &im->alloc);
        if (rc < 0) return rc;
    }
    for (size_t i = 0; i < im->opts->ninputs; i++)
        if (!im->bound[i])
            return im->opts->inputs[i].name
                       ? input_error(im, INFERD_E_BAD_INPUT, "there is no graph input named '%s'",
                                     im->opts->inputs[i].name)
                       : input_error(im, INFERD_E_BAD_INPUT,
                                     "%zu tensors given, the graph has %ld runtime input%s",
                                     im->opts->ninputs, runtime_pos, runtime_pos == 1 ? "" : "s");
    return 0;
}
