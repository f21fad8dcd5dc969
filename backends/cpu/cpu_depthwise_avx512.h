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

/* The KW tap vectors of a stride-2 row from its raw inputs (row_raw_s2):
 * taps 0 and 1 are the even and odd elements, tap 2q + p the parity-p
 * elements moved q lanes on. */
AVX512_INLINE void row_deal_s2(__m512 *v, __m512 lo, __m512 hi, __m512 ex, const int KW)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    v[0] = _mm512_permutex2var_ps(lo, even, hi);
    if (KW > 1) v[1] = _mm512_permutex2var_ps(lo, odd, hi);
    UNROLL
    for (int kj = 2; kj < KW; kj++) {
        const int p = kj & 1, q = kj >> 1;
        __m512 e = p == 0 && q == 1 ? ex : _mm512_permutexvar_ps(p ? odd : even, ex);
        v[kj] = lanes_shift(e, v[p], q);
    }
}

/* The KW tap vectors of a stride-2 row with "same" padding ((KW - 1) / 2
 * columns on the left, KW 3 or 5) for output columns [ox, ox + 16): from
 * the two vectors at input column xa = 2 ox, and single floats broadcast
 * for the columns just before and after them. The loads from ix0
 * (row_raw_s2) sit one or two floats off xa and straddle two cache lines
 * each, which on Zen 5 made the 3x3 kernel 1.4 times slower than loading
 * from xa where rows are 64-byte aligned; where they are not, this costs no
 * more. MASKED: the two loads take the lane masks mk[0..1] and the single
 * floats outside [0, w) are 0. */
AVX512_INLINE void row_taps_s2_mid(__m512 *v, const float *xr, int64_t xa, int64_t w, const int KW,
                                   const int MASKED, const __mmask16 *mk)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    const __m512 a = MASKED ? _mm512_maskz_loadu_ps(mk[0], xr + xa) : _mm512_loadu_ps(xr + xa);
    const __m512 b =
        MASKED ? _mm512_maskz_loadu_ps(mk[1], xr + xa + 16) : _mm512_loadu_ps(xr + xa + 16);
    const __m512 ev = _mm512_permutex2var_ps(a, even, b), od = _mm512_permutex2var_ps(a, odd, b);
    const int h = (KW - 1) / 2;
    UNROLL
    for (int kj = 0; kj < KW; kj++) {
        /* tap kj reads column xa + 2 lane + off: the parity of off, moved
         * q lanes */
        const int off = kj - h, q = off < 0 ? -1 : off / 2;
        const __m512 base = off & 1 ? od : ev;
        if (q == 0) {
            v[kj] = base;
            continue;
        }
        const int64_t col = q < 0 ? xa + off : xa + 30 + off;
        const float f = !MASKED || (col >= 0 && col < w) ? xr[col] : 0.0f;
        const __m512i e = _mm512_castps_si512(_mm512_set1_ps(f)), bi = _mm512_castps_si512(base);
        /* q < 0: lane 0 from the column before xa; q > 0: lane 15 from the
         * one after the two vectors */
        v[kj] = _mm512_castsi512_ps(q < 0 ? _mm512_alignr_epi32(bi, e, 15)
                                          : _mm512_alignr_epi32(e, bi, 1));
    }
}

/* Pooling's raw row at stride 2 for a 3x3 window with one column of left
 * padding (row_raw_s2 loads from the column before and straddles lines):
 * the 32 inputs from xa = 2 ox in lo and hi, and the column before xa
 * broadcast in ex (fillf outside the row when MASKED, the loads then taking
 * the lane masks mk[0..1]). */
AVX512_INLINE void row_raw_s2_mid(__m512 *lo, __m512 *hi, __m512 *ex, const float *xr, int64_t xa,
                                  int64_t w, const int MASKED, const __mmask16 *mk, __m512 fill,
                                  float fillf)
{
    *lo = MASKED ? _mm512_mask_loadu_ps(fill, mk[0], xr + xa) : _mm512_loadu_ps(xr + xa);
    *hi = MASKED ? _mm512_mask_loadu_ps(fill, mk[1], xr + xa + 16) : _mm512_loadu_ps(xr + xa + 16);
    const int64_t cb = xa - 1;
    *ex = _mm512_set1_ps(!MASKED || (cb >= 0 && cb < w) ? xr[cb] : fillf);
}

/* The three taps of such a row (row_raw_s2_mid): the column before, the
 * even and the odd ones. */
AVX512_INLINE void row_deal_s2_mid(__m512 *v, __m512 lo, __m512 hi, __m512 ex)
{
    const __m512i even =
        _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    v[1] = _mm512_permutex2var_ps(lo, even, hi);
    v[2] = _mm512_permutex2var_ps(lo, odd, hi);
    v[0] = _mm512_castsi512_ps(
        _mm512_alignr_epi32(_mm512_castps_si512(v[2]), _mm512_castps_si512(ex), 15));
}

/* The KW tap vectors at stride 1 ("same" padding, KW 3 or 5): the vector at ox, its
 * lanes moved in steps of one with the columns on either side broadcast in.
 * Of the KW loads from ox - (KW - 1) / 2 on, all but one straddle two
 * cache lines even on aligned rows, and all do on the others: a 3x3 loop
 * over 4 output rows took 1.4 times as long that way. MASKED: the load
 * takes the lane mask mk[0], and the columns outside [0, w) read fillf. */
AVX512_INLINE void row_taps_s1_mid(__m512 *v, const float *xr, int64_t ox, int64_t w, const int KW,
                                   const int MASKED, const __mmask16 *mk, __m512 fill, float fillf)
{
    const __m512 a = MASKED ? _mm512_mask_loadu_ps(fill, mk[0], xr + ox) : _mm512_loadu_ps(xr + ox);
    const int h = (KW - 1) / 2;
    v[h] = a;
    __m512i lo = _mm512_castps_si512(a), hi = lo;
    UNROLL
    for (int d = 1; d <= h; d++) {
        const int64_t cl = ox - d, ch = ox + 15 + d;
        const float fl = !MASKED || cl >= 0 ? xr[cl] : fillf;
        const float fh = !MASKED || ch < w ? xr[ch] : fillf;
        lo = _mm512_alignr_epi32(lo, _mm512_castps_si512(_mm512_set1_ps(fl)), 15);
        hi = _mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(fh)), hi, 1);
        v[h - d] = _mm512_castsi512_ps(lo);
        v[h + d] = _mm512_castsi512_ps(hi);
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
