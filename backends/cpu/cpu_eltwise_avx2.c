/* The AVX2+FMA level of the element-wise table: 8 floats per vector, two
 * vectors per iteration, a masked vector for the tail. */
#include "cpu_eltwise_avx2.h"

#include <math.h>

void cpu_window_avx2(int op, const struct cpu_window *g, const struct cpu_plane *p);
void cpu_gconv_avx2(const struct cpu_gconv *a);

static void epilogue(float *y, const float *sum, int64_t n, float bias, const struct ir_act *act)
{
    const __m256 b = _mm256_set1_ps(bias);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(y + i), b);
        if (sum) v = _mm256_add_ps(v, _mm256_loadu_ps(sum + i));
        _mm256_storeu_ps(y + i, act8(v, act));
    }
    if (i < n) {
        __m256i m = tail_mask8(n - i);
        __m256 v = _mm256_add_ps(_mm256_maskload_ps(y + i, m), b);
        if (sum) v = _mm256_add_ps(v, _mm256_maskload_ps(sum + i, m));
        _mm256_maskstore_ps(y + i, m, act8(v, act));
    }
    if (act8_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

static void unary(float *y, const float *x, int64_t n, const struct ir_act *act)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = act8(_mm256_loadu_ps(x + i), act);
        __m256 b = act8(_mm256_loadu_ps(x + i + 8), act);
        _mm256_storeu_ps(y + i, a);
        _mm256_storeu_ps(y + i + 8, b);
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, act8(_mm256_loadu_ps(x + i), act));
    if (i < n) {
        __m256i m = tail_mask8(n - i);
        _mm256_maskstore_ps(y + i, m, act8(_mm256_maskload_ps(x + i, m), act));
    }
    if (act8_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

AVX2_INLINE __m256 binop8(int op, __m256 a, __m256 b)
{
    switch (op) {
    case CPU_BIN_ADD: return _mm256_add_ps(a, b);
    case CPU_BIN_SUB: return _mm256_sub_ps(a, b);
    case CPU_BIN_MUL: return _mm256_mul_ps(a, b);
    default: return _mm256_div_ps(a, b);
    }
}

AVX2_INLINE void binary_loop(int op, float *y, const float *a, const float *b, int bstep, int64_t n,
                             const struct ir_act *act)
{
    const __m256 bs = _mm256_set1_ps(b[0]);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 b0 = bstep ? _mm256_loadu_ps(b + i) : bs;
        __m256 b1 = bstep ? _mm256_loadu_ps(b + i + 8) : bs;
        __m256 v0 = act8(binop8(op, _mm256_loadu_ps(a + i), b0), act);
        __m256 v1 = act8(binop8(op, _mm256_loadu_ps(a + i + 8), b1), act);
        _mm256_storeu_ps(y + i, v0);
        _mm256_storeu_ps(y + i + 8, v1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 bv = bstep ? _mm256_loadu_ps(b + i) : bs;
        _mm256_storeu_ps(y + i, act8(binop8(op, _mm256_loadu_ps(a + i), bv), act));
    }
    if (i < n) {
        __m256i m = tail_mask8(n - i);
        __m256 bv = bstep ? load_fill8(b + i, m, _mm256_set1_ps(1.0f)) : bs;
        _mm256_maskstore_ps(y + i, m, act8(binop8(op, _mm256_maskload_ps(a + i, m), bv), act));
    }
}

static void binary(int op, float *y, const float *a, const float *b, int bstep, int64_t n,
                   const struct ir_act *act)
{
    switch (op) {
    case CPU_BIN_ADD: binary_loop(CPU_BIN_ADD, y, a, b, bstep, n, act); break;
    case CPU_BIN_SUB: binary_loop(CPU_BIN_SUB, y, a, b, bstep, n, act); break;
    case CPU_BIN_MUL: binary_loop(CPU_BIN_MUL, y, a, b, bstep, n, act); break;
    default: binary_loop(CPU_BIN_DIV, y, a, b, bstep, n, act); break;
    }
    if (act8_scalar(act)) ir_act_apply(act, y, (size_t)n);
}

/* Four vectors of outputs at a time, one broadcast input per step. */
static void gemv(float *y, const float *wt, const float *x, const float *bias, int64_t m, int64_t c,
                 int64_t ldw, const struct ir_act *act)
{
    int64_t i = 0;
    for (; i + 32 <= m; i += 32) {
        __m256 a0 = _mm256_load_ps(bias + i), a1 = _mm256_load_ps(bias + i + 8);
        __m256 a2 = _mm256_load_ps(bias + i + 16), a3 = _mm256_load_ps(bias + i + 24);
        for (int64_t j = 0; j < c; j++) {
            const __m256 xj = _mm256_broadcast_ss(x + j);
            const float *row = wt + j * ldw + i;
            a0 = _mm256_fmadd_ps(xj, _mm256_load_ps(row), a0);
            a1 = _mm256_fmadd_ps(xj, _mm256_load_ps(row + 8), a1);
            a2 = _mm256_fmadd_ps(xj, _mm256_load_ps(row + 16), a2);
            a3 = _mm256_fmadd_ps(xj, _mm256_load_ps(row + 24), a3);
        }
        _mm256_storeu_ps(y + i, act8(a0, act));
        _mm256_storeu_ps(y + i + 8, act8(a1, act));
        _mm256_storeu_ps(y + i + 16, act8(a2, act));
        _mm256_storeu_ps(y + i + 24, act8(a3, act));
    }
    for (; i < m; i += 8) {
        __m256 a0 = _mm256_load_ps(bias + i);
        for (int64_t j = 0; j < c; j++)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(x + j), _mm256_load_ps(wt + j * ldw + i), a0);
        if (m - i >= 8)
            _mm256_storeu_ps(y + i, act8(a0, act));
        else
            _mm256_maskstore_ps(y + i, tail_mask8(m - i), act8(a0, act));
    }
    if (act8_scalar(act)) ir_act_apply(act, y, (size_t)m);
}

