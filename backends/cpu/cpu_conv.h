/* Convolution kernels on the packed GEMM that share a geometry: cpu_conv.c
 * chooses among them, cpu_conv_direct.c is the one reading its input in
 * place. */
#ifndef INFERD_CPU_CONV_H
#define INFERD_CPU_CONV_H

#include "cpu.h"
#include "cpu_sgemm.h"

#include <stdbool.h>
#include <stdint.h>

/* A 2-D convolution, NCHW, weights [m][c/group][kh][kw]. */
struct cpu_conv_shape {
    int64_t n, c, h, w; /* input */
    int64_t m, oh, ow;  /* output */
    int64_t kh, kw, sh, sw, dh, dw;
    int64_t pt, pl, pb, pr; /* padding: top, left, bottom, right */
    int64_t group;
};

/* Whether cpu_conv_direct_prepare can take the convolution at the level
 * whose main micro-kernel is uk. */
/* Whether cs is a strided 1x1 convolution without padding, which the direct
 * kernel runs on its input subsampled into the scratch. */
bool cpu_conv_direct_sub(const struct cpu_conv_shape *cs);
bool cpu_conv_direct_fits(const struct cpu_ukernel *uk, const struct cpu_conv_shape *cs);

/* Sets up step s to run the convolution with B read in place; w is the
 * weights, packed here. Returns 1, or -ENOMEM. */
int cpu_conv_direct_prepare(struct cpu_model *m, struct cpu_step *s,
                            const struct cpu_conv_shape *cs, const float *w);
/* For a step another kernel runs inside its own (cpu_conv_pool.c), with
 * s->kdata of cpu_conv_direct_prepare, one group, not 1x1: the input's
 * padded copy into xq (the model's scratch, over the pool's threads), then
 * output rows [oy0, oy1) of every channel into dst, channel o's row oy at
 * dst + o * ld + (oy - oy0) * ow. */
void cpu_conv_direct_input(const void *kdata, struct cpu_pool *pool, const float *x, float *xq);
void cpu_conv_direct_rows(const void *kdata, const float *xq, const float *bias,
                          const struct ir_act *act, int64_t oy0, int64_t oy1, float *dst,
                          int64_t ld);

/* A plain 1x1 convolution on a plane of 49 positions or a few times that,
 * in 8 x 49 tiles (cpu_conv_p49.c): whether it fits, and making step s run
 * it (returns 1, or -ENOMEM). */
bool cpu_conv_p49_fits(const struct cpu_model *m, const struct ir_graph *g,
                       const struct ir_node *n);
int cpu_conv_p49_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                         const struct ir_node *n);

#endif
