/* AVX-512 building blocks the *_avx512.c kernels share: exp, sigmoid and
 * the fused activations on 16 floats in a register. Only files compiled with
 * the AVX-512 flags include this.
 *
 * Operand order of min/max keeps ir_act_apply's NaN behaviour: vmaxps and
 * vminps return their second operand when either is NaN, as fmaxf(NaN, a)
 * returns a. */
#ifndef INFERD_CPU_ELTWISE_AVX512_H
#define INFERD_CPU_ELTWISE_AVX512_H

#include "cpu_eltwise.h"

#include <immintrin.h>

#define AVX512_INLINE static inline __attribute__((always_inline))

/* e^x to about 2 ulp: x = n ln2 + r, |r| <= ln2 / 2, e^r by Cephes' degree-6
 * polynomial, times 2^n by vscalefps. Inputs beyond +-88.38 are clamped
 * (e^x is then 0 or near FLT_MAX; NaN stays NaN). */
AVX512_INLINE __m512 exp16(__m512 x)
{
    x = _mm512_min_ps(_mm512_set1_ps(88.3762626647949f), x);
    x = _mm512_max_ps(_mm512_set1_ps(-88.3762626647949f), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* 1 / (1 + e^-x): reciprocal estimate and one Newton step. */
AVX512_INLINE __m512 sigmoid16(__m512 x)
{
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

/* The fused activation of kind `kind` (act->kind, or a constant the caller
 * compiled in) on v. Tanh is left to the caller (act16_scalar). */
AVX512_INLINE __m512 act16k(__m512 v, const struct ir_act *act, int kind)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (kind) {
    case IR_ACT_RELU: return _mm512_max_ps(v, zero);
    case IR_ACT_CLIP:
        return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(act->a)), _mm512_set1_ps(act->b));
    case IR_ACT_LEAKY_RELU:
        return _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v,
                                  _mm512_set1_ps(act->a));
    case IR_ACT_SIGMOID: return sigmoid16(v);
    case IR_ACT_HARD_SIGMOID: {
        __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(act->a), _mm512_set1_ps(act->b));
        return _mm512_max_ps(_mm512_min_ps(t, one), zero);
    }
    case IR_ACT_HARD_SWISH: {
        __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f), _mm512_set1_ps(0.5f));
        return _mm512_mul_ps(v, _mm512_max_ps(_mm512_min_ps(t, one), zero));
    }
    case IR_ACT_SILU: return _mm512_mul_ps(v, sigmoid16(v));
    default: return v;
    }
}

AVX512_INLINE __m512 act16(__m512 v, const struct ir_act *act)
{
    return act16k(v, act, act->kind);
}

/* Whether act16 leaves act to a scalar pass afterwards. */
AVX512_INLINE int act16_scalar(const struct ir_act *act)
{
    return act->kind == IR_ACT_TANH;
}

/* Lanes j < 16 with 0 <= start + j < n. */
AVX512_INLINE __mmask16 range_mask16(int64_t start, int64_t n)
{
    int64_t lo = start < 0 ? -start : 0, hi = n - start;
    if (hi > 16) hi = 16;
    if (hi <= lo) return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

#endif
