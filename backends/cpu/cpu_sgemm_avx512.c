/* AVX-512 micro-kernels (cpu_sgemm.h): an 8 x 48 register tile, 24 zmm
 * accumulators fed by three vector loads of B and eight broadcasts of A per
 * k step; a 7 x 48 one for products with 7, 49 or 196 rows (7x7 and 14x14
 * planes run transposed, a plane row per tile row); and a matrix-vector kernel
 * for batch-1 fully connected layers.
 * Zen 5 and the Intel server cores run two 512-bit FMAs per cycle, so this
 * level doubles the AVX2 rate there; where a 512-bit FMA is split in two
 * halves, the 32 registers and masked edges still keep it ahead. */
#include "cpu_sgemm.h"

#include "cpu_eltwise_avx512.h"
#include "cpu_isa.h"

#include <immintrin.h>

#define MR    8
#define NR    48
#define NVMAX (NR / 16)

#define INLINE static inline __attribute__((always_inline))

static __mmask16 edge_mask(int cols)
{
    return cols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cols) - 1);
}

/* inlined into each tile, so the accumulators stay registers */
INLINE void tile_acc_zero(__m512 acc[MR][NVMAX])
{
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 3
        for (int v = 0; v < NVMAX; v++) acc[i][v] = _mm512_setzero_ps();
}

/* The finished tile stored transposed (cpu_tile.ct): rows are plane
 * positions and columns channels, so each channel's t->mr positions go out
 * in one masked store. Sixteen columns at a time through an 8 x 16
 * transpose: pairs of rows unpacked, a channel's four rows gathered per
 * 128-bit lane, then the lanes of rows 0-3 and 4-7 paired (z[2s] holds
 * channels s and 4 + s, z[2s + 1] channels 8 + s and 12 + s, eight
 * positions each). */
INLINE void tile_store_t(__m512 acc[MR][NVMAX], const struct cpu_tile *t, const int mr,
                         const int nv, const bool add, const int kind, const bool simd)
{
    const __mmask8 rm = (__mmask8)((1u << t->mr) - 1);
    const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
    const __m512i hi =
        _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
#pragma GCC unroll 3
    for (int v = 0; v < NVMAX; v++) {
        if (v >= nv || 16 * v >= t->nr) break;
        const __mmask16 m = edge_mask(t->nr - 16 * v);
        const __m512 bc =
            t->bias_col ? _mm512_maskz_loadu_ps(m, t->bias_col + 16 * v) : _mm512_setzero_ps();
        __m512 r[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            if (i >= mr) {
                r[i] = _mm512_setzero_ps();
                continue;
            }
            __m512 x = _mm512_add_ps(acc[i][v], bc);
            if (i < t->mr) {
                if (add) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m, t->c + i * t->ldc + 16 * v));
                if (t->bias_row) x = _mm512_add_ps(x, _mm512_set1_ps(t->bias_row[i]));
            }
            r[i] = x;
        }
        __m512 u[8];
#pragma GCC unroll 2
        for (int h = 0; h < 8; h += 4) {
            const __m512 t0 = _mm512_unpacklo_ps(r[h], r[h + 1]);
            const __m512 t1 = _mm512_unpackhi_ps(r[h], r[h + 1]);
            const __m512 t2 = _mm512_unpacklo_ps(r[h + 2], r[h + 3]);
            const __m512 t3 = _mm512_unpackhi_ps(r[h + 2], r[h + 3]);
            u[h] = _mm512_shuffle_ps(t0, t2, 0x44);
            u[h + 1] = _mm512_shuffle_ps(t0, t2, 0xee);
            u[h + 2] = _mm512_shuffle_ps(t1, t3, 0x44);
            u[h + 3] = _mm512_shuffle_ps(t1, t3, 0xee);
        }
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
            __m512 x = _mm512_permutex2var_ps(u[q / 2], q % 2 ? hi : lo, u[q / 2 + 4]);
            const int ca = 16 * v + (q % 2) * 8 + q / 2, cb = ca + 4;
            const bool sa = ca < t->nr, sb = cb < t->nr;
            if (t->res) {
                const __m256 ra =
                    sa ? _mm256_maskz_loadu_ps(rm, t->res + ca * t->ldres) : _mm256_setzero_ps();
                const __m256 rb =
                    sb ? _mm256_maskz_loadu_ps(rm, t->res + cb * t->ldres) : _mm256_setzero_ps();
                x = _mm512_add_ps(x, _mm512_insertf32x8(_mm512_castps256_ps512(ra), rb, 1));
            }
            if (simd) x = act16k(x, t->act, kind);
            if (sa) _mm256_mask_storeu_ps(t->ct + ca * t->ldct, rm, _mm512_castps512_ps256(x));
            if (sb) _mm256_mask_storeu_ps(t->ct + cb * t->ldct, rm, _mm512_extractf32x8_ps(x, 1));
        }
    }
    if (!simd) cpu_tile_act_cols(t);
}

