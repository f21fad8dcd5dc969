/* AVX2 + FMA micro-kernels (cpu_sgemm.h): a 6 x 16 register tile, twelve
 * ymm accumulators fed by two vector loads of B and six broadcasts of A per
 * k step (the classic shape for 16 registers), and a matrix-vector kernel
 * for batch-1 fully connected layers. */
#include "cpu_sgemm.h"

#include "cpu_eltwise_avx2.h"
#include "cpu_isa.h"

#include <immintrin.h>

#define MR    6
#define NR    16
#define NVMAX (NR / 8)

#define INLINE static inline __attribute__((always_inline))

/* Lanes [0, cols) set; cols may be out of [0, 8]. */
static __m256i edge_mask(int cols)
{
    static const int32_t ramp[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    if (cols > 8) cols = 8;
    if (cols < 0) cols = 0;
    return _mm256_loadu_si256((const __m256i *)(ramp + 8 - cols));
}

/* With boff, B is read in place: its columns at step k start at
 * b + boff[k]. */
INLINE void tile_nv(int64_t kc, const float *a, const float *b, const int32_t *boff,
                    const struct cpu_tile *t, const int nv, const bool tail)
{
    /* tail: B's last vector only to cpu_tile.bmask's lanes */
    const __m256i bm =
        _mm256_cmpgt_epi32(_mm256_and_si256(_mm256_set1_epi32(t->bmask >> (8 * (nv - 1))),
                                            _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128)),
                           _mm256_setzero_si256());
    __m256 acc[MR][NVMAX];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 2
        for (int v = 0; v < NVMAX; v++) acc[i][v] = _mm256_setzero_ps();

    const int64_t ldb = t->ldb;
    const char *pf = t->pf;
    const int64_t pfn = t->pf_lines < kc ? t->pf_lines : kc;
    for (int64_t k = 0; k < kc; k++) {
        if (k < pfn) _mm_prefetch(pf + 64 * k, _MM_HINT_T0);
        __m256 bv[NVMAX];
        const float *bk = boff ? b + boff[k] : b;
#pragma GCC unroll 2
        for (int v = 0; v < NVMAX; v++)
            bv[v] = v >= nv               ? _mm256_setzero_ps()
                    : tail && v == nv - 1 ? _mm256_maskload_ps(bk + 8 * v, bm)
                                          : _mm256_loadu_ps(bk + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < NVMAX; v++)
                if (v < nv) acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += MR;
        if (!boff) b += ldb;
    }

    const bool last = t->flags & CPU_TILE_LAST, add = t->flags & CPU_TILE_ACC;
    const int kind = last ? t->act->kind : IR_ACT_NONE;
    const bool simd = kind != IR_ACT_TANH; /* the others in registers (cpu_eltwise_avx2.h) */
    __m256i m[NVMAX];
    __m256 bc[NVMAX];
#pragma GCC unroll 2
    for (int v = 0; v < NVMAX; v++) {
        m[v] = edge_mask(t->nr - 8 * v);
        bc[v] = last && t->bias_col && v < nv ? _mm256_maskload_ps(t->bias_col + 8 * v, m[v])
                                              : _mm256_setzero_ps();
    }
    const bool full = t->nr == NR;
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        if (i >= t->mr) break;
        float *c = t->c + i * t->ldc;
        const __m256 br = _mm256_set1_ps(last && t->bias_row ? t->bias_row[i] : 0.0f);
#pragma GCC unroll 2
        for (int v = 0; v < NVMAX; v++) {
            if (v >= nv) break;
            __m256 x = acc[i][v];
            if (add)
                x = _mm256_add_ps(x, full ? _mm256_loadu_ps(c + 8 * v)
                                          : _mm256_maskload_ps(c + 8 * v, m[v]));
            if (last) {
                x = _mm256_add_ps(_mm256_add_ps(x, br), bc[v]);
                if (t->res) {
                    const float *r = t->res + i * t->ldres + 8 * v;
                    x = _mm256_add_ps(x, full ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, m[v]));
                }
                if (simd && kind != IR_ACT_NONE) x = act8(x, t->act);
            }
            if (full)
                _mm256_storeu_ps(c + 8 * v, x);
            else
                _mm256_maskstore_ps(c + 8 * v, m[v], x);
        }
    }
    if (!simd) cpu_tile_act_rows(t);
}

