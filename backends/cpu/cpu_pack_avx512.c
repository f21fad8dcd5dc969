/* The run-time packing loops (cpu_pack_impl.h) with AVX-512 copies: a run
 * is at most a panel wide, so masked moves replace memcpy calls. */
#include "cpu_sgemm.h"

#include <immintrin.h>

static inline void run_copy(float *d, const float *s, int64_t len)
{
    for (; len >= 16; len -= 16, d += 16, s += 16) _mm512_storeu_ps(d, _mm512_loadu_ps(s));
    if (len > 0) {
        const __mmask16 m = (__mmask16)((1u << len) - 1);
        _mm512_mask_storeu_ps(d, m, _mm512_maskz_loadu_ps(m, s));
    }
}

static inline void run_zero(float *d, int64_t len)
{
    for (; len >= 16; len -= 16, d += 16) _mm512_storeu_ps(d, _mm512_setzero_ps());
    if (len > 0) _mm512_mask_storeu_ps(d, (__mmask16)((1u << len) - 1), _mm512_setzero_ps());
}

static inline __mmask16 first_lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

static inline void run_copy_s2(float *d, const float *s, int64_t len)
{
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (; len > 0; len -= 16, d += 16, s += 32) {
        /* the inputs q needs: s[0 .. 2 * min(len, 16) - 2] */
        const int64_t need = 2 * (len < 16 ? len : 16) - 1;
        const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(need), s);
        const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(need - 16), s + 16);
        _mm512_mask_storeu_ps(d, first_lanes(len), _mm512_permutex2var_ps(lo, even, hi));
    }
}

static inline void run_gather(float *d, const float *s, const int32_t *idx, int64_t len)
{
    for (; len > 0; len -= 16, d += 16, idx += 16) {
        const __mmask16 m = first_lanes(len);
        const __m512i i = _mm512_maskz_loadu_epi32(m, idx);
        const __mmask16 in = _mm512_mask_cmpge_epi32_mask(m, i, _mm512_setzero_si512());
        const __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), in, i, s, 4);
        _mm512_mask_storeu_ps(d, m, v);
    }
}

#define PACK_FN(name) name##_avx512
#include "cpu_pack_impl.h"