/* The register tile: mr rows, nv vectors of 16 columns (both constant
 * after inlining, so every acc[i][v] lives in a register). With off, A is
 * read in place: row i at step k is a[off[k] + i]; with boff, B is: its
 * columns at step k start at b + boff[k]. */
INLINE void tile_nv(int64_t kc, const float *a, const int32_t *off, const float *b,
                    const int32_t *boff, const struct cpu_tile *t, const int mr, const int nv,
                    const bool pf_next, const bool tail, const bool ct)
{
    __m512 acc[MR][NVMAX];
    tile_acc_zero(acc);

    const int64_t ldb = t->ldb;
    const char *pf = t->pf;
    const int64_t pfn = t->pf_lines < kc ? t->pf_lines : kc;
    /* The tile's C rows (and residual rows) come from memory when the
     * layer's output is larger than the cache: ask for them a row per k
     * step while the loop runs (all at once would overrun the misses the
     * core keeps in flight), rather than stall the stores. Not in short
     * loops: at k = 16 the extra loads cost more than they save (measured
     * 150 -> 120-137 GFLOP/s with C in cache). */
    const int pfc = kc < 64 ? 0 : ct ? t->nr : t->mr < mr ? t->mr : mr;
    const float *rpf = t->rpf;
    const __mmask16 bmask = (__mmask16)t->bmask;
    for (int64_t k = 0; k < kc; k++) {
        if (k < pfn) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
        if (ct && k < pfc) {
            /* a channel's positions, one line (two where they straddle) */
            __builtin_prefetch(t->ct + k * t->ldct, 1, 3);
            if (t->res) __builtin_prefetch(t->res + k * t->ldres, 0, 3);
        } else if (k < pfc) {
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++) {
                if (v >= nv) break;
                __builtin_prefetch(t->c + k * t->ldc + 16 * v, 1, 3);
                if (t->res) __builtin_prefetch(t->res + k * t->ldres + 16 * v, 0, 3);
            }
        }
        if (pf_next && t->bpf) {
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++)
                if (v < nv) _mm_prefetch((const char *)(t->bpf + boff[k] + 16 * v), _MM_HINT_T0);
        }
        if (pf_next && rpf && k < mr) {
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++)
                if (v < nv) _mm_prefetch((const char *)(rpf + 16 * v), _MM_HINT_T0);
            rpf += t->ldres;
        }
        __m512 bv[NVMAX];
        const float *bk = boff ? b + boff[k] : b;
#pragma GCC unroll 3
        for (int v = 0; v < NVMAX; v++)
            bv[v] = v >= nv               ? _mm512_setzero_ps()
                    : tail && v == nv - 1 ? _mm512_maskz_loadu_ps(bmask, bk + 16 * v)
                                          : _mm512_loadu_ps(bk + 16 * v);
        const float *ak = off ? a + off[k] : a;
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
            const __m512 ai = _mm512_set1_ps(ak[i]);
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++)
                if (v < nv) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        if (!off) a += mr;
        if (!boff) b += ldb;
    }

    const bool last = t->flags & CPU_TILE_LAST, add = t->flags & CPU_TILE_ACC;
    const int kind = last ? t->act->kind : IR_ACT_NONE;
    const bool simd = kind != IR_ACT_TANH; /* the others in registers (cpu_eltwise_avx512.h) */
    if (ct) {
        tile_store_t(acc, t, mr, nv, add, kind, simd);
        return;
    }
    __mmask16 m[NVMAX];
    __m512 bc[NVMAX];
#pragma GCC unroll 3
    for (int v = 0; v < NVMAX; v++) {
        m[v] = v < nv ? edge_mask(t->nr - 16 * v) : 0;
        bc[v] = last && t->bias_col ? _mm512_maskz_loadu_ps(m[v], t->bias_col + 16 * v)
                                    : _mm512_setzero_ps();
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        if (i >= mr || i >= t->mr) break;
        float *c = t->c + i * t->ldc;
        const __m512 br = _mm512_set1_ps(last && t->bias_row ? t->bias_row[i] : 0.0f);
#pragma GCC unroll 3
        for (int v = 0; v < NVMAX; v++) {
            if (v >= nv) break;
            __m512 x = acc[i][v];
            if (add) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(m[v], c + 16 * v));
            if (last) {
                x = _mm512_add_ps(_mm512_add_ps(x, br), bc[v]);
                if (t->res)
                    x = _mm512_add_ps(x,
                                      _mm512_maskz_loadu_ps(m[v], t->res + i * t->ldres + 16 * v));
                if (simd) x = act16k(x, t->act, kind);
            }
            _mm512_mask_storeu_ps(c + 16 * v, m[v], x);
        }
    }
    if (!simd) cpu_tile_act_rows(t);
}

