/* Packed single-precision GEMM for the CPU backend: C = A B (+ bias, + act).
 *
 * A register tile of mr x nr outputs is computed by one ISA's micro-kernel
 * from two packed operands:
 *   - A in panels of mr rows: panel p holds rows [p*mr, p*mr + mr) k-major,
 *     panel[k*mr + i] = A[p*mr + i][k]; the kernel broadcasts its elements;
 *   - B in panels of nr columns: panel[k*nr + j] = B[k][q*nr + j]; the kernel
 *     loads them as vectors.
 * Panels past the edge of the matrix are zero-filled, so the kernel always
 * runs full tiles and only masks what it stores. An operand packed whole is
 * stored k block by k block (cpu_sgemm_kc): block [k0, k0 + kb) at
 * k0 * width_padded, its panels kb * width apart; so the product reads it
 * front to back, which keeps weights streaming from memory ahead of use.
 *
 * Weights are packed once at compile time into whichever operand the layer
 * uses them as; run-time operands are packed into the instance scratch, B one
 * kc x nc block at a time (so the block is hot in L2 while every A panel
 * streams over it), A whole (it is the small operand when it is run-time).
 * Everything here is ISA-independent but the micro-kernels, which
 * cpu_sgemm_avx2.c and cpu_sgemm_avx512.c provide. */
#ifndef INFERD_CPU_SGEMM_H
#define INFERD_CPU_SGEMM_H

