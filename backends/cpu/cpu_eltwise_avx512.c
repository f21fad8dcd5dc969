/* The AVX-512 level of the element-wise table: 16 floats per vector, two
 * vectors per iteration, a masked vector for the tail. */
#include "cpu_eltwise_avx512.h"

#include <math.h>

void cpu_window_avx512(int op, const struct cpu_window *g, const struct cpu_plane *p);
void cpu_window_block_avx512(int op, const struct cpu_window *g, const struct cpu_block *b);
void cpu_gconv_avx512(const struct cpu_gconv *a);
void cpu_dw_flat_avx512(const struct cpu_dw_flat *a);
void cpu_dw_nhwc_avx512(const struct cpu_dw_nhwc *a);

AVX512_INLINE __mmask16 tail_mask(int64_t n)
{
    return (__mmask16)((1u << n) - 1u);
}

static void epilogue(float *y, const float *sum, int64_t n, float bias, const struct ir_act *act)
{
    const __m512 b = _mm512_set1_ps(bias);
    int64_t i = 0;
    if (sum) {
        for (; i + 16 <= n; i += 16) {
            __m512 v =
                _mm512_add_ps(_mm512_add_ps(_mm512_loadu_ps(y + i), b), _mm512_loadu_ps(sum + i));
            _mm512_storeu_ps(y + i, act16(v, act));
        }
        if (i < n) {
            __mmask16 m = tail_mask(n - i);
            __m512 v = _mm512_add_ps(_mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), b),
                                     _mm512_maskz_loadu_ps(m, sum + i));
            _mm512_mask_storeu_ps(y + i, m, act16(v, act));
        }
    } else {
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, act16(_mm512_add_ps(_mm512_loadu_ps(y + i), b), act));
        if (i < n) {
            __mmask16 m = tail_mask(n - i);
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + i), b);
            _mm512_mask_storeu_ps(y + i, m, act16(v, act));
        }
    }
    if (act16_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

/* One loop per activation kind: no switch inside it. */
AVX512_INLINE void unary_loop(float *y, const float *x, int64_t n, const struct ir_act *act,
                              const int kind)
{
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a = act16k(_mm512_loadu_ps(x + i), act, kind);
        __m512 b = act16k(_mm512_loadu_ps(x + i + 16), act, kind);
        _mm512_storeu_ps(y + i, a);
        _mm512_storeu_ps(y + i + 16, b);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, act16k(_mm512_maskz_loadu_ps(m, x + i), act, kind));
    }
}

