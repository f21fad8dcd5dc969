/* Operators: element-wise family. The registry rows, the broadcasting
 * iterator every binary, variadic and ternary op runs on, the family's infer
 * helpers and scalar dtype conversions. The kernels themselves live in
 * ops_unary.c, ops_binary.c and ops_cast.c. */
#include "ops_elementwise.h"

#include "inferd_error.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* IR_OP_INPLACE rows compute out[i] from the inputs' elements at i alone and
 * write it after reading them, so output 0 may share input 0's memory when
 * their shapes and dtypes agree, even when the same value also feeds input
 * 1 (Add(x, x)). Not the variadic ops: they accumulate into the output one
 * input at a time, which Sum(x, y, x) written over x would corrupt. */
#define IP IR_OP_INPLACE

const struct ir_op ir_ops_elementwise[] = {
    /* Activations; the ones a backend fuses into the producing node compute
     * exactly what ir_act_apply does. */
    { "Relu", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "LeakyRelu", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "PRelu", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Clip", 6, 10, ew_clip6_infer, ew_clip_eval, IP },
    { "Clip", 11, 0, ew_clip11_infer, ew_clip_eval, IP },
    { "Sigmoid", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "HardSigmoid", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "HardSwish", 14, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Tanh", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Elu", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Selu", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Celu", 12, 0, ew_unary_infer, ew_unary_eval, IP },
    { "ThresholdedRelu", 10, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Softplus", 1, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Softsign", 1, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Shrink", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    /* Unary math. */
    { "Sqrt", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Exp", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Log", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Neg", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Abs", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Reciprocal", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Erf", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Floor", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Ceil", 6, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Round", 11, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Sign", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Sin", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Cos", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Tan", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Asin", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Acos", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Atan", 7, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Sinh", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Cosh", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Asinh", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Acosh", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Atanh", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "Not", 1, 0, ew_unary_infer, ew_unary_eval, IP },
    { "IsNaN", 9, 0, ew_unary_infer, ew_unary_eval, IP },
    { "IsInf", 10, 0, ew_unary_infer, ew_unary_eval, IP },
    /* Binary with multidirectional broadcasting (opset 7 on; the older forms
     * broadcast through attributes). */
    { "Add", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Sub", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Mul", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Div", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Mod", 10, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Pow", 7, 0, ew_pow_infer, ew_pow_eval, IP },
    { "Equal", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Less", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Greater", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "LessOrEqual", 12, 0, ew_binary_infer, ew_binary_eval, IP },
    { "GreaterOrEqual", 12, 0, ew_binary_infer, ew_binary_eval, IP },
    { "And", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Or", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    { "Xor", 7, 0, ew_binary_infer, ew_binary_eval, IP },
    /* Variadic (opset 6-7 required equal shapes: broadcasting is a superset). */
    { "Sum", 6, 0, ew_variadic_infer, ew_variadic_eval, 0 },
    { "Max", 6, 0, ew_variadic_infer, ew_variadic_eval, 0 },
    { "Min", 6, 0, ew_variadic_infer, ew_variadic_eval, 0 },
    { "Mean", 6, 0, ew_variadic_infer, ew_variadic_eval, 0 },
    { "Where", 9, 0, ew_where_infer, ew_where_eval, IP },
    { "Cast", 6, 0, ew_cast_infer, ew_cast_eval, IP },
    { "CastLike", 15, 0, ew_castlike_infer, ew_cast_eval, IP },
    { NULL, 0, 0, NULL, NULL, 0 },
};

/* --- broadcasting iterator ---------------------------------------------- */

bool ew_tensor_ok(const struct ir_tensor *t, int dtype)
{
    size_t size = ir_dtype_size(dtype);
    if (size == 0 || t->dtype != dtype || t->ndim < 0 || t->ndim > IR_MAX_DIMS) return false;
    int64_t numel = ir_tensor_numel(t);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / size) return false;
    if (numel > 0 && !t->data) return false;
    return t->nbytes >= (size_t)numel * size;
}

int ew_broadcast_run(const struct ir_tensor *out, const struct ir_tensor *const in[], int nin,
                     ew_row_fn fn, const void *ctx)
{
    if (nin < 1 || nin > EW_MAX_IN || !ew_tensor_ok(out, out->dtype)) return -EINVAL;
    const int nd = out->ndim;
    size_t isize[EW_MAX_IN];
    /* full[k][d]: elements input k advances per step along output dim d. */
    int64_t full[EW_MAX_IN][IR_MAX_DIMS];
    for (int k = 0; k < nin; k++) {
        const struct ir_tensor *t = in[k];
        if (!ew_tensor_ok(t, t->dtype) || t->ndim > nd) return -EINVAL;
        isize[k] = ir_dtype_size(t->dtype);
        int64_t stride = 1;
        for (int d = nd - 1; d >= 0; d--) {
            int j = d - (nd - t->ndim);
            int64_t dim = j >= 0 ? t->dims[j] : 1;
            if (dim != 1 && dim != out->dims[d]) return -EINVAL;
            full[k][d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }
    const int64_t total = ir_tensor_numel(out);
    if (total == 0) return 0;

    /* Drop dims of size 1 and merge a dim into the one before it when every
     * input steps through the pair as through one dim. Equal shapes and
     * scalar inputs end as one dim: a single call of fn (the fast path). */
    int64_t dims[IR_MAX_DIMS];
    int64_t st[EW_MAX_IN][IR_MAX_DIMS];
    int m = 0;
    for (int d = 0; d < nd; d++) {
        if (out->dims[d] == 1) continue;
        bool merge = m > 0;
        for (int k = 0; k < nin && merge; k++) merge = st[k][m - 1] == full[k][d] * out->dims[d];
        if (merge) {
            dims[m - 1] *= out->dims[d];
            for (int k = 0; k < nin; k++) st[k][m - 1] = full[k][d];
        } else {
            dims[m] = out->dims[d];
            for (int k = 0; k < nin; k++) st[k][m] = full[k][d];
            m++;
        }
    }
    if (m == 0) { /* every dim is 1: one element */
        dims[0] = 1;
        for (int k = 0; k < nin; k++) st[k][0] = 0;
        m = 1;
    }

    const int64_t inner = dims[m - 1];
    const int64_t rows = total / inner;
    const size_t osize = ir_dtype_size(out->dtype);
    int64_t step[EW_MAX_IN], off[EW_MAX_IN] = { 0 }, idx[IR_MAX_DIMS] = { 0 };
    const void *ptr[EW_MAX_IN];
    for (int k = 0; k < nin; k++) step[k] = st[k][m - 1];
    for (int64_t r = 0; r < rows; r++) {
        for (int k = 0; k < nin; k++)
            ptr[k] = (const char *)in[k]->data + (size_t)off[k] * isize[k];
        fn(ctx, (char *)out->data + (size_t)(r * inner) * osize, ptr, step, inner);
        /* Odometer over the outer dims, carrying the input offsets along. */
        for (int d = m - 2; d >= 0; d--) {
            for (int k = 0; k < nin; k++) off[k] += st[k][d];
            if (++idx[d] < dims[d]) break;
            for (int k = 0; k < nin; k++) off[k] -= st[k][d] * dims[d];
            idx[d] = 0;
        }
    }
    return 0;
}

/* --- infer helpers -------------------------------------------------------- */

int ew_same_dtype(struct ir_graph *g, const struct ir_node *n, int first, int count, char *err,
                  size_t errlen)
{
    const struct ir_value *ref = ir_node_input(g, n, first);
    if (!ref)
        return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input %d is missing", first);
    for (int k = first + 1; k < first + count; k++) {
        const struct ir_value *v = ir_node_input(g, n, k);
        if (v && v->dtype != ref->dtype)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input %d '%s' has dtype %s but input %d '%s' has dtype %s; "
                                 "%s needs them equal",
                                 k, v->name, ir_dtype_name(v->dtype), first, ref->name,
                                 ir_dtype_name(ref->dtype), n->op_type);
    }
    return 0;
}

int ew_broadcast_inputs(struct ir_graph *g, const struct ir_node *n, int first, int count,
                        struct ir_shape *out, char *err, size_t errlen)
{
    struct ir_shape acc = { .ndim = 0 };
    int seen = 0, last = -1;
    for (int k = first; k < first + count; k++) {
        const struct ir_value *v = ir_node_input(g, n, k);
        if (!v) continue;
        struct ir_shape r;
        if (ir_shape_broadcast(&acc, &v->shape, &r) < 0) {
            char sa[160], sb[160];
            ir_shape_str(&v->shape, sb, sizeof(sb));
            ir_shape_str(&acc, sa, sizeof(sa));
            if (seen == 1)
                return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                     "input %d '%s' of shape %s does not broadcast with input "
                                     "%d '%s' of shape %s",
                                     k, v->name, sb, last, g->values[n->in[last]].name, sa);
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "input %d '%s' of shape %s does not broadcast with shape %s of "
                                 "the inputs before it",
                                 k, v->name, sb, sa);
        }
        acc = r;
        seen++;
        last = k;
    }
    *out = acc;
    return 0;
}

int ew_dtype_unsupported(struct ir_graph *g, const struct ir_node *n, int k, char *err,
                         size_t errlen)
{
    const struct ir_value *v = ir_node_input(g, n, k);
    return ir_node_error(g, n, INFERD_E_UNSUPPORTED, err, errlen,
                         "input %d '%s' has dtype %s, which %s does not support", k,
                         v ? v->name : "", ir_dtype_name(v ? v->dtype : 0), n->op_type);
}

ew_row_fn ew_pick(const ew_row_fn table[EW_NDTYPES], int dtype)
{
    return dtype >= 0 && dtype < EW_NDTYPES ? table[dtype] : NULL;
}

/* --- scalar conversions ------------------------------------------------- */

bool ew_dtype_is_float(int dtype)
{
    return dtype == IR_DT_F16 || dtype == IR_DT_F32 || dtype == IR_DT_F64;
}

bool ew_dtype_is_int(int dtype)
{
    switch (dtype) {
    case IR_DT_I8:
    case IR_DT_I16:
    case IR_DT_I32:
    case IR_DT_I64:
    case IR_DT_U8:
    case IR_DT_U16:
    case IR_DT_U32:
    case IR_DT_U64: return true;
    default: return false;
    }
}

#define EW_AT(T, p, i) (((T *)(p))[i])

double ew_load_f64(int dtype, const void *p, int64_t i)
{
    switch (dtype) {
    case IR_DT_F32: return EW_AT(const float, p, i);
    case IR_DT_F64: return EW_AT(const double, p, i);
    case IR_DT_F16: return ew_half_to_float(EW_AT(const uint16_t, p, i));
    case IR_DT_I8: return EW_AT(const int8_t, p, i);
    case IR_DT_I16: return EW_AT(const int16_t, p, i);
    case IR_DT_I32: return EW_AT(const int32_t, p, i);
    case IR_DT_I64: return (double)EW_AT(const int64_t, p, i);
    case IR_DT_U8: return EW_AT(const uint8_t, p, i);
    case IR_DT_U16: return EW_AT(const uint16_t, p, i);
    case IR_DT_U32: return EW_AT(const uint32_t, p, i);
    case IR_DT_U64: return (double)EW_AT(const uint64_t, p, i);
    case IR_DT_BOOL: return EW_AT(const uint8_t, p, i) != 0;
    default: return 0.0;
    }
}

/* Truncation toward zero that saturates instead of the undefined behaviour C
 * gives out-of-range conversions; NaN gives 0. */
static int64_t sat_i64(double v, int64_t lo, int64_t hi)
{
    if (isnan(v)) return 0;
    if (v <= (double)lo) return lo;
    /* (double)hi may round up past hi (INT64_MAX becomes 2^63): compare so
     * that every double that is converted is below 2^63. */
    if (v >= (double)hi) return hi;
    return (int64_t)v;
}

int64_t ew_load_i64(int dtype, const void *p, int64_t i)
{
    switch (dtype) {
    case IR_DT_I8: return EW_AT(const int8_t, p, i);
    case IR_DT_I16: return EW_AT(const int16_t, p, i);
    case IR_DT_I32: return EW_AT(const int32_t, p, i);
    case IR_DT_I64: return EW_AT(const int64_t, p, i);
    case IR_DT_U8: return EW_AT(const uint8_t, p, i);
    case IR_DT_U16: return EW_AT(const uint16_t, p, i);
    case IR_DT_U32: return EW_AT(const uint32_t, p, i);
    case IR_DT_U64: return (int64_t)EW_AT(const uint64_t, p, i);
    case IR_DT_BOOL: return EW_AT(const uint8_t, p, i) != 0;
    default: return sat_i64(ew_load_f64(dtype, p, i), INT64_MIN, INT64_MAX);
    }
}

void ew_store_f64(int dtype, void *p, int64_t i, double v)
{
    switch (dtype) {
    case IR_DT_F32: EW_AT(float, p, i) = (float)v; break;
    case IR_DT_F64: EW_AT(double, p, i) = v; break;
    case IR_DT_F16: EW_AT(uint16_t, p, i) = ew_double_to_half(v); break;
    case IR_DT_I8: EW_AT(int8_t, p, i) = (int8_t)sat_i64(v, INT8_MIN, INT8_MAX); break;
    case IR_DT_I16: EW_AT(int16_t, p, i) = (int16_t)sat_i64(v, INT16_MIN, INT16_MAX); break;
    case IR_DT_I32: EW_AT(int32_t, p, i) = (int32_t)sat_i64(v, INT32_MIN, INT32_MAX); break;
    case IR_DT_I64: EW_AT(int64_t, p, i) = sat_i64(v, INT64_MIN, INT64_MAX); break;
    case IR_DT_U8: EW_AT(uint8_t, p, i) = (uint8_t)sat_i64(v, 0, UINT8_MAX); break;
    case IR_DT_U16: EW_AT(uint16_t, p, i) = (uint16_t)sat_i64(v, 0, UINT16_MAX); break;
    case IR_DT_U32: EW_AT(uint32_t, p, i) = (uint32_t)sat_i64(v, 0, UINT32_MAX); break;
    case IR_DT_U64:
        if (isnan(v) || v <= 0.0)
            EW_AT(uint64_t, p, i) = 0;
        else if (v >= 0x1p64)
            EW_AT(uint64_t, p, i) = UINT64_MAX;
        else
            EW_AT(uint64_t, p, i) = (uint64_t)v;
        break;
    case IR_DT_BOOL: EW_AT(uint8_t, p, i) = v != 0.0; break;
    default: break;
    }
}

void ew_store_i64(int dtype, void *p, int64_t i, int64_t v)
{
    switch (dtype) {
    case IR_DT_F32: EW_AT(float, p, i) = (float)v; break;
    case IR_DT_F64: EW_AT(double, p, i) = (double)v; break;
    case IR_DT_F16: EW_AT(uint16_t, p, i) = ew_double_to_half((double)v); break;
    /* Into narrower integers the value wraps, as numpy's astype does. */
    case IR_DT_I8: EW_AT(int8_t, p, i) = (int8_t)v; break;
    case IR_DT_I16: EW_AT(int16_t, p, i) = (int16_t)v; break;
    case IR_DT_I32: EW_AT(int32_t, p, i) = (int32_t)v; break;
    case IR_DT_I64: EW_AT(int64_t, p, i) = v; break;
    case IR_DT_U8: EW_AT(uint8_t, p, i) = (uint8_t)v; break;
    case IR_DT_U16: EW_AT(uint16_t, p, i) = (uint16_t)v; break;
    case IR_DT_U32: EW_AT(uint32_t, p, i) = (uint32_t)v; break;
    case IR_DT_U64: EW_AT(uint64_t, p, i) = (uint64_t)v; break;
    case IR_DT_BOOL: EW_AT(uint8_t, p, i) = v != 0; break;
    default: break;
    }
}

void ew_store_u64(int dtype, void *p, int64_t i, uint64_t v)
{
    switch (dtype) {
    case IR_DT_F32: EW_AT(float, p, i) = (float)v; break;
    case IR_DT_F64: EW_AT(double, p, i) = (double)v; break;
    case IR_DT_F16: EW_AT(uint16_t, p, i) = ew_double_to_half((double)v); break;
    case IR_DT_BOOL: EW_AT(uint8_t, p, i) = v != 0; break;
    default: ew_store_i64(dtype, p, i, (int64_t)v); break;
    }
}

float ew_half_to_float(uint16_t h)
{
    const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24); /* zero and subnormals */
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

uint16_t ew_double_to_half(double v)
{
    const uint16_t sign = signbit(v) ? 0x8000 : 0;
    const double a = fabs(v);
    if (isnan(v)) return sign | 0x7e00;
    /* 65520 is halfway between the largest half (65504) and 2^16: the tie
     * rounds to the even side, which is infinity. */
    if (a >= 65520.0) return sign | 0x7c00;
    /* Subnormals count in steps of 2^-24; rounding up to 1024 steps yields
     * the bits of the smallest normal, as it should. nearbyint rounds to
     * even in the default rounding mode. */
    if (a < 0x1p-14) return sign | (uint16_t)nearbyint(a * 0x1p24);
    int e;
    (void)frexp(a, &e); /* a = f * 2^e with f in [0.5, 1) */
    const int exp = e - 1;
    const double mant = nearbyint((ldexp(a, -exp) - 1.0) * 1024.0);
    /* A mantissa that rounds up to 1024 carries into the exponent. */
    return sign | (uint16_t)(((exp + 15) << 10) + (int)mant);
}
