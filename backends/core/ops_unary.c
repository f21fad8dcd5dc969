/* Operators: element-wise unary maps (activations, math functions, Not,
 * IsNaN, IsInf) and Clip.
 *
 * The float kernels are written once over a type T and instantiated for
 * float32 and float64 through <tgmath.h>, so exp() is expf() in the float32
 * instance. Activations a backend may fuse into the producing node (Relu,
 * Clip, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh) use the very
 * expressions of ir_act_apply, so fused and unfused results are bit-equal. */
#include "ops_elementwise.h"

#include "inferd_error.h"

#include <errno.h>
#include <float.h>
#include <string.h>
#include <tgmath.h>

struct un_params {
    int kind;  /* index into un_descs */
    int dtype; /* of input 0 */
    float alpha, beta, gamma;
};

/* One kernel instance: `expr` computes the output from `x` (of type T) and
 * the params `p`; TS and TO are the element types in memory, LOAD and STORE
 * convert between them and T. */
#define UN_ROW(fname, TS, TI, TO, LOAD, STORE, expr)                                               \
    static void fname(const void *ctx, void *out, const void *const in[], const int64_t step[],    \
                      int64_t n)                                                                   \
    {                                                                                              \
        typedef TI T;                                                                              \
        const struct un_params *p = ctx;                                                           \
        const TS *xs = in[0];                                                                      \
        TO *ys = out;                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T x = LOAD(xs[i * step[0]]);                                                     \
            ys[i] = (TO)STORE((T)(expr));                                                          \
        }                                                                                          \
        (void)p;                                                                                   \
    }
#define UN_SAME(fname, T, expr) UN_ROW(fname, T, T, T, EW_AS_IS, EW_AS_IS, expr)

