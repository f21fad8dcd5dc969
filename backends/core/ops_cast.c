/* Operators: Cast and CastLike between float16/32/64, the integers and bool.
 *
 * Each element goes through the widest representation of its kind (double
 * for floats, int64 or uint64 for integers) and is stored from there: float
 * to integer truncates toward zero and saturates (ONNX leaves out-of-range
 * values undefined; C would make them undefined behaviour), integer to
 * narrower integer wraps as numpy does, anything to bool is "non-zero". */
#include "ops_elementwise.h"

#include "inferd_error.h"

#include <errno.h>
#include <string.h>

struct cast_params {
    int from, to;
};

static bool cast_dtype_ok(int dtype)
{
    return ew_dtype_is_float(dtype) || ew_dtype_is_int(dtype) || dtype == IR_DT_BOOL;
}

static int cast_setup(struct ir_graph *g, struct ir_node *n, int64_t to, char *err, size_t errlen)
{
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (!cast_dtype_ok(x->dtype)) return ew_dtype_unsupported(g, n, 0, err, errlen);
    if (to < 0 || to > INT32_MAX || !cast_dtype_ok((int)to))
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "cannot cast to dtype %s (ONNX type %lld)", ir_dtype_name((int)to),
                             (long long)to);
    struct cast_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->from = x->dtype;
    p->to = (int)to;
    return ir_node_output_set(g, n, 0, p->to, &x->shape, err, errlen);
}

int ew_cast_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_attr *to = ir_node_attr(n, "to");
    if (!to || to->type != IR_ATTR_INT)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "the integer attribute 'to' is missing");
    return cast_setup(g, n, to->i, err, errlen);
}

int ew_castlike_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    return cast_setup(g, n, ir_node_input(g, n, 1)->dtype, err, errlen);
}

int ew_cast_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct cast_params *p = params;
    if (!p || nin < 1 || nout < 1 || !cast_dtype_ok(p->from) || !cast_dtype_ok(p->to) ||
        !ew_tensor_ok(&in[0], p->from) || !ew_tensor_ok(&out[0], p->to))
        return -EINVAL;
    const int64_t total = ir_tensor_numel(&out[0]);
    if (ir_tensor_numel(&in[0]) != total) return -EINVAL;
    const void *x = in[0].data;
    void *y = out[0].data;
    if (p->from == p->to) {
        if (total > 0) memmove(y, x, (size_t)total * ir_dtype_size(p->to));
    } else if (ew_dtype_is_float(p->from)) {
        for (int64_t i = 0; i < total; i++) ew_store_f64(p->to, y, i, ew_load_f64(p->from, x, i));
    } else if (p->from == IR_DT_U64) {
        const uint64_t *u = x;
        for (int64_t i = 0; i < total; i++) ew_store_u64(p->to, y, i, u[i]);
    } else {
        for (int64_t i = 0; i < total; i++) ew_store_i64(p->to, y, i, ew_load_i64(p->from, x, i));
    }
    return 0;
}