#include "cpu_pool.h"
#include "ir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Block and panel arithmetic shared by the GEMM and its callers. */
static inline int64_t cpu_imin(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t cpu_ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

enum {
    CPU_TILE_ACC = 1,  /* add to C instead of overwriting it */
    CPU_TILE_LAST = 2, /* the last k block: apply bias and activation */
};

/* One micro-kernel call's output: C[i][j] at c[i*ldc + j], i < mr, j < nr.
 * B's rows are ldb floats apart: nr in a packed panel, more when B is read
 * in place from a row-major matrix whose rows are padded to whole vectors. */
struct cpu_tile {
    float *c;
    int64_t ldc;
    int64_t ldb;
    int mr, nr; /* valid rows and columns (<= the kernel's) */
    int flags;
    const float *bias_row; /* row i adds bias_row[i]; NULL for none */
    const float *bias_col; /* column j adds bias_col[j]; NULL for none */
    const float *res;      /* adds res[i*ldres + j] (a fused residual); NULL for none */
    int64_t ldres;
    const struct ir_act *act;
    /* Data the next calls will read from memory (the next A panel, a slice
     * of the next B block): the kernel prefetches one line of it per k step,
     * so the stream overlaps this tile's arithmetic. */
    const char *pf;
    int64_t pf_lines;
    /* B read in place (cpu_tile_bind_fn): the next tile's columns, at the
     * same offsets boff[k], or NULL; the kernel prefetches them a step at
     * a time */
    const float *bpf;
    const float *rpf; /* the next tile's residual rows (ldres apart), or NULL */
    /* B read in place (cpu_tile_bind_fn), where the level has bind_tail:
     * which of the tile's last 16 columns to load (bit j: column 16 *
     * ((nr - 1) / 16) + j), 0 for all; the others read as 0. Set where the
     * tile's last vector would end past the tensor. */
    uint16_t bmask;
    /* The last k block's output stored transposed, where the level has
     * store_t: C[i][j] goes to ct[j*ldct + i], and res is read alike
     * (res[j*ldres + i]); c is then only read, for CPU_TILE_ACC. A
     * transposed product (rows: plane positions, columns: channels) so
     * writes its output channel by channel, with no pass to put it back. */
    float *ct;
    int64_t ldct;
};

/* tile += A panel (kc x mr) times B panel (kc x nr), over the kernel's full
 * register tile. */
typedef void (*cpu_tile_fn)(int64_t kc, const float *a, const float *b, const struct cpu_tile *t);

/* The same, A read in place: its row i at step k is a[off[k] + i] (an
 * im2col-free convolution over a padded input). */
typedef void (*cpu_tile_ind_fn)(int64_t kc, const float *a, const int32_t *off, const float *b,
                                const struct cpu_tile *t);

/* The same, B read in place: its columns at step k start at b + boff[k]
 * (a convolution's input, zero-padded and split by column phase, so that a
 * tile's columns, outputs along one row, read consecutive floats at every
 * tap: cpu_conv.c). */
typedef void (*cpu_tile_bind_fn)(int64_t kc, const float *a, const float *b, const int32_t *boff,
                                 const struct cpu_tile *t);

/* y[j] = sum_k x[k] * B[k][j] (+ bias[j], act) for j < n, B given as packed
 * panels of nr columns (k-major, panel stride k*nr): a batch-1 fully
 * connected layer. */
typedef void (*cpu_gemv_fn)(int64_t k, int64_t n, const float *x, const float *b, float *y,
                            const float *bias, const struct ir_act *act);

struct cpu_ukernel {
    const char *name; /* "generic", "avx2", "avx512" */
    int isa;          /* enum cpu_isa of the level */
    int mr, nr;       /* register tile */
    int kc_max;       /* deepest k block: an A panel of kc_max * mr floats stays in L1 */
    size_t l2_block;  /* most bytes of a packed B block (kc x nc) kept hot in L2 */
    cpu_tile_fn tile;
    cpu_tile_ind_fn tile_ind;   /* NULL where the level has none */
    cpu_tile_bind_fn tile_bind; /* NULL where the level has none */
    bool bind_tail;             /* tile_bind loads only cpu_tile.bmask of B's last vector */
    bool store_t;               /* tile and tile_ind store through cpu_tile.ct */
    cpu_gemv_fn gemv;           /* NULL in a level's extra shapes (cpu_ukernel_shapes) */
    /* (optional) A tile of mr rows and 49 columns, one k block (flags
     * CPU_TILE_LAST, no ct), B read in place: its rows t->ldb apart, all 49
     * columns inside the row. A 7x7 plane is one such tile, a 14x14 one
     * four: no edge tile and no transposition (cpu_conv_p49.c). */
    cpu_tile_fn tile49;
    /* run-time packing at this level (cpu_pack_kn, cpu_pack_conv below) */
    void (*pack_kn)(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                    float *dst);
    void (*pack_conv)(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                      float *dst);
};

/* The micro-kernel set of an ISA level (enum cpu_isa). */
const struct cpu_ukernel *cpu_ukernel_get(int isa);

extern const struct cpu_ukernel cpu_ukernel_generic;
extern const struct cpu_ukernel cpu_ukernel_avx2;
extern const struct cpu_ukernel cpu_ukernel_avx512, cpu_ukernel_avx512_7x48;

/* Bytes of a packed B block at uk: uk->l2_block, or a fifth of this CPU's
 * L2 when that is less. */
size_t cpu_sgemm_l2_block(const struct cpu_ukernel *uk);

/* The register-tile shapes of a level, its main one (cpu_ukernel_get) first;
 * *n gets their count. A product picks the one whose tiles its rows fill
 * best (cpu_ukernel_for). */
const struct cpu_ukernel *const *cpu_ukernel_shapes(int isa, int *n);
/* The shape of the level that wastes least on a product of this many rows
 * and columns (columns counted in 16-lane vectors, rows in tiles), and that
 * fill in (0, 1]. */
const struct cpu_ukernel *cpu_ukernel_for(int isa, int64_t rows, int64_t cols, double *fill);

/* Applies t->act to a stored finished tile, row by row: for the activations
 * a kernel does not evaluate in registers (sigmoid, tanh, hard-swish...). */
void cpu_tile_act_rows(const struct cpu_tile *t);
/* The same over a tile stored transposed (cpu_tile.ct), channel by channel. */
void cpu_tile_act_cols(const struct cpu_tile *t);

/* --- packing (cpu_pack.c) -------------------------------------------------- */

/* Writes the panels of width w covering columns [j0, j0 + nj) and depths
 * [k0, k0 + kc) of a logical K x N matrix; panel t (columns j0 + t*w ...) goes
 * to dst + t*kc*w, columns past j0 + nj are zero. */
typedef void (*cpu_pack_fn)(const void *src, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                            float *dst);

/* A plain matrix as the K x N operand, either stored [K][ld] (kn) or
 * transposed, stored [N][ld] (nk: the panel's columns are source rows). */
struct cpu_pack_mat {
    const float *p;
    int64_t ld;
    float scale; /* multiplies every element (Gemm's alpha); 1 for none */
};
void cpu_pack_kn(const void *mat, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                 float *dst);
void cpu_pack_nk(const void *mat, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                 float *dst);

/* A convolution's im2col matrix, never built: row k = (c, ki, kj) of one
 * group, column j = (oy, ox); taps in the padding read 0. */
struct cpu_pack_conv {
    const float *x; /* the group's first input channel */
    int64_t h, w;   /* input plane */
    int64_t oh, ow; /* output plane */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
    /* optional: tab[tap * oh * ow + j], the plane offset column j reads at
     * that tap, -1 in the padding (cpu_pack_conv_table) */
    const int32_t *tab;
};
void cpu_pack_conv(const void *conv, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                   float *dst);

/* The same loops built for AVX2 and AVX-512 (cpu_pack_avx2.c, cpu_pack_avx512.c). */
void cpu_pack_kn_avx2(const void *mat, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                      float *dst);
void cpu_pack_conv_avx2(const void *conv, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                        float *dst);
void cpu_pack_kn_avx512(const void *mat, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                        float *dst);
void cpu_pack_conv_avx512(const void *conv, int64_t k0, int64_t kc, int64_t j0, int64_t nj, int w,
                          float *dst);

/* Frees constant value v's block once a kernel has packed it, unless another
 * node reads it or it is a graph output: weights live once, packed. */
struct cpu_model;
void cpu_const_drop(struct cpu_model *m, const struct ir_graph *g, int v);
/* Whether value v is read by exactly one live node and is no graph output. */
bool cpu_value_read_once(const struct ir_graph *g, int v);
/* dst[q] = src[2q] for q < n, reading nothing past src[2n - 2]. */
void cpu_copy_even(float *dst, const float *src, int64_t n);
/* Whether value v is a float32 constant whose data the model still holds. */
bool cpu_value_const_f32(const struct cpu_model *m, const struct ir_graph *g, int v);

/* The offset table of cpu_pack_conv for cv's geometry (ir_alloc'd, NULL when
 * out of memory or when the plane is too large for int32 offsets). */
int32_t *cpu_pack_conv_table(const struct cpu_pack_conv *cv);

/* Floats a whole K x N operand takes packed in panels of width w. */
size_t cpu_pack_size(int64_t k, int64_t n, int w);

/* Packs a whole K x N operand with fn in the blocked layout above: k blocks
 * of kc (the last one shorter), panels of width w. */
void cpu_pack_blocked(cpu_pack_fn fn, const void *src, int64_t k, int64_t n, int w, int64_t kc,
                      float *dst);

/* --- the blocked product (cpu_sgemm.c) ------------------------------------- */

/* C[m x n] (row stride ldc) = A B, or += with accumulate; bias and act on the
 * finished tiles. A is packed whole (blocked by cpu_sgemm_kc(uk, n, k)) or
 * read in place (a_off). B is packed whole (b, blocked the same), or read in place (b with ldb > 0:
 * row-major [k][ldb], ldb >= n rounded up to 16 so whole vectors stay in the row), or, when b is
 * NULL, packed a block at a time by pack_b from pack_src. */
struct cpu_sgemm {
    const struct cpu_ukernel *uk;
    int64_t m, n, k;
    /* the k block depth operands packed whole were blocked by; 0: the
     * product's own (cpu_sgemm_kc) */
    int64_t kc;
    const float *a;
    /* A in place (uk->tile_ind): row panel p starts at a + (p / a_per_row) *
     * a_row + (p % a_per_row) * mr, and step k adds a_off[k] */
    const int32_t *a_off;
    int64_t a_per_row, a_row;
    const float *b;
    int64_t ldb;
    cpu_pack_fn pack_b;
    const void *pack_src;
    float *c;
    int64_t ldc;
    bool accumulate;
    const float *bias_row; /* m values or NULL */
    const float *bias_col; /* n values or NULL */
    const float *res;      /* m x n, row stride ldres, added before act; or NULL */
    int64_t ldres;
    /* Where uk->store_t: the finished C stored transposed, C[i][j] at
     * ct[j*ldct + i], res read transposed alike (n x m, row stride ldres);
     * c then holds only the partial sums of k blocks before the last. */
    float *ct;
    int64_t ldct;
    struct ir_act act;
    /* Where each task of cpu_sgemm_run packs its own run-time B blocks: task
     * t at task_scratch + t * task_stride bytes (cpu_exec_task_scratch),
     * cpu_sgemm_task_scratch bytes each. Unused when B is packed or in place. */
    char *task_scratch;
    size_t task_stride;
    /* The output's next reader splits it by rows (a depthwise or grouped
     * convolution over C's rows as channels): split the rows alike when that
     * balances about as well, each task packing all of a run-time B. */
    bool rows_local;
    /* Run the k blocks outermost, each across every column block: for an A
     * read in place that is larger than L2, which column blocks outermost
     * would read again from L3 for each (the B blocks being streamed once
     * either way); C then takes every k block's partial sums. */
    bool k_outer;
};

/* For a run-time B: bytes of private scratch each task of cpu_sgemm_run (or
 * cpu_sgemm_run1) needs for its B blocks (cpu_sgemm.task_scratch), however
 * the product splits, for products of up to n columns at depth k blocked as
 * n's (cpu_sgemm.kc = cpu_sgemm_kc(uk, n, k)). */
size_t cpu_sgemm_task_scratch(const struct cpu_ukernel *uk, int64_t n, int64_t k);
/* How many threads a product of this size is worth (1 .. max). */
int cpu_sgemm_threads(int64_t m, int64_t n, int64_t k, int max);
/* Runs the product on up to nthreads of the pool; a run-time B is packed in
 * the tasks' own scratch (cpu_sgemm_task_scratch). */
void cpu_sgemm_run(const struct cpu_sgemm *g, struct cpu_pool *pool, int nthreads);
/* Whether cpu_sgemm_run on nthreads splits the rows of C (rather than its
 * columns) for a product with B packed whole and no rows_local. */
bool cpu_sgemm_packed_splits_rows(const struct cpu_ukernel *uk, int64_t m, int64_t n, int64_t k,
                                  int nthreads);
/* cpu_pack_blocked on up to nthreads of the pool, each packing a share of
 * the panels. */
void cpu_pack_blocked_mt(struct cpu_pool *pool, int nthreads, cpu_pack_fn fn, const void *src,
                         int64_t k, int64_t n, int w, int64_t kc, float *dst);

/* The same product on the calling thread only. */
void cpu_sgemm_run1(const struct cpu_sgemm *g, float *scratch);

/* The k block depth the product of n columns and depth k runs with: what
 * operands packed whole must be blocked by (cpu_pack_blocked). */
int64_t cpu_sgemm_kc(const struct cpu_ukernel *uk, int64_t n, int64_t k);
/* The column block width of that product at k block depth kc_fixed (0: its
 * own). */
int64_t cpu_sgemm_nc(const struct cpu_ukernel *uk, int64_t n, int64_t k, int64_t kc_fixed);

/* A deeper k block for a product whose A is read in place (a_off): A costs
 * nothing to read again for each column block, so a block of B one panel
 * wide fills the L2 budget, and each C tile is loaded and stored a few times
 * instead of once per shallow block. */
int64_t cpu_sgemm_kc_deep(const struct cpu_ukernel *uk, int64_t k);

#endif
