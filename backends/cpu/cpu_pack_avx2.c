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

#define PACK_FN(name) name##_avx2
#include "cpu_pack_impl.h"
