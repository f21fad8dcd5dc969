/* Element-wise and sliding-window kernels of the CPU backend in every
 * instruction set: one table of row and plane functions per level (generic C,
 * AVX2+FMA, AVX-512), picked once at compile() from cpu_backend.isa. The step
 * kernels (cpu_depthwise.c, cpu_pool_ops.c, cpu_eltwise.c) do the shapes,
 * threads and broadcasting around them; the table functions only see rows
 * and planes of float32.
 *
 * Every function of every level computes what the reference does (the op's
 * eval, ir_act_apply_sum for fused epilogues) up to float rounding: sums are
 * kept in float32, the vector levels use fused multiply-add and a polynomial
 * exp (about 2 ulp) for Sigmoid and SiLU. */
#ifndef INFERD_CPU_ELTWISE_H
#define INFERD_CPU_ELTWISE_H

#include "cpu.h"

#include <stdint.h>

enum cpu_binop {
    CPU_BIN_ADD = 0,
    CPU_BIN_SUB,
    CPU_BIN_MUL,
    CPU_BIN_DIV,
};

enum cpu_win_op {
    CPU_WIN_DW = 0, /* depthwise convolution: sum of taps times weights, plus bias */
    CPU_WIN_MAX,    /* max of the taps inside the input (padding skipped) */
    CPU_WIN_AVG,    /* sum of the taps inside, times rowscale[oy] * colscale[ox] */
};

/* One plane of a 2-D sliding window: output (oy, ox) reads input rows
 * oy * sh - pt + ki * dh and columns ox * sw - pl + kj * dw for ki < kh,
 * kj < kw; taps outside [0, h) x [0, w) are padding. */
struct cpu_window {
    int64_t h, w, oh, ow;
    int64_t kh, kw, sh, sw, dh, dw, pt, pl;
};

/* The window of a Conv or pooling node: input x and output y (NCHW), the
 * node's kernel, strides, dilations and pads (begins, then ends). */
struct cpu_window cpu_window_of(const struct ir_value *x, const struct ir_value *y,
                                const int64_t *kernel, const int64_t *strides,
                                const int64_t *dilations, const int64_t *pads);

/* The arguments of one plane: x is the input plane, y the output plane. */
struct cpu_plane {
    const float *x;
    float *y;
    const float *k;           /* DW: kh * kw weights */
    float bias;               /* DW */
    const float *sum;         /* DW: residual plane added before act, or NULL */
    const struct ir_act *act; /* DW: fused activation (act->sum is not read) */
    const float *rowscale;    /* AVG: oh factors */
    const float *colscale;    /* AVG: ow factors */
};

/* 16 consecutive channels of a window op at once (the vector levels'
 * blocked path for small planes). */
struct cpu_block {
    const float *x;           /* first of nch input planes, h * w floats apart */
    float *y;                 /* first of nch output planes, oh * ow floats apart */
    const float *k;           /* DW: weights as [kh * kw][16], 64-byte aligned */
    const float *bias;        /* DW: 16 biases */
    const float *sum;         /* DW: first of nch residual planes like y, or NULL */
    const struct ir_act *act; /* DW */
    const float *rowscale;    /* AVG */
    const float *colscale;    /* AVG */
    int nch;                  /* channels in use, 1 to 16 */
    float *scratch;           /* cpu_window_block_scratch(g) bytes, 64-byte aligned */
};

/* The padded input image of the blocked path: ph rows of pw positions, every
 * tap of every output inside it. */
void cpu_window_image_size(const struct cpu_window *g, int64_t *ph, int64_t *pw);
size_t cpu_window_block_scratch(const struct cpu_window *g);

/* One block of output channels of a grouped convolution (cg input channels
 * per group, no dilation), bias, residual and activation included. */