/* The tile for t->nr columns, one to three vectors: each width its own
 * instance of tile_nv, A and B in place or packed as the pointers say. */
INLINE void tile_mr(int64_t kc, const float *a, const int32_t *off, const float *b,
                    const int32_t *boff, const struct cpu_tile *t, const int mr, const bool pf_next,
                    const bool tail, const bool ct)
{
    if (t->nr > 32)
        tile_nv(kc, a, off, b, boff, t, mr, 3, pf_next, tail, ct);
    else if (t->nr > 16)
        tile_nv(kc, a, off, b, boff, t, mr, 2, pf_next, tail, ct);
    else
        tile_nv(kc, a, off, b, boff, t, mr, 1, pf_next, tail, ct);
}

/* The transposed stores are instances of their own, out of the plain
 * tiles' code (cpu_tile.ct): A packed, or in place (off). */
#define TILE_T(name, MR)                                                                           \
    __attribute__((noinline)) static void name(int64_t kc, const float *a, const int32_t *off,     \
                                               const float *b, const struct cpu_tile *t)           \
    {                                                                                              \
        if (off)                                                                                   \
            tile_mr(kc, a, off, b, NULL, t, MR, false, false, true);                               \
        else                                                                                       \
            tile_mr(kc, a, NULL, b, NULL, t, MR, false, false, true);                              \
    }
TILE_T(tile_t8, 8)
TILE_T(tile_t7, 7)

static void tile(int64_t kc, const float *a, const float *b, const struct cpu_tile *t)
{
    if (t->ct)
        tile_t8(kc, a, NULL, b, t);
    else
        tile_mr(kc, a, NULL, b, NULL, t, 8, false, false, false);
}

static void tile_7x48(int64_t kc, const float *a, const float *b, const struct cpu_tile *t)
{
    if (t->ct)
        tile_t7(kc, a, NULL, b, t);
    else
        tile_mr(kc, a, NULL, b, NULL, t, 7, false, false, false);
}

static void tile_ind(int64_t kc, const float *a, const int32_t *off, const float *b,
                     const struct cpu_tile *t)
{
    if (t->ct)
        tile_t8(kc, a, off, b, t);
    else
        tile_mr(kc, a, off, b, NULL, t, 8, false, false, false);
}

static void tile_ind_7x48(int64_t kc, const float *a, const int32_t *off, const float *b,
                          const struct cpu_tile *t)
{
    if (t->ct)
        tile_t7(kc, a, off, b, t);
    else
        tile_mr(kc, a, off, b, NULL, t, 7, false, false, false);
}

/* The prefetching loop is a function of its own: tested at every step, the
 * requests cost 2-5% where there are none, and with both loops in one
 * function GCC spilled accumulators (22% slower). */
__attribute__((noinline)) static void tile_bind_pf(int64_t kc, const float *a, const float *b,
                                                   const int32_t *boff, const struct cpu_tile *t)
{
    tile_mr(kc, a, NULL, b, boff, t, 8, true, false, false);
}

/* A plain layer's last tile of the plane, B's last vector masked
 * (cpu_tile.bmask): a function of its own too. */
__attribute__((noinline)) static void tile_bind_tail(int64_t kc, const float *a, const float *b,
                                                     const int32_t *boff, const struct cpu_tile *t)
{
    tile_mr(kc, a, NULL, b, boff, t, 8, false, true, false);
}

static void tile_bind(int64_t kc, const float *a, const float *b, const int32_t *boff,
                      const struct cpu_tile *t)
{
    if (t->bmask) {
        tile_bind_tail(kc, a, b, boff, t);
        return;
    }
    if (t->bpf || t->rpf) {
        tile_bind_pf(kc, a, b, boff, t);
        return;
    }
    tile_mr(kc, a, NULL, b, boff, t, 8, false, false, false);
}

static void gemv(int64_t k, int64_t n, const float *x, const float *b, float *y, const float *bias,
                 const struct ir_act *act)
{
    const bool simd = !act16_scalar(act);
    for (int64_t j0 = 0; j0 < n; j0 += NR, b += k * NR) {
        /* two sets of sums over even and odd k hide the FMA latency */
        __m512 s[2][NVMAX];
        for (int v = 0; v < NVMAX; v++) s[0][v] = s[1][v] = _mm512_setzero_ps();
        const float *p = b;
        int64_t kk = 0;
        for (; kk + 2 <= k; kk += 2, p += 2 * NR) {
            const __m512 x0 = _mm512_set1_ps(x[kk]), x1 = _mm512_set1_ps(x[kk + 1]);
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++) {
                s[0][v] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + 16 * v), s[0][v]);
                s[1][v] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(p + NR + 16 * v), s[1][v]);
            }
        }
        if (kk < k) {
            const __m512 x0 = _mm512_set1_ps(x[kk]);
            for (int v = 0; v < NVMAX; v++)
                s[0][v] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(p + 16 * v), s[0][v]);
        }
        const int64_t cols = n - j0 < NR ? n - j0 : NR;
        for (int v = 0; v < NVMAX && 16 * v < cols; v++) {
            const __mmask16 m = edge_mask((int)(cols - 16 * v));
            __m512 r = _mm512_add_ps(s[0][v], s[1][v]);
            if (bias) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, bias + j0 + 16 * v));
            if (simd) r = act16(r, act);
            _mm512_mask_storeu_ps(y + j0 + 16 * v, m, r);
        }
    }
    if (!simd) ir_act_apply(act, y, (size_t)n);
}

