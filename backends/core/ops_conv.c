/* Conv and ConvTranspose: shape inference and reference kernels for any
 * number of spatial axes, with groups, strides, dilations and padding. */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Checks the parts Conv and ConvTranspose share: X [N, C, D...] and W of the
 * same rank, kernel_shape (when given) equal to W's spatial dims, group >= 1,
 * a float32 bias of `bias_len` elements. Fills p->nspatial, group, kernel,
 * has_bias. */
static int conv_check_common(struct ir_graph *g, struct ir_node *n, struct ir_conv_params *p,
                             char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 3, err, errlen);
    if (rc == 0) rc = nn_check_f32(g, n, 0, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0), *w = ir_node_input(g, n, 1);
    char xs[160], ws[160];
    ir_shape_str(&x->shape, xs, sizeof(xs));
    ir_shape_str(&w->shape, ws, sizeof(ws));
    if (x->shape.ndim < 3)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "input shape %s: expected [N,C,D...] with at least one spatial axis",
                             xs);
    if (w->shape.ndim != x->shape.ndim)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "weight shape %s does not match the rank of input shape %s", ws, xs);
    p->nspatial = x->shape.ndim - 2;
    for (int i = 0; i < p->nspatial; i++) {
        p->kernel[i] = w->shape.dims[2 + i];
        if (p->kernel[i] < 1 || p->kernel[i] > NN_ATTR_MAX)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "weight shape %s has an empty or oversized kernel", ws);
    }
    if (ir_node_attr(n, "kernel_shape")) {
        int64_t ks[IR_MAX_DIMS];
        rc = nn_attr_ints(g, n, "kernel_shape", p->nspatial, 1, 1, ks, err, errlen);
        if (rc < 0) return rc;
        if (memcmp(ks, p->kernel, sizeof(int64_t) * (size_t)p->nspatial) != 0) {
            char kb[96];
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "kernel_shape %s does not match weight shape %s",
                                 nn_ints_str(ks, p->nspatial, kb, sizeof(kb)), ws);
        }
    }
    p->group = ir_node_attr_int(n, "group", 1);
    if (p->group < 1 || p->group > NN_ATTR_MAX)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "group %" PRId64 " must be positive", p->group);
    p->has_bias = ir_node_input(g, n, 2) != NULL;
    for (int i = 0; i < p->nspatial; i++) p->dilations[i] = p->strides[i] = 1;
    return 0;
}

static int conv_bias_check(struct ir_graph *g, struct ir_node *n, int64_t m, char *err,
                           size_t errlen)
{
    const struct ir_value *b = ir_node_input(g, n, 2);
    if (!b) return 0;
    if (b->shape.ndim != 1 || b->shape.dims[0] != m) {
        char bs[160];
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "bias shape %s does not match output channels %" PRId64,
                             ir_shape_str(&b->shape, bs, sizeof(bs)), m);
    }
    return 0;
}

int ir_conv_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_conv_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    int rc = conv_check_common(g, n, p, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0), *w = ir_node_input(g, n, 1);
    int64_t c = x->shape.dims[1], m = w->shape.dims[0];
    char ws[160];
    ir_shape_str(&w->shape, ws, sizeof(ws));
    if (c % p->group != 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "group %" PRId64 " does not divide input channels %" PRId64, p->group,
                             c);
    if (w->shape.dims[1] * p->group != c) {
        if (p->group == 1)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "weight shape %s does not match input channels %" PRId64, ws, c);
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "weight shape %s does not match input channels %" PRId64
                             " with group %" PRId64,
                             ws, c, p->group);
    }
    if (m % p->group != 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "group %" PRId64 " does not divide the %" PRId64
                             " output channels of weight shape %s",
                             p->group, m, ws);
    rc = conv_bias_check(g, n, m, err, errlen);
    if (rc < 0) return rc;

    struct nn_window win = { .nspatial = p->nspatial };
    memcpy(win.in, x->shape.dims + 2, sizeof(int64_t) * (size_t)p->nspatial);
    memcpy(win.kernel, p->kernel, sizeof(win.kernel));
    rc = nn_window_attrs(g, n, &win, err, errlen);
    if (rc == 0) rc = nn_window_resolve(g, n, &win, err, errlen);
    if (rc < 0) return rc;
    memcpy(p->strides, win.strides, sizeof(p->strides));
    memcpy(p->dilations, win.dilations, sizeof(p->dilations));
    memcpy(p->pads, win.pads, sizeof(p->pads));

    struct ir_shape out = { .ndim = x->shape.ndim };
    out.dims[0] = x->shape.dims[0];
    out.dims[1] = m;
    memcpy(out.dims + 2, win.out, sizeof(int64_t) * (size_t)p->nspatial);
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