struct cpu_gconv {
    const struct cpu_window *g;
    int64_t cg;        /* input channels of the group */
    int nout;          /* output channels to write, at most the level's gconv_block */
    const float *x;    /* the group's first input plane, planes xplane floats apart */
    int64_t xplane;    /* h * w, or more for rows of a larger buffer (cpu_mbconv.c) */
    const float *w;    /* [cg][kh * kw][gconv_block] weights, zero past nout */
    const float *bias; /* gconv_block biases, zero past nout */
    const float *sum;  /* first residual plane (like y, planes yplane apart), or NULL */
    float *y;          /* first output plane, planes yplane floats apart */
    int64_t yplane;    /* oh * ow, or more for rows of a larger output */
    const struct ir_act *act;
    /* Stride 1 with ow == w: outputs taken 16 in a row over the whole plane,
     * tap t of output i reading input i + flat_off[t] where lane mask
     * flat[(i / 16) * kh * kw + t] allows. NULL: row by row. */
    const uint16_t *flat;
    const int64_t *flat_off;
};

/* Whether cpu_vec.gconv takes a grouped convolution of c input channels in
 * `group` groups (narrow groups; wider ones are a GEMM's), and its window
 * row by row (square 1x1, 3x3 or 5x5, stride 1 or 2, undilated). */
bool cpu_grouped_channels_fit(int64_t group, int64_t c);
bool cpu_grouped_rows_fit(const struct cpu_window *win);

/* Depthwise planes in the flat layout: stride 1 and ow == w, so output i of
 * a plane reads input i + off[t] at tap t, where lane mask
 * mask[(i / 16) * taps + t] allows (cpu_window_flat); whole planes in a few
 * vectors, where row by row a 7-wide row would fill half a vector. */
struct cpu_dw_flat {
    int64_t xplane, yplane; /* h * w and oh * ow floats */
    int64_t taps;
    const uint16_t *mask; /* cpu_window_flat */
    const int64_t *off;
    const float *x, *w, *bias; /* nch input planes, [nch][taps] weights, nch biases or NULL */
    const float *sum;          /* nch residual planes like y, or NULL */
    float *y;
    const struct ir_act *act;
    int64_t nch;
};

/* Depthwise rows over a position-major buffer (cpu_mbconv_small.c): 16
 * channels of every input position side by side, CPU_DW_NHWC_LD floats
 * from one position to the next, written back as 16 output planes. Channel
 * vectors fill every lane whatever the plane's width, where the plane
 * kernels fill 7 of 16 lanes on a 7-wide row. The buffer holds the plane
 * with its padding (zeros), rows of xrow positions: output (oy, ox) reads
 * position (oy * sh + ky * dh) * xrow + ox * sw + kx * dw at tap (ky, kx),
 * with no test at all. Outputs are computed 16 at a time, so reads run up
 * to 16 * sw + (kw - 1) * dw positions past a row's last output and a
 * row's stride past the last row (cpu_mbconv_small.c sizes its buffer for
 * them): what lies there only reaches lanes that are not stored. Output
 * rows of at most 16 columns, column strides 1 and 2. */
#define CPU_DW_NHWC_LD 48

struct cpu_dw_nhwc {
    const struct cpu_window *g; /* kh, kw, sh, sw, dh, dw, oh, ow */
    const float *x;
    int64_t xrow;
    const float *w;    /* [kh * kw][16]: tap t's 16 channels at w + 16 t */
    const float *bias; /* 16 */
    float *y;          /* channel j's output plane at y + j * yplane */
    int64_t yplane;
    int nch; /* channels stored, 1..16 */
    const struct ir_act *act;
};

/* The flat layout's offsets and lane masks for window g (stride 1, ow == w):
 * *off gets kh * kw offsets, *mask ceil(oh * ow / 16) * kh * kw masks, both
 * malloc'ed. 0, or -ENOMEM with nothing left allocated. */
int cpu_window_flat(const struct cpu_window *g, uint16_t **mask, int64_t **off);

/* A window op run in bands of output rows over a buffer holding only the
 * input rows a band reads (a producer fused into the window op computes
 * them there: cpu_mbconv.c, cpu_conv_pool.c). The buffer holds nch channels
 * of rows_cap rows of g->w floats each. */
