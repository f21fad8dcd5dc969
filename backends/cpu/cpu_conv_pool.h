/* A first convolution and the max pooling or depthwise convolution reading
 * it, run as one step in row bands (cpu_conv_pool.c). */
#ifndef INFERD_CPU_CONV_POOL_H
#define INFERD_CPU_CONV_POOL_H

#include "cpu.h"

#include <stdbool.h>

/* Whether convolution na and nb, a MaxPool or a depthwise Conv (which reads
 * na's output, and is its only reader), run fused. */
bool cpu_conv_pool_fits(const struct cpu_model *m, const struct ir_graph *g,
                        const struct ir_node *na, const struct ir_node *nb);
/* Makes s (nb's step) run both; it reads na's input as its input 0 (the
 * caller rewires the graph and the steps). Returns 1, or a negative error. */
int cpu_conv_pool_prepare(struct cpu_model *m, struct cpu_step *s, const struct ir_graph *g,
                          const struct ir_node *na, const struct ir_node *nb);

#endif
