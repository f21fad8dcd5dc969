/* Operators: element-wise ops over two or more inputs, all on the one
 * broadcasting iterator (ew_broadcast_run): arithmetic, Mod, Pow,
 * comparisons, logic, PRelu, the variadic Sum/Max/Min/Mean and Where.
 *
 * Integer arithmetic wraps (computed in an unsigned type, as two's
 * complement hardware and numpy do) instead of overflowing, and integer
 * division and modulo by zero give 0: a model cannot make a kernel trap or
 * hit undefined behaviour. Division truncates toward zero, as ONNX says. */
#include "ops_elementwise.h"

#include "inferd_error.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <tgmath.h>

struct bin_params {
    int kind;  /* index into bin_descs */
    int dtype; /* of both inputs */
};

/* One kernel instance: `expr` computes the output from `a` and `b` (of type
 * T; U is an unsigned type at least as wide that never promotes to int). TS
 * and TO are the element types in memory, LOAD and STORE convert between
 * them and T. */
#define BIN_ROW(fname, TS, TI, UI, TO, LOAD, STORE, expr)                                          \
    static void fname(const void *ctx, void *out, const void *const in[], const int64_t step[],    \
                      int64_t n)                                                                   \
    {                                                                                              \
        typedef TI T;                                                                              \
        typedef UI U;                                                                              \
        const TS *as = in[0], *bs = in[1];                                                         \
        const int64_t sa = step[0], sb = step[1];                                                  \
        TO *ys = out;                                                                              \
        for (int64_t i = 0; i < n; i++) {                                                          \
            const T a = LOAD(as[i * sa]), b = LOAD(bs[i * sb]);                                    \
            ys[i] = (TO)STORE((T)(expr));                                                          \
            (void)b;                                                                               \
        }                                                                                          \
        (void)sizeof(U);                                                                           \
        (void)ctx;                                                                                 \
    }
#define BIN_SAME(fname, T, U, TO, expr) BIN_ROW(fname, T, T, U, TO, EW_AS_IS, EW_AS_IS, expr)

