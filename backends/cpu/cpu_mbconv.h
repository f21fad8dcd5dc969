/* A 1x1 expansion and the depthwise convolution reading it, run as one step
 * in row bands (cpu_mbconv.c). */
#ifndef INFERD_CPU_MBCONV_H
#define INFERD_CPU_MBCONV_H

#include "cpu.h"

#include <stdbool.h>

/* Whether na is a 1x1 expansion and nb a convolution with as many outputs
 * that is its only reader, both of constant weights, neither with a fused
 * residual: what both fused forms need. */
bool cpu_mbconv_pair(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *na,
                     const struct ir_node *nb);

/* Whether expansion na and depthwise nb (which reads na's output, and is
 * its only reader) run fused. */
bool cpu_mbconv_fits(const struct cpu_model *m, const struct ir_graph *g, const struct ir_node *na,
                     const struct ir_node *nb);
/* Makes s (nb's step) run both; it reads na's input as its input 0 (the
 * caller rewires the graph and the steps). Returns 1, or a negative error. */
int cpu_mbconv_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                       const struct ir_node *na, const struct ir_node *nb);

/* Whether step s runs a fused pair (its output split by rows, not channels). */
bool cpu_mbconv_runs(const struct cpu_step *s);

/* The same pair on a small plane, the expanded tensor position-major a
 * panel of channels at a time (cpu_mbconv_small.c): whether it fits, and
 * making step s run it (its output split by channels). */
bool cpu_mbconv_small_fits(const struct cpu_model *m, const struct ir_graph *g,
                           const struct ir_node *na, const struct ir_node *nb);
int cpu_mbconv_small_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                             const struct ir_node *na, const struct ir_node *nb);

#endif