struct cpu_band {
    int64_t band;     /* output rows per band */
    int64_t rows_cap; /* input rows a band reads, at most */
    int64_t b0, b1;   /* input rows [b0, b1) in the buffer now */
};
/* Bands for nch channels whose buffer takes about half of L2 (one output
 * row at least); b0 = b1 = 0. */
void cpu_band_plan(struct cpu_band *b, const struct cpu_window *g, int64_t nch);
/* For output rows [oy0, oy1): moves the rows the buffer holds already that
 * they read to its top (channel stride rs) and returns how many; the rows to
 * compute are [*iy0 + kept, *iy1); *gw is the window over the buffer. */
int64_t cpu_band_next(struct cpu_band *b, const struct cpu_window *g, int64_t oy0, int64_t oy1,
                      float *buf, int64_t rs, int64_t nch, int64_t *iy0, int64_t *iy1,
                      struct cpu_window *gw);

struct cpu_vec {
    int level; /* enum cpu_isa: kernels pick their name by it */
    /* y[i] = act(y[i] + bias + sum[i]) for i < n; sum may be NULL, or y. */
    void (*epilogue)(float *y, const float *sum, int64_t n, float bias, const struct ir_act *act);
    /* y[i] = act(x[i]); y may be x. */
    void (*unary)(float *y, const float *x, int64_t n, const struct ir_act *act);
    /* y[i] = act(a[i] op b[i * bstep]) with bstep 0 or 1; y may be a. */
    void (*binary)(int op, float *y, const float *a, const float *b, int bstep, int64_t n,
                   const struct ir_act *act);
    /* Sum of x[0..n). */
    float (*sum)(const float *x, int64_t n);
    /* y[i] = act(bias[i] + sum over j < c of x[j] * wt[j * ldw + i]) for i < m: a
     * matrix-vector product with the matrix stored transposed, rows padded
     * to ldw (a multiple of 16, zeros past m, 64-byte aligned; bias too). */
    void (*gemv)(float *y, const float *wt, const float *x, const float *bias, int64_t m, int64_t c,
                 int64_t ldw, const struct ir_act *act);
    /* Max of x[0..n) (NaN never wins, as in the reference pooling); -inf for n = 0. */
    float (*max)(const float *x, int64_t n);
    /* One plane of a window op (enum cpu_win_op). */
    void (*window)(int op, const struct cpu_window *g, const struct cpu_plane *p);
    /* (optional) 16 channels of a window op; for planes whose rows fill a
     * vector or less. */
    void (*window_block)(int op, const struct cpu_window *g, const struct cpu_block *b);
    /* Output channels per grouped-convolution call; 0: no grouped kernel. */
    int gconv_block;
    /* (optional) One block of a grouped convolution; kernels 1x1, 3x3, 5x5
     * at strides 1 and 2 (else the flat layout at stride 1). */
    void (*gconv)(const struct cpu_gconv *a);
    /* y[j * ldy + i] = t[i * cols + j] for i < rows, j0 <= j < j1: a
     * product computed transposed put back (cpu_conv.c). */
    void (*transpose)(const float *t, int64_t rows, int64_t cols, int64_t j0, int64_t j1, float *y,
                      int64_t ldy);
    /* (optional) Depthwise planes in the flat layout, bias, residual and
     * activation included; planes of at most CPU_DW_FLAT_MAX floats. */
    void (*dw_flat)(const struct cpu_dw_flat *a);
    /* (optional) Depthwise rows over a position-major buffer; output rows
     * of at most 16 columns. */
    void (*dw_nhwc)(const struct cpu_dw_nhwc *a);
};

#define CPU_DW_FLAT_MAX 64

extern const struct cpu_vec cpu_vec_generic;
#if defined(__x86_64__)
extern const struct cpu_vec cpu_vec_avx2;
extern const struct cpu_vec cpu_vec_avx512;
#endif

