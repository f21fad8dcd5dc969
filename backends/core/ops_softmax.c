/* Softmax and LogSoftmax, in both the opset < 13 form (the input coerced to
 * 2-D at axis, default 1) and the opset >= 13 form (one axis, default -1). */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

int ir_softmax_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_softmax_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 0, err, errlen);
    if (rc < 0) return rc;
    p->log = strcmp(n->op_type, "LogSoftmax") == 0;
    const struct ir_shape *s = &ir_node_input(g, n, 0)->shape;
    bool coerce_2d = n->opset < 13;
    int64_t attr = ir_node_attr_int(n, "axis", coerce_2d ? 1 : -1);
    int axis = ir_axis_normalize(attr, s->ndim);
    if (axis < 0) {
        char ss[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "axis %" PRId64 " is out of range for input shape %s", attr,
                             ir_shape_str(s, ss, sizeof(ss)));
    }
    p->outer = nn_prod(s->dims, 0, axis);
    if (coerce_2d) {
        p->len = nn_prod(s->dims, axis, s->ndim);
        p->inner = 1;
    } else {
        p->len = s->dims[axis];
        p->inner = nn_prod(s->dims, axis + 1, s->ndim);
    }
    return ir_node_output_set(g, n, 0, IR_DT_F32, s, err, errlen);
}

int ir_softmax_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                    int nout)
{
    const struct ir_softmax_params *p = params;
    (void)nin;
    (void)nout;
    const float *x = in[0].data;
    float *y = out[0].data;
    /* Each element of x is read before the same element of y is written, so
     * y may alias x. */
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            const float *xr = x + o * p->len * p->inner + i;
            float *yr = y + o * p->len * p->inner + i;
            double max = -INFINITY, sum = 0.0;
            for (int64_t j = 0; j < p->len; j++)
                if (xr[j * p->inner] > max) max = xr[j * p->inner];
            for (int64_t j = 0; j < p->len; j++) {
                double e = exp((double)xr[j * p->inner] - max);
                sum += e;
                if (!p->log) yr[j * p->inner] = (float)e;
            }
            for (int64_t j = 0; j < p->len; j++) {
                if (p->log)
                    yr[j * p->inner] = (float)((double)xr[j * p->inner] - max - log(sum));
                else
                    yr[j * p->inner] = (float)(yr[j * p->inner] / sum);
            }
        }
    return 0;
}