#define BIN_FLOAT(op, expr)                                                                        \
    BIN_ROW(op##_f16, uint16_t, float, float, uint16_t, EW_HALF_IN, EW_HALF_OUT, expr)             \
    BIN_SAME(op##_f32, float, float, float, expr)                                                  \
    BIN_SAME(op##_f64, double, double, double, expr)
#define BIN_SINT(op, expr)                                                                         \
    BIN_SAME(op##_i8, int8_t, uint32_t, int8_t, expr)                                              \
    BIN_SAME(op##_i16, int16_t, uint32_t, int16_t, expr)                                           \
    BIN_SAME(op##_i32, int32_t, uint32_t, int32_t, expr)                                           \
    BIN_SAME(op##_i64, int64_t, uint64_t, int64_t, expr)
#define BIN_UINT(op, expr)                                                                         \
    BIN_SAME(op##_u8, uint8_t, uint32_t, uint8_t, expr)                                            \
    BIN_SAME(op##_u16, uint16_t, uint32_t, uint16_t, expr)                                         \
    BIN_SAME(op##_u32, uint32_t, uint32_t, uint32_t, expr)                                         \
    BIN_SAME(op##_u64, uint64_t, uint64_t, uint64_t, expr)
#define BIN_INT(op, expr) BIN_SINT(op, expr) BIN_UINT(op, expr)
/* Predicates: every numeric dtype and bool in, bool out. */
#define BIN_PRED(op, expr)                                                                         \
    BIN_ROW(op##_f16, uint16_t, float, float, uint8_t, EW_HALF_IN, EW_AS_IS, expr)                 \
    BIN_SAME(op##_f32, float, float, uint8_t, expr)                                                \
    BIN_SAME(op##_f64, double, double, uint8_t, expr)                                              \
    BIN_SAME(op##_i8, int8_t, uint32_t, uint8_t, expr)                                             \
    BIN_SAME(op##_i16, int16_t, uint32_t, uint8_t, expr)                                           \
    BIN_SAME(op##_i32, int32_t, uint32_t, uint8_t, expr)                                           \
    BIN_SAME(op##_i64, int64_t, uint64_t, uint8_t, expr)                                           \
    BIN_SAME(op##_u8, uint8_t, uint32_t, uint8_t, expr)                                            \
    BIN_SAME(op##_u16, uint16_t, uint32_t, uint8_t, expr)                                          \
    BIN_SAME(op##_u32, uint32_t, uint32_t, uint8_t, expr)                                          \
    BIN_SAME(op##_u64, uint64_t, uint64_t, uint8_t, expr)                                          \
    BIN_SAME(op##_b, uint8_t, uint32_t, uint8_t, expr)

/* clang-format reads these macro arguments as declarations. */
/* clang-format off */

/* Integer +, -, * done in U: they wrap where T would overflow. */
#define WRAP_ADD ((T)((U)a + (U)b))
#define WRAP_SUB ((T)((U)a - (U)b))
#define WRAP_MUL ((T)((U)a * (U)b))

BIN_FLOAT(add, a + b)
BIN_INT(add, WRAP_ADD)
BIN_FLOAT(sub, a - b)
BIN_INT(sub, WRAP_SUB)
BIN_FLOAT(mul, a * b)
BIN_INT(mul, WRAP_MUL)
BIN_FLOAT(div, a / b)
/* T_MIN / -1 overflows: it is the wrapped negation instead. */
BIN_SINT(div, b == 0 ? 0 : b == -1 ? (T)(0u - (U)a) : a / b)
BIN_UINT(div, b == 0 ? 0 : a / b)
/* Mod with fmod=0: the result takes the divisor's sign (Python's %). */
#define PY_MOD (a % b != 0 && (a % b < 0) != (b < 0) ? a % b + b : a % b)
BIN_SINT(mod, b == 0 || b == -1 ? 0 : PY_MOD)
BIN_UINT(mod, b == 0 ? 0 : a % b)
/* Mod with fmod=1: the result takes the dividend's sign (C's %, fmod). */
BIN_FLOAT(fmod, fmod(a, b))
BIN_SINT(fmod, b == 0 || b == -1 ? 0 : a % b)
BIN_UINT(fmod, b == 0 ? 0 : a % b)
/* NaN wins, as in numpy's maximum and minimum. */
BIN_FLOAT(max, a > b || a != a ? a : b)
BIN_INT(max, a > b ? a : b)
BIN_FLOAT(min, a < b || a != a ? a : b)
BIN_INT(min, a < b ? a : b)
/* a < 0 ? a * slope : a, which is numpy's clip(a, 0, inf) + clip(a, -inf, 0) * slope. */
BIN_FLOAT(prelu, a < 0 ? a * b : a)
BIN_SINT(prelu, a < 0 ? WRAP_MUL : a)
BIN_UINT(prelu, a)
BIN_PRED(equal, a == b)
BIN_PRED(less, a < b)
BIN_PRED(less_equal, a <= b)
BIN_PRED(greater, a > b)
BIN_PRED(greater_equal, a >= b)
BIN_SAME(and_b, uint8_t, uint32_t, uint8_t, (a != 0) & (b != 0))
BIN_SAME(or_b, uint8_t, uint32_t, uint8_t, (a != 0) | (b != 0))
BIN_SAME(xor_b, uint8_t, uint32_t, uint8_t, (a != 0) ^ (b != 0))

/* clang-format on */

#define ALL_NUMERIC(op) EW_FLOATS(op), EW_SINTS(op), EW_UINTS(op)

struct bin_desc {
    const char *name; /* op_type; "Mod:fmod" is Mod with fmod=1 */
    int out_dtype;    /* IR_DT_UNDEFINED: the inputs' */
    ew_row_fn rows[EW_NDTYPES];
};

static const struct bin_desc bin_descs[] = {
    { "Add", 0, { ALL_NUMERIC(add) } },
    { "Sub", 0, { ALL_NUMERIC(sub) } },
    { "Mul", 0, { ALL_NUMERIC(mul) } },
    { "Div", 0, { ALL_NUMERIC(div) } },
    { "Mod", 0, { EW_SINTS(mod), EW_UINTS(mod) } },
    { "Mod:fmod", 0, { ALL_NUMERIC(fmod) } },
    { "Max", 0, { ALL_NUMERIC(max) } },
    { "Min", 0, { ALL_NUMERIC(min) } },
    { "PRelu", 0, { ALL_NUMERIC(prelu) } },
    { "Equal", IR_DT_BOOL, { ALL_NUMERIC(equal), [IR_DT_BOOL] = equal_b } },
    { "Less", IR_DT_BOOL, { ALL_NUMERIC(less), [IR_DT_BOOL] = less_b } },
    { "LessOrEqual", IR_DT_BOOL, { ALL_NUMERIC(less_equal), [IR_DT_BOOL] = less_equal_b } },
    { "Greater", IR_DT_BOOL, { ALL_NUMERIC(greater), [IR_DT_BOOL] = greater_b } },
    { "GreaterOrEqual",
      IR_DT_BOOL,
      { ALL_NUMERIC(greater_equal), [IR_DT_BOOL] = greater_equal_b } },
    { "And", IR_DT_BOOL, { [IR_DT_BOOL] = and_b } },
    { "Or", IR_DT_BOOL, { [IR_DT_BOOL] = or_b } },
    { "Xor", IR_DT_BOOL, { [IR_DT_BOOL] = xor_b } },
};

#define BIN_NDESCS ((int)(sizeof(bin_descs) / sizeof(bin_descs[0])))

static int bin_find(const char *name)
{
    for (int k = 0; k < BIN_NDESCS; k++)
        if (strcmp(bin_descs[k].name, name) == 0) return k;
    return -1;
}

int ew_binary_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    const bool fmod1 = strcmp(n->op_type, "Mod") == 0 && ir_node_attr_int(n, "fmod", 0) != 0;
    const int kind = bin_find(fmod1 ? "Mod:fmod" : n->op_type);
    if (kind < 0)
        return ir_node_error(g, n, INFERD_E_INTERNAL, err, errlen,
                             "no element-wise kernel for operator %s", n->op_type);
    const struct bin_desc *d = &bin_descs[kind];
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    rc = ew_same_dtype(g, n, 0, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *a = ir_node_input(g, n, 0), *b = ir_node_input(g, n, 1);
    if (!ew_pick(d->rows, a->dtype)) {
        if (strcmp(n->op_type, "Mod") == 0 && !fmod1 && ew_dtype_is_float(a->dtype))
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "Mod of %s inputs needs the attribute fmod=1",
                                 ir_dtype_name(a->dtype));
        return ew_dtype_unsupported(g, n, 0, err, errlen);
    }
    struct ir_shape shape;
    if (strcmp(n->op_type, "PRelu") == 0) {
        /* The slope broadcasts to X, never the other way. */
        struct ir_shape r;
        if (ir_shape_broadcast(&a->shape, &b->shape, &r) < 0 || !ir_shape_equal(&r, &a->shape)) {
            char sa[160], sb[160];
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen,
                                 "slope '%s' of shape %s does not broadcast to input '%s' of "
                                 "shape %s",
                                 b->name, ir_shape_str(&b->shape, sb, sizeof(sb)), a->name,
                                 ir_shape_str(&a->shape, sa, sizeof(sa)));
        }
        shape = a->shape;
    } else {
        rc = ew_broadcast_inputs(g, n, 0, 2, &shape, err, errlen);
        if (rc < 0) return rc;
    }
    struct bin_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = kind;
    p->dtype = a->dtype;
    return ir_node_output_set(g, n, 0, d->out_dtype ? d->out_dtype : a->dtype, &shape, err, errlen);
}

int ew_binary_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                   int nout)
{
    const struct bin_params *p = params;
    if (!p || p->kind < 0 || p->kind >= BIN_NDESCS || nin < 2 || nout < 1) return -EINVAL;
    const struct bin_desc *d = &bin_descs[p->kind];
    ew_row_fn fn = ew_pick(d->rows, p->dtype);
    if (!fn || in[0].dtype != p->dtype || in[1].dtype != p->dtype ||
        out[0].dtype != (d->out_dtype ? d->out_dtype : p->dtype))
        return -EINVAL;
    const struct ir_tensor *args[2] = { &in[0], &in[1] };
    return ew_broadcast_run(&out[0], args, 2, fn, p);
}

/* --- Pow ----------------------------------------------------------------- */

struct pow_params {
    int base, exp; /* dtypes */
};

static void pow_f32(const void *ctx, void *out, const void *const in[], const int64_t step[],
                    int64_t n)
{
    const float *a = in[0], *b = in[1];
    float *y = out;
    for (int64_t i = 0; i < n; i++) y[i] = pow(a[i * step[0]], b[i * step[1]]);
    (void)ctx;
}

static void pow_f64(const void *ctx, void *out, const void *const in[], const int64_t step[],
                    int64_t n)
{
    const double *a = in[0], *b = in[1];
    double *y = out;
    for (int64_t i = 0; i < n; i++) y[i] = pow(a[i * step[0]], b[i * step[1]]);
    (void)ctx;
}

/* Mixed dtypes with a float on either side: in double, as numpy does, then
 * converted to the base's dtype (saturating into integers). */
static void pow_mixed(const void *ctx, void *out, const void *const in[], const int64_t step[],
                      int64_t n)
{
    const struct pow_params *p = ctx;
    for (int64_t i = 0; i < n; i++)
        ew_store_f64(
            p->base, out, i,
            pow(ew_load_f64(p->base, in[0], i * step[0]), ew_load_f64(p->exp, in[1], i * step[1])));
}

/* Integers on both sides: exact, wrapping like repeated multiplication. A
 * negative exponent gives the truncated 1 / base^-e: 0 unless |base| is 1. */
static void pow_int(const void *ctx, void *out, const void *const in[], const int64_t step[],
                    int64_t n)
{
    const struct pow_params *p = ctx;
    const bool exp_signed = p->exp != IR_DT_U64;
    const bool base_signed = p->base != IR_DT_U64;
    for (int64_t i = 0; i < n; i++) {
        const int64_t base = ew_load_i64(p->base, in[0], i * step[0]);
        const int64_t e = ew_load_i64(p->exp, in[1], i * step[1]);
        uint64_t r = 1;
        if (exp_signed && e < 0) {
            if (base == 1)
                r = 1;
            else if (base == -1 && base_signed)
                r = (e & 1) ? UINT64_MAX : 1;
            else
                r = 0;
        } else {
            uint64_t b = (uint64_t)base, k = (uint64_t)e;
            for (; k; k >>= 1, b *= b)
                if (k & 1) r *= b;
        }
        ew_store_u64(p->base, out, i, r);
    }
}

static bool pow_dtype_ok(int dtype)
{
    return ew_dtype_is_float(dtype) || ew_dtype_is_int(dtype);
}

int ew_pow_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 2, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *a = ir_node_input(g, n, 0), *b = ir_node_input(g, n, 1);
    if (!pow_dtype_ok(a->dtype)) return ew_dtype_unsupported(g, n, 0, err, errlen);
    if (!pow_dtype_ok(b->dtype)) return ew_dtype_unsupported(g, n, 1, err, errlen);
    struct ir_shape shape;
    rc = ew_broadcast_inputs(g, n, 0, 2, &shape, err, errlen);
    if (rc < 0) return rc;
    struct pow_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->base = a->dtype;
    p->exp = b->dtype;
    return ir_node_output_set(g, n, 0, a->dtype, &shape, err, errlen);
}

int ew_pow_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                int nout)
{
    const struct pow_params *p = params;
    if (!p || nin < 2 || nout < 1 || !pow_dtype_ok(p->base) || !pow_dtype_ok(p->exp) ||
        in[0].dtype != p->base || in[1].dtype != p->exp || out[0].dtype != p->base)
        return -EINVAL;
    ew_row_fn fn;
    if (p->base == IR_DT_F32 && p->exp == IR_DT_F32)
        fn = pow_f32;
    else if (p->base == IR_DT_F64 && p->exp == IR_DT_F64)
        fn = pow_f64;
    else if (ew_dtype_is_int(p->base) && ew_dtype_is_int(p->exp))
        fn = pow_int;
    else
        fn = pow_mixed;
    const struct ir_tensor *args[2] = { &in[0], &in[1] };
    return ew_broadcast_run(&out[0], args, 2, fn, p);
}

/* --- copies by element size (Where, the variadic ops' first input) -------- */

#define COPY_ROW(bits)                                                                             \
    static void copy_##bits(const void *ctx, void *out, const void *const in[],                    \
                            const int64_t step[], int64_t n)                                       \
    {                                                                                              \
        const uint##bits##_t *a = in[0];                                                           \
        uint##bits##_t *y = out;                                                                   \
        for (int64_t i = 0; i < n; i++) y[i] = a[i * step[0]];                                     \
        (void)ctx;                                                                                 \
    }                                                                                              \
    static void where_##bits(const void *ctx, void *out, const void *const in[],                   \
                             const int64_t step[], int64_t n)                                      \
    {                                                                                              \
        const uint8_t *c = in[0];                                                                  \
        const uint##bits##_t *a = in[1], *b = in[2];                                               \
        uint##bits##_t *y = out;                                                                   \
        for (int64_t i = 0; i < n; i++) y[i] = c[i * step[0]] ? a[i * step[1]] : b[i * step[2]];   \
        (void)ctx;                                                                                 \
    }

COPY_ROW(8)
COPY_ROW(16)
COPY_ROW(32)
COPY_ROW(64)

static ew_row_fn copy_row(size_t size)
{
    switch (size) {
    case 1: return copy_8;
    case 2: return copy_16;
    case 4: return copy_32;
    case 8: return copy_64;
    default: return NULL;
    }
}

static ew_row_fn where_row(size_t size)
{
    switch (size) {
    case 1: return where_8;
    case 2: return where_16;
    case 4: return where_32;
    case 8: return where_64;
    default: return NULL;
    }
}

/* --- Sum, Max, Min, Mean -------------------------------------------------- */

struct var_params {
    int kind; /* bin_descs index of the pairwise op */
    int dtype;
    int mean; /* divide by the input count at the end */
};

int ew_variadic_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    const bool mean = strcmp(n->op_type, "Mean") == 0;
    const int kind = bin_find(strcmp(n->op_type, "Sum") == 0 || mean ? "Add" : n->op_type);
    if (kind < 0)
        return ir_node_error(g, n, INFERD_E_INTERNAL, err, errlen,
                             "no element-wise kernel for operator %s", n->op_type);
    int rc = ir_node_inputs_check(g, n, 1, INT_MAX, err, errlen);
    if (rc < 0) return rc;
    int count = n->nin;
    while (count > 0 && n->in[count - 1] < 0) count--;
    for (int k = 0; k < count; k++)
        if (n->in[k] < 0)
            return ir_node_error(g, n, INFERD_E_BAD_MODEL, err, errlen, "input %d is missing", k);
    rc = ew_same_dtype(g, n, 0, count, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *a = ir_node_input(g, n, 0);
    if (!ew_pick(bin_descs[kind].rows, a->dtype) || (mean && !ew_dtype_is_float(a->dtype)))
        return ew_dtype_unsupported(g, n, 0, err, errlen);
    struct ir_shape shape;
    rc = ew_broadcast_inputs(g, n, 0, count, &shape, err, errlen);
    if (rc < 0) return rc;
    struct var_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->kind = kind;
    p->dtype = a->dtype;
    p->mean = mean;
    return ir_node_output_set(g, n, 0, a->dtype, &shape, err, errlen);
}

int ew_variadic_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                     int nout)
{
    const struct var_params *p = params;
    if (!p || p->kind < 0 || p->kind >= BIN_NDESCS || nin < 1 || nout < 1) return -EINVAL;
    ew_row_fn fn = ew_pick(bin_descs[p->kind].rows, p->dtype);
    ew_row_fn copy = copy_row(ir_dtype_size(p->dtype));
    if (!fn || !copy || in[0].dtype != p->dtype || out[0].dtype != p->dtype) return -EINVAL;
    /* out = in[0] broadcast, then out = op(out, in[k]) for each further input:
     * out has the final shape from the start, so every step broadcasts. */
    const struct ir_tensor *first[1] = { &in[0] };
    int rc = ew_broadcast_run(&out[0], first, 1, copy, NULL);
    int count = 1;
    for (int k = 1; k < nin && rc == 0; k++) {
        if (in[k].dtype == IR_DT_UNDEFINED) continue;
        if (in[k].dtype != p->dtype) return -EINVAL;
        const struct ir_tensor *args[2] = { &out[0], &in[k] };
        rc = ew_broadcast_run(&out[0], args, 2, fn, p);
        count++;
    }
    if (rc < 0 || !p->mean) return rc;
    const int64_t total = ir_tensor_numel(&out[0]);
    if (p->dtype == IR_DT_F32) {
        float *y = out[0].data;
        for (int64_t i = 0; i < total; i++) y[i] /= (float)count;
    } else if (p->dtype == IR_DT_F64) {
        double *y = out[0].data;
        for (int64_t i = 0; i < total; i++) y[i] /= count;
    } else if (p->dtype == IR_DT_F16) {
        uint16_t *y = out[0].data;
        for (int64_t i = 0; i < total; i++)
            y[i] = ew_double_to_half(ew_half_to_float(y[i]) / (float)count);
    } else {
        return -EINVAL;
    }
    return 0;
}

/* --- Where ----------------------------------------------------------------- */

struct where_params {
    int dtype; /* of X, Y and the output */
};

int ew_where_infer(struct ir_graph *g, struct ir_node *n, char *err, size_t errlen)
{
    int rc = ir_node_inputs_check(g, n, 3, 3, err, errlen);
    if (rc < 0) return rc;
    rc = ir_node_input_dtype_check(g, n, 0, IR_DT_BOOL, err, errlen);
    if (rc < 0) return rc;
    rc = ew_same_dtype(g, n, 1, 2, err, errlen);
    if (rc < 0) return rc;
    const struct ir_value *x = ir_node_input(g, n, 1);
    if (!where_row(ir_dtype_size(x->dtype))) return ew_dtype_unsupported(g, n, 1, err, errlen);
    struct ir_shape shape;
    rc = ew_broadcast_inputs(g, n, 0, 3, &shape, err, errlen);
    if (rc < 0) return rc;
    struct where_params *p = ir_node_params_alloc(n, sizeof(*p));
    if (!p) return ir_node_error(g, n, -ENOMEM, err, errlen, "out of memory");
    p->dtype = x->dtype;
    return ir_node_output_set(g, n, 0, x->dtype, &shape, err, errlen);
}

int ew_where_eval(const void *params, const struct ir_tensor *in, int nin, struct ir_tensor *out,
                  int nout)
{
    const struct where_params *p = params;
    if (!p || nin < 3 || nout < 1) return -EINVAL;
    ew_row_fn fn = where_row(ir_dtype_size(p->dtype));
    if (!fn || in[0].dtype != IR_DT_BOOL || in[1].dtype != p->dtype || in[2].dtype != p->dtype ||
        out[0].dtype != p->dtype)
        return -EINVAL;
    const struct ir_tensor *args[3] = { &in[0], &in[1], &in[2] };
    return ew_broadcast_run(&out[0], args, 3, fn, NULL);
}
