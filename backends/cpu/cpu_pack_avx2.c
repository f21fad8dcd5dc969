/* The run-time packing loops (cpu_pack_impl.h) with AVX2 copies: a run is at
 * most a panel wide, so vector moves with a masked tail replace memcpy. */
#include "cpu_sgemm.h"

#include <immintrin.h>

static inline __m256i tail_mask(int64_t len)
{
    static const int32_t ramp[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(ramp + 8 - len));
}

static inline void run_copy(float *d, const float *s, int64_t len)
{
    for (; len >= 8; len -= 8, d += 8, s += 8) _mm256_storeu_ps(d, _mm256_loadu_ps(s));
    if (len > 0) {
        const __m256i m = tail_mask(len);
        _mm256_maskstore_ps(d, m, _mm256_maskload_ps(s, m));
    }
}

static inline void run_zero(float *d, int64_t len)
{
    for (; len >= 8; len -= 8, d += 8) _mm256_storeu_ps(d, _mm256_setzero_ps());
    if (len > 0) _mm256_maskstore_ps(d, tail_mask(len), _mm256_setzero_ps());
}

static inline void run_copy_s2(float *d, const float *s, int64_t len)
{
    /* eight outputs from s[0 .. 14]: the ninth vector element is not read */
    for (; len >= 8; len -= 8, d += 8, s += 16) {
        const __m256 lo = _mm256_loadu_ps(s);
        const __m256 hi = _mm256_maskload_ps(s + 8, tail_mask(7));
        const __m256 ev = _mm256_shuffle_ps(lo, hi, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
        _mm256_storeu_ps(d, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xd8)));
    }
    for (int64_t q = 0; q < len; q++) d[q] = s[2 * q];
}

static inline void run_gather(float *d, const float *s, const int32_t *idx, int64_t len)
{
    for (; len >= 8; len -= 8, d += 8, idx += 8) {
        const __m256i i = _mm256_loadu_si256((const __m256i *)idx);
        const __m256 in = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)));
        _mm256_storeu_ps(d, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), s, i, in, 4));
    }
    for (int64_t q = 0; q < len; q++) d[q] = idx[q] < 0 ? 0.0f : s[idx[q]];
}

#define PACK_FN(name) name##_avx2
#include "cpu_pack_impl.h"
