/* Resize (opsets 10, 11, 13) and Upsample (7, 9): nearest, n-d linear and
 * cubic interpolation under every coordinate transformation mode.
 *
 * The kernel follows the ONNX reference (onnx/backend/test/case/node/
 * resize.py): separable 1-D interpolation per axis, coordinates in double,
 * neighbours clamped to the edge, cubic weights renormalized when
 * exclude_outside drops those outside. Resize-10 and Upsample have no
 * coordinate mode: they map asymmetrically (x / scale) and take the floor for
 * nearest, as the exporters that emit them (PyTorch, tf2onnx) mean. */
#include "ops_shape_impl.h"

#include "inferd_error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum resize_mode { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum resize_coord {
    RS_HALF_PIXEL,
    RS_PYTORCH_HALF_PIXEL,
    RS_ALIGN_CORNERS,
    RS_ASYMMETRIC,
    RS_TF_HALF_PIXEL_FOR_NN,
    RS_TF_CROP_AND_RESIZE,
};
enum resize_nearest { RS_ROUND_PREFER_FLOOR, RS_ROUND_PREFER_CEIL, RS_FLOOR, RS_CEIL };

struct resize_params {
    int ndim;
    int mode;    /* enum resize_mode */
    int coord;   /* enum resize_coord */
    int nearest; /* enum resize_nearest */
    bool exclude_outside;
    double cubic_a;
    double extrapolation;
    double scale[IR_MAX_DIMS];
    /* The spec's length_resized: sizes[i], or input dim x scale unrounded
     * (scale = length_resized / length_original, as the reference has it). */
    double length[IR_MAX_DIMS];
    double roi_start[IR_MAX_DIMS];
    double roi_end[IR_MAX_DIMS];
    bool roi_input; /* roi known only at run time: eval reads input 1 */
};

struct name_code {
    const char *name;
    int code;
};

static const struct name_code modes[] = {
    { "nearest", RS_NEAREST },
    { "linear", RS_LINEAR },
    { "cubic", RS_CUBIC },
    { NULL, 0 },
};

static const struct name_code coords[] = {
    { "half_pixel", RS_HALF_PIXEL },
    { "pytorch_half_pixel", RS_PYTORCH_HALF_PIXEL },
    { "align_corners", RS_ALIGN_CORNERS },
    { "asymmetric", RS_ASYMMETRIC },
    { "tf_half_pixel_for_nn", RS_TF_HALF_PIXEL_FOR_NN }, /* opset 11 only */
    { "tf_crop_and_resize", RS_TF_CROP_AND_RESIZE },
    { NULL, 0 },
};

static const struct name_code nearest_modes[] = {
    { "round_prefer_floor", RS_ROUND_PREFER_FLOOR },
    { "round_prefer_ceil", RS_ROUND_PREFER_CEIL },
    { "floor", RS_FLOOR },
    { "ceil", RS_CEIL },
    { NULL, 0 },
};

static int attr_choice(struct ir_graph *g, const struct ir_node *n, const char *attr,
                       const struct name_code *table, int def, int *out, char *err, size_t errlen)
{
    const char *s = ir_node_attr_string(n, attr);
    if (!s) {
        *out = def;
        return 0;
    }
    for (const struct name_code *t = table; t->name; t++) {
        if (strcmp(t->name, s) == 0) {
            *out = t->code;
            return 0;
        }
    }
    return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen, "%s '%s' is not supported", attr,
                         s);
}

/* Output dims from scales (floor(dim * scale), the roi's extent included for
 * tf_crop_and_resize) and the checks both Resize and Upsample need. */
static int resize_finish(struct ir_graph *g, struct ir_node *n, struct resize_params *p,
                         const float *scales, int nscales, const int64_t *sizes, int nsizes,
                         char *err, size_t errlen)
{
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    p->ndim = rank;
    if (p->mode != RS_NEAREST && x->dtype != IR_DT_F32)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "%s interpolation of %s is not supported (float32 only)",
                             p->mode == RS_LINEAR ? "linear" : "cubic", ir_dtype_name(x->dtype));
    if (rank < 1) return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input is a scalar");
    struct ir_shape s = { .ndim = rank };
    if (sizes) {
        if (nsizes != rank)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "sizes has %d values, input has rank %d", nsizes, rank);
        for (int i = 0; i < rank; i++) {
            if (sizes[i] < 0)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "sizes has a negative value %lld", (long long)sizes[i]);
            s.dims[i] = sizes[i];
            int64_t d = x->shape.dims[i];
            p->scale[i] = d > 0 ? (double)sizes[i] / (double)d : 1.0;
            p->length[i] = (double)sizes[i];
        }
    } else {
        if (nscales != rank)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "scales has %d values, input has rank %d", nscales, rank);
        for (int i = 0; i < rank; i++) {
            if (!(scales[i] > 0.0f) || !isfinite(scales[i]))
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "scale %g of axis %d is not positive", (double)scales[i], i);
            p->scale[i] = scales[i];
            p->length[i] = (double)x->shape.dims[i] * p->scale[i];
            double extent =
                p->coord == RS_TF_CROP_AND_RESIZE ? p->roi_end[i] - p->roi_start[i] : 1.0;
            double d = floor((double)x->shape.dims[i] * extent * p->scale[i]);
            if (!(d >= 0.0) || d > 9.0e18)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "axis %d would have size %g", i, d);
            s.dims[i] = (int64_t)d;
        }
    }
    for (int i = 0; i < rank; i++)
        if (x->shape.dims[i] == 0 && s.dims[i] > 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "cannot resize empty axis %d to size %lld", i,
                                 (long long)s.dims[i]);
    return ir_node_output_set(g, n, 0, x->dtype, &s, err, errlen);
}