/* Python's floor division by 2, which the spec's pad formulas assume: a
 * negative total padding must round towards -inf. */
static int64_t floor_half(int64_t v)
{
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

int ir_conv_transpose_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    struct ir_conv_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->transpose = true;
    int rc = conv_check_common(g, n, p, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0), *w = ir_node_input(g, n, 1);
    int nsp = p->nspatial;
    int64_t c = x->shape.dims[1], m = w->shape.dims[1] * p->group;
    char ws[160];
    ir_shape_str(&w->shape, ws, sizeof(ws));
    if (w->shape.dims[0] != c)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "weight shape %s does not match input channels %" PRId64, ws, c);
    if (c % p->group != 0)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "group %" PRId64 " does not divide input channels %" PRId64, p->group,
                             c);
    if (m > NN_ATTR_MAX)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "weight shape %s with group %" PRId64 " gives too many channels", ws,
                             p->group);
    rc = conv_bias_check(g, n, m, err, errlen);
    if (rc < 0) return rc;

    int auto_pad;
    rc = nn_attr_ints(g, n, "strides", nsp, 1, 1, p->strides, err, errlen);
    if (rc == 0) rc = nn_attr_ints(g, n, "dilations", nsp, 1, 1, p->dilations, err, errlen);
    if (rc == 0) rc = nn_attr_ints(g, n, "pads", 2 * nsp, 0, 0, p->pads, err, errlen);
    if (rc == 0)
        rc = nn_attr_ints(g, n, "output_padding", nsp, 0, 0, p->output_padding, err, errlen);
    if (rc == 0) rc = nn_attr_auto_pad(g, n, &auto_pad, err, errlen);
    if (rc < 0) return rc;

    /* output_shape may list the spatial extents or, as some exporters
     * write it, the whole output shape. */
    const int64_t *os = NULL;
    int nos = ir_node_attr_ints(n, "output_shape", &os);
    if (nos == nsp + 2) {
        os += 2;
        nos = nsp;
    }
    if (nos != 0 && nos != nsp)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "attribute output_shape has %d values, expected %d", nos, nsp);

    struct ir_shape out = { .ndim = x->shape.ndim };
    out.dims[0] = x->shape.dims[0];
    out.dims[1] = m;
    for (int i = 0; i < nsp; i++) {
        int64_t in = x->shape.dims[2 + i], s = p->strides[i];
        int64_t extent = (p->kernel[i] - 1) * p->dilations[i] + 1;
        int64_t natural = s * (in - 1) + p->output_padding[i] + extent;
        int64_t *pb = &p->pads[i], *pe = &p->pads[nsp + i];
        int64_t size;
        if (nos || auto_pad == NN_PAD_SAME_UPPER || auto_pad == NN_PAD_SAME_LOWER) {
            if (nos) {
                size = os[i];
                if (size < 1 || size > NN_ATTR_MAX)
                    return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                         "output_shape value %" PRId64 " is out of range", size);
            } else {
                size = in * s;
            }
            /* The spec's split: SAME_UPPER puts the odd pad at the end,
             * everything else at the beginning. */
            int64_t total = natural - size;
            if (auto_pad == NN_PAD_SAME_UPPER) {
                *pb = floor_half(total);
                *pe = total - *pb;
            } else {
                *pe = floor_half(total);
                *pb = total - *pe;
            }
        } else {
            if (auto_pad == NN_PAD_VALID) *pb = *pe = 0;
            size = natural - *pb - *pe;
        }
        if (in < 1 || size < 1)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "spatial axis %d: input %" PRId64 " gives output size %" PRId64, i,
                                 in, size);
        out.dims[2 + i] = size;
    }
    return ir_node_output_set(g, n, 0, IR_DT_F32, &out, err, errlen);
}

