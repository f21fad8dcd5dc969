/* Packing of GEMM operands into micro-kernel panels (cpu_sgemm.h): the
 * generic level of the run-time loops (cpu_pack_impl.h), and the compile-time
 * packing of weights, which runs once and stays portable. */
#include "cpu.h"
#include "cpu_sgemm.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void cpu_copy_even(float *dst, const float *src, int64_t n)
{
    int64_t q = 0;
#if defined(__SSE2__)
    /* the compiler leaves the strided loop scalar; SSE2 is in every x86-64.
     * src[2q + 1] of the last pair may lie past the row: stop a pair early */
    for (; q + 4 < n; q += 4) {
        const __m128 a = _mm_loadu_ps(src + 2 * q), b = _mm_loadu_ps(src + 2 * q + 4);
        _mm_storeu_ps(dst + q, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
    }
#endif
    for (; q < n; q++) dst[q] = src[2 * q];
}

static inline void run_copy(float *d, const float *s, int64_t len)
{
    if (len > 0) memcpy(d, s, sizeof(float) * (size_t)len);
}

static inline void run_zero(float *d, int64_t len)
{
    if (len > 0) memset(d, 0, sizeof(float) * (size_t)len);
}

static inline void run_copy_s2(float *d, const float *s, int64_t len)
{
    cpu_copy_even(d, s, len);
}

static inline void run_gather(float *d, const float *s, const int32_t *idx, int64_t len)
{
    for (int64_t q = 0; q < len; q++) d[q] = idx[q] < 0 ? 0.0f : s[idx[q]];
}

#define PACK_FN(name) name
#include "cpu_pack_impl.h"

void cpu_pack_nk(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w, float *dst)
{
    const struct cpu_pack_mat *mat = src;
    const int64_t ntp = (nj + w - 1) / w;
    for (int64_t t = 0; t < ntp; t++) {
        float *d = dst + t * kc * w;
        for (int jj = 0; jj < w; jj++) {
            const int64_t j = t * w + jj;
            if (j >= nj) {
                for (int64_t kk = 0; kk < kc; kk++) d[kk * w + jj] = 0.0f;
                continue;
            }
            const float *row = mat->p + (j0 + j) * mat->ld + k0;
            for (int64_t kk = 0; kk < kc; kk++) d[kk * w + jj] = mat->scale * row[kk];
        }
    }
}

int32_t *cpu_pack_conv_table(const struct cpu_pack_conv *cv)
{
    const int64_t taps = cv->kh * cv->kw, n = cv->oh * cv->ow;
    if (cv->h * cv->w > INT32_MAX) return NULL;
    int32_t *tab = ir_alloc(sizeof(int32_t) * (size_t)(taps * n));
    if (!tab) return NULL;
    for (int64_t r = 0; r < taps; r++) {
        const int64_t ki = r / cv->kw, kj = r % cv->kw;
        for (int64_t j = 0; j < n; j++) {
            const int64_t iy = (j / cv->ow) * cv->sh - cv->pt + ki * cv->dh;
            const int64_t ix = (j % cv->ow) * cv->sw - cv->pl + kj * cv->dw;
            bool in = iy >= 0 && iy < cv->h && ix >= 0 && ix < cv->w;
            tab[r * n + j] = in ? (int32_t)(iy * cv->w + ix) : -1;
        }
    }
    return tab;
}

size_t cpu_pack_size(int64_t k, int64_t n, int w)
{
    return (size_t)k * (size_t)((n + w - 1) / w) * (size_t)w;
}

void cpu_pack_blocked(cpu_pack_fn fn, const void *src, int64_t k, int64_t n, int w, int64_t kc,
                      float *dst)
{
    const int64_t npad = (n + w - 1) / w * w;
    for (int64_t k0 = 0; k0 < k; k0 += kc)
        fn(src, k0, k - k0 < kc ? k - k0 : kc, 0, n, w, dst + k0 * npad);
}

bool cpu_value_read_once(const struct ir_graph *g, int v)
{
    if (g->values[v].flags & IR_VALUE_OUTPUT) return false;
    int readers = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const struct ir_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->nin; k++) readers += n->in[k] == v;
    }
    return readers == 1;
}

bool cpu_value_const_f32(const struct cpu_model *m, const struct ir_graph *g, int v)
{
    return v >= 0 && v < m->nslots && m->slots[v].kind == CPU_SLOT_CONST &&
           g->values[v].dtype == IR_DT_F32 && m->slots[v].data;
}

void cpu_const_drop(struct cpu_model *m, const struct ir_graph *g, int v)
{
    if (v < 0 || v >= m->nslots || m->slots[v].kind != CPU_SLOT_CONST) return;
    if (!cpu_value_read_once(g, v)) return;
    ir_free(m->slots[v].data);
    m->slots[v].data = NULL;
}