AVX2_INLINE float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float sum(const float *x, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + i + 8));
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + i));
    if (i < n) s1 = _mm256_add_ps(s1, _mm256_maskload_ps(x + i, tail_mask8(n - i)));
    return hsum8(_mm256_add_ps(s0, s1));
}

static float max(const float *x, int64_t n)
{
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 m0 = ninf;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    if (i < n) m0 = _mm256_max_ps(load_fill8(x + i, tail_mask8(n - i), ninf), m0);
    float t[8];
    _mm256_storeu_ps(t, m0);
    float m = t[0];
    for (int k = 1; k < 8; k++) m = t[k] > m ? t[k] : m;
    return m;
}

void cpu_transpose_avx2(const float *t, int64_t rows, int64_t cols, int64_t j0, int64_t j1,
                        float *y, int64_t ldy)
{
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        int64_t j = j0;
        for (; j + 8 <= j1; j += 8) {
            __m256 r[8], u[8], s[8];
            for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(t + (i + k) * cols + j);
            for (int k = 0; k < 8; k += 2) {
                u[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);
                u[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);
            }
            for (int k = 0; k < 8; k += 4) {
                s[k] = _mm256_shuffle_ps(u[k], u[k + 2], 0x44);
                s[k + 1] = _mm256_shuffle_ps(u[k], u[k + 2], 0xee);
                s[k + 2] = _mm256_shuffle_ps(u[k + 1], u[k + 3], 0x44);
                s[k + 3] = _mm256_shuffle_ps(u[k + 1], u[k + 3], 0xee);
            }
            for (int k = 0; k < 4; k++) {
                _mm256_storeu_ps(y + (j + k) * ldy + i,
                                 _mm256_permute2f128_ps(s[k], s[k + 4], 0x20));
                _mm256_storeu_ps(y + (j + k + 4) * ldy + i,
                                 _mm256_permute2f128_ps(s[k], s[k + 4], 0x31));
            }
        }
        for (; j < j1; j++)
            for (int k = 0; k < 8; k++) y[j * ldy + i + k] = t[(i + k) * cols + j];
    }
    for (; i < rows; i++)
        for (int64_t j = j0; j < j1; j++) y[j * ldy + i] = t[i * cols + j];
}

const struct cpu_vec cpu_vec_avx2 = {
    .level = CPU_ISA_AVX2,
    .epilogue = epilogue,
    .unary = unary,
    .binary = binary,
    .gemv = gemv,
    .sum = sum,
    .max = max,
    .window = cpu_window_avx2,
    .gconv_block = 8,
    .gconv = cpu_gconv_avx2,
    .transpose = cpu_transpose_avx2,
};