#define UN_FLOAT(op, expr)                                                                         \
    UN_ROW(op##_f16, uint16_t, float, uint16_t, EW_HALF_IN, EW_HALF_OUT, expr)                     \
    UN_SAME(op##_f32, float, expr)                                                                 \
    UN_SAME(op##_f64, double, expr)
#define UN_SINT(op, expr)                                                                          \
    UN_SAME(op##_i8, int8_t, expr)                                                                 \
    UN_SAME(op##_i16, int16_t, expr)                                                               \
    UN_SAME(op##_i32, int32_t, expr)                                                               \
    UN_SAME(op##_i64, int64_t, expr)
#define UN_UINT(op, expr)                                                                          \
    UN_SAME(op##_u8, uint8_t, expr)                                                                \
    UN_SAME(op##_u16, uint16_t, expr)                                                              \
    UN_SAME(op##_u32, uint32_t, expr)                                                              \
    UN_SAME(op##_u64, uint64_t, expr)

/* Wrapping negation of a signed integer x of type T: computed in uint64_t,
 * so T's minimum negates to itself instead of overflowing. */
#define NEG_WRAP(x) ((T)(0u - (uint64_t)(x)))

/* clang-format reads these macro arguments as declarations. */
/* clang-format off */

/* --- activations ---------------------------------------------------------- */

UN_FLOAT(relu, x > 0 ? x : (T)0)
UN_SINT(relu, x > 0 ? x : 0)
UN_FLOAT(leaky_relu, x < 0 ? (T)p->alpha * x : x)
UN_FLOAT(sigmoid, (T)1 / ((T)1 + exp(-x)))
UN_FLOAT(hard_sigmoid, fmax((T)0, fmin((T)1, (T)p->alpha * x + (T)p->beta)))
UN_FLOAT(hard_swish, x * fmax((T)0, fmin((T)1, x * ((T)1 / (T)6) + (T)0.5)))
UN_FLOAT(tanh, tanh(x))
UN_FLOAT(elu, x < 0 ? (T)p->alpha * (exp(x) - (T)1) : x)
UN_FLOAT(selu, x > 0 ? (T)p->gamma * x : (T)p->gamma * ((T)p->alpha * exp(x) - (T)p->alpha))
UN_FLOAT(celu, fmax((T)0, x) + fmin((T)0, (T)p->alpha * (exp(x / (T)p->alpha) - (T)1)))
UN_FLOAT(thresholded_relu, x > (T)p->alpha ? x : (T)0)
/* log(1 + e^x) without overflowing e^x for large x. */
UN_FLOAT(softplus, x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)))
UN_FLOAT(softsign, x / ((T)1 + fabs(x)))
/* alpha is lambd, beta is bias. */
UN_FLOAT(shrink, x < -(T)p->alpha ? x + (T)p->beta : x > (T)p->alpha ? x - (T)p->beta : (T)0)

/* --- math ------------------------------------------------------------------ */

UN_FLOAT(sqrt, sqrt(x))
UN_FLOAT(exp, exp(x))
UN_FLOAT(log, log(x))
UN_FLOAT(neg, -x)
UN_SINT(neg, NEG_WRAP(x))
UN_FLOAT(abs, fabs(x))
UN_SINT(abs, x < 0 ? NEG_WRAP(x) : x)
UN_UINT(abs, x)
UN_FLOAT(reciprocal, (T)1 / x)
UN_FLOAT(erf, erf(x))
UN_FLOAT(floor, floor(x))
UN_FLOAT(ceil, ceil(x))
/* Halves to even, as ONNX says: nearbyint in the default rounding mode. */
UN_FLOAT(round, nearbyint(x))
/* NaN and zeros pass through, as numpy's sign. */
UN_FLOAT(sign, x > 0 ? (T)1 : x < 0 ? (T)-1 : x)
UN_SINT(sign, (x > 0) - (x < 0))
UN_UINT(sign, x > 0)
UN_FLOAT(sin, sin(x))
UN_FLOAT(cos, cos(x))
UN_FLOAT(tan, tan(x))
UN_FLOAT(asin, asin(x))
UN_FLOAT(acos, acos(x))
UN_FLOAT(atan, atan(x))
UN_FLOAT(sinh, sinh(x))
UN_FLOAT(cosh, cosh(x))
UN_FLOAT(asinh, asinh(x))
UN_FLOAT(acosh, acosh(x))
UN_FLOAT(atanh, atanh(x))

/* --- predicates (bool outputs) -------------------------------------------- */

UN_SAME(not_b, uint8_t, x == 0)
#define UN_FLOAT_PRED(op, expr)                                                \
    UN_ROW(op##_f16, uint16_t, float, uint8_t, EW_HALF_IN, EW_AS_IS, expr)    \
    UN_ROW(op##_f32, float, float, uint8_t, EW_AS_IS, EW_AS_IS, expr)         \
    UN_ROW(op##_f64, double, double, uint8_t, EW_AS_IS, EW_AS_IS, expr)
UN_FLOAT_PRED(isnan, isnan(x) != 0)
/* alpha: detect_positive, beta: detect_negative. */
UN_FLOAT_PRED(isinf, isinf(x) && (x > 0 ? p->alpha != 0 : p->beta != 0))

/* clang-format on */

struct un_desc {
    const char *name;
    int out_dtype;       /* IR_DT_UNDEFINED: input 0's */
    const char *attr[3]; /* attributes read into alpha, beta, gamma */
    float def[3];        /* and their defaults */
    ew_row_fn rows[EW_NDTYPES];
};

/* clang-format off */
#define NOATTR { NULL, NULL, NULL }, { 0, 0, 0 }
/* clang-format on */

static const struct un_desc un_descs[] = {
    { "Relu", 0, NOATTR, { EW_FLOATS(relu), EW_SINTS(relu) } },
    { "LeakyRelu", 0, { "alpha", NULL, NULL }, { 0.01f, 0, 0 }, { EW_FLOATS(leaky_relu) } },
    { "Sigmoid", 0, NOATTR, { EW_FLOATS(sigmoid) } },
    { "HardSigmoid", 0, { "alpha", "beta", NULL }, { 0.2f, 0.5f, 0 }, { EW_FLOATS(hard_sigmoid) } },
    { "HardSwish", 0, NOATTR, { EW_FLOATS(hard_swish) } },
    { "Tanh", 0, NOATTR, { EW_FLOATS(tanh) } },
    { "Elu", 0, { "alpha", NULL, NULL }, { 1.0f, 0, 0 }, { EW_FLOATS(elu) } },
    { "Selu",
      0,
      { "alpha", NULL, "gamma" },
      { 1.67326319217681884765625f, 0, 1.05070102214813232421875f },
      { EW_FLOATS(selu) } },
    { "Celu", 0, { "alpha", NULL, NULL }, { 1.0f, 0, 0 }, { EW_FLOATS(celu) } },
    { "ThresholdedRelu",
      0,
      { "alpha", NULL, NULL },
      { 1.0f, 0, 0 },
      { EW_FLOATS(thresholded_relu) } },
    { "Softplus", 0, NOATTR, { EW_FLOATS(softplus) } },
    { "Softsign", 0, NOATTR, { EW_FLOATS(softsign) } },
    { "Shrink", 0, { "lambd", "bias", NULL }, { 0.5f, 0, 0 }, { EW_FLOATS(shrink) } },
    { "Sqrt", 0, NOATTR, { EW_FLOATS(sqrt) } },
    { "Exp", 0, NOATTR, { EW_FLOATS(exp) } },
    { "Log", 0, NOATTR, { EW_FLOATS(log) } },
    { "Neg", 0, NOATTR, { EW_FLOATS(neg), EW_SINTS(neg) } },
    { "Abs", 0, NOATTR, { EW_FLOATS(abs), EW_SINTS(abs), EW_UINTS(abs) } },
    { "Reciprocal", 0, NOATTR, { EW_FLOATS(reciprocal) } },
    { "Erf", 0, NOATTR, { EW_FLOATS(erf) } },
    { "Floor", 0, NOATTR, { EW_FLOATS(floor) } },
    { "Ceil", 0, NOATTR, { EW_FLOATS(ceil) } },
    { "Round", 0, NOATTR, { EW_FLOATS(round) } },
    { "Sign", 0, NOATTR, { EW_FLOATS(sign), EW_SINTS(sign), EW_UINTS(sign) } },
    { "Sin", 0, NOATTR, { EW_FLOATS(sin) } },
    { "Cos", 0, NOATTR, { EW_FLOATS(cos) } },
    { "Tan", 0, NOATTR, { EW_FLOATS(tan) } },
    { "Asin", 0, NOATTR, { EW_FLOATS(asin) } },
    { "Acos", 0, NOATTR, { EW_FLOATS(acos) } },
    { "Atan", 0, NOATTR, { EW_FLOATS(atan) } },
    { "Sinh", 0, NOATTR, { EW_FLOATS(sinh) } },
    { "Cosh", 0, NOATTR, { EW_FLOATS(cosh) } },
    { "Asinh", 0, NOATTR, { EW_FLOATS(asinh) } },
    { "Acosh", 0, NOATTR, { EW_FLOATS(acosh) } },
    { "Atanh", 0, NOATTR, { EW_FLOATS(atanh) } },
    { "Not", 0, NOATTR, { [IR_DT_BOOL] = not_b } },
    { "IsNaN", IR_DT_BOOL, NOATTR, { EW_FLOATS(isnan) } },
    { "IsInf",
      IR_DT_BOOL,
      { "detect_positive", "detect_negative", NULL },
      { 1, 1, 0 },
      { EW_FLOATS(isinf) } },
};

#define UN_NDESCS ((int)(sizeof(un_descs) / sizeof(un_descs[0])))

int ew_unary_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int kind = 0;
    while (kind < UN_NDESCS && strcmp(un_descs[kind].name, n->op_type) != 0) kind++;
    if (kind == UN_NDESCS)
        return ir_node_error(g, n, INFERD_E_INTERNAL, err, errlen,
                             "no element-wise kernel for operator %s", n->op_type);
    const struct un_desc *d = &un_descs[kind];
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (!ew_pick(d->rows, x->dtype)) return ew_dtype_unsupported(g, n, 0, err, errlen);
    struct un_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = kind;
    p->dtype = x->dtype;
    float *vals[3] = { &p->alpha, &p->beta, &p->gamma };
    for (int i = 0; i < 3; i++)
        *vals[i] = d->attr[i] ? ir_node_attr_float(n, d->attr[i], d->def[i]) : d->def[i];
    return ir_node_output_set(g, n, 0, d->out_dtype ? d->out_dtype : x->dtype, &x->shape, err,
                              errlen);
}

int ew_unary_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                  int nout)
{
    const struct un_params *p = params;
    if (!p || p->kind < 0 || p->kind >= UN_NDESCS || nin < 1 || nout < 1) return -EINVAL;
    const struct un_desc *d = &un_descs[p->kind];
    ew_row_fn fn = ew_pick(d->rows, p->dtype);
    const int out_dtype = d->out_dtype ? d->out_dtype : p->dtype;
    if (!fn || !ew_tensor_ok(&in[0], p->dtype) || !ew_tensor_ok(&out[0], out_dtype) ||
        ir_tensor_numel(&in[0]) != ir_tensor_numel(&out[0]))
        return -EINVAL;
    const void *src[1] = { in[0].data };
    const int64_t step[1] = { 1 };
    fn(p, out[0].data, src, step, ir_tensor_numel(&out[0]));
    return 0;
}

/* --- Clip ------------------------------------------------------------------ */

struct clip_params {
    int dtype;
    int attrs; /* opset 6-10: bounds in lo/hi (when has_lo/has_hi) */
    int has_lo, has_hi;
    float lo, hi;
};

/* Typed bounds handed to the kernel; NULL leaves that side at the dtype's
 * extreme (numeric_limits lowest() and max(), as the spec says). */
struct clip_ctx {
    const void *lo, *hi;
};

#define MAX_I(a, b) ((a) > (b) ? (a) : (b))
#define MIN_I(a, b) ((a) < (b) ? (a) : (b))

#define CLIP_ROW(sfx, TI, LOWEST, HIGHEST, MAXF, MINF)                                             \
    static void clip_##sfx(const void *ctx, void *out, const void *const in[],                     \
                           const int64_t step[], int64_t n)                                        \
    {                                                                                              \
        const struct clip_ctx *c = ctx;                                                            \
        const TI lo = c->lo ? *(const TI *)c->lo : (LOWEST);                                       \
        const TI hi = c->hi ? *(const TI *)c->hi : (HIGHEST);                                      \
        const TI *xs = in[0];                                                                      \
        TI *ys = out;                                                                              \
        for (int64_t i = 0; i < n; i++) ys[i] = MINF(MAXF(xs[i * step[0]], lo), hi);               \
    }

/* float32 is ir_act_apply's fminf(fmaxf(x, a), b) to the bit. */
CLIP_ROW(f32, float, -FLT_MAX, FLT_MAX, fmax, fmin)
CLIP_ROW(f64, double, -DBL_MAX, DBL_MAX, fmax, fmin)
CLIP_ROW(i8, int8_t, INT8_MIN, INT8_MAX, MAX_I, MIN_I)
CLIP_ROW(i16, int16_t, INT16_MIN, INT16_MAX, MAX_I, MIN_I)
CLIP_ROW(i32, int32_t, INT32_MIN, INT32_MAX, MAX_I, MIN_I)
CLIP_ROW(i64, int64_t, INT64_MIN, INT64_MAX, MAX_I, MIN_I)
CLIP_ROW(u8, uint8_t, 0, UINT8_MAX, MAX_I, MIN_I)
CLIP_ROW(u16, uint16_t, 0, UINT16_MAX, MAX_I, MIN_I)
CLIP_ROW(u32, uint32_t, 0, UINT32_MAX, MAX_I, MIN_I)
CLIP_ROW(u64, uint64_t, 0, UINT64_MAX, MAX_I, MIN_I)

/* float16: bounds are float16 too; clipping never needs to round. */
static void clip_f16(const void *ctx, void *out, const void *const in[], const int64_t step[],
                     int64_t n)
{
    const struct clip_ctx *c = ctx;
    const float lo = c->lo ? ew_half_to_float(*(const uint16_t *)c->lo) : -65504.0f;
    const float hi = c->hi ? ew_half_to_float(*(const uint16_t *)c->hi) : 65504.0f;
    const uint16_t *xs = in[0];
    uint16_t *ys = out;
    for (int64_t i = 0; i < n; i++)
        ys[i] = ew_double_to_half(fmin(fmax(ew_half_to_float(xs[i * step[0]]), lo), hi));
}

static const ew_row_fn clip_rows[EW_NDTYPES] = { EW_FLOATS(clip), EW_SINTS(clip), EW_UINTS(clip) };

static int clip_setup(struct ir_graph *g, struct ir_node *n, struct clip_params **pp, char *err,
                      size_t errlen)
{
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (!ew_pick(clip_rows, x->dtype)) return ew_dtype_unsupported(g, n, 0, err, errlen);
    struct clip_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->dtype = x->dtype;
    *pp = p;
    return ir_node_output_set(g, n, 0, x->dtype, &x->shape, err, errlen);
}

int ew_clip6_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 1, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 0);
    if (!ew_dtype_is_float(x->dtype)) return ew_dtype_unsupported(g, n, 0, err, errlen);
    struct clip_params *p = NULL;
    rc = clip_setup(g, n, &p, err, errlen);
    if (rc < 0) return rc;
    p->attrs = 1;
    p->has_lo = ir_node_attr(n, "min") != NULL;
    p->has_hi = ir_node_attr(n, "max") != NULL;
    p->lo = ir_node_attr_float(n, "min", -FLT_MAX);
    p->hi = ir_node_attr_float(n, "max", FLT_MAX);
    return 0;
}

int ew_clip11_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 1, 3, err, errlen);
    if (rc < 0) return rc;
    rc = ew_same_dtype(g, n, 0, 3, err, errlen);
    if (rc < 0) return rc;
    static const char *const which[3] = { "", "min", "max" };
    for (int k = 1; k < 3; k++) {
        const struct ir_value *v = ir_node_input(g, n, k);
        if (v && ir_shape_numel(&v->shape) != 1) {
            char buf[160];
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "%s input '%s' must hold one value, has shape %s", which[k],
                                 v->name, ir_shape_str(&v->shape, buf, sizeof(buf)));
        }
    }
    struct clip_params *p = NULL;
    return clip_setup(g, n, &p, err, errlen);
}

int ew_clip_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                 int nout)
{
    const struct clip_params *p = params;
    if (!p || nin < 1 || nout < 1) return -EINVAL;
    ew_row_fn fn = ew_pick(clip_rows, p->dtype);
    if (!fn || !ew_tensor_ok(&in[0], p->dtype) || !ew_tensor_ok(&out[0], p->dtype) ||
        ir_tensor_numel(&in[0]) != ir_tensor_numel(&out[0]))
        return -EINVAL;
    struct clip_ctx c = { NULL, NULL };
    union {
        uint16_t h;
        float f;
        double d;
    } lo, hi;
    if (p->attrs) {
        if (p->dtype == IR_DT_F16) {
            lo.h = ew_double_to_half(p->lo);
            hi.h = ew_double_to_half(p->hi);
        } else if (p->dtype == IR_DT_F32) {
            lo.f = p->lo;
            hi.f = p->hi;
        } else if (p->dtype == IR_DT_F64) {
            lo.d = p->lo;
            hi.d = p->hi;
        } else {
            return -EINVAL;
        }
        c.lo = p->has_lo ? (const void *)&lo : NULL;
        c.hi = p->has_hi ? (const void *)&hi : NULL;
    } else {
        /* Bounds come as inputs, constant or computed at run time. */
        const void **bound[2] = { &c.lo, &c.hi };
        for (int k = 1; k < 3 && k < nin; k++) {
            if (in[k].dtype == IR_DT_UNDEFINED) continue;
            if (!ew_tensor_ok(&in[k], p->dtype) || ir_tensor_numel(&in[k]) != 1) return -EINVAL;
            *bound[k - 1] = in[k].data;
        }
    }
    const void *src[1] = { in[0].data };
    const int64_t step[1] = { 1 };
    fn(&c, out[0].data, src, step, ir_tensor_numel(&out[0]));
    return 0;
}