int shp_resize_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int maxin = n->opset >= 11 ? 4 : 2;
    /* From opset 11 on, scales may be left out ("") when sizes is given. */
    int rc = ir_node_inputs_check(g, n, n->opset >= 11 ? 1 : 2, maxin, err, errlen);
    if (rc < 0) return rc;
    struct resize_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    rc = attr_choice(g, n, "mode", modes, RS_NEAREST, &p->mode, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    int rank = x->shape.ndim;
    for (int i = 0; i < rank; i++) p->roi_end[i] = 1.0;
    float scales[IR_MAX_DIMS];
    int64_t sizes[IR_MAX_DIMS];
    int nscales = 0, nsizes = 0;

    if (n->opset < 11) {
        if (p->mode == RS_CUBIC)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "mode 'cubic' is not supported at opset %d", n->opset);
        p->coord = RS_ASYMMETRIC;
        p->nearest = RS_FLOOR;
        nscales = shp_input_floats(g, n, 1, scales, IR_MAX_DIMS, err, errlen);
        if (nscales < 0) return nscales;
        return resize_finish(g, n, p, scales, nscales, NULL, 0, err, errlen);
    }

    rc = attr_choice(g, n, "coordinate_transformation_mode", coords, RS_HALF_PIXEL, &p->coord, err,
                     errlen);
    if (rc < 0) return rc;
    if (p->coord == RS_TF_HALF_PIXEL_FOR_NN && n->opset >= 13)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "coordinate_transformation_mode 'tf_half_pixel_for_nn' was "
                             "removed in opset 13");
    rc = attr_choice(g, n, "nearest_mode", nearest_modes, RS_ROUND_PREFER_FLOOR, &p->nearest, err,
                     errlen);
    if (rc < 0) return rc;
    p->cubic_a = ir_node_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = ir_node_attr_int(n, "exclude_outside", 0) != 0;
    p->extrapolation = ir_node_attr_float(n, "extrapolation_value", 0.0f);

    /* roi matters only to tf_crop_and_resize. It sets the output shape only
     * together with scales; with sizes it may come at run time, and eval
     * reads it from the input. */
    bool has_scales = !shp_input_empty(g, n, 2), has_sizes = !shp_input_empty(g, n, 3);
    const struct ir_value *roi = ir_node_input(g, n, 1);
    if (p->coord == RS_TF_CROP_AND_RESIZE && !shp_input_empty(g, n, 1)) {
        if (roi->dtype != IR_DT_F32)
            return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                                 "roi '%s' has dtype %s, not supported here (expected float32)",
                                 roi->name, ir_dtype_name(roi->dtype));
        if (ir_shape_numel(&roi->shape) != 2 * rank)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "roi has %lld values, expected %d (2 x rank %d)",
                                 (long long)ir_shape_numel(&roi->shape), 2 * rank, rank);
        if (has_scales || ((roi->flags & IR_VALUE_CONST) && roi->data)) {
            float v[2 * IR_MAX_DIMS];
            rc = shp_input_floats(g, n, 1, v, 2 * IR_MAX_DIMS, err, errlen);
            if (rc < 0) return rc;
            for (int i = 0; i < rank; i++) {
                p->roi_start[i] = v[i];
                p->roi_end[i] = v[rank + i];
            }
        } else {
            p->roi_input = true;
        }
    }
    if (has_scales == has_sizes)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                             "exactly one of scales and sizes must be given, got %s",
                             has_scales ? "both" : "neither");
    if (has_scales) {
        nscales = shp_input_floats(g, n, 2, scales, IR_MAX_DIMS, err, errlen);
        if (nscales < 0) return nscales;
        return resize_finish(g, n, p, scales, nscales, NULL, 0, err, errlen);
    }
    nsizes = ir_node_input_ints(g, n, 3, sizes, IR_MAX_DIMS, err, errlen);
    if (nsizes < 0) return nsizes;
    return resize_finish(g, n, p, NULL, 0, sizes, nsizes, err, errlen);
}

