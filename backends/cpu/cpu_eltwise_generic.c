/* The generic C level of the element-wise table: plain loops the compiler
 * may vectorize with what the baseline target has, activations through
 * ir_act_apply itself so this level is the reference up to summation order. */
#include "cpu_eltwise.h"

#include <math.h>

/* ir_act_apply, with ReLU and Clip written as comparisons the compiler
 * vectorizes (fminf and fmaxf stay library calls at -O2): the same values,
 * NaN included, whenever Clip's bounds are numbers. */
static void act_apply(const struct ir_act *act, float *restrict x, int64_t n)
{
    const float a = act->a, b = act->b;
    if (act->kind == IR_ACT_RELU) {
        for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    } else if (act->kind == IR_ACT_CLIP && a == a && b == b) {
        for (int64_t i = 0; i < n; i++) {
            const float t = x[i] > a ? x[i] : a; /* fmaxf(x, a): a when x is NaN */
            x[i] = t < b ? t : b;
        }
    } else {
        ir_act_apply(act, x, (size_t)n);
    }
}

static void epilogue(float *y, const float *sum, int64_t n, float bias, const struct ir_act *act)
{
    if (bias != 0.0f)
        for (int64_t i = 0; i < n; i++) y[i] += bias;
    if (sum)
        for (int64_t i = 0; i < n; i++) y[i] += sum[i];
    act_apply(act, y, n);
}

static void unary(float *y, const float *x, int64_t n, const struct ir_act *act)
{
    if (y != x)
        for (int64_t i = 0; i < n; i++) y[i] = x[i];
    act_apply(act, y, n);
}

static void binary(int op, float *y, const float *a, const float *b, int bstep, int64_t n,
                   const struct ir_act *act)
{
    if (bstep == 0) {
        const float s = b[0];
        switch (op) {
        case CPU_BIN_ADD:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] + s;
            break;
        case CPU_BIN_SUB:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] - s;
            break;
        case CPU_BIN_MUL:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] * s;
            break;
        default:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] / s;
            break;
        }
    } else {
        switch (op) {
        case CPU_BIN_ADD:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
            break;
        case CPU_BIN_SUB:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] - b[i];
            break;
        case CPU_BIN_MUL:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
            break;
        default:
            for (int64_t i = 0; i < n; i++) y[i] = a[i] / b[i];
            break;
        }
    }
    act_apply(act, y, n);
}

static void gemv(float *y, const float *wt, const float *x, const float *bias, int64_t m, int64_t c,
                 int64_t ldw, const struct ir_act *act)
{
    for (int64_t i = 0; i < m; i++) y[i] = bias[i];
    for (int64_t j = 0; j < c; j++) {
        const float xj = x[j], *row = wt + j * ldw;
        for (int64_t i = 0; i < m; i++) y[i] += xj * row[i];
    }
    ir_act_apply(act, y, (size_t)m);
}

static float sum(const float *x, int64_t n)
{
    /* Four partial sums: the loop vectorizes and rounding grows slower. */
    float s[4] = { 0, 0, 0, 0 };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) s[k] += x[i + k];
    for (; i < n; i++) s[0] += x[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

static float max(const float *x, int64_t n)
{
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* Blocks of 16 keep both sides in cache. */
static void transpose(const float *t, int64_t rows, int64_t cols, int64_t j0, int64_t j1, float *y,
                      int64_t ldy)
{
    for (int64_t i0 = 0; i0 < rows; i0 += 16)
        for (int64_t jb = j0; jb < j1; jb += 16)
            for (int64_t j = jb; j < jb + 16 && j < j1; j++)
                for (int64_t i = i0; i < i0 + 16 && i < rows; i++) y[j * ldy + i] = t[i * cols + j];
}

const struct cpu_vec cpu_vec_generic = {
    .level = CPU_ISA_GENERIC,
    .epilogue = epilogue,
    .unary = unary,
    .binary = binary,
    .gemv = gemv,
    .sum = sum,
    .max = max,
    .window = cpu_window_generic,
    .transpose = transpose,
};
