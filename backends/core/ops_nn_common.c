/* Attribute parsing and window geometry shared by the nn operators. */
#include "ops_nn_common.h"

#include "inferd_error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int nn_check_f32(struct ir_graph *g, const struct ir_node *n, int first, int last, char *err,
                 size_t errlen)
{
    for (int k = first; k <= last; k++) {
        if (!ir_node_input(g, n, k)) continue;
        int rc = ir_node_input_dtype_check(g, n, k, IR_DT_F32, err, errlen);
        if (rc < 0) return rc;
    }
    return 0;
}

char *nn_ints_str(const int64_t *v, int count, char *buf, size_t len)
{
    if (len == 0) return buf;
    int w = snprintf(buf, len, "[");
    size_t used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < count && used < len; i++) {
        w = snprintf(buf + used, len - used, "%s%" PRId64, i ? "," : "", v[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

int nn_attr_ints(struct ir_graph *g, const struct ir_node *n, const char *name, int count,
                 int64_t def, int64_t min, int64_t *out, char *err, size_t errlen)
{
    const int64_t *v = NULL;
    int got = ir_node_attr_ints(n, name, &v);
    const struct ir_attr *a = ir_node_attr(n, name);
    if (!a) {
        for (int i = 0; i < count; i++) out[i] = def;
        return 0;
    }
    if (a->type != IR_ATTR_INTS)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "attribute %s must be a list of ints", name);
    if (got != count)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "attribute %s has %d values, expected %d", name, got, count);
    for (int i = 0; i < count; i++) {
        if (v[i] < min || v[i] > NN_ATTR_MAX) {
            char buf[160];
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "attribute %s %s: values must be in [%" PRId64 ", %" PRId64 "]",
                                 name, nn_ints_str(v, count, buf, sizeof(buf)), min,
                                 (int64_t)NN_ATTR_MAX);
        }
        out[i] = v[i];
    }
    return 0;
}

int nn_attr_auto_pad(struct ir_graph *g, const struct ir_node *n, int *mode, char *err,
                     size_t errlen)
{
    static const char *const names[] = { "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID" };
    const char *s = ir_node_attr_string(n, "auto_pad");
    *mode = NN_PAD_NOTSET;
    if (!s || !*s) return 0;
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *mode = i;
            return 0;
        }
    }
    return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                         "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", s);
}

int nn_window_attrs(struct ir_graph *g, const struct ir_node *n, struct nn_window *w, char *err,
                    size_t errlen)
{
    int nsp = w->nspatial;
    int rc = nn_attr_ints(g, n, "strides", nsp, 1, 1, w->strides, err, errlen);
    if (rc == 0) rc = nn_attr_ints(g, n, "dilations", nsp, 1, 1, w->dilations, err, errlen);
    if (rc == 0) rc = nn_attr_ints(g, n, "pads", 2 * nsp, 0, 0, w->pads, err, errlen);
    if (rc == 0) rc = nn_attr_auto_pad(g, n, &w->auto_pad, err, errlen);
    return rc;
}

int nn_window_resolve(struct ir_graph *g, const struct ir_node *n, struct nn_window *w, char *err,
                      size_t errlen)
{
    int nsp = w->nspatial;
    for (int i = 0; i < nsp; i++) {
        int64_t in = w->in[i], s = w->strides[i];
        int64_t extent = (w->kernel[i] - 1) * w->dilations[i] + 1;
        int64_t *pb = &w->pads[i], *pe = &w->pads[nsp + i];
        if (w->auto_pad == NN_PAD_SAME_UPPER || w->auto_pad == NN_PAD_SAME_LOWER) {
            /* Output = ceil(in / stride); the odd pad goes to the end for
             * SAME_UPPER, to the beginning for SAME_LOWER. */
            int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + extent - in;
            if (total < 0) total = 0;
            if (w->auto_pad == NN_PAD_SAME_UPPER) {
                *pb = total / 2;
                *pe = total - total / 2;
            } else {
                *pe = total / 2;
                *pb = total - total / 2;
            }
            w->out[i] = out;
            continue;
        }
        if (w->auto_pad == NN_PAD_VALID) *pb = *pe = 0;
        int64_t padded = in + *pb + *pe;
        if (padded < extent) {
            char kbuf[96], pbuf[96];
            return ir_node_error(
                g, n, INFERD_E_BAD_MODEL, err, errlen,
                "kernel %s (dilations %s) does not fit the input: spatial axis "
                "%d is %" PRId64 " with padding, the dilated kernel spans %" PRId64,
                nn_ints_str(w->kernel, nsp, kbuf, sizeof(kbuf)),
                nn_ints_str(w->dilations, nsp, pbuf, sizeof(pbuf)), i, padded, extent);
        }
        int64_t out = (padded - extent) / s + 1;
        if (w->ceil_mode && w->auto_pad == NN_PAD_NOTSET) {
            out = (padded - extent + s - 1) / s + 1;
            /* The last window must start inside the input or its begin padding. */
            if ((out - 1) * s >= in + *pb) out--;
        }
        w->out[i] = out;
    }
    return 0;
}