int shp_upsample_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    bool input = n->opset >= 9;
    int rc = ir_node_inputs_check(g, n, input ? 2 : 1, input ? 2 : 1, err, errlen);
    if (rc < 0) return rc;
    struct resize_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    rc = attr_choice(g, n, "mode", modes, RS_NEAREST, &p->mode, err, errlen);
    if (rc < 0) return rc;
    if (p->mode == RS_CUBIC)
        return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                             "mode 'cubic' is not an Upsample mode");
    p->coord = RS_ASYMMETRIC;
    p->nearest = RS_FLOOR;
    for (int i = 0; i < IR_MAX_DIMS; i++) p->roi_end[i] = 1.0;
    float scales[IR_MAX_DIMS];
    int nscales;
    if (input) {
        nscales = shp_input_floats(g, n, 1, scales, IR_MAX_DIMS, err, errlen);
        if (nscales < 0) return nscales;
    } else {
        const float *a;
        nscales = ir_node_attr_floats(n, "scales", &a);
        if (nscales == 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "attribute 'scales' is missing");
        if (nscales > IR_MAX_DIMS)
            nscales = IR_MAX_DIMS + 1;
        else
            memcpy(scales, a, sizeof(*scales) * (size_t)nscales);
    }
    return resize_finish(g, n, p, scales, nscales, NULL, 0, err, errlen);
}

/* --- kernel ------------------------------------------------------------ */

/* The input positions and weights one output coordinate reads along one axis. */
struct taps {
    int n; /* 0: outside the roi (tf_crop_and_resize), use the extrapolation value */
    int64_t at[4];
    double w[4];
};

