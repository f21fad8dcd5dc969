/* MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool: shape inference
 * and one reference kernel for all four, over any number of spatial axes. */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Checks X [N, C, D...] float32 (or, for MaxPool from opset 12, int8 and
 * uint8); sets p->nspatial. */
static int pool_input_check(struct ir_graph *g, struct ir_node *n, struct ir_pool_params *p,
                            char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    bool bytes_ok = strcmp(n->op_type, "MaxPool") == 0 && n->opset >= 12;
    if (!(bytes_ok && (x->dtype == IR_DT_U8 || x->dtype == IR_DT_I8))) {
        rc = nn_check_f32(g, n, 0, 0, err, errlen);
        if (rc < 0) return rc;
    }
    if (x->shape.ndim < 3) {
        char xs[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input shape %s: expected [N,C,D...] with at least one spatial axis",
                             ir_shape_str(&x->shape, xs, sizeof(xs)));
    }
    p->nspatial = x->shape.ndim - 2;
    return 0;
}

/* MaxPool and AveragePool: kernel_shape, strides, pads, auto_pad, dilations,
 * ceil_mode; output [N, C, out...]. */
static int pool_window_infer(struct ir_graph *g, struct ir_node *n, struct ir_pool_params *p,
                             char *err, size_t errlen)
{
    int rc = pool_input_check(g, n, p, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int nsp = p->nspatial;
    if (!ir_node_attr(n, "kernel_shape"))
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "attribute kernel_shape is required");
    struct nn_window win = { .nspatial = nsp };
    memcpy(win.in, x->shape.dims + 2, sizeof(int64_t) * (size_t)nsp);
    rc = nn_attr_ints(g, n, "kernel_shape", nsp, 1, 1, win.kernel, err, errlen);
    if (rc == 0) rc = nn_window_attrs(g, n, &win, err, errlen);
    if (rc < 0) return rc;
    win.ceil_mode = ir_node_attr_int(n, "ceil_mode", 0) != 0;
    rc = nn_window_resolve(g, n, &win, err, errlen);
    if (rc < 0) return rc;
    p->ceil_mode = win.ceil_mode;
    memcpy(p->kernel, win.kernel, sizeof(p->kernel));
    memcpy(p->strides, win.strides, sizeof(p->strides));
    memcpy(p->dilations, win.dilations, sizeof(p->dilations));
    memcpy(p->pads, win.pads, sizeof(p->pads));

    struct ir_shape out = x->shape;
    memcpy(out.dims + 2, win.out, sizeof(int64_t) * (size_t)nsp);
    rc = ir_node_output_set(g, n, 0, x->dtype, &out, err, errlen);
    if (rc == 0 && p->kind == IR_POOL_MAX)
        rc = ir_node_output_set(g, n, 1, IR_DT_I64, &out, err, errlen);
    return rc;
}

int ir_maxpool_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_pool_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = IR_POOL_MAX;
    int64_t order = ir_node_attr_int(n, "storage_order", 0);
    if (order != 0 && order != 1)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "storage_order %" PRId64 " must be 0 or 1", order);
    p->storage_order = (int)order;
    return pool_window_infer(g, n, p, err, errlen);
}

int ir_avgpool_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_pool_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = IR_POOL_AVG;
    p->count_include_pad = ir_node_attr_int(n, "count_include_pad", 0) != 0;
    if (n->nout > 1 && n->out[1] >= 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "expects 1 output, got %d",
                             n->nout);
    return pool_window_infer(g, n, p, err, errlen);
}

int ir_global_pool_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_pool_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = strcmp(n->op_type, "GlobalMaxPool") == 0 ? IR_POOL_MAX : IR_POOL_AVG;
    p->global = true;
    int rc = pool_input_check(g, n, p, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    struct ir_shape out = x->shape;
    for (int i = 0; i < p->nspatial; i++) {
        p->kernel[i] = x->shape.dims[2 + i];
        p->strides[i] = p->dilations[i] = 1;
        out.dims[2 + i] = 1;
        if (p->kernel[i] < 1)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "cannot pool over an empty spatial axis %d", i);
    }
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

/* Element i of a float32, int8 or uint8 tensor, as a float (exact). */
static float load(const void *data, int dtype, int64_t i)
{
    if (dtype == IR_DT_U8) return ((const uint8_t *)data)[i];
    if (dtype == IR_DT_I8) return ((const int8_t *)data)[i];
    return ((const float *)data)[i];
}

static void store(void *data, int dtype, int64_t i, float v)
{
    if (dtype == IR_DT_U8)
        ((uint8_t *)data)[i] = (uint8_t)v;
    else if (dtype == IR_DT_I8)
        ((int8_t *)data)[i] = (int8_t)v;
    else
        ((float *)data)[i] = v;
}

int ir_pool_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct ir_pool_params *p = params;
    (void)nin;
    int nsp = p->nspatial;
    const int64_t *xd = in[0].dims + 2, *yd = out[0].dims + 2;
    int64_t planes = in[0].dims[0] * in[0].dims[1];
    int64_t xplane = nn_prod(xd, 0, nsp), yplane = nn_prod(yd, 0, nsp);
    int dtype = in[0].dtype;
    int64_t at = 0; /* output element */
    int64_t *ind = nout > 1 && out[1].data ? out[1].data : NULL;
    if (planes == 0 || yplane == 0) return 0;

    for (int64_t pl = 0; pl < planes; pl++) {
        int64_t base = pl * xplane;
        int64_t o[IR_MAX_DIMS] = { 0 };
        do {
            double sum = 0.0;
            float best = -INFINITY;
            int64_t best_at = -1, best_col = -1; /* -1: no tap inside the input */
            int64_t count = 0, count_padded = 0;
            int64_t k[IR_MAX_DIMS] = { 0 };
            do {
                int64_t off = 0, col = 0, col_stride = 1;
                bool inside = true, in_padded = true;
                for (int i = 0; i < nsp; i++) {
                    int64_t pos = o[i] * p->strides[i] - p->pads[i] + k[i] * p->dilations[i];
                    if (pos < 0 || pos >= xd[i]) inside = false;
                    if (pos >= xd[i] + p->pads[nsp + i]) in_padded = false;
                    off = off * xd[i] + pos;
                    col += pos * col_stride;
                    col_stride *= xd[i];
                }
                if (in_padded) count_padded++;
                if (!inside) continue;
                count++;
                float v = load(in[0].data, dtype, base + off);
                sum += v;
                if (v > best) {
                    best = v;
                    best_at = off;
                    best_col = col;
                }
            } while (nn_next(k, p->kernel, nsp));

            if (p->kind == IR_POOL_MAX) {
                /* An int type has no -inf for a window of padding only. */
                store(out[0].data, dtype, at, best_at < 0 && dtype != IR_DT_F32 ? 0.0f : best);
                if (ind)
                    *ind++ =
                        best_at < 0 ? -1 : pl * xplane + (p->storage_order ? best_col : best_at);
            } else {
                int64_t div = p->count_include_pad ? count_padded : count;
                store(out[0].data, dtype, at, div > 0 ? (float)(sum / (double)div) : 0.0f);
            }
            at++;
        } while (nn_next(o, yd, nsp));
    }
    return 0;
}
