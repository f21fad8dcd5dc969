/* AVX-512 row loaders the window kernels share (cpu_depthwise_avx512.c,
 * cpu_depthwise_grouped_avx512.c). Only files compiled with the AVX-512
 * flags include this. */
#ifndef INFERD_CPU_DEPTHWISE_AVX512_H
#define INFERD_CPU_DEPTHWISE_AVX512_H

#include "cpu_eltwise_avx512.h"

/* The loops over rows and taps must unroll: their bounds are constants
 * after inlining, and their arrays must live in registers. */
#define UNROLL    _Pragma("GCC unroll 32")
#define KMAX_TAPS 5 /* widest row of taps row_taps serves */

/* The tap vector of output columns [ox, ox + 16) for input row xr at tap
 * column offset ix (input column of lane 0), stride S. */
AVX512_INLINE __m512 tap_load(const float *xr, int64_t ix, int S, int masked, __mmask16 m0,
                              __mmask16 m1, __m512 fill, __m512i even)
{
    if (S == 1) return masked ? _mm512_mask_loadu_ps(fill, m0, xr + ix) : _mm512_loadu_ps(xr + ix);
    __m512 lo = masked ? _mm512_mask_loadu_ps(fill, m0, xr + ix) : _mm512_loadu_ps(xr + ix);
    __m512 hi =
        masked ? _mm512_mask_loadu_ps(fill, m1, xr + ix + 16) : _mm512_loadu_ps(xr + ix + 16);
    return _mm512_permutex2var_ps(lo, even, hi);
}

/* (b[q..15], e[0..q-1]): b moved q lanes down, e's first lanes after it. */
AVX512_INLINE __m512 lanes_shift(__m512 e, __m512 b, int q)
{
    __m512i ei = _mm512_castps_si512(e), bi = _mm512_castps_si512(b);
    if (q == 1) return _mm512_castsi512_ps(_mm512_alignr_epi32(ei, bi, 1));
    return _mm512_castsi512_ps(_mm512_alignr_epi32(ei, bi, 2));
}

/* Lanes the stride-2 row loader reads past input column ix0 + 31. */
#define S2_EXTRA(KW) ((KW) > 2 ? (KW)-2 : 0)

/* The raw inputs of one input row at stride 2 for output columns [ox, ox +
 * 16), input column of lane 0 at tap 0 being ix0: its 32 inputs from ix0 in
 * lo and hi, and the KW - 2 after them in ex (row_taps_deal). MASKED: mk[0..2]
 * mask the loads at ix0, ix0 + 16, ix0 + 32. */
AVX512_INLINE void row_raw_s2(__m512 *lo, __m512 *hi, __m512 *ex, const float *xr, int64_t ix0,
                              const int KW, const int MASKED, const __mmask16 *mk, __m512 fill)
{
    *lo = MASKED ? _mm512_mask_loadu_ps(fill, mk[0], xr + ix0) : _mm512_loadu_ps(xr + ix0);
    *hi =
        MASKED ? _mm512_mask_loadu_ps(fill, mk[1], xr + ix0 + 16) : _mm512_loadu_ps(xr + ix0 + 16);
    *ex = fill;
    if (KW <= 2) return;
    const __mmask16 need = (__mmask16)((1u << S2_EXTRA(KW)) - 1u);
    *ex = _mm512_mask_loadu_ps(fill, MASKED ? (__mmask16)(mk[2] & need) : need, xr + ix0 + 32);
}

static inline __m512i s2_even(void)
{
    return _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
}

static inline __m512i s2_odd(void)
{
    return _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
}

/* The KW tap vectors of a stride-2 row from its raw inputs (row_raw_s2):
 * taps 0 and 1 are the even and odd elements, tap 2q + p the parity-p
 * elements moved q lanes on. */
AVX512_INLINE void row_deal_s2(__m512 *v, __m512 lo, __m512 hi, __m512 ex, const int KW)
{
    v[0] = _mm512_permutex2var_ps(lo, s2_even(), hi);
    if (KW > 1) v[1] = _mm512_permutex2var_ps(lo, s2_odd(), hi);
    UNROLL
    for (int kj = 2; kj < KW; kj++) {
        const int p = kj & 1, q = kj >> 1;
        __m512 e = p == 0 && q == 1 ? ex : _mm512_permutexvar_ps(p ? s2_odd() : s2_even(), ex);
        v[kj] = lanes_shift(e, v[p], q);
    }
}

/* Column col of a row as a float, or fillf when MASKED and col lies outside
 * [0, w): the padding a broadcast column stands for. */
AVX512_INLINE float col_or(const float *xr, int64_t col, int64_t w, const int MASKED, float fillf)
{
    return !MASKED || (col >= 0 && col < w) ? xr[col] : fillf;
}

/* (f, b[0..14]): b moved one lane up, f in lane 0. */
AVX512_INLINE __m512 lane_in_first(__m512 b, float f)
{
    return _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(b), _mm512_castps_si512(_mm512_set1_ps(f)), 15));
}

/* (b[1..15], f): b moved one lane down, f in lane 15. */
AVX512_INLINE __m512 lane_in_last(__m512 b, float f)
{
    return _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(f)), _mm512_castps_si512(b), 1));
}