int ir_conv_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct ir_conv_params *p = params;
    (void)nout;
    const float *x = in[0].data, *w = in[1].data;
    const float *b = nin > 2 && in[2].dtype != IR_DT_UNDEFINED ? in[2].data : NULL;
    float *y = out[0].data;
    int nsp = p->nspatial;
    const int64_t *xd = in[0].dims + 2, *yd = out[0].dims + 2;
    int64_t batch = in[0].dims[0], c = in[0].dims[1], m = out[0].dims[1];
    int64_t cg = c / p->group, mg = m / p->group;
    int64_t xplane = nn_prod(xd, 0, nsp), kplane = nn_prod(p->kernel, 0, nsp);
    if (ir_tensor_numel(&out[0]) == 0) return 0;

    for (int64_t nb = 0; nb < batch; nb++) {
        for (int64_t oc = 0; oc < m; oc++) {
            int64_t first_c = oc / mg * cg;
            int64_t o[IR_MAX_DIMS] = { 0 };
            do {
                double acc = b ? b[oc] : 0.0;
                for (int64_t ic = 0; ic < cg; ic++) {
                    const float *xc = x + ((nb * c) + first_c + ic) * xplane;
                    const float *wc = w + (oc * cg + ic) * kplane;
                    int64_t k[IR_MAX_DIMS] = { 0 };
                    int64_t tap = 0;
                    do {
                        int64_t off = 0;
                        bool inside = true;
                        for (int i = 0; i < nsp && inside; i++) {
                            int64_t pos =
                                o[i] * p->strides[i] - p->pads[i] + k[i] * p->dilations[i];
                            inside = pos >= 0 && pos < xd[i];
                            off = off * xd[i] + pos;
                        }
                        if (inside) acc += (double)xc[off] * wc[tap];
                        tap++;
                    } while (nn_next(k, p->kernel, nsp));
                }
                *y++ = (float)acc;
            } while (nn_next(o, yd, nsp));
        }
    }
    return 0;
}

int ir_conv_transpose_eval(const void *params, const struct ir_tensor *in, int nin,
                           struct ir_tensor *out, int nout)
{
    const struct ir_conv_params *p = params;
    (void)nout;
    const float *x = in[0].data, *w = in[1].data;
    const float *b = nin > 2 && in[2].dtype != IR_DT_UNDEFINED ? in[2].data : NULL;
    float *y = out[0].data;
    int nsp = p->nspatial;
    const int64_t *xd = in[0].dims + 2, *yd = out[0].dims + 2;
    int64_t batch = in[0].dims[0], c = in[0].dims[1], m = out[0].dims[1];
    int64_t cg = c / p->group, mg = m / p->group;
    int64_t xplane = nn_prod(xd, 0, nsp), kplane = nn_prod(p->kernel, 0, nsp);
    if (ir_tensor_numel(&out[0]) == 0) return 0;

    /* Gathered per output element: input position i feeds output o through
     * tap k when o = i*stride - pad_begin + k*dilation. */
    for (int64_t nb = 0; nb < batch; nb++) {
        for (int64_t oc = 0; oc < m; oc++) {
            int64_t grp = oc / mg, ocl = oc % mg;
            int64_t o[IR_MAX_DIMS] = { 0 };
            do {
                double acc = b ? b[oc] : 0.0;
                for (int64_t ic = grp * cg; ic < (grp + 1) * cg; ic++) {
                    const float *xc = x + (nb * c + ic) * xplane;
                    const float *wc = w + (ic * mg + ocl) * kplane;
                    int64_t k[IR_MAX_DIMS] = { 0 };
                    int64_t tap = 0;
                    do {
                        int64_t off = 0;
                        bool hit = true;
                        for (int i = 0; i < nsp && hit; i++) {
                            int64_t t = o[i] + p->pads[i] - k[i] * p->dilations[i];
                            hit = t >= 0 && t % p->strides[i] == 0 && t / p->strides[i] < xd[i];
                            off = off * xd[i] + t / p->strides[i];
                        }
                        if (hit) acc += (double)xc[off] * wc[tap];
                        tap++;
                    } while (nn_next(k, p->kernel, nsp));
                }
                *y++ = (float)acc;
            } while (nn_next(o, yd, nsp));
        }
    }
    return 0;
}