/* The tile for t->nr columns, one or two vectors, B packed or (boff) read
 * in place. */
INLINE void tile_w(int64_t kc, const float *a, const float *b, const int32_t *boff,
                   const struct cpu_tile *t, const bool tail)
{
    if (t->nr > 8)
        tile_nv(kc, a, b, boff, t, 2, tail);
    else
        tile_nv(kc, a, b, boff, t, 1, tail);
}

static void tile(int64_t kc, const float *a, const float *b, const struct cpu_tile *t)
{
    tile_w(kc, a, b, NULL, t, false);
}

/* The plane's last tile (cpu_tile.bmask), a function of its own: the
 * masked load stays out of the common loop. */
__attribute__((noinline)) static void tile_bind_tail(int64_t kc, const float *a, const float *b,
                                                     const int32_t *boff, const struct cpu_tile *t)
{
    tile_w(kc, a, b, boff, t, true);
}

static void tile_bind(int64_t kc, const float *a, const float *b, const int32_t *boff,
                      const struct cpu_tile *t)
{
    if (t->bmask) {
        tile_bind_tail(kc, a, b, boff, t);
        return;
    }
    tile_w(kc, a, b, boff, t, false);
}

static void gemv(int64_t k, int64_t n, const float *x, const float *b, float *y, const float *bias,
                 const struct ir_act *act)
{
    const bool simd = !act8_scalar(act);
    for (int64_t j0 = 0; j0 < n; j0 += NR, b += k * NR) {
        /* four sets of sums over k mod 4 hide the FMA latency */
        __m256 s[4][NVMAX];
        for (int u = 0; u < 4; u++)
            for (int v = 0; v < NVMAX; v++) s[u][v] = _mm256_setzero_ps();
        const float *p = b;
        int64_t kk = 0;
        for (; kk + 4 <= k; kk += 4, p += 4 * NR) {
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++) {
                const __m256 xu = _mm256_broadcast_ss(x + kk + u);
#pragma GCC unroll 2
                for (int v = 0; v < NVMAX; v++)
                    s[u][v] = _mm256_fmadd_ps(xu, _mm256_loadu_ps(p + u * NR + 8 * v), s[u][v]);
            }
        }
        for (; kk < k; kk++, p += NR) {
            const __m256 x0 = _mm256_broadcast_ss(x + kk);
            for (int v = 0; v < NVMAX; v++)
                s[0][v] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(p + 8 * v), s[0][v]);
        }
        const int cols = n - j0 < NR ? (int)(n - j0) : NR;
        for (int v = 0; v < NVMAX && 8 * v < cols; v++) {
            const __m256i m = edge_mask(cols - 8 * v);
            __m256 r =
                _mm256_add_ps(_mm256_add_ps(s[0][v], s[1][v]), _mm256_add_ps(s[2][v], s[3][v]));
            if (bias) r = _mm256_add_ps(r, _mm256_maskload_ps(bias + j0 + 8 * v, m));
            if (simd) r = act8(r, act);
            _mm256_maskstore_ps(y + j0 + 8 * v, m, r);
        }
    }
    if (!simd) ir_act_apply(act, y, (size_t)n);
}

const struct cpu_ukernel cpu_ukernel_avx2 = {
    .name = "avx2",
    .isa = CPU_ISA_AVX2,
    .mr = MR,
    .nr = NR,
    .kc_max = 512,
    .l2_block = 384 * 1024,
    .tile = tile,
    .tile_bind = tile_bind,
    .bind_tail = true,
    .gemv = gemv,
    .pack_kn = cpu_pack_kn_avx2,
    .pack_conv = cpu_pack_conv_avx2,
};