static void unary(float *y, const float *x, int64_t n, const struct ir_act *act)
{
    switch (act->kind) {
    case IR_ACT_RELU: unary_loop(y, x, n, act, IR_ACT_RELU); break;
    case IR_ACT_CLIP: unary_loop(y, x, n, act, IR_ACT_CLIP); break;
    case IR_ACT_SIGMOID: unary_loop(y, x, n, act, IR_ACT_SIGMOID); break;
    case IR_ACT_HARD_SIGMOID: unary_loop(y, x, n, act, IR_ACT_HARD_SIGMOID); break;
    case IR_ACT_HARD_SWISH: unary_loop(y, x, n, act, IR_ACT_HARD_SWISH); break;
    case IR_ACT_SILU: unary_loop(y, x, n, act, IR_ACT_SILU); break;
    default: unary_loop(y, x, n, act, act->kind); break;
    }
    if (act16_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

AVX512_INLINE __m512 binop16(int op, __m512 a, __m512 b)
{
    switch (op) {
    case CPU_BIN_ADD: return _mm512_add_ps(a, b);
    case CPU_BIN_SUB: return _mm512_sub_ps(a, b);
    case CPU_BIN_MUL: return _mm512_mul_ps(a, b);
    default: return _mm512_div_ps(a, b);
    }
}

AVX512_INLINE void binary_loop(int op, float *y, const float *a, const float *b, int bstep,
                               int64_t n, const struct ir_act *act)
{
    const __m512 bs = _mm512_set1_ps(b[0]);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 b0 = bstep ? _mm512_loadu_ps(b + i) : bs;
        __m512 b1 = bstep ? _mm512_loadu_ps(b + i + 16) : bs;
        __m512 v0 = act16(binop16(op, _mm512_loadu_ps(a + i), b0), act);
        __m512 v1 = act16(binop16(op, _mm512_loadu_ps(a + i + 16), b1), act);
        _mm512_storeu_ps(y + i, v0);
        _mm512_storeu_ps(y + i + 16, v1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        /* A masked-off divisor lane is 1, not 0: no spurious division flags. */
        __m512 bv = bstep ? _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, b + i) : bs;
        __m512 v = act16(binop16(op, _mm512_maskz_loadu_ps(m, a + i), bv), act);
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void binary(int op, float *y, const float *a, const float *b, int bstep, int64_t n,
                   const struct ir_act *act)
{
    /* One instance per op so the loop carries no switch. */
    switch (op) {
    case CPU_BIN_ADD: binary_loop(CPU_BIN_ADD, y, a, b, bstep, n, act); break;
    case CPU_BIN_SUB: binary_loop(CPU_BIN_SUB, y, a, b, bstep, n, act); break;
    case CPU_BIN_MUL: binary_loop(CPU_BIN_MUL, y, a, b, bstep, n, act); break;
    default: binary_loop(CPU_BIN_DIV, y, a, b, bstep, n, act); break;
    }
    if (act16_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

/* Four vectors of outputs at a time, one broadcast input per step. */
static void gemv(float *y, const float *wt, const float *x, const float *bias, int64_t m, int64_t c,
                 int64_t ldw, const struct ir_act *act)
{
    int64_t i = 0;
    for (; i + 64 <= m; i += 64) {
        __m512 a0 = _mm512_load_ps(bias + i), a1 = _mm512_load_ps(bias + i + 16);
        __m512 a2 = _mm512_load_ps(bias + i + 32), a3 = _mm512_load_ps(bias + i + 48);
        for (int64_t j = 0; j < c; j++) {
            const __m512 xj = _mm512_set1_ps(x[j]);
            const float *row = wt + j * ldw + i;
            a0 = _mm512_fmadd_ps(xj, _mm512_load_ps(row), a0);
            a1 = _mm512_fmadd_ps(xj, _mm512_load_ps(row + 16), a1);
            a2 = _mm512_fmadd_ps(xj, _mm512_load_ps(row + 32), a2);
            a3 = _mm512_fmadd_ps(xj, _mm512_load_ps(row + 48), a3);
        }
        _mm512_storeu_ps(y + i, act16(a0, act));
        _mm512_storeu_ps(y + i + 16, act16(a1, act));
        _mm512_storeu_ps(y + i + 32, act16(a2, act));
        _mm512_storeu_ps(y + i + 48, act16(a3, act));
    }
    for (; i < m; i += 16) {
        __m512 a0 = _mm512_load_ps(bias + i);
        for (int64_t j = 0; j < c; j++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(x[j]), _mm512_load_ps(wt + j * ldw + i), a0);
        __mmask16 mk = m - i >= 16 ? (__mmask16)0xffff : tail_mask(m - i);
        _mm512_mask_storeu_ps(y + i, mk, act16(a0, act));
    }
    if (act16_scalar(act)) ir_act_apply(act, y, (size_t)m);
}

static float sum(const float *x, int64_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(m, x + i));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static float max(const float *x, int64_t n)
{
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf;
    int64_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : tail_mask(n - i);
        m0 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, m, x + i), m0);
    }
    return _mm512_reduce_max_ps(m0);
}

const struct cpu_vec cpu_vec_avx512 = {
    .level = CPU_ISA_AVX512,
    .epilogue = epilogue,
    .unary = unary,
    .binary = binary,
    .gemv = gemv,
    .sum = sum,
    .max = max,
    .window = cpu_window_avx512,
    .window_block = cpu_window_block_avx512,
    .gconv_block = 16,
    .gconv = cpu_gconv_avx512,
    .transpose = cpu_transpose_avx2,
    .dw_flat = cpu_dw_flat_avx512,
    .dw_nhwc = cpu_dw_nhwc_avx512,
};
