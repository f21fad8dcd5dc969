/* AVX2+FMA building blocks the *_avx2.c kernels share: exp, sigmoid, the
 * fused activations on 8 floats, lane masks. Only files compiled with the
 * AVX2 flags include this. Same NaN conventions as cpu_eltwise_avx512.h. */
#ifndef INFERD_CPU_ELTWISE_AVX2_H
#define INFERD_CPU_ELTWISE_AVX2_H

#include "cpu_eltwise.h"

#include <immintrin.h>

#define AVX2_INLINE static inline __attribute__((always_inline))

/* e^x to about 2 ulp (see exp16); 2^n built in the exponent field, so the
 * input is clamped to [-87.34, 88.38] where n stays a normal exponent. */
AVX2_INLINE __m256 exp8(__m256 x)
{
    x = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), x);
    x = _mm256_max_ps(_mm256_set1_ps(-87.3365478515625f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2_INLINE __m256 sigmoid8(__m256 x)
{
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), x)));
    __m256 r = _mm256_rcp_ps(d);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}

AVX2_INLINE __m256 act8(__m256 v, const struct ir_act *act)
{
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
    switch (act->kind) {
    case IR_ACT_RELU: return _mm256_max_ps(v, zero);
    case IR_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(act->a)), _mm256_set1_ps(act->b));
    case IR_ACT_LEAKY_RELU:
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(act->a)),
                                _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    case IR_ACT_SIGMOID: return sigmoid8(v);
    case IR_ACT_HARD_SIGMOID: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(act->a), _mm256_set1_ps(act->b));
        return _mm256_max_ps(_mm256_min_ps(t, one), zero);
    }
    case IR_ACT_HARD_SWISH: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
        return _mm256_mul_ps(v, _mm256_max_ps(_mm256_min_ps(t, one), zero));
    }
    case IR_ACT_SILU: return _mm256_mul_ps(v, sigmoid8(v));
    default: return v;
    }
}

AVX2_INLINE int act8_scalar(const struct ir_act *act)
{
    return act->kind == IR_ACT_TANH;
}

/* Lane mask (all ones where taken) for lanes j < 8 with 0 <= start + j < n. */
AVX2_INLINE __m256i range_mask8(int64_t start, int64_t n)
{
    int64_t lo = start < 0 ? -start : 0, hi = n - start;
    if (hi > 8) hi = 8;
    if (lo > 8) lo = 8;
    if (hi < lo) hi = lo;
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i ge = _mm256_cmpgt_epi32(iota, _mm256_set1_epi32((int)lo - 1));
    __m256i lt = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), iota);
    return _mm256_and_si256(ge, lt);
}

/* Lanes j < n (n <= 8). */
AVX2_INLINE __m256i tail_mask8(int64_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Masked load with `fill` in the masked-off lanes (vmaskmovps gives 0). */
AVX2_INLINE __m256 load_fill8(const float *p, __m256i m, __m256 fill)
{
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}

#endif