/* Loading a row at stride 2 with "same" padding (row_raw_s2 loads from
 * the first tap's column, one or two floats before the even column xa =
 * 2 ox, so both its loads straddle two cache lines, which costs about two
 * loads each on Zen 5): the 32 inputs from xa in lo and hi, and the column
 * before xa as a broadcast float in ex (fillf outside the row when MASKED,
 * the loads then taking the lane masks mk[0..1]). Pooling combines these
 * over its input rows before dealing them out (row_deal_s2_mid). */
AVX512_INLINE void row_raw_s2_mid(__m512 *lo, __m512 *hi, __m512 *ex, const float *xr, int64_t xa,
                                  int64_t w, const int MASKED, const __mmask16 *mk, __m512 fill,
                                  float fillf)
{
    *lo = MASKED ? _mm512_mask_loadu_ps(fill, mk[0], xr + xa) : _mm512_loadu_ps(xr + xa);
    *hi = MASKED ? _mm512_mask_loadu_ps(fill, mk[1], xr + xa + 16) : _mm512_loadu_ps(xr + xa + 16);
    *ex = _mm512_set1_ps(col_or(xr, xa - 1, w, MASKED, fillf));
}

/* The three taps of a 3x3 window from such a row: the column before
 * (ex moved into lane 0 of the odd elements), the even and the odd ones. */
AVX512_INLINE void row_deal_s2_mid(__m512 *v, __m512 lo, __m512 hi, __m512 ex)
{
    v[1] = _mm512_permutex2var_ps(lo, s2_even(), hi);
    v[2] = _mm512_permutex2var_ps(lo, s2_odd(), hi);
    v[0] = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(v[2]), _mm512_castps_si512(ex), 15));
}

/* The KW tap vectors (3 or 5) of a depthwise row at stride 2 with "same"
 * padding: the 3x3 taps as above; a 5x5 window adds the even elements
 * moved one lane up and down, columns xa - 2 and xa + 32 brought in (0
 * outside the row). Measured: the 3x3 plane 1.3 times faster than from
 * row_raw_s2 on aligned rows, no slower on the others. */
AVX512_INLINE void row_taps_s2_mid(__m512 *v, const float *xr, int64_t xa, int64_t w, const int KW,
                                   const int MASKED, const __mmask16 *mk)
{
    const __m512 zero = _mm512_setzero_ps();
    __m512 lo, hi, ex;
    row_raw_s2_mid(&lo, &hi, &ex, xr, xa, w, MASKED, mk, zero, 0.0f);
    const int h = (KW - 1) / 2;
    row_deal_s2_mid(v + h - 1, lo, hi, ex);
    if (KW == 5) {
        v[0] = lane_in_first(v[2], col_or(xr, xa - 2, w, MASKED, 0.0f));
        v[4] = lane_in_last(v[2], col_or(xr, xa + 32, w, MASKED, 0.0f));
    }
}

/* The KW tap vectors at stride 1 ("same" padding, KW 3 or 5): the vector at
 * ox, its lanes moved in steps of one with the columns on either side
 * brought in. Of the KW loads from ox - (KW - 1) / 2 on, all but one
 * straddle two cache lines even on aligned rows, and all do on the others:
 * a 3x3 loop over 4 output rows took 1.4 times as long that way. MASKED:
 * the load takes the lane mask mk[0], and the columns outside [0, w) read
 * fillf. */
AVX512_INLINE void row_taps_s1_mid(__m512 *v, const float *xr, int64_t ox, int64_t w, const int KW,
                                   const int MASKED, const __mmask16 *mk, __m512 fill, float fillf)
{
    const __m512 a = MASKED ? _mm512_mask_loadu_ps(fill, mk[0], xr + ox) : _mm512_loadu_ps(xr + ox);
    const int h = (KW - 1) / 2;
    v[h] = a;
    UNROLL
    for (int d = 1; d <= h; d++) {
        v[h - d] = lane_in_first(v[h - d + 1], col_or(xr, ox - d, w, MASKED, fillf));
        v[h + d] = lane_in_last(v[h + d - 1], col_or(xr, ox + 15 + d, w, MASKED, fillf));
    }
}

/* All KW tap vectors of one input row for output columns [ox, ox + 16),
 * input column of lane 0 at tap 0 being ix0. Stride 2 loads the row's 32
 * (+ KW - 2) inputs once (row_raw_s2) and deals them out (row_deal_s2).
 * MASKED: mk[0..2] mask the loads at ix0, ix0 + 16, ix0 + 32 (stride 1:
 * mk[kj] the load of tap kj). */
AVX512_INLINE void row_taps(__m512 *v, const float *xr, int64_t ix0, const int KW, const int S,
                            const int MASKED, const __mmask16 *mk, __m512 fill)
{
    if (S == 1) {
        UNROLL
        for (int kj = 0; kj < KW; kj++)
            v[kj] = MASKED ? _mm512_mask_loadu_ps(fill, mk[kj], xr + ix0 + kj)
                           : _mm512_loadu_ps(xr + ix0 + kj);
        return;
    }
    __m512 lo, hi, ex;
    row_raw_s2(&lo, &hi, &ex, xr, ix0, KW, MASKED, mk, fill);
    row_deal_s2(v, lo, hi, ex, KW);
}

#endif