/* 8 x 49: the 8 x 48 tile and one more column, whose 8 rows are one
 * 256-bit vector: A's 8 values of the step (consecutive in its panel) times
 * B's 49th column, broadcast. 25 multiply-adds a step where 49 columns as
 * 48 and an edge tile take the time of 32; and plane rows stored as they
 * are, where the transposed product (7 positions x 48 channels) puts every
 * tile back channel by channel. The 49th column goes out through a scatter,
 * its residual in through a gather. */
static void tile49(int64_t kc, const float *a, const float *b, const struct cpu_tile *t)
{
    __m512 acc[MR][NVMAX];
    __m256 acc48 = _mm256_setzero_ps();
    tile_acc_zero(acc);
    const int64_t ldb = t->ldb;
    const char *pf = t->pf;
    const int64_t pfn = t->pf_lines < kc ? t->pf_lines : kc;
    for (int64_t k = 0; k < kc; k++) {
        if (k < pfn) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
        __m512 bv[NVMAX];
#pragma GCC unroll 3
        for (int v = 0; v < NVMAX; v++) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 3
            for (int v = 0; v < NVMAX; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        acc48 = _mm256_fmadd_ps(_mm256_loadu_ps(a), _mm256_set1_ps(b[48]), acc48);
        a += MR;
        b += ldb;
    }

    const int kind = t->act->kind;
    const bool simd = kind != IR_ACT_TANH;
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) {
        if (i >= t->mr) break;
        float *c = t->c + i * t->ldc;
        const __m512 br = _mm512_set1_ps(t->bias_row ? t->bias_row[i] : 0.0f);
#pragma GCC unroll 3
        for (int v = 0; v < NVMAX; v++) {
            __m512 x = _mm512_add_ps(acc[i][v], br);
            if (t->res) x = _mm512_add_ps(x, _mm512_loadu_ps(t->res + i * t->ldres + 16 * v));
            if (simd) x = act16k(x, t->act, kind);
            _mm512_storeu_ps(c + 16 * v, x);
        }
    }
    const __mmask8 rm = (__mmask8)((1u << t->mr) - 1u);
    const __m256i rows = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256 x = acc48;
    if (t->bias_row) x = _mm256_add_ps(x, _mm256_maskz_loadu_ps(rm, t->bias_row));
    if (t->res) {
        const __m256i ir = _mm256_mullo_epi32(rows, _mm256_set1_epi32((int)t->ldres));
        x = _mm256_add_ps(x,
                          _mm256_mmask_i32gather_ps(_mm256_setzero_ps(), rm, ir, t->res + 48, 4));
    }
    if (simd) x = _mm512_castps512_ps256(act16k(_mm512_castps256_ps512(x), t->act, kind));
    const __m256i ic = _mm256_mullo_epi32(rows, _mm256_set1_epi32((int)t->ldc));
    _mm256_mask_i32scatter_ps(t->c + 48, rm, ic, x, 4);
    if (!simd) cpu_tile_act_rows(t);
}

const struct cpu_ukernel cpu_ukernel_avx512 = {
    .name = "avx512",
    .isa = CPU_ISA_AVX512,
    .mr = MR,
    .nr = NR,
    .kc_max = 512,
    .l2_block = 384 * 1024,
    .tile = tile,
    .tile_ind = tile_ind,
    .tile_bind = tile_bind,
    .bind_tail = true,
    .store_t = true,
    .gemv = gemv,
    .tile49 = tile49,
    .pack_kn = cpu_pack_kn_avx512,
    .pack_conv = cpu_pack_conv_avx512,
};

const struct cpu_ukernel cpu_ukernel_avx512_7x48 = {
    .name = "avx512",
    .isa = CPU_ISA_AVX512,
    .mr = 7,
    .nr = 48,
    .kc_max = 512,
    .l2_block = 384 * 1024,
    .tile = tile_7x48,
    .tile_ind = tile_ind_7x48,
    .store_t = true,
    .gemv = NULL,
    .pack_kn = cpu_pack_kn_avx512,
    .pack_conv = cpu_pack_conv_avx512,
};
