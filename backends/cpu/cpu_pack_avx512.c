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

#define PACK_FN(name) name##_avx512
#include "cpu_pack_impl.h"