static void cubic_coeffs(double r, double a, double *w)
{
    double r1 = r + 1, q = 1 - r, q1 = q + 1;
    w[0] = ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a;
    w[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    w[2] = ((a + 2) * q - (a + 3)) * q * q + 1;
    w[3] = ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a;
}

static void axis_taps(const struct resize_params *p, int axis, int64_t x, int64_t in_len,
                      struct taps *t)
{
    double scale = p->scale[axis], length = p->length[axis];
    double xr = (double)x, xo;
    switch (p->coord) {
    case RS_ALIGN_CORNERS: xo = length > 1 ? xr * (double)(in_len - 1) / (length - 1) : 0.0; break;
    case RS_ASYMMETRIC: xo = xr / scale; break;
    case RS_TF_HALF_PIXEL_FOR_NN: xo = (xr + 0.5) / scale; break;
    case RS_PYTORCH_HALF_PIXEL: xo = length > 1 ? (xr + 0.5) / scale - 0.5 : 0.0; break;
    case RS_TF_CROP_AND_RESIZE: {
        double s = p->roi_start[axis], e = p->roi_end[axis];
        if (length > 1)
            xo = s * (double)(in_len - 1) + xr * (e - s) * (double)(in_len - 1) / (length - 1);
        else
            xo = 0.5 * (s + e) * (double)(in_len - 1);
        if (xo < 0 || xo > (double)(in_len - 1)) {
            t->n = 0;
            return;
        }
        break;
    }
    default: xo = (xr + 0.5) / scale - 0.5; break;
    }
    /* Neighbours to the left are preferred: on an exact integer the point
     * itself is the right neighbour, with ratio 1. */
    double fl = floor(xo);
    int64_t base;
    double ratio;
    if (xo == fl) {
        base = (int64_t)fl - 1;
        ratio = 1.0;
    } else {
        base = (int64_t)fl;
        ratio = xo - fl;
    }
    switch (p->mode) {
    case RS_NEAREST: {
        bool right;
        switch (p->nearest) {
        case RS_ROUND_PREFER_CEIL: right = ratio >= 0.5; break;
        case RS_FLOOR: right = ratio == 1.0; break;
        case RS_CEIL: right = true; break;
        default: right = ratio > 0.5; break;
        }
        t->n = 1;
        t->at[0] = base + (right ? 1 : 0);
        t->w[0] = 1.0;
        break;
    }
    case RS_LINEAR:
        t->n = 2;
        t->at[0] = base;
        t->at[1] = base + 1;
        t->w[0] = 1.0 - ratio;
        t->w[1] = ratio;
        break;
    default:
        t->n = 4;
        for (int k = 0; k < 4; k++) t->at[k] = base - 1 + k;
        cubic_coeffs(ratio, p->cubic_a, t->w);
        break;
    }
    if (p->exclude_outside) {
        double sum = 0;
        for (int k = 0; k < t->n; k++) {
            if (t->at[k] < 0 || t->at[k] >= in_len) t->w[k] = 0;
            sum += t->w[k];
        }
        if (sum != 0)
            for (int k = 0; k < t->n; k++) t->w[k] /= sum;
    }
    /* Clamp to the edge and drop taps that weigh nothing, so axes that are not
     * resized cost one tap. */
    int m = 0;
    for (int k = 0; k < t->n; k++) {
        if (t->w[k] == 0.0 && p->mode != RS_NEAREST) continue;
        int64_t a = t->at[k] < 0 ? 0 : t->at[k] >= in_len ? in_len - 1 : t->at[k];
        t->at[m] = a;
        t->w[m] = t->w[k];
        m++;
    }
    if (m == 0) { /* all weights cancelled: read the nearest point */
        t->at[0] = base + 1 < 0 ? 0 : base + 1 >= in_len ? in_len - 1 : base + 1;
        t->w[0] = 0.0;
        m = 1;
    }
    t->n = m;
}

int shp_resize_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                    int nout)
{
    const struct resize_params *p = params;
    const struct ir_tensor *x = &in[0];
    int nd = p->ndim;
    struct resize_params with_roi;
    if (p->roi_input) {
        const struct ir_tensor *r = nin > 1 ? &in[1] : NULL;
        if (!r || r->dtype != IR_DT_F32 || !r->data || ir_tensor_numel(r) != 2 * nd)
            return INFERD_E_BAD_INPUT;
        with_roi = *p;
        const float *v = r->data;
        for (int i = 0; i < nd; i++) {
            with_roi.roi_start[i] = v[i];
            with_roi.roi_end[i] = v[nd + i];
        }
        p = &with_roi;
    }
    if (x->ndim != nd || out[0].ndim != nd) return INFERD_E_INTERNAL;
    int64_t total = ir_tensor_numel(&out[0]);
    if (total == 0) return 0;
    if (ir_tensor_numel(x) == 0) return INFERD_E_BAD_INPUT; /* infer refuses this */

    int64_t ntaps = 0, first[IR_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        first[i] = ntaps;
        ntaps += out[0].dims[i];
    }
    struct taps *taps = malloc(sizeof(*taps) * (size_t)ntaps);
    if (!taps) return -ENOMEM;
    for (int i = 0; i < nd; i++)
        for (int64_t o = 0; o < out[0].dims[i]; o++)
            axis_taps(p, i, o, x->dims[i], &taps[first[i] + o]);

    int64_t strides[IR_MAX_DIMS], idx[IR_MAX_DIMS] = { 0 };
    shp_strides(nd, x->dims, strides);
    size_t esize = ir_dtype_size(x->dtype);
    uint8_t extrapolation[8];
    if (shp_scalar_from_double(x->dtype, p->extrapolation, extrapolation) < 0) {
        free(taps);
        return INFERD_E_UNSUPPORTED;
    }
    const char *src = x->data;
    char *dst = out[0].data;
    for (int64_t e = 0; e < total; e++, dst += esize) {
        const struct taps *t[IR_MAX_DIMS];
        bool outside = false;
        int64_t combos = 1;
        for (int i = 0; i < nd; i++) {
            t[i] = &taps[first[i] + idx[i]];
            if (t[i]->n == 0) outside = true;
            combos *= t[i]->n;
        }
        if (outside) {
            memcpy(dst, extrapolation, esize);
        } else if (p->mode == RS_NEAREST) {
            int64_t off = 0;
            for (int i = 0; i < nd; i++) off += t[i]->at[0] * strides[i];
            memcpy(dst, src + (size_t)off * esize, esize);
        } else {
            /* Sum over every combination of the axes' taps. */
            double sum = 0;
            int k[IR_MAX_DIMS] = { 0 };
            for (int64_t c = 0; c < combos; c++) {
                double w = 1;
                int64_t off = 0;
                for (int i = 0; i < nd; i++) {
                    w *= t[i]->w[k[i]];
                    off += t[i]->at[k[i]] * strides[i];
                }
                sum += w * ((const float *)src)[off];
                for (int i = nd - 1; i >= 0; i--) {
                    if (++k[i] < t[i]->n) break;
                    k[i] = 0;
                }
            }
            float v = (float)sum;
            memcpy(dst, &v, sizeof(v));
        }
        for (int i = nd - 1; i >= 0; i--) {
            if (++idx[i] < out[0].dims[i]) break;
            idx[i] = 0;
        }
    }
    free(taps);
    return 0;
}

int shp_upsample_eval(const void *params, const struct ir_tensor *in, int nin,
                      struct ir_tensor *out, int nout)
{
    return shp_resize_eval(params, in, nin, out, nout);
}
