/* Winograd F(4x4, 3x3) convolution for the CPU backend: each 4x4 block of
 * output ("tile") comes from a 6x6 block of input through
 *   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,
 * 36 multiplications per tile and channel pair instead of 144. Over a whole
 * layer that is 36 independent GEMMs, one per transform-domain position xi:
 *   M[xi] (out channels x tiles) = U[xi] (out x in channels) . V[xi] (in x tiles).
 * U is either transformed and packed once at compile time into the
 * micro-kernel's A panels, or, where the products use it once per run,
 * transformed from the taps just before them (lazy: a quarter of the memory
 * and of the bytes read per run); V is written by the input transform straight into row-major
 * [channel][tile] rows the micro-kernel reads in place; the output transform
 * adds the bias and applies the activation before it stores the 4x4 blocks.
 *
 * The transforms are the only ISA-specific part besides the micro-kernels:
 * cpu_winograd_impl.h and cpu_winograd_u_impl.h hold them once, compiled per
 * level; AVX-512 has its own input and output transforms. */
#ifndef INFERD_CPU_WINOGRAD_H
#define INFERD_CPU_WINOGRAD_H

#include "ir.h"

#include <stddef.h>
#include <stdint.h>

struct cpu_model;
struct cpu_step;

/* One channel's plane through the transforms. Tiles are numbered
 * t = ty * tw + tx; V[xi][t] is at v[xi * vs + t]. */
struct cpu_wino_plane {
    int64_t h, w;    /* input plane */
    int64_t oh, ow;  /* output plane */
    int64_t pt, pl;  /* padding before the first row and column */
    int64_t th, tw;  /* tiles: ceil(oh / 4) x ceil(ow / 4) */
    bool out_shared; /* the layer runs on more than one thread */
};

struct cpu_wino_fns {
    /* x: one input channel; writes V[0..36)[t] for the tiles of tile rows
     * [ty0, ty1), t counted from the first of them. tmp: cpu_wino_tmp_floats. */
    void (*input)(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *x,
                  float *v, size_t vs, float *tmp);
    /* m: one output channel's M[xi][t] at m[xi * ms + t] (t counted from
     * tile row ty0's first tile); writes the outputs of tile rows [ty0, ty1)
     * of the channel's oh x ow plane, with bias and
     * res (a fused residual, same layout; may be NULL) added and act applied. */
    void (*output)(const struct cpu_wino_plane *p, int64_t ty0, int64_t ty1, const float *m,
                   size_t ms, float *y, float bias, const float *res, const struct ir_act *act);
    /* Lazy layers: U of mr output channels from their taps, kb input
     * channels c (taps in pairs of channels, c = 2q + h:
     * w9[(q * 9 + tap) * 2 * mr + h * mr + i]), written as the A panels of
     * the 36 products, u[xi * us + c * mr + i] (cpu_winograd_u_impl.h). */
    void (*weights)(const float *w9, int64_t kb, int mr, float *u, size_t us);
};

/* Width of the zero-padded input rows the input transforms work on: whole
 * groups of 16 tiles (64 columns) and 16 columns more for the windows' overlap. */
static inline int64_t cpu_wino_row_width(const struct cpu_wino_plane *p)
{
    return 64 * ((p->tw + 15) / 16) + 16;
}

/* Row groups (of one or more tile rows) an output transform asks for ahead
 * of its stores: 4 left squeezenet's 16->64 55x55 layer fastest at 2
 * threads, against 1 and 2. */
#define CPU_WINO_OUT_AHEAD 4

/* Asks for the output rows of tile rows [ty, ty1), for writing. With more
 * than one thread those lines may be held by the other core (written there
 * by an earlier layer, or read there since), and a store waits for its line
 * to come over: a run of stores waits for the lines one after another as far
 * as the store queue reaches, where requests issued ahead overlap. A
 * prefetchw where the level is built with -mprfchw (AVX-512), else a
 * prefetch for reading, which brings the line over and leaves the store
 * only the invalidation of the other copy. */
static inline void cpu_wino_out_prefetch(const struct cpu_wino_plane *p, float *y, int64_t ty,
                                         int64_t ty1)
{
    const int64_t r0 = 4 * ty, r1 = 4 * ty1 < p->oh ? 4 * ty1 : p->oh;
    if (r1 <= r0) return;
    const uintptr_t end = (uintptr_t)(y + r1 * p->ow);
    for (uintptr_t a = (uintptr_t)(y + r0 * p->ow) & ~(uintptr_t)63; a < end; a += 64)
        __builtin_prefetch((const void *)a, 1, 3);
}

/* Floats of per-thread work space the input transform needs. */
size_t cpu_wino_tmp_floats(const struct cpu_wino_plane *p);

extern const struct cpu_wino_fns cpu_wino_generic, cpu_wino_avx2, cpu_wino_avx512;

/* Whether a convolution of this geometry can run as F(4x4, 3x3). */
bool cpu_winograd_fits(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                       int64_t group);

/* The convolution's shape, as cpu_conv.c resolved it. */
struct cpu_wino_conv {
    int64_t n, c, m; /* batch, input and output channels */
    struct cpu_wino_plane plane;
};

/* Whether the layer is expected to run clearly faster as Winograd than as
 * the direct GEMM (a cost model of both). */
bool cpu_winograd_wins(const struct cpu_model *m, const struct cpu_wino_conv *cv);

/* Makes step s run the convolution as Winograd: transforms and packs the
 * weights w [m][c][3][3], sizes the scratch. Returns 1, or a negative code. */
int cpu_winograd_prepare(struct cpu_model *m, struct cpu_step *s, const struct cpu_wino_conv *cv,
                         const float *w);

#endif