/* The table of level isa (enum cpu_isa), or of the best level below it that
 * this build has. */
const struct cpu_vec *cpu_vec_get(int isa);

/* The transposition of the vector levels (AVX2 8x8 blocks; AVX-512 gains
 * nothing over it on a copy). */
void cpu_transpose_avx2(const float *t, int64_t rows, int64_t cols, int64_t j0, int64_t j1,
                        float *y, int64_t ldy);

/* Generic C window plane: the generic level's, and the vector levels' way
 * out for geometries they do not vectorize (column strides above 2). */
void cpu_window_generic(int op, const struct cpu_window *g, const struct cpu_plane *p);

/* How many tasks to split `units` independent pieces of work (channels,
 * rows) into, `work` being the whole job in rough multiply-adds: one when
 * the job is too small to pay for waking a thread, else up to the pool's
 * threads. */
int cpu_tasks(const struct cpu_pool *pool, int64_t units, int64_t work);

/* Split over threads, a layer writes lines the other core holds: it read
 * them, as some earlier layer's data in the same arena bytes. Each store
 * then waits for that core to give the line up, and a thread that writes a
 * plane a row at a time has few such requests in flight: a depthwise layer
 * at 28x28 took 1.7 times its 1-thread time on 2 threads. So a task asks
 * for the next unit's output lines (a plane, a block of planes) for
 * writing while it computes the current one, where that output is at most
 * CPU_PREFETCH_OUT_MAX bytes (a 56x56 plane; more at once would overrun
 * the requests a core keeps and evict its input). Only on more than one
 * thread: alone, the lines are the core's own and the requests cost 4%. */
#define CPU_PREFETCH_OUT_MAX (16 * 1024)

/* Asks for the lines of [p, p + bytes), for writing or for reading (write
 * is a constant at every call, so each instance keeps one of the two). */
static inline __attribute__((always_inline)) void cpu_prefetch_lines(const void *p, int64_t bytes,
                                                                     const bool write)
{
    for (int64_t off = 0; off < bytes; off += 64) {
        if (write)
            __builtin_prefetch((const char *)p + off, 1, 3);
        else
            __builtin_prefetch((const char *)p + off, 0, 3);
        /* GCC deletes a loop of nothing but prefetches as free of effects
         * (seen at -O2) */
        __asm__ volatile("" : : "r"(off));
    }
}

static inline void cpu_prefetch_out(const float *p, int64_t floats, int ntasks)
{
    const int64_t bytes = floats * (int64_t)sizeof(float);
    if (ntasks < 2 || bytes > CPU_PREFETCH_OUT_MAX) return;
    cpu_prefetch_lines(p, bytes, true);
}

/* A pooling layer walks its input a plane at a time, in a few short row
 * streams at once, too short for the hardware prefetcher to follow: reading
 * a tensor that the layers before had pushed out to L3, a max pool ran at a
 * fifth of the speed it read the same tensor from L2 (googlenet's maxpool3,
 * 480 x 28 x 28: 0.13 ms, and 0.026 ms run again at once). So a task asks
 * for the next plane's input while it computes the current one: the
 * plane's first CPU_PREFETCH_IN_MAX bytes (a 56x56 plane whole; the rows
 * after those of a larger one stream behind them). A depthwise layer,
 * whose input the expansion before it has just written, gained nothing. */
#define CPU_PREFETCH_IN_MAX (16 * 1024)

static inline void cpu_prefetch_in(const float *p, int64_t floats)
{
    const int64_t bytes = floats * (int64_t)sizeof(float);
    cpu_prefetch_lines(p, bytes < CPU_PREFETCH_IN_MAX ? bytes : CPU_PREFETCH_IN_MAX, false);
}

/* [*lo, *hi): task t's share of `units` when split into ntasks. */
static inline void cpu_task_range(int64_t units, int t, int ntasks, int64_t *lo, int64_t *hi)
{
    *lo = units * t / ntasks;
    *hi = units * (t + 1) / ntasks;
}

#endif
